"""Test the weekly schedule spec parser and schedule validation."""

from __future__ import annotations

import pytest

from router.working_time import (
    DEFAULT_SCHEDULE_SPEC,
    ScheduleError,
    ScheduleSpecError,
    WeeklySchedule,
    WorkInterval,
    default_schedule,
    format_schedule,
    parse_schedule,
)


def _iv(start: str, end: str) -> WorkInterval:
    def minutes(text: str) -> int:
        h, m = text.split(":")
        return int(h) * 60 + int(m)

    s, e = minutes(start), minutes(end)
    return WorkInterval(s, e if e > s else e + 1440)


def test_default_schedule() -> None:
    sched = default_schedule()
    office = (_iv("09:00", "13:00"), _iv("14:00", "18:00"))
    assert sched.days == (office,) * 5 + ((), ())
    assert sched.weekly_minutes() == 40 * 60
    assert format_schedule(sched) == DEFAULT_SCHEDULE_SPEC
    assert not sched.has_overnight


def test_shorter_friday() -> None:
    sched = parse_schedule("mon-thu=08:00-12:00,13:00-17:00;fri=08:00-12:00,13:00-16:00")
    assert sched.days[0] == (_iv("08:00", "12:00"), _iv("13:00", "17:00"))
    assert sched.days[3] == sched.days[0]
    assert sched.days[4] == (_iv("08:00", "12:00"), _iv("13:00", "16:00"))
    assert sched.days[5] == sched.days[6] == ()
    assert sched.weekly_minutes() == 4 * 8 * 60 + 7 * 60


def test_later_clause_replaces_the_days_it_names() -> None:
    sched = parse_schedule("mon-fri=09:00-13:00,14:00-18:00; fri=09:00-13:00,14:00-16:45")
    assert sched.days[4][-1] == _iv("14:00", "16:45")
    assert parse_schedule("mon-sun=08:00-20:00;sat,sun=off").days[5:] == ((), ())


def test_night_shift_runs_past_midnight() -> None:
    sched = parse_schedule("mon-sun=20:00-08:00")
    night = sched.days[0][0]
    assert night.overnight
    assert night.minutes == 12 * 60
    assert str(night) == "20:00-08:00"
    assert sched.has_overnight
    assert format_schedule(sched) == "mon-sun=20:00-08:00"


def test_midnight_forms() -> None:
    assert parse_schedule("mon=20:00-24:00").days[0] == (WorkInterval(1200, 1440),)
    assert parse_schedule("mon=20:00-00:00").days[0] == (WorkInterval(1200, 1440),)
    full = parse_schedule("mon=08:00-08:00").days[0][0]
    assert full.minutes == 24 * 60
    assert full.overnight


def test_case_spaces_and_trailing_semicolon() -> None:
    sched = parse_schedule(" MON - WED = 09:00 - 12:00 , 13:00-15:30 ; ")
    assert sched.days[2] == (_iv("09:00", "12:00"), _iv("13:00", "15:30"))
    assert sched.days[3] == ()


@pytest.mark.parametrize(
    "spec",
    [
        DEFAULT_SCHEDULE_SPEC,
        "mon-thu=08:00-12:00,13:00-17:00;fri=08:00-12:00,13:00-16:00",
        "mon-sun=20:00-08:00",
        "mon,wed,fri=07:30-19:30;sat=10:00-14:00",
        "tue=00:00-24:00",
    ],
)
def test_format_round_trips(spec: str) -> None:
    sched = parse_schedule(spec)
    assert parse_schedule(format_schedule(sched)) == sched


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("mon-fri", "expected DAYS=HH:MM-HH:MM"),
        ("mon=09:00-12:00=13:00", "expected DAYS=HH:MM-HH:MM"),
        ("mon=09:00-12:00;;tue=09:00-12:00", "empty clause"),
        ("=09:00-18:00", "no days before '='"),
        ("mon=", "no hours after '='"),
        ("funday=09:00-18:00", "unknown day 'funday'"),
        ("fri-mon=09:00-18:00", "runs backwards"),
        ("mon-tue-wed=09:00-18:00", "bad day range"),
        ("mon,mon=09:00-18:00", "mon is named twice"),
        ("mon=9-18", "bad time '9'"),
        ("mon=09:00", "bad interval '09:00'"),
        ("mon=09:00-25:00", "bad time '25:00'"),
        ("mon=09:60-18:00", "bad time '09:60'"),
        ("mon=24:00-08:00", "00:00-23:59"),
        ("mon=09:00-13:00,12:00-18:00", "overlap"),
        ("mon=14:00-18:00,09:00-13:00", "ascending order"),
        ("mon=20:00-08:00;tue=07:00-12:00", "night interval 20:00-08:00 overlaps tue"),
        ("sun=22:00-06:00;mon=05:00-09:00", "overlaps mon"),
        ("mon-sun=off", "no working time"),
    ],
)
def test_bad_specs_have_clear_errors(spec: str, message: str) -> None:
    with pytest.raises(ScheduleSpecError) as info:
        parse_schedule(spec)
    assert message in str(info.value)
    assert "\n" not in str(info.value)
    assert isinstance(info.value, ValueError)


def test_clause_is_named_in_the_error() -> None:
    with pytest.raises(ScheduleSpecError, match=r"clause 2 'fri=08:00-1x:00'"):
        parse_schedule("mon-thu=08:00-17:00;fri=08:00-1x:00")


def test_weekly_schedule_validates_when_built_directly() -> None:
    with pytest.raises(ScheduleError, match="7 days"):
        WeeklySchedule(((),) * 6)
    with pytest.raises(ScheduleError, match="from 1 minute to 24 h"):
        WorkInterval(600, 600)
    with pytest.raises(ScheduleError, match=r"outside 0\.\.1439"):
        WorkInterval(1440, 1500)
    with pytest.raises(ScheduleError, match="no working time"):
        WeeklySchedule(((),) * 7)
