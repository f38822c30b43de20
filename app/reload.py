"""SIGHUP: read the configuration again and restart the service inside the process with it.

A file that does not load (an unknown key, a wrong type, a missing secret) is refused with one
ERROR line naming the file and the key, and the running service goes on untouched. A file that
loads replaces the running service: its jobs are drained and its leases given back as at
SIGTERM, then the service is built again from the new configuration and listens on the same
address (changing ``web.host`` or ``web.port`` takes a restart).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Awaitable, Callable
from typing import Protocol

from app.config import Config, ConfigError
from app.runtime import Listening
from storage.errors import StorageError

__all__ = ["install_reload_signal", "serve_with_reload"]

log = logging.getLogger(__name__)


class Serve(Protocol):
    """The shape of :func:`app.runtime.serve` this loop needs."""

    def __call__(
        self,
        config: Config,
        *,
        host: str,
        port: int,
        stop: asyncio.Event,
        on_listening: Callable[[Listening], None],
    ) -> Awaitable[None]:
        """Serve ``config`` until ``stop`` is set."""


async def _first(*events: asyncio.Event) -> None:
    waiters = [asyncio.create_task(e.wait()) for e in events]
    try:
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()


async def _watch(
    stop: asyncio.Event,
    reload: asyncio.Event,
    restart: asyncio.Event,
    pending: list[Config],
    *,
    load: Callable[[], Config],
    prepare: Callable[[Config], None] | None,
) -> None:
    """Set ``restart`` on ``stop``, or on a ``reload`` whose configuration loads (put in
    ``pending``); refuse one that does not with one line, and keep watching."""
    while True:
        await _first(stop, reload)
        if stop.is_set():
            restart.set()
            return
        reload.clear()
        try:
            new = await asyncio.to_thread(load)
            if prepare is not None:
                await asyncio.to_thread(prepare, new)
        except (ConfigError, StorageError) as err:
            log.error("configuration reload refused: %s; the running configuration stays", err)
            continue
        pending.append(new)
        restart.set()
        return


async def serve_with_reload(
    config: Config,
    *,
    load: Callable[[], Config],
    serve: Serve,
    host: str,
    port: int,
    stop: asyncio.Event,
    reload: asyncio.Event,
    on_listening: Callable[[Listening], None],
    prepare: Callable[[Config], None] | None = None,
) -> None:
    """Serve ``config`` until ``stop``; on each ``reload``, serve what ``load`` returns instead.

    ``prepare`` (migrations) runs on a new configuration before the old service stops; if it
    raises StorageError the new configuration is refused like a malformed file.
    """
    current = config
    bound = port

    def listening(where: Listening) -> None:
        nonlocal bound
        bound = where.port
        on_listening(where)

    while True:
        restart = asyncio.Event()
        pending: list[Config] = []

        watcher = asyncio.create_task(
            _watch(stop, reload, restart, pending, load=load, prepare=prepare)
        )
        try:
            await serve(current, host=host, port=bound, stop=restart, on_listening=listening)
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
        if stop.is_set() or not pending:
            return
        current = pending[0]
        log.info("configuration reloaded; the service restarts with it")


def install_reload_signal(reload: asyncio.Event) -> None:
    """Set ``reload`` on SIGHUP (where the platform has it)."""
    hup = getattr(signal, "SIGHUP", None)
    if hup is None:  # pragma: no cover - Windows
        return
    loop = asyncio.get_running_loop()
    try:
        loop.add_signal_handler(hup, reload.set)
    except (NotImplementedError, RuntimeError):  # pragma: no cover
        log.debug("cannot install a handler for SIGHUP")
