"""Reading the queue's query string and the action forms into contracts (shared with the API).

Each bad value is a BadRequest naming its field, never a 500.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from multidict import MultiDictProxy, MultiMapping

from web.contracts import ActionName, ActionRequest, QueueFilter, QueueSort, SlaState
from web.errors import BadRequest

__all__ = ["FILTER_FIELDS", "parse_action", "parse_filter", "parse_ids"]

#: The queue's query parameters (the pages and the API read the same ones).
FILTER_FIELDS = (
    "state",
    "topic_group",
    "topic",
    "municipality",
    "executor",
    "sla",
    "network",
    "source",
    "priority",
    "from",
    "to",
    "q",
    "sort",
    "cursor",
    "limit",
)

_MAX_TEXT = 200


def _one(values: Mapping[str, str], name: str) -> str | None:
    value = values.get(name)
    if value is None:
        return None
    value = value.strip()
    return value or None


def _int(value: str | None, name: str, *, low: int = 1, high: int = 2**62) -> int | None:
    if value is None:
        return None
    try:
        number = int(value)
    except ValueError:
        raise BadRequest(f"{name}: ожидается целое число", field=name) from None
    if not low <= number <= high:
        raise BadRequest(f"{name}: число вне допустимых пределов", field=name)
    return number


def _day(value: str | None, name: str, zone: ZoneInfo, *, end: bool) -> datetime | None:
    if value is None:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise BadRequest(f"{name}: ожидается дата ГГГГ-ММ-ДД", field=name) from None
    if end:
        day += timedelta(days=1)
    return datetime.combine(day, time(), zone)


def parse_filter(
    query: MultiMapping[str], *, timezone: str, default_sort: QueueSort = QueueSort.PRIORITY
) -> QueueFilter:
    """Read the queue's filters from a query string; dates are days in the region's zone."""
    zone = ZoneInfo(timezone)
    states = tuple(s.strip() for s in query.getall("state", []) if s.strip())
    sort_text = _one(query, "sort")
    try:
        sort = QueueSort(sort_text) if sort_text else default_sort
    except ValueError:
        raise BadRequest("sort: priority, deadline или received", field="sort") from None
    sla_text = _one(query, "sla")
    try:
        sla = SlaState(sla_text) if sla_text else None
    except ValueError:
        raise BadRequest("sla: ok, at_risk, overdue или late", field="sla") from None
    text = _one(query, "q")
    if text is not None and len(text) > _MAX_TEXT:
        raise BadRequest(f"q: не длиннее {_MAX_TEXT} символов", field="q")
    return QueueFilter(
        states=states,
        topic_group=_one(query, "topic_group"),
        topic=_one(query, "topic"),
        municipality=_one(query, "municipality"),
        executor=_one(query, "executor"),
        sla=sla,
        network=_one(query, "network"),
        source=_int(_one(query, "source"), "source"),
        priority=_one(query, "priority"),
        received_from=_day(_one(query, "from"), "from", zone, end=False),
        received_to=_day(_one(query, "to"), "to", zone, end=True),
        text=text,
        sort=sort,
        cursor=_one(query, "cursor"),
        limit=_int(_one(query, "limit"), "limit", high=200) or 50,
    )


def parse_ids(values: list[str], name: str = "ids") -> tuple[int, ...]:
    """Read a list of positive ids."""
    ids = []
    for value in values:
        number = _int(value.strip(), name)
        if number is not None:
            ids.append(number)
    return tuple(dict.fromkeys(ids))


def parse_action(action: str, form: MultiDictProxy[str]) -> ActionRequest:
    """Read one action's form: the version the page showed and the action's fields."""
    try:
        name = ActionName(action)
    except ValueError:
        raise BadRequest(f"неизвестное действие {action[:40]!r}", field="action") from None
    version = _int(_one(form, "version"), "version")
    if version is None:
        raise BadRequest("version: не указана версия инцидента", field="version")
    return ActionRequest(
        action=name,
        version=version,
        reason=form.get("reason", "").strip(),
        executor=_one(form, "executor"),
        into=_one(form, "into"),
        message_ids=parse_ids(form.getall("message_id", []), "message_id"),
        topic_group=_one(form, "topic_group"),
        topic=_one(form, "topic"),
        municipality=_one(form, "municipality"),
        resolution=_one(form, "resolution"),
        text=form.get("text", "").strip(),
        interim=form.get("interim") in ("1", "on", "true"),
        return_kind=_one(form, "return_kind"),
    )
