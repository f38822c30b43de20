"""Test SLA clocks: start at receipt, budgets and overrides, pause/resume, interim, status."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from router.calendar import ProductionCalendar, load_calendar, load_shipped_calendar
from router.sla import (
    Budget,
    BudgetOverride,
    ClockError,
    ClockState,
    Phase,
    SlaPolicy,
    WorkingHours,
    daily_hours,
    deadline_of,
    explain_clock,
    interim_budget,
    next_opening,
    pause,
    recompute,
    remaining,
    restart,
    resume,
    start_clock,
    status,
    stop,
    switch_to_interim,
    used,
)
from router.working_time import parse_schedule, working_time_between

KIROV = "Europe/Kirov"
SCHEDULE_A = "mon-fri=09:00-13:00,14:00-18:00"
STANDARD = "mon-thu=08:00-12:00,12:48-17:00;fri=08:00-12:00,12:48-16:00"
H = timedelta(hours=1)
B8 = Budget(8 * H, "default: 8 working hours")


@pytest.fixture(scope="module")
def cal() -> ProductionCalendar:
    """The shipped production calendar."""
    return load_shipped_calendar()


@pytest.fixture(scope="module")
def hours(cal: ProductionCalendar) -> WorkingHours:
    """Schedule A in Kirov."""
    return WorkingHours(parse_schedule(SCHEDULE_A), cal, KIROV)


def kirov(text: str) -> datetime:
    """Return an aware datetime for Kirov wall time."""
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(KIROV))


# --------------------------------------------------------------------------- budgets


def test_default_budget_is_eight_working_hours() -> None:
    budget = SlaPolicy().budget_for("Дороги", "Ямы", "normal")
    assert budget.duration == 8 * H
    assert budget.reason == "default: 8 working hours"


def test_first_matching_override_wins_and_is_named() -> None:
    policy = SlaPolicy(
        overrides=(
            BudgetOverride(hours=4, priority="urgent"),
            BudgetOverride(hours=2, topic_group="ЖКХ", topic="Прорыв трубы"),
            BudgetOverride(hours=6, topic_group="ЖКХ"),
        )
    )
    assert policy.budget_for("ЖКХ", "Прорыв трубы", "urgent").duration == 4 * H
    pipe = policy.budget_for("ЖКХ", "Прорыв трубы", "normal")
    assert pipe.duration == 2 * H
    assert pipe.reason.startswith("sla.overrides[1] (topic group ЖКХ, topic Прорыв трубы)")
    assert policy.budget_for("ЖКХ", "Отопление", "high").duration == 6 * H
    assert policy.budget_for("Дороги", None, "high").duration == 8 * H


def test_interim_budget_is_days_times_average_working_day() -> None:
    assert daily_hours(parse_schedule(SCHEDULE_A)) == 8 * H
    # The standard Kirov week: 4 × 8 h 12 min + 7 h 12 min = 40 h over 5 days.
    assert daily_hours(parse_schedule(STANDARD)) == 8 * H
    assert interim_budget(parse_schedule(STANDARD), 7) == 56 * H
    assert interim_budget(parse_schedule("mon-sun=00:00-24:00"), 7) == 7 * 24 * H
    with pytest.raises(ClockError):
        interim_budget(parse_schedule(SCHEDULE_A), 0)


def test_policy_rejects_nonsense() -> None:
    with pytest.raises(ClockError):
        SlaPolicy(default_budget=timedelta(0))
    with pytest.raises(ClockError):
        SlaPolicy(at_risk_share=1.5)


# --------------------------------------------------------------------------- clocks


def test_clock_starts_when_received_t01(hours: WorkingHours) -> None:
    clock = start_clock(kirov("2025-10-14T10:00"), B8, hours)
    assert clock.deadline == kirov("2025-10-15T10:00")
    assert clock.received_at.tzinfo is UTC
    assert clock.running
    assert clock.phase is Phase.INITIAL


def test_received_at_night_starts_at_opening(hours: WorkingHours) -> None:
    clock = start_clock(kirov("2025-10-17T18:30"), B8, hours)
    assert clock.deadline == kirov("2025-10-20T18:00")


def test_naive_time_is_refused(hours: WorkingHours) -> None:
    with pytest.raises(ClockError, match="naive"):
        start_clock(datetime(2025, 10, 14, 10), B8, hours)


def test_pause_and_resume_continue_with_remaining_budget_t15(hours: WorkingHours) -> None:
    """business-hours.md T15: used 4 h by the pause, the remaining 4 h run from the resume."""
    clock = start_clock(kirov("2025-10-13T10:00"), B8, hours)
    paused = pause(clock, kirov("2025-10-13T15:00"))
    assert paused.paused
    assert not paused.running
    assert paused.deadline is None
    assert paused.paused_at == kirov("2025-10-13T15:00")
    # While paused, time does not count.
    assert used(paused, kirov("2025-10-15T11:00"), hours) == 4 * H
    assert remaining(paused, kirov("2025-10-15T11:00"), hours) == 4 * H
    assert status(paused, kirov("2025-10-15T11:00"), hours).state is ClockState.PAUSED

    resumed = resume(paused, kirov("2025-10-15T11:30"), hours)
    assert resumed.deadline == kirov("2025-10-15T16:30")
    assert resumed.paused_total == kirov("2025-10-15T11:30") - kirov("2025-10-13T15:00")
    # The remaining budget is computed with working_time_between, whatever the pause's length.
    spent = working_time_between(
        kirov("2025-10-13T10:00"), kirov("2025-10-13T15:00"), hours.schedule, hours.calendar, KIROV
    )
    assert resumed.deadline == hours.add(kirov("2025-10-15T11:30"), 8 * H - spent)


def test_two_pauses_accumulate(hours: WorkingHours) -> None:
    clock = start_clock(kirov("2025-10-13T09:00"), B8, hours)
    clock = pause(clock, kirov("2025-10-13T11:00"))  # 2 h used
    clock = resume(clock, kirov("2025-10-14T09:00"), hours)
    clock = pause(clock, kirov("2025-10-14T12:00"))  # 3 h more
    clock = resume(clock, kirov("2025-10-16T14:00"), hours)
    assert clock.deadline == kirov("2025-10-16T17:00")  # 3 h left
    assert used(clock, kirov("2025-10-16T15:00"), hours) == 6 * H


def test_pause_and_resume_refuse_wrong_states(hours: WorkingHours) -> None:
    clock = start_clock(kirov("2025-10-13T10:00"), B8, hours)
    with pytest.raises(ClockError):
        resume(clock, kirov("2025-10-13T11:00"), hours)
    paused = pause(clock, kirov("2025-10-13T11:00"))
    with pytest.raises(ClockError):
        pause(paused, kirov("2025-10-13T12:00"))
    with pytest.raises(ClockError):
        resume(paused, kirov("2025-10-13T10:30"), hours)
    with pytest.raises(ClockError):
        pause(clock, kirov("2025-10-13T09:00"))


def test_interim_answer_switches_to_seven_working_days(hours: WorkingHours) -> None:
    clock = start_clock(kirov("2025-10-13T10:00"), B8, hours)
    policy = SlaPolicy()
    at = kirov("2025-10-13T15:00")
    interim = switch_to_interim(clock, at, policy.interim_budget(hours.schedule), hours)
    assert interim.phase is Phase.INTERIM
    assert interim.budget == 56 * H
    # Mon 15:00 + 56 working hours: Mon 3 h, Tue-Fri 32 h, Mon-Tue 16 h, Wed 5 h → Wed 14:00.
    assert interim.deadline == kirov("2025-10-22T15:00")
    assert used(interim, kirov("2025-10-14T09:00"), hours) == 3 * H
    assert "7 working days × 8 h" in interim.budget_reason


def test_interim_budget_skips_holidays(hours: WorkingHours) -> None:
    """An interim answer before the New Year break: the 12 days off do not count."""
    clock = start_clock(kirov("2025-12-29T09:00"), B8, hours)
    interim = switch_to_interim(
        clock, kirov("2025-12-29T09:00"), SlaPolicy().interim_budget(hours.schedule), hours
    )
    # Mon 29.12 and Tue 30.12 are worked, 31.12-11.01 are off, 12.01-16.01 make days 3-7.
    assert interim.deadline == kirov("2026-01-16T18:00")


def test_stop_keeps_deadline_and_tells_lateness(hours: WorkingHours) -> None:
    clock = start_clock(kirov("2025-10-14T10:00"), B8, hours)
    on_time = stop(clock, kirov("2025-10-15T09:59"))
    assert status(on_time, kirov("2025-10-20T12:00"), hours).state is ClockState.STOPPED
    assert not status(on_time, kirov("2025-10-20T12:00"), hours).late
    late = stop(clock, kirov("2025-10-15T10:01"))
    assert status(late, kirov("2025-10-20T12:00"), hours).late
    assert late.deadline == kirov("2025-10-15T10:00")
    assert used(late, kirov("2025-10-20T12:00"), hours) == 8 * H + timedelta(minutes=1)
    with pytest.raises(ClockError):
        stop(late, kirov("2025-10-16T10:00"))


@pytest.mark.parametrize(
    ("at", "state", "share"),
    [
        ("2025-10-14T10:00", ClockState.ON_TRACK, 0.0),
        ("2025-10-14T16:00", ClockState.ON_TRACK, 5 / 8),
        ("2025-10-14T17:00", ClockState.AT_RISK, 0.75),  # the share itself is at risk
        ("2025-10-14T18:00", ClockState.AT_RISK, 0.875),  # closed: still 7 h used
        ("2025-10-15T09:30", ClockState.AT_RISK, 7.5 / 8),
        ("2025-10-15T10:00", ClockState.OVERDUE, 1.0),  # the deadline instant itself
        ("2025-10-16T10:00", ClockState.OVERDUE, 2.0),
    ],
)
def test_status_at_instants(hours: WorkingHours, at: str, state: ClockState, share: float) -> None:
    clock = start_clock(kirov("2025-10-14T10:00"), B8, hours)
    result = status(clock, kirov(at), hours, at_risk_share=0.75)
    assert result.state is state
    assert result.share_used == pytest.approx(share)
    assert result.remaining == 8 * H - result.used


def test_at_risk_share_is_configurable(hours: WorkingHours) -> None:
    clock = start_clock(kirov("2025-10-14T10:00"), B8, hours)
    at = kirov("2025-10-14T14:00")  # 3 h of 8 used
    assert status(clock, at, hours, at_risk_share=0.75).state is ClockState.ON_TRACK
    assert status(clock, at, hours, at_risk_share=0.25).state is ClockState.AT_RISK


def test_rerouting_keeps_both_clocks(hours: WorkingHours) -> None:
    """The first executor's clock stops, the second starts fresh; the overall clock runs on."""
    overall = start_clock(kirov("2025-10-13T10:00"), B8, hours)
    first = start_clock(kirov("2025-10-13T10:00"), B8, hours)
    first = stop(first, kirov("2025-10-13T16:00"))  # "not ours" after 5 h
    second = start_clock(kirov("2025-10-14T09:00"), B8, hours)
    assert second.deadline == kirov("2025-10-14T18:00")
    assert overall.deadline == kirov("2025-10-14T10:00")
    at = kirov("2025-10-14T10:00")
    assert status(overall, at, hours).state is ClockState.OVERDUE
    assert status(second, at, hours).state is ClockState.ON_TRACK
    assert used(first, at, hours) == 5 * H


