"""Load the Russian production calendar (days off, working weekends, shortened days) from YAML."""

from __future__ import annotations

import contextlib
import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

__all__ = [
    "SHIPPED_CALENDAR_RESOURCE",
    "CalendarDay",
    "CalendarError",
    "CalendarFileError",
    "CalendarYear",
    "CalendarYearMissing",
    "DayKind",
    "ProductionCalendar",
    "Transfer",
    "WorkingWeekend",
    "load_calendar",
    "load_calendar_file",
    "load_shipped_calendar",
    "merge_calendar_file",
    "parse_calendar",
]

#: Name of the shipped data file inside the ``router`` package (``router/data/``).
SHIPPED_CALENDAR_RESOURCE = "data/ru_production_calendar.yaml"

#: ``datetime.date`` under a name that dataclass fields called ``date`` do not shadow.
Date = date

WEEKDAY_ABBR = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")

_TOP_LEVEL_KEYS = frozenset(
    {
        "schema_version",
        "country",
        "week",
        "description",
        "region",
        "legal_basis",
        "holiday_names",
        "years",
        "cross_checks",
        "regional_caveat",
        "emergency_changes",
    }
)
_YEAR_KEYS = frozenset(
    {
        "status",
        "confidence",
        "decree",
        "sources",
        "note",
        "replace",
        "holidays",
        "transfers",
        "non_working_weekdays",
        "working_weekends",
        "shortened_days",
        "rest_periods",
        "totals",
        "monthly",
    }
)
_NEW_YEAR_REQUIRED = ("non_working_weekdays", "working_weekends", "shortened_days")
_SCHEMA_VERSION = 1


class _Loader(yaml.SafeLoader):
    """A safe loader that leaves dates as text, so a bad date gets an error naming its key."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


class CalendarError(Exception):
    """Base class of production-calendar errors."""


class CalendarYearMissing(CalendarError, LookupError):
    """A computation needs a year that the calendar has no data for."""

    def __init__(self, year: int, covered: Iterable[int] = ()) -> None:
        self.year = year
        self.covered = tuple(sorted(covered))
        if self.covered:
            have = f"the calendar covers {_describe_years(self.covered)}"
        else:
            have = "the calendar is empty"
        super().__init__(
            f"no production calendar data for {year} ({have}); "
            f"add {year} to an extra calendar file or upgrade the shipped calendar"
        )


class CalendarFileError(CalendarError, ValueError):
    """A calendar file is unreadable or invalid; the message names the file and the key."""

    def __init__(self, source: str, key: str, problem: str) -> None:
        self.source = source
        self.key = key
        self.problem = problem
        where = f"{source}: {key}" if key else source
        super().__init__(f"{where}: {problem}")


class DayKind(enum.StrEnum):
    """What the calendar says about one date."""

    WORKING = "working"
    WORKING_WEEKEND = "working_weekend"
    WEEKEND = "weekend"
    HOLIDAY = "holiday"
    TRANSFERRED_DAY_OFF = "transferred_day_off"
    NON_WORKING = "non_working"


@dataclass(frozen=True, slots=True)
class Transfer:
    """A day off moved by a decree or by art. 112 part 2 from one date to another."""

    from_date: date
    to_date: date
    basis: str
    #: Name of the holiday on ``from_date``, if it is one (e.g. "День защитника Отечества").
    from_name: str = ""


@dataclass(frozen=True, slots=True)
class WorkingWeekend:
    """A Saturday or Sunday that is worked, with the hours of the weekday it replaces."""

    date: Date
    instead_of_weekday: int
    instead_of: Date | None = None


@dataclass(frozen=True, slots=True)
class CalendarYear:
    """The overrides of one year on top of 'Mon-Fri working, Sat-Sun off'."""

    year: int
    holidays: frozenset[date]
    non_working_weekdays: frozenset[date]
    working_weekends: Mapping[date, WorkingWeekend] = field(hash=False)
    shortened: frozenset[date]
    transfers: tuple[Transfer, ...] = ()
    names: Mapping[date, str] = field(default_factory=lambda: MappingProxyType({}), hash=False)
    status: str = ""
    decree: str = ""
    sources: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class CalendarDay:
    """The calendar's verdict on one date."""

    date: date
    kind: DayKind
    #: Weekday (0 = Monday) whose schedule hours apply, or None on a day off (a holiday or
    #: a day off by decree). A plain Sat/Sun carries its own weekday: it is off in the five-day
    #: week, but an executor whose weekly schedule has weekend hours works them.
    hours_of_weekday: int | None
    shortened: bool = False
    name: str = ""
    transfer: Transfer | None = None
    working_weekend: WorkingWeekend | None = None

    @property
    def is_working(self) -> bool:
        """Return whether this date is a working day of the five-day week."""
        return self.kind in (DayKind.WORKING, DayKind.WORKING_WEEKEND)

    def describe(self) -> str:
        """Return a short human-readable description of the date's status."""
        if self.kind is DayKind.HOLIDAY:
            return f"holiday ({self.name})" if self.name else "holiday"
        if self.kind is DayKind.TRANSFERRED_DAY_OFF and self.transfer is not None:
            t = self.transfer
            basis = "decree" if t.basis == "decree" else "art. 112 part 2"
            of = f" {t.from_name}" if t.from_name else ""
            return f"transferred day off (from {t.from_date.isoformat()}{of}, {basis})"
        if self.kind is DayKind.NON_WORKING:
            return f"non-working day ({self.name})" if self.name else "non-working day"
        if self.kind is DayKind.WEEKEND:
            return "weekend"
        if self.kind is DayKind.WORKING_WEEKEND and self.working_weekend is not None:
            text = f"working {WEEKDAY_ABBR[self.date.weekday()]}, hours of "
            text += WEEKDAY_ABBR[self.working_weekend.instead_of_weekday]
            if self.working_weekend.instead_of is not None:
                text += f" (instead of {self.working_weekend.instead_of.isoformat()})"
            return text
        return "working day"


