"""Reads for the KPIs and dashboards: the events of a period's incidents, and what they are about.

The figures themselves are computed in app/kpi.py from these plain values.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from storage.models import Event, Executor, Incident, IncidentMessage, Message, Source

__all__ = [
    "KPI_EVENT_KINDS",
    "IncidentFacts",
    "KpiEvent",
    "KpiRepository",
    "SourceHealth",
]

#: The event kinds the KPIs read (written by app/workflow.py).
KPI_EVENT_KINDS = (
    "assign",
    "answer_interim",
    "answer_final",
    "return",
    "send_for_rework",
    "reopen",
    "merge",
    "reject",
    "close",
    "recompute_deadline",
)
_ESCALATION = "escalate"
_BATCH = 2000


@dataclass(frozen=True, slots=True)
class KpiEvent:
    """One event of the log, with the payload fields the KPIs read.

    ``clocks`` and ``overall`` are the clock documents as stored (decoded only when needed).
    """

    id: int
    incident_id: int
    kind: str
    occurred_at: dt.datetime
    assignment_id: int | None = None
    executor: str | None = None
    rule_id: str | None = None
    return_kind: str | None = None
    level: str | None = None
    clocks: Mapping[int, Mapping[str, Any]] = field(default_factory=dict)
    overall: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class IncidentFacts:
    """What an incident is about, for the breakdowns (its current classification).

    ``network`` is the network of the incident's first linked message.
    """

    incident_id: int
    topic_group: str | None = None
    municipality: str | None = None
    municipality_oktmo: str | None = None
    network: str | None = None


@dataclass(frozen=True, slots=True)
class SourceHealth:
    """One source's health for the dashboard."""

    id: int
    network: str
    title: str
    enabled: bool
    last_success_at: dt.datetime | None
    lag_seconds: int | None
    consecutive_failures: int
    last_error: str | None


def _int(value: object) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def _str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _event(row: Any) -> KpiEvent:
    payload: Mapping[str, Any] = row.payload or {}
    clocks_raw = payload.get("clocks") or {}
    clocks = {
        int(key): doc
        for key, doc in clocks_raw.items()
        if str(key).isdigit() and isinstance(doc, Mapping)
    }
    overall = payload.get("overall_clock")
    return KpiEvent(
        id=row.id,
        incident_id=row.incident_id,
        kind=row.kind,
        occurred_at=row.occurred_at,
        assignment_id=_int(payload.get("assignment_id")),
        executor=_str(payload.get("executor")),
        rule_id=_str(payload.get("rule_id")),
        return_kind=_str(payload.get("return_kind")),
        level=_str(payload.get("level")),
        clocks=clocks,
        overall=overall if isinstance(overall, Mapping) and overall else None,
    )


class KpiRepository:
    """Read-only queries behind the KPIs, within one session."""

    def __init__(self, session: Session) -> None:
        """Work inside ``session``."""
        self._session = session

    def _cohort(self, start: dt.datetime, end: dt.datetime) -> sa.Select[Any]:
        """The incidents with an ``assign`` event in ``[start, end)`` (served by the kind index)."""
        return (
            sa.select(Event.incident_id)
            .where(Event.kind == "assign", Event.occurred_at >= start, Event.occurred_at < end)
            .distinct()
        )

    def events(
        self, start: dt.datetime, end: dt.datetime, as_of: dt.datetime
    ) -> Iterator[KpiEvent]:
        """Yield every KPI event up to ``as_of`` of the incidents assigned in ``[start, end)``.

        In log order per incident (by incident, then by event id); streamed in batches.
        """
        query = (
            sa.select(Event.id, Event.incident_id, Event.kind, Event.occurred_at, Event.payload)
            .where(
                Event.incident_id.in_(self._cohort(start, end)),
                Event.kind.in_(KPI_EVENT_KINDS),
                Event.occurred_at <= as_of,
            )
            .order_by(Event.incident_id, Event.id)
            .execution_options(yield_per=_BATCH)
        )
        for row in self._session.execute(query):
            yield _event(row)

    def facts(self, start: dt.datetime, end: dt.datetime) -> dict[int, IncidentFacts]:
        """Return the classification and first network of the incidents assigned in the period."""
        first_link = (
            sa.select(
                IncidentMessage.incident_id.label("incident_id"),
                sa.func.min(IncidentMessage.id).label("link_id"),
            )
            .where(IncidentMessage.incident_id.in_(self._cohort(start, end)))
            .group_by(IncidentMessage.incident_id)
            .subquery()
        )
        first_networks = (
            sa.select(first_link.c.incident_id, Message.network)
            .join(IncidentMessage, IncidentMessage.id == first_link.c.link_id)
            .join(Message, Message.id == IncidentMessage.message_id)
        )
        networks: dict[int, Any] = {
            incident_id: network for incident_id, network in self._session.execute(first_networks)
        }
        query = sa.select(
            Incident.id, Incident.topic_group, Incident.municipality, Incident.municipality_oktmo
        ).where(Incident.id.in_(self._cohort(start, end)))
        found: dict[int, IncidentFacts] = {}
        for incident_id, group, name, oktmo in self._session.execute(query):
            network = networks.get(incident_id)
            found[incident_id] = IncidentFacts(
                incident_id, group, name, oktmo, None if network is None else network.value
            )
        return found

    def escalations(self, start: dt.datetime, end: dt.datetime) -> list[KpiEvent]:
        """Return the escalation events recorded in ``[start, end)``."""
        query = (
            sa.select(Event.id, Event.incident_id, Event.kind, Event.occurred_at, Event.payload)
            .where(Event.kind == _ESCALATION, Event.occurred_at >= start, Event.occurred_at < end)
            .order_by(Event.id)
        )
        return [_event(row) for row in self._session.execute(query)]

    def executor_names(self) -> dict[str, str]:
        """Return every executor's name by code."""
        query = sa.select(Executor.code, Executor.name)
        return {code: name for code, name in self._session.execute(query)}

    def source_health(self) -> list[SourceHealth]:
        """Return every source's health, the failing ones first."""
        query = sa.select(Source).order_by(
            Source.consecutive_failures.desc(), Source.network, Source.id
        )
        return [
            SourceHealth(
                s.id,
                s.network.value,
                s.title or s.screen_name or s.external_id,
                s.enabled,
                s.last_success_at,
                s.lag_seconds,
                s.consecutive_failures,
                s.last_error,
            )
            for s in self._session.scalars(query)
        ]
