"""Planned-outage notices are stored: a restarted daemon still explains complaints by them."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from app.pipeline import Pipeline
from router.notices import OutageNotice
from storage.enums import IncidentStatus
from storage.repositories import IncidentRepository
from storage.repositories.notices import NoticeRepository
from tests.app.test_pipeline_support import (
    LEMMATIZER,
    KeywordClassifier,
    add_source,
    comment,
    post,
)
from tests.app.test_pipeline_thread import KINDS, KIROV, MONTHS, KindClassifier
from tests.factories import World, world


def _pipeline(w: World) -> Pipeline:
    return Pipeline(
        sessionmaker=w.sm,
        workflow=w.workflow,
        classifier=KindClassifier(KeywordClassifier()),
        lemmatizer=LEMMATIZER,
        clock=w.clock,
        zone=KIROV,
    )


def test_a_restarted_pipeline_links_a_complaint_to_the_stored_notice(sqlite_url: str) -> None:
    w = world(sqlite_url)
    source = add_source(w.sm)
    now = w.clock()
    day = now.astimezone(KIROV)
    text = (
        f"Уважаемые жители! {day.day} {MONTHS.split()[day.month - 1]} с 0:00 до 23:59 будет "
        "отключено холодное водоснабжение по ул. Советская и ул. Ленина. Приносим извинения"
    )
    KINDS[text] = "notice"
    try:
        notice_post = post(w.sm, source, text, now - timedelta(hours=3))
        first = _pipeline(w)
        first.run_once()
        assert first.counters["pipeline.notice.seen"] == 1
        # A new process: nothing in memory, the notice comes from the database.
        post(w.sm, source, "В Слободском на Советской 8 нет воды с утра", now - timedelta(hours=1))
        post(w.sm, source, "В Слободском на Кирова 2 нет воды с утра", now)
        second = _pipeline(w)
        assert second.notices == {}
        report = second.run_once()
    finally:
        del KINDS[text]
    assert report.created == 2
    assert second.counters["pipeline.notice.linked"] == 1
    with w.sm() as s:
        records = IncidentRepository(s).by_status(list(IncidentStatus))
        ids = {r.title.split()[3]: r.id for r in records}  # the street
        linked = NoticeRepository(s).of_incidents(list(ids.values()))
    (notice,) = linked[ids["Советской"]]
    assert notice.key == f"vk:{notice_post}"
    assert notice.label == "плановое отключение: вода"
    assert {"советск", "ленин"} <= notice.streets
    assert ids["Кирова"] not in linked


def test_an_edited_notice_is_stored_once(sqlite_url: str) -> None:
    w = world(sqlite_url)
    now = w.clock()
    notice = OutageNotice(
        key="vk:-1_5",
        service="вода",
        topic_group="ЖКХ",
        streets=frozenset({"мир"}),
        starts_at=now,
        ends_at=now + timedelta(hours=8),
        text="Отключение воды по ул. Мира",
    )
    with w.sm.begin() as s:
        repo = NoticeRepository(s)
        first = repo.save(notice)
        edited = replace(notice, service="горячая вода")
        assert repo.save(edited) == first
        assert not repo.link(1, "vk:-1_404")
    with w.sm() as s:
        (stored,) = NoticeRepository(s).in_force(now)
        assert stored.service == "горячая вода"
        assert stored.streets == frozenset({"мир"})
        assert stored.starts_at == now
        assert NoticeRepository(s).in_force(now + timedelta(days=1)) == []


def test_a_comment_announcing_an_outage_is_no_notice(sqlite_url: str) -> None:
    w = world(sqlite_url)
    source = add_source(w.sm)
    now = w.clock()
    day = now.astimezone(KIROV)
    text = (
        f"Говорят, {day.day} {MONTHS.split()[day.month - 1]} с 9:00 до 18:00 будет отключено "
        "холодное водоснабжение по ул. Советская"
    )
    KINDS[text] = "notice"
    try:
        first = post(w.sm, source, "Продам гараж недорого", now - timedelta(hours=3))
        comment(w.sm, source, first, text, now - timedelta(hours=2))
        pipeline = _pipeline(w)
        pipeline.run_once()
    finally:
        del KINDS[text]
    assert pipeline.counters["pipeline.notice.seen"] == 0
    with w.sm() as s:
        assert NoticeRepository(s).in_force(now - timedelta(days=1)) == []


def test_a_post_announcing_an_outage_called_a_complaint_is_read_as_a_notice(
    sqlite_url: str,
) -> None:
    w = world(sqlite_url)
    source = add_source(w.sm)
    now = w.clock()
    day = now.astimezone(KIROV)
    # The keyword classifier calls this a complaint («вод»): the pipeline reads the notice.
    post(
        w.sm,
        source,
        f"Уважаемые жители! {day.day} {MONTHS.split()[day.month - 1]} с 0:00 до 23:59 плановое "
        "отключение холодного водоснабжения по ул. Советская",
        now - timedelta(hours=3),
    )
    post(w.sm, source, "В Слободском на Советской 8 нет воды с утра", now - timedelta(hours=1))
    pipeline = _pipeline(w)
    report = pipeline.run_once()
    assert report.created == 1
    assert report.dropped.get("notice") == 1
    assert pipeline.counters["pipeline.notice.seen"] == 1
    assert pipeline.counters["pipeline.notice.linked"] == 1