def test_calendar_change_recomputes_open_deadline(
    hours: WorkingHours, tmp_path: Path, cal: ProductionCalendar
) -> None:
    clock = start_clock(kirov("2025-10-14T10:00"), B8, hours)
    assert clock.deadline == kirov("2025-10-15T10:00")
    extra = tmp_path / "emergency.yaml"
    extra.write_text("years:\n  2025:\n    non_working_weekdays: [2025-10-15]\n")
    changed = WorkingHours(hours.schedule, load_calendar([extra]), KIROV)
    assert recompute(clock, changed).deadline == kirov("2025-10-16T10:00")
    # A paused clock has no deadline to recompute; a new schedule applies on resume.
    paused = pause(clock, kirov("2025-10-14T12:00"))
    assert recompute(paused, changed) == paused
    # Time already used is re-counted under the new hours too.
    longer = WorkingHours(parse_schedule("mon-fri=08:00-18:00"), cal, KIROV)
    resumed = resume(paused, kirov("2025-10-14T14:00"), hours)
    assert deadline_of(resumed, longer) == longer.add(kirov("2025-10-14T14:00"), 6 * H)


def test_next_opening(hours: WorkingHours) -> None:
    assert next_opening(kirov("2025-10-17T19:00"), hours) == kirov("2025-10-20T09:00")
    assert next_opening(kirov("2025-10-17T10:15"), hours) == kirov("2025-10-17T10:15")
    assert next_opening(kirov("2025-10-17T13:00"), hours) == kirov("2025-10-17T14:00")


