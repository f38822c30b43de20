"""Count working time over executors' weekly schedules and the production calendar."""

from __future__ import annotations

import enum
import itertools
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from router.calendar import WEEKDAY_ABBR, CalendarDay, DayKind, ProductionCalendar

__all__ = [
    "DEFAULT_SCHEDULE_SPEC",
    "MAX_SCAN_DAYS",
    "SHORTENED_DAY_CUT",
    "CountedInterval",
    "DayStep",
    "Explanation",
    "NoWorkingTimeError",
    "ScheduleError",
    "ScheduleSpecError",
    "SkipReason",
    "StepKind",
    "WeeklySchedule",
    "WorkInterval",
    "add_working_time",
    "day_intervals",
    "default_schedule",
    "explain",
    "format_schedule",
    "parse_schedule",
    "resolve_zone",
    "working_time_between",
]

#: The default executor schedule: Mon-Fri 09:00-18:00 with lunch 13:00-14:00.
DEFAULT_SCHEDULE_SPEC = "mon-fri=09:00-13:00,14:00-18:00"
#: A shortened pre-holiday day (TK RF art. 95) loses this much from the end of its working time.
SHORTENED_DAY_CUT = 60  # minutes
#: The longest run of calendar days a computation scans before giving up (loop guard).
MAX_SCAN_DAYS = 3 * 366

_MINUTES_PER_DAY = 24 * 60
_DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_TIME_RE = re.compile(r"^(\d{1,2}):(\d{2})$")


class ScheduleError(ValueError):
    """A weekly schedule is invalid (overlapping intervals, no working time, ...)."""


class ScheduleSpecError(ScheduleError):
    """A schedule spec string cannot be parsed."""


class NoWorkingTimeError(RuntimeError):
    """The schedule and calendar give no working time within the scan limit."""


# --------------------------------------------------------------------------- schedules


@dataclass(frozen=True, slots=True, order=True)
class WorkInterval:
    """A wall-clock working interval of one day, in minutes after that day's midnight.

    ``end`` may exceed 1440: the interval then runs past midnight (a night shift) and the
    whole of it belongs to the day it starts on.
    """

    start: int
    end: int

    def __post_init__(self) -> None:
        if not 0 <= self.start < _MINUTES_PER_DAY:
            raise ScheduleError(f"interval start {self.start} is outside 0..1439 minutes")
        if not self.start < self.end <= self.start + _MINUTES_PER_DAY:
            raise ScheduleError(
                f"interval {_hhmm(self.start)}-{_hhmm(self.end)} must last from 1 minute to 24 h"
            )

    @property
    def overnight(self) -> bool:
        """Return whether the interval runs past midnight into the next day."""
        return self.end > _MINUTES_PER_DAY

    @property
    def minutes(self) -> int:
        """Return the interval's length in wall-clock minutes."""
        return self.end - self.start

    def __str__(self) -> str:
        end = self.end - _MINUTES_PER_DAY if self.overnight else self.end
        return f"{_hhmm(self.start)}-{_hhmm(end)}"


@dataclass(frozen=True, slots=True)
class WeeklySchedule:
    """An executor's working intervals for each weekday, Monday first."""

    days: tuple[tuple[WorkInterval, ...], ...]

    def __post_init__(self) -> None:
        if len(self.days) != 7:
            raise ScheduleError(f"a weekly schedule needs 7 days, got {len(self.days)}")
        for wd, intervals in enumerate(self.days):
            for prev, nxt in itertools.pairwise(intervals):
                if nxt.start < prev.end:
                    raise ScheduleError(
                        f"{_DAY_NAMES[wd]}: intervals {prev} and {nxt} overlap or are not in "
                        "ascending order"
                    )
        for wd, intervals in enumerate(self.days):
            if not intervals or not intervals[-1].overnight:
                continue
            spill = intervals[-1].end - _MINUTES_PER_DAY
            following = self.days[(wd + 1) % 7]
            if following and following[0].start < spill:
                raise ScheduleError(
                    f"{_DAY_NAMES[wd]}: night interval {intervals[-1]} overlaps "
                    f"{_DAY_NAMES[(wd + 1) % 7]} {following[0]}"
                )
        if not any(self.days):
            raise ScheduleError("the schedule has no working time on any day")

    @property
    def has_overnight(self) -> bool:
        """Return whether any interval runs past midnight."""
        return any(day and day[-1].overnight for day in self.days)

    def weekly_minutes(self) -> int:
        """Return the scheduled working minutes of an ordinary week."""
        return sum(iv.minutes for day in self.days for iv in day)

    def __str__(self) -> str:
        return format_schedule(self)


