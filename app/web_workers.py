"""Extra web processes (``web.workers``): HTTP only, on the main process's port.

One Python process serves about 70-80 queue requests a second (bench/bench_web_queue.py): the
request path is CPU-bound and holds the GIL. With ``web.workers: N`` the main process (which
alone runs the scheduler's jobs) serves HTTP and starts N - 1 worker processes that serve the
same application on the same port; every listener sets SO_REUSEPORT, so the kernel spreads
the connections over them. The application is stateless between requests (signed cookies,
everything else in the database), so any process can answer any request.

Workers are started with ``multiprocessing``'s spawn method (a fresh interpreter: no
inherited threads, engine pools or event loop) and given the parsed configuration.
The supervisor in the main process notices a worker that exits (crash, OOM kill, ``kill -9``),
logs it and starts it again after a delay that doubles while it keeps dying young (1 s up to
60 s). Stopping the service sends SIGTERM to every worker, waits for them, and kills any that
is still there after the grace period; a worker whose parent disappears stops by itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.process import BaseProcess
from typing import TYPE_CHECKING

from aiohttp import web

from app import event_loop

if TYPE_CHECKING:
    from app.config import Config

__all__ = ["WorkerPool", "build_http_app", "worker_main"]

log = logging.getLogger(__name__)

#: A worker that lived at least this long before exiting is restarted after the first delay.
_STABLE_SECONDS = 30.0
_FIRST_DELAY = 1.0
_MAX_DELAY = 60.0
#: Seconds a stopping pool waits for its workers before killing them.
STOP_GRACE = 8.0


def build_http_app(config: Config) -> tuple[web.Application, Callable[[], None]]:
    """Build the web application alone (no jobs); return it and what closes its resources."""
    from app.outage import DatabaseStatus
    from app.overview import make_overview_provider
    from app.routing import build_routing
    from app.runtime import build_metrics, make_health_probe, site_info, utc_clock
    from app.workflow import Workflow
    from app.workspace import build_workspace
    from storage.db import create_engine_for, make_sessionmaker
    from web import create_app

    engine = create_engine_for(config.database.url, sqlite_begin="IMMEDIATE")
    sessions = make_sessionmaker(engine)
    workflow = Workflow(sessionmaker=sessions, clock=utc_clock, routing=build_routing(config))
    # The database gauges are right from any process; the collection and pipeline counters
    # live in the main process (docs/administration.md, "Several web processes").
    registry, _metrics, _counters = build_metrics(config, sessions=sessions, clock=utc_clock)
    app = create_app(
        site_info=site_info(config),
        health_probe=make_health_probe(engine),
        overview=make_overview_provider(sessions),
        metrics=registry,
        availability=DatabaseStatus(engine),
        workspace=build_workspace(config, sessions=sessions, workflow=workflow, clock=utc_clock),
    )
    return app, engine.dispose


async def _serve_worker(config: Config, host: str, port: int, parent: int) -> None:
    from app.runtime import install_stop_signals

    stop = asyncio.Event()
    install_stop_signals(stop)
    app, close = build_http_app(config)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port, reuse_port=True).start()
        while not stop.is_set():
            if os.getppid() != parent:  # the main process is gone: do not linger
                log.warning("web worker %d: the main process is gone; stopping", os.getpid())
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=1.0)
    finally:
        await runner.cleanup()
        close()


def worker_main(config: Config, host: str, port: int, parent: int) -> None:
    """Serve HTTP in a worker process until SIGTERM/SIGINT or the parent's death."""
    from app.logs import configure_service_logging

    # The main process's log settings: the same format, chatty libraries only from WARNING.
    configure_service_logging(config.logging.level, config.logging.format)
    event_loop.run(_serve_worker(config, host, port, parent))


@dataclass
class _Slot:
    index: int
    process: BaseProcess | None = None
    started: float = 0.0
    delay: float = _FIRST_DELAY
    restart_at: float | None = None


@dataclass
class WorkerPool:
    """Starts, watches and stops the worker processes of one serving period."""

    config: Config
    host: str
    port: int
    count: int
    clock: Callable[[], float] = time.monotonic
    _slots: list[_Slot] = field(default_factory=list)
    _context: multiprocessing.context.SpawnContext = field(
        default_factory=lambda: multiprocessing.get_context("spawn")
    )

    def _spawn(self, slot: _Slot) -> None:
        process = self._context.Process(
            target=worker_main,
            args=(self.config, self.host, self.port, os.getpid()),
            name=f"im-web-worker-{slot.index}",
            daemon=False,
        )
        process.start()
        slot.process, slot.started, slot.restart_at = process, self.clock(), None
        log.info("web worker %d started (pid %s)", slot.index, process.pid)

    def start(self) -> None:
        """Start the workers."""
        self._slots = [_Slot(index) for index in range(1, self.count + 1)]
        for slot in self._slots:
            self._spawn(slot)

    @property
    def pids(self) -> list[int]:
        """Return the process ids of the running workers."""
        return [
            s.process.pid
            for s in self._slots
            if s.process is not None and s.process.pid is not None and s.process.is_alive()
        ]

    def check(self) -> None:
        """Notice workers that exited and restart them when their delay has passed."""
        now = self.clock()
        for slot in self._slots:
            process = slot.process
            if process is not None and not process.is_alive():
                code = process.exitcode
                how = f"code {code}"
                if code is not None and code < 0:
                    how = f"signal {signal.Signals(-code).name}"
                if now - slot.started >= _STABLE_SECONDS:
                    slot.delay = _FIRST_DELAY
                log.warning(
                    "web worker %d (pid %s) exited with %s; starting it again in %.0f s",
                    slot.index,
                    process.pid,
                    how,
                    slot.delay,
                )
                process.close()
                slot.process, slot.restart_at = None, now + slot.delay
                slot.delay = min(_MAX_DELAY, slot.delay * 2)
            if slot.process is None and slot.restart_at is not None and now >= slot.restart_at:
                self._spawn(slot)

    async def supervise(self, stop: asyncio.Event, interval: float = 0.5) -> None:
        """Check the workers every ``interval`` seconds until ``stop`` is set."""
        while not stop.is_set():
            self.check()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=interval)

    def stop(self, grace: float = STOP_GRACE) -> None:
        """SIGTERM every worker, wait up to ``grace`` seconds, kill the rest; leave no child."""
        running = [s.process for s in self._slots if s.process is not None]
        for process in running:
            if process.is_alive():
                process.terminate()
        deadline = self.clock() + grace
        for process in running:
            process.join(max(0.0, deadline - self.clock()))
            if process.is_alive():
                log.warning("web worker pid %s did not stop in %.0f s; killed", process.pid, grace)
                process.kill()
                process.join(5)
        for slot in self._slots:
            if slot.process is not None:
                slot.process.close()
            slot.process, slot.restart_at = None, None
        log.info("web workers stopped")
