"""Test the pipeline's batch path: one transaction a batch, rolled back whole, split on failure."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

from app.pipeline import Pipeline
from app.workflow import MessageLink
from storage.enums import IncidentStatus
from storage.repositories import EventRepository, IncidentRepository
from storage.repositories.classifications import ClassificationRepository
from storage.repositories.grouping import GroupingRepository
from tests.app.test_pipeline_support import LEMMATIZER, KeywordClassifier, add_source, comment, post
from tests.factories import World, world

VERSION = "keywords:2026-11-23"
POTHOLES = (
    "В Слободском на улице Ленина 15 огромная яма на дороге, машины бьют колёса. Когда починят?",
    "Опять яма у дома Ленина 15 в Слободском, третью неделю никто не ремонтирует 😡",
    "<b>Яма</b> на Ленина 15 (Слободской) — уже ЯМИЩА, колесо пробил! Сколько можно?!",
    "Слободской, ул. Ленина, 15: яма на проезжей части так и не заделана, ездим по обочине",
)
CLINIC = "В поликлинике Котельнича невозможно записаться к терапевту, талонов нет на две недели"
THIN_COMMENT = "+1, та же беда 😢"
AD = "Продам диван недорого, самовывоз из Слободского, звоните"


def pipeline_for(w: World, **kw: Any) -> Pipeline:
    """Build a pipeline over a test world with the keyword classifier."""
    return Pipeline(
        sessionmaker=w.sm,
        workflow=w.workflow,
        classifier=KeywordClassifier(),
        lemmatizer=LEMMATIZER,
        clock=w.clock,
        **kw,
    )


@contextmanager
def commits(sm: sessionmaker[Session]) -> Iterator[list[int]]:
    """Count the commits on the world's engine while the block runs."""
    engine = sm.kw["bind"]
    seen: list[int] = []

    def on_commit(_conn: object) -> None:
        seen.append(1)

    event.listen(engine, "commit", on_commit)
    try:
        yield seen
    finally:
        event.remove(engine, "commit", on_commit)


def written(sm: sessionmaker[Session]) -> tuple[int, int, int, int]:
    """Return (incidents, links, events, verdicts) stored now."""
    with sm() as s:
        records = IncidentRepository(s).by_status(list(IncidentStatus))
        ids = [r.id for r in records]
        links = len(GroupingRepository(s).linked_messages(ids))
        events = sum(len(list(EventRepository(s).for_incident(i))) for i in ids)
        verdicts = sum(ClassificationRepository(s).by_version().values())
    return len(records), links, events, verdicts


def test_duplicates_in_one_batch_make_one_incident_in_one_transaction(db_url: str) -> None:
    w = world(db_url)
    source = add_source(w.sm)
    now = w.clock()
    for k, text in enumerate(POTHOLES):
        post(w.sm, source, text, now - timedelta(hours=4 - k), author=20 + k, views=100)
    post(w.sm, source, CLINIC, now - timedelta(minutes=30), author=40)
    post(w.sm, source, AD, now - timedelta(minutes=20), author=41)
    pipeline = pipeline_for(w)

    with commits(w.sm) as seen:
        report = pipeline.run_once()

    assert (report.classified, report.created, report.attached) == (6, 2, 3)
    assert report.errors == {}
    # Both incidents opened and routed, four links, the ad's verdict: one commit in all.
    assert len(seen) == 1
    assert pipeline.counters["pipeline.batch.committed"] == 1
    with w.sm() as s:
        records = IncidentRepository(s).by_status(list(IncidentStatus))
        pothole = next(r for r in records if r.executor_code == "adm-slobodskoy")
        counters = GroupingRepository(s).counters(pothole.id)
        events = [e.kind for e in EventRepository(s).for_incident(pothole.id)]
    assert (counters.message_count, counters.author_count, counters.reach) == (4, 4, 400)
    assert {r.status for r in records} == {IncidentStatus.ASSIGNED}
    assert events == ["create", "attach", "assign", "attach", "attach", "attach"]


def test_a_comment_and_its_post_in_one_batch_share_the_incident(db_url: str) -> None:
    w = world(db_url)
    source = add_source(w.sm)
    now = w.clock()
    first = post(w.sm, source, POTHOLES[0], now - timedelta(hours=2), author=11)
    comment(w.sm, source, first, THIN_COMMENT, now - timedelta(hours=1), author=12)

    report = pipeline_for(w).run_once()

    assert (report.created, report.attached, report.dropped) == (1, 1, {})
    with w.sm() as s:
        (incident,) = IncidentRepository(s).by_status(list(IncidentStatus))
        evidence = dict(GroupingRepository(s).evidence(incident.id))
    assert sorted(str(e["rule"]) for e in evidence.values()) == ["comment-of-post", "new-incident"]


def outage() -> sa.exc.OperationalError:
    """The error psycopg gives when the server goes away mid-transaction."""
    return sa.exc.OperationalError(
        "INSERT INTO message_links", {}, Exception("server closed the connection unexpectedly")
    )