def default_schedule() -> WeeklySchedule:
    """Return the default schedule, Mon-Fri 09:00-13:00 and 14:00-18:00."""
    return parse_schedule(DEFAULT_SCHEDULE_SPEC)


def parse_schedule(spec: str) -> WeeklySchedule:
    """Parse a spec like ``mon-thu=08:00-12:00,13:00-17:00;fri=08:00-12:00,13:00-16:00``.

    Clauses are separated by ``;``. Each names days (``mon``, ``mon-fri``, ``sat,sun``) and
    gives comma-separated ``HH:MM-HH:MM`` intervals or ``off``. A later clause replaces the
    hours of the days it names. An interval whose end is not after its start runs past
    midnight; ``24:00`` is allowed as an end.
    """
    if not isinstance(spec, str) or not spec.strip():
        raise ScheduleSpecError("schedule spec is empty; expected e.g. 'mon-fri=09:00-18:00'")
    days: list[tuple[WorkInterval, ...]] = [()] * 7
    clauses = [c.strip() for c in spec.split(";")]
    if clauses and clauses[-1] == "":
        clauses.pop()  # a trailing ';' is harmless
    for n, clause in enumerate(clauses, start=1):
        where = f"schedule spec {spec!r}, clause {n} {clause!r}"
        if not clause:
            raise ScheduleSpecError(f"{where}: empty clause (two ';' in a row?)")
        if clause.count("=") != 1:
            raise ScheduleSpecError(f"{where}: expected DAYS=HH:MM-HH:MM[,HH:MM-HH:MM...]")
        day_part, hours_part = (p.strip().lower() for p in clause.split("="))
        weekdays = _parse_days(day_part, where)
        intervals = _parse_intervals(hours_part, where)
        for wd in weekdays:
            days[wd] = intervals
    try:
        return WeeklySchedule(tuple(days))
    except ScheduleSpecError:
        raise
    except ScheduleError as err:
        raise ScheduleSpecError(f"schedule spec {spec!r}: {err}") from None


def format_schedule(schedule: WeeklySchedule) -> str:
    """Return the canonical spec string of a schedule (parse_schedule reads it back)."""
    clauses: list[str] = []
    wd = 0
    while wd < 7:
        intervals = schedule.days[wd]
        last = wd
        while last + 1 < 7 and schedule.days[last + 1] == intervals:
            last += 1
        if intervals:
            names = _DAY_NAMES[wd] if last == wd else f"{_DAY_NAMES[wd]}-{_DAY_NAMES[last]}"
            clauses.append(f"{names}={','.join(str(iv) for iv in intervals)}")
        wd = last + 1
    return ";".join(clauses)


def _parse_days(text: str, where: str) -> list[int]:
    if not text:
        raise ScheduleSpecError(f"{where}: no days before '='")
    out: list[int] = []
    for part in (p.strip() for p in text.split(",")):
        bounds = [b.strip() for b in part.split("-")]
        if len(bounds) > 2 or not all(bounds):
            raise ScheduleSpecError(f"{where}: bad day range {part!r}")
        for b in bounds:
            if b not in _DAY_NAMES:
                raise ScheduleSpecError(f"{where}: unknown day {b!r} (use {', '.join(_DAY_NAMES)})")
        first, last = _DAY_NAMES.index(bounds[0]), _DAY_NAMES.index(bounds[-1])
        if last < first:
            raise ScheduleSpecError(
                f"{where}: day range {part!r} runs backwards (the week starts on mon)"
            )
        for wd in range(first, last + 1):
            if wd in out:
                raise ScheduleSpecError(f"{where}: {_DAY_NAMES[wd]} is named twice")
            out.append(wd)
    return out


def _parse_intervals(text: str, where: str) -> tuple[WorkInterval, ...]:
    if text == "off":
        return ()
    if not text:
        raise ScheduleSpecError(f"{where}: no hours after '=' (write 'off' for a day off)")
    out: list[WorkInterval] = []
    for part in (p.strip() for p in text.split(",")):
        bounds = [b.strip() for b in part.split("-")]
        if len(bounds) != 2:
            raise ScheduleSpecError(f"{where}: bad interval {part!r}, expected HH:MM-HH:MM")
        start = _parse_hhmm(bounds[0], where, allow_24=False)
        end = _parse_hhmm(bounds[1], where, allow_24=True)
        if end <= start:
            end += _MINUTES_PER_DAY  # runs past midnight
        out.append(WorkInterval(start, end))
    return tuple(out)