@dataclass(frozen=True, slots=True)
class ProductionCalendar:
    """A production calendar: per-year overrides, each year explicitly covered."""

    years: Mapping[int, CalendarYear] = field(hash=False)
    sources: tuple[str, ...] = ()

    @property
    def years_covered(self) -> tuple[int, ...]:
        """Return the years the calendar has data for, ascending."""
        return tuple(sorted(self.years))

    def covers(self, year: int) -> bool:
        """Return whether the calendar has data for ``year``."""
        return year in self.years

    def year(self, year: int) -> CalendarYear:
        """Return one year's data; raise CalendarYearMissing if it is not covered."""
        try:
            return self.years[year]
        except KeyError:
            raise CalendarYearMissing(year, self.years) from None

    def day(self, d: date) -> CalendarDay:
        """Classify a date; raise CalendarYearMissing if its year is not covered."""
        y = self.year(d.year)
        shortened = d in y.shortened
        if d in y.holidays:
            return CalendarDay(d, DayKind.HOLIDAY, None, name=y.names.get(d, ""))
        if d in y.non_working_weekdays:
            for t in y.transfers:
                if t.to_date == d:
                    return CalendarDay(
                        d, DayKind.TRANSFERRED_DAY_OFF, None, name=y.names.get(d, ""), transfer=t
                    )
            return CalendarDay(d, DayKind.NON_WORKING, None, name=y.names.get(d, ""))
        ww = y.working_weekends.get(d)
        if ww is not None:
            return CalendarDay(
                d,
                DayKind.WORKING_WEEKEND,
                ww.instead_of_weekday,
                shortened=shortened,
                working_weekend=ww,
            )
        if d.weekday() >= 5:
            # A Saturday or Sunday: a day off in the five-day week; an executor whose own
            # schedule has weekend hours still works them (see docs/deadlines.md).
            return CalendarDay(d, DayKind.WEEKEND, d.weekday(), shortened=shortened)
        return CalendarDay(d, DayKind.WORKING, d.weekday(), shortened=shortened)

    def is_working_day(self, d: date) -> bool:
        """Return whether ``d`` is a working day of the five-day week."""
        return self.day(d).is_working