def test_every_deadline_is_explained(hours: WorkingHours) -> None:
    clock = start_clock(kirov("2025-10-13T10:00"), B8, hours)
    clock = resume(pause(clock, kirov("2025-10-13T15:00")), kirov("2025-10-15T11:30"), hours)
    explanation = explain_clock(clock, hours)
    lines = explanation.lines()
    assert lines[1] == "Budget 8 working hours: default: 8 working hours"
    assert "240 working min used" in lines[2]
    assert lines[-1] == "Deadline 2025-10-15T16:30:00+03:00"
    assert explanation.remaining_explained is not None
    assert explanation.remaining_explained.deadline == clock.deadline
    paused_lines = explain_clock(pause(clock, kirov("2025-10-15T12:00")), hours).lines()
    assert paused_lines[-1] == "Paused: no deadline until the clock resumes"


def test_restart_after_rework_continues_the_remaining_budget(hours: WorkingHours) -> None:
    clock = start_clock(kirov("2025-10-14T10:00"), B8, hours)
    answered = stop(clock, kirov("2025-10-14T16:00"))  # 5 h used
    with pytest.raises(ClockError):
        restart(clock, kirov("2025-10-14T17:00"), hours)
    with pytest.raises(ClockError):
        restart(answered, kirov("2025-10-14T15:00"), hours)
    again = restart(answered, kirov("2025-10-15T09:00"), hours)
    assert again.running
    assert again.stopped_at is None
    assert again.deadline == kirov("2025-10-15T12:00")
    assert used(again, kirov("2025-10-15T10:00"), hours) == 6 * H


