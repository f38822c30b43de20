"""Test the batch's bulk opening: new incidents under reserved ids, written together."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

from app.workflow import SYSTEM
from storage.enums import IncidentStatus
from storage.repositories import EventRepository, IncidentRepository, NewIncident
from storage.repositories.grouping import GroupingRepository
from tests.app.test_pipeline_batch import pipeline_for, written
from tests.app.test_pipeline_support import add_source, post
from tests.factories import World, world

#: Complaints that open an incident each: another topic or another town every time.
DISTINCT = (
    "Нет горячей воды в Котельниче на улице Гагарина 3 уже неделю, дети моются из тазика 😡",
    "В поликлинике Слободского не записаться к терапевту: талонов нет, регистратура молчит",
    "<p>Огромная ЯМА на улице Советской 40 в Котельниче</p>, пробили колесо!!!",
    "Яма у дома Ленина 15 в Слободском, третью неделю никто не ремонтирует",
    "Слободской, Кирова 7: воды нет с утра, когда дадут? Никто не отвечает по телефону",
    "В поликлинике Котельнича очередь на улице, к терапевту не попасть — " + "безобразие! " * 40,
)


@contextmanager
def statements(sm: sessionmaker[Session]) -> Iterator[list[str]]:
    """Collect the SQL statements run on the world's engine while the block runs."""
    engine = sm.kw["bind"]
    seen: list[str] = []

    def on_statement(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(" ".join(statement.split()).upper())

    event.listen(engine, "before_cursor_execute", on_statement)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", on_statement)


def backlog(db_url: str, texts: tuple[str, ...]) -> World:
    """A world with a source and one post per text, oldest first."""
    w = world(db_url)
    source = add_source(w.sm)
    for k, text in enumerate(texts):
        post(w.sm, source, text, w.clock() - timedelta(hours=5, minutes=-k), author=30 + k)
    return w


def test_a_batch_opens_its_new_incidents_in_a_bounded_number_of_statements(db_url: str) -> None:
    w = backlog(db_url, DISTINCT[:2])
    # Every one to triage: the assignment of an executor is written one by one.
    pipeline = pipeline_for(w, min_complaint_confidence=1.01)
    writes: list[list[str]] = []
    for run, texts in enumerate(((), DISTINCT[2:])):
        source = add_source(w.sm, owner=-500 - run)
        for k, text in enumerate(texts):
            post(w.sm, source, text, w.clock() - timedelta(hours=2, minutes=k), owner=-500 - run)
        with statements(w.sm) as seen:
            report = pipeline.run_once()
        assert (report.created, report.attached, report.errors) == (len(texts) or 2, 0, {})
        writes.append([s for s in seen if s.startswith(("INSERT", "UPDATE", "DELETE"))])
        assert sum(s.startswith("INSERT INTO INCIDENTS ") for s in writes[-1]) == 1
    assert written(w.sm) == (6, 6, 3 * 6, 6)  # create, attach and triage events each
    # Twice the incidents, the same writes: one statement a table, not one an incident.
    assert len(writes[1]) == len(writes[0])


def test_each_new_incident_keeps_its_rows_and_events_in_order(db_url: str) -> None:
    w = backlog(db_url, DISTINCT[:3])
    operator_made = w.workflow.open_incident(
        NewIncident(public_number="2026-OP1", title="Открыто оператором"), SYSTEM
    )
    report = pipeline_for(w).run_once()
    assert (report.created, report.errors) == (3, {})
    with w.sm() as s:
        records = [
            r
            for r in IncidentRepository(s).by_status(list(IncidentStatus))
            if r.id != operator_made.id
        ]
        histories = {r.id: [e.kind for e in EventRepository(s).for_incident(r.id)] for r in records}
        counters = {r.id: GroupingRepository(s).counters(r.id) for r in records}
    assert len({r.id for r in records}) == 3
    assert all(r.id > operator_made.id for r in records)
    for record in records:
        assert histories[record.id][:2] == ["create", "attach"]
        assert histories[record.id][2] in ("assign", "triage")
        assert counters[record.id].message_count == 1
        assert record.public_number.startswith(f"{w.clock():%Y}-M")


def test_a_failure_inside_the_bulk_opening_rolls_the_whole_batch_back(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    w = backlog(db_url, DISTINCT[:4])
    real = GroupingRepository.add_fingerprints_many
    calls: list[int] = []

    def fail_after_the_incidents(self: GroupingRepository, *args: Any, **kw: Any) -> Any:
        calls.append(1)
        raise RuntimeError("disk full")  # the incidents and links are inserted by now

    monkeypatch.setattr(GroupingRepository, "add_fingerprints_many", fail_after_the_incidents)
    pipeline = pipeline_for(w)
    failed = pipeline.run_once()
    assert calls  # the bulk write was reached
    assert failed.errors == {"store": 4}  # split down to each message, each failing alone
    assert failed.created == 0
    assert written(w.sm) == (0, 0, 0, 0)  # no incident, link, event or verdict left

    monkeypatch.setattr(GroupingRepository, "add_fingerprints_many", real)
    retried = pipeline.run_once()
    assert (retried.created, retried.errors) == (4, {})
    assert written(w.sm)[:2] == (4, 4)


def test_reserved_ids_are_never_handed_out_twice(db_url: str) -> None:
    w = world(db_url)
    before = w.workflow.open_incident(NewIncident(public_number="2026-OP1", title="Первое"))
    with w.sm.begin() as first:
        mine = IncidentRepository(first).reserve_ids(3)
        more = IncidentRepository(first).reserve_ids(2)
    assert len(set(mine)) == 3
    assert min(mine) > before.id
    if db_url.startswith("postgresql"):
        # A sequence: two daemons reserving at once get different ids, used or not.
        assert not set(mine) & set(more)
        with w.sm.begin() as a, w.sm.begin() as b:
            assert not set(IncidentRepository(a).reserve_ids(5)) & set(
                IncidentRepository(b).reserve_ids(5)
            )
    else:
        # The ids after the largest stored: free while the write lock is held.
        assert mine == list(range(before.id + 1, before.id + 4))
    assert IncidentRepository(w.sm()).reserve_ids(0) == []


def test_a_queued_write_failing_when_a_surge_needs_it_fails_the_batch_not_the_surge(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.pipeline import Pipeline
    from tests.app.test_pipeline_support import LEMMATIZER, KeywordClassifier
    from tests.app.test_surge_pipeline import COMPLAINTS, SURGE

    w = world(db_url)
    source = add_source(w.sm)
    for n, text in enumerate(COMPLAINTS):
        post(w.sm, source, text, w.clock() - timedelta(minutes=90 - 10 * n), author=20 + n)
    # Without routing nothing else would refer to the new incidents before the commit.
    pipeline = Pipeline(
        sessionmaker=w.sm,
        workflow=w.workflow,
        classifier=KeywordClassifier(),
        lemmatizer=LEMMATIZER,
        clock=w.clock,
        surge=SURGE,
        stages=("classify", "complaint", "fresh", "group", "store"),
    )
    real = w.workflow.open_incidents_with_messages
    calls: list[int] = []

    def refuse_once(opened: Any, **kw: Any) -> Any:
        calls.append(len(opened))
        if len(calls) == 1:  # the write the surge asks for, with the whole batch queued
            raise RuntimeError("constraint violated")
        return real(opened, **kw)

    monkeypatch.setattr(w.workflow, "open_incidents_with_messages", refuse_once)
    report = pipeline.run_once()
    assert calls[0] == len(COMPLAINTS)
    # Taken for a failed surge, the queue would be lost and the verdicts committed without
    # their incidents; failing the batch, it is split and written again.
    assert pipeline.counters["pipeline.error.surge"] == 0
    assert pipeline.counters["pipeline.batch.split"] >= 1
    assert (report.created, report.errors) == (len(COMPLAINTS), {})
    assert written(w.sm)[:2] == (len(COMPLAINTS) + 1, len(COMPLAINTS))  # and the surge's parent


def test_ids_reserved_again_before_the_queue_is_written_follow_the_queued_ones(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Two ids at a time: the batch's third new incident reserves again while the first two
    # wait in the queue, not inserted (on SQLite the largest stored id is still the old one).
    monkeypatch.setattr("app.pipeline.RESERVE_IDS", 2)
    w = backlog(db_url, DISTINCT)
    pipeline = pipeline_for(w, min_complaint_confidence=1.01)

    report = pipeline.run_once()

    assert (report.created, report.errors) == (len(DISTINCT), {})
    assert pipeline.counters["pipeline.batch.split"] == 0  # not by halves after a clash
    with w.sm() as s:
        incidents = IncidentRepository(s).by_status(list(IncidentStatus))
    assert len({i.id for i in incidents}) == len(DISTINCT)


def test_reserving_after_ids_not_inserted_yet(sqlite_url: str) -> None:
    w = world(sqlite_url)
    before = w.workflow.open_incident(NewIncident(public_number="2026-OP1", title="Первое"))
    with w.sm.begin() as s:
        first = IncidentRepository(s).reserve_ids(2)
        again = IncidentRepository(s).reserve_ids(2, after=max(first))
    assert first == [before.id + 1, before.id + 2]
    assert again == [before.id + 3, before.id + 4]
