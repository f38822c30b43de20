"""``publish --once``: post every approved answer into its citizen's VK thread."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from typing import TYPE_CHECKING

from app.commands._common import add_command, exclusive_job, load_config_or_fail
from app.errors import CliError

if TYPE_CHECKING:
    from app.commands._common import Subparsers


def register(subparsers: Subparsers) -> None:
    """Add the ``publish`` command."""
    parser = add_command(
        subparsers, "publish", help="post the approved answers into the citizens' VK threads"
    )
    parser.add_argument(
        "--once",
        action="store_true",
        required=True,
        help="publish what is approved now, then exit (1 if any answer was not published)",
    )
    parser.add_argument(
        "--limit", type=int, default=None, metavar="N", help="publish at most N answers"
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Publish once and print a summary; exit 1 if any answer failed or was deferred."""
    from app.commands.sources_cmd import open_database
    from app.publish import run_publish_once
    from app.routing import build_routing
    from app.runtime import utc_clock
    from app.workflow import Workflow

    if args.limit is not None and args.limit <= 0:
        raise CliError("--limit must be positive")
    config = load_config_or_fail(args)
    if not config.networks.vk.enabled:
        raise CliError("VK is switched off (networks.vk.enabled: false)", exit_code=1)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    sessions = open_database(config)
    workflow = Workflow(sessionmaker=sessions, clock=utc_clock, routing=build_routing(config))
    with exclusive_job(config, sessions, "publish"):
        report = asyncio.run(
            run_publish_once(
                config, sessions=sessions, workflow=workflow, clock=utc_clock, limit=args.limit
            )
        )
    if report is None:
        raise CliError(
            "VK needs a community token (to post) and a service or user token (to read the "
            "thread back): networks.vk.tokens",
            exit_code=1,
        )
    for outcome in report.outcomes:
        if outcome.status != "published":
            print(outcome.line(), file=sys.stderr)
    print(report.summary(), file=sys.stdout if report.ok else sys.stderr)
    return 0 if report.ok else 1
