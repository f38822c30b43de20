"""Merges grouping suggested but did not make: «возможно, то же: #N (общий адрес …)».

Grouping stores a suggestion in the evidence of the link that opened an incident
(``suggested_incident_id``, ``entity``, ``entity_label``, ``confidence``; router/grouping.py).
This module reads them back for the incident page and the API, and drops those that no longer
hold: the other incident is closed, rejected or merged elsewhere, it is this incident already,
or an operator split the two apart (a split is remembered and not offered again).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy.orm import Session

from storage.enums import IncidentStatus
from storage.repositories.errors import NotFound
from storage.repositories.incidents import IncidentRepository
from web.contracts import SuggestionView

__all__ = ["SPLIT_KEYS", "pending_suggestions", "shared_label"]

#: Payload keys of a ``split`` event that name the other incident (source side, new side).
SPLIT_KEYS: tuple[str, ...] = ("split_from", "new_incident")

_ENDED = frozenset({IncidentStatus.CLOSED, IncidentStatus.REJECTED})
_SHARED = {
    "addr": "общий адрес",
    "cross": "общий перекрёсток",
    "school": "общая школа",
    "kindergarten": "общий детский сад",
    "clinic": "общая поликлиника",
    "hospital": "общая больница",
    "stop": "общая остановка",
    "route": "общий маршрут",
}


def shared_label(entity: str | None, label: str | None) -> str:
    """Say in Russian what the two incidents share: «общий адрес Чапаева, 5»."""
    kind = (entity or "").split(":", 1)[0]
    return f"{_SHARED.get(kind, 'общее место')} {label or entity or ''}".strip()


def _separated(incident_id: int, events: Iterable[tuple[str, Mapping[str, Any]]]) -> set[int]:
    found: set[int] = set()
    for kind, payload in events:
        if kind != "split":
            continue
        for key in SPLIT_KEYS:
            value = payload.get(key)
            if isinstance(value, int) and value != incident_id:
                found.add(value)
    return found


def pending_suggestions(
    session: Session,
    incident_id: int,
    evidences: Iterable[Mapping[str, Any]],
    events: Iterable[tuple[str, Mapping[str, Any]]],
) -> tuple[SuggestionView, ...]:
    """Return the suggestions of this incident's links that an operator can still accept."""
    incidents = IncidentRepository(session)
    separated = _separated(incident_id, events)
    shown: dict[int, SuggestionView] = {}
    for evidence in evidences:
        suggested = evidence.get("suggested_incident_id")
        if not isinstance(suggested, int):
            continue
        target = _current(incidents, suggested)
        if target is None or target in (incident_id, *shown) or target in separated:
            continue
        if suggested in separated:
            continue
        record = incidents.get(target)
        if record.status in _ENDED:
            continue
        confidence = evidence.get("confidence")
        shared = shared_label(evidence.get("entity"), evidence.get("entity_label"))
        shown[target] = SuggestionView(
            incident_id=target,
            public_number=record.public_number,
            entity=str(evidence.get("entity") or ""),
            shared=shared,
            confidence=float(confidence) if isinstance(confidence, int | float) else None,
            text=f"возможно, то же: #{record.public_number} ({shared})",
        )
    return tuple(shown.values())


def _current(incidents: IncidentRepository, incident_id: int) -> int | None:
    """Follow merges to the incident that now holds ``incident_id``'s messages."""
    seen: set[int] = set()
    current = incident_id
    while current not in seen:
        seen.add(current)
        try:
            record = incidents.get(current)
        except NotFound:
            return None
        if record.status is not IncidentStatus.MERGED:
            return current
        if record.merged_into_id is None:
            return None
        current = record.merged_into_id
    return None
