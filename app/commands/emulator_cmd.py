"""``emulator``: run the VK, OK and Telegram emulators standalone (a synthetic region)."""

from __future__ import annotations

import argparse
import subprocess
import sys
from typing import TYPE_CHECKING

from app.commands._common import add_command

if TYPE_CHECKING:
    from app.commands._common import Subparsers


def register(subparsers: Subparsers) -> None:
    """Add the ``emulator`` command."""
    parser = add_command(
        subparsers,
        "emulator",
        help="serve the VK, OK and Telegram emulators over a synthetic region (demo tokens, no "
        "real network)",
    )
    parser.add_argument("--port", type=int, default=8081, help="TCP port (default 8081)")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--seed", type=int, default=1, help="region seed (default 1)")
    parser.add_argument("--groups", type=int, default=30, help="communities (default 30)")
    parser.add_argument(
        "--activity-speed",
        type=float,
        default=60.0,
        help="speed-up of new posts and comments (default 60; 0 disables them)",
    )
    parser.set_defaults(handler=run)


def command_line(args: argparse.Namespace) -> list[str]:
    """Return the ``python -m emulator`` command line for the parsed arguments."""
    return [
        sys.executable,
        "-m",
        "emulator",
        "--port",
        str(args.port),
        "--host",
        args.host,
        "--seed",
        str(args.seed),
        "--groups",
        str(args.groups),
        "--activity-speed",
        str(args.activity_speed),
    ]


def run(args: argparse.Namespace) -> int:
    """Serve the emulator until interrupted; print its URL and the tokens it accepts.

    The emulator runs as ``python -m emulator`` in a child process: the production package
    (app/) never imports emulator code, which the layering test enforces.
    """
    try:
        return subprocess.call(command_line(args))  # noqa: S603 - our own interpreter and module
    except KeyboardInterrupt:
        return 0
