"""Test the incident, assignment, event, executor and user repositories on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from router.sla import Budget, pause, resume, start_clock, switch_to_interim
from storage.db import create_engine_for, make_sessionmaker
from storage.enums import AssignmentStatus, ExecutorKind, IncidentStatus, UserRole
from storage.migrate import upgrade
from storage.models import Incident
from storage.repositories import (
    AssignmentRepository,
    ConcurrentUpdate,
    EventRepository,
    ExecutorRepository,
    IncidentRecord,
    IncidentRepository,
    NewIncident,
    NotFound,
    UserRepository,
    clock_from_json,
    clock_to_json,
)
from tests.factories import HOURS_A, kirov

NOW = datetime(2025, 10, 14, 7, 0, tzinfo=UTC)


def test_clock_document_round_trips() -> None:
    clock = start_clock(kirov("2025-10-13T10:00"), Budget(timedelta(hours=8), "default"), HOURS_A)
    clock = pause(clock, kirov("2025-10-13T15:00:30.5"))
    clock = resume(clock, kirov("2025-10-15T11:30"), HOURS_A)
    clock = switch_to_interim(
        clock, kirov("2025-10-15T12:00"), Budget(timedelta(hours=56), "x"), HOURS_A
    )
    assert clock_from_json(clock_to_json(clock)) == clock


def test_repositories_return_dataclasses(db_url: str) -> None:
    upgrade(db_url)
    sm = make_sessionmaker(create_engine_for(db_url, sqlite_begin="IMMEDIATE"))
    with sm.begin() as session:
        executor = ExecutorRepository(session).add("minzdrav", "Минздрав", ExecutorKind.MINISTRY)
        user = UserRepository(session).add("z", "Z", UserRole.EXECUTOR, executor_id=executor.id)
        incident = IncidentRepository(session).create(NewIncident("N-1", title="Яма"), now=NOW)
        clock = start_clock(NOW, Budget(timedelta(hours=8), "default"), HOURS_A)
        assignment = AssignmentRepository(session).add(
            incident.id,
            executor.id,
            clock=clock,
            status=AssignmentStatus.RECEIVED,
            rule_id="rules[0]",
            now=NOW,
        )
        EventRepository(session).append(
            incident_id=incident.id,
            actor_user_id=user.id,
            kind="assign",
            from_status="new",
            to_status="assigned",
            payload={"clocks": {str(assignment.id): clock_to_json(clock)}},
            occurred_at=NOW,
        )
    assert user.executor_code == "minzdrav"
    assert incident.status is IncidentStatus.NEW
    assert assignment.deadline_at == clock.deadline
    assert assignment.executor_code == "minzdrav"
    assert assignment.active
    with sm() as session:
        assert IncidentRepository(session).get(incident.id).executor_code == "minzdrav"
        assert EventRepository(session).clocks([incident.id]) == {assignment.id: clock}
        assert EventRepository(session).overall_clock(incident.id) is None
        assert ExecutorRepository(session).by_code("minzdrav") == executor
        assert UserRepository(session).by_login("z") == user
        assert [i.id for i in IncidentRepository(session).for_executor(executor.id)] == [
            incident.id
        ]
        assert AssignmentRepository(session).open_clocks()[0].id == assignment.id
        for call in (
            lambda: IncidentRepository(session).get(999),
            lambda: ExecutorRepository(session).by_code("nobody"),
            lambda: UserRepository(session).get(999),
            lambda: AssignmentRepository(session).get(999),
        ):
            with pytest.raises(NotFound):
                call()


def test_save_state_refuses_a_stale_version(db_url: str) -> None:
    upgrade(db_url)
    sm = make_sessionmaker(create_engine_for(db_url, sqlite_begin="IMMEDIATE"))
    with sm.begin() as session:
        incident = IncidentRepository(session).create(NewIncident("N-2"), now=NOW)
    with sm.begin() as session:
        saved = IncidentRepository(session).save_state(
            _with(incident, IncidentStatus.TRIAGE), expected_version=incident.version, now=NOW
        )
    assert saved.version == incident.version + 1
    with sm.begin() as session, pytest.raises(ConcurrentUpdate) as caught:
        IncidentRepository(session).save_state(
            _with(incident, IncidentStatus.REJECTED), expected_version=incident.version, now=NOW
        )
    assert (caught.value.expected, caught.value.actual) == (incident.version, saved.version)


def test_write_between_read_and_update_is_caught(postgres_url: str) -> None:
    """Another transaction commits after the caller read the incident, just before our UPDATE.

    The version check is in the UPDATE itself (``WHERE version = expected``), so the other
    write is seen however late it comes: ConcurrentUpdate, and the other write stays.
    """
    upgrade(postgres_url)
    engine = create_engine_for(postgres_url)
    sm = make_sessionmaker(engine)
    with sm.begin() as session:
        incident = IncidentRepository(session).create(NewIncident("N-3"), now=NOW)
    sneaked: list[str] = []

    def sneak_in(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        if sneaked or not statement.lstrip().upper().startswith("UPDATE INCIDENTS"):
            return
        sneaked.append(statement)
        with engine.connect() as other:
            other.execute(
                sa.update(Incident)
                .where(Incident.id == incident.id)
                .values(version=Incident.version + 1, status=IncidentStatus.REJECTED)
            )
            other.commit()

    event.listen(engine, "before_cursor_execute", sneak_in)
    with sm() as session:
        with pytest.raises(ConcurrentUpdate) as caught:
            IncidentRepository(session).save_state(
                _with(incident, IncidentStatus.TRIAGE), expected_version=incident.version, now=NOW
            )
        session.rollback()
    event.remove(engine, "before_cursor_execute", sneak_in)
    assert sneaked
    assert (caught.value.expected, caught.value.actual) == (incident.version, incident.version + 1)
    with sm() as session:
        assert IncidentRepository(session).get(incident.id).status is IncidentStatus.REJECTED
    engine.dispose()


def _with(incident: IncidentRecord, status: IncidentStatus) -> IncidentRecord:
    return replace(incident, status=status)
