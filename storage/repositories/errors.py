"""Errors the repositories raise: a missing row, a stale (concurrently changed) incident."""

from __future__ import annotations

__all__ = ["ConcurrentUpdate", "NotFound", "RepositoryError"]


class RepositoryError(Exception):
    """A repository operation cannot be done."""


class NotFound(RepositoryError, LookupError):
    """The row asked for does not exist."""


class ConcurrentUpdate(RepositoryError):
    """The incident changed since it was read: reload it and decide again.

    Raised when the version the caller saw is not the stored one, or when another transaction
    updated the row between our read and our write (optimistic locking on ``incidents.version``).
    """

    def __init__(self, incident_id: int, expected: int, actual: int | None = None) -> None:
        """Name the incident and the versions."""
        self.incident_id = incident_id
        self.expected = expected
        self.actual = actual
        now = f"it is now at version {actual}" if actual is not None else "it was just changed"
        super().__init__(
            f"incident {incident_id} was changed by someone else (you saw version {expected}, "
            f"{now}); reload it and try again"
        )
