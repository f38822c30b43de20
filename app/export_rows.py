"""The filtered queue as an ``app.tabular.Table`` whose rows are read from the database lazily.

The rows are a generator over the queue repository in keyset chunks (the same query, filters
and viewer scope as the queue page; no OFFSET, never all rows at once), each chunk in its own
short session, with the chunk's first messages fetched in one more query. Filters are checked
when the table is made, so a bad filter is refused before an export starts streaming.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from urllib.parse import quote

from sqlalchemy.orm import Session, sessionmaker

from app.queries import queue_query, viewer_scope
from app.tabular import Column, Table
from storage.repositories.first_messages import first_messages
from storage.repositories.queue import QueueQuery, QueueRepository, QueueResult
from web.contracts import QueueFilter, Viewer
from web.filters import NETWORK_LABELS, SLA_LABELS
from web.labels import priority_label, status_label

__all__ = ["CHUNK", "QUEUE_COLUMNS", "TEXT_LIMIT", "queue_table"]

#: Incidents read per query.
CHUNK = 500

#: The first message's text is cut to this many characters (the link leads to the whole post).
TEXT_LIMIT = 1000

QUEUE_COLUMNS: tuple[Column, ...] = (
    Column("id", "ID", "int"),
    Column("number", "Номер"),
    Column("state", "Состояние"),
    Column("received", "Получен", "datetime"),
    Column("topic_group", "Группа тем"),
    Column("topic", "Тема"),
    Column("municipality", "Муниципалитет"),
    Column("executor", "Исполнитель"),
    Column("deadline", "Срок", "datetime"),
    Column("sla", "Соблюдение срока"),
    Column("priority", "Приоритет"),
    Column("network", "Соцсеть"),
    Column("source", "Источник"),
    Column("text", "Первое сообщение"),
    Column("link", "Ссылка на сообщение", "url"),
    Column("page", "Карточка инцидента", "url"),
)


def _sla(result: QueueResult, now: datetime) -> str | None:
    """The queue's SLA mark: only a running clock (received) is on time, at risk or late."""
    if result.assignment_status is None or result.assignment_status.value != "received":
        return None
    if result.deadline_at is None:
        return None
    if result.deadline_at <= now:
        return SLA_LABELS["overdue"]
    if result.at_risk_at is not None and result.at_risk_at <= now:
        return SLA_LABELS["at_risk"]
    return SLA_LABELS["ok"]


def _cut(text: str, cut: bool) -> str:
    text = " ".join(text.split())
    if len(text) > TEXT_LIMIT:
        return text[: TEXT_LIMIT - 1] + "…"
    return text + "…" if cut else text


def _rows(
    sessions: sessionmaker[Session],
    query: QueueQuery,
    scope: str | None,
    page_url: Callable[[int], str] | None,
    chunk: int,
) -> Iterator[Sequence[object]]:
    step = dataclasses.replace(query, after=None, limit=chunk)
    while True:
        with sessions() as session:
            found = QueueRepository(session).queue(step, executor=scope)
            page = found[:chunk]
            # Twice the limit: collapsing whitespace may shorten what is read.
            firsts = first_messages(session, [r.id for r in page], text_limit=2 * TEXT_LIMIT)
        for result in page:
            first = firsts.get(result.id)
            row: tuple[object, ...] = (
                result.id,
                result.public_number,
                status_label(result.status.value),
                result.created_at,
                result.topic_group,
                result.topic,
                result.municipality,
                result.executor_name,
                result.deadline_at,
                _sla(result, query.now),
                priority_label(result.priority.value),
                NETWORK_LABELS.get(first.network.value, first.network.value) if first else None,
                first.source_title if first else None,
                _cut(first.text, first.cut) if first else None,
                first.url if first else None,
            )
            yield (*row, page_url(result.id)) if page_url else row
        if len(found) <= chunk:
            return
        step = dataclasses.replace(step, after=page[-1].keys)


def queue_table(
    sessions: sessionmaker[Session],
    viewer: Viewer,
    filters: QueueFilter,
    *,
    now: datetime,
    public_url: str | None = None,
    chunk: int = CHUNK,
) -> Table:
    """Return the viewer's filtered queue as a table (every page of it, read lazily).

    The cursor and page size of ``filters`` are ignored: an export starts at the top and runs
    to the end. BadRequest for a bad filter and NotFound for an executor's user without an
    executor are raised here, before any row is read.
    """
    query = queue_query(dataclasses.replace(filters, cursor=None, limit=1), now)
    scope = viewer_scope(viewer)
    page_url: Callable[[int], str] | None = None
    if public_url:
        base = public_url.rstrip("/")

        def page_url(incident_id: int) -> str:
            return f"{base}/incidents/{quote(str(incident_id))}"

    return Table(
        name="incidents",
        title="Инциденты",
        # The incident page's address only when the site's public address is configured.
        columns=QUEUE_COLUMNS if page_url else QUEUE_COLUMNS[:-1],
        rows=_rows(sessions, query, scope, page_url, chunk),
    )