def test_an_outage_mid_batch_leaves_nothing_and_the_next_run_does_it_all(db_url: str) -> None:
    w = world(db_url)
    source = add_source(w.sm)
    now = w.clock()
    for k, text in enumerate(POTHOLES):
        post(w.sm, source, text, now - timedelta(hours=4 - k), author=20 + k)
    post(w.sm, source, CLINIC, now - timedelta(minutes=30), author=40)
    pipeline = pipeline_for(w)
    real = w.workflow.attach_messages
    calls: list[int] = []

    def fail_at_the_third(links: list[tuple[int, MessageLink]], **kw: Any) -> None:
        # The batch's attaches are written together: the outage hits while writing them.
        calls.extend(link.message_id for _, link in links)
        if len(calls) >= 3:
            raise outage()
        real(links, **kw)

    w.workflow.attach_messages = fail_at_the_third  # type: ignore[method-assign]
    with pytest.raises(sa.exc.OperationalError):
        pipeline.run_once()
    # The incidents, their routing and the attaches were written before the failure: none stayed.
    assert calls
    assert written(w.sm) == (0, 0, 0, 0)
    with w.sm() as s:
        assert ClassificationRepository(s).count_pending(VERSION) == 5

    w.workflow.attach_messages = real  # type: ignore[method-assign]
    report = pipeline.run_once()
    assert (report.classified, report.created, report.attached, report.errors) == (5, 2, 3, {})
    incidents, links, _, verdicts = written(w.sm)
    assert (incidents, links, verdicts) == (2, 5, 5)


def test_an_outage_while_preparing_a_batch_is_an_outage_not_the_messages_fault(
    sqlite_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    w = world(sqlite_url)
    source = add_source(w.sm)
    post(w.sm, source, CLINIC, w.clock() - timedelta(minutes=30), author=40)
    pipeline = pipeline_for(w)
    group = next(stage for stage in pipeline.stages if stage.name == "group")
    real = group.prepare

    def server_gone(items: Any) -> None:
        raise outage()

    group.prepare = server_gone  # type: ignore[method-assign]
    with caplog.at_level("ERROR"), pytest.raises(sa.exc.OperationalError):
        pipeline.run_once()
    # The job's outage watcher reports it once; no traceback, no error counted on the messages.
    assert not [r for r in caplog.records if r.levelname == "ERROR"]
    assert not any(k.startswith("pipeline.error") and v for k, v in pipeline.counters.items())

    group.prepare = real  # type: ignore[method-assign]
    report = pipeline.run_once()
    assert (report.classified, report.created, report.errors) == (1, 1, {})


def test_a_failure_mid_batch_is_rolled_back_and_the_split_batch_stores_each_once(
    sqlite_url: str,
) -> None:
    w = world(sqlite_url)
    source = add_source(w.sm)
    now = w.clock()
    for k, text in enumerate(POTHOLES):
        post(w.sm, source, text, now - timedelta(hours=4 - k), author=20 + k)
    post(w.sm, source, CLINIC, now - timedelta(minutes=30), author=40)
    pipeline = pipeline_for(w)
    real = w.workflow.attach_messages
    failed: list[int] = []

    def fail_once(links: list[tuple[int, MessageLink]], **kw: Any) -> None:
        for _, link in links:
            if len(failed) == 0 and link.message_key.endswith(str(failed_key)):
                failed.append(link.message_id)
                raise RuntimeError("constraint violated")
        real(links, **kw)

    with w.sm() as s:
        pending = ClassificationRepository(s).pending(VERSION, limit=10)
    failed_key = pending[2].key.split(":", 1)[1]
    w.workflow.attach_messages = fail_once  # type: ignore[method-assign]

    report = pipeline.run_once()

    assert failed  # the third message failed once, in the whole batch's transaction
    assert pipeline.counters["pipeline.batch.split"] >= 1
    # Retried in halves at once: each message stored once, no incident or event twice.
    assert (report.classified, report.created, report.attached, report.errors) == (5, 2, 3, {})
    incidents, links, events, verdicts = written(w.sm)
    assert (incidents, links, verdicts) == (2, 5, 5)
    assert events == 2 * 2 + 5  # create and assign of each incident, an attach a message


def test_a_poisoned_message_does_not_block_the_others(db_url: str) -> None:
    w = world(db_url)
    source = add_source(w.sm)
    now = w.clock()
    post(w.sm, source, POTHOLES[0], now - timedelta(hours=3), author=11)
    poison_key = post(w.sm, source, CLINIC, now - timedelta(hours=2), author=12)
    post(w.sm, source, POTHOLES[1], now - timedelta(hours=1), author=13)
    post(w.sm, source, AD, now - timedelta(minutes=10), author=14)
    pipeline = pipeline_for(w)
    real = w.workflow.open_incidents_with_messages

    def refuse_poison(opened: Sequence[tuple[Any, Any, MessageLink]], **kw: Any) -> Any:
        # The batch's new incidents are written together: one bad row fails the whole write.
        if any(link.message_key.endswith(poison_key) for _, _, link in opened):
            raise ValueError("value too long for type character varying(200)")
        return real(opened, **kw)

    w.workflow.open_incidents_with_messages = refuse_poison  # type: ignore[method-assign]

    first = pipeline.run_once()
    # The others are stored in the same run; the poisoned one is left for the next.
    assert (first.classified, first.created, first.attached) == (4, 1, 1)
    assert first.dropped == {"not_complaint": 1}
    assert first.errors == {"store": 1}
    with w.sm() as s:
        (left,) = ClassificationRepository(s).pending(VERSION, limit=10)
    assert left.key.endswith(poison_key)

    second = pipeline.run_once()
    assert (second.classified, second.errors) == (1, {"store": 1})
    third = pipeline.run_once()
    # The third failure sets it aside: stored without an incident, named in the log.
    assert third.errors == {"store": 1, "poisoned": 1}
    with w.sm() as s:
        assert ClassificationRepository(s).count_pending(VERSION) == 0
    assert pipeline.run_once().classified == 0
    assert written(w.sm)[0] == 1
