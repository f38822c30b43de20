"""The active assignment copied onto its incident (``incidents.active_*``, ``queue_deadline_at``).

The queue filters by executor and SLA state and sorts by deadline; reading those through a join
to the incident's active assignment made ``sla=overdue`` 213 ms and the deadline order 37 ms a
page at 1 000 000 incidents (bench/bench_web_queue.py). The copy lets one index of ``incidents``
serve each of them.

The copy is derived, never edited: :func:`sync_active_assignment` recomputes it from the
assignments and is called by every writer of assignments (``AssignmentRepository.add`` and
``.update``, the only two), and :func:`drifted` finds incidents whose copy disagrees (tests,
and the administrator's check after hand-made changes; :func:`sync_active_assignment` without
ids repairs every incident).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from storage.models import Assignment, Incident
from storage.repositories.incidents import ACTIVE_ASSIGNMENT
from storage.types import FAR_FUTURE

__all__ = ["drifted", "set_active_assignment", "sync_active_assignment"]


_INCIDENTS = cast("sa.Table", Incident.__table__)
_SET_COPY = (
    sa.update(_INCIDENTS)
    .where(_INCIDENTS.c.id == sa.bindparam("b_id"))
    .values(
        active_assignment_id=sa.bindparam("b_assignment"),
        active_executor_id=sa.bindparam("b_executor"),
        active_status=sa.bindparam("b_status"),
        active_deadline_at=sa.bindparam("b_deadline"),
        active_at_risk_at=sa.bindparam("b_at_risk"),
        queue_deadline_at=sa.bindparam("b_queue_deadline"),
    )
)


def _newest_active(incident_id: Any) -> Any:
    """Return a select of the newest active assignment of ``incident_id`` (a value or column)."""
    return (
        sa.select(Assignment)
        .where(Assignment.incident_id == incident_id, Assignment.status.in_(ACTIVE_ASSIGNMENT))
        .order_by(Assignment.id.desc())
        .limit(1)
    )


def _values(row: Assignment | None) -> dict[str, Any]:
    if row is None:
        return {
            "active_assignment_id": None,
            "active_executor_id": None,
            "active_status": None,
            "active_deadline_at": None,
            "active_at_risk_at": None,
            "queue_deadline_at": FAR_FUTURE,
        }
    return {
        "active_assignment_id": row.id,
        "active_executor_id": row.executor_id,
        "active_status": row.status,
        "active_deadline_at": row.deadline_at,
        "active_at_risk_at": row.at_risk_at,
        "queue_deadline_at": row.deadline_at or FAR_FUTURE,
    }


def sync_active_assignment(session: Session, incident_ids: Sequence[int] | None = None) -> int:
    """Recompute the copy of the given incidents (every incident when None); return how many.

    Called after the assignments' changes are flushed, in the same transaction.
    """
    if incident_ids is None:
        incident_ids = list(session.scalars(sa.select(Incident.id).order_by(Incident.id)))
    for incident_id in incident_ids:
        row = session.scalars(_newest_active(incident_id)).first()
        session.execute(
            sa.update(Incident)
            .where(Incident.id == incident_id)
            .values(**_values(row))
            .execution_options(synchronize_session=False)
        )
    return len(incident_ids)


def set_active_assignment(
    session: Session,
    incident_id: int,
    *,
    assignment_id: int,
    executor_id: int,
    status: Any,
    deadline_at: Any,
    at_risk_at: Any,
) -> None:
    """Copy an assignment just added, active and so the incident's newest, onto its incident.

    What :func:`sync_active_assignment` computes for it, without reading it back.
    """
    session.execute(
        _SET_COPY,
        {
            "b_id": incident_id,
            "b_assignment": assignment_id,
            "b_executor": executor_id,
            "b_status": status,
            "b_deadline": deadline_at,
            "b_at_risk": at_risk_at,
            "b_queue_deadline": deadline_at or FAR_FUTURE,
        },
    )


def drifted(session: Session, incident_ids: Sequence[int] | None = None) -> list[int]:
    """Return the ids of incidents whose copy differs from their assignments (empty: in step)."""
    query = sa.select(
        Incident.id,
        Incident.active_assignment_id,
        Incident.active_executor_id,
        Incident.active_status,
        Incident.active_deadline_at,
        Incident.active_at_risk_at,
        Incident.queue_deadline_at,
    ).order_by(Incident.id)
    if incident_ids is not None:
        query = query.where(Incident.id.in_(incident_ids))
    newest: dict[int, Assignment] = {}
    active = sa.select(Assignment).where(Assignment.status.in_(ACTIVE_ASSIGNMENT))
    if incident_ids is not None:
        active = active.where(Assignment.incident_id.in_(incident_ids))
    for assignment in session.scalars(active.order_by(Assignment.id)):
        newest[assignment.incident_id] = assignment
    bad: list[int] = []
    for incident_id, *copied in session.execute(query):
        expected = _values(newest.get(incident_id))
        if tuple(copied) != tuple(expected.values()):
            bad.append(incident_id)
    return bad
