"""Hold executors to their deadlines: SLA clocks as pure functions over frozen dataclasses."""

# A clock starts when the executor *receives* an incident and counts working time in the
# executor's schedule, time zone and production calendar (``router.working_time``). It runs in
# *segments*: "returned for clarification" closes the open segment (pause), resuming opens a new
# one, and the deadline is always ``resume instant + (budget - working time used so far)``.
# An interim answer starts an *interim phase* with its own, longer budget. See docs/sla.md.

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from router.calendar import CalendarYearMissing, ProductionCalendar
from router.working_time import (
    Explanation,
    WeeklySchedule,
    add_working_time,
    explain,
    working_time_between,
)

__all__ = [
    "ANY",
    "DEFAULT_AT_RISK_SHARE",
    "DEFAULT_BUDGET",
    "DEFAULT_INTERIM_DAYS",
    "Budget",
    "BudgetOverride",
    "ClockError",
    "ClockExplanation",
    "ClockState",
    "ClockStatus",
    "Phase",
    "Segment",
    "SlaClock",
    "SlaPolicy",
    "WorkingHours",
    "at_risk_of",
    "daily_hours",
    "deadline_of",
    "explain_clock",
    "interim_budget",
    "next_opening",
    "pause",
    "recompute",
    "remaining",
    "restart",
    "resume",
    "start_clock",
    "status",
    "stop",
    "switch_to_interim",
    "used",
]

#: Matches any topic group, topic or priority in an override.
ANY = "*"
#: The answer budget when no override matches (DESIGN.md: 8 working hours).
DEFAULT_BUDGET = timedelta(hours=8)
#: Working days allowed after an interim answer.
DEFAULT_INTERIM_DAYS = 7
#: Share of the budget used after which a running clock is "at risk".
DEFAULT_AT_RISK_SHARE = 0.75

_ZERO = timedelta(0)
_TICK = timedelta(microseconds=1)


class ClockError(ValueError):
    """An operation does not fit the clock's state (pausing a paused clock, a naive time, ...)."""


