"""The start screen's figures, read from storage and handed to web as plain values."""

from __future__ import annotations

import asyncio

from sqlalchemy.orm import Session, sessionmaker

from storage.enums import IncidentStatus
from storage.repositories.overview import OverviewRepository
from web.keys import IncidentRow, Overview, OverviewProvider

#: The order states are listed in: the workflow's main line first.
_STATUS_ORDER = [status.value for status in IncidentStatus]


def read_overview(sessions: sessionmaker[Session], *, limit: int = 20) -> Overview:
    """Read the counts by state and the latest incidents in one read session."""
    with sessions() as session:
        repository = OverviewRepository(session)
        counts = repository.incidents_by_status()
        latest = repository.latest_incidents(limit)
        messages = repository.message_count()
    by_status = tuple(
        (status.value, counts[status])
        for status in sorted(counts, key=lambda s: _STATUS_ORDER.index(s.value))
    )
    return Overview(
        messages=messages,
        by_status=by_status,
        latest=tuple(
            IncidentRow(
                number=line.public_number,
                status=line.status.value,
                priority=line.priority.value,
                title=line.title,
                topic_group=line.topic_group,
                municipality=line.municipality,
                messages=line.message_count,
                authors=line.author_count,
                created_at=line.created_at,
                executor=line.executor_name,
                deadline=line.deadline_at,
                supported=line.support_count,
            )
            for line in latest
        ),
    )


def make_overview_provider(sessions: sessionmaker[Session]) -> OverviewProvider:
    """Return the coroutine the start screen awaits (the read runs in a worker thread)."""

    async def provide() -> Overview:
        return await asyncio.to_thread(read_overview, sessions)

    return provide
