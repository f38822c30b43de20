"""A deadline in a year the production calendar does not cover: a clear refusal, nothing lost.

The shipped calendar ends with 2027, so from 30 December 2027 an 8-hour budget runs into 2028.
Before, automatic routing raised ``CalendarYearMissing`` inside the pipeline, so every new
complaint failed until it was set aside as poison (stored without an incident), and an
operator's assignment was a 500. Now routing leaves the incident in triage saying why, and the
operator's action is refused naming the year; no half-written assignment is left behind.
"""

from __future__ import annotations

import pytest

from router.calendar import CalendarYearMissing
from router.jurisdiction import RoutingSubject
from storage.enums import IncidentStatus
from storage.repositories import AssignmentRepository, EventRepository
from tests.factories import kirov, new_incident, world

HEALTH = RoutingSubject("Здравоохранение", None, None, None, 0.95, 0.95)


def test_routing_without_the_year_leaves_the_incident_in_triage(sqlite_url: str) -> None:
    w = world(sqlite_url, start=kirov("2027-12-31T10:00"))
    incident = w.workflow.open_incident(new_incident())
    with pytest.raises(CalendarYearMissing, match="2028"):
        w.workflow.assign(incident, "minzdrav", w.operator)

    routed, decision = w.workflow.route(incident, HEALTH)
    assert decision.executor == "minzdrav"
    assert routed.status is IncidentStatus.TRIAGE
    with w.sm() as s:
        assert AssignmentRepository(s).for_incident(incident.id) == []
        events = EventRepository(s).for_incident(incident.id)
    assert [e.kind for e in events] == ["create", "triage"]
    assert "2028" in events[-1].payload["reason"]

    # The same day a year earlier is covered: the same routing assigns.
    w.clock.set(kirov("2026-12-31T10:00"))
    again, _ = w.workflow.route(w.workflow.open_incident(new_incident()), HEALTH)
    assert again.status is IncidentStatus.ASSIGNED