def _parse_hhmm(text: str, where: str, *, allow_24: bool) -> int:
    m = _TIME_RE.match(text)
    if m is None:
        raise ScheduleSpecError(f"{where}: bad time {text!r}, expected HH:MM")
    hours, minutes = int(m.group(1)), int(m.group(2))
    if minutes > 59 or hours > 24 or (hours == 24 and (minutes or not allow_24)):
        limit = "00:00-24:00" if allow_24 else "00:00-23:59"
        raise ScheduleSpecError(f"{where}: bad time {text!r}, must be within {limit}")
    return hours * 60 + minutes


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


# --------------------------------------------------------------------------- days


def resolve_zone(tz: tzinfo | str) -> tzinfo:
    """Return a tzinfo for an IANA zone name (or pass a tzinfo through); ValueError if unknown."""
    if isinstance(tz, tzinfo):
        return tz
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone {tz!r} (expected an IANA name such as 'Europe/Kirov')"
        ) from None


def _zone_name(tz: tzinfo) -> str:
    return tz.key if isinstance(tz, ZoneInfo) else str(tz)


def _require_aware(value: datetime, name: str) -> datetime:
    if not isinstance(value, datetime):
        raise TypeError(f"{name} must be a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime, got naive {value.isoformat()}")
    return value.astimezone(UTC)


def _cut_end(intervals: tuple[WorkInterval, ...], minutes: int) -> tuple[WorkInterval, ...]:
    """Remove ``minutes`` of working time from the end of the day, spilling backwards."""
    out = list(intervals)
    left = minutes
    while out and left > 0:
        last = out[-1]
        if last.minutes > left:
            out[-1] = WorkInterval(last.start, last.end - left)
            left = 0
        else:
            out.pop()
            left -= last.minutes
    return tuple(out)


def _wall_intervals(schedule: WeeklySchedule, cday: CalendarDay) -> tuple[WorkInterval, ...]:
    if cday.hours_of_weekday is None:
        return ()
    intervals = schedule.days[cday.hours_of_weekday]
    if cday.shortened:
        intervals = _cut_end(intervals, SHORTENED_DAY_CUT)
    return intervals


def _instant(d: date, minute: int, tz: tzinfo) -> datetime:
    # Wall-clock arithmetic on an aware datetime, then one conversion: the wall time is read
    # with fold=0, so a time repeated by a clock change means its first occurrence.
    return (datetime.combine(d, time(), tzinfo=tz) + timedelta(minutes=minute)).astimezone(UTC)


def day_intervals(
    d: date, schedule: WeeklySchedule, calendar: ProductionCalendar, tz: tzinfo | str
) -> list[tuple[datetime, datetime]]:
    """Return the working intervals of local date ``d`` as half-open UTC pairs."""
    zone = resolve_zone(tz)
    return _utc_intervals(d, _wall_intervals(schedule, calendar.day(d)), zone)


def _utc_intervals(
    d: date, intervals: tuple[WorkInterval, ...], tz: tzinfo
) -> list[tuple[datetime, datetime]]:
    out = []
    for iv in intervals:
        s, e = _instant(d, iv.start, tz), _instant(d, iv.end, tz)
        if e > s:  # an interval swallowed by a clock change disappears
            out.append((s, e))
    return out


def _first_day(start_utc: datetime, schedule: WeeklySchedule, tz: tzinfo) -> date:
    first = start_utc.astimezone(tz).date()
    # Yesterday's night interval may still be open at the start.
    return first - timedelta(days=1) if schedule.has_overnight else first


# --------------------------------------------------------------------------- explanation


class StepKind(enum.StrEnum):
    """Whether a day contributed working time."""

    COUNTED = "counted"
    SKIPPED = "skipped"


class SkipReason(enum.StrEnum):
    """Why a day contributed no working time."""

    WEEKEND = "weekend"
    HOLIDAY = "holiday"
    TRANSFERRED_DAY_OFF = "transferred_day_off"
    NON_WORKING_DAY = "non_working_day"
    NO_SCHEDULED_HOURS = "no_scheduled_hours"
    BEFORE_START = "before_start"
    ALREADY_COUNTED = "already_counted"


_REASON_BY_KIND = {
    DayKind.HOLIDAY: SkipReason.HOLIDAY,
    DayKind.TRANSFERRED_DAY_OFF: SkipReason.TRANSFERRED_DAY_OFF,
    DayKind.NON_WORKING: SkipReason.NON_WORKING_DAY,
}


