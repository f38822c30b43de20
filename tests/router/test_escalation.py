"""Test escalation planning: at-risk and overdue, once per assignment and level, working hours."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from router.calendar import load_shipped_calendar
from router.escalation import EscalationLevel, Watched, escalation_key, plan_escalations
from router.sla import Budget, WorkingHours, pause, start_clock
from router.working_time import parse_schedule

KIROV = "Europe/Kirov"
HOURS = WorkingHours(
    parse_schedule("mon-fri=09:00-13:00,14:00-18:00"), load_shipped_calendar(), KIROV
)
DESK = WorkingHours(parse_schedule("mon-sun=08:00-20:00"), load_shipped_calendar(), KIROV)
B8 = Budget(timedelta(hours=8), "default")


def kirov(text: str) -> datetime:
    """Return an aware datetime for Kirov wall time."""
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(KIROV))


def watched(assignment_id: int, received: str) -> Watched:
    """A running assignment received at ``received``."""
    return Watched(
        assignment_id,
        100 + assignment_id,
        "minzdrav",
        start_clock(kirov(received), B8, HOURS),
        HOURS,
    )


ITEMS = (
    watched(1, "2025-10-14T10:00"),  # deadline Wed 10:00
    watched(2, "2025-10-14T14:00"),  # deadline Wed 13:00
    watched(3, "2025-10-15T09:00"),  # deadline Wed 18:00
)


def test_at_risk_and_overdue_are_escalated_once() -> None:
    now = kirov("2025-10-15T11:00")
    plan = plan_escalations(ITEMS, now=now, sent=set(), receiver_hours=DESK, at_risk_share=0.75)
    assert [(e.assignment_id, e.level) for e in plan.send_now] == [
        (1, EscalationLevel.OVERDUE),
        (2, EscalationLevel.AT_RISK),
    ]
    assert plan.queued == ()
    assert plan.send_now[0].send_at == now
    assert plan.send_now[1].reason == "at risk: 75% of the budget used"
    sent = {e.key for e in plan.send_now}
    again = plan_escalations(ITEMS, now=now, sent=sent, receiver_hours=DESK, at_risk_share=0.75)
    assert again.send_now == ()
    # Later the at-risk one becomes overdue: that is a new level, escalated once more.
    later = plan_escalations(
        ITEMS, now=kirov("2025-10-15T15:00"), sent=sent, receiver_hours=DESK, at_risk_share=0.75
    )
    assert [e.key for e in later.send_now] == [escalation_key(2, EscalationLevel.OVERDUE)]


def test_paused_clock_is_not_escalated() -> None:
    item = watched(4, "2025-10-14T10:00")
    paused = Watched(4, 104, "minzdrav", pause(item.clock, kirov("2025-10-14T17:30")), HOURS)
    plan = plan_escalations(
        [paused], now=kirov("2025-10-20T12:00"), sent=set(), receiver_hours=DESK, at_risk_share=0.5
    )
    assert plan.send_now == ()
    assert plan.queued == ()


def test_outside_receiver_hours_is_queued_for_the_next_opening() -> None:
    now = kirov("2025-10-15T22:00")
    plan = plan_escalations(ITEMS, now=now, sent=set(), receiver_hours=DESK, at_risk_share=0.75)
    assert plan.send_now == ()
    assert {e.send_at for e in plan.queued} == {kirov("2025-10-16T08:00")}
    assert [(e.assignment_id, e.level) for e in plan.queued] == [
        (1, EscalationLevel.OVERDUE),
        (2, EscalationLevel.OVERDUE),
        (3, EscalationLevel.OVERDUE),
    ]


def test_outside_hours_when_configured_is_sent_at_once() -> None:
    now = kirov("2025-10-15T22:00")
    plan = plan_escalations(
        ITEMS, now=now, sent=set(), receiver_hours=DESK, at_risk_share=0.75, outside_hours=True
    )
    assert len(plan.send_now) == 3
    assert plan.queued == ()


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        plan_escalations(
            ITEMS, now=datetime(2025, 10, 15), sent=set(), receiver_hours=DESK, at_risk_share=0.75
        )