def test_explanation_reads_in_the_executor_zone(hours: WorkingHours) -> None:
    clock = start_clock(kirov("2025-10-13T10:00"), B8, hours)
    clock = stop(pause(clock, kirov("2025-10-13T15:00")), kirov("2025-10-14T09:00"))
    lines = explain_clock(clock, hours).lines()
    assert lines[0] == (
        "Received 2025-10-13T10:00:00+03:00; phase initial from 2025-10-13T10:00:00+03:00"
    )
    assert lines[2] == (
        "Ran 2025-10-13T10:00:00+03:00 .. 2025-10-13T15:00:00+03:00: 240 working min used"
    )
    assert lines[-1] == "Stopped 2025-10-14T09:00:00+03:00"


def test_random_pauses_never_lose_or_gain_budget(hours: WorkingHours) -> None:
    """Seeded random pause/resume sequences: at the deadline exactly the budget is used."""
    rng = random.Random(20251014)
    for _ in range(300):
        at = kirov("2025-10-06T00:00") + timedelta(minutes=rng.randrange(0, 60 * 24 * 60))
        budget = Budget(timedelta(minutes=rng.randrange(30, 60 * 40)), "random")
        clock = start_clock(at, budget, hours)
        for _ in range(rng.randrange(0, 4)):
            at += timedelta(minutes=rng.randrange(1, 60 * 30))
            if clock.deadline is not None and at >= clock.deadline:
                break
            clock = pause(clock, at)
            at += timedelta(minutes=rng.randrange(0, 60 * 72))
            clock = resume(clock, at, hours)
        assert clock.deadline is not None
        assert used(clock, clock.deadline, hours) == budget.duration
        assert status(clock, clock.deadline, hours).state is ClockState.OVERDUE
        before = clock.deadline - timedelta(microseconds=1)
        assert status(clock, before, hours).state is not ClockState.OVERDUE
