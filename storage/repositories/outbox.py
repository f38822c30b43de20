"""The notification outbox, the events that feed it, and per-job state (cursors)."""

from __future__ import annotations

import datetime as dt
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from storage.models import Event, Incident, JobState, NotificationOutbox

__all__ = [
    "JobStateRepository",
    "NewNotification",
    "NotifiableEvent",
    "OutboxItem",
    "OutboxRepository",
]

#: Outbox statuses.
PENDING, SENDING, SENT, FAILED, DROPPED = "pending", "sending", "sent", "failed", "dropped"


@dataclass(frozen=True, slots=True)
class NotifiableEvent:
    """An event-log row that may call for notifications, with its incident's number and title."""

    id: int
    kind: str
    incident_id: int | None
    public_number: str | None
    title: str | None
    payload: dict[str, Any]
    occurred_at: dt.datetime


@dataclass(frozen=True, slots=True)
class NewNotification:
    """A notification to queue; ``key`` makes queueing it twice a no-op."""

    key: str
    event: str
    channel: str
    recipient: str
    incident_id: int | None
    subject: str
    body: str
    due_at: dt.datetime
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class OutboxItem:
    """A queued notification claimed for delivery."""

    id: int
    key: str
    event: str
    channel: str
    recipient: str
    incident_id: int | None
    subject: str
    body: str
    payload: dict[str, Any]
    attempts: int


def _item(row: NotificationOutbox) -> OutboxItem:
    return OutboxItem(
        row.id,
        row.key,
        row.event,
        row.channel,
        row.recipient,
        row.incident_id,
        row.subject,
        row.body,
        dict(row.payload),
        row.attempts,
    )