# --------------------------------------------------------------------------- loading


def load_shipped_calendar() -> ProductionCalendar:
    """Load the production calendar shipped in ``router/data/``."""
    ref = resources.files("router").joinpath(SHIPPED_CALENDAR_RESOURCE)
    source = f"router/{SHIPPED_CALENDAR_RESOURCE}"
    return parse_calendar(_load_yaml_text(ref.read_text(encoding="utf-8"), source), source)


def load_calendar(extra_files: Sequence[str | Path] = ()) -> ProductionCalendar:
    """Load the shipped calendar and merge each extra file over it, later files winning."""
    calendar = load_shipped_calendar()
    for path in extra_files:
        calendar = merge_calendar_file(calendar, path)
    return calendar


def load_calendar_file(path: str | Path) -> ProductionCalendar:
    """Load a standalone calendar from one YAML file."""
    source = str(path)
    return parse_calendar(_read_yaml(Path(path)), source)


def merge_calendar_file(base: ProductionCalendar, path: str | Path) -> ProductionCalendar:
    """Merge an extra calendar file over ``base``; its entries win date by date."""
    source = str(path)
    return merge_calendar_document(base, _read_yaml(Path(path)), source)


def parse_calendar(document: object, source: str) -> ProductionCalendar:
    """Validate a parsed YAML document into a calendar; ``source`` names it in errors."""
    return merge_calendar_document(ProductionCalendar(MappingProxyType({})), document, source)


def merge_calendar_document(
    base: ProductionCalendar, document: object, source: str
) -> ProductionCalendar:
    """Merge a parsed calendar document over ``base`` (see merge_calendar_file)."""
    top = _expect_mapping(document, source, "")
    unknown = sorted(str(k) for k in top if k not in _TOP_LEVEL_KEYS)
    if unknown:
        raise CalendarFileError(
            source, unknown[0], f"unknown key (allowed: {', '.join(sorted(_TOP_LEVEL_KEYS))})"
        )
    version = top.get("schema_version", _SCHEMA_VERSION)
    if version != _SCHEMA_VERSION:
        raise CalendarFileError(
            source, "schema_version", f"unsupported version {version!r}, expected 1"
        )
    names_by_day = _parse_holiday_names(top.get("holiday_names", {}), source)
    if "years" not in top:
        raise CalendarFileError(source, "years", "missing: the file must have a 'years' mapping")
    raw_years = _expect_mapping(top["years"], source, "years")
    years = dict(base.years)
    for raw_key, raw_year in raw_years.items():
        year = _parse_year_key(raw_key, source)
        key = f"years.{year}"
        body = _expect_mapping(raw_year, source, key)
        section = _parse_year_section(year, body, source, key, names_by_day)
        replace = body.get("replace", False)
        if not isinstance(replace, bool):
            raise CalendarFileError(source, f"{key}.replace", "expected true or false")
        previous = years.get(year)
        if previous is None or replace:
            missing = [k for k in _NEW_YEAR_REQUIRED if k not in body]
            if missing:
                raise CalendarFileError(
                    source,
                    f"{key}.{missing[0]}",
                    "missing: a year that is new (or has replace: true) must list "
                    "non_working_weekdays, working_weekends and shortened_days "
                    "(use [] for none)",
                )
            merged = section
        else:
            merged = _merge_years(previous, section)
        _check_year(merged, source, key)
        years[year] = merged
    return ProductionCalendar(
        years=MappingProxyType(dict(sorted(years.items()))),
        sources=(*base.sources, source),
    )


# --------------------------------------------------------------------------- internals


def _describe_years(years: Sequence[int]) -> str:
    if len(years) > 1 and list(years) == list(range(years[0], years[-1] + 1)):
        return f"{years[0]}-{years[-1]}"
    return ", ".join(str(y) for y in years)


def _read_yaml(path: Path) -> object:
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise CalendarFileError(source, "", f"cannot read the file: {err.strerror or err}") from err
    except UnicodeDecodeError as err:
        raise CalendarFileError(source, "", "the file is not UTF-8 text") from err
    return _load_yaml_text(text, source)


