"""Builds the running service from its configuration: database, web app and scheduler."""

from __future__ import annotations

import asyncio
import functools
import hashlib
import logging
import signal
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
from aiohttp import web
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from app import __version__
from app.bootstrap import bootstrap
from app.collect import CollectService, build_vk_pool, summary_line
from app.config import Config
from app.daemon import JobSpec, build_scheduler
from app.notify import LoggingNotifier, Notifier
from app.overview import make_overview_provider
from app.pipeline import Pipeline, TextClassifier
from app.publish import publish_jobs
from app.routing import Routing, build_jurisdiction, build_routing
from app.workflow import Workflow
from classifier.pipeline import LemmatizerLike
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


class CalendarWatch:
    """Notices a change of the configured calendar file: its mtime, then its content hash.

    A touch that leaves the content as it was is not a change.
    """

    def __init__(self, path: Path | None) -> None:
        """Remember the file's current state (nothing to watch when ``path`` is None)."""
        self.path = path
        self._mtime, self._digest = self._state()

    def _state(self) -> tuple[int | None, str | None]:
        if self.path is None:
            return None, None
        try:
            mtime = self.path.stat().st_mtime_ns
            digest = hashlib.sha256(self.path.read_bytes()).hexdigest()
        except OSError:
            return None, None
        return mtime, digest

    def changed(self) -> bool:
        """Return whether the file's content changed since the last look (and remember it)."""
        if self.path is None:
            return False
        try:
            mtime: int | None = self.path.stat().st_mtime_ns
        except OSError:
            mtime = None
        if mtime == self._mtime:
            return False
        before = self._digest
        self._mtime, self._digest = self._state()
        return self._digest != before


def deadlines_job(
    workflow: Workflow,
    notifier: Notifier,
    *,
    calendar: CalendarWatch | None = None,
    reload: Callable[[], Routing] | None = None,
) -> Callable[[], Awaitable[None]]:
    """Return the job that records due escalations and hands them to the notifier.

    With a ``calendar`` watch and a ``reload`` (the routing built again, which reads the
    calendar file again), a changed calendar file first recomputes the open deadlines. A file
    that no longer loads is logged, and the previous calendar stays in force.
    """

    async def run() -> None:
        if calendar is not None and reload is not None and calendar.changed():
            try:
                routing = reload()
            except Exception:
                log.exception("deadlines: the changed calendar %s does not load", calendar.path)
            else:
                moved = await asyncio.to_thread(workflow.recompute_deadlines, routing)
                log.info(
                    "deadlines: calendar %s changed; %d open deadlines moved",
                    calendar.path,
                    moved,
                )
        plan = await asyncio.to_thread(workflow.escalate)
        for item in plan.send_now:
            notifier.escalation(item)

    return run


def collect_job(config: Config, service: CollectService | None) -> Callable[[], Awaitable[None]]:
    """Return the job that polls the VK sources due now (quietly nothing when VK is off)."""

    async def run() -> None:
        if service is None or not config.networks.vk.enabled:
            return
        outcomes = await service.collect(due_only=True)
        if outcomes:
            failed = any(not o.ok for o in outcomes)
            log.log(
                logging.WARNING if failed else logging.INFO, "collect: %s", summary_line(outcomes)
            )

    return run


class PipelineSlot:
    """Holds the pipeline, or builds it on first use (and again after a failed build).

    The daemon starts without waiting for the model: a model being retrained, or not there yet,
    leaves messages waiting, and a later run loads it.
    """

    def __init__(self, build: Callable[[], Pipeline | None], *, retry_seconds: float = 300) -> None:
        """Call ``build`` until it returns a pipeline, at most once per ``retry_seconds``."""
        self._build = build
        self._retry = retry_seconds
        self._last_try: float | None = None
        self.pipeline: Pipeline | None = None

    def get(self) -> Pipeline | None:
        """Return the pipeline, building it if needed (None while it cannot be built)."""
        if self.pipeline is None:
            now = time.monotonic()
            if self._last_try is None or now - self._last_try >= self._retry:
                self._last_try = now
                self.pipeline = self._build()
        return self.pipeline


def recompute_at_start(workflow: Workflow, config: Config) -> int:
    """Recompute open deadlines under the configuration as it is now; return how many moved.

    Schedules and the calendar may have changed while the service was stopped (an edited
    config.yaml, a new calendar file); running clocks must follow. Unchanged ones stay as they
    are, so a plain restart moves nothing.
    """
    moved = workflow.recompute_deadlines(build_routing(config))
    if moved:
        log.info("deadlines recomputed at start: %d moved", moved)
    return moved


def lazy_lemmatize() -> Callable[[str], Sequence[str]]:
    """Return a lemmatising function that loads pymorphy3 only when first called.

    The workflow needs lemmas only to recount an incident's priority after a merge or split;
    loading the dictionaries at start for that alone would slow every start.
    """
    loaded: list[Callable[[str], list[str]]] = []

    def lemmatize(text: str) -> Sequence[str]:
        if not loaded:
            from classifier.lemmatizer import Lemmatizer

            loaded.append(Lemmatizer().lemmatize_text)
        return loaded[0](text)

    return lemmatize


def process_job(
    pipeline: Pipeline | PipelineSlot, *, limit: int | None = None
) -> Callable[[], Awaitable[None]]:
    """Return the job that runs the pipeline over the messages stored since its last run."""
    slot = pipeline if isinstance(pipeline, PipelineSlot) else PipelineSlot(lambda: pipeline)

    async def run() -> None:
        current = await asyncio.to_thread(slot.get)
        if current is None:
            return
        report = await asyncio.to_thread(current.run_once, limit)
        if report.errors:
            log.warning("process: %s", "; ".join(report.lines()))
        elif report.classified or report.triage:
            log.info("process: %s", "; ".join(report.lines()))

    return run


