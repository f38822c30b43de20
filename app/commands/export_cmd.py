"""``export messages`` (every stored message as JSON lines) and ``export incidents`` (the queue
with the screens' filters, as CSV or XLSX, every incident: the administrator's view)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from app.commands._common import add_command, load_config_or_fail
from app.errors import CliError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from app.commands._common import Subparsers


def register(subparsers: Subparsers) -> None:
    """Add the ``export`` command group."""
    parser = add_command(subparsers, "export", help="export stored data")
    what = parser.add_subparsers(dest="export_what", metavar="WHAT", required=True)
    messages = add_command(what, "messages", help="export collected posts and comments")
    messages.add_argument(
        "--format", choices=["jsonl"], default="jsonl", help="output format (default: jsonl)"
    )
    messages.add_argument(
        "--output", type=Path, metavar="PATH", help="write to a file instead of stdout"
    )
    messages.set_defaults(handler=export_messages)
    incidents = add_command(
        what, "incidents", help="export the incident list with the queue's filters (CSV or XLSX)"
    )
    incidents.add_argument("--format", choices=["csv", "xlsx"], required=True)
    incidents.add_argument("--output", type=Path, metavar="PATH", required=True)
    incidents.add_argument(
        "--state", action="append", default=[], help="a workflow state (repeat for several)"
    )
    for name, text in _FILTERS.items():
        incidents.add_argument(f"--{name.replace('_', '-')}", dest=name, metavar="VALUE", help=text)
    incidents.set_defaults(handler=export_incidents)


#: The queue's filters as options (the same names and values as the queue's query string).
_FILTERS = {
    "topic_group": "topic group (exact)",
    "topic": "topic (exact)",
    "municipality": "municipality's OKTMO code",
    "executor": "active executor's code",
    "sla": "ok, at_risk or overdue",
    "network": "vk, ok, telegram or file",
    "source": "source id",
    "priority": "low, normal, high or urgent",
    "from": "received on or after this day (YYYY-MM-DD, region's zone)",
    "to": "received on or before this day (YYYY-MM-DD, region's zone)",
    "q": "words in the messages, or an incident number",
    "sort": "priority (default), deadline or received",
}


def _write(sessions: sessionmaker[Session], out: TextIO) -> int:
    from storage.enums import Network
    from storage.repositories.messages import MessageRepository

    count = 0
    with sessions() as s:
        for network in Network:
            for record in MessageRepository(s, network=network).iter_records():
                out.write(json.dumps(record.to_json(), ensure_ascii=False) + "\n")
                count += 1
    return count


def export_messages(args: argparse.Namespace) -> int:
    """Write one JSON object per stored message."""
    from app.commands.sources_cmd import open_database

    config = load_config_or_fail(args)
    sessions = open_database(config)
    if args.output is None:
        _write(sessions, sys.stdout)
        return 0
    try:
        with args.output.open("w", encoding="utf-8") as out:
            count = _write(sessions, out)
    except OSError as err:
        raise CliError(f"cannot write {args.output}: {err.strerror}", exit_code=1) from err
    print(f"exported {count} messages to {args.output}", file=sys.stderr)
    return 0


def export_incidents(args: argparse.Namespace) -> int:
    """Write every incident the filters select as CSV or XLSX (atomically: all or nothing)."""
    import os
    import tempfile

    from multidict import MultiDict

    from app.commands.sources_cmd import open_database
    from app.export_service import ExportService
    from app.runtime import utc_clock
    from web.contracts import Viewer
    from web.errors import AppError
    from web.forms import parse_filter

    config = load_config_or_fail(args)
    query: MultiDict[str] = MultiDict(("state", s) for s in args.state)
    for name in _FILTERS:
        value = getattr(args, name)
        if value is not None:
            query.add(name, value)
    try:
        filters = parse_filter(query, timezone=config.region.timezone)
    except AppError as err:
        raise CliError(f"bad filter: {err.detail}", exit_code=2) from err
    sessions = open_database(config)
    service = ExportService(
        sessionmaker=sessions,
        clock=utc_clock,
        timezone=config.region.timezone,
        public_url=config.web.public_url,
    )
    admin = Viewer(user_id=0, login="cli", name="командная строка", role="admin")
    try:
        table = service.incidents(admin, filters)
    except AppError as err:
        raise CliError(f"bad filter: {err.detail}", exit_code=2) from err
    target: Path = args.output
    # Written beside the target and renamed at the end: a failed export leaves no half file.
    try:
        handle, partial = tempfile.mkstemp(
            prefix=f".{target.name}.", suffix=".part", dir=target.parent
        )
    except OSError as err:
        raise CliError(f"cannot write {target}: {err.strerror}", exit_code=1) from err
    try:
        with os.fdopen(handle, "wb") as out:
            count = service.write(table, args.format, out)
        Path(partial).replace(target)
    except OSError as err:
        Path(partial).unlink(missing_ok=True)
        raise CliError(f"cannot write {target}: {err.strerror}", exit_code=1) from err
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise
    print(f"exported {count} incidents to {target}", file=sys.stderr)
    return 0
