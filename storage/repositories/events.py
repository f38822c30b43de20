"""The append-only event log: append, read an incident's history, and replay what it records."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from router.jurisdiction import ReturnStats
from router.sla import SlaClock
from storage.models import Event
from storage.repositories.assignments import clock_from_json

__all__ = [
    "ESCALATION_EVENT",
    "ESCALATION_LOCK_KEY",
    "RETURN_EVENT",
    "ROUTE_EVENT",
    "EventRecord",
    "EventRepository",
    "NewEvent",
]

#: Kinds the repository replays (written by app/workflow.py).
ROUTE_EVENT = "assign"
RETURN_EVENT = "return"
ESCALATION_EVENT = "escalate"
#: The PostgreSQL advisory lock key that serialises escalation runs ("IMescal8").
ESCALATION_LOCK_KEY = 0x494D657363616C38


@dataclass(frozen=True, slots=True)
class EventRecord:
    """One row of the event log."""

    id: int
    incident_id: int | None
    actor_user_id: int | None
    kind: str
    from_status: str | None
    to_status: str | None
    payload: dict[str, Any]
    occurred_at: dt.datetime


@dataclass(frozen=True, slots=True)
class NewEvent:
    """An event about to be appended (see :meth:`EventRepository.append_many`)."""

    incident_id: int | None
    actor_user_id: int | None
    kind: str
    from_status: str | None
    to_status: str | None
    payload: dict[str, Any]
    occurred_at: dt.datetime


def _record(row: Event) -> EventRecord:
    return EventRecord(
        row.id,
        row.incident_id,
        row.actor_user_id,
        row.kind,
        row.from_status,
        row.to_status,
        dict(row.payload),
        row.occurred_at,
    )


#: Built once, run with parameters (building it with literal values costs more than running it);
#: Core on the table (an ORM-enabled insert of one row costs about three times the CPU).
_EVENTS = cast("sa.Table", Event.__table__)
_APPEND = sa.insert(_EVENTS).returning(_EVENTS.c.id)
#: Many rows: an insert on the table, not the ORM's bulk insert of the class (which costs
#: several times the CPU for the same rows).
_APPEND_MANY = sa.insert(_EVENTS)


class EventRepository:
    """The event log within one session: rows are only ever added (the database enforces it)."""

    def __init__(self, session: Session) -> None:
        """Work inside ``session``."""
        self._session = session

    def append(
        self,
        *,
        incident_id: int | None,
        actor_user_id: int | None,
        kind: str,
        from_status: str | None,
        to_status: str | None,
        payload: dict[str, Any],
        occurred_at: dt.datetime,
    ) -> EventRecord:
        """Add one event and return it (one INSERT … RETURNING, no unit-of-work object)."""
        self._session.flush()  # what the ORM's autoflush would do: the incident row goes first
        event_id = self._session.execute(
            _APPEND,
            {
                "incident_id": incident_id,
                "actor_user_id": actor_user_id,
                "kind": kind,
                "from_status": from_status,
                "to_status": to_status,
                "payload": payload,
                "occurred_at": occurred_at,
            },
        ).scalar_one()
        return EventRecord(
            int(event_id),
            incident_id,
            actor_user_id,
            kind,
            from_status,
            to_status,
            dict(payload),
            occurred_at,
        )

    def append_many(self, events: Sequence[NewEvent]) -> None:
        """Add many events in one executemany; their ids follow the order given."""
        if not events:
            return
        self._session.flush()  # what the ORM's autoflush would do: the incidents go first
        self._session.execute(
            _APPEND_MANY,
            [
                {
                    "incident_id": e.incident_id,
                    "actor_user_id": e.actor_user_id,
                    "kind": e.kind,
                    "from_status": e.from_status,
                    "to_status": e.to_status,
                    "payload": e.payload,
                    "occurred_at": e.occurred_at,
                }
                for e in events
            ],
        )

    def for_incident(self, incident_id: int) -> list[EventRecord]:
        """Return an incident's events in the order they happened."""
        query = sa.select(Event).where(Event.incident_id == incident_id).order_by(Event.id)
        return [_record(row) for row in self._session.scalars(query)]

    def _payloads_newest_first(self, incident_ids: Iterable[int]) -> Iterable[dict[str, Any]]:
        # The payloads alone, through Core: each assignment reads its incident's history here,
        # and loading the events as ORM objects cost several times as much.
        ids = list(incident_ids)
        if not ids:
            return []
        self._session.flush()
        query = (
            sa.select(_EVENTS.c.payload)
            .where(_EVENTS.c.incident_id.in_(ids))
            .order_by(_EVENTS.c.id.desc())
        )
        return self._session.scalars(query)

    def clocks(self, incident_ids: Iterable[int]) -> dict[int, SlaClock]:
        """Return the latest clock of every assignment of these incidents, by assignment id."""
        found: dict[int, SlaClock] = {}
        for payload in self._payloads_newest_first(incident_ids):
            for key, document in (payload.get("clocks") or {}).items():
                found.setdefault(int(key), clock_from_json(document))
        return found

    def overall_clock(self, incident_id: int) -> SlaClock | None:
        """Return the incident's overall clock as last written, if it has started."""
        for payload in self._payloads_newest_first([incident_id]):
            document = payload.get("overall_clock")
            if document:
                return clock_from_json(document)
        return None

    def lock_escalations(self) -> None:
        """Serialise escalation runs across processes until the transaction ends.

        PostgreSQL: a transaction-level advisory lock. SQLite: the single writer's
        ``BEGIN IMMEDIATE`` already serialises writers, so nothing more is needed.
        """
        if self._session.get_bind().dialect.name == "postgresql":
            self._session.execute(
                sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": ESCALATION_LOCK_KEY}
            )

    def escalation_keys(self, incident_ids: Iterable[int]) -> set[str]:
        """Return the idempotency keys of the escalations recorded for these incidents."""
        ids = list(incident_ids)
        if not ids:
            return set()
        query = sa.select(Event.payload).where(
            Event.kind == ESCALATION_EVENT, Event.incident_id.in_(ids)
        )
        return {str(payload["key"]) for payload in self._session.scalars(query)}

    def return_stats(self) -> ReturnStats:
        """Replay routings and "not ours" returns into per-rule statistics."""
        query = (
            sa.select(Event.kind, Event.payload)
            .where(Event.kind.in_((ROUTE_EVENT, RETURN_EVENT)))
            .order_by(Event.id)
        )
        routed: list[tuple[str, str]] = []
        returned: list[tuple[str, str]] = []
        for kind, payload in self._session.execute(query):
            rule_id, executor = payload.get("rule_id"), payload.get("executor")
            if not rule_id or not executor:
                continue
            if kind == ROUTE_EVENT:
                routed.append((rule_id, executor))
            elif payload.get("return_kind") == "not_ours":
                returned.append((rule_id, executor))
        return ReturnStats.replay(routed, returned)
