"""Test working-time arithmetic: reference cases, a minute-by-minute oracle, zones, night shifts."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from router.calendar import (
    CalendarYearMissing,
    ProductionCalendar,
    load_calendar,
    load_calendar_file,
    load_shipped_calendar,
)
from router.working_time import (
    MAX_SCAN_DAYS,
    NoWorkingTimeError,
    SkipReason,
    StepKind,
    WeeklySchedule,
    add_working_time,
    day_intervals,
    default_schedule,
    explain,
    parse_schedule,
    working_time_between,
)

SCHEDULE_A = "mon-fri=09:00-13:00,14:00-18:00"
SCHEDULE_B = "mon-thu=08:00-12:00,13:00-17:00;fri=08:00-12:00,13:00-16:00"
NIGHTS = "mon-sun=20:00-08:00"
KIROV = "Europe/Kirov"
PERM = "Asia/Yekaterinburg"
AMUR = "Asia/Yakutsk"
H8 = timedelta(hours=8)


@pytest.fixture(scope="module")
def cal() -> ProductionCalendar:
    """The shipped calendar."""
    return load_shipped_calendar()


def local(text: str, zone: str) -> datetime:
    """Return an aware datetime for a local wall time in ``zone``."""
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(zone))


def due(
    cal: ProductionCalendar, start: str, zone: str, spec: str, budget: timedelta = H8
) -> datetime:
    """Return the deadline as a local, aware datetime."""
    tz = ZoneInfo(zone)
    result = add_working_time(local(start, zone), budget, parse_schedule(spec), cal, tz)
    assert result.tzinfo is UTC
    return result.astimezone(tz)


# --------------------------------------------------------------------------- reference cases

# business-hours.md §4.4, verbatim: (id, created local, zone, schedule, expected due local).
REFERENCE_CASES = [
    ("T01", "2025-10-14T10:00", KIROV, SCHEDULE_A, "2025-10-15T10:00"),
    ("T02", "2025-10-13T09:00", KIROV, SCHEDULE_A, "2025-10-13T18:00"),
    ("T03", "2025-10-15T02:30", PERM, SCHEDULE_A, "2025-10-15T18:00"),
    ("T04", "2025-10-16T13:20", KIROV, SCHEDULE_A, "2025-10-17T13:00"),
    ("T05", "2025-10-17T18:30", KIROV, SCHEDULE_A, "2025-10-20T18:00"),
]

# business-hours.md announces 15 cases plus 5 extra but tabulates only T01-T05 and T15; the
# rest are derived here from the calendar data by hand (the "why" column) and are also
# checked by the oracle below.
DERIVED_CASES = [
    # New Year break 2025/26: Tue 15-18 (3 h); 31.12-11.01 off; Mon 09-13 (4) + 14-15 (1).
    ("NY1", "2025-12-30T15:00", KIROV, SCHEDULE_A, "2026-01-12T15:00"),
    # Start inside the break: the clock starts on Mon 12.01.2026 at 09:00.
    ("NY2", "2026-01-03T11:00", KIROV, SCHEDULE_A, "2026-01-12T18:00"),
    # Working Saturday 01.11.2025, worked as Monday and shortened: 09-13, 14-17.
    ("WS1", "2025-10-31T15:00", KIROV, SCHEDULE_A, "2025-11-01T15:00"),
    # Sat 16:30-17:00 (0.5 h); 02-04.11 off; Wed 09-13 (4) + 14-17:30 (3.5).
    ("WS2", "2025-11-01T16:30", KIROV, SCHEDULE_A, "2025-11-05T17:30"),
    # Working Saturday 27.04.2024 (full day, Monday's hours) after Fri 14-18 (4).
    ("WS3", "2024-04-26T14:00", KIROV, SCHEDULE_A, "2024-04-27T13:00"),
    # Working Saturday 20.02.2027 in Amur (UTC+9): Fri 17-18 (1) + Sat 09-13, 14-17 (7).
    ("WS4", "2027-02-19T17:00", AMUR, SCHEDULE_A, "2027-02-20T17:00"),
    # Shortened Thu 30.04.2026: 09-13, 14-17 (7 h); 01-03.05 off; Mon 09-10.
    ("SH1", "2026-04-30T09:00", KIROV, SCHEDULE_A, "2026-05-04T10:00"),
    # Schedule B, shortened Fri 07.03.2025 (13-15 instead of 13-16): 10-12, 13-15 (4 h);
    # Mon 10.03.2025 is an ordinary working day by decree No. 1335: 08-12 (4).
    ("SH2", "2025-03-07T10:00", KIROV, SCHEDULE_B, "2025-03-10T12:00"),
    # Schedule B on an ordinary Friday ending at 16:00: Fri 13-16 (3); Mon 08-12, 13-14.
    ("B1", "2025-10-17T13:00", KIROV, SCHEDULE_B, "2025-10-20T14:00"),
    # Mon 24.02.2025 is a working day (Feb 23 fell on Sunday and was moved to 08.05).
    ("HD1", "2025-02-21T14:00", KIROV, SCHEDULE_A, "2025-02-24T13:00"),
    # Mar 8 2026 (Sun) moves to Mon 9 by art. 112 part 2; Fri 06.03 is not shortened.
    ("HD2", "2026-03-06T14:00", KIROV, SCHEDULE_A, "2026-03-10T13:00"),
    # Night shifts: Tue 30.12.2025 23:00-08:00 (9 h); 31.12-09.01 off; Sat 10.01 20-08
    # (12 h, the executor's own weekend hours); Sun 20:00-05:00 (9 h) = 30 h.
    ("N1", "2025-12-30T23:00", KIROV, NIGHTS, "2026-01-12T05:00"),
    # Start at 03:00 inside Monday night's shift, which began on Sunday: 03-08 (5) + 20-23.
    ("N2", "2025-10-13T03:00", KIROV, NIGHTS, "2025-10-13T23:00"),
]


@pytest.mark.parametrize(
    ("case", "start", "zone", "spec", "expected"),
    REFERENCE_CASES + DERIVED_CASES,
    ids=[c[0] for c in REFERENCE_CASES + DERIVED_CASES],
)
def test_cases(
    cal: ProductionCalendar, case: str, start: str, zone: str, spec: str, expected: str
) -> None:
    budget = timedelta(hours=30) if case == "N1" else H8
    assert due(cal, start, zone, spec, budget) == local(expected, zone)


def test_t15_pause_and_resume_with_remaining_budget(cal: ProductionCalendar) -> None:
    sched, tz = parse_schedule(SCHEDULE_A), ZoneInfo(KIROV)
    started, paused = local("2025-10-13T10:00", KIROV), local("2025-10-13T15:00", KIROV)
    resumed = local("2025-10-15T11:30", KIROV)
    used = working_time_between(started, paused, sched, cal, tz)
    assert used == timedelta(hours=4)
    result = add_working_time(resumed, H8 - used, sched, cal, tz)
    assert result == local("2025-10-15T16:30", KIROV)


def test_t03_in_utc(cal: ProductionCalendar) -> None:
    result = add_working_time(
        local("2025-10-15T02:30", PERM), H8, default_schedule(), cal, ZoneInfo(PERM)
    )
    assert result == datetime(2025, 10, 15, 13, 0, tzinfo=UTC)


def test_start_may_carry_any_offset(cal: ProductionCalendar) -> None:
    # 07:00 UTC is 10:00 in Kirov: T01 again.
    start = datetime(2025, 10, 14, 7, 0, tzinfo=UTC)
    assert add_working_time(start, H8, default_schedule(), cal, KIROV) == local(
        "2025-10-15T10:00", KIROV
    )


def test_conventions(cal: ProductionCalendar) -> None:
    sched, tz = default_schedule(), ZoneInfo(KIROV)
    at_lunch = local("2025-10-13T12:00", KIROV)
    # Earliest instant: +1 h at 12:00 is 13:00 (not 14:00 as in pandas).
    assert add_working_time(at_lunch, timedelta(hours=1), sched, cal, tz) == local(
        "2025-10-13T13:00", KIROV
    )
    # A zero budget returns the start unchanged, even outside hours.
    night = local("2025-10-18T03:00", KIROV)
    assert add_working_time(night, timedelta(0), sched, cal, tz) == night
    # Sub-minute budgets are exact.
    assert add_working_time(at_lunch, timedelta(seconds=90.5), sched, cal, tz) == local(
        "2025-10-13T12:01:30.500000", KIROV
    )
    # Half-open: an interval's end is not working time; its start is.
    closing = local("2025-10-13T18:00", KIROV)
    assert working_time_between(closing, closing + timedelta(hours=15), sched, cal, tz) == (
        timedelta(0)
    )
    assert working_time_between(
        closing + timedelta(hours=15), closing + timedelta(hours=15, minutes=1), sched, cal, tz
    ) == timedelta(minutes=1)


def test_input_validation(cal: ProductionCalendar) -> None:
    sched = default_schedule()
    naive = datetime(2025, 10, 14, 10, 0)
    aware = local("2025-10-14T10:00", KIROV)
    with pytest.raises(ValueError, match="timezone-aware"):
        add_working_time(naive, H8, sched, cal, KIROV)
    with pytest.raises(ValueError, match="timezone-aware"):
        working_time_between(aware, naive, sched, cal, KIROV)
    with pytest.raises(ValueError, match="timezone-aware"):
        explain(naive, H8, sched, cal, KIROV)
    with pytest.raises(ValueError, match="negative"):
        add_working_time(aware, -H8, sched, cal, KIROV)
    with pytest.raises(ValueError, match="before the start"):
        working_time_between(aware, aware - H8, sched, cal, KIROV)
    with pytest.raises(ValueError, match="unknown time zone 'Europe/Vyatka'"):
        add_working_time(aware, H8, sched, cal, "Europe/Vyatka")


# --------------------------------------------------------------------------- years without data


def test_year_without_data_raises_naming_the_year(cal: ProductionCalendar) -> None:
    sched, tz = default_schedule(), ZoneInfo(KIROV)
    start = local("2027-12-29T10:00", KIROV)  # Wed 10-18 (7) + Thu (8); Fri 31.12 is off
    assert add_working_time(start, timedelta(hours=15), sched, cal, tz) == local(
        "2027-12-30T18:00", KIROV
    )
    with pytest.raises(CalendarYearMissing, match="2028") as info:
        add_working_time(start, timedelta(hours=16), sched, cal, tz)
    assert info.value.year == 2028
    with pytest.raises(CalendarYearMissing, match="2023"):
        add_working_time(local("2023-12-29T10:00", KIROV), H8, sched, cal, tz)
    # A span that ends at midnight of the first uncovered day does not need that day.
    end = local("2028-01-01T00:00", KIROV)
    assert working_time_between(start, end, sched, cal, tz) == timedelta(hours=15)
    with pytest.raises(CalendarYearMissing):
        working_time_between(start, end + timedelta(minutes=1), sched, cal, tz)


def test_night_shift_belongs_to_the_day_it_started_on(tmp_path: Path) -> None:
    # A calendar covering 2030 only: the shift that starts on 31.12.2030 is governed by 2030,
    # so its part after midnight needs no data for 2031.
    path = tmp_path / "only2030.yaml"
    path.write_text(
        "years:\n  2030:\n    non_working_weekdays: []\n    working_weekends: []\n"
        "    shortened_days: []\n",
        encoding="utf-8",
    )
    only2030 = load_calendar_file(path)
    sched, tz = parse_schedule(NIGHTS), ZoneInfo(KIROV)
    start = local("2030-12-31T21:00", KIROV)
    assert add_working_time(start, timedelta(hours=10), sched, only2030, tz) == local(
        "2031-01-01T07:00", KIROV
    )
    assert add_working_time(start, timedelta(hours=11), sched, only2030, tz) == local(
        "2031-01-01T08:00", KIROV
    )
    with pytest.raises(CalendarYearMissing, match="2031"):
        add_working_time(start, timedelta(hours=12), sched, only2030, tz)


def test_night_shift_is_cancelled_by_a_holiday_on_its_start_day(cal: ProductionCalendar) -> None:
    sched, tz = parse_schedule(NIGHTS), ZoneInfo(KIROV)
    # The shift of Thu 30.04.2026 (shortened: ends 07:00) runs into the holiday of 1 May;
    # the shift of 1 May (a holiday) does not run.
    start = local("2026-04-30T20:00", KIROV)
    assert add_working_time(start, timedelta(hours=11), sched, cal, tz) == local(
        "2026-05-01T07:00", KIROV
    )
    assert add_working_time(start, timedelta(hours=12), sched, cal, tz) == local(
        "2026-05-02T21:00", KIROV
    )
    intervals = day_intervals(date(2026, 4, 30), sched, cal, tz)
    assert intervals == [
        (datetime(2026, 4, 30, 17, 0, tzinfo=UTC), datetime(2026, 5, 1, 4, 0, tzinfo=UTC))
    ]


def test_no_working_time_is_a_clear_error(tmp_path: Path) -> None:
    # Only Saturdays in the schedule, and a calendar that has every Saturday of many years off.
    years = range(2030, 2034)
    lines = ["years:"]
    for y in years:
        lines += [f"  {y}:", "    holidays:"]
        d = date(y, 1, 1)
        while d.year == y:
            if d.weekday() == 5:
                lines.append(f"      - {d.isoformat()}")
            d += timedelta(days=1)
        lines += [
            "    non_working_weekdays: []",
            "    working_weekends: []",
            "    shortened_days: []",
        ]
    path = tmp_path / "no_saturdays.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    calendar = load_calendar_file(path)
    with pytest.raises(NoWorkingTimeError, match=f"within {MAX_SCAN_DAYS} days"):
        add_working_time(
            local("2030-01-01T10:00", KIROV), H8, parse_schedule("sat=09:00-18:00"), calendar, KIROV
        )


# --------------------------------------------------------------------------- time zones


def _history_calendar(tmp_path: Path, *years: int) -> ProductionCalendar:
    """Return the shipped calendar plus synthetic (no holidays) test years."""
    text = "years:\n" + "".join(
        f"  {y}:\n    non_working_weekdays: []\n    working_weekends: []\n    shortened_days: []\n"
        for y in years
    )
    path = tmp_path / "history.yaml"
    path.write_text(text, encoding="utf-8")
    return load_calendar([path])


def test_volgograd_offset_change_2020(tmp_path: Path) -> None:
    # Europe/Volgograd went from UTC+4 to UTC+3 at 02:00 local on 27.12.2020: a night shift
    # 20:00-08:00 that night lasts 13 real hours.
    calendar = _history_calendar(tmp_path, 2020)
    tz, sched = ZoneInfo("Europe/Volgograd"), parse_schedule(NIGHTS)
    start = local("2020-12-26T20:00", "Europe/Volgograd")
    assert start.utcoffset() == timedelta(hours=4)
    end = local("2020-12-27T08:00", "Europe/Volgograd")
    assert end.utcoffset() == timedelta(hours=3)
    assert working_time_between(start, end, sched, calendar, tz) == timedelta(hours=13)
    assert add_working_time(start, timedelta(hours=13), sched, calendar, tz) == end
    assert add_working_time(start, timedelta(hours=12), sched, calendar, tz) == local(
        "2020-12-27T07:00", "Europe/Volgograd"
    )
    # Office hours straddling the change: Fri 10-18 (7 h) + Mon 09:00-10:00.
    office = add_working_time(
        local("2020-12-25T10:00", "Europe/Volgograd"), H8, default_schedule(), calendar, tz
    )
    assert office == datetime(2020, 12, 28, 7, 0, tzinfo=UTC)


def test_saratov_offset_change_2016(tmp_path: Path) -> None:
    # Europe/Saratov went from UTC+3 to UTC+4 at 02:00 local on 04.12.2016: 11 real hours.
    calendar = _history_calendar(tmp_path, 2016)
    tz = ZoneInfo("Europe/Saratov")
    start = local("2016-12-03T20:00", "Europe/Saratov")
    end = local("2016-12-04T08:00", "Europe/Saratov")
    assert working_time_between(start, end, parse_schedule(NIGHTS), calendar, tz) == timedelta(
        hours=11
    )


@pytest.mark.parametrize(
    ("zone", "offset"),
    [("Europe/Kaliningrad", 2), (KIROV, 3), (PERM, 5), (AMUR, 9), ("Asia/Kamchatka", 12)],
)
def test_same_wall_clock_in_every_dst_free_zone(
    cal: ProductionCalendar, zone: str, offset: int
) -> None:
    result = add_working_time(
        local("2025-10-14T10:00", zone), H8, default_schedule(), cal, ZoneInfo(zone)
    )
    assert result == datetime(2025, 10, 15, 10, 0, tzinfo=timezone(timedelta(hours=offset)))
    assert result.astimezone(ZoneInfo(zone)).replace(tzinfo=None) == datetime(2025, 10, 15, 10)


# --------------------------------------------------------------------------- explain


def test_explain_new_year_break(cal: ProductionCalendar) -> None:
    result = explain(local("2025-12-30T15:00", KIROV), H8, default_schedule(), cal, ZoneInfo(KIROV))
    assert result.deadline == local("2026-01-12T15:00", KIROV)
    counted = [s for s in result.steps if s.kind is StepKind.COUNTED]
    assert [s.date for s in counted] == [date(2025, 12, 30), date(2026, 1, 12)]
    assert [s.minutes for s in counted] == [180, 300]
    assert [iv.minutes for iv in counted[1].intervals] == [240, 60]
    assert counted[-1].remaining == timedelta(0)
    skipped = {s.date: s for s in result.steps if s.kind is StepKind.SKIPPED}
    assert len(skipped) == 12
    assert skipped[date(2025, 12, 31)].reason is SkipReason.TRANSFERRED_DAY_OFF
    assert skipped[date(2026, 1, 7)].reason is SkipReason.HOLIDAY
    assert "Рождество Христово" in skipped[date(2026, 1, 7)].detail
    assert skipped[date(2026, 1, 10)].reason is SkipReason.WEEKEND
    text = "\n".join(result.lines())
    assert "2026-01-07 Wed  skipped: holiday (Рождество Христово)" in text
    assert "2025-12-30 Tue  counted 15:00-18:00 (180 min) = 180 min; 5 h left" in text
    assert text.endswith("Deadline 2026-01-12T15:00:00+03:00")


def test_explain_before_start_shortened_and_working_saturday(cal: ProductionCalendar) -> None:
    result = explain(local("2025-10-31T18:30", KIROV), H8, default_schedule(), cal, ZoneInfo(KIROV))
    first = result.steps[0]
    assert (first.date, first.reason) == (date(2025, 10, 31), SkipReason.BEFORE_START)
    saturday = result.steps[1]
    assert saturday.kind is StepKind.COUNTED
    assert saturday.minutes == 7 * 60
    assert "hours of Mon" in saturday.detail
    assert "shortened" in saturday.detail
    assert [s.reason for s in result.steps[2:5]] == [
        SkipReason.WEEKEND,
        SkipReason.TRANSFERRED_DAY_OFF,
        SkipReason.HOLIDAY,
    ]
    assert result.deadline == local("2025-11-05T10:00", KIROV)
    assert sum((s.counted for s in result.steps), timedelta(0)) == H8


def test_explain_no_scheduled_hours_and_night_labels(cal: ProductionCalendar) -> None:
    sched = parse_schedule("mon=09:00-18:00;wed=20:00-08:00")
    result = explain(local("2025-10-14T10:00", KIROV), H8, sched, cal, KIROV)
    assert result.steps[0].reason is SkipReason.NO_SCHEDULED_HOURS
    assert result.deadline == local("2025-10-16T04:00", KIROV)
    assert "20:00-04:00(+1d) (480 min)" in "\n".join(result.lines())


def test_explain_with_a_fixed_offset_zone(cal: ProductionCalendar) -> None:
    msk = timezone(timedelta(hours=3))
    result = explain(local("2025-10-14T10:00", KIROV), H8, default_schedule(), cal, msk)
    assert result.zone == "UTC+03:00"
    assert result.lines()[-1] == "Deadline 2025-10-15T10:00:00+03:00"


def test_explain_zero_budget_has_no_steps(cal: ProductionCalendar) -> None:
    start = local("2025-10-14T10:00", KIROV)
    result = explain(start, timedelta(0), default_schedule(), cal, KIROV)
    assert result.steps == ()
    assert result.deadline == start


# --------------------------------------------------------------------------- the oracle


def _wall_to_utc_minute(d: date, minute: int, tz: tzinfo) -> int:
    """Return the UTC epoch minute of wall time ``d`` + ``minute`` (fold=0)."""
    wall = datetime(d.year, d.month, d.day) + timedelta(minutes=minute)
    return int(wall.replace(tzinfo=tz).timestamp()) // 60


def _oracle_day_minutes(
    d: date, sched: WeeklySchedule, calendar: ProductionCalendar, tz: tzinfo
) -> set[int]:
    """Return the set of working UTC minutes of local day ``d``, built minute by minute."""
    info = calendar.day(d)
    if info.hours_of_weekday is None:
        return set()
    wall = [m for iv in sched.days[info.hours_of_weekday] for m in range(iv.start, iv.end)]
    if info.shortened:
        wall = wall[:-60]  # the last 60 working minutes of the day
    out: set[int] = set()
    run_start = None
    for i, m in enumerate(wall):
        if run_start is None:
            run_start = m
        if i + 1 == len(wall) or wall[i + 1] != m + 1:
            out.update(
                range(_wall_to_utc_minute(d, run_start, tz), _wall_to_utc_minute(d, m + 1, tz))
            )
            run_start = None
    return out


class Oracle:
    """A brute-force model: the set of working minutes, counted one by one."""

    def __init__(self, sched: WeeklySchedule, calendar: ProductionCalendar, tz: tzinfo) -> None:
        self.sched, self.calendar, self.tz = sched, calendar, tz
        self.cache: dict[date, set[int]] = {}

    def minutes(self, d: date) -> set[int]:
        if d not in self.cache:
            self.cache[d] = _oracle_day_minutes(d, self.sched, self.calendar, self.tz)
        return self.cache[d]

    def add(self, start_min: int, budget_min: int) -> int:
        if budget_min == 0:
            return start_min
        d = datetime.fromtimestamp(start_min * 60, tz=self.tz).date() - timedelta(days=1)
        found: set[int] = set()
        extra_days = None
        while extra_days is None or extra_days > 0:
            try:
                found |= {m for m in self.minutes(d) if m >= start_min}
            except CalendarYearMissing:
                if extra_days is None:
                    raise
                break  # the look-ahead ran past the data; the budget is already covered
            if extra_days is None and len(found) >= budget_min:
                extra_days = 2  # a later day may still add an earlier (overlapping) minute
            elif extra_days is not None:
                extra_days -= 1
            d += timedelta(days=1)
        return sorted(found)[budget_min - 1] + 1

    def add_instant(self, start_min: int, budget_min: int) -> datetime:
        return datetime.fromtimestamp(self.add(start_min, budget_min) * 60, tz=UTC)

    def between_duration(self, a_min: int, b_min: int) -> timedelta:
        return timedelta(minutes=self.between(a_min, b_min))

    def between(self, a_min: int, b_min: int) -> int:
        if b_min == a_min:
            return 0
        d = datetime.fromtimestamp(a_min * 60, tz=self.tz).date() - timedelta(days=1)
        last = datetime.fromtimestamp((b_min - 1) * 60, tz=self.tz).date()
        found: set[int] = set()
        while d <= last:
            found |= {m for m in self.minutes(d) if a_min <= m < b_min}
            d += timedelta(days=1)
        return len(found)


def _random_spec(rng: random.Random) -> str:
    """Return a random valid schedule spec: office days, lunch breaks, night shifts, off days."""
    while True:
        clauses = []
        for name in ("mon", "tue", "wed", "thu", "fri", "sat", "sun"):
            kind = rng.choices(["office", "split", "night", "off", "long"], [4, 3, 2, 3, 1])[0]
            if kind == "off":
                continue
            if kind == "night":
                s = rng.randrange(17 * 60, 23 * 60, 5)
                e = rng.randrange(1 * 60, 9 * 60, 5)
                clauses.append(f"{name}={_hm(s)}-{_hm(e)}")
            elif kind == "long":
                s = rng.randrange(0, 12 * 60, 15)
                clauses.append(f"{name}={_hm(s)}-{_hm(s)}")  # 24 hours
            else:
                s = rng.randrange(6 * 60, 11 * 60, 5)
                parts = []
                for _ in range(1 if kind == "office" else rng.randint(2, 3)):
                    e = s + rng.randrange(30, 5 * 60, 5)
                    if e > 23 * 60:
                        break
                    parts.append(f"{_hm(s)}-{_hm(e)}")
                    s = e + rng.randrange(5, 90, 5)
                if parts:
                    clauses.append(f"{name}={','.join(parts)}")
        if not clauses:
            continue
        try:
            parse_schedule(";".join(clauses))
        except ValueError:
            continue  # e.g. a night shift overlapping the next morning
        return ";".join(clauses)


def _hm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


ORACLE_ZONES = [KIROV, PERM, AMUR, "Europe/Kaliningrad", "Europe/Berlin", "America/New_York"]
FIXED_SPECS = [SCHEDULE_A, SCHEDULE_B, NIGHTS, "mon-fri=08:00-08:00", "sat-sun=10:00-14:00"]
ORACLE_ROUNDS = 5000


def _outcome(fn: Callable[..., object], *args: object) -> object:
    """Call ``fn``; a CalendarYearMissing counts as a result (naming its year)."""
    try:
        return fn(*args)
    except CalendarYearMissing as err:
        return ("missing", err.year)


def test_engine_matches_the_minute_oracle(cal: ProductionCalendar) -> None:
    rng = random.Random(20261123)
    lo = int(datetime(2024, 1, 3, tzinfo=UTC).timestamp()) // 60
    hi = int(datetime(2027, 12, 31, tzinfo=UTC).timestamp()) // 60
    oracles: dict[tuple[str, str], Oracle] = {}
    stats = {"add": 0, "between": 0, "roundtrip": 0, "missing": 0}
    for n in range(ORACLE_ROUNDS):
        spec = FIXED_SPECS[n % len(FIXED_SPECS)] if n % 4 == 0 else _random_spec(rng)
        zone = rng.choice(ORACLE_ZONES)
        sched, tz = parse_schedule(spec), ZoneInfo(zone)
        oracle = oracles.setdefault((spec, zone), Oracle(sched, cal, tz))
        # Starts cluster around the New Year breaks, working Saturdays and clock changes.
        if rng.random() < 0.4:
            anchor = rng.choice(
                [
                    date(2024, 4, 26), date(2024, 11, 1), date(2024, 12, 27), date(2025, 10, 31),
                    date(2025, 12, 30), date(2026, 4, 29), date(2026, 12, 30), date(2027, 2, 19),
                    date(2025, 3, 29), date(2025, 10, 25), date(2026, 3, 7), date(2027, 12, 29),
                ]
            )  # fmt: skip
            base = int(datetime(anchor.year, anchor.month, anchor.day, tzinfo=UTC).timestamp())
            start_min = base // 60 + rng.randrange(-2 * 1440, 3 * 1440)
        else:
            start_min = rng.randrange(lo, hi)
        budget_min = rng.choice([0, 1, 59, 60, 61, 480]) if n % 5 == 0 else rng.randrange(1, 3000)
        start = datetime.fromtimestamp(start_min * 60, tz=UTC)
        budget = timedelta(minutes=budget_min)

        got = _outcome(add_working_time, start, budget, sched, cal, tz)
        want = _outcome(oracle.add_instant, start_min, budget_min)
        assert got == want, (spec, zone, start.isoformat(), budget_min)
        stats["add"] += 1
        if isinstance(got, datetime):
            assert working_time_between(start, got, sched, cal, tz) == budget
            stats["roundtrip"] += 1
        else:
            stats["missing"] += 1

        b_min = start_min + rng.randrange(0, 6 * 1440)
        b = datetime.fromtimestamp(b_min * 60, tz=UTC)
        got_b = _outcome(working_time_between, start, b, sched, cal, tz)
        want_b = _outcome(oracle.between_duration, start_min, b_min)
        assert got_b == want_b, (spec, zone, start.isoformat(), b.isoformat())
        stats["between"] += 1
    assert stats["add"] == stats["between"] == ORACLE_ROUNDS
    assert stats["roundtrip"] > ORACLE_ROUNDS * 0.9


def test_explain_agrees_with_add_on_random_cases(cal: ProductionCalendar) -> None:
    rng = random.Random(7)
    for _ in range(150):
        sched = parse_schedule(_random_spec(rng))
        zone = rng.choice(ORACLE_ZONES)
        start = datetime(2025, 1, 1, tzinfo=UTC) + timedelta(minutes=rng.randrange(0, 700 * 1440))
        budget = timedelta(minutes=rng.randrange(1, 3000))
        result = explain(start, budget, sched, cal, zone)
        assert result.deadline == add_working_time(start, budget, sched, cal, zone)
        assert sum((s.counted for s in result.steps), timedelta(0)) == budget
        assert result.steps[-1].remaining == timedelta(0)
        assert all(s.intervals == () for s in result.steps if s.kind is StepKind.SKIPPED)
        dates = [s.date for s in result.steps]
        assert dates == sorted(dates)
