"""Builds the running service from its configuration: database, web app and scheduler."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from aiohttp import web
from sqlalchemy.engine import Engine

from app import __version__
from app.bootstrap import bootstrap
from app.config import Config
from app.daemon import JobSpec, build_scheduler
from app.notify import LoggingNotifier, Notifier
from app.routing import build_routing
from app.workflow import Workflow
from storage.db import create_engine_for, make_sessionmaker
from storage.errors import StorageError
from storage.migrate import current_revision, head
from web import create_app
from web.keys import HealthReport, SiteInfo

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Listening:
    """Where the web application ended up listening."""

    host: str
    port: int

    @property
    def url(self) -> str:
        """Return the base URL a browser can open."""
        return f"http://{self.host}:{self.port}/"


def site_info(config: Config) -> SiteInfo:
    """Summarise the configuration for the screens."""
    return SiteInfo(
        region_name=config.region.name,
        timezone=config.region.timezone,
        version=__version__,
        sources=len(config.sources),
        executors=len(config.executors),
        rules=len(config.jurisdiction.rules),
    )


def make_health_probe(engine: Engine) -> Callable[[], asyncio.Future[HealthReport]]:
    """Return a coroutine factory that checks the database and its schema revision."""
    expected = head()

    def probe_sync() -> HealthReport:
        try:
            revision = current_revision(engine)
        except StorageError as err:
            return HealthReport(
                ok=False,
                database_ok=False,
                schema_revision=None,
                schema_head=expected,
                detail=str(err),
            )
        if revision != expected:
            return HealthReport(
                ok=False,
                database_ok=True,
                schema_revision=revision,
                schema_head=expected,
                detail=f"database schema is at {revision or 'none'}, expected {expected}",
            )
        return HealthReport(
            ok=True, database_ok=True, schema_revision=revision, schema_head=expected
        )

    def probe() -> asyncio.Future[HealthReport]:
        return asyncio.ensure_future(asyncio.to_thread(probe_sync))

    return probe


def deadlines_job(workflow: Workflow, notifier: Notifier) -> Callable[[], Awaitable[None]]:
    """Return the job that records due escalations and hands them to the notifier."""

    async def run() -> None:
        plan = await asyncio.to_thread(workflow.escalate)
        for item in plan.send_now:
            notifier.escalation(item)

    return run


def registered_jobs(config: Config, *, workflow: Workflow, notifier: Notifier) -> list[JobSpec]:
    """Collect the periodic jobs of every package."""
    return [
        JobSpec(
            name="deadlines",
            func=deadlines_job(workflow, notifier),
            interval_seconds=config.scheduler.deadlines_interval,
        ),
    ]


async def serve(
    config: Config,
    *,
    host: str,
    port: int,
    stop: asyncio.Event,
    on_listening: Callable[[Listening], None],
) -> None:
    """Run the web application and the scheduler until ``stop`` is set."""
    engine = create_engine_for(config.database.url)
    sessions = make_sessionmaker(engine)
    await asyncio.to_thread(bootstrap, config, sessions)
    workflow = Workflow(
        sessionmaker=sessions,
        clock=lambda: datetime.now(UTC),
        routing=build_routing(config),
    )
    scheduler = build_scheduler(
        registered_jobs(config, workflow=workflow, notifier=LoggingNotifier())
    )
    app = create_app(site_info=site_info(config), health_probe=make_health_probe(engine))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
        bound_port = int(runner.addresses[0][1]) if runner.addresses else port
        on_listening(Listening(host=host, port=bound_port))
        scheduler.start()
        try:
            await stop.wait()
        finally:
            scheduler.shutdown(wait=False)
    finally:
        await runner.cleanup()
        engine.dispose()


def install_stop_signals(stop: asyncio.Event) -> None:
    """Set ``stop`` on SIGINT and SIGTERM (where the platform supports it)."""
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):  # pragma: no cover - Windows
            log.debug("cannot install handler for %s", sig)
