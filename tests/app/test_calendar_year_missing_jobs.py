"""The jobs and screens beside routing once time runs past the calendar's last year.

The shipped calendar ends with 2027 and its last working day is Thu 30.12.2027. Before, from
that evening on (the supervisors' next opening is in 2028) every run of the ``deadlines`` job
raised ``CalendarYearMissing``, so no escalation at all was recorded; from 2028 on the incident
page's clocks, the queue's SLA state, the notification job and the KPI dashboards raised too,
on every call, until someone added 2028. Now a clock past its deadline (always computed in a
covered year) is overdue whatever the missing year's days are, and what cannot wait for an
unknown opening is sent at once.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path

import pytest

from app.config import NotificationsConfig, NotifyConfig
from app.dashboards import KpiService
from app.kpi import Period
from app.notify import Channel, Destination
from app.notify_job import NotifyService, Recipients
from router.escalation import EscalationLevel
from router.sla import ClockState
from storage.repositories.outbox import OutboxItem
from tests.factories import (
    World,
    kirov,
    new_incident,
    routing,
    routing_reloaded,
    world,
)

LAST_EVENING = kirov("2027-12-30T19:00")  # after the last working hours of 2027
IN_2028 = kirov("2028-01-11T12:00")


class Outbox:
    """A channel that keeps what it was asked to send."""

    name = "email"

    def __init__(self) -> None:
        self.sent: list[tuple[Destination, str]] = []

    async def deliver(self, item: OutboxItem, destination: Destination) -> None:
        self.sent.append((destination, item.subject))


def overdue_assignment(url: str) -> tuple[World, int]:
    """An incident assigned on Wed 29.12.2027 10:00, due Thu 30.12.2027 10:00."""
    w = world(url, start=kirov("2027-12-29T10:00"))
    incident = w.workflow.open_incident(new_incident())
    w.workflow.assign(incident, "minzdrav", w.operator)
    return w, incident.id


def test_the_evening_after_the_last_working_day_escalates_instead_of_failing(
    db_url: str,
) -> None:
    w, incident_id = overdue_assignment(db_url)
    w.clock.set(LAST_EVENING)

    plan = w.workflow.escalate()

    assert [(e.incident_id, e.level) for e in plan.send_now] == [
        (incident_id, EscalationLevel.OVERDUE)
    ]
    assert plan.queued == ()
    w.clock.advance(timedelta(minutes=5))
    assert w.workflow.escalate().send_now == ()  # once


def test_an_overdue_clock_in_a_year_without_data_is_reported_overdue(db_url: str) -> None:
    w, incident_id = overdue_assignment(db_url)
    w.clock.set(IN_2028)

    report = w.workflow.clocks(incident_id)
    plan = w.workflow.escalate()

    (row,) = report.assignments
    assert row.status.state is ClockState.OVERDUE
    assert row.status.late
    assert row.status.remaining == timedelta(0)  # counted up to the deadline, not beyond
    assert report.overall_status is not None
    assert report.overall_status.state is ClockState.OVERDUE
    assert [e.level for e in plan.send_now] == [EscalationLevel.OVERDUE]


def test_an_answer_in_a_year_without_data_is_late_and_the_kpis_still_compute(
    db_url: str,
) -> None:
    w, incident_id = overdue_assignment(db_url)
    incident = w.workflow.get(incident_id, w.operator)
    w.clock.set(IN_2028)
    incident = w.workflow.accept(incident, w.minzdrav)
    w.workflow.answer(incident, w.minzdrav, "Приём возобновлён с 12.01, запись по телефону 😊")

    (row,) = w.workflow.clocks(incident_id).assignments
    kpis = KpiService(
        sessionmaker=w.sm,
        routing=lambda: w.workflow.routing,
        clock=w.clock,
        timezone="Europe/Kirov",
    ).report(Period(kirov("2027-12-01T00:00"), kirov("2028-02-01T00:00")))

    assert row.status.state is ClockState.STOPPED
    assert row.status.late
    total = kpis.total
    assert (total.received, total.answered, total.late) == (1, 1, 1)
    assert total.final_answer_h_median is not None
    assert total.final_answer_h_median > 24 * 12
    assert total.final_answer_wh_median is None  # working hours unknown in 2028: left out


async def test_notifications_are_sent_when_the_next_opening_is_in_a_missing_year(
    db_url: str,
) -> None:
    w = world(db_url, start=kirov("2027-12-29T16:00"))
    outbox = Outbox()
    channels: list[Channel] = [outbox]
    notify = NotifyService(
        sessions=w.sm,
        config=NotificationsConfig(retry_base_seconds=60),
        recipients=Recipients(
            executors={"minzdrav": NotifyConfig(email="zdrav@kirov.example.ru")},
            executor_names={"minzdrav": "Министерство здравоохранения"},
            supervisors_email=(),
        ),
        routing=routing(),
        channels=channels,
        clock=w.clock,
        zone="Europe/Kirov",
        public_url=None,
        owner="test",
    )

    assert (await notify.run_once()).queued == 0  # the job's first run: nothing yet
    w.clock.set(kirov("2027-12-29T17:00"))
    w.workflow.assign(w.workflow.open_incident(new_incident()), "minzdrav", w.operator)
    w.clock.set(LAST_EVENING)  # the event is first seen after the last working hours of 2027

    report = await notify.run_once()

    assert (report.queued, report.sent) == (1, 1)
    ((destination, subject),) = outbox.sent
    assert destination.emails == ("zdrav@kirov.example.ru",)
    assert subject.startswith("[ЦУР] Новый инцидент")


def test_a_calendar_change_pushing_one_deadline_into_a_missing_year_moves_the_others(
    db_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    w = world(db_url, start=kirov("2027-12-27T10:00"))  # Mon; due Tue 28.12 10:00
    early = w.workflow.assign(w.workflow.open_incident(new_incident()), "minzdrav", w.operator)
    w.clock.set(kirov("2027-12-29T10:00"))  # Wed; due Thu 30.12 10:00
    late = w.workflow.assign(w.workflow.open_incident(new_incident()), "minzdrav", w.operator)
    extra = tmp_path / "emergency.yaml"  # two emergency days off: 28 and 30 December 2027
    extra.write_text("years:\n  2027:\n    non_working_weekdays: [2027-12-28, 2027-12-30]\n")
    new = routing_reloaded(extra)

    with caplog.at_level(logging.ERROR, logger="app.workflow"):
        moved = w.workflow.recompute_deadlines(new)

    assert moved == 1
    (moved_row,) = w.workflow.clocks(early.id).assignments
    assert moved_row.assignment.deadline_at == kirov("2027-12-29T10:00")
    (kept_row,) = w.workflow.clocks(late.id).assignments
    assert kept_row.assignment.deadline_at == kirov("2027-12-30T10:00")
    assert f"incident {late.id}" in caplog.text
    assert "2028" in caplog.text
