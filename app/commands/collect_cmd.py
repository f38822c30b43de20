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
    """Poll every enabled source this process can lease: VK (and its feed when a user token is
    configured), OK groups, Telegram channels and replay files; return the outcomes and how
    many sources were leased by others."""
    from app.collect import FEED_SOURCE_ID, SEARCH_SOURCE_ID, vk_collect_service
    from app.collect_networks import network_collect_service
    from storage.enums import Network
    from storage.repositories.sources import SourceRepository

    def enabled() -> dict[Network, int]:
        counts: dict[Network, int] = {}
        with sessions() as s:
            for r in SourceRepository(s).all():
                if r.enabled and not r.health.disabled_reason:
                    counts[r.network] = counts.get(r.network, 0) + 1
        return counts

    waiting = await asyncio.to_thread(enabled)
    outcomes: list[CollectOutcome] = []
    vk_on = config.networks.vk.enabled
    async with vk_collect_service(
        config, sessions, concurrency=max(1, concurrency), lease_seconds=lease_seconds
    ) as service:
        if service is not None:
            outcomes += await service.collect(due_only=False)
    async with network_collect_service(
        config, sessions, concurrency=max(1, concurrency), lease_seconds=lease_seconds
    ) as others:
        pollable = [n for n in others.networks if waiting.get(n)]
        if service is None and not pollable:
            if not vk_on:
                raise CliError("VK is switched off (networks.vk.enabled: false)", exit_code=1)
            raise CliError(
                "no VK token is configured (networks.vk.tokens) and no OK, Telegram or file "
                "source can be polled: nothing can be polled",
                exit_code=1,
            )
        outcomes += await others.collect(due_only=False)
    if service is None and waiting.get(Network.VK):
        print(
            f"{waiting[Network.VK]} vk sources not polled: VK is off or has no token",
            file=sys.stderr,
        )
    for network, count in sorted(waiting.items()):
        if network is not Network.VK and network not in others.networks:
            print(
                f"{count} {network.value} sources not polled: networks.{network.value} is off"
                + (" or its credentials are missing" if network is Network.OK else ""),
                file=sys.stderr,
            )
    polled = sum(1 for o in outcomes if o.source_id not in (FEED_SOURCE_ID, SEARCH_SOURCE_ID))
    expected = sum(
        count
        for network, count in waiting.items()
        if (network is Network.VK and service is not None) or network in others.networks
    )
    return outcomes, max(0, expected - polled)


def run(args: argparse.Namespace) -> int:
    """Poll once and print one summary line; exit 1 if any source failed."""
    from app.collect import summary_line
    from app.commands.sources_cmd import open_database

    config = load_config_or_fail(args)
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
