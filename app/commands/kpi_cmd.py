"""``kpi``: a period's KPIs from the event log, as a text table or JSON (docs/kpi.md)."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, TextIO
from zoneinfo import ZoneInfo

from app.commands._common import add_command, load_config_or_fail
from app.errors import CliError

if TYPE_CHECKING:
    from app.commands._common import Subparsers
    from app.kpi import KpiReport, KpiRow

#: The text table's columns: (header, KpiRow attribute, how to show it).
_TEXT_COLUMNS = (
    ("received", "received", "int"),
    ("answered", "answered", "int"),
    ("on_time", "on_time", "int"),
    ("late", "late", "int"),
    ("open_late", "open_overdue", "int"),
    ("on_time%", "on_time_share", "percent"),
    ("1st_wh_med", "first_answer_wh_median", "hours"),
    ("1st_wh_p90", "first_answer_wh_p90", "hours"),
    ("final_wh_med", "final_answer_wh_median", "hours"),
    ("final_wh_p90", "final_answer_wh_p90", "hours"),
    ("final_h_med", "final_answer_h_median", "hours"),
    ("returned%", "returned_share", "percent"),
    ("rework%", "rework_share", "percent"),
    ("reopened%", "reopened_share", "percent"),
)


def register(subparsers: Subparsers) -> None:
    """Add the ``kpi`` command."""
    parser = add_command(
        subparsers, "kpi", help="KPIs of a period, rebuilt from the event log (docs/kpi.md)"
    )
    parser.add_argument(
        "--from",
        dest="start",
        metavar="YYYY-MM-DD",
        help="first day, in the region's zone (default: 30 days before --to)",
    )
    parser.add_argument(
        "--to", dest="end", metavar="YYYY-MM-DD", help="last day, inclusive (default: today)"
    )
    parser.add_argument(
        "--by",
        choices=["executor", "municipality", "topic", "network"],
        help="break the figures down (default: the total only)",
    )
    parser.add_argument("--format", choices=["table", "json"], default="table")
    parser.add_argument(
        "--as-of",
        dest="as_of",
        metavar="ISO-TIME",
        help="read the log up to this instant (default: now); e.g. 2025-10-17T18:00+03:00",
    )
    parser.set_defaults(handler=kpi)


def _day(value: str, name: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CliError(f"{name}: expected a date YYYY-MM-DD, got {value[:40]!r}") from None


def _as_of(value: str | None, zone: ZoneInfo, now: datetime) -> datetime:
    if value is None:
        return now
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise CliError(f"--as-of: expected an ISO 8601 time, got {value[:40]!r}") from None
    return when.replace(tzinfo=zone) if when.tzinfo is None else when


def period_bounds(
    start: str | None, end: str | None, zone: ZoneInfo, today: date
) -> tuple[datetime, datetime]:
    """Turn --from/--to days (``--to`` inclusive) into a half-open pair of aware instants."""
    last = _day(end, "--to") if end else today
    first = _day(start, "--from") if start else last - timedelta(days=29)
    if last < first:
        raise CliError("--to must not be before --from")
    return (
        datetime.combine(first, time(), zone),
        datetime.combine(last + timedelta(days=1), time(), zone),
    )


def _cell(value: object, kind: str) -> str:
    if value is None:
        return "-"
    if kind == "percent" and isinstance(value, float):
        return f"{value * 100:.1f}"
    if kind == "hours" and isinstance(value, float):
        return f"{value:.1f}"
    return str(value)


def write_table(report: KpiReport, out: TextIO) -> None:
    """Write the report as an aligned text table (shares in per cent, durations in hours)."""
    zone_start = report.period.start.isoformat()
    zone_end = report.period.end.isoformat()
    out.write(f"KPIs for [{zone_start}, {zone_end}) as of {report.as_of.isoformat()}\n")
    rows: list[KpiRow] = [*report.rows, report.total]
    header = ["group", *(h for h, _, _ in _TEXT_COLUMNS)]
    lines = [header] + [
        [row.label, *(_cell(getattr(row, attr), kind) for _, attr, kind in _TEXT_COLUMNS)]
        for row in rows
    ]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    for line in lines:
        cells = [line[0].ljust(widths[0])]
        cells += [cell.rjust(width) for cell, width in zip(line[1:], widths[1:], strict=True)]
        out.write("  ".join(cells).rstrip() + "\n")
    if report.misroutes:
        out.write("\nmisroutes ('not ours' returns) per routing rule\n")
        for m in report.misroutes:
            share = _cell(m.share, "percent")
            out.write(f"  {m.rule_id}: {m.not_ours} of {m.routed} ({share}%)\n")


def kpi(args: argparse.Namespace) -> int:
    """Compute and print a period's KPIs."""
    from app.commands.sources_cmd import open_database
    from app.dashboards import KpiService
    from app.kpi import Dimension, Period, report_json
    from app.routing import build_routing

    config = load_config_or_fail(args)
    zone = config.region.zone
    now = datetime.now(zone)
    start, end = period_bounds(args.start, args.end, zone, now.date())
    as_of = _as_of(args.as_of, zone, now)
    routing = build_routing(config)
    service = KpiService(
        sessionmaker=open_database(config),
        routing=lambda: routing,
        clock=lambda: now,
        timezone=config.region.timezone,
    )
    by = Dimension(args.by) if args.by else None
    report = service.report(Period(start, end), by=by, as_of=as_of)
    if args.format == "json":
        json.dump(report_json(report), sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
    else:
        write_table(report, sys.stdout)
    return 0
