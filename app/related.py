"""Related, not merged: the same failure at neighbouring addresses, under one parent incident.

Grouping marks a new incident *related* to an open one when it reports the same topic on the
same street at another house, or when a comment says «у нас на ул. Щорса то же самое» under a
post that is an incident (``Evidence.related_incident_id``; router/grouping.py). Each keeps its
own messages and answers; they are linked under a parent incident the way a surge's incidents
are (app/pipeline.py, ``_apply_surge``): the related incident's parent if it has one, else a new
parent opened and routed for both. The parent is answered once for all of them.

The pipeline links a batch's related incidents together (:func:`link_related_many`): one read of
the incidents, one insert of the new parents and their ``create`` events, their routing (the
triages in one update), one update and one event insert of the ``set_parent`` links.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from app.workflow import SYSTEM, Workflow, parent_refusal
from router.grouping import GroupingIndex, IncidentHeader
from router.jurisdiction import RoutingSubject
from storage.repositories import IncidentRecord, IncidentRepository, NewIncident

__all__ = ["RelatedLink", "RelatedRequest", "RelatedSkipped", "link_related_many"]


@dataclass(frozen=True, slots=True)
class RelatedRequest:
    """A new incident to link with the open incident grouping found it related to."""

    child: IncidentRecord
    related_id: int
    shared: str  # what they share, for the parent's title (the street)
    now: datetime  # when it was decided (the parent's number)


@dataclass(frozen=True, slots=True)
class RelatedLink:
    """What linking did: the parent, and whether it was opened for this link."""

    parent_id: int
    opened: bool
    children: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class RelatedSkipped:
    """Why a link was not made (the related incident or its parent ended meanwhile)."""

    reason: str


def _parent_incident(request: RelatedRequest, related: IncidentRecord) -> NewIncident:
    child = request.child
    return NewIncident(
        public_number=f"{request.now:%Y%m%d%H%M%S}-R{child.id:07d}",
        title=f"Одна авария, несколько адресов: {request.shared}"[:200],
        summary=(f"{related.title} — и та же проблема по соседству ({child.title})")[:4000],
        topic_group=related.topic_group,
        topic=related.topic,
        municipality_oktmo=related.municipality_oktmo or child.municipality_oktmo,
    )


def link_related_many(
    *,
    workflow: Workflow,
    index: GroupingIndex,
    session: Session,
    requests: Sequence[RelatedRequest],
) -> list[RelatedLink | RelatedSkipped | None]:
    """Put each child and its related incident under one parent, in bulk; one outcome each.

    None when the related incident is the child itself; :class:`RelatedSkipped` when the
    related incident (or its parent) has ended or its parent is a child itself: nothing is
    written for that one and the child stays on its own (it is still a complete incident).
    Each request must concern other incidents than the others (the caller orders them so):
    they are read once, as stored before any of them is written.
    """
    if not requests:
        return []
    incidents = IncidentRepository(session)
    stored = incidents.get_many([r.related_id for r in requests] + [r.child.id for r in requests])
    parents_of = {rec.parent_incident_id for rec in stored.values()} - {None} - stored.keys()
    stored.update(incidents.get_many([p for p in parents_of if p is not None]))

    outcomes: list[RelatedLink | RelatedSkipped | None] = [None] * len(requests)
    to_open: list[tuple[int, IncidentRecord, IncidentRecord, NewIncident]] = []
    to_join: list[tuple[int, IncidentRecord, IncidentRecord]] = []
    for k, request in enumerate(requests):
        related, child = stored[request.related_id], stored[request.child.id]
        if related.id == child.id:
            continue
        if related.parent_incident_id is None:
            new = _parent_incident(request, related)
            refusal = parent_refusal(related, None) or parent_refusal(child, None)
            if refusal is not None:
                outcomes[k] = RelatedSkipped(refusal)
                continue
            to_open.append((k, related, child, new))
        else:
            parent = stored[related.parent_incident_id]
            refusal = parent_refusal(child, parent)
            if refusal is not None:
                outcomes[k] = RelatedSkipped(refusal)
                continue
            to_join.append((k, child, parent))

    opened = workflow.open_incidents([new for *_, new in to_open], SYSTEM, session=session)
    for parent in opened:
        index.add_incident(
            IncidentHeader(
                id=parent.id,
                topic_group=parent.topic_group,
                topic=None,
                municipality_oktmo=parent.municipality_oktmo,
                opened_at=parent.created_at,
            )
        )
    workflow.route_many(
        [
            (parent, RoutingSubject(parent.topic_group, parent.topic, parent.municipality_oktmo))
            for parent in opened
        ],
        SYSTEM,
        session=session,
    )
    pairs: list[tuple[IncidentRecord, IncidentRecord]] = []
    for (k, related, child, _new), parent in zip(to_open, opened, strict=True):
        pairs += [(related, parent), (child, parent)]
        outcomes[k] = RelatedLink(parent.id, True, (related.id, child.id))
    for k, child, parent in to_join:
        pairs.append((child, parent))
        outcomes[k] = RelatedLink(parent.id, False, (child.id,))
    workflow.set_parents(pairs, SYSTEM, session=session)
    for outcome in outcomes:
        if isinstance(outcome, RelatedLink):
            index.set_parent(outcome.children, outcome.parent_id)
    return outcomes