def _load_yaml_text(text: str, source: str) -> object:
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader is a SafeLoader
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(err, "problem", None) or str(err)
        raise CalendarFileError(source, "", f"invalid YAML{where}: {problem}") from err


def _expect_mapping(value: object, source: str, key: str) -> Mapping[Any, Any]:
    if not isinstance(value, Mapping):
        raise CalendarFileError(
            source, key, f"expected a mapping, got {_kind(value)}" if key else "expected a mapping"
        )
    return value


def _expect_list(value: object, source: str, key: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise CalendarFileError(source, key, f"expected a list, got {_kind(value)}")
    return value


def _kind(value: object) -> str:
    if value is None:
        return "nothing"
    return type(value).__name__


def _expect_date(value: object, source: str, key: str, year: int | None = None) -> date:
    # The loader leaves dates as text; a date object can still come from parse_calendar().
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            value = date.fromisoformat(value)
    if not isinstance(value, date) or hasattr(value, "hour"):
        raise CalendarFileError(source, key, f"expected a date YYYY-MM-DD, got {value!r}")
    if year is not None and value.year != year:
        raise CalendarFileError(source, key, f"{value.isoformat()} is not in {year}")
    return value


def _check_wd(raw: Mapping[Any, Any], name: str, d: date, source: str, key: str) -> None:
    if name not in raw:
        return
    given = raw[name]
    actual = WEEKDAY_ABBR[d.weekday()]
    if not isinstance(given, str) or given.capitalize() != actual:
        raise CalendarFileError(
            source, f"{key}.{name}", f"says {given!r} but {d.isoformat()} is a {actual}"
        )


def _weekday_from_abbr(value: object, source: str, key: str) -> int:
    if isinstance(value, str) and value.capitalize() in WEEKDAY_ABBR:
        return WEEKDAY_ABBR.index(value.capitalize())
    raise CalendarFileError(source, key, f"expected a weekday Mon..Sun, got {value!r}")


def _parse_year_key(raw_key: object, source: str) -> int:
    if isinstance(raw_key, bool):
        raise CalendarFileError(source, f"years.{raw_key}", "a year must be a number like 2026")
    if isinstance(raw_key, int):
        year = raw_key
    elif isinstance(raw_key, str) and raw_key.isdigit():
        year = int(raw_key)
    else:
        raise CalendarFileError(source, f"years.{raw_key}", "a year must be a number like 2026")
    if not 1900 <= year <= 2200:
        raise CalendarFileError(source, f"years.{raw_key}", "a year must be between 1900 and 2200")
    return year


def _parse_holiday_names(raw: object, source: str) -> dict[tuple[int, int], str]:
    mapping = _expect_mapping(raw if raw is not None else {}, source, "holiday_names")
    names: dict[tuple[int, int], str] = {}
    for k, v in mapping.items():
        key = f"holiday_names.{k}"
        try:
            month, day = (int(part) for part in str(k).split("-"))
            date(2024, month, day)  # a leap year, so 02-29 is allowed
        except ValueError:
            raise CalendarFileError(source, key, "expected a key MM-DD, e.g. '01-07'") from None
        if not isinstance(v, str) or not v.strip():
            raise CalendarFileError(source, key, "expected a non-empty name")
        names[(month, day)] = v
    return names


def _parse_dated_list(
    body: Mapping[Any, Any], list_key: str, year: int, source: str, key: str
) -> list[tuple[date, Mapping[Any, Any], str]]:
    """Parse a list of bare dates or ``{date: ..., ...}`` mappings; return (date, raw, key)."""
    out: list[tuple[date, Mapping[Any, Any], str]] = []
    seen: set[date] = set()
    for i, item in enumerate(_expect_list(body.get(list_key), source, f"{key}.{list_key}")):
        item_key = f"{key}.{list_key}[{i}]"
        raw: Mapping[Any, Any]
        if isinstance(item, Mapping):
            raw = item
            if "date" not in raw:
                raise CalendarFileError(source, item_key, "missing 'date'")
            d = _expect_date(raw["date"], source, f"{item_key}.date", year)
        else:
            raw = {}
            d = _expect_date(item, source, item_key, year)
        if d in seen:
            raise CalendarFileError(source, item_key, f"{d.isoformat()} is listed twice")
        seen.add(d)
        _check_wd(raw, "wd", d, source, item_key)
        out.append((d, raw, item_key))
    return out


def _parse_year_section(
    year: int,
    body: Mapping[Any, Any],
    source: str,
    key: str,
    names_by_day: Mapping[tuple[int, int], str],
) -> CalendarYear:
    unknown = sorted(str(k) for k in body if k not in _YEAR_KEYS)
    if unknown:
        raise CalendarFileError(
            source, f"{key}.{unknown[0]}", f"unknown key (allowed: {', '.join(sorted(_YEAR_KEYS))})"
        )
    names: dict[date, str] = {}

    holidays: set[date] = set()
    for d, raw, item_key in _parse_dated_list(body, "holidays", year, source, key):
        holidays.add(d)
        name = raw.get("name", names_by_day.get((d.month, d.day), ""))
        if not isinstance(name, str):
            raise CalendarFileError(source, f"{item_key}.name", "expected text")
        if name:
            names[d] = name

    non_working: set[date] = set()
    for d, raw, item_key in _parse_dated_list(body, "non_working_weekdays", year, source, key):
        if d.weekday() >= 5:
            raise CalendarFileError(
                source,
                item_key,
                f"{d.isoformat()} is a {WEEKDAY_ABBR[d.weekday()]}; "
                "non_working_weekdays lists Mon-Fri dates only",
            )
        non_working.add(d)
        if "name" in raw:
            if not isinstance(raw["name"], str):
                raise CalendarFileError(source, f"{item_key}.name", "expected text")
            names[d] = raw["name"]

    working: dict[date, WorkingWeekend] = {}
    shortened_flags: dict[date, tuple[bool, str]] = {}
    for d, raw, item_key in _parse_dated_list(body, "working_weekends", year, source, key):
        if d.weekday() < 5:
            raise CalendarFileError(
                source,
                item_key,
                f"{d.isoformat()} is a {WEEKDAY_ABBR[d.weekday()]}; "
                "working_weekends lists Sat/Sun dates only",
            )
        instead_of: date | None = None
        if "worked_instead_of" in raw:
            instead_of = _expect_date(
                raw["worked_instead_of"], source, f"{item_key}.worked_instead_of"
            )
            _check_wd(raw, "instead_of_wd", instead_of, source, item_key)
            weekday = instead_of.weekday()
        elif "instead_of_wd" in raw:
            weekday = _weekday_from_abbr(raw["instead_of_wd"], source, f"{item_key}.instead_of_wd")
        else:
            raise CalendarFileError(
                source,
                item_key,
                "missing 'worked_instead_of' (or 'instead_of_wd'): "
                "which weekday's hours the day is worked with",
            )
        if "shortened" in raw:
            flag = raw["shortened"]
            if not isinstance(flag, bool):
                raise CalendarFileError(source, f"{item_key}.shortened", "expected true or false")
            shortened_flags[d] = (flag, f"{item_key}.shortened")
        working[d] = WorkingWeekend(d, weekday, instead_of)

    shortened: set[date] = set()
    for d, _raw, _item_key in _parse_dated_list(body, "shortened_days", year, source, key):
        shortened.add(d)
    for d, (flag, flag_key) in shortened_flags.items():
        if flag != (d in shortened):
            listed = "is" if d in shortened else "is not"
            raise CalendarFileError(
                source, flag_key, f"says {flag} but {d.isoformat()} {listed} in shortened_days"
            )

    transfers: list[Transfer] = []
    for i, item in enumerate(_expect_list(body.get("transfers"), source, f"{key}.transfers")):
        item_key = f"{key}.transfers[{i}]"
        raw_t = _expect_mapping(item, source, item_key)
        for needed in ("from", "to"):
            if needed not in raw_t:
                raise CalendarFileError(source, item_key, f"missing '{needed}'")
        from_d = _expect_date(raw_t["from"], source, f"{item_key}.from", year)
        to_d = _expect_date(raw_t["to"], source, f"{item_key}.to", year)
        _check_wd(raw_t, "from_wd", from_d, source, item_key)
        _check_wd(raw_t, "to_wd", to_d, source, item_key)
        basis = raw_t.get("basis", "decree")
        if not isinstance(basis, str):
            raise CalendarFileError(source, f"{item_key}.basis", "expected text")
        from_name = names.get(from_d, "") if from_d in holidays else ""
        transfers.append(Transfer(from_d, to_d, basis, from_name))

    overlap = sorted(set(working) & (non_working | holidays))
    if overlap:
        raise CalendarFileError(
            source,
            f"{key}.working_weekends",
            f"{overlap[0].isoformat()} is listed both as worked and as a day off",
        )

    status = body.get("status", "")
    decree = body.get("decree", {})
    decree_title = decree.get("title", "") if isinstance(decree, Mapping) else str(decree)
    sources = body.get("sources", [])
    return CalendarYear(
        year=year,
        holidays=frozenset(holidays),
        non_working_weekdays=frozenset(non_working),
        working_weekends=MappingProxyType(working),
        shortened=frozenset(shortened),
        transfers=tuple(transfers),
        names=MappingProxyType(names),
        status=str(status),
        decree=str(decree_title),
        sources=tuple(str(s) for s in sources) if isinstance(sources, list) else (str(sources),),
    )


def _merge_years(base: CalendarYear, extra: CalendarYear) -> CalendarYear:
    """Overlay ``extra`` on ``base`` date by date: what the extra section says wins."""
    made_off = extra.holidays | extra.non_working_weekdays
    made_working = frozenset(extra.working_weekends)
    holidays = (base.holidays - made_working) | extra.holidays
    non_working = (base.non_working_weekdays - made_working) | extra.non_working_weekdays
    working = {d: w for d, w in base.working_weekends.items() if d not in made_off}
    working.update(extra.working_weekends)
    shortened = (base.shortened - made_off) | extra.shortened
    names = {d: n for d, n in base.names.items() if d not in made_off}
    names.update(extra.names)
    transfers = tuple(t for t in base.transfers if t.to_date not in made_working)
    return CalendarYear(
        year=base.year,
        holidays=holidays,
        non_working_weekdays=non_working,
        working_weekends=MappingProxyType(working),
        shortened=shortened,
        transfers=transfers + extra.transfers,
        names=MappingProxyType(names),
        status=extra.status or base.status,
        decree=extra.decree or base.decree,
        sources=base.sources + extra.sources,
    )


def _check_year(y: CalendarYear, source: str, key: str) -> None:
    """Check the cross-list consistency of one (possibly merged) year."""
    for d in sorted(y.holidays):
        if d.weekday() < 5 and d not in y.non_working_weekdays:
            raise CalendarFileError(
                source,
                f"{key}.holidays",
                f"{d.isoformat()} is a holiday on a {WEEKDAY_ABBR[d.weekday()]} "
                "but is missing from non_working_weekdays",
            )
    for t in y.transfers:
        if t.to_date.weekday() < 5 and t.to_date not in y.non_working_weekdays:
            raise CalendarFileError(
                source,
                f"{key}.transfers",
                f"the day off moved to {t.to_date.isoformat()} is missing from "
                "non_working_weekdays",
            )
    for d in sorted(y.shortened):
        if d in y.non_working_weekdays or d in y.holidays:
            raise CalendarFileError(
                source, f"{key}.shortened_days", f"{d.isoformat()} is a day off, not a working day"
            )
        if d.weekday() >= 5 and d not in y.working_weekends:
            raise CalendarFileError(
                source,
                f"{key}.shortened_days",
                f"{d.isoformat()} is a {WEEKDAY_ABBR[d.weekday()]} that is not in working_weekends",
            )
