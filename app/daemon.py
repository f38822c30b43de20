"""The background scheduler: periodic jobs registered by each package, run under one loop."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

from apscheduler.schedulers.asyncio import AsyncIOScheduler

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class JobSpec:
    """One periodic job: an idempotent coroutine run every ``interval_seconds``."""

    name: str
    func: Callable[[], Awaitable[None]]
    interval_seconds: int


def _guarded(job: JobSpec) -> Callable[[], Awaitable[None]]:
    async def run() -> None:
        try:
            await job.func()
        except asyncio.CancelledError:
            raise
        except Exception:
            # Loop boundary: one failing run must not stop the daemon.
            log.exception("scheduled job %s failed", job.name)

    return run


def build_scheduler(jobs: Iterable[JobSpec]) -> AsyncIOScheduler:
    """Create an (unstarted) scheduler with one interval trigger per job."""
    scheduler = AsyncIOScheduler(timezone="UTC")
    for job in jobs:
        if job.interval_seconds <= 0:
            raise ValueError(f"job {job.name}: interval must be positive")
        scheduler.add_job(
            _guarded(job),
            "interval",
            seconds=job.interval_seconds,
            id=job.name,
            name=job.name,
            max_instances=1,
            coalesce=True,
        )
    return scheduler
