"""Sources (groups and channels to poll): add, list, and claim with row leases."""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from collector.health import SourceHealth
from storage.enums import Network
from storage.models import Source
from storage.repositories.errors import NotFound, RepositoryError

__all__ = ["STATE_PREFIX", "LeaseLost", "SourceExists", "SourceRecord", "SourceRepository"]

#: External ids of the rows that hold a collector's own state (the feed cursor) rather than a
#: source: never enabled, so never claimed as a source, and left out of :meth:`all`.
STATE_PREFIX = "state:"


class SourceExists(RepositoryError):
    """A source with this network and external id is already configured."""


class LeaseLost(RepositoryError):
    """This process no longer holds the source's lease: another one took it over.

    The transaction that raised it must be rolled back, so that the poll's messages and cursor
    are written by one process only.
    """


@dataclass(frozen=True, slots=True)
class SourceRecord:
    """A source as the rest of the system sees it.

    When no process holds the lease (``lease_owner`` is None), ``lease_expires_at`` is the time
    the source is next due: a finished poll leaves a "rest lease" until then.
    """

    id: int
    network: Network
    external_id: str
    screen_name: str | None
    title: str
    municipality: str | None
    municipality_oktmo: str | None
    enabled: bool
    poll_interval_seconds: int
    last_seen_post_id: str | None
    cursor: dict[str, Any]
    health: SourceHealth
    lease_owner: str | None
    lease_expires_at: dt.datetime | None

    @property
    def name(self) -> str:
        """Return a short label: the screen name, else the network and id."""
        return self.screen_name or f"{self.network.value}:{self.external_id}"


def _record(row: Source) -> SourceRecord:
    return SourceRecord(
        id=row.id,
        network=row.network,
        external_id=row.external_id,
        screen_name=row.screen_name,
        title=row.title,
        municipality=row.municipality,
        municipality_oktmo=row.municipality_oktmo,
        enabled=row.enabled,
        poll_interval_seconds=row.poll_interval_seconds,
        last_seen_post_id=row.last_seen_post_id,
        cursor=dict(row.cursor or {}),
        health=SourceHealth(
            last_success_at=row.last_success_at,
            last_attempt_at=row.last_attempt_at,
            lag_seconds=row.lag_seconds,
            consecutive_failures=row.consecutive_failures,
            last_error=row.last_error,
            disabled_reason=row.disabled_reason,
        ),
        lease_owner=row.lease_owner,
        lease_expires_at=row.lease_expires_at,
    )


def _health_values(health: SourceHealth) -> dict[str, Any]:
    return {
        "last_success_at": health.last_success_at,
        "last_attempt_at": health.last_attempt_at,
        "lag_seconds": health.lag_seconds,
        "consecutive_failures": health.consecutive_failures,
        "last_error": health.last_error,
        "disabled_reason": health.disabled_reason,
    }


