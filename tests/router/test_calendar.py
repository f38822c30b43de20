"""Test the production calendar: shipped data, validation, override files, cross-checks."""

from __future__ import annotations

import calendar as stdlib_calendar
from datetime import date, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import yaml

from router.calendar import (
    CalendarFileError,
    CalendarYearMissing,
    DayKind,
    ProductionCalendar,
    load_calendar,
    load_calendar_file,
    load_shipped_calendar,
    merge_calendar_file,
    parse_calendar,
)

SHARED_COPY = (
    Path(__file__).resolve().parents[3] / "shared" / "data" / "ru_production_calendar.yaml"
)


@pytest.fixture(scope="module")
def cal() -> ProductionCalendar:
    """The shipped calendar."""
    return load_shipped_calendar()


@pytest.fixture(scope="module")
def raw() -> dict[str, Any]:
    """The shipped YAML document as plain data."""
    text = resources.files("router").joinpath("data/ru_production_calendar.yaml").read_text("utf-8")
    data: dict[str, Any] = yaml.safe_load(text)
    return data


def _days(year: int) -> list[date]:
    d, out = date(year, 1, 1), []
    while d.year == year:
        out.append(d)
        d += timedelta(days=1)
    return out


def _write(tmp_path: Path, text: str, name: str = "extra.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# --------------------------------------------------------------------------- shipped data


def test_shipped_file_is_a_verbatim_copy_with_provenance() -> None:
    shipped = resources.files("router").joinpath("data/ru_production_calendar.yaml")
    text = shipped.read_text("utf-8")
    assert "Постановление Правительства РФ от 17.09.2026 N 1187" in text
    assert "cross_checks:" in text
    assert text.startswith("# Production calendar of the Russian Federation")
    if SHARED_COPY.exists():  # the reference copy lives outside the repository
        assert text == SHARED_COPY.read_text("utf-8")


def test_shipped_calendar_covers_2024_to_2027(cal: ProductionCalendar) -> None:
    assert cal.years_covered == (2024, 2025, 2026, 2027)


@pytest.mark.parametrize(
    ("year", "bad_day"), [(2023, date(2023, 12, 29)), (2028, date(2028, 1, 3))]
)
def test_year_without_data_is_an_error_not_a_weekday_fallback(
    cal: ProductionCalendar, year: int, bad_day: date
) -> None:
    with pytest.raises(CalendarYearMissing, match=str(year)) as info:
        cal.day(bad_day)
    assert info.value.year == year
    assert info.value.covered == (2024, 2025, 2026, 2027)
    assert "2024-2027" in str(info.value)
    assert isinstance(info.value, LookupError)


@pytest.mark.parametrize("year", [2024, 2025, 2026, 2027])
def test_monthly_and_yearly_norms_match_the_published_checksums(
    cal: ProductionCalendar, raw: dict[str, Any], year: int
) -> None:
    section = raw["years"][year]
    total_days = total_hours = 0
    for month in range(1, 13):
        last = stdlib_calendar.monthrange(year, month)[1]
        days = [date(year, month, n) for n in range(1, last + 1)]
        working = sum(cal.day(d).is_working for d in days)
        hours = 8 * working - sum(cal.day(d).shortened for d in days)
        assert [working, hours] == section["monthly"][month], f"{year}-{month:02d}"
        total_days += working
        total_hours += hours
    assert total_days == section["totals"]["working_days"]
    assert total_hours == section["totals"]["hours_40h_week"]
    assert len(cal.year(year).shortened) == section["totals"]["shortened_days"]


def test_rest_period_2025_26_is_twelve_days(cal: ProductionCalendar) -> None:
    off = [date(2025, 12, 31) + timedelta(days=n) for n in range(12)]
    assert [cal.day(d).is_working for d in off] == [False] * 12
    assert cal.day(date(2025, 12, 30)).is_working
    assert not cal.day(date(2025, 12, 30)).shortened  # before a transferred day off: full day
    assert cal.day(date(2026, 1, 12)).kind is DayKind.WORKING


def test_day_kinds_and_names(cal: ProductionCalendar) -> None:
    christmas = cal.day(date(2026, 1, 7))
    assert christmas.kind is DayKind.HOLIDAY
    assert christmas.name == "Рождество Христово"
    assert christmas.hours_of_weekday is None

    moved = cal.day(date(2025, 5, 8))
    assert moved.kind is DayKind.TRANSFERRED_DAY_OFF
    assert moved.transfer is not None
    assert moved.transfer.from_date == date(2025, 2, 23)
    assert "День защитника Отечества" in moved.describe()

    automatic = cal.day(date(2026, 3, 9))
    assert automatic.kind is DayKind.TRANSFERRED_DAY_OFF
    assert "art. 112" in automatic.describe()

    # 2025: Feb 23 (Sun) and Mar 8 (Sat) were moved by decree, so the Mondays are worked.
    assert cal.day(date(2025, 2, 24)).kind is DayKind.WORKING
    assert cal.day(date(2025, 3, 10)).kind is DayKind.WORKING

    assert cal.day(date(2025, 10, 18)).kind is DayKind.WEEKEND
    assert not cal.day(date(2025, 10, 18)).is_working


@pytest.mark.parametrize(
    ("day", "weekday", "shortened"),
    [
        (date(2024, 4, 27), 0, False),
        (date(2024, 11, 2), 1, True),
        (date(2024, 12, 28), 0, False),
        (date(2025, 11, 1), 0, True),
        (date(2027, 2, 20), 0, True),
    ],
)
def test_working_saturdays_carry_the_replaced_weekday(
    cal: ProductionCalendar, day: date, weekday: int, shortened: bool
) -> None:
    info = cal.day(day)
    assert info.kind is DayKind.WORKING_WEEKEND
    assert info.hours_of_weekday == weekday
    assert info.shortened is shortened
    assert info.is_working


def test_shortened_days_are_the_published_ones(cal: ProductionCalendar) -> None:
    got = sorted(d for y in cal.years.values() for d in y.shortened)
    assert [d.isoformat() for d in got] == [
        "2024-02-22", "2024-03-07", "2024-05-08", "2024-06-11", "2024-11-02",
        "2025-03-07", "2025-04-30", "2025-06-11", "2025-11-01",
        "2026-04-30", "2026-05-08", "2026-06-11", "2026-11-03",
        "2027-02-20", "2027-04-30", "2027-06-11", "2027-11-03",
    ]  # fmt: skip


# --------------------------------------------------------------------------- cross-check


@pytest.mark.parametrize("year", [2024, 2025, 2026, 2027])
def test_shipped_data_agrees_with_the_holidays_package(cal: ProductionCalendar, year: int) -> None:
    holidays = pytest.importorskip("holidays")
    ru = holidays.RU(years=year)
    mismatches = [d for d in _days(year) if cal.day(d).is_working != ru.is_working_day(d)]
    assert mismatches == []
    ours_off = cal.year(year).holidays | cal.year(year).non_working_weekdays
    assert {d for d in ru if d.year == year} == ours_off
    assert {d for d in ru.weekend_workdays if d.year == year} == set(
        cal.year(year).working_weekends
    )


# --------------------------------------------------------------------------- extra files

EXTRA_REGIONAL = """
# Regional overrides (test fixture).
years:
  2026:
    non_working_weekdays:
      - {date: 2026-06-25, name: "Regional day"}
    shortened_days:
      - 2026-06-24
"""


def test_extra_file_adds_a_regional_day_off(tmp_path: Path, cal: ProductionCalendar) -> None:
    merged = load_calendar([_write(tmp_path, EXTRA_REGIONAL)])
    assert cal.day(date(2026, 6, 25)).is_working
    regional = merged.day(date(2026, 6, 25))
    assert regional.kind is DayKind.NON_WORKING
    assert regional.name == "Regional day"
    assert merged.day(date(2026, 6, 24)).shortened
    # Everything else still comes from the shipped file.
    assert merged.day(date(2026, 1, 9)).kind is DayKind.TRANSFERRED_DAY_OFF
    assert merged.sources[-1].endswith("extra.yaml")


def test_extra_file_adds_a_year(tmp_path: Path) -> None:
    text = """
years:
  2028:
    non_working_weekdays: [2028-01-03, 2028-01-04]
    working_weekends: []
    shortened_days: []
"""
    merged = load_calendar([_write(tmp_path, text)])
    assert merged.years_covered[-1] == 2028
    assert not merged.day(date(2028, 1, 3)).is_working
    assert merged.day(date(2028, 1, 10)).is_working


def test_later_files_win_date_by_date(tmp_path: Path) -> None:
    first = _write(tmp_path, EXTRA_REGIONAL, "first.yaml")
    second = _write(
        tmp_path,
        """
years:
  2026:
    working_weekends:
      - {date: 2026-06-27, wd: Sat, instead_of_wd: Thu}
    non_working_weekdays:
      - 2026-06-24
""",
        "second.yaml",
    )
    merged = load_calendar([first, second])
    saturday = merged.day(date(2026, 6, 27))
    assert saturday.kind is DayKind.WORKING_WEEKEND
    assert saturday.hours_of_weekday == 3
    # The second file makes the (first file's) shortened 24 June a day off.
    assert not merged.day(date(2026, 6, 24)).is_working
    assert not merged.day(date(2026, 6, 24)).shortened


def test_later_file_can_turn_a_day_off_into_a_working_weekend(tmp_path: Path) -> None:
    text = """
years:
  2025:
    working_weekends:
      - {date: 2025-01-04, instead_of_wd: Mon}
"""
    merged = merge_calendar_file(load_shipped_calendar(), _write(tmp_path, text))
    assert merged.day(date(2025, 1, 4)).kind is DayKind.WORKING_WEEKEND


def test_replace_true_replaces_a_whole_year(tmp_path: Path) -> None:
    text = """
years:
  2027:
    replace: true
    non_working_weekdays: [2027-01-01]
    working_weekends: []
    shortened_days: []
"""
    merged = load_calendar([_write(tmp_path, text)])
    assert merged.day(date(2027, 1, 4)).is_working  # a shipped day off, gone
    assert not merged.day(date(2027, 2, 20)).is_working  # the shipped working Saturday, gone
    assert not merged.day(date(2027, 1, 1)).is_working


def test_standalone_calendar_file(tmp_path: Path) -> None:
    text = """
schema_version: 1
years:
  2030:
    non_working_weekdays: []
    working_weekends: []
    shortened_days: []
"""
    standalone = load_calendar_file(_write(tmp_path, text))
    assert standalone.years_covered == (2030,)
    with pytest.raises(CalendarYearMissing):
        standalone.day(date(2026, 1, 12))


@pytest.mark.parametrize(
    ("text", "key", "problem"),
    [
        ("years: [2026]", "years", "expected a mapping"),
        ("yeras: {}", "yeras", "unknown key"),
        ("schema_version: 2\nyears: {}", "schema_version", "unsupported version"),
        ("holiday_names: {}", "years", "missing"),
        ("years:\n  twenty: {}", "years.twenty", "a year must be a number"),
        (
            "years:\n  2026:\n    non_working_weekday: [2026-06-25]",
            "years.2026.non_working_weekday",
            "unknown key",
        ),
        (
            "years:\n  2026:\n    non_working_weekdays: [2026-06-27]",
            "years.2026.non_working_weekdays[0]",
            "is a Sat",
        ),
        (
            "years:\n  2026:\n    non_working_weekdays: [2025-06-25]",
            "years.2026.non_working_weekdays[0]",
            "is not in 2026",
        ),
        (
            "years:\n  2026:\n    non_working_weekdays: [2026-13-01]",
            "years.2026.non_working_weekdays[0]",
            "expected a date",
        ),
        (
            "years:\n  2026:\n    non_working_weekdays: [2026-06-25, 2026-06-25]",
            "years.2026.non_working_weekdays[1]",
            "listed twice",
        ),
        (
            "years:\n  2026:\n    non_working_weekdays:\n      - {date: 2026-06-25, wd: Mon}",
            "years.2026.non_working_weekdays[0].wd",
            "is a Thu",
        ),
        (
            "years:\n  2026:\n    working_weekends:\n      - {date: 2026-06-27}",
            "years.2026.working_weekends[0]",
            "worked_instead_of",
        ),
        (
            "years:\n  2026:\n    working_weekends:\n"
            "      - {date: 2026-06-26, instead_of_wd: Mon}",
            "years.2026.working_weekends[0]",
            "Sat/Sun dates only",
        ),
        (
            "years:\n  2026:\n    working_weekends:\n"
            "      - {date: 2026-06-27, instead_of_wd: Mon, shortened: true}",
            "years.2026.working_weekends[0].shortened",
            "is not in shortened_days",
        ),
        (
            "years:\n  2026:\n    shortened_days: [2026-01-09]",
            "years.2026.shortened_days",
            "is a day off",
        ),
        (
            "years:\n  2026:\n    shortened_days: [2026-06-27]",
            "years.2026.shortened_days",
            "not in working_weekends",
        ),
        (
            "years:\n  2031:\n    non_working_weekdays: []",
            "years.2031.working_weekends",
            "a year that is new",
        ),
        (
            "years:\n  2026:\n    replace: yes please\n",
            "years.2026.replace",
            "expected true or false",
        ),
        (
            "years:\n  2026:\n    transfers:\n      - {from: 2026-06-27, to: 2026-06-29}",
            "years.2026.transfers",
            "missing from non_working_weekdays",
        ),
        ("holiday_names: {'13-01': x}\nyears: {}", "holiday_names.13-01", "MM-DD"),
    ],
)
def test_invalid_extra_file_names_the_file_and_the_key(
    tmp_path: Path, text: str, key: str, problem: str
) -> None:
    path = _write(tmp_path, text, "regional.yaml")
    with pytest.raises(CalendarFileError) as info:
        load_calendar([path])
    assert info.value.source == str(path)
    assert info.value.key == key
    assert problem in info.value.problem
    assert str(path) in str(info.value)
    assert key in str(info.value)


def test_broken_yaml_and_missing_file(tmp_path: Path) -> None:
    path = _write(tmp_path, "years:\n  2026: [unclosed\n", "broken.yaml")
    with pytest.raises(CalendarFileError, match=r"broken\.yaml: invalid YAML at line \d+"):
        load_calendar([path])
    with pytest.raises(CalendarFileError, match="cannot read the file"):
        load_calendar([tmp_path / "nope.yaml"])


def test_parse_calendar_rejects_a_non_mapping_document() -> None:
    with pytest.raises(CalendarFileError, match="inline: expected a mapping"):
        parse_calendar(["not", "a", "mapping"], "inline")
