"""The background scheduler: periodic jobs registered by each package, run under one loop.

Each run of a job goes through :class:`JobRunner`: it skips the run while the database is down
(between the outage's paced attempts), takes the job's lease so that no two processes run one
job at once (unless the job is not ``exclusive``), logs a database outage once instead of a
traceback per run, and keeps track of the runs in flight so that shutdown can wait for them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, field

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from app.leases import JobLeases
from app.outage import DatabaseOutage, database_unreachable

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class JobSpec:
    """One periodic job: an idempotent coroutine run every ``interval_seconds``.

    An ``exclusive`` job runs in one process at a time across every process sharing the
    database (under a job lease). ``collect`` is not exclusive: its sources are leased one by
    one, so several processes share the polling.
    """

    name: str
    func: Callable[[], Awaitable[None]]
    interval_seconds: int
    exclusive: bool = True


class _Abandoned(Exception):
    """A job run whose body the shutdown cancelled: it ends quietly."""


@dataclass
class JobRunner:
    """Runs the jobs' single runs: outage pacing, job leases, in-flight tracking."""

    leases: JobLeases | None = None
    outage: DatabaseOutage = field(default_factory=DatabaseOutage)
    running: set[asyncio.Task[None]] = field(default_factory=set)
    #: How many runs were skipped because another process held the job (by job name).
    skipped: dict[str, int] = field(default_factory=dict)
    stopping: bool = False
    #: The job coroutines running now (what :meth:`drain` cancels).
    bodies: set[asyncio.Future[None]] = field(default_factory=set)
    #: The names of the jobs running now in this process.
    active: set[str] = field(default_factory=set)

    @contextlib.asynccontextmanager
    async def _lease(self, job: JobSpec) -> AsyncIterator[bool]:
        if self.leases is None or not job.exclusive:
            yield True
            return
        async with self.leases.hold(job.name) as held:
            yield held

    async def run(self, job: JobSpec) -> None:
        """Run ``job`` once, unless shutting down, the database is down, or another holds it."""
        if self.stopping or job.name in self.active:
            return  # a run longer than the interval: the next one starts after it, quietly
        if not self.outage.may_try():
            return
        self.active.add(job.name)
        task = asyncio.current_task()
        if task is not None:
            self.running.add(task)
        try:
            async with self._lease(job) as held:
                if not held:
                    self.skipped[job.name] = self.skipped.get(job.name, 0) + 1
                    log.debug("job %s: another process runs it now; skipped", job.name)
                else:
                    await self._body(job)
        except _Abandoned:
            log.info("job %s: abandoned at shutdown", job.name)
            return
        except asyncio.CancelledError:
            raise
        except Exception as err:
            # Loop boundary: one failing run must not stop the daemon.
            reason = database_unreachable(err)
            if reason is not None:
                self.outage.failed(reason, job.name)
            else:
                log.exception("scheduled job %s failed", job.name)
        else:
            self.outage.succeeded()
        finally:
            self.active.discard(job.name)
            if task is not None:
                self.running.discard(task)

    async def _body(self, job: JobSpec) -> None:
        """Run the job's coroutine as a task of its own, which :meth:`drain` may cancel.

        Cancelling the body, not the scheduler's task, lets a run abandoned at shutdown end
        quietly (the scheduler would log a cancelled task as a failure, with a traceback),
        while a cancellation of the run itself still propagates.
        """
        body = asyncio.ensure_future(job.func())
        self.bodies.add(body)
        try:
            await body
        except asyncio.CancelledError:
            outer = asyncio.current_task()
            if body.cancelled() and self.stopping and (outer is None or not outer.cancelling()):
                raise _Abandoned from None
            raise
        finally:
            self.bodies.discard(body)

    async def drain(self, grace: float) -> int:
        """Stop starting runs; wait up to ``grace`` s for those in flight, then cancel them.

        Returns how many runs had to be cancelled. A cancelled run gives its leases back and
        rolls back what it had not committed (its database work in a worker thread finishes
        its current transaction before the process exits).
        """
        self.stopping = True
        pending = {t for t in self.running if not t.done()}
        if not pending:
            return 0
        _, late = await asyncio.wait(pending, timeout=grace)
        if not late:
            return 0
        for body in list(self.bodies):
            body.cancel()
        _, stuck = await asyncio.wait(late, timeout=max(1.0, grace / 2))
        for task in stuck:  # e.g. still taking its lease: cancel the run itself
            task.cancel()
        return len(late)


def _guarded(job: JobSpec, runner: JobRunner) -> Callable[[], Awaitable[None]]:
    async def run() -> None:
        await runner.run(job)

    return run


def build_scheduler(jobs: Iterable[JobSpec], runner: JobRunner | None = None) -> AsyncIOScheduler:
    """Create an (unstarted) scheduler with one interval trigger per job."""
    runner = runner or JobRunner()
    scheduler = AsyncIOScheduler(timezone="UTC")
    for job in jobs:
        if job.interval_seconds <= 0:
            raise ValueError(f"job {job.name}: interval must be positive")
        scheduler.add_job(
            _guarded(job, runner),
            "interval",
            seconds=job.interval_seconds,
            id=job.name,
            name=job.name,
            # A second instance returns at once while the first runs (JobRunner.active), so
            # a run longer than the interval is not reported as "skipped" every tick.
            max_instances=2,
            coalesce=True,
        )
    return scheduler
