"""Jinja filters of the pages: local times, Russian labels, confidences."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import jinja2

from web.contracts import ACTION_LABELS, ROLE_LABELS
from web.labels import priority_label, status_label
from web.options import select_options, topic_options
from web.queue_rows import queue_rows

__all__ = ["NETWORK_LABELS", "SLA_LABELS", "evidence_groups", "install_filters"]

SLA_LABELS: Mapping[str, str] = {
    "ok": "в срок",
    "at_risk": "под угрозой",
    "overdue": "просрочен",
    "late": "ответ с опозданием",
}

_ASSIGNMENT_LABELS: Mapping[str, str] = {
    "assigned": "назначено",
    "received": "получено, срок идёт",
    "paused": "на уточнении (срок остановлен)",
    "answered": "ответ дан",
    "returned": "возвращено",
    "rerouted": "передано другому",
    "closed": "закрыто",
}

_ANSWER_LABELS: Mapping[str, str] = {
    "draft": "черновик",
    "submitted": "на проверке",
    "approved": "одобрен",
    "rework": "на доработке",
    "published": "опубликован",
}

_EVENT_LABELS: Mapping[str, str] = {
    "create": "создан",
    "attach": "добавлено сообщение",
    "triage": "на разбор",
    "assign": "назначен исполнитель",
    "accept": "принят в работу",
    "answer_interim": "промежуточный ответ",
    "answer_final": "ответ",
    "approve": "ответ одобрен",
    "send_for_rework": "на доработку",
    "publish": "ответ опубликован",
    "publish_failed": "публикация не удалась",
    "close": "закрыт",
    "return": "возвращён исполнителем",
    "reject": "отклонён",
    "merge": "объединён",
    "reopen": "переоткрыт",
    "split": "разделён",
    "set_parent": "включён в массовый инцидент",
    "locate": "муниципалитет определён по адресу",
    "reclassify": "изменены тема и муниципалитет",
    "escalate": "эскалация",
    "recompute_deadline": "срок пересчитан",
    "tombstone": "отметка «не инцидент»",
}

_RESOLUTIONS: Mapping[str, str] = {"fixed": "проблема решена", "answered_only": "только ответ"}
_KINDS: Mapping[str, str] = {"post": "пост", "comment": "комментарий"}
NETWORK_LABELS: Mapping[str, str] = {
    "vk": "ВКонтакте",
    "ok": "Одноклассники",
    "telegram": "Telegram",
    "file": "файл",
}


_EVIDENCE_FIELDS: Mapping[str, str] = {
    "complaint": "жалоба",
    "topic": "тема",
    "topic_group": "группа тем",
    "municipality": "место",
}


def evidence_groups(evidence: Mapping[str, Any]) -> list[tuple[str, list[str]]]:
    """Group a classification's evidence words by what they decided, strongest first.

    The classifier stores ``evidence`` as a list of ``{field, text, weight}`` and
    ``municipality_candidates`` as ``{name, oktmo, score}``; anything else is left out here
    (the template shows the remaining keys as they are).
    """
    groups: dict[str, list[tuple[float, str]]] = {}
    items = evidence.get("evidence")
    if isinstance(items, list):
        for item in items:
            if not isinstance(item, Mapping) or "text" not in item:
                continue
            label = _EVIDENCE_FIELDS.get(str(item.get("field")), str(item.get("field", "")))
            weight = item.get("weight")
            score = float(weight) if isinstance(weight, int | float) else 0.0
            groups.setdefault(label, []).append((score, str(item["text"])))
    candidates = evidence.get("municipality_candidates")
    if isinstance(candidates, list):
        for item in candidates:
            if isinstance(item, Mapping) and "name" in item:
                raw = item.get("score")
                value = float(raw) if isinstance(raw, int | float) else 0.0
                groups.setdefault("кандидаты места", []).append((value, str(item["name"])))
    return [
        (label, [f"{text} ({score:.2f})" for score, text in sorted(found, reverse=True)])
        for label, found in groups.items()
    ]


def install_filters(environment: jinja2.Environment, timezone: str) -> None:
    """Register the filters, with times shown in the region's zone."""
    zone = ZoneInfo(timezone)

    def local(moment: datetime | None, fmt: str = "%d.%m.%Y %H:%M") -> str:
        if moment is None:
            return "—"
        return moment.astimezone(zone).strftime(fmt)

    def label(mapping: Mapping[str, str]) -> Any:
        def lookup(value: str | None) -> str:
            if value is None:
                return "—"
            return mapping.get(value, value)

        return lookup

    def percent(value: float | None) -> str:
        return "—" if value is None else f"{round(value * 100)} %"

    def web_link(value: str | None) -> str | None:
        """Only http(s) links from the networks become hrefs (never javascript: or data:)."""
        if value and value.strip().lower().startswith(("https://", "http://")):
            return value.strip()
        return None

    environment.globals.update(
        select_options=select_options,
        topic_options=topic_options,
        queue_rows=functools.partial(queue_rows, zone=zone, sla_labels=SLA_LABELS),
    )
    environment.filters.update(
        web_link=web_link,
        evidence_groups=evidence_groups,
        local=local,
        status=status_label,
        priority=priority_label,
        sla=label(SLA_LABELS),
        action=label(ACTION_LABELS),
        role=label(ROLE_LABELS),
        assignment=label(_ASSIGNMENT_LABELS),
        answer=label(_ANSWER_LABELS),
        event=label(_EVENT_LABELS),
        resolution=label(_RESOLUTIONS),
        kind=label(_KINDS),
        network=label(NETWORK_LABELS),
        percent=percent,
    )
    environment.globals["zone_name"] = timezone