class OutboxRepository:
    """Queue, claim and settle notifications (the caller owns the transaction)."""

    def __init__(self, session: Session) -> None:
        """Work inside ``session``."""
        self._session = session

    def events_after(
        self, after_id: int, kinds: Iterable[str], *, since: dt.datetime | None, limit: int
    ) -> list[NotifiableEvent]:
        """Return events of ``kinds`` with an id above ``after_id`` (and not before ``since``)."""
        query = (
            sa.select(Event, Incident.public_number, Incident.title)
            .outerjoin(Incident, Incident.id == Event.incident_id)
            .where(Event.id > after_id, Event.kind.in_(list(kinds)))
            .order_by(Event.id)
            .limit(limit)
        )
        if since is not None:
            query = query.where(Event.occurred_at >= since)
        return [
            NotifiableEvent(
                e.id, e.kind, e.incident_id, number, title, dict(e.payload), e.occurred_at
            )
            for e, number, title in self._session.execute(query)
        ]

    def last_event_id(self) -> int:
        """Return the newest event id (0 for an empty log)."""
        return int(self._session.scalar(sa.select(sa.func.max(Event.id))) or 0)

    def existing_keys(self, keys: Sequence[str], *, chunk: int = 500) -> set[str]:
        """Return which of these keys are queued already."""
        found: set[str] = set()
        wanted = list(keys)
        for start in range(0, len(wanted), chunk):
            found.update(
                self._session.scalars(
                    sa.select(NotificationOutbox.key).where(
                        NotificationOutbox.key.in_(wanted[start : start + chunk])
                    )
                )
            )
        return found

    def enqueue(self, item: NewNotification, *, now: dt.datetime) -> bool:
        """Queue a notification unless its key is queued already; return whether it was new."""
        exists = self._session.scalar(
            sa.select(NotificationOutbox.id).where(NotificationOutbox.key == item.key)
        )
        if exists is not None:
            return False
        self._session.add(
            NotificationOutbox(
                key=item.key,
                event=item.event,
                channel=item.channel,
                recipient=item.recipient,
                incident_id=item.incident_id,
                subject=item.subject,
                body=item.body,
                payload=item.payload,
                status=PENDING,
                due_at=item.due_at,
                next_attempt_at=item.due_at,
                created_at=now,
            )
        )
        self._session.flush()
        return True

    def claim_due(
        self,
        *,
        now: dt.datetime,
        owner: str,
        lease: dt.timedelta,
        channels: Sequence[str],
        limit: int,
        is_dead: Callable[[str], bool] = lambda _owner: False,
    ) -> list[OutboxItem]:
        """Claim due notifications of ``channels`` for ``owner`` until ``now + lease``.

        Due: pending and past both ``due_at`` and ``next_attempt_at``, or claimed by a process
        whose lease ran out or that ``is_dead`` says is gone (it died while sending).
        PostgreSQL skips rows another process has locked, so two daemons never claim one
        notification.
        """
        if not channels:
            return []
        holders = self._session.scalars(
            sa.select(NotificationOutbox.claimed_by)
            .where(NotificationOutbox.status == SENDING, NotificationOutbox.claimed_by.is_not(None))
            .distinct()
        )
        # A process killed while sending (same host, pid gone) holds nothing: no 5-minute wait.
        dead = sorted(h for h in holders if h is not None and h != owner and is_dead(h))
        due = sa.or_(
            sa.and_(NotificationOutbox.status == SENDING, NotificationOutbox.claimed_by.in_(dead)),
            sa.and_(
                NotificationOutbox.status == PENDING,
                NotificationOutbox.due_at <= now,
                NotificationOutbox.next_attempt_at <= now,
            ),
            sa.and_(
                NotificationOutbox.status == SENDING,
                NotificationOutbox.claimed_until < now,
            ),
        )
        query = (
            sa.select(NotificationOutbox)
            .where(due, NotificationOutbox.channel.in_(list(channels)))
            .order_by(NotificationOutbox.next_attempt_at, NotificationOutbox.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        rows = list(self._session.scalars(query))
        for row in rows:
            row.status = SENDING
            row.claimed_by = owner
            row.claimed_until = now + lease
        self._session.flush()
        return [_item(r) for r in rows]

    def _owned(self, item_id: int, owner: str) -> NotificationOutbox | None:
        row = self._session.get(NotificationOutbox, item_id)
        if row is None or row.status != SENDING or row.claimed_by != owner:
            return None
        return row

    def mark_sent(self, item_id: int, owner: str, *, now: dt.datetime) -> bool:
        """Record a delivery (only by the claim's owner); return whether it was recorded."""
        row = self._owned(item_id, owner)
        if row is None:
            return False
        row.status = SENT
        row.sent_at = now
        row.attempts += 1
        row.claimed_until = None
        row.last_error = None
        self._session.flush()
        return True

    def mark_failed(
        self,
        item_id: int,
        owner: str,
        *,
        error: str,
        retry_at: dt.datetime | None,
        status: str = FAILED,
    ) -> bool:
        """Record a failed attempt: retry at ``retry_at``, or give up with ``status``."""
        row = self._owned(item_id, owner)
        if row is None:
            return False
        row.attempts += 1
        row.last_error = error[:2000]
        row.claimed_until = None
        if retry_at is None:
            row.status = status
        else:
            row.status = PENDING
            row.next_attempt_at = retry_at
        self._session.flush()
        return True

    def counts(self) -> dict[str, int]:
        """Return how many notifications are in each status."""
        rows = self._session.execute(
            sa.select(NotificationOutbox.status, sa.func.count()).group_by(
                NotificationOutbox.status
            )
        )
        return {status: int(n) for status, n in rows}

    def all(self) -> list[tuple[OutboxItem, str, int, dt.datetime | None]]:
        """Return every notification with its status, attempts and sending time (for tests)."""
        rows = self._session.scalars(sa.select(NotificationOutbox).order_by(NotificationOutbox.id))
        return [(_item(r), r.status, r.attempts, r.sent_at) for r in rows]


class JobStateRepository:
    """A cursor and a small JSON document per scheduled job."""

    def __init__(self, session: Session) -> None:
        """Work inside ``session``."""
        self._session = session

    def get(self, name: str) -> tuple[int | None, dict[str, Any]]:
        """Return the job's cursor and document (None and {} before its first run)."""
        row = self._session.get(JobState, name)
        if row is None:
            return None, {}
        return row.cursor, dict(row.value)

    def set(
        self, name: str, *, cursor: int | None, value: dict[str, Any], now: dt.datetime
    ) -> None:
        """Store the job's cursor and document."""
        row = self._session.get(JobState, name)
        if row is None:
            self._session.add(JobState(name=name, cursor=cursor, value=value, updated_at=now))
        else:
            row.cursor = cursor
            row.value = value
            row.updated_at = now
        self._session.flush()

    def lock(self, name: str) -> None:
        """Serialise this job's transactions across processes until the transaction ends.

        PostgreSQL: a transaction-level advisory lock per job name. SQLite: the single writer's
        ``BEGIN IMMEDIATE`` already serialises writers.
        """
        if self._session.get_bind().dialect.name == "postgresql":
            key = zlib.crc32(f"job_state:{name}".encode())
            self._session.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})

    def claim_lease(
        self,
        name: str,
        *,
        owner: str,
        until: dt.datetime,
        now: dt.datetime,
        is_dead: Callable[[str], bool] = lambda _owner: False,
    ) -> bool:
        """Take the job's lease for ``owner`` until ``until`` unless another holds a live one.

        A holder ``is_dead`` says is gone (a killed process on this host) holds nothing.
        PostgreSQL: a transaction-level advisory lock per job name serialises the claims of
        several processes; SQLite's single writer does the same.
        """
        self.lock(name)
        cursor, value = self.get(name)
        holder, expires = value.get("lease_owner"), value.get("lease_until")
        live = bool(expires) and dt.datetime.fromisoformat(str(expires)) > now
        if holder not in (None, owner) and live and not is_dead(str(holder)):
            return False
        value.update(lease_owner=owner, lease_until=until.isoformat())
        self.set(name, cursor=cursor, value=value, now=now)
        return True

    def release_lease(self, name: str, *, owner: str, now: dt.datetime, **values: Any) -> None:
        """Give the lease back (if held by ``owner``) and store ``values`` in the document."""
        cursor, value = self.get(name)
        if value.get("lease_owner") == owner:
            value.update(lease_owner=None, lease_until=None)
        value.update(values)
        self.set(name, cursor=cursor, value=value, now=now)
