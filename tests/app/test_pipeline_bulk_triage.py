"""Test the batch's bulk triage: new incidents queued, written together, in each one's order."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event

from app.workflow import SYSTEM, ConcurrentUpdate, TransitionNotAllowed
from storage.enums import IncidentStatus
from storage.repositories import EventRepository, IncidentRepository, NewIncident
from tests.app.test_pipeline_batch import AD, CLINIC, POTHOLES, pipeline_for
from tests.app.test_pipeline_support import add_source, comment, post
from tests.factories import world


def test_a_batch_triages_its_new_incidents_in_one_update_keeping_each_ones_events(
    db_url: str,
) -> None:
    w = world(db_url)
    source = add_source(w.sm)
    now = w.clock()
    for k, text in enumerate(POTHOLES):
        post(w.sm, source, text, now - timedelta(hours=4 - k), author=20 + k, views=100)
    post(w.sm, source, CLINIC, now - timedelta(minutes=30), author=40)
    post(w.sm, source, AD, now - timedelta(minutes=20), author=41)
    # Every complaint below the confidence floor: both new incidents go to triage.
    pipeline = pipeline_for(w, min_complaint_confidence=1.01)
    updates: list[str] = []

    def on_statement(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("UPDATE INCIDENTS"):
            updates.append(statement)

    engine = w.sm.kw["bind"]
    event.listen(engine, "before_cursor_execute", on_statement)
    try:
        report = pipeline.run_once()
    finally:
        event.remove(engine, "before_cursor_execute", on_statement)

    assert (report.created, report.attached, report.triage) == (2, 3, 2)
    assert report.errors == {}
    # One state update for both incidents (the counters' executemany is the other UPDATE).
    assert sum(" status=" in u.replace(" status =", " status=") for u in updates) == 1
    with w.sm() as s:
        records = IncidentRepository(s).by_status(list(IncidentStatus))
        histories = {r.id: EventRepository(s).for_incident(r.id) for r in records}
    assert {(r.status, r.version) for r in records} == {(IncidentStatus.TRIAGE, 2)}
    pothole = max(records, key=lambda r: len(histories[r.id]))
    kinds = [e.kind for e in histories[pothole.id]]
    # The triage written after the batch's first attach of the incident, before the later ones.
    assert kinds == ["create", "attach", "triage", "attach", "attach", "attach"]
    triage = histories[pothole.id][2]
    assert (triage.from_status, triage.to_status) == ("new", "triage")
    assert str(triage.payload["reason"]).startswith("low complaint confidence")


def test_triage_many_checks_versions_and_transitions(db_url: str) -> None:
    w = world(db_url)
    opened = [
        w.workflow.open_incident(
            NewIncident(public_number=f"2026-T{k}", title="Яма на Ленина 15 🚧", summary="")
        )
        for k in range(3)
    ]
    stale = w.workflow.triage(opened[0], SYSTEM, reason="first")
    with pytest.raises(ConcurrentUpdate):
        w.workflow.triage_many([(opened[0], "again"), (opened[1], "b")], SYSTEM)
    with pytest.raises(TransitionNotAllowed):
        w.workflow.triage_many([(stale, "twice")], SYSTEM)
    saved = w.workflow.triage_many([(opened[2], "c"), (opened[1], "b")], SYSTEM)
    assert [(r.id, r.status, r.version) for r in saved] == [
        (opened[2].id, IncidentStatus.TRIAGE, 2),
        (opened[1].id, IncidentStatus.TRIAGE, 2),
    ]
    with w.sm() as s:
        reasons = [e.payload.get("reason") for e in EventRepository(s).for_incident(opened[1].id)]
    assert reasons == [None, "b"]  # the failed call above wrote nothing


def test_postings_no_fresh_message_can_reach_are_forgotten_and_late_comments_still_join(
    db_url: str,
) -> None:
    w = world(db_url)
    source = add_source(w.sm)
    first = post(w.sm, source, POTHOLES[0], w.clock() - timedelta(hours=2), author=11)
    pipeline = pipeline_for(w)
    assert pipeline.run_once().created == 1
    assert pipeline.counters["pipeline.index.expired_blocks"] == 0

    w.clock.advance(timedelta(days=8))  # past the fresh stage's 3 days and the 3-day window
    comment(
        w.sm, source, first, "Так и не заделали яму на Ленина 15, уже неделя прошла!", w.clock()
    )
    report = pipeline.run_once()

    assert pipeline.counters["pipeline.index.expired_blocks"] >= 1
    assert (report.created, report.attached) == (0, 1)
