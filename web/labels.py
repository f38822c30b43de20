"""Russian names of the workflow states and priorities, as operators read them."""

from __future__ import annotations

STATUS_LABELS: dict[str, str] = {
    "new": "новый",
    "triage": "на разборе",
    "assigned": "назначен",
    "in_progress": "в работе",
    "answered": "ответ получен",
    "approved": "ответ одобрен",
    "published": "ответ опубликован",
    "closed": "закрыт",
    "returned": "возвращён исполнителем",
    "rework": "на доработке",
    "rejected": "отклонён",
    "merged": "объединён",
    "reopened": "переоткрыт",
}

PRIORITY_LABELS: dict[str, str] = {
    "low": "низкий",
    "normal": "обычный",
    "high": "высокий",
    "urgent": "срочный",
}


def status_label(status: str) -> str:
    """Return the Russian name of a workflow state (the code itself if unknown)."""
    return STATUS_LABELS.get(status, status)


def priority_label(priority: str) -> str:
    """Return the Russian name of a priority (the code itself if unknown)."""
    return PRIORITY_LABELS.get(priority, priority)
