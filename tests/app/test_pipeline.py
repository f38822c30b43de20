"""Test the processing pipeline: classify, group, open or attach, route; drops, errors, re-runs."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from app.pipeline import DEFAULT_STAGES, Pipeline, routing_subject
from app.workflow import SYSTEM
from storage.enums import IncidentStatus, Priority
from storage.repositories import EventRepository, IncidentRepository
from storage.repositories.classifications import ClassificationRepository
from storage.repositories.grouping import GroupingRepository
from tests.app.test_pipeline_support import (
    LEMMATIZER,
    KeywordClassifier,
    add_source,
    comment,
    post,
)
from tests.factories import World, kirov, world

POTHOLE = (
    "В Слободском на улице Ленина 15 огромная яма на дороге, машины бьют колёса. Когда починят?"
)
POTHOLE_AGAIN = "Опять яма у дома Ленина 15 в Слободском, третью неделю никто не ремонтирует"
POTHOLE_COMMENT = "Да, яма на Ленина жуткая, я вчера там колесо пробил"
CLINIC = "В поликлинике Котельнича невозможно записаться к терапевту, талонов нет на две недели"
AD = "Продам диван недорого, самовывоз из Слободского, звоните"
GREETING = "Поздравляем с днём рождения нашу любимую бабушку!"


def pipeline_for(w: World, classifier: KeywordClassifier | None = None, **kw: object) -> Pipeline:
    """Build a pipeline over a test world with the keyword classifier."""
    return Pipeline(
        sessionmaker=w.sm,
        workflow=w.workflow,
        classifier=classifier or KeywordClassifier(),
        lemmatizer=LEMMATIZER,
        clock=w.clock,
        **kw,  # type: ignore[arg-type]
    )


def incidents(sm: sessionmaker[Session]) -> list[tuple[str, IncidentStatus, str | None, int]]:
    """Return (title start, status, executor, message count) of every incident."""
    with sm() as s:
        records = IncidentRepository(s).by_status(list(IncidentStatus))
        grouping = GroupingRepository(s)
        return [
            (r.title[:20], r.status, r.executor_code, grouping.counters(r.id).message_count)
            for r in records
        ]


def test_duplicates_and_comments_join_one_incident_routed_to_its_executor(db_url: str) -> None:
    w = world(db_url)
    source = add_source(w.sm)
    now = w.clock()
    first = post(w.sm, source, POTHOLE, now - timedelta(hours=3), author=11, views=500)
    post(w.sm, source, POTHOLE_AGAIN, now - timedelta(hours=2), author=12, views=300)
    comment(w.sm, source, first, POTHOLE_COMMENT, now - timedelta(hours=1), author=13)
    post(w.sm, source, CLINIC, now - timedelta(minutes=30), author=14)
    post(w.sm, source, AD, now - timedelta(minutes=20), author=15)
    post(w.sm, source, GREETING, now - timedelta(minutes=10), author=16)
    pipeline = pipeline_for(w)

    report = pipeline.run_once()

    assert report.classified == 6
    assert report.complaints == 4
    assert report.created == 2
    assert report.attached == 2
    assert report.dropped == {"not_complaint": 2}
    assert report.routed_auto == 2
    assert report.errors == {}
    rows = sorted(incidents(w.sm), key=lambda r: r[3])
    # The clinic complaint: Здравоохранение -> minzdrav; the pothole: Дороги -> the municipality.
    assert [(r[1], r[2], r[3]) for r in rows] == [
        (IncidentStatus.ASSIGNED, "minzdrav", 1),
        (IncidentStatus.ASSIGNED, "adm-slobodskoy", 3),
    ]
    with w.sm() as s:
        pothole = next(
            r
            for r in IncidentRepository(s).by_status([IncidentStatus.ASSIGNED])
            if r.executor_code == "adm-slobodskoy"
        )
        grouping = GroupingRepository(s)
        counters = grouping.counters(pothole.id)
        evidence = dict(grouping.evidence(pothole.id))
        events = [e.kind for e in EventRepository(s).for_incident(pothole.id)]
        verdicts = ClassificationRepository(s).by_version()
    assert counters.author_count == 3
    assert counters.reach == 800
    # Every link keeps why it was made, and the grouping version that made it.
    rules = sorted(str(e["rule"]) for e in evidence.values())
    assert "comment-of-post" in rules
    assert "new-incident" in rules
    assert all(e["grouping_version"] for e in evidence.values())
    assert events == ["create", "attach", "assign", "attach", "attach"]
    assert verdicts == {"keywords:2026-11-23": 6}
    assert pipeline.counters["pipeline.drop.not_complaint"] == 2


def test_a_second_run_does_nothing_and_a_new_duplicate_attaches(sqlite_url: str) -> None:
    w = world(sqlite_url)
    source = add_source(w.sm)
    now = w.clock()
    post(w.sm, source, POTHOLE, now - timedelta(hours=3), author=11)
    classifier = KeywordClassifier()
    pipeline = pipeline_for(w, classifier)
    assert pipeline.run_once().created == 1

    again = pipeline.run_once()
    assert (again.classified, again.created, again.attached) == (0, 0, 0)

    post(w.sm, source, POTHOLE_AGAIN, now - timedelta(hours=1), author=12)
    # A fresh process (the daemon restarted) rebuilds the index from the database.
    restarted = pipeline_for(w, classifier)
    report = restarted.run_once()
    assert (report.created, report.attached) == (0, 1)
    assert restarted.last_rebuild is not None
    assert (restarted.last_rebuild.incidents, restarted.last_rebuild.messages) == (1, 1)


def test_a_crash_before_storing_leaves_the_message_for_the_next_run(sqlite_url: str) -> None:
    w = world(sqlite_url)
    source = add_source(w.sm)
    post(w.sm, source, POTHOLE, w.clock() - timedelta(hours=1))
    pipeline = pipeline_for(w)
    real = w.workflow.open_incidents_with_messages

    def crash(*args: object, **kwargs: object) -> object:
        raise RuntimeError("disk full")

    w.workflow.open_incidents_with_messages = crash  # type: ignore[method-assign]
    failed = pipeline.run_once()
    assert failed.errors == {"store": 1}
    assert failed.created == 0
    assert incidents(w.sm) == []
    with w.sm() as s:
        assert ClassificationRepository(s).count_pending("keywords:2026-11-23") == 1

    w.workflow.open_incidents_with_messages = real  # type: ignore[method-assign]
    retried = pipeline.run_once()
    assert (retried.created, retried.errors) == (1, {})
    assert len(incidents(w.sm)) == 1


def test_a_message_linked_already_is_skipped(sqlite_url: str) -> None:
    w = world(sqlite_url)
    source = add_source(w.sm)
    post(w.sm, source, POTHOLE, w.clock() - timedelta(hours=1))
    first = pipeline_for(w, KeywordClassifier(version="keywords:old"))
    assert first.run_once().created == 1
    # A new model version re-reads every message (rule 11); the linked one is not grouped twice.
    second = pipeline_for(w, KeywordClassifier(version="keywords:new"))
    report = second.run_once()
    assert (report.classified, report.created, report.attached) == (1, 0, 0)
    assert report.dropped == {"already_linked": 1}
    assert len(incidents(w.sm)) == 1


def test_tombstoned_repeats_are_dropped_before_lookup(sqlite_url: str) -> None:
    w = world(sqlite_url)
    source = add_source(w.sm)
    post(w.sm, source, POTHOLE, w.clock() - timedelta(hours=2))
    pipeline = pipeline_for(w)
    pipeline.run_once()
    (incident_id,) = pipeline.index.open_incident_ids()
    dismissed = pipeline.index.dismiss(incident_id, reason="спам", at=w.clock())
    assert dismissed
    w.workflow.record_tombstones(incident_id, [t.fingerprint for t in dismissed], reason="спам")
    post(w.sm, source, POTHOLE, w.clock() - timedelta(hours=1), author=99)
    # The tombstones come back from the database in a new process.
    report = pipeline_for(w).run_once()
    assert report.dropped == {"tombstoned": 1}
    assert report.created == 0


def test_low_confidence_goes_to_triage(sqlite_url: str) -> None:
    w = world(sqlite_url)
    source = add_source(w.sm)
    post(w.sm, source, CLINIC, w.clock() - timedelta(hours=1))
    post(w.sm, source, POTHOLE, w.clock() - timedelta(hours=1), author=5)
    unsure = KeywordClassifier(topic_confidence=0.5)
    report = pipeline_for(w, unsure).run_once()
    assert (report.created, report.routed_auto, report.triage) == (2, 0, 2)
    assert {r[1] for r in incidents(w.sm)} == {IncidentStatus.TRIAGE}


def test_old_deleted_and_failing_messages_are_counted(sqlite_url: str) -> None:
    w = world(sqlite_url)
    source = add_source(w.sm)
    post(w.sm, source, POTHOLE, w.clock() - timedelta(days=30))
    failing = KeywordClassifier(fail=True)
    pipeline = pipeline_for(w, failing)
    report = pipeline.run_once()
    assert report.errors == {"classify": 1}
    assert pipeline.counters["pipeline.error.classify"] == 1
    failing.fail = False
    report = pipeline.run_once()
    assert report.dropped == {"too_old": 1}
    assert incidents(w.sm) == []


def test_an_interrupted_routing_is_recovered_into_triage(sqlite_url: str) -> None:
    w = world(sqlite_url)
    source = add_source(w.sm)
    post(w.sm, source, CLINIC, w.clock() - timedelta(hours=1))
    pipeline = pipeline_for(w, stages=DEFAULT_STAGES[:-1])  # no route stage: a crash after store
    assert pipeline.run_once().created == 1
    assert [r[1] for r in incidents(w.sm)] == [IncidentStatus.NEW]
    report = pipeline_for(w).run_once()
    assert report.triage == 1
    assert [r[1] for r in incidents(w.sm)] == [IncidentStatus.TRIAGE]


def test_stage_order_is_checked() -> None:
    w_stub = None
    with pytest.raises(ValueError, match="start with the classify"):
        Pipeline(
            sessionmaker=w_stub,  # type: ignore[arg-type]
            workflow=w_stub,  # type: ignore[arg-type]
            classifier=KeywordClassifier(),
            lemmatizer=LEMMATIZER,
            clock=lambda: kirov("2025-10-14T10:00"),
            stages=("complaint", "classify"),
        )
    with pytest.raises(ValueError, match="unknown"):
        Pipeline(
            sessionmaker=w_stub,  # type: ignore[arg-type]
            workflow=w_stub,  # type: ignore[arg-type]
            classifier=KeywordClassifier(),
            lemmatizer=LEMMATIZER,
            clock=lambda: kirov("2025-10-14T10:00"),
            stages=("classify", "spam"),
        )


def test_urgent_words_and_many_authors_raise_priority(sqlite_url: str) -> None:
    w = world(sqlite_url)
    source = add_source(w.sm)
    now = w.clock()
    texts = [
        "В Слободском на Ленина 15 прорвало трубу, нет воды, вода заливает подвал, срочно!",
        "Ленина 15 Слободской: нет воды с утра, прорыв трубы, подвал затоплен",
        "У нас на Ленина 15 в Слободском нет воды, трубу прорвало, когда дадут воду?",
        "Слободской, Ленина 15 — опять нет воды, прорыв, дети без воды",
    ]
    for n, text in enumerate(texts):
        post(w.sm, source, text, now - timedelta(minutes=50 - n), author=100 + n, views=2000)
    report = pipeline_for(w).run_once()
    assert report.created + report.attached == 4
    with w.sm() as s:
        top = max(
            (
                GroupingRepository(s).counters(r.id)
                for r in IncidentRepository(s).by_status(list(IncidentStatus))
            ),
            key=lambda c: c.message_count,
        )
    assert top.message_count >= 2
    assert top.priority in (Priority.HIGH, Priority.URGENT)
    assert SYSTEM.role.value == "system"


def test_a_group_rule_relies_on_the_group_confidence_a_topic_rule_on_the_topic() -> None:
    from classifier.types import Classification
    from router.jurisdiction import Jurisdiction, Rule

    jurisdiction = Jurisdiction(
        (
            Rule(topic_group="ЖКХ", topic="Плата за ЖКУ", executor="minzhkh"),
            Rule(topic_group="ЖКХ", executor="gzhi"),
        ),
        min_confidence=0.8,
    )

    def verdict(topic: str) -> Classification:
        return Classification(
            is_complaint=True,
            complaint_confidence=0.95,
            topic_group="ЖКХ",
            topic=topic,
            topic_confidence=0.4,
            municipality=None,
            municipality_oktmo=None,
            municipality_confidence=0.0,
            model_version="m",
            topic_group_confidence=0.93,
        )

    hot_water = routing_subject(verdict("Отсутствие горячей воды"), jurisdiction)
    assert hot_water.topic_confidence == 0.93
    assert jurisdiction.route(hot_water).executor == "gzhi"
    bills = routing_subject(verdict("Плата за ЖКУ"), jurisdiction)
    assert bills.topic_confidence == 0.4
    assert jurisdiction.route(bills).executor is None  # the operator confirms
    assert routing_subject(verdict("Плата за ЖКУ"), None).topic_confidence == 0.4


def test_a_rejected_incident_stops_collecting_in_a_running_pipeline(sqlite_url: str) -> None:
    w = world(sqlite_url)
    source = add_source(w.sm)
    post(w.sm, source, POTHOLE, w.clock() - timedelta(hours=3), author=11)
    pipeline = pipeline_for(w, KeywordClassifier(topic_confidence=0.5))  # stays in triage
    assert pipeline.run_once().created == 1
    with w.sm() as s:
        (incident,) = IncidentRepository(s).by_status([IncidentStatus.TRIAGE])
    w.workflow.reject(incident, w.operator, reason="не жалоба")
    post(w.sm, source, POTHOLE_AGAIN, w.clock() - timedelta(hours=1), author=12)
    report = pipeline.run_once()  # the same process: its index learns of the rejection
    assert (report.created, report.attached) == (1, 0)
    assert pipeline.counters["pipeline.index.rebuilt"] == 2
    assert pipeline.run_once().classified == 0
    assert pipeline.counters["pipeline.index.rebuilt"] == 2  # nothing changed: no rebuild


def test_a_thin_comment_under_a_post_that_is_no_incident_opens_nothing(sqlite_url: str) -> None:
    w = world(sqlite_url)
    source = add_source(w.sm)
    now = w.clock()
    old_post = post(w.sm, source, POTHOLE, now - timedelta(days=10), author=11)
    comment(w.sm, source, old_post, "Та же беда, яма", now - timedelta(hours=2), author=12)
    comment(
        w.sm,
        source,
        old_post,
        "У нас во дворе на Советской 8 тоже яма огромная, машины бьют колёса",
        now - timedelta(hours=1),
        author=13,
    )
    pipeline = pipeline_for(w)

    report = pipeline.run_once()

    assert report.dropped == {"too_old": 1, "comment_without_context": 1}
    assert report.created == 1  # the comment with its own address stands on its own
    assert pipeline.counters["pipeline.drop.comment_without_context"] == 1
    # Dropped, the thin comment is still processed: a second run does not see it again.
    assert pipeline.run_once().classified == 0


def test_a_thin_comment_still_joins_its_posts_incident(sqlite_url: str) -> None:
    w = world(sqlite_url)
    source = add_source(w.sm)
    now = w.clock()
    first = post(w.sm, source, POTHOLE, now - timedelta(hours=3), author=11)
    comment(w.sm, source, first, "Та же беда, яма", now - timedelta(hours=1), author=12)
    report = pipeline_for(w).run_once()
    assert (report.created, report.attached) == (1, 1)
    assert report.dropped == {}
