"""Run the emulator standalone: ``python -m emulator --port 8081``.

One server answers for the three networks: VK at ``/method/``, OK at ``/fb.do`` and
``/api/<group>/<name>``, Telegram previews at ``/s/<channel>``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator, Callable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from aiohttp import web

    from emulator.vk import FaultRates, VkEmulator

DEFAULT_PORT = 8081


def build_parser() -> argparse.ArgumentParser:
    """Return the standalone emulator's argument parser."""
    parser = argparse.ArgumentParser(
        prog="python -m emulator",
        description="Serve the VK, OK and Telegram emulators over a synthetic Kirov-like region.",
    )
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="TCP port (default 8081)")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--seed", type=int, default=1, help="region seed (default 1)")
    parser.add_argument("--groups", type=int, default=30, help="communities (default 30)")
    parser.add_argument(
        "--activity-speed",
        type=float,
        default=60.0,
        help="new posts and comments arrive this many times faster than the communities' "
        "real daily rates (default 60; 0 disables live activity)",
    )
    faults = parser.add_argument_group(
        "random faults", "a share of calls failing, reproducibly from --fault-seed (default: none)"
    )
    faults.add_argument(
        "--error-rate",
        type=float,
        default=0.0,
        metavar="SHARE",
        help="share of API calls answered with error 10, also single calls inside execute",
    )
    faults.add_argument(
        "--http-error-rate",
        type=float,
        default=0.0,
        metavar="SHARE",
        help="share of HTTP requests answered 502",
    )
    faults.add_argument(
        "--truncate-rate",
        type=float,
        default=0.0,
        metavar="SHARE",
        help="share of HTTP requests whose JSON body is cut in half",
    )
    faults.add_argument("--fault-seed", type=int, default=0, help="seed of the fault draws")
    parser.add_argument("--ok-groups", type=int, default=3, help="OK groups (default 3)")
    parser.add_argument(
        "--telegram-channels", type=int, default=3, help="Telegram channels (default 3)"
    )
    return parser


def fault_rates(args: argparse.Namespace) -> FaultRates:
    """Return the random fault shares the command line asks for.

    Raises:
        ValueError: a share outside 0-1, or shares of HTTP faults adding up to more than 1.
    """
    from emulator.vk import FaultRates

    return FaultRates(
        error=args.error_rate,
        http=args.http_error_rate,
        truncate=args.truncate_rate,
        seed=args.fault_seed,
    )


def describe(emulator: VkEmulator, host: str, port: int) -> str:
    """Return the banner: the base URL, the admin URL and the demo tokens."""
    from emulator.ok import DEMO_ACCESS_TOKEN, DEMO_APP_KEY, DEMO_APP_SECRET
    from emulator.vk import RATE_LIMITS

    world = emulator.world
    official = world.groups[world.official_group_id]
    lines = [
        f"VK API emulator: http://{host}:{port}/method/",
        f"admin endpoints: http://{host}:{port}/_emulator/",
        f"region: seed {emulator.region.seed}, {emulator.region.groups} communities, plus "
        f"{official.name!r} (id {official.id}) that answers",
        "tokens (demo values, not secrets):",
    ]
    for spec in emulator.tokens.values():
        detail = f"{RATE_LIMITS[spec.kind]} req/s"
        if spec.follows:
            detail += f", follows {len(spec.follows)} communities"
        if spec.kind == "community":
            detail += f", community {spec.group_id}"
        lines.append(f"  {spec.token:<22} {spec.kind:<9} {detail}")
    lines += [
        f"OK API emulator: http://{host}:{port}/fb.do (application key {DEMO_APP_KEY}, "
        f"secret {DEMO_APP_SECRET}, access token {DEMO_ACCESS_TOKEN}; demo values)",
        f"Telegram previews: http://{host}:{port}/s/<channel>",
    ]
    return "\n".join(lines)


def _stepping(
    steps: Sequence[Callable[[], None]], interval: float
) -> Callable[[web.Application], AsyncIterator[None]]:
    """Return a cleanup context running ``steps`` every ``interval`` seconds (live activity)."""

    async def run(_app: web.Application) -> AsyncIterator[None]:
        async def loop() -> None:
            while True:
                await asyncio.sleep(interval)
                for step in steps:
                    step()

        task = asyncio.create_task(loop())
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    return run


def main(argv: Sequence[str] | None = None) -> int:
    """Build the emulator, print where it listens and its tokens, and serve until stopped."""
    from aiohttp import web

    from emulator.ok import OkEmulator
    from emulator.telegram import TelegramEmulator
    from emulator.vk import VkEmulator

    args = build_parser().parse_args(argv)
    if args.groups < 1:
        print("--groups must be at least 1", file=sys.stderr)
        return 2
    try:
        rates = fault_rates(args)
    except ValueError as err:
        print(f"random faults: {err}", file=sys.stderr)
        return 2
    emulator = VkEmulator(
        seed=args.seed, groups=args.groups, activity_multiplier=max(args.activity_speed, 0.0)
    )
    emulator.set_fault_rates(rates)
    interval = 2.0 if args.activity_speed > 0 else None
    app = emulator.create_app(activity_interval=interval)
    ok = OkEmulator(seed=args.seed, groups=max(0, args.ok_groups), posts=20)
    telegram = TelegramEmulator(seed=args.seed, channels=max(0, args.telegram_channels))
    ok.add_routes(app)
    telegram.add_routes(app)  # last: its /<channel> route would shadow the others
    if interval is not None:
        app.cleanup_ctx.append(_stepping([ok.world.step, telegram.step], 30.0))
    print(describe(emulator, args.host, args.port), flush=True)
    if rates.active:
        print(
            f"random faults: {rates.error:.0%} error {rates.error_code}, {rates.http:.0%} HTTP "
            f"{rates.status}, {rates.truncate:.0%} truncated (seed {rates.seed})",
            flush=True,
        )
    web.run_app(app, host=args.host, port=args.port, print=None)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
