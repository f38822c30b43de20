"""The ``retention`` job: personal data of old messages is removed, the record of work stays.

Messages older than ``retention.personal_data_days`` whose incidents all ended (closed, rejected,
merged) that long ago, and processed messages that old linked to no incident, lose their author,
text, link, geotag and earlier versions; ``messages.anonymised_at`` records when. Incidents, their
counters (messages, authors, reach), classifications and the append-only event log are kept, so
reports stay reproducible. Runs in batches, each its own transaction; a run that stops halfway
goes on from where it stopped.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from app.config import RetentionConfig
from app.daemon import JobSpec
from storage.repositories.housekeeping import HousekeepingRepository

__all__ = ["anonymise_expired", "retention_jobs"]

log = logging.getLogger(__name__)


def anonymise_expired(
    sessions: sessionmaker[Session],
    *,
    days: int,
    batch: int,
    clock: Callable[[], datetime],
    max_batches: int | None = None,
) -> int:
    """Anonymise every expired message, ``batch`` per transaction; return how many."""
    total = 0
    done = 0
    while max_batches is None or done < max_batches:
        now = clock()
        with sessions.begin() as session:
            repo = HousekeepingRepository(session)
            ids = repo.expired_messages(before=now - timedelta(days=days), limit=batch)
            total += repo.anonymise(ids, now=now)
        done += 1
        if len(ids) < batch:
            break
    return total


def retention_jobs(
    config: RetentionConfig, *, sessions: sessionmaker[Session], clock: Callable[[], datetime]
) -> list[JobSpec]:
    """Return the ``retention`` job (none while ``retention.personal_data_days`` is unset)."""
    days = config.personal_data_days
    if days is None:
        return []

    async def run() -> None:
        count = await asyncio.to_thread(
            anonymise_expired, sessions, days=days, batch=config.batch, clock=clock
        )
        if count:
            log.info("retention: %d messages older than %d days anonymised", count, days)

    job: Callable[[], Awaitable[None]] = run
    return [JobSpec(name="retention", func=job, interval_seconds=config.interval)]