def registered_jobs(
    config: Config,
    *,
    workflow: Workflow,
    notifier: Notifier,
    collector: CollectService | None = None,
    pipeline: Pipeline | PipelineSlot | None = None,
) -> list[JobSpec]:
    """Collect the periodic jobs of every package: collect, process, deadlines."""
    jobs = [
        JobSpec(
            name="collect",
            func=collect_job(config, collector),
            interval_seconds=config.scheduler.collect_interval,
        ),
    ]
    if pipeline is not None:
        jobs.append(
            JobSpec(
                name="process",
                func=process_job(pipeline),
                interval_seconds=config.scheduler.classify_interval,
            )
        )
    jobs.append(
        JobSpec(
            name="deadlines",
            func=deadlines_job(
                workflow,
                notifier,
                calendar=CalendarWatch(config.calendar),
                reload=functools.partial(build_routing, config),
            ),
            interval_seconds=config.scheduler.deadlines_interval,
        )
    )
    jobs += publish_jobs(config, workflow=workflow, collector=collector)
    return jobs


def load_pipeline(
    config: Config,
    *,
    sessions: sessionmaker[Session],
    workflow: Workflow,
    clock: Callable[[], datetime],
    classifier: TextClassifier | None = None,
    lemmatizer: LemmatizerLike | None = None,
) -> Pipeline | None:
    """Build the pipeline (loading the shipped or trained model unless one is given).

    A model that cannot be loaded is logged and leaves the service without a ``process`` job:
    the web screens, collection and deadlines go on.
    """
    if classifier is None:
        from app.commands.classify_cmd import build_classifier
        from app.errors import CliError

        try:
            loaded = build_classifier(config, None)
        except CliError as err:
            log.error("the classifier cannot be loaded, messages wait until it can: %s", err)
            return None
        classifier, lemmatizer = loaded, lemmatizer or loaded.lemmatizer
    if lemmatizer is None:
        from classifier.lemmatizer import Lemmatizer

        lemmatizer = Lemmatizer()
    return Pipeline(
        sessionmaker=sessions,
        workflow=workflow,
        classifier=classifier,
        lemmatizer=lemmatizer,
        clock=clock,
        jurisdiction=build_jurisdiction(config),
        zone=config.region.zone,
    )


@dataclass
class Service:
    """What :func:`serve` built, handed to ``on_started`` (the demo and tests read it)."""

    sessions: sessionmaker[Session]
    workflow: Workflow
    pipeline: PipelineSlot
    collector: CollectService | None
    jobs: list[JobSpec]


def utc_clock() -> datetime:
    """Return the current time, aware UTC (the one real clock, injected everywhere)."""
    return datetime.now(UTC)


async def serve(
    config: Config,
    *,
    host: str,
    port: int,
    stop: asyncio.Event,
    on_listening: Callable[[Listening], None],
    classifier: TextClassifier | None = None,
    lemmatizer: LemmatizerLike | None = None,
    on_started: Callable[[Service], None] | None = None,
) -> None:
    """Run the web application and the scheduler until ``stop`` is set."""
    # SQLite: every transaction takes the write lock at BEGIN, so the collect and process jobs
    # (worker threads) wait for each other instead of failing to upgrade a read lock.
    engine = create_engine_for(config.database.url, sqlite_begin="IMMEDIATE")
    sessions = make_sessionmaker(engine)
    await asyncio.to_thread(bootstrap, config, sessions)
    clock = utc_clock
    workflow = Workflow(
        sessionmaker=sessions,
        clock=clock,
        routing=build_routing(config),
        lemmatize=lemmatizer.lemmatize_text if lemmatizer is not None else lazy_lemmatize(),
    )
    await asyncio.to_thread(recompute_at_start, workflow, config)
    pipeline = PipelineSlot(
        functools.partial(
            load_pipeline,
            config,
            sessions=sessions,
            workflow=workflow,
            clock=clock,
            classifier=classifier,
            lemmatizer=lemmatizer,
        )
    )
    await asyncio.to_thread(pipeline.get)  # load the model before serving, if it is there
    http = aiohttp.ClientSession()
    collector: CollectService | None = None
    if config.networks.vk.enabled:
        pool = build_vk_pool(config.networks.vk, session=http)
        if pool is not None:
            collector = CollectService(sessions=sessions, api=pool)
    jobs = registered_jobs(
        config,
        workflow=workflow,
        notifier=LoggingNotifier(),
        collector=collector,
        pipeline=pipeline,
    )
    scheduler = build_scheduler(jobs)
    app = create_app(
        site_info=site_info(config),
        health_probe=make_health_probe(engine),
        overview=make_overview_provider(sessions),
    )
    runner = web.AppRunner(app, access_log=None)
    try:
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        await site.start()
        bound_port = int(runner.addresses[0][1]) if runner.addresses else port
        on_listening(Listening(host=host, port=bound_port))
        if on_started is not None:
            on_started(Service(sessions, workflow, pipeline, collector, jobs))
        scheduler.start()
        try:
            await stop.wait()
        finally:
            scheduler.shutdown(wait=False)
    finally:
        await runner.cleanup()
        await http.close()
        engine.dispose()


def install_stop_signals(stop: asyncio.Event) -> None:
    """Set ``stop`` on SIGINT and SIGTERM (where the platform supports it)."""
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):  # pragma: no cover - Windows
            log.debug("cannot install handler for %s", sig)
