"""``collect --once``: poll every enabled source once and store what is new."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from typing import TYPE_CHECKING

from app.commands._common import add_command, load_config_or_fail
from app.errors import CliError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from app.collect import CollectOutcome
    from app.commands._common import Subparsers
    from app.config import Config


def register(subparsers: Subparsers) -> None:
    """Add the ``collect`` command."""
    parser = add_command(
        subparsers, "collect", help="poll the enabled sources and store new posts and comments"
    )
    parser.add_argument(
        "--once",
        action="store_true",
        required=True,
        help="poll every enabled source once, then exit (1 if any source failed)",
    )
    parser.add_argument(
        "--concurrency", type=int, default=4, metavar="N", help="sources polled at once"
    )
    parser.add_argument(
        "--lease-seconds",
        type=float,
        default=None,
        metavar="S",
        help="how long a source stays leased without renewal if this process dies mid-poll "
        "(default: scheduler.lease_seconds)",
    )
    parser.set_defaults(handler=run)


async def collect_once(
    config: Config,
    sessions: sessionmaker[Session],
    concurrency: int,
    lease_seconds: float = 60.0,
) -> tuple[list[CollectOutcome], int]:
    """Poll every enabled VK source this process can lease (and read the feed when a user token
    is configured); return the outcomes and how many sources were leased by others."""
    from app.collect import FEED_SOURCE_ID, vk_collect_service
    from storage.enums import Network
    from storage.repositories.sources import SourceRepository

    async with vk_collect_service(
        config, sessions, concurrency=max(1, concurrency), lease_seconds=lease_seconds
    ) as service:
        if service is None:
            raise CliError(
                "no VK token is configured (networks.vk.tokens): nothing can be polled",
                exit_code=1,
            )
        outcomes = await service.collect(due_only=False)

    def enabled() -> int:
        with sessions() as s:
            return sum(
                1
                for r in SourceRepository(s).all(network=Network.VK)
                if r.enabled and not r.health.disabled_reason
            )

    waiting = await asyncio.to_thread(enabled)
    walls = sum(1 for o in outcomes if o.source_id != FEED_SOURCE_ID)
    return outcomes, max(0, waiting - walls)


def run(args: argparse.Namespace) -> int:
    """Poll once and print one summary line; exit 1 if any source failed."""
    from app.collect import summary_line
    from app.commands.sources_cmd import open_database

    config = load_config_or_fail(args)
    if not config.networks.vk.enabled:
        raise CliError("VK is switched off (networks.vk.enabled: false)", exit_code=1)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    sessions = open_database(config)
    lease = float(
        config.scheduler.lease_seconds if args.lease_seconds is None else args.lease_seconds
    )
    if lease <= 0:
        raise CliError("--lease-seconds must be positive")
    outcomes, skipped = asyncio.run(collect_once(config, sessions, args.concurrency, lease))
    line = summary_line(outcomes, skipped)
    failed = any(not o.ok for o in outcomes)
    print(line, file=sys.stderr if failed else sys.stdout)
    return 1 if failed else 0