def _utc(value: datetime, name: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ClockError(f"{name} must be timezone-aware, got naive {value.isoformat()}")
    return value.astimezone(UTC)


# --------------------------------------------------------------------------- where time counts


@dataclass(frozen=True, slots=True)
class WorkingHours:
    """Where an executor's working time is counted: its week, the calendar and its zone."""

    schedule: WeeklySchedule
    calendar: ProductionCalendar
    timezone: str

    def between(self, a: datetime, b: datetime) -> timedelta:
        """Return the working time inside ``[a, b)``."""
        return working_time_between(a, b, self.schedule, self.calendar, self.timezone)

    def add(self, start: datetime, budget: timedelta) -> datetime:
        """Return the instant at which ``budget`` of working time from ``start`` is used up."""
        return add_working_time(start, budget, self.schedule, self.calendar, self.timezone)

    def explain(self, start: datetime, budget: timedelta) -> Explanation:
        """Explain ``add(start, budget)`` day by day."""
        return explain(start, budget, self.schedule, self.calendar, self.timezone)


def daily_hours(schedule: WeeklySchedule) -> timedelta:
    """Return the average working day of a schedule: weekly time / days that have hours.

    The standard Kirov week (Mon-Thu 8 h 12 min, Fri 7 h 12 min) gives 8 h; a 24/7 desk 24 h.
    """
    days = sum(1 for day in schedule.days if day)
    return timedelta(minutes=schedule.weekly_minutes() / days)


def interim_budget(schedule: WeeklySchedule, days: int = DEFAULT_INTERIM_DAYS) -> timedelta:
    """Return the budget after an interim answer: ``days`` × the executor's average working day."""
    if days < 1:
        raise ClockError(f"interim days must be at least 1, got {days}")
    return daily_hours(schedule) * days


def next_opening(at: datetime, hours: WorkingHours) -> datetime:
    """Return ``at`` when it is inside working hours, else the next instant they open."""
    return hours.add(at, _TICK) - _TICK


# --------------------------------------------------------------------------- budgets


@dataclass(frozen=True, slots=True)
class BudgetOverride:
    """A different budget for a topic group, topic and/or priority (``*`` matches any)."""

    hours: float
    topic_group: str = ANY
    topic: str = ANY
    priority: str = ANY
    id: str = ""

    def matches(self, topic_group: str | None, topic: str | None, priority: str | None) -> bool:
        """Return whether the override applies to an incident with these values."""
        return (
            self.topic_group in (ANY, topic_group)
            and self.topic in (ANY, topic)
            and self.priority in (ANY, priority)
        )


@dataclass(frozen=True, slots=True)
class Budget:
    """A clock's budget and why it is that long (the override that matched, or the default)."""

    duration: timedelta
    reason: str


@dataclass(frozen=True, slots=True)
class SlaPolicy:
    """The region's SLA settings: budgets, overrides (first match wins), interim days, at-risk."""

    default_budget: timedelta = DEFAULT_BUDGET
    overrides: tuple[BudgetOverride, ...] = ()
    interim_days: int = DEFAULT_INTERIM_DAYS
    at_risk_share: float = DEFAULT_AT_RISK_SHARE

    def __post_init__(self) -> None:
        if self.default_budget <= _ZERO:
            raise ClockError(f"the default budget must be positive, got {self.default_budget}")
        if not 0 <= self.at_risk_share <= 1:
            raise ClockError(f"at_risk_share must be within 0..1, got {self.at_risk_share}")

    def budget_for(
        self, topic_group: str | None, topic: str | None, priority: str | None
    ) -> Budget:
        """Return the budget of an incident: the first matching override, else the default."""
        for index, override in enumerate(self.overrides):
            if override.matches(topic_group, topic, priority):
                name = override.id or f"sla.overrides[{index}]"
                what = ", ".join(
                    f"{key} {value}"
                    for key, value in (
                        ("topic group", override.topic_group),
                        ("topic", override.topic),
                        ("priority", override.priority),
                    )
                    if value != ANY
                )
                return Budget(
                    timedelta(hours=override.hours),
                    f"{name} ({what or 'any incident'}): {override.hours:g} working hours",
                )
        hours = self.default_budget / timedelta(hours=1)
        return Budget(self.default_budget, f"default: {hours:g} working hours")

    def interim_budget(self, schedule: WeeklySchedule) -> Budget:
        """Return the interim-answer budget for an executor with this schedule."""
        duration = interim_budget(schedule, self.interim_days)
        per_day = daily_hours(schedule) / timedelta(hours=1)
        return Budget(
            duration,
            f"interim answer: {self.interim_days} working days × {per_day:g} h "
            "(the executor's average working day)",
        )


# --------------------------------------------------------------------------- clocks


class Phase(enum.StrEnum):
    """The budget a clock is counting: the first answer's, or the one after an interim answer."""

    INITIAL = "initial"
    INTERIM = "interim"


class ClockState(enum.StrEnum):
    """Where a clock stands at an instant."""

    ON_TRACK = "on_track"
    AT_RISK = "at_risk"
    OVERDUE = "overdue"
    PAUSED = "paused"
    STOPPED = "stopped"


@dataclass(frozen=True, slots=True)
class Segment:
    """A stretch during which the clock ran; ``end`` is None while it still runs."""

    start: datetime
    end: datetime | None = None


@dataclass(frozen=True, slots=True)
class SlaClock:
    """One clock: when it started, its current budget and the segments it ran in that phase.

    ``deadline`` is kept up to date by the functions of this module: the instant the budget
    runs out if the clock keeps running, None while paused. A stopped clock keeps its last
    deadline, so "answered on time" can still be told.
    """

    received_at: datetime
    budget: timedelta
    budget_reason: str
    phase: Phase
    phase_started_at: datetime
    segments: tuple[Segment, ...]
    deadline: datetime | None
    stopped_at: datetime | None = None
    paused_total: timedelta = _ZERO

    @property
    def running(self) -> bool:
        """Return whether the clock is counting (neither paused nor stopped)."""
        return self.stopped_at is None and bool(self.segments) and self.segments[-1].end is None

    @property
    def paused(self) -> bool:
        """Return whether the clock is paused (not running and not stopped)."""
        return self.stopped_at is None and not self.running

    @property
    def paused_at(self) -> datetime | None:
        """Return when the current pause began, or None."""
        if not self.paused or not self.segments:
            return None
        return self.segments[-1].end


def _closed_used(clock: SlaClock, hours: WorkingHours) -> timedelta:
    total = _ZERO
    for segment in clock.segments:
        if segment.end is not None:
            total += hours.between(segment.start, segment.end)
    return total


def start_clock(received_at: datetime, budget: Budget, hours: WorkingHours) -> SlaClock:
    """Start a clock when the executor receives the incident."""
    at = _utc(received_at, "received_at")
    if budget.duration <= _ZERO:
        raise ClockError(f"a budget must be positive, got {budget.duration}")
    return SlaClock(
        received_at=at,
        budget=budget.duration,
        budget_reason=budget.reason,
        phase=Phase.INITIAL,
        phase_started_at=at,
        segments=(Segment(at),),
        deadline=hours.add(at, budget.duration),
    )


def used(clock: SlaClock, at: datetime, hours: WorkingHours) -> timedelta:
    """Return the working time the current phase has used up to ``at``."""
    at = _utc(at, "at")
    total = _ZERO
    for segment in clock.segments:
        end = segment.end if segment.end is not None else clock.stopped_at
        end = at if end is None else min(end, at)
        if end > segment.start:
            total += hours.between(segment.start, end)
    return total


def remaining(clock: SlaClock, at: datetime, hours: WorkingHours) -> timedelta:
    """Return the working time left at ``at``; negative once the deadline has passed."""
    return clock.budget - used(clock, at, hours)


def deadline_of(clock: SlaClock, hours: WorkingHours) -> datetime | None:
    """Compute the deadline of a running clock from its segments (None if not running)."""
    if not clock.running:
        return None
    left = clock.budget - _closed_used(clock, hours)
    start = clock.segments[-1].start
    if left <= _ZERO:
        return start
    return hours.add(start, left)


def at_risk_of(
    clock: SlaClock, hours: WorkingHours, at_risk_share: float = DEFAULT_AT_RISK_SHARE
) -> datetime | None:
    """Return the instant a running clock reaches the at-risk share of its budget (else None).

    The queue filters "at risk" on this instant, so it is computed when the clock changes, in
    working time, like the deadline.
    """
    if not clock.running:
        return None
    left = clock.budget * at_risk_share - _closed_used(clock, hours)
    start = clock.segments[-1].start
    if left <= _ZERO:
        return start
    return hours.add(start, left)


def pause(clock: SlaClock, at: datetime) -> SlaClock:
    """Pause a running clock ("returned for clarification"); the deadline becomes undefined."""
    at = _utc(at, "at")
    if not clock.running:
        raise ClockError("only a running clock can be paused")
    last = clock.segments[-1]
    if at < last.start:
        raise ClockError(f"cannot pause at {at.isoformat()}, before the clock ran")
    return replace(clock, segments=(*clock.segments[:-1], Segment(last.start, at)), deadline=None)


def resume(clock: SlaClock, at: datetime, hours: WorkingHours) -> SlaClock:
    """Resume a paused clock: it continues with the budget it had left."""
    at = _utc(at, "at")
    paused_at = clock.paused_at
    if paused_at is None:
        raise ClockError("only a paused clock can be resumed")
    if at < paused_at:
        raise ClockError(f"cannot resume at {at.isoformat()}, before the pause")
    resumed = replace(
        clock,
        segments=(*clock.segments, Segment(at)),
        paused_total=clock.paused_total + (at - paused_at),
    )
    return replace(resumed, deadline=deadline_of(resumed, hours))


def switch_to_interim(
    clock: SlaClock, at: datetime, budget: Budget, hours: WorkingHours
) -> SlaClock:
    """Start the interim phase at the interim answer: a fresh, longer budget counted from ``at``."""
    at = _utc(at, "at")
    if clock.stopped_at is not None:
        raise ClockError("a stopped clock cannot take an interim answer")
    if budget.duration <= _ZERO:
        raise ClockError(f"a budget must be positive, got {budget.duration}")
    return replace(
        clock,
        budget=budget.duration,
        budget_reason=budget.reason,
        phase=Phase.INTERIM,
        phase_started_at=at,
        segments=(Segment(at),),
        deadline=hours.add(at, budget.duration),
    )


def stop(clock: SlaClock, at: datetime) -> SlaClock:
    """Stop the clock (final answer, re-routing away, closure); the last deadline is kept."""
    at = _utc(at, "at")
    if clock.stopped_at is not None:
        raise ClockError("the clock is already stopped")
    segments = clock.segments
    if clock.running:
        segments = (*segments[:-1], Segment(segments[-1].start, max(at, segments[-1].start)))
    return replace(clock, segments=segments, stopped_at=at)


def restart(clock: SlaClock, at: datetime, hours: WorkingHours) -> SlaClock:
    """Run a stopped clock again from ``at`` with the budget it had left (an answer sent back)."""
    at = _utc(at, "at")
    if clock.stopped_at is None:
        raise ClockError("only a stopped clock can be restarted")
    if at < clock.stopped_at:
        raise ClockError(f"cannot restart at {at.isoformat()}, before the clock stopped")
    restarted = replace(
        clock,
        segments=(*clock.segments, Segment(at)),
        stopped_at=None,
        paused_total=clock.paused_total + (at - clock.stopped_at),
    )
    return replace(restarted, deadline=deadline_of(restarted, hours))


def recompute(clock: SlaClock, hours: WorkingHours) -> SlaClock:
    """Recompute the deadline under new working hours (a calendar or schedule change).

    The working time already used is re-counted under the new hours too, so a day declared
    non-working after the fact stops counting.
    """
    if not clock.running:
        return clock
    return replace(clock, deadline=deadline_of(clock, hours))


@dataclass(frozen=True, slots=True)
class ClockStatus:
    """A clock at an instant: its state, working time used and left, share used, deadline."""

    state: ClockState
    used: timedelta
    remaining: timedelta
    share_used: float
    deadline: datetime | None
    late: bool


def status(
    clock: SlaClock,
    at: datetime,
    hours: WorkingHours,
    at_risk_share: float = DEFAULT_AT_RISK_SHARE,
) -> ClockStatus:
    """Tell where a clock stands at ``at``: on track, at risk, overdue, paused or stopped.

    Overdue means the deadline has been reached (the deadline instant itself is overdue, as
    intervals are half-open). ``late`` is also set on a stopped clock that stopped after its
    deadline.
    """
    at = _utc(at, "at")
    deadline = clock.deadline
    try:
        spent = used(clock, at, hours)
    except CalendarYearMissing:
        # ``at`` (or the answer) is in a year the calendar lacks. The deadline was computed in a
        # covered year, so a clock past it is overdue (or was late) whatever those days are:
        # count its working time up to the deadline only, instead of failing every screen and
        # job that asks.
        if deadline is None or min(at, clock.stopped_at or at) < deadline:
            raise
        spent = used(clock, deadline, hours)
    share = spent / clock.budget
    if clock.stopped_at is not None:
        late = deadline is not None and clock.stopped_at > deadline
        state = ClockState.STOPPED
    elif not clock.running:
        late = spent >= clock.budget
        state = ClockState.PAUSED
    else:
        late = deadline is not None and at >= deadline
        if late:
            state = ClockState.OVERDUE
        elif share >= at_risk_share:
            state = ClockState.AT_RISK
        else:
            state = ClockState.ON_TRACK
    return ClockStatus(state, spent, clock.budget - spent, share, deadline, late)


# --------------------------------------------------------------------------- explanation


@dataclass(frozen=True, slots=True)
class ClockExplanation:
    """How a clock's deadline follows from its budget, its segments and the working hours."""

    clock: SlaClock
    segments_used: tuple[tuple[Segment, timedelta], ...]
    remaining_explained: Explanation | None
    timezone: str = "UTC"

    def lines(self) -> list[str]:
        """Return the explanation for people, one step per line, in the executor's zone."""
        clock = self.clock
        zone = ZoneInfo(self.timezone)

        def local(value: datetime) -> str:
            return value.astimezone(zone).isoformat()

        hours = clock.budget / timedelta(hours=1)
        out = [
            f"Received {local(clock.received_at)}; phase {clock.phase.value} "
            f"from {local(clock.phase_started_at)}",
            f"Budget {hours:g} working hours: {clock.budget_reason}",
        ]
        for segment, spent in self.segments_used:
            end = local(segment.end) if segment.end else ""
            minutes = spent / timedelta(minutes=1)
            out.append(f"Ran {local(segment.start)} .. {end}: {minutes:g} working min used")
        if clock.stopped_at is not None:
            out.append(f"Stopped {local(clock.stopped_at)}")
        if self.remaining_explained is None:
            if clock.stopped_at is None:
                out.append("Paused: no deadline until the clock resumes")
        else:
            out.extend(self.remaining_explained.lines())
        return out


def explain_clock(clock: SlaClock, hours: WorkingHours) -> ClockExplanation:
    """Explain a clock's deadline: each closed segment's use, then the remaining budget's steps."""
    closed = tuple(
        (segment, hours.between(segment.start, segment.end))
        for segment in clock.segments
        if segment.end is not None
    )
    steps: Explanation | None = None
    if clock.running:
        left = clock.budget - sum((spent for _, spent in closed), _ZERO)
        steps = hours.explain(clock.segments[-1].start, max(left, _ZERO))
    return ClockExplanation(clock, closed, steps, hours.timezone)
