"""Test the workflow's clocks, escalations, atomicity and concurrency on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from app.workflow import ConcurrentUpdate, InvalidRequest, ReturnKind, Workflow
from router.escalation import EscalationLevel
from router.jurisdiction import RoutingSubject, TriageReason
from router.sla import ClockState, Phase
from storage.enums import AssignmentStatus, IncidentStatus, Priority
from storage.models import Event, Incident
from storage.repositories import AssignmentRepository, EventRepository
from tests.factories import (
    DESK,
    HOURS_A,
    SLOBODSKOY,
    kirov,
    new_incident,
    routing,
    routing_reloaded,
    world,
)

H = timedelta(hours=1)


class ExplodingEventLog(EventRepository):
    """An event log whose append fails after the row was added (a failure mid-transition)."""

    def append(self, **kwargs: Any) -> Any:
        """Add the event, then fail."""
        super().append(**kwargs)
        raise RuntimeError("disk full")


def test_failure_mid_transition_leaves_neither_state_nor_event(db_url: str) -> None:
    w = world(db_url, event_log=ExplodingEventLog)
    # Opening writes an event too, so open through a sound workflow on the same database.
    ok = Workflow(sessionmaker=w.sm, clock=w.clock, routing=routing())
    incident = ok.open_incident(new_incident())
    with pytest.raises(RuntimeError, match="disk full"):
        w.workflow.assign(incident, "minzdrav", w.operator)
    with w.sm() as session:
        row = session.get(Incident, incident.id)
        assert row is not None
        assert row.status is IncidentStatus.NEW
        assert row.version == incident.version
        kinds = session.scalars(sa.select(Event.kind).where(Event.incident_id == incident.id))
        assert list(kinds) == ["create"]
        assert AssignmentRepository(session).for_incident(incident.id) == []


def test_stale_version_raises_concurrent_update(db_url: str) -> None:
    w = world(db_url)
    incident = w.workflow.open_incident(new_incident())
    first = w.workflow.triage(incident, w.operator)
    with pytest.raises(ConcurrentUpdate, match="reload it") as caught:
        w.workflow.reject(incident, w.supervisor, "Спам")  # saw the old version
    assert caught.value.expected == incident.version
    assert caught.value.actual == first.version
    assert w.workflow.get(incident.id, w.operator).status is IncidentStatus.TRIAGE
    assert [e.kind for e in w.workflow.history(incident.id, w.operator)] == ["create", "triage"]


def test_assignment_clock_starts_on_receipt_with_priority_budget(db_url: str) -> None:
    w = world(db_url, start=kirov("2025-10-14T10:00"))
    urgent = w.workflow.open_incident(new_incident(priority=Priority.URGENT))
    urgent = w.workflow.assign(urgent, "minzdrav", w.operator)
    report = w.workflow.clocks(urgent.id)
    (only,) = report.assignments
    assert only.clock.received_at == kirov("2025-10-14T10:00")
    assert only.clock.budget == 4 * H
    assert only.clock.deadline == kirov("2025-10-14T15:00")
    assert only.assignment.deadline_at == kirov("2025-10-14T15:00")
    assert only.assignment.status is AssignmentStatus.RECEIVED
    assert only.assignment.budget_minutes == 240
    assert report.overall is not None
    assert report.overall.deadline == kirov("2025-10-14T15:00")


def test_clarification_pauses_and_resumes_with_remaining_budget(db_url: str) -> None:
    """business-hours.md T15 through the workflow."""
    w = world(db_url, start=kirov("2025-10-13T10:00"))
    incident = w.workflow.assign(w.workflow.open_incident(new_incident()), "minzdrav", w.operator)
    incident = w.workflow.accept(incident, w.minzdrav)
    w.clock.set(kirov("2025-10-13T15:00"))
    incident = w.workflow.return_(incident, w.minzdrav, "Уточните адрес", ReturnKind.CLARIFICATION)
    assert incident.status is IncidentStatus.RETURNED
    paused = w.workflow.clocks(incident.id, kirov("2025-10-14T12:00"))
    (row,) = paused.assignments
    assert row.status.state is ClockState.PAUSED
    assert row.assignment.status is AssignmentStatus.PAUSED
    assert row.assignment.paused_at == kirov("2025-10-13T15:00")
    assert row.assignment.remaining_budget_minutes == 240
    assert row.assignment.deadline_at is None
    assert paused.overall_status is not None
    assert paused.overall_status.state is ClockState.PAUSED

    w.clock.set(kirov("2025-10-15T11:30"))
    incident = w.workflow.assign(incident, "minzdrav", w.operator)
    resumed = w.workflow.clocks(incident.id)
    (row,) = resumed.assignments  # the same assignment, not a new one
    assert row.clock.deadline == kirov("2025-10-15T16:30")
    assert row.assignment.status is AssignmentStatus.RECEIVED
    assert resumed.overall is not None
    assert resumed.overall.deadline == kirov("2025-10-15T16:30")


def test_interim_answer_switches_to_longer_budget(db_url: str) -> None:
    w = world(db_url, start=kirov("2025-10-13T10:00"))
    incident = w.workflow.assign(w.workflow.open_incident(new_incident()), "minzdrav", w.operator)
    incident = w.workflow.accept(incident, w.minzdrav)
    w.clock.set(kirov("2025-10-13T15:00"))
    incident = w.workflow.answer(incident, w.minzdrav, "Работы запланированы", interim=True)
    assert incident.status is IncidentStatus.IN_PROGRESS
    (row,) = w.workflow.clocks(incident.id).assignments
    assert row.clock.phase is Phase.INTERIM
    assert row.clock.budget == 56 * H
    assert row.clock.deadline == kirov("2025-10-22T15:00")
    assert row.assignment.interim
    w.clock.set(kirov("2025-10-20T10:00"))
    incident = w.workflow.answer(incident, w.minzdrav, "Сделано")
    (row,) = w.workflow.clocks(incident.id).assignments
    assert row.status.state is ClockState.STOPPED
    assert not row.status.late
    assert row.assignment.status is AssignmentStatus.ANSWERED


def test_rerouting_keeps_both_clocks(db_url: str) -> None:
    w = world(db_url, start=kirov("2025-10-13T10:00"))
    incident = w.workflow.assign(w.workflow.open_incident(new_incident()), "minzdrav", w.operator)
    w.clock.set(kirov("2025-10-13T16:00"))  # 5 h used
    incident = w.workflow.return_(incident, w.minzdrav, "Не наш вопрос", ReturnKind.NOT_OURS)
    w.clock.set(kirov("2025-10-14T09:00"))
    incident = w.workflow.assign(incident, "mintrans", w.operator)
    report = w.workflow.clocks(incident.id, kirov("2025-10-14T10:00"))
    first, second = report.assignments
    assert first.assignment.executor_code == "minzdrav"
    assert first.assignment.status is AssignmentStatus.RETURNED
    assert first.status.used == 5 * H
    assert second.assignment.executor_code == "mintrans"
    assert second.clock.deadline == kirov("2025-10-14T18:00")
    assert second.status.state is ClockState.ON_TRACK
    assert report.overall is not None
    assert report.overall.deadline == kirov("2025-10-14T10:00")  # kept running
    assert report.overall_status is not None
    assert report.overall_status.state is ClockState.OVERDUE


def test_direct_reroute_stops_the_previous_clock(db_url: str) -> None:
    w = world(db_url, start=kirov("2025-10-13T10:00"))
    incident = w.workflow.assign(w.workflow.open_incident(new_incident()), "minzdrav", w.operator)
    with pytest.raises(InvalidRequest, match="already assigned"):
        w.workflow.assign(incident, "minzdrav", w.operator)
    w.clock.set(kirov("2025-10-13T12:00"))
    incident = w.workflow.assign(incident, "mintrans", w.supervisor)
    assert incident.executor_code == "mintrans"
    first, second = w.workflow.clocks(incident.id).assignments
    assert first.assignment.status is AssignmentStatus.REROUTED
    assert first.clock.stopped_at == kirov("2025-10-13T12:00")
    assert second.clock.received_at == kirov("2025-10-13T12:00")
    assert w.workflow.history(incident.id, w.operator)[-1].payload["rerouted"] is True


def test_rework_restarts_the_executor_clock(db_url: str) -> None:
    w = world(db_url, start=kirov("2025-10-14T10:00"))
    incident = w.workflow.assign(w.workflow.open_incident(new_incident()), "minzdrav", w.operator)
    incident = w.workflow.accept(incident, w.minzdrav)
    w.clock.set(kirov("2025-10-14T12:00"))
    incident = w.workflow.answer(incident, w.minzdrav, "Согласно ст. 12 ФЗ-59")
    w.clock.set(kirov("2025-10-14T15:00"))
    incident = w.workflow.send_for_rework(incident, w.operator, "Нет сроков")
    (row,) = w.workflow.clocks(incident.id).assignments
    # 2 h used before the answer; 6 h left from 15:00: 15-18 (3) + Wed 09-12 (3).
    assert row.clock.deadline == kirov("2025-10-15T12:00")
    assert row.assignment.status is AssignmentStatus.RECEIVED


def test_automatic_routing_and_triage(db_url: str) -> None:
    w = world(db_url)
    confident = RoutingSubject("Дороги", "Ямы", SLOBODSKOY, None, 0.9, 0.95)
    routed, decision = w.workflow.route(w.workflow.open_incident(new_incident()), confident)
    assert routed.status is IncidentStatus.ASSIGNED
    assert routed.executor_code == "adm-slobodskoy"
    assert decision.rule_id == "rules[1]"
    event = w.workflow.history(routed.id, w.operator)[-1]
    assert event.payload["rule_id"] == "rules[1]"
    assert "matched" in event.payload["reason"]

    unsure = RoutingSubject("Дороги", "Ямы", SLOBODSKOY, None, 0.5, 0.95)
    waiting, decision = w.workflow.route(w.workflow.open_incident(new_incident()), unsure)
    assert waiting.status is IncidentStatus.TRIAGE
    assert decision.triage_reason is TriageReason.LOW_CONFIDENCE
    assert "below" in w.workflow.history(waiting.id, w.operator)[-1].payload["reason"]


def test_not_ours_returns_are_counted_against_the_rule(db_url: str) -> None:
    w = world(db_url)
    subject = RoutingSubject("Здравоохранение", None, None, None, 0.99, None)
    for returns in (True, True, False):
        incident, _ = w.workflow.route(w.workflow.open_incident(new_incident()), subject)
        if returns:
            w.workflow.return_(incident, w.minzdrav, "Не наш вопрос", ReturnKind.NOT_OURS)
    clarified, _ = w.workflow.route(w.workflow.open_incident(new_incident()), subject)
    w.workflow.return_(clarified, w.minzdrav, "Уточните", ReturnKind.CLARIFICATION)
    with w.sm() as session:
        stats = EventRepository(session).return_stats()
    (row,) = stats.rows()
    assert (row.rule_id, row.executor, row.routed, row.returned) == ("rules[0]", "minzdrav", 4, 2)


def test_escalations_are_recorded_once_and_queued_outside_hours(db_url: str) -> None:
    w = world(db_url, start=kirov("2025-10-14T10:00"), routing_=routing(region_hours=HOURS_A))
    incident = w.workflow.assign(w.workflow.open_incident(new_incident()), "minzdrav", w.operator)
    w.clock.set(kirov("2025-10-14T17:30"))  # 6.5 h of 8 used: at risk
    plan = w.workflow.escalate()
    assert [e.level for e in plan.send_now] == [EscalationLevel.AT_RISK]
    assert w.workflow.escalate().send_now == ()  # idempotent
    w.clock.set(kirov("2025-10-14T22:00"))  # overdue? no: 7 h used; nothing new
    assert w.workflow.escalate().send_now == ()
    w.clock.set(kirov("2025-10-15T10:30"))  # overdue since 10:00, supervisors at work
    plan = w.workflow.escalate()
    assert [(e.level, e.incident_id) for e in plan.send_now] == [
        (EscalationLevel.OVERDUE, incident.id)
    ]
    assert w.workflow.escalate().send_now == ()
    kinds = [e.kind for e in w.workflow.history(incident.id, w.operator)]
    assert kinds.count("escalate") == 2


def test_escalation_outside_hours_waits_for_the_opening(db_url: str) -> None:
    w = world(db_url, start=kirov("2025-10-14T10:00"))
    w.workflow.assign(w.workflow.open_incident(new_incident()), "minzdrav", w.operator)
    w.clock.set(kirov("2025-10-15T20:00"))  # overdue, supervisors gone home
    plan = w.workflow.escalate()
    assert plan.send_now == ()
    assert [e.send_at for e in plan.queued] == [kirov("2025-10-16T09:00")]
    w.clock.set(kirov("2025-10-16T09:00"))
    assert len(w.workflow.escalate().send_now) == 1


def test_escalation_outside_hours_is_sent_when_configured(db_url: str) -> None:
    w = world(db_url, start=kirov("2025-10-14T10:00"), routing_=routing(outside_hours=True))
    w.workflow.assign(w.workflow.open_incident(new_incident()), "minzdrav", w.operator)
    w.clock.set(kirov("2025-10-15T20:00"))
    assert len(w.workflow.escalate().send_now) == 1


def test_supervisors_on_a_round_the_clock_desk_get_escalations_at_night(db_url: str) -> None:
    w = world(db_url, start=kirov("2025-10-14T10:00"), routing_=routing(region_hours=DESK))
    w.workflow.assign(w.workflow.open_incident(new_incident()), "minzdrav", w.operator)
    w.clock.set(kirov("2025-10-15T20:00"))
    assert [e.level for e in w.workflow.escalate().send_now] == [EscalationLevel.OVERDUE]


def test_paused_clock_is_not_escalated(db_url: str) -> None:
    w = world(db_url, start=kirov("2025-10-14T10:00"))
    incident = w.workflow.assign(w.workflow.open_incident(new_incident()), "minzdrav", w.operator)
    w.workflow.return_(incident, w.minzdrav, "Уточните", ReturnKind.CLARIFICATION)
    w.clock.set(kirov("2025-10-20T12:00"))
    plan = w.workflow.escalate()
    assert plan.send_now == ()
    assert plan.queued == ()


def test_calendar_change_moves_the_overall_clock_of_an_incident_sent_back_to_triage(
    db_url: str, tmp_path: Path
) -> None:
    w = world(db_url, start=kirov("2025-10-14T10:00"))
    incident = w.workflow.assign(w.workflow.open_incident(new_incident()), "minzdrav", w.operator)
    w.clock.set(kirov("2025-10-14T11:00"))
    incident = w.workflow.return_(incident, w.minzdrav, "Не наш вопрос", ReturnKind.NOT_OURS)
    before = w.workflow.clocks(incident.id).overall
    assert before is not None
    assert before.running  # no executor's clock runs now, the incident's overall one does
    extra = tmp_path / "emergency.yaml"
    extra.write_text("years:\n  2025:\n    non_working_weekdays: [2025-10-15]\n")
    new = routing_reloaded(extra)
    assert w.workflow.recompute_deadlines(new) == 0  # no executor's deadline to move
    after = w.workflow.clocks(incident.id).overall
    assert after is not None
    assert before.deadline is not None
    assert after.deadline == before.deadline + timedelta(days=1)


def test_calendar_change_recomputes_open_deadlines(db_url: str, tmp_path: Path) -> None:
    w = world(db_url, start=kirov("2025-10-14T10:00"))
    incident = w.workflow.assign(w.workflow.open_incident(new_incident()), "minzdrav", w.operator)
    extra = tmp_path / "emergency.yaml"
    extra.write_text("years:\n  2025:\n    non_working_weekdays: [2025-10-15]\n")
    new = routing_reloaded(extra)
    before = w.workflow.clocks(incident.id).overall
    assert before is not None
    assert before.deadline == kirov("2025-10-15T10:00")
    assert w.workflow.recompute_deadlines(new) == 1
    report = w.workflow.clocks(incident.id)
    (row,) = report.assignments
    assert row.clock.deadline == kirov("2025-10-16T10:00")
    # The incident's overall clock counts in the region's hours: the day off moves it too.
    assert report.overall is not None
    assert report.overall.deadline == kirov("2025-10-16T10:00")
    assert row.assignment.deadline_at == kirov("2025-10-16T10:00")
    assert w.workflow.recompute_deadlines(new) == 0
    event, overall_event = w.workflow.history(incident.id, w.operator)[-2:]
    assert (event.kind, overall_event.kind) == ("recompute_deadline", "recompute_deadline")
    assert event.payload["old_deadline"] == "2025-10-15T07:00:00+00:00"
    assert overall_event.payload["old_overall_deadline"] == "2025-10-15T07:00:00+00:00"