@dataclass(frozen=True, slots=True)
class CountedInterval:
    """A stretch of working time counted towards the budget (local, aware datetimes)."""

    start: datetime
    end: datetime

    @property
    def duration(self) -> timedelta:
        """Return the real elapsed time of the interval."""
        return self.end.astimezone(UTC) - self.start.astimezone(UTC)

    @property
    def minutes(self) -> float:
        """Return the interval's length in minutes."""
        return self.duration / timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class DayStep:
    """One local calendar day of a deadline computation: counted or skipped, and why."""

    date: date
    kind: StepKind
    reason: SkipReason | None
    detail: str
    calendar_day: CalendarDay
    intervals: tuple[CountedInterval, ...] = ()
    counted: timedelta = timedelta(0)
    remaining: timedelta = timedelta(0)

    @property
    def minutes(self) -> float:
        """Return the working minutes counted on this day."""
        return self.counted / timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class Explanation:
    """A deadline and the day-by-day steps that led to it."""

    start: datetime
    budget: timedelta
    deadline: datetime
    tz: tzinfo
    schedule: str
    steps: tuple[DayStep, ...]

    @property
    def zone(self) -> str:
        """Return the zone's name (the IANA key for a ZoneInfo)."""
        return _zone_name(self.tz)

    def lines(self) -> list[str]:
        """Return a human-readable, step-by-step account of the computation."""
        tz = self.tz
        out = [
            f"Start {_iso(self.start.astimezone(tz))} ({self.zone}), "
            f"budget {_fmt_duration(self.budget)} of working time",
            f"Schedule {self.schedule}",
        ]
        for step in self.steps:
            head = f"{step.date.isoformat()} {WEEKDAY_ABBR[step.date.weekday()]}"
            if step.kind is StepKind.SKIPPED:
                out.append(f"  {head}  skipped: {step.detail}")
                continue
            parts = ", ".join(
                f"{_clock(iv.start, step.date)}-{_clock(iv.end, step.date)} "
                f"({_fmt_minutes(iv.minutes)})"
                for iv in step.intervals
            )
            note = f" [{step.detail}]" if step.detail else ""
            left = (
                "budget used up" if not step.remaining else f"{_fmt_duration(step.remaining)} left"
            )
            out.append(f"  {head}  counted {parts} = {_fmt_minutes(step.minutes)}; {left}{note}")
        out.append(f"Deadline {_iso(self.deadline.astimezone(tz))}")
        return out


def _iso(value: datetime) -> str:
    return value.isoformat(timespec="seconds" if not value.microsecond else "microseconds")


def _clock(value: datetime, day: date) -> str:
    text = value.strftime("%H:%M:%S" if value.second or value.microsecond else "%H:%M")
    shift = (value.date() - day).days
    return f"{text}(+{shift}d)" if shift > 0 else text


def _fmt_minutes(minutes: float) -> str:
    whole = round(minutes)
    if abs(minutes - whole) < 1e-9:
        return f"{whole} min"
    return f"{minutes:.2f} min"


def _fmt_duration(value: timedelta) -> str:
    seconds = value.total_seconds()
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    text = f"{int(hours)} h"
    if minutes or secs:
        text += f" {int(minutes)} min"
    if secs:
        text += f" {secs:g} s"
    return text


def _skip_detail(cday: CalendarDay, wall: tuple[WorkInterval, ...]) -> tuple[SkipReason, str]:
    reason = _REASON_BY_KIND.get(cday.kind)
    if reason is not None:
        return reason, cday.describe()
    if not wall and cday.kind is DayKind.WEEKEND:
        return SkipReason.WEEKEND, "weekend"
    return SkipReason.NO_SCHEDULED_HOURS, f"no hours in the schedule ({cday.describe()})"


def _counted_detail(cday: CalendarDay) -> str:
    notes = []
    if cday.kind is DayKind.WORKING_WEEKEND:
        notes.append(cday.describe())
    elif cday.kind is DayKind.WEEKEND:
        notes.append("weekend hours of the executor's schedule")
    if cday.shortened:
        notes.append(f"shortened pre-holiday day: {SHORTENED_DAY_CUT} min off the end")
    return "; ".join(notes)


# --------------------------------------------------------------------------- arithmetic