class SourceRepository:
    """Sources within one session (the caller owns the transaction)."""

    def __init__(self, session: Session) -> None:
        """Work inside ``session``."""
        self._session = session

    def add(
        self,
        network: Network,
        external_id: str,
        *,
        screen_name: str | None = None,
        title: str = "",
        municipality: str | None = None,
        municipality_oktmo: str | None = None,
        poll_interval_seconds: int = 300,
    ) -> SourceRecord:
        """Add a source and return it; SourceExists if it is already there."""
        if self.find(network, external_id) is not None:
            raise SourceExists(f"{network.value} source {external_id} is already added")
        row = Source(
            network=network,
            external_id=external_id,
            screen_name=screen_name,
            title=title,
            municipality=municipality,
            municipality_oktmo=municipality_oktmo,
            poll_interval_seconds=poll_interval_seconds,
            cursor={},
        )
        self._session.add(row)
        self._session.flush()
        return _record(row)

    def find(self, network: Network, external_id: str) -> SourceRecord | None:
        """Return the source with this external id, or None."""
        row = self._session.scalars(
            sa.select(Source).where(Source.network == network, Source.external_id == external_id)
        ).one_or_none()
        return _record(row) if row is not None else None

    def get(self, source_id: int) -> SourceRecord:
        """Return the source with this id; NotFound if there is none."""
        row = self._session.get(Source, source_id)
        if row is None:
            raise NotFound(f"no source with id {source_id}")
        return _record(row)

    def all(self, *, network: Network | None = None) -> list[SourceRecord]:
        """Return every source, by id (not the collector's state rows)."""
        query = (
            sa.select(Source)
            .where(Source.external_id.not_like(f"{STATE_PREFIX}%"))
            .order_by(Source.id)
        )
        if network is not None:
            query = query.where(Source.network == network)
        return [_record(r) for r in self._session.scalars(query)]

    # ------------------------------------------------------------------ leases

    def _claimable(self, now: dt.datetime, *, due_only: bool) -> sa.ColumnElement[bool]:
        free = sa.or_(Source.lease_expires_at.is_(None), Source.lease_expires_at <= now)
        if not due_only:  # ignore rest leases, never a lease another process holds
            free = sa.or_(Source.lease_owner.is_(None), free)
        return sa.and_(Source.enabled.is_(True), Source.disabled_reason.is_(None), free)

    def claim_due(
        self,
        owner: str,
        now: dt.datetime,
        *,
        lease_seconds: float,
        limit: int = 100,
        network: Network | None = None,
        due_only: bool = True,
    ) -> list[SourceRecord]:
        """Lease up to ``limit`` sources that no one else holds and (``due_only``) are due.

        PostgreSQL: ``SELECT … FOR UPDATE SKIP LOCKED`` then an UPDATE of the rows got, so that
        concurrent claimers take disjoint sets without waiting. SQLite (one writer at a time):
        an atomic conditional UPDATE per candidate row; a row someone took meanwhile updates
        nothing and is skipped. The caller commits the claim before polling.
        """
        where = self._claimable(now, due_only=due_only)
        if network is not None:
            where = sa.and_(where, Source.network == network)
        query = (
            sa.select(Source.id)
            .where(where)
            .order_by(Source.lease_expires_at.is_not(None), Source.lease_expires_at, Source.id)
            .limit(limit)
        )
        expires = now + dt.timedelta(seconds=lease_seconds)
        dialect = self._session.get_bind().dialect.name
        if dialect == "postgresql":
            ids = list(self._session.scalars(query.with_for_update(skip_locked=True)))
            if ids:
                self._session.execute(
                    sa.update(Source)
                    .where(Source.id.in_(ids))
                    .values(lease_owner=owner, lease_expires_at=expires)
                    .execution_options(synchronize_session=False)
                )
        else:
            ids = []
            for source_id in list(self._session.scalars(query)):
                result = self._session.execute(
                    sa.update(Source)
                    .where(Source.id == source_id, where)
                    .values(lease_owner=owner, lease_expires_at=expires)
                    .execution_options(synchronize_session=False)
                )
                if getattr(result, "rowcount", 0) == 1:
                    ids.append(source_id)
        self._session.expire_all()
        return [self.get(i) for i in ids]

    def claim(
        self, source_id: int, owner: str, now: dt.datetime, *, lease_seconds: float
    ) -> SourceRecord | None:
        """Lease one source regardless of its due time; None if another process holds it."""
        result = self._session.execute(
            sa.update(Source)
            .where(Source.id == source_id, self._claimable(now, due_only=False))
            .values(lease_owner=owner, lease_expires_at=now + dt.timedelta(seconds=lease_seconds))
            .execution_options(synchronize_session=False)
        )
        self._session.expire_all()
        return self.get(source_id) if getattr(result, "rowcount", 0) == 1 else None

    def finish(
        self,
        source_id: int,
        owner: str,
        *,
        health: SourceHealth,
        next_due: dt.datetime,
        cursor: dict[str, Any] | None = None,
        last_seen_post_id: str | None = None,
        poll_interval_seconds: int | None = None,
    ) -> None:
        """Record a poll's outcome and release the lease, leaving a rest lease until ``next_due``.

        Run it first in the transaction that stores the poll's messages: it takes the row lock
        and raises LeaseLost when another process took the source over, so the caller rolls back
        and nothing of this poll is written.
        """
        values: dict[str, Any] = {
            **_health_values(health),
            "lease_owner": None,
            "lease_expires_at": next_due,
        }
        if cursor is not None:
            values["cursor"] = cursor
        if last_seen_post_id is not None:
            values["last_seen_post_id"] = last_seen_post_id
        if poll_interval_seconds is not None:
            values["poll_interval_seconds"] = max(1, poll_interval_seconds)
        result = self._session.execute(
            sa.update(Source)
            .where(Source.id == source_id, Source.lease_owner == owner)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        if getattr(result, "rowcount", 0) != 1:
            raise LeaseLost(f"source {source_id}: the lease of {owner} was taken over")
        self._session.expire_all()

    def release(self, source_id: int, owner: str) -> None:
        """Give the lease up without recording anything (e.g. on shutdown)."""
        self._session.execute(
            sa.update(Source)
            .where(Source.id == source_id, Source.lease_owner == owner)
            .values(lease_owner=None, lease_expires_at=None)
            .execution_options(synchronize_session=False)
        )
        self._session.expire_all()

    def renew(self, owner: str, now: dt.datetime, *, lease_seconds: float) -> int:
        """Extend every lease ``owner`` holds (sources and state rows) to ``now + lease_seconds``.

        The collector's heartbeat: a poll that runs longer than one lease keeps its sources,
        while a process that died stops renewing and its leases run out soon.
        """
        result = self._session.execute(
            sa.update(Source)
            .where(Source.lease_owner == owner)
            .values(lease_expires_at=now + dt.timedelta(seconds=lease_seconds))
            .execution_options(synchronize_session=False)
        )
        self._session.expire_all()
        return int(getattr(result, "rowcount", 0) or 0)

    def lease_owners(self) -> list[str]:
        """Return the distinct owners holding a lease now (expired or not)."""
        query = sa.select(Source.lease_owner).where(Source.lease_owner.is_not(None)).distinct()
        return sorted(o for o in self._session.scalars(query) if o is not None)

    def release_owned(self, owners: list[str]) -> int:
        """Give up every lease of these owners: their sources are due at once; return how many.

        For leases of this process left by a run that could not release them (the database
        went away mid-poll), and of processes known to be dead.
        """
        if not owners:
            return 0
        result = self._session.execute(
            sa.update(Source)
            .where(Source.lease_owner.in_(owners))
            .values(lease_owner=None, lease_expires_at=None)
            .execution_options(synchronize_session=False)
        )
        self._session.expire_all()
        return int(getattr(result, "rowcount", 0) or 0)

    def set_enabled(self, source_id: int, enabled: bool) -> None:
        """Switch polling of a source on or off; switching on clears the disabled reason."""
        values: dict[str, Any] = {"enabled": enabled}
        if enabled:
            values["disabled_reason"] = None
        self._session.execute(sa.update(Source).where(Source.id == source_id).values(**values))
        self._session.expire_all()

    # ------------------------------------------------------------------ collector state

    def _state_id(self, network: Network, key: str) -> int:
        """Return the id of the state row ``key``, creating it (disabled) when missing."""
        external_id = f"{STATE_PREFIX}{key}"
        query = sa.select(Source.id).where(
            Source.network == network, Source.external_id == external_id
        )
        found = self._session.scalars(query).one_or_none()
        if found is not None:
            return found
        try:
            with self._session.begin_nested():
                row = Source(
                    network=network,
                    external_id=external_id,
                    title=f"collector state: {key}",
                    enabled=False,
                    disabled_reason="collector state, not a source",
                    cursor={},
                )
                self._session.add(row)
                self._session.flush()
                return row.id
        except sa.exc.IntegrityError:  # another process created it meanwhile
            return self._session.scalars(query).one()

    def claim_state(
        self,
        key: str,
        owner: str,
        now: dt.datetime,
        *,
        lease_seconds: float,
        network: Network = Network.VK,
    ) -> dict[str, Any] | None:
        """Lease the collector state ``key`` (e.g. the feed cursor) and return its value.

        Returns None when another process holds it: it is doing that work now. The state is a
        disabled row of ``sources`` whose ``cursor`` holds the value, so it needs no table of
        its own and takes the same row lease as a source.
        """
        state_id = self._state_id(network, key)
        free = sa.or_(
            Source.lease_owner.is_(None),
            Source.lease_owner == owner,
            Source.lease_expires_at.is_(None),
            Source.lease_expires_at <= now,
        )
        result = self._session.execute(
            sa.update(Source)
            .where(Source.id == state_id, free)
            .values(lease_owner=owner, lease_expires_at=now + dt.timedelta(seconds=lease_seconds))
            .execution_options(synchronize_session=False)
        )
        self._session.expire_all()
        if getattr(result, "rowcount", 0) != 1:
            return None
        return dict(self.get(state_id).cursor)

    def save_state(
        self, key: str, owner: str, value: dict[str, Any], *, network: Network = Network.VK
    ) -> None:
        """Store the state ``key`` and release its lease; LeaseLost if another process took it.

        Run it in the transaction that stores what the state stands for, so both commit or
        neither does.
        """
        result = self._session.execute(
            sa.update(Source)
            .where(
                Source.network == network,
                Source.external_id == f"{STATE_PREFIX}{key}",
                Source.lease_owner == owner,
            )
            .values(cursor=value, lease_owner=None, lease_expires_at=None)
            .execution_options(synchronize_session=False)
        )
        if getattr(result, "rowcount", 0) != 1:
            raise LeaseLost(f"collector state {key}: the lease of {owner} was taken over")
        self._session.expire_all()

    def release_state(self, key: str, owner: str, *, network: Network = Network.VK) -> None:
        """Give the lease of the state ``key`` up without changing it."""
        self._session.execute(
            sa.update(Source)
            .where(
                Source.network == network,
                Source.external_id == f"{STATE_PREFIX}{key}",
                Source.lease_owner == owner,
            )
            .values(lease_owner=None, lease_expires_at=None)
            .execution_options(synchronize_session=False)
        )
        self._session.expire_all()

    def state_source(
        self,
        key: str,
        *,
        screen_name: str,
        title: str,
        reason: str,
        network: Network = Network.VK,
    ) -> SourceRecord:
        """Return the state row ``key`` labelled as a pseudo-source that messages are stored under.

        Keyword search results come from communities that are no configured source: they are
        stored under this row (never enabled, so never claimed or polled; hidden from
        :meth:`all` like every state row), whose ``screen_name`` names them in exports. The row
        is created when missing and its labels set when they differ.
        """
        state_id = self._state_id(network, key)
        row = self._session.get(Source, state_id)
        if row is None:
            raise NotFound(f"no state row {key}")
        if (row.screen_name, row.title, row.disabled_reason) != (screen_name, title, reason):
            row.screen_name = screen_name
            row.title = title
            row.disabled_reason = reason
            self._session.flush()
        return _record(row)

    def claim_for_update(
        self, source_id: int, owner: str, now: dt.datetime, *, lease_seconds: float
    ) -> SourceRecord | None:
        """Lease one enabled source for an out-of-turn update (the feed path).

        Unlike :meth:`claim`, a rest lease is honoured only as the source's due time: it is
        returned in ``lease_expires_at`` of the record so the caller can put it back with
        :meth:`finish`. None when another process is polling the source now.
        """
        before = self._session.get(Source, source_id, with_for_update=True)
        if before is None:
            return None
        due = before.lease_expires_at if before.lease_owner is None else None
        claimed = self.claim(source_id, owner, now, lease_seconds=lease_seconds)
        if claimed is None:
            return None
        return dataclasses.replace(claimed, lease_expires_at=due)
