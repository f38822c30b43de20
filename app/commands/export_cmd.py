"""``export messages``: every stored message as one JSON object per line."""

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