def _walk(
    start: datetime,
    budget: timedelta,
    schedule: WeeklySchedule,
    calendar: ProductionCalendar,
    tz: tzinfo | str,
) -> Explanation:
    start_utc = _require_aware(start, "start")
    if not isinstance(budget, timedelta):
        raise TypeError(f"budget must be a timedelta, got {type(budget).__name__}")
    if budget < timedelta(0):
        raise ValueError(f"budget must not be negative, got {budget}")
    zone = resolve_zone(tz)
    steps: list[DayStep] = []

    def result(deadline: datetime) -> Explanation:
        return Explanation(
            start_utc, budget, deadline, zone, format_schedule(schedule), tuple(steps)
        )

    if not budget:
        return result(start_utc)
    start_day = start_utc.astimezone(zone).date()
    cur, left = start_utc, budget
    d = _first_day(start_utc, schedule, zone)
    for _ in range(MAX_SCAN_DAYS):
        cday = calendar.day(d)
        wall = _wall_intervals(schedule, cday)
        pieces: list[CountedInterval] = []
        done = False
        for s, e in _utc_intervals(d, wall, zone):
            if e <= cur:
                continue
            s = max(s, cur)
            if left <= e - s:  # the earliest instant at which the budget is used up
                e = s + left
                done = True
            pieces.append(CountedInterval(s.astimezone(zone), e.astimezone(zone)))
            left -= e - s
            cur = e
            if done:
                break
        if pieces:
            counted = sum((p.duration for p in pieces), timedelta(0))
            steps.append(
                DayStep(
                    d,
                    StepKind.COUNTED,
                    None,
                    _counted_detail(cday),
                    cday,
                    tuple(pieces),
                    counted,
                    left,
                )
            )
        elif d >= start_day:
            if not wall:
                reason, detail = _skip_detail(cday, wall)
            elif all(e <= start_utc for _s, e in _utc_intervals(d, wall, zone)):
                reason, detail = SkipReason.BEFORE_START, "working hours are before the start"
            else:
                reason, detail = (
                    SkipReason.ALREADY_COUNTED,
                    "hours overlap time already counted on the previous day",
                )
            steps.append(DayStep(d, StepKind.SKIPPED, reason, detail, cday, remaining=left))
        if done:
            return result(cur)
        d += timedelta(days=1)
    raise NoWorkingTimeError(
        f"no working time found within {MAX_SCAN_DAYS} days after {start_day.isoformat()} "
        f"for schedule {format_schedule(schedule)!r}; check the schedule and the calendar"
    )


def add_working_time(
    start: datetime,
    budget: timedelta,
    schedule: WeeklySchedule,
    calendar: ProductionCalendar,
    tz: tzinfo | str,
) -> datetime:
    """Return the earliest instant (aware, UTC) at which ``budget`` of working time is used up.

    Counting starts at ``start`` or, outside working hours, at the next opening. A zero
    budget returns ``start`` unchanged.

    Raises:
        ValueError: ``start`` is naive, the budget is negative, or the zone is unknown.
        CalendarYearMissing: the computation reaches a year without calendar data.
        NoWorkingTimeError: no working time within MAX_SCAN_DAYS days.
    """
    return _walk(start, budget, schedule, calendar, tz).deadline


def explain(
    start: datetime,
    budget: timedelta,
    schedule: WeeklySchedule,
    calendar: ProductionCalendar,
    tz: tzinfo | str,
) -> Explanation:
    """Compute the deadline as add_working_time does, with every day counted or skipped."""
    return _walk(start, budget, schedule, calendar, tz)


def working_time_between(
    a: datetime,
    b: datetime,
    schedule: WeeklySchedule,
    calendar: ProductionCalendar,
    tz: tzinfo | str,
) -> timedelta:
    """Return the working time inside the half-open span ``[a, b)``.

    Raises:
        ValueError: a datetime is naive, ``b`` is before ``a``, or the zone is unknown.
        CalendarYearMissing: the span touches a year without calendar data.
    """
    a_utc = _require_aware(a, "a")
    b_utc = _require_aware(b, "b")
    if b_utc < a_utc:
        raise ValueError(f"the end {b.isoformat()} is before the start {a.isoformat()}")
    if a_utc == b_utc:
        return timedelta(0)
    zone = resolve_zone(tz)
    d = _first_day(a_utc, schedule, zone)
    # Intervals of a day start no earlier than its midnight, so the last day that can
    # intersect [a, b) is the local date of the last instant before b.
    last = (b_utc - timedelta(microseconds=1)).astimezone(zone).date()
    total = timedelta(0)
    cur = a_utc
    while d <= last:
        for s, e in day_intervals(d, schedule, calendar, zone):
            s, e = max(s, cur), min(e, b_utc)
            if e > s:
                total += e - s
                cur = e
        d += timedelta(days=1)
    return total
