"""Job leases: at most one process runs a scheduled job at a time, across every process."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import sqlalchemy as sa
from sqlalchemy.orm import Session

from storage.models import JobLease

__all__ = ["JobLeaseRepository"]


class JobLeaseRepository:
    """Job leases within one session (the caller owns the transaction)."""

    def __init__(self, session: Session) -> None:
        """Work inside ``session``."""
        self._session = session

    def _ensure(self, name: str) -> None:
        if self._session.get(JobLease, name) is not None:
            return
        try:
            with self._session.begin_nested():
                self._session.add(JobLease(name=name))
                self._session.flush()
        except sa.exc.IntegrityError:  # another process created it meanwhile
            pass

    def acquire(
        self,
        name: str,
        owner: str,
        now: dt.datetime,
        *,
        lease_seconds: float,
        is_dead: Callable[[str], bool] = lambda _owner: False,
    ) -> bool:
        """Lease the job ``name`` to ``owner``; False when another live process holds it.

        A lease is free when nobody holds it, when it ran out, or when ``is_dead`` says its
        owner is gone. The take-over is one conditional UPDATE, so of two processes trying at
        once exactly one gets it.
        """
        self._ensure(name)
        self._session.expire_all()
        row = self._session.get(JobLease, name)
        holder = row.owner if row is not None else None
        free = sa.or_(
            JobLease.owner.is_(None),
            JobLease.expires_at.is_(None),
            JobLease.expires_at <= now,
        )
        if holder is not None and holder != owner and is_dead(holder):
            free = sa.or_(free, JobLease.owner == holder)
        result = self._session.execute(
            sa.update(JobLease)
            .where(JobLease.name == name, free)
            .values(
                owner=owner,
                expires_at=now + dt.timedelta(seconds=lease_seconds),
                acquired_at=now,
            )
            .execution_options(synchronize_session=False)
        )
        self._session.expire_all()
        return getattr(result, "rowcount", 0) == 1

    def renew(self, owner: str, now: dt.datetime, *, lease_seconds: float) -> int:
        """Extend every job lease ``owner`` holds; return how many (the heartbeat)."""
        result = self._session.execute(
            sa.update(JobLease)
            .where(JobLease.owner == owner)
            .values(expires_at=now + dt.timedelta(seconds=lease_seconds))
            .execution_options(synchronize_session=False)
        )
        self._session.expire_all()
        return int(getattr(result, "rowcount", 0) or 0)

    def release(self, name: str, owner: str) -> bool:
        """Give the job ``name`` back; False when ``owner`` no longer held it."""
        result = self._session.execute(
            sa.update(JobLease)
            .where(JobLease.name == name, JobLease.owner == owner)
            .values(owner=None, expires_at=None)
            .execution_options(synchronize_session=False)
        )
        self._session.expire_all()
        return getattr(result, "rowcount", 0) == 1

    def release_owned(self, owners: list[str]) -> int:
        """Give back every job lease of these owners (this process at exit, dead processes)."""
        if not owners:
            return 0
        result = self._session.execute(
            sa.update(JobLease)
            .where(JobLease.owner.in_(owners))
            .values(owner=None, expires_at=None)
            .execution_options(synchronize_session=False)
        )
        self._session.expire_all()
        return int(getattr(result, "rowcount", 0) or 0)

    def holder(self, name: str, now: dt.datetime) -> str | None:
        """Return who holds the job now (None when free or run out)."""
        row = self._session.get(JobLease, name)
        if row is None or row.owner is None or row.expires_at is None or row.expires_at <= now:
            return None
        return row.owner

    def owners(self) -> list[str]:
        """Return the distinct owners holding a job lease (run out or not)."""
        query = sa.select(JobLease.owner).where(JobLease.owner.is_not(None)).distinct()
        return sorted(o for o in self._session.scalars(query) if o is not None)
