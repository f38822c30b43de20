"""``run``: the embedded default: migrate, then serve the web app and the scheduler."""

from __future__ import annotations

import argparse
import asyncio
import errno
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from app import event_loop
from app.commands._common import add_command, load_config_or_fail
from app.errors import CliError
from app.logs import configure_service_logging

if TYPE_CHECKING:
    from app.commands._common import Subparsers
    from app.config import Config


def register(subparsers: Subparsers) -> None:
    """Add the ``run`` command."""
    parser = add_command(
        subparsers,
        "run",
        help="run the service: apply migrations, then serve the web app and the scheduler "
        "(SIGTERM/SIGINT stop it, SIGHUP reloads the configuration)",
    )
    parser.add_argument("--host", help="address to listen on (default: web.host)")
    parser.add_argument(
        "--port", type=int, help="port to listen on; 0 picks a free one (default: web.port)"
    )
    parser.add_argument(
        "--no-migrate",
        action="store_true",
        help="do not apply pending migrations at start (run 'db upgrade' separately)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Start the service and block until interrupted."""
    from app.config import load_config
    from app.reload import install_reload_signal, serve_with_reload
    from app.runtime import Listening, install_stop_signals, serve
    from storage.errors import StorageError
    from storage.migrate import upgrade

    config = load_config_or_fail(args)
    configure_service_logging(config.logging.level, config.logging.format)
    host = args.host or config.web.host
    port = config.web.port if args.port is None else args.port
    if not 0 <= port <= 65535:
        raise CliError(f"--port {port} is not a port number")
    if not args.no_migrate:
        try:
            upgrade(config.database.url)
        except StorageError as err:
            raise CliError(str(err), exit_code=1) from err

    def announce(where: Listening) -> None:
        print(
            f"Incident Management ({config.region.name}) is running at {where.url} "
            "(Ctrl+C to stop)",
            file=sys.stdout,
            flush=True,
        )

    def load() -> Config:
        return load_config(Path(args.config), os.environ)

    def prepare(new: Config) -> None:
        if not args.no_migrate:
            upgrade(new.database.url)

    async def main() -> None:
        stop = asyncio.Event()
        reload = asyncio.Event()
        install_stop_signals(stop)
        install_reload_signal(reload)
        await serve_with_reload(
            config,
            load=load,
            serve=serve,
            host=host,
            port=port,
            stop=stop,
            reload=reload,
            on_listening=announce,
            prepare=prepare,
        )

    try:
        event_loop.run(main())
    except OSError as err:
        if err.errno in (errno.EADDRINUSE, errno.EACCES, errno.EADDRNOTAVAIL):
            raise CliError(
                f"cannot listen on {host}:{port}: {err.strerror}; "
                "choose another with --port or web.port"
            ) from err
        raise
    return 0
