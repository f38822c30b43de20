"""The queue table's rows, rendered in Python (the queue page's main template cost).

Fifty rows of about fifteen cells each were some 2 700 template steps and 1 200 escapes a
page: most of the queue page's CPU in bench/profile_web_request.py. One f-string a row writes
the same markup the template loop wrote; every text from the database goes through
``markupsafe.escape`` (titles and names are citizens' and operators' text).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from datetime import datetime
from zoneinfo import ZoneInfo

from markupsafe import Markup, escape

from web.contracts import QueueRow
from web.labels import priority_label, status_label

__all__ = ["queue_rows"]

_TIME = "%d.%m.%Y %H:%M"


def _local(moment: datetime | None, zone: ZoneInfo) -> str:
    return "—" if moment is None else moment.astimezone(zone).strftime(_TIME)


@functools.lru_cache(maxsize=64)
def _status(status: str) -> str:
    return str(escape(status_label(status)))


@functools.lru_cache(maxsize=64)
def _priority(priority: str) -> tuple[str, str]:
    """The priority's escaped code (for the classes) and its escaped Russian label."""
    return str(escape(priority)), str(escape(priority_label(priority)))


@functools.lru_cache(maxsize=1024)
def _name(text: str) -> str:
    """A repeated name escaped once: topics, municipalities, executors and SLA labels recur on
    every page (titles and numbers do not, and are escaped each time)."""
    return str(escape(text))


def queue_rows(
    rows: Iterable[QueueRow], *, bulk: bool, zone: ZoneInfo, sla_labels: Mapping[str, str]
) -> Markup:
    """Return the ``<tr>`` elements of the queue table (``bulk``: with the tick boxes)."""
    parts = []
    for r in rows:
        number = escape(r.public_number)
        priority, priority_name = _priority(r.priority)
        sla = _name(r.sla) if r.sla else ""
        tick = (
            f'<td><input type="checkbox" name="id" value="{r.id:d}" aria-label="отметить '
            f'{number}"><input type="hidden" name="v{r.id:d}" value="{r.version:d}"></td>'
            if bulk
            else ""
        )
        badge = (
            f' <span class="badge sla-{sla}">{_name(sla_labels.get(r.sla, r.sla))}</span>'
            if r.sla
            else ""
        )
        parts.append(
            f'\n<tr data-href="/incidents/{r.id:d}" class="{"sla-" + sla if sla else ""} '
            f'prio-{priority}">\n'
            f"  {tick}\n"
            f'  <td><a href="/incidents/{r.id:d}">{number}</a></td>\n'
            f"  <td>{_local(r.created_at, zone)}</td>\n"
            f"  <td>{_status(r.status)}</td>\n"
            f'  <td><span class="badge prio-{priority}">{priority_name}</span></td>\n'
            f'  <td class="title">{escape(r.title)}</td>\n'
            f"  <td>{_name(r.topic or r.topic_group or '—')}</td>\n"
            f"  <td>{_name(r.municipality or '—')}</td>\n"
            f"  <td>{r.message_count:d} / {r.author_count:d}</td>\n"
            f"  <td>{_name(r.executor_name or '—')}</td>\n"
            f"  <td>{_local(r.deadline_at, zone)}{badge}</td>\n"
            "</tr>\n"
        )
    return Markup("".join(parts))  # noqa: S704 - every text above is escaped or an integer
