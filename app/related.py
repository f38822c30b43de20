"""Related, not merged: the same failure at neighbouring addresses, under one parent incident.

Grouping marks a new incident *related* to an open one when it reports the same topic on the
same street at another house, or when a comment says «у нас на ул. Щорса то же самое» under a
post that is an incident (``Evidence.related_incident_id``; router/grouping.py). Each keeps its
own messages and answers; they are linked under a parent incident the way a surge's incidents
are (app/pipeline.py, ``_apply_surge``): the related incident's parent if it has one, else a new
parent opened and routed for both. The parent is answered once for all of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from app.workflow import SYSTEM, Workflow
from router.grouping import GroupingIndex, IncidentHeader
from router.jurisdiction import RoutingSubject
from storage.repositories import IncidentRecord, NewIncident

__all__ = ["RelatedLink", "link_related"]


@dataclass(frozen=True, slots=True)
class RelatedLink:
    """What linking did: the parent, and whether it was opened for this link."""

    parent_id: int
    opened: bool
    children: tuple[int, ...]


def link_related(
    *,
    workflow: Workflow,
    index: GroupingIndex,
    session: Session | None,
    child: IncidentRecord,
    related_id: int,
    shared: str,
    now: datetime,
) -> RelatedLink | None:
    """Put ``child`` and the related incident under one parent; None when it is the same one.

    Raises :class:`app.workflow.WorkflowError` when the related incident (or its parent) has
    ended meanwhile: the caller runs this in a savepoint and leaves the child on its own (it is
    still a complete incident).
    """
    related = workflow.get(related_id, SYSTEM, session=session)
    if related.id == child.id:
        return None
    parent_id = related.parent_incident_id
    opened = False
    children: list[int] = []
    if parent_id is None:
        parent = workflow.open_incident(
            NewIncident(
                public_number=f"{now:%Y%m%d%H%M%S}-R{child.id:07d}",
                title=f"Одна авария, несколько адресов: {shared}"[:200],
                summary=(f"{related.title} — и та же проблема по соседству ({child.title})")[:4000],
                topic_group=related.topic_group,
                topic=related.topic,
                municipality_oktmo=related.municipality_oktmo or child.municipality_oktmo,
            ),
            SYSTEM,
            session=session,
        )
        index.add_incident(
            IncidentHeader(
                id=parent.id,
                topic_group=parent.topic_group,
                topic=None,
                municipality_oktmo=parent.municipality_oktmo,
                opened_at=parent.created_at,
            )
        )
        workflow.route(
            parent,
            RoutingSubject(parent.topic_group, parent.topic, parent.municipality_oktmo),
            SYSTEM,
            session=session,
        )
        workflow.set_parent(related, parent.id, SYSTEM, session=session)
        children.append(related.id)
        parent_id, opened = parent.id, True
    workflow.set_parent(child, parent_id, SYSTEM, session=session)
    children.append(child.id)
    index.set_parent(children, parent_id)
    return RelatedLink(parent_id, opened, tuple(children))
