"""``deadline``: compute (and explain) a working-time deadline on the production calendar."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime, timedelta, tzinfo
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING

from app.commands._common import add_command

if TYPE_CHECKING:
    from router.working_time import WeeklySchedule

PROG = "incident-management deadline"
#: ``router.working_time.DEFAULT_SCHEDULE_SPEC``, written out so that building the command line
#: does not load the calendar (a test checks the two agree).
DEFAULT_SCHEDULE_SPEC = "mon-fri=09:00-13:00,14:00-18:00"
#: The largest budget accepted, in hours (a year of full-time work).
MAX_HOURS = Decimal(2000)


class _InputError(Exception):
    """Bad command-line input: reported as one line on stderr, exit code 2."""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``deadline`` command."""
    parser = add_command(
        subparsers,
        "deadline",
        help="compute the deadline of a working-time budget on the production calendar",
        epilog=(
            "Example: deadline --start 2025-10-14T10:00 --tz Europe/Kirov --hours 8 "
            "prints 2025-10-15T10:00:00+03:00. See docs/deadlines.md."
        ),
    )
    parser.add_argument(
        "--start",
        required=True,
        metavar="ISO",
        help="when the clock starts: local time in --tz (2025-10-14T10:00) or with an offset",
    )
    parser.add_argument(
        "--tz", required=True, metavar="ZONE", help="the executor's IANA zone, e.g. Europe/Kirov"
    )
    parser.add_argument(
        "--hours", required=True, metavar="H", help="budget in working hours, e.g. 8 or 7.5"
    )
    parser.add_argument(
        "--schedule",
        default=DEFAULT_SCHEDULE_SPEC,
        metavar="SPEC",
        help=f"weekly schedule (default: {DEFAULT_SCHEDULE_SPEC})",
    )
    parser.add_argument(
        "--calendar",
        action="append",
        default=[],
        metavar="FILE",
        help="extra calendar YAML merged over the shipped one (repeatable; later files win)",
    )
    parser.add_argument("--explain", action="store_true", help="print the day-by-day computation")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Print the deadline (first line, ISO 8601 with offset) and, with --explain, the steps."""
    from router.calendar import CalendarError, load_calendar
    from router.working_time import NoWorkingTimeError, explain, resolve_zone

    try:
        zone = resolve_zone(args.tz)
        start = parse_start(args.start, zone)
        budget = parse_hours(args.hours)
        schedule = _parse_schedule(args.schedule)
        calendar = load_calendar(args.calendar)
        result = explain(start, budget, schedule, calendar, zone)
    except (_InputError, ValueError, CalendarError, NoWorkingTimeError) as err:
        # CalendarYearMissing and CalendarFileError are CalendarErrors; bad zones are ValueErrors.
        print(f"{PROG}: {err}", file=sys.stderr)
        return 2
    sys.stdout.write(result.deadline.astimezone(zone).isoformat() + "\n")
    if args.explain:
        sys.stdout.write("\n".join(result.lines()) + "\n")
    return 0


def parse_start(text: str, zone: tzinfo) -> datetime:
    """Parse --start: an ISO time, local to ``zone`` unless it carries its own offset."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise _InputError(
            f"bad --start {text!r}: expected ISO 8601 such as 2025-10-14T10:00 "
            "or 2025-10-14T10:00+03:00"
        ) from None
    if value.tzinfo is not None:
        return value
    first, second = value.replace(tzinfo=zone, fold=0), value.replace(tzinfo=zone, fold=1)
    if first.utcoffset() != second.utcoffset():
        # Either the clock jumped over this wall time or passed it twice.
        round_trip = first.astimezone(UTC).astimezone(zone).replace(tzinfo=None)
        if round_trip != value:
            raise _InputError(
                f"--start {text!r} does not exist in {_zone_name(zone)} (clock change)"
            )
        raise _InputError(
            f"--start {text!r} is ambiguous in {_zone_name(zone)} (clock change); "
            "give it with an explicit offset"
        )
    return first


def _zone_name(zone: tzinfo) -> str:
    return str(getattr(zone, "key", zone))


def parse_hours(text: str) -> timedelta:
    """Parse --hours: a non-negative decimal number of hours."""
    try:
        hours = Decimal(text.strip())
    except InvalidOperation:
        raise _InputError(f"bad --hours {text!r}: expected a number such as 8 or 7.5") from None
    if not hours.is_finite() or hours < 0 or hours > MAX_HOURS:
        raise _InputError(f"bad --hours {text!r}: expected a number from 0 to {MAX_HOURS}")
    microseconds = (hours * 3_600_000_000).to_integral_value()
    return timedelta(microseconds=int(microseconds))


def _parse_schedule(spec: str) -> WeeklySchedule:
    from router.working_time import ScheduleError, parse_schedule

    try:
        return parse_schedule(spec)
    except ScheduleError as err:
        raise _InputError(f"bad --schedule: {err}") from None
