"""``config check``: validate the configuration file and summarise it."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from app.commands._common import add_command, load_config_or_fail

if TYPE_CHECKING:
    from app.commands._common import Subparsers


def register(subparsers: Subparsers) -> None:
    """Add the ``config`` command group."""
    parser = add_command(subparsers, "config", help="work with the configuration file")
    actions = parser.add_subparsers(dest="config_action", metavar="ACTION", required=True)
    check = add_command(
        actions,
        "check",
        help="validate the configuration; print a summary, or one line naming the problem",
    )
    check.set_defaults(handler=check_config)


def check_config(args: argparse.Namespace) -> int:
    """Load and validate the configuration; exit 0 when it is valid."""
    from sqlalchemy.engine import make_url  # here, not at import: `--help` stays light

    config = load_config_or_fail(args)
    database = make_url(config.database.url).render_as_string(hide_password=True)
    print(
        f"{args.config}: OK: region {config.region.name} ({config.region.timezone}), "
        f"{len(config.sources)} sources, {len(config.executors)} executors, "
        f"{len(config.jurisdiction.rules)} jurisdiction rules, {len(config.users)} users; "
        f"database {database}",
        file=sys.stdout,
    )
    return 0
