"""Builds the running service from its configuration: database, web app and scheduler."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import functools
import hashlib
import logging
import signal
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
from aiohttp import web
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from prometheus_client import CollectorRegistry
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from app import __version__
from app.backlog import Backlog, BacklogMonitor, SkippedRunFilter
from app.bootstrap import bootstrap
from app.collect import CollectService, build_vk_pool, poller_options, summary_line
from app.collect_networks import NetworkCollectService, build_pollers, network_intervals
from app.config import Config
from app.daemon import JobRunner, JobSpec, build_scheduler
from app.jobs import housekeeping_jobs
from app.leases import JobLeases, process_owner_id
from app.metrics import DatabaseCollector, Metrics, VkClientCounters
from app.notify import LoggingNotifier, Notifier
from app.outage import DatabaseOutage, DatabaseStatus, database_unreachable
from app.overview import make_overview_provider
from app.pipeline import Pipeline, RunReport, TextClassifier
from app.publish import publish_jobs
from app.routing import Routing, build_jurisdiction, build_routing
from app.web_workers import WorkerPool
from app.workflow import Workflow
from app.workspace import build_workspace
from classifier.pipeline import LemmatizerLike
from storage.db import create_engine_for, make_sessionmaker
from storage.errors import StorageError
from storage.migrate import current_revision, head
from storage.repositories.jobs import JobLeaseRepository
from storage.repositories.sources import SourceRepository
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


def make_health_probe(
    engine: Engine, *, backlog: Callable[[], Backlog | None] | None = None
) -> Callable[[], asyncio.Future[HealthReport]]:
    """Return a coroutine factory that checks the database and its schema revision.

    ``backlog`` gives the process job's latest backlog figures, reported beside the health.
    """
    expected = head()

    def probe_sync() -> HealthReport:
        report = _probe_database()
        last = backlog() if backlog is not None else None
        if last is None:
            return report
        return dataclasses.replace(report, backlog=last.to_json())

    def _probe_database() -> HealthReport:
        try:
            revision = current_revision(engine)
        except StorageError as err:
            reason = database_unreachable(err)
            return HealthReport(
                ok=False,
                database_ok=False,
                schema_revision=None,
                schema_head=expected,
                detail=f"database unreachable: {reason}" if reason is not None else str(err),
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


def collect_job(
    config: Config,
    service: CollectService | None,
    networks: NetworkCollectService | None = None,
    *,
    metrics: Metrics | None = None,
) -> Callable[[], Awaitable[None]]:
    """Return the job that polls the sources due now: VK (quietly nothing when VK is off), then
    the OK, Telegram and file sources of ``networks``."""

    async def run() -> None:
        outcomes = []
        if service is not None and config.networks.vk.enabled:
            outcomes += await service.collect(due_only=True)
        if networks is not None:
            outcomes += await networks.collect(due_only=True)
        if metrics is not None:
            metrics.observe_collect(outcomes)
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

    def reset(self) -> None:
        """Forget the pipeline, so that the next ``get`` builds it again (a new model)."""
        self.pipeline = None
        self._last_try = None

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


#: Messages the ``process`` job handles per worker-thread call (see :func:`process_job`).
PROCESS_CHUNK = 50


def add_reports(first: RunReport, second: RunReport) -> RunReport:
    """Return the report of two consecutive pipeline runs taken together."""
    return RunReport(
        classified=first.classified + second.classified,
        complaints=first.complaints + second.complaints,
        created=first.created + second.created,
        attached=first.attached + second.attached,
        routed_auto=first.routed_auto + second.routed_auto,
        triage=first.triage + second.triage,
        dropped=dict(collections.Counter(first.dropped) + collections.Counter(second.dropped)),
        errors=dict(collections.Counter(first.errors) + collections.Counter(second.errors)),
        seconds=first.seconds + second.seconds,
    )


def process_job(
    pipeline: Pipeline | PipelineSlot,
    *,
    limit: int | None = None,
    metrics: Metrics | None = None,
    backlog: BacklogHolder | None = None,
) -> Callable[[], Awaitable[None]]:
    """Return the job that runs the pipeline over the messages stored since its last run.

    With ``backlog``, the backlog is measured before and after each run (``app.backlog``):
    one line when the stage falls behind, one when it catches up, the figures for /health.
    """
    slot = pipeline if isinstance(pipeline, PipelineSlot) else PipelineSlot(lambda: pipeline)

    async def run() -> None:
        current = await asyncio.to_thread(slot.get)
        if current is None:
            return
        monitor = backlog.monitor_for(current) if backlog is not None else None
        version = current.classifier.version
        if monitor is not None:
            await asyncio.to_thread(monitor.check, version)
        # A short batch per worker-thread call: a shutdown (which cancels this task) waits
        # for that batch to commit, not for the whole backlog, and gives the job's lease back
        # only then, so no other process starts on the same messages meanwhile.
        chunk = min(PROCESS_CHUNK, current.batch_size)
        if limit is not None:
            chunk = min(chunk, limit)
        done = 0
        total = RunReport()
        while True:
            batch = asyncio.ensure_future(asyncio.to_thread(current.run_once, chunk))
            try:
                report = await asyncio.shield(batch)
            except asyncio.CancelledError:
                await batch
                raise
            if metrics is not None:
                metrics.observe_pipeline(report)
            total = add_reports(total, report)
            done += report.classified
            if report.errors or report.classified < chunk or (limit is not None and done >= limit):
                break
        # One line a run, however many chunks it took (a backlog is reported by app.backlog).
        if total.errors:
            log.warning("process: %s", "; ".join(total.lines()))
        elif total.classified or total.triage:
            log.info("process: %s", "; ".join(total.lines()))
        if monitor is not None:
            await asyncio.to_thread(monitor.check, version)

    return run


def _classifier_of(
    pipeline: Pipeline | PipelineSlot | None,
) -> Callable[[], TextClassifier | None] | None:
    """Return how to get the pipeline's classifier now (None without a pipeline)."""
    if pipeline is None:
        return None

    def current() -> TextClassifier | None:
        built = pipeline.get() if isinstance(pipeline, PipelineSlot) else pipeline
        return None if built is None else built.classifier

    return current


