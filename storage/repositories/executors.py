"""Executors (ministries, municipal administrations): add, find by code or id."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from storage.enums import ExecutorKind
from storage.models import Executor
from storage.repositories.errors import NotFound

__all__ = ["ExecutorRecord", "ExecutorRepository", "ExecutorSpec", "SyncResult"]


@dataclass(frozen=True, slots=True)
class ExecutorRecord:
    """An executor as the rest of the system sees it."""

    id: int
    code: str
    name: str
    kind: ExecutorKind
    municipality_oktmo: str | None
    timezone: str
    active: bool


@dataclass(frozen=True, slots=True)
class ExecutorSpec:
    """An executor as the configuration declares it."""

    code: str
    name: str
    kind: ExecutorKind
    municipality: str | None
    municipality_oktmo: str | None
    timezone: str
    schedule: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class SyncResult:
    """What a sync changed, by code (or login)."""

    added: tuple[str, ...]
    updated: tuple[str, ...]
    deactivated: tuple[str, ...]


def _record(row: Executor) -> ExecutorRecord:
    return ExecutorRecord(
        row.id, row.code, row.name, row.kind, row.municipality_oktmo, row.timezone, row.active
    )


class ExecutorRepository:
    """Executors within one session (the caller owns the transaction)."""

    def __init__(self, session: Session) -> None:
        """Work inside ``session``."""
        self._session = session

    def add(
        self,
        code: str,
        name: str,
        kind: ExecutorKind,
        *,
        municipality_oktmo: str | None = None,
        timezone: str = "Europe/Moscow",
    ) -> ExecutorRecord:
        """Add an executor and return it."""
        row = Executor(
            code=code,
            name=name,
            kind=kind,
            municipality_oktmo=municipality_oktmo,
            timezone=timezone,
        )
        self._session.add(row)
        self._session.flush()
        return _record(row)

    def get(self, executor_id: int) -> ExecutorRecord:
        """Return the executor with this id; NotFound if there is none."""
        row = self._session.get(Executor, executor_id)
        if row is None:
            raise NotFound(f"no executor with id {executor_id}")
        return _record(row)

    def by_code(self, code: str) -> ExecutorRecord:
        """Return the executor with this code; NotFound if there is none."""
        row = self._session.scalars(sa.select(Executor).where(Executor.code == code)).one_or_none()
        if row is None:
            raise NotFound(f"no executor with code {code!r}")
        return _record(row)

    def all(self) -> list[ExecutorRecord]:
        """Return every executor, by code."""
        return [
            _record(r) for r in self._session.scalars(sa.select(Executor).order_by(Executor.code))
        ]

    def sync(self, specs: Sequence[ExecutorSpec]) -> SyncResult:
        """Make the table match the configuration: add, update, deactivate (never delete).

        Executors that left the configuration stay as inactive rows, because assignments and
        the event log refer to them.
        """
        rows = {row.code: row for row in self._session.scalars(sa.select(Executor))}
        added: list[str] = []
        updated: list[str] = []
        for spec in specs:
            values = {
                "name": spec.name,
                "kind": spec.kind,
                "municipality": spec.municipality,
                "municipality_oktmo": spec.municipality_oktmo,
                "timezone": spec.timezone,
                "schedule": spec.schedule,
                "active": True,
            }
            row = rows.pop(spec.code, None)
            if row is None:
                self._session.add(Executor(code=spec.code, **values))
                added.append(spec.code)
                continue
            if any(getattr(row, key) != value for key, value in values.items()):
                for key, value in values.items():
                    setattr(row, key, value)
                updated.append(spec.code)
        deactivated = [code for code, row in sorted(rows.items()) if row.active]
        for code in deactivated:
            rows[code].active = False
        self._session.flush()
        return SyncResult(tuple(added), tuple(updated), tuple(deactivated))
