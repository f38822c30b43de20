"""Assignments: one executor's share of an incident, with its SLA clock's projection in columns."""

# The whole clock (``router.sla.SlaClock``) is written into the event of every transition that
# changes it (``payload["clocks"][str(assignment_id)]``); the assignment's columns
# (``received_at``, ``deadline_at``, ``paused_at``, ...) are its queryable projection.

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from router.sla import Phase, Segment, SlaClock
from storage.enums import AssignmentStatus, IncidentStatus
from storage.models import Assignment, Executor, Incident
from storage.repositories.active_assignment import set_active_assignment, sync_active_assignment
from storage.repositories.errors import NotFound
from storage.repositories.incidents import ACTIVE_ASSIGNMENT

__all__ = ["AssignmentRecord", "AssignmentRepository", "clock_from_json", "clock_to_json"]

_US = timedelta(microseconds=1)


def _iso(value: dt.datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _time(value: object) -> dt.datetime | None:
    return None if value is None else dt.datetime.fromisoformat(str(value))


def _required_time(value: object) -> dt.datetime:
    result = _time(value)
    if result is None:
        raise ValueError("a clock document lacks a required time")
    return result


def clock_to_json(clock: SlaClock) -> dict[str, Any]:
    """Return the clock as a JSON document (times in ISO 8601 UTC, durations in microseconds)."""
    return {
        "received_at": _iso(clock.received_at),
        "budget_us": clock.budget // _US,
        "budget_reason": clock.budget_reason,
        "phase": clock.phase.value,
        "phase_started_at": _iso(clock.phase_started_at),
        "segments": [[_iso(s.start), _iso(s.end)] for s in clock.segments],
        "deadline": _iso(clock.deadline),
        "stopped_at": _iso(clock.stopped_at),
        "paused_total_us": clock.paused_total // _US,
    }


def clock_from_json(document: dict[str, Any]) -> SlaClock:
    """Read a clock written by :func:`clock_to_json`."""
    return SlaClock(
        received_at=_required_time(document["received_at"]),
        budget=int(document["budget_us"]) * _US,
        budget_reason=str(document["budget_reason"]),
        phase=Phase(document["phase"]),
        phase_started_at=_required_time(document["phase_started_at"]),
        segments=tuple(
            Segment(_required_time(start), _time(end)) for start, end in document["segments"]
        ),
        deadline=_time(document["deadline"]),
        stopped_at=_time(document["stopped_at"]),
        paused_total=int(document["paused_total_us"]) * _US,
    )


@dataclass(frozen=True, slots=True)
class AssignmentRecord:
    """An assignment with its executor's code and its clock's projection."""

    id: int
    incident_id: int
    executor_id: int
    executor_code: str
    status: AssignmentStatus
    assigned_at: dt.datetime
    received_at: dt.datetime | None
    budget_minutes: int
    deadline_at: dt.datetime | None
    paused_at: dt.datetime | None
    remaining_budget_minutes: int | None
    interim: bool
    closed_at: dt.datetime | None
    rule_id: str | None

    @property
    def active(self) -> bool:
        """Return whether this executor is currently responsible for the incident."""
        return self.status in ACTIVE_ASSIGNMENT


_TABLE = cast("sa.Table", Assignment.__table__)
_INSERT = sa.insert(_TABLE).returning(_TABLE.c.id)
_EXECUTOR_CODE = sa.select(Executor.code).where(Executor.id == sa.bindparam("b_id"))


def _minutes(value: timedelta) -> int:
    return int(value / timedelta(minutes=1))


def _projection(
    clock: SlaClock, remaining: timedelta | None, at_risk_at: dt.datetime | None
) -> dict[str, Any]:
    """Return the columns that project the clock (see the module's note)."""
    return {
        "received_at": clock.received_at,
        "at_risk_at": at_risk_at if clock.running else None,
        "sla_budget_minutes": max(1, round(clock.budget / timedelta(minutes=1))),
        "deadline_at": clock.deadline,
        "paused_at": clock.paused_at,
        "paused_total_minutes": _minutes(clock.paused_total),
        "remaining_budget_minutes": None if remaining is None else _minutes(remaining),
        "interim": clock.phase is Phase.INTERIM,
        "closed_at": clock.stopped_at,
    }


class AssignmentRepository:
    """Assignments within one session (the caller owns the transaction)."""

    def __init__(self, session: Session) -> None:
        """Work inside ``session``."""
        self._session = session

    def _record(self, row: Assignment) -> AssignmentRecord:
        executor = self._session.get(Executor, row.executor_id)
        return AssignmentRecord(
            id=row.id,
            incident_id=row.incident_id,
            executor_id=row.executor_id,
            executor_code=executor.code if executor else "",
            status=row.status,
            assigned_at=row.assigned_at,
            received_at=row.received_at,
            budget_minutes=row.sla_budget_minutes,
            deadline_at=row.deadline_at,
            paused_at=row.paused_at,
            remaining_budget_minutes=row.remaining_budget_minutes,
            interim=row.interim,
            closed_at=row.closed_at,
            rule_id=row.rule_id,
        )

    @staticmethod
    def _project(
        row: Assignment,
        clock: SlaClock,
        remaining: timedelta | None,
        at_risk_at: dt.datetime | None = None,
    ) -> None:
        for name, value in _projection(clock, remaining, at_risk_at).items():
            setattr(row, name, value)

    def add(
        self,
        incident_id: int,
        executor_id: int,
        *,
        clock: SlaClock,
        status: AssignmentStatus,
        rule_id: str | None,
        now: dt.datetime,
        at_risk_at: dt.datetime | None = None,
    ) -> AssignmentRecord:
        """Add an assignment with its started clock (and when it will be at risk).

        Core statements (the pipeline assigns every new incident its rules route): the insert,
        the incident's copy of its active assignment (this one, the newest, when it is
        active), the executor's code.
        """
        values: dict[str, Any] = {
            "incident_id": incident_id,
            "executor_id": executor_id,
            "assigned_at": now,
            "status": status,
            "rule_id": rule_id,
            **_projection(clock, None, at_risk_at),
        }
        self._session.flush()
        assignment_id = int(self._session.execute(_INSERT, values).scalar_one())
        if status in ACTIVE_ASSIGNMENT:
            set_active_assignment(
                self._session,
                incident_id,
                assignment_id=assignment_id,
                executor_id=executor_id,
                status=status,
                deadline_at=values["deadline_at"],
                at_risk_at=values["at_risk_at"],
            )
        else:
            sync_active_assignment(self._session, [incident_id])
        return AssignmentRecord(
            id=assignment_id,
            incident_id=incident_id,
            executor_id=executor_id,
            executor_code=self._session.scalar(_EXECUTOR_CODE, {"b_id": executor_id}) or "",
            status=status,
            assigned_at=now,
            received_at=values["received_at"],
            budget_minutes=values["sla_budget_minutes"],
            deadline_at=values["deadline_at"],
            paused_at=values["paused_at"],
            remaining_budget_minutes=values["remaining_budget_minutes"],
            interim=values["interim"],
            closed_at=values["closed_at"],
            rule_id=rule_id,
        )

    def update(
        self,
        assignment_id: int,
        *,
        status: AssignmentStatus,
        clock: SlaClock,
        remaining: timedelta | None = None,
        at_risk_at: dt.datetime | None = None,
    ) -> AssignmentRecord:
        """Set an assignment's status and its clock's projection (``remaining`` while paused)."""
        row = self._session.get(Assignment, assignment_id)
        if row is None:
            raise NotFound(f"no assignment with id {assignment_id}")
        row.status = status
        self._project(row, clock, remaining, at_risk_at)
        self._session.flush()
        sync_active_assignment(self._session, [row.incident_id])
        return self._record(row)

    def get(self, assignment_id: int) -> AssignmentRecord:
        """Return the assignment; NotFound if there is none."""
        row = self._session.get(Assignment, assignment_id)
        if row is None:
            raise NotFound(f"no assignment with id {assignment_id}")
        return self._record(row)

    def for_incident(self, incident_id: int) -> list[AssignmentRecord]:
        """Return every assignment of an incident, oldest first."""
        query = sa.select(Assignment).where(Assignment.incident_id == incident_id)
        return [self._record(r) for r in self._session.scalars(query.order_by(Assignment.id))]

    def active(self, incident_id: int) -> AssignmentRecord | None:
        """Return the incident's active assignment (the newest one), if any."""
        query = (
            sa.select(Assignment)
            .where(Assignment.incident_id == incident_id, Assignment.status.in_(ACTIVE_ASSIGNMENT))
            .order_by(Assignment.id.desc())
            .limit(1)
        )
        row = self._session.scalars(query).first()
        return None if row is None else self._record(row)

    def assigned_incident_ids(self, statuses: Sequence[IncidentStatus]) -> list[int]:
        """Return the ids of the incidents in these states that have had an assignment."""
        query = (
            sa.select(Assignment.incident_id)
            .join(Incident, Incident.id == Assignment.incident_id)
            .where(Incident.status.in_(statuses))
            .distinct()
        )
        return sorted(self._session.scalars(query))

    def open_clocks(self) -> list[AssignmentRecord]:
        """Return the assignments whose clock runs (received, not paused, answered or closed)."""
        query = sa.select(Assignment).where(Assignment.status == AssignmentStatus.RECEIVED)
        return [self._record(r) for r in self._session.scalars(query.order_by(Assignment.id))]
