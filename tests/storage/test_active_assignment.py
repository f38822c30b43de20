"""The active assignment copied onto incidents stays equal to the assignments."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from app.workflow import ReturnKind
from storage.db import create_engine_for
from storage.enums import AssignmentStatus
from storage.migrate import downgrade, upgrade
from storage.models import Assignment, Incident
from storage.repositories.active_assignment import drifted, sync_active_assignment
from storage.types import FAR_FUTURE
from tests.factories import kirov, new_incident, world

H = timedelta(hours=1)


def _copy(w_sm: object, incident_id: int) -> tuple[object, ...]:
    with w_sm() as session:  # type: ignore[operator]
        row = session.get(Incident, incident_id)
        return (
            row.active_executor_id,
            row.active_status,
            row.active_deadline_at,
            row.active_at_risk_at,
            row.queue_deadline_at,
        )


def test_every_transition_keeps_the_copy_in_step(db_url: str) -> None:
    w = world(db_url, start=kirov("2025-10-13T10:00"))
    steps: list[str] = []

    def check(label: str) -> None:
        steps.append(label)
        with w.sm() as session:
            assert drifted(session) == [], f"drift after {steps}"

    incident = w.workflow.open_incident(new_incident())
    check("open")
    assert _copy(w.sm, incident.id) == (None, None, None, None, FAR_FUTURE)
    incident = w.workflow.assign(incident, "minzdrav", w.operator)
    check("assign")
    minzdrav = w.executors["minzdrav"].id
    executor_id, status, deadline, at_risk, key = _copy(w.sm, incident.id)
    assert (executor_id, status) == (minzdrav, AssignmentStatus.RECEIVED)
    assert deadline is not None
    assert key == deadline
    assert at_risk is not None
    incident = w.workflow.accept(incident, w.minzdrav)
    check("accept")
    w.clock.set(kirov("2025-10-13T15:00"))
    incident = w.workflow.return_(incident, w.minzdrav, "Уточните адрес", ReturnKind.CLARIFICATION)
    check("pause")
    assert _copy(w.sm, incident.id)[1:] == (AssignmentStatus.PAUSED, None, None, FAR_FUTURE)
    w.clock.set(kirov("2025-10-15T11:30"))
    incident = w.workflow.assign(incident, "minzdrav", w.operator)
    check("resume")
    assert _copy(w.sm, incident.id)[2] == kirov("2025-10-15T16:30")
    incident = w.workflow.assign(incident, "mintrans", w.supervisor)
    check("reroute")
    assert _copy(w.sm, incident.id)[0] == w.executors["mintrans"].id
    incident = w.workflow.return_(incident, w.mintrans, "Не наш вопрос", ReturnKind.NOT_OURS)
    check("not ours")
    assert _copy(w.sm, incident.id) == (None, None, None, None, FAR_FUTURE)
    incident = w.workflow.assign(incident, "minzdrav", w.operator)
    incident = w.workflow.accept(incident, w.minzdrav)
    incident = w.workflow.answer(incident, w.minzdrav, "Работы запланированы", interim=True)
    check("interim answer")
    incident = w.workflow.answer(incident, w.minzdrav, "Яму заделали 12 октября 🙂")
    check("final answer")
    assert _copy(w.sm, incident.id)[1] == AssignmentStatus.ANSWERED
    incident = w.workflow.send_for_rework(incident, w.operator, "Нет сроков")
    check("rework")
    assert _copy(w.sm, incident.id)[1] == AssignmentStatus.RECEIVED
    incident = w.workflow.answer(incident, w.minzdrav, "Сделано, фото приложено")
    incident = w.workflow.approve(incident, w.operator)
    check("approve")


def test_merge_and_escalation_keep_the_copy_in_step(db_url: str) -> None:
    w = world(db_url, start=kirov("2025-10-13T10:00"))
    first = w.workflow.assign(w.workflow.open_incident(new_incident()), "minzdrav", w.operator)
    second = w.workflow.assign(w.workflow.open_incident(new_incident()), "mintrans", w.operator)
    w.clock.set(kirov("2025-10-20T10:00"))  # far past both deadlines
    w.workflow.escalate()
    with w.sm() as session:
        assert drifted(session) == []
    w.workflow.merge(second, first.id, w.operator)
    with w.sm() as session:
        assert drifted(session) == []
        row = session.get(Incident, second.id)
        assert row is not None
        assert row.active_assignment_id is None


def test_drift_is_found_and_repaired(db_url: str) -> None:
    w = world(db_url, start=kirov("2025-10-13T10:00"))
    incident = w.workflow.assign(w.workflow.open_incident(new_incident()), "minzdrav", w.operator)
    with w.sm.begin() as session:
        # A change that bypasses AssignmentRepository (as a hand-made SQL fix would).
        session.execute(
            sa.update(Assignment)
            .where(Assignment.incident_id == incident.id)
            .values(deadline_at=kirov("2025-10-30T10:00"))
        )
    with w.sm() as session:
        assert drifted(session) == [incident.id]
    with w.sm.begin() as session:
        assert sync_active_assignment(session) == 1
    with w.sm() as session:
        assert drifted(session) == []
        row = session.get(Incident, incident.id)
        assert row is not None
        assert row.queue_deadline_at == kirov("2025-10-30T10:00")


def test_migration_backfills_the_copy(db_url: str) -> None:
    w = world(db_url, start=kirov("2025-10-13T10:00"))
    assigned = w.workflow.assign(w.workflow.open_incident(new_incident()), "minzdrav", w.operator)
    w.workflow.open_incident(new_incident())  # none active
    paused = w.workflow.assign(w.workflow.open_incident(new_incident()), "mintrans", w.operator)
    w.workflow.return_(paused, w.mintrans, "Уточните адрес", ReturnKind.CLARIFICATION)
    with w.sm() as session:
        expected = {
            r.id: (r.active_executor_id, r.active_status, r.active_deadline_at, r.queue_deadline_at)
            for r in session.scalars(sa.select(Incident))
        }
    assert expected[assigned.id][2] is not None
    # Back to 0005 and up again: the columns are dropped, re-added and filled from assignments.
    downgrade(db_url, "0005")
    upgrade(db_url)
    engine = create_engine_for(db_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.select(
                    Incident.id,
                    Incident.active_executor_id,
                    Incident.active_status,
                    Incident.active_deadline_at,
                    Incident.queue_deadline_at,
                )
            ).all()
    finally:
        engine.dispose()
    assert {r[0]: tuple(r[1:]) for r in rows} == expected
    with w.sm() as session:
        assert drifted(session) == []
