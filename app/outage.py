"""Database outages: tell one from a bug, log it once each way, back the jobs off.

Every scheduled job shares one :class:`DatabaseOutage`. The first job that finds the database
gone logs one WARNING; while it stays gone, jobs wait an exponentially growing pause between
attempts (one attempt per pause, whichever job comes first); the first job that succeeds again
logs one INFO. The web app asks :class:`DatabaseStatus` before serving a page.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from storage.errors import StorageError

__all__ = ["DatabaseOutage", "DatabaseStatus", "database_unreachable"]

log = logging.getLogger(__name__)

#: Phrases of the drivers' messages that mean the server cannot be reached or went away.
_CONNECTION_WORDS = (
    "cannot connect",
    "connection refused",
    "could not connect",
    "server closed the connection",
    "connection is closed",
    "the connection is lost",
    "consuming input failed",
    "terminating connection",
    "connection timeout",
    "timeout expired",
    "no connection to the server",
    "ssl syscall error",
    "eof detected",
    "connection reset",
    "broken pipe",
    "unable to open database file",
)


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


def database_unreachable(err: BaseException) -> str | None:
    """Return why the database cannot be reached when ``err`` says so, else None.

    Looks through the exception's causes: a failed connect (``StorageError`` from the engine),
    a connection SQLAlchemy invalidated, or a driver error about the connection. Other
    database errors (constraints, bad SQL) are bugs, not outages, and give None.
    """
    seen: set[int] = set()
    current: BaseException | None = err
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, sa.exc.DBAPIError) and current.connection_invalidated:
            return _first_line(current.orig if current.orig is not None else current)
        if isinstance(current, StorageError | sa.exc.OperationalError | sa.exc.InterfaceError):
            orig = getattr(current, "orig", None)
            line = _first_line(orig if isinstance(orig, BaseException) else current)
            if any(word in line.lower() for word in _CONNECTION_WORDS):
                return line
        current = current.__cause__ or current.__context__
    return None


class DatabaseOutage:
    """Whether the database is down, as the jobs saw it; logs once each way, paces retries."""

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        first_pause: float = 1.0,
        max_pause: float = 10.0,
    ) -> None:
        """Back off from ``first_pause`` seconds, doubling up to ``max_pause``."""
        self._clock = clock
        self._first = first_pause
        self._max = max_pause
        self._pause = first_pause
        self._since: float | None = None
        self._next_try = 0.0
        self.reason = ""

    @property
    def down(self) -> bool:
        """Return True while the last database access failed for want of a connection."""
        return self._since is not None

    def may_try(self) -> bool:
        """Return whether a job may touch the database now (always, unless it is down).

        While down, one attempt per pause is let through; the others skip their run.
        """
        if self._since is None:
            return True
        now = self._clock()
        if now < self._next_try:
            return False
        self._next_try = now + self._pause  # this attempt; the next one after another pause
        return True

    def failed(self, reason: str, job: str = "") -> None:
        """Record a failed attempt: log when the database just went away; pause longer."""
        now = self._clock()
        if self._since is None:
            self._since = now
            self._pause = self._first
            self.reason = reason
            where = f" (job {job})" if job else ""
            log.warning(
                "database unreachable%s: %s; jobs pause and retry until it is back", where, reason
            )
        else:
            self._pause = min(self._max, self._pause * 2)
        self._next_try = now + self._pause

    def succeeded(self) -> None:
        """Record a successful attempt: log when the database just came back."""
        if self._since is None:
            return
        seconds = self._clock() - self._since
        self._since = None
        self._pause = self._first
        self.reason = ""
        log.info("database reachable again after %.0f s; jobs resume", seconds)


class DatabaseStatus:
    """Answers "can the web app reach the database?", asking it at most every ``ttl`` seconds."""

    def __init__(
        self,
        engine: Engine,
        *,
        ttl: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Probe ``engine`` with ``SELECT 1``; remember the answer for ``ttl`` seconds."""
        self._engine = engine
        self._ttl = ttl
        self._clock = clock
        self._checked: float | None = None
        self._reason: str | None = None
        self._lock = asyncio.Lock()

    def _probe(self) -> str | None:
        try:
            with self._engine.connect() as connection:
                connection.execute(sa.text("SELECT 1"))
        except (StorageError, sa.exc.SQLAlchemyError) as err:
            return database_unreachable(err) or _first_line(err)
        return None

    async def unavailable(self) -> str | None:
        """Return why the database cannot be used now ("database unreachable: …"), or None."""
        async with self._lock:
            now = self._clock()
            if self._checked is None or now - self._checked >= self._ttl:
                reason = await asyncio.to_thread(self._probe)
                self._reason = None if reason is None else f"database unreachable: {reason}"
                self._checked = self._clock()
            return self._reason

    def classify(self, err: BaseException) -> str | None:
        """Return the outage ``err`` stands for (and remember it), or None for other errors."""
        reason = database_unreachable(err)
        if reason is None:
            return None
        self._reason = f"database unreachable: {reason}"
        self._checked = self._clock()
        return self._reason