class BacklogHolder:
    """The process job's backlog monitor, made for the pipeline once it is loaded."""

    def __init__(self, *, max_age: timedelta) -> None:
        """Call the stage behind when its oldest waiting message is older than ``max_age``."""
        self.max_age = max_age
        self.monitor: BacklogMonitor | None = None

    def monitor_for(self, pipeline: Pipeline) -> BacklogMonitor:
        """Return the monitor (behind beyond one batch waiting, or ``max_age``)."""
        if self.monitor is None or self.monitor.sessions is not pipeline.sessions:
            self.monitor = BacklogMonitor(
                sessions=pipeline.sessions,
                clock=pipeline.now,
                max_messages=pipeline.batch_size,
                max_age=self.max_age,
            )
        return self.monitor

    def last(self) -> Backlog | None:
        """Return the latest figures (None before the first run)."""
        return self.monitor.last if self.monitor is not None else None


def registered_jobs(
    config: Config,
    *,
    workflow: Workflow,
    notifier: Notifier,
    collector: CollectService | None = None,
    pipeline: Pipeline | PipelineSlot | None = None,
    sessions: sessionmaker[Session] | None = None,
    clock: Callable[[], datetime] | None = None,
    http: aiohttp.ClientSession | None = None,
    metrics: Metrics | None = None,
    lemma: Callable[[str], str] | None = None,
    networks: NetworkCollectService | None = None,
    backlog: BacklogHolder | None = None,
) -> list[JobSpec]:
    """Collect the periodic jobs of every package: collect, process, deadlines, publish.

    With ``sessions``, also the housekeeping jobs of app/jobs.py (follow-up and the rest);
    with ``metrics``, every job's runs are timed.
    """
    jobs = [
        JobSpec(
            name="collect",
            func=collect_job(config, collector, networks, metrics=metrics),
            interval_seconds=config.scheduler.collect_interval,
            exclusive=False,  # sources are leased one by one: processes share the polling
        ),
    ]
    if pipeline is not None:
        jobs.append(
            JobSpec(
                name="process",
                func=process_job(pipeline, metrics=metrics, backlog=backlog),
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
    if sessions is not None:
        jobs += housekeeping_jobs(
            config,
            sessions=sessions,
            workflow=workflow,
            clock=clock or utc_clock,
            collector=collector,
            http=http,
            lemma=lemma,
            classifier=_classifier_of(pipeline),
            reload_model=pipeline.reset if isinstance(pipeline, PipelineSlot) else None,
        )
    return jobs if metrics is None else metrics.instrument(jobs)


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
    networks: NetworkCollectService | None = None
    runner: JobRunner | None = None


def build_metrics(
    config: Config, *, sessions: sessionmaker[Session], clock: Callable[[], datetime]
) -> tuple[CollectorRegistry | None, Metrics | None, dict[str, int] | None]:
    """Build this process's metrics registry (None when ``metrics.enabled`` is off).

    Returns the registry for ``/metrics``, the metrics the jobs update, and the mapping the VK
    clients count their calls and errors in.
    """
    if not config.metrics.enabled:
        return None, None, None
    registry = CollectorRegistry()
    vk_counters: dict[str, int] = collections.Counter()
    registry.register(VkClientCounters(vk_counters))
    registry.register(DatabaseCollector(sessions, clock))
    return registry, Metrics(registry), vk_counters


#: Seconds a stopping service waits for the job runs in flight before cancelling them; the
#: whole shutdown stays under 10 s (the usual stop timeout of service managers).
SHUTDOWN_GRACE = 6.0


def give_back_leases(sessions: sessionmaker[Session], owner: str) -> int:
    """Release every source, collector-state and job lease ``owner`` holds; return how many."""
    with sessions.begin() as session:
        freed = SourceRepository(session).release_owned([owner])
        freed += JobLeaseRepository(session).release_owned([owner])
    return freed


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
    registry, metrics, vk_counters = build_metrics(config, sessions=sessions, clock=clock)
    owner = process_owner_id()
    lease_seconds = float(config.scheduler.lease_seconds)
    collector: CollectService | None = None
    if config.networks.vk.enabled:
        pool = build_vk_pool(config.networks.vk, session=http, metrics=vk_counters)
        if pool is not None:
            collector = CollectService(
                sessions=sessions,
                api=pool,
                owner=owner,
                lease_seconds=lease_seconds,
                poller_options=poller_options(config),
                search_keywords=config.networks.vk.search_keywords,
                search_interval=float(config.networks.vk.search_interval),
            )
    # OK polls are paced (about a second a request), so their sources keep the longer default
    # lease; the owner is shared, so a restart frees them like the VK ones.
    networks = NetworkCollectService(
        sessions=sessions,
        pollers=build_pollers(config, http=http, clock=clock),
        intervals=network_intervals(config),
        owner=owner,
    )
    job_runner = JobRunner(
        leases=JobLeases(sessions, owner=owner, clock=clock, lease_seconds=lease_seconds),
        outage=DatabaseOutage(),
    )
    backlog = BacklogHolder(max_age=timedelta(seconds=2 * config.scheduler.classify_interval))
    jobs = registered_jobs(
        config,
        workflow=workflow,
        notifier=LoggingNotifier(),
        collector=collector,
        pipeline=pipeline,
        sessions=sessions,
        clock=clock,
        http=http,
        metrics=metrics,
        lemma=getattr(lemmatizer, "lemma", None),  # the given Lemmatizer's, else loaded lazily
        networks=networks,
        backlog=backlog,
    )
    scheduler = build_scheduler(jobs, job_runner)
    app = create_app(
        site_info=site_info(config),
        health_probe=make_health_probe(engine, backlog=backlog.last),
        overview=make_overview_provider(sessions),
        metrics=registry,
        availability=DatabaseStatus(engine),
        workspace=build_workspace(config, sessions=sessions, workflow=workflow, clock=clock),
    )
    runner = web.AppRunner(app, access_log=None)
    workers: WorkerPool | None = None
    supervisor: asyncio.Task[None] | None = None
    try:
        await runner.setup()
        # With extra web processes every listener shares the port (app/web_workers.py).
        several = config.web.workers > 1
        site = web.TCPSite(runner, host, port, reuse_port=several or None)
        await site.start()
        bound_port = int(runner.addresses[0][1]) if runner.addresses else port
        if several:
            workers = WorkerPool(config, host, bound_port, config.web.workers - 1)
            workers.start()
            supervisor = asyncio.create_task(workers.supervise(stop))
        on_listening(Listening(host=host, port=bound_port))
        if on_started is not None:
            on_started(Service(sessions, workflow, pipeline, collector, jobs, networks, job_runner))
        # The backlog monitor reports a stage that is behind; the scheduler's "skipped" line
        # at every interval would only repeat it.
        skipped = SkippedRunFilter(("process",))
        scheduler_log = logging.getLogger("apscheduler.scheduler")
        scheduler_log.addFilter(skipped)
        scheduler.start()
        try:
            await stop.wait()
        finally:
            await shut_down(scheduler, job_runner, sessions, owner)
            scheduler_log.removeFilter(skipped)
    finally:
        if supervisor is not None:
            supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await supervisor
        if workers is not None:
            await asyncio.to_thread(workers.stop)
        await runner.cleanup()
        await http.close()
        engine.dispose()


async def shut_down(
    scheduler: AsyncIOScheduler, runner: JobRunner, sessions: sessionmaker[Session], owner: str
) -> None:
    """Stop the jobs: no new runs, wait for those in flight, give every lease back.

    The scheduler is shut down only after the drain: shutting it down cancels the runs in
    flight at once.
    """
    scheduler.pause()
    cancelled = await runner.drain(SHUTDOWN_GRACE)
    scheduler.shutdown(wait=False)
    try:
        freed = await asyncio.to_thread(give_back_leases, sessions, owner)
    except Exception as err:  # the database is gone: the leases run out on their own
        log.warning("stopping: leases not given back (%s); they run out by themselves", err)
        freed = 0
    log.info("stopped: %d job run(s) cancelled, %d lease(s) given back", cancelled, freed)


def install_stop_signals(stop: asyncio.Event) -> None:
    """Set ``stop`` on SIGINT and SIGTERM (where the platform supports it)."""
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):  # pragma: no cover - Windows
            log.debug("cannot install handler for %s", sig)
