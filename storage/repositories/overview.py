"""Read-only figures for the start screen: incidents by state, the latest incidents."""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from storage.enums import IncidentStatus, Priority
from storage.models import Assignment, Executor, Incident, IncidentMessage, Message
from storage.repositories.incidents import ACTIVE_ASSIGNMENT

__all__ = ["IncidentLine", "OverviewRepository"]


@dataclass(frozen=True, slots=True)
class IncidentLine:
    """One incident as a row of the start screen."""

    id: int
    public_number: str
    status: IncidentStatus
    priority: Priority
    title: str
    topic_group: str | None
    municipality: str | None
    message_count: int
    author_count: int
    created_at: dt.datetime
    executor_name: str | None
    deadline_at: dt.datetime | None
    support_count: int = 0  # messages linked as support (reactions, advice under its post)


class OverviewRepository:
    """Counts and lists for the start screen, within one (read) session."""

    def __init__(self, session: Session) -> None:
        """Work inside ``session``."""
        self._session = session

    def incidents_by_status(self) -> dict[IncidentStatus, int]:
        """Return how many incidents are in each state (states with none are left out)."""
        query = sa.select(Incident.status, sa.func.count()).group_by(Incident.status)
        return {
            IncidentStatus(status): int(count) for status, count in self._session.execute(query)
        }

    def message_count(self) -> int:
        """Return how many messages are stored."""
        return int(self._session.scalar(sa.select(sa.func.count()).select_from(Message)) or 0)

    def latest_incidents(self, limit: int = 20) -> list[IncidentLine]:
        """Return the newest incidents with their active executor and deadline."""
        active = (
            sa.select(
                Assignment.incident_id,
                Executor.name.label("executor_name"),
                Assignment.deadline_at,
            )
            .join(Executor, Executor.id == Assignment.executor_id)
            .where(Assignment.status.in_(ACTIVE_ASSIGNMENT))
            .subquery()
        )
        query = (
            sa.select(Incident, active.c.executor_name, active.c.deadline_at)
            .outerjoin(active, active.c.incident_id == Incident.id)
            .order_by(Incident.id.desc())
            .limit(limit)
        )
        lines: dict[int, IncidentLine] = {}
        for incident, executor_name, deadline_at in self._session.execute(query):
            if incident.id in lines:
                continue
            lines[incident.id] = IncidentLine(
                id=incident.id,
                public_number=incident.public_number,
                status=incident.status,
                priority=incident.priority,
                title=incident.title,
                topic_group=incident.topic_group,
                municipality=incident.municipality,
                message_count=incident.message_count,
                author_count=incident.author_count,
                created_at=incident.created_at,
                executor_name=executor_name,
                deadline_at=deadline_at,
            )
        support = self.support_counts(list(lines))
        return [
            dataclasses.replace(line, support_count=support.get(line.id, 0))
            for line in lines.values()
        ]

    def support_counts(self, incident_ids: list[int]) -> dict[int, int]:
        """Count, per incident, the messages linked as support («поддержали: N»).

        The pipeline links a reaction or a piece of advice under an incident's post with the
        note «support (…)» in the link's evidence (router/thread.py).
        """
        if not incident_ids:
            return {}
        rows = self._session.execute(
            sa.select(IncidentMessage.incident_id, IncidentMessage.evidence).where(
                IncidentMessage.incident_id.in_(incident_ids)
            )
        )
        counts: dict[int, int] = {}
        for incident_id, evidence in rows:
            note = (evidence or {}).get("note") or ""
            if isinstance(note, str) and note.startswith("support ("):
                counts[incident_id] = counts.get(incident_id, 0) + 1
        return counts
