"""Decide which at-risk and overdue assignments to escalate to supervisors, once each, and when."""

# Pure: the caller passes the clocks, the escalations already sent (their keys, read from the
# event log) and the supervisors' working hours; it gets back what to send now and what waits for
# the next opening. Sending and recording are the caller's job (app/).

from __future__ import annotations

import enum
from collections.abc import Iterable, Set
from dataclasses import dataclass
from datetime import UTC, datetime

from router.calendar import CalendarYearMissing
from router.sla import ClockState, SlaClock, WorkingHours, next_opening, status

__all__ = [
    "Escalation",
    "EscalationLevel",
    "EscalationPlan",
    "Watched",
    "escalation_key",
    "plan_escalations",
]


class EscalationLevel(enum.StrEnum):
    """How bad it is: the budget is mostly used, or the deadline has passed."""

    AT_RISK = "at_risk"
    OVERDUE = "overdue"


def escalation_key(assignment_id: int, level: EscalationLevel) -> str:
    """Return the idempotency key of an escalation: one per assignment and level."""
    return f"assignment:{assignment_id}:{level.value}"


@dataclass(frozen=True, slots=True)
class Watched:
    """An open assignment to check: its ids, its executor, its clock and the executor's hours."""

    assignment_id: int
    incident_id: int
    executor: str
    clock: SlaClock
    hours: WorkingHours


@dataclass(frozen=True, slots=True)
class Escalation:
    """One escalation to supervisors: which assignment, how bad, why, and when to send it."""

    key: str
    assignment_id: int
    incident_id: int
    executor: str
    level: EscalationLevel
    deadline: datetime | None
    share_used: float
    send_at: datetime
    reason: str


@dataclass(frozen=True, slots=True)
class EscalationPlan:
    """What to send now and what is queued for the supervisors' next opening."""

    send_now: tuple[Escalation, ...]
    queued: tuple[Escalation, ...]


def plan_escalations(
    watched: Iterable[Watched],
    *,
    now: datetime,
    sent: Set[str],
    receiver_hours: WorkingHours,
    at_risk_share: float,
    outside_hours: bool = False,
) -> EscalationPlan:
    """Plan the escalations due at ``now``; an (assignment, level) already in ``sent`` is skipped.

    An overdue assignment is escalated as overdue only (a pending at-risk escalation for it is
    dropped). Outside the receiver's working hours an escalation is queued for the next opening
    unless ``outside_hours`` is set.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    now = now.astimezone(UTC)
    try:
        opening = now if outside_hours else next_opening(now, receiver_hours)
    except CalendarYearMissing:
        opening = now  # their next opening is in a year the calendar lacks: send, do not hold
    send_now: list[Escalation] = []
    queued: list[Escalation] = []
    for item in watched:
        result = status(item.clock, now, item.hours, at_risk_share)
        if result.state is ClockState.OVERDUE:
            level = EscalationLevel.OVERDUE
            reason = f"overdue: the deadline {result.deadline} has passed"
        elif result.state is ClockState.AT_RISK:
            level = EscalationLevel.AT_RISK
            reason = f"at risk: {result.share_used:.0%} of the budget used"
        else:
            continue
        key = escalation_key(item.assignment_id, level)
        if key in sent:
            continue
        escalation = Escalation(
            key,
            item.assignment_id,
            item.incident_id,
            item.executor,
            level,
            result.deadline,
            result.share_used,
            opening,
            reason,
        )
        (send_now if opening <= now else queued).append(escalation)
    return EscalationPlan(tuple(send_now), tuple(queued))
