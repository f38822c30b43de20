"""The composition root: the scheduled jobs and the notifier they feed."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import cast

import pytest

from app.config import load_config
from app.notify import LoggingNotifier, Notifier, NullNotifier
from app.runtime import deadlines_job, registered_jobs
from app.workflow import Workflow
from router.escalation import Escalation, EscalationLevel, EscalationPlan

ROOT = Path(__file__).resolve().parents[2]


def _escalation(incident_id: int) -> Escalation:
    when = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    return Escalation(
        key=f"{incident_id}:overdue",
        assignment_id=incident_id,
        incident_id=incident_id,
        executor="minzdrav",
        level=EscalationLevel.OVERDUE,
        deadline=when,
        share_used=1.2,
        send_at=when,
        reason="срок ответа истёк",
    )


class PlannedWorkflow:
    """A workflow double whose escalate() returns a fixed plan."""

    def __init__(self, plan: EscalationPlan) -> None:
        self.plan = plan
        self.calls = 0

    def escalate(self) -> EscalationPlan:
        self.calls += 1
        return self.plan


class RecordingNotifier:
    def __init__(self) -> None:
        self.sent: list[Escalation] = []

    def escalation(self, item: Escalation) -> None:
        self.sent.append(item)


async def test_deadlines_job_notifies_what_is_due_now_only() -> None:
    plan = EscalationPlan(send_now=(_escalation(1), _escalation(2)), queued=(_escalation(3),))
    workflow = PlannedWorkflow(plan)
    notifier = RecordingNotifier()
    await deadlines_job(cast("Workflow", workflow), notifier)()
    assert workflow.calls == 1
    assert [item.incident_id for item in notifier.sent] == [1, 2]


def test_notifiers_satisfy_the_protocol() -> None:
    for notifier in (NullNotifier(), LoggingNotifier(), RecordingNotifier()):
        assert isinstance(notifier, Notifier)


def test_logging_notifier_logs_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="app.notify"):
        LoggingNotifier().escalation(_escalation(7))
    assert "incident 7" in caplog.text
    assert "overdue" in caplog.text


def test_registered_jobs_follow_the_configured_intervals() -> None:
    config = load_config(ROOT / "config.yaml", {})
    workflow = PlannedWorkflow(EscalationPlan(send_now=(), queued=()))
    jobs = registered_jobs(config, workflow=cast("Workflow", workflow), notifier=NullNotifier())
    by_name = {job.name: job for job in jobs}
    assert by_name["deadlines"].interval_seconds == config.scheduler.deadlines_interval


def test_lazy_lemmatize_loads_once_and_lemmatises_russian() -> None:
    from app.runtime import lazy_lemmatize

    lemmatize = lazy_lemmatize()
    assert list(lemmatize("Прорвало трубы в домах")) == ["прорвать", "труба", "в", "дом"]
    assert list(lemmatize("Авария")) == ["авария"]


def test_deadlines_follow_a_schedule_changed_while_stopped(sqlite_url: str) -> None:
    from app.runtime import recompute_at_start
    from tests.factories import kirov, new_incident, world

    # Assigned under the test schedule (09:00-18:00 with lunch 13-14)...
    w = world(sqlite_url, start=kirov("2025-10-14T10:00"))
    incident = w.workflow.assign(w.workflow.open_incident(new_incident()), "minzdrav", w.operator)
    (before,) = w.workflow.clocks(incident.id).assignments
    # ...then the service restarts on config.yaml, where minzdrav works 08:00-17:00.
    config = load_config(ROOT / "config.yaml", {})
    assert recompute_at_start(w.workflow, config) == 1
    (after,) = w.workflow.clocks(incident.id).assignments
    assert after.clock.deadline != before.clock.deadline
    assert recompute_at_start(w.workflow, config) == 0  # a plain restart moves nothing
