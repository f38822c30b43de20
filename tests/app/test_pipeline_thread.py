"""The pipeline reads comments in their thread: support, the same problem elsewhere, talk."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from zoneinfo import ZoneInfo

from app.overview import read_overview
from app.pipeline import Pipeline
from classifier.types import Classification, ClassificationInput
from storage.enums import IncidentStatus, Priority
from storage.repositories import IncidentRepository
from storage.repositories.grouping import GroupingRepository
from tests.app.test_pipeline_support import (
    LEMMATIZER,
    KeywordClassifier,
    add_source,
    comment,
    post,
)
from tests.factories import world
from web.views import render_overview

POTHOLE = (
    "В Слободском на улице Ленина 15 огромная яма на дороге, машины бьют колёса. Когда починят?"
)
# (text, what a noise-aware model calls it: None for a complaint, else the kind)
KINDS = {
    "+": "reaction",
    "👍👍👍": "reaction",
    "Позор, а налоги платим исправно": "reaction",
    "Пишите в ЦУР, там быстрее реагируют": "advice",
    "Сфотографируйте и отправьте в Госуслуги, там отвечают": "advice",
    "Дарья, так это не их участок, это УК должна": "reply",
    "У нас на ул. Щорса то же самое": "reaction",
    "Продам гараж недорого": "ad",
}


@dataclass
class KindClassifier:
    """The keyword double, plus the kinds of non-complaint a noise-aware model names."""

    inner: KeywordClassifier
    version: str = "kinds:2026-12-03"

    def classify_many(self, items: Sequence[ClassificationInput]) -> list[Classification]:
        """Classify by keywords; the texts of KINDS are non-complaints of that kind."""
        out = []
        for item, result in zip(items, self.inner.classify_many(items), strict=True):
            kind = KINDS.get(item.text)
            if kind is not None:
                result = replace(
                    result,
                    is_complaint=False,
                    complaint_confidence=0.1,
                    topic_group="Благоустройство",
                    topic="Уборка территорий",
                    kind=kind,
                )
            out.append(result)
        return out


def test_reactions_and_advice_support_the_posts_incident_and_talk_stops(sqlite_url: str) -> None:
    w = world(sqlite_url)
    source = add_source(w.sm)
    now = w.clock()
    first = post(w.sm, source, POTHOLE, now - timedelta(hours=3), author=11)
    for n, text in enumerate(KINDS, start=1):
        comment(w.sm, source, first, text, now - timedelta(minutes=90 - n), author=20 + n)
    pipeline = Pipeline(
        sessionmaker=w.sm,
        workflow=w.workflow,
        classifier=KindClassifier(KeywordClassifier()),
        lemmatizer=LEMMATIZER,
        clock=w.clock,
    )

    report = pipeline.run_once()

    # The post opens one incident; five comments support it; «у нас на Щорса то же самое»
    # opens a second with the post's topic; the reply to Дарья and the ad go no further.
    assert report.created == 2
    assert report.attached == 5
    assert report.dropped == {"discussion": 1, "not_complaint": 1}
    assert pipeline.counters["pipeline.thread.support"] == 5
    assert pipeline.counters["pipeline.thread.same_elsewhere"] == 1
    with w.sm() as s:
        records = IncidentRepository(s).by_status(list(IncidentStatus))
        grouping = GroupingRepository(s)
        by_title = {r.title[:12]: r for r in records}
        pothole = by_title["В Слободском"]
        shchorsa = by_title["У нас на ул."]
        counters = grouping.counters(pothole.id)
        evidence = dict(grouping.evidence(pothole.id))
        elsewhere = dict(grouping.evidence(shchorsa.id))
    assert counters.message_count == 6
    assert counters.author_count == 6
    assert counters.priority is not Priority.LOW  # six authors raise it
    notes = sorted(str(e["note"]) for e in evidence.values() if e["note"])
    assert sum(n.startswith("support (reaction)") for n in notes) == 3
    assert sum(n.startswith("support (advice)") for n in notes) == 2
    # The second incident takes the post's topic and names the first one.
    assert (shchorsa.topic_group, shchorsa.topic) == (pothole.topic_group, pothole.topic)
    (link,) = elsewhere.values()
    assert f"the same problem as incident {pothole.id}" in str(link["note"])
    # The start screen shows the support next to the incident.
    overview = read_overview(w.sm)
    supported = {row.number: row.supported for row in overview.latest}
    # The two are related, not merged: linked under a parent (app/related.py).
    assert shchorsa.parent_incident_id is not None
    assert pothole.parent_incident_id == shchorsa.parent_incident_id
    parent = next(r for r in records if r.id == shchorsa.parent_incident_id)
    assert supported == {
        pothole.public_number: 5,
        shchorsa.public_number: 0,
        parent.public_number: 0,
    }
    html = render_overview(overview, ZoneInfo("Europe/Kirov"))
    assert html.count("поддержали: 5") == 1
    assert "поддержали: 0" not in html


def test_without_a_post_incident_a_reaction_opens_nothing(sqlite_url: str) -> None:
    w = world(sqlite_url)
    source = add_source(w.sm)
    now = w.clock()
    first = post(w.sm, source, "Продам гараж недорого", now - timedelta(hours=2))
    comment(w.sm, source, first, "+", now - timedelta(hours=1))
    comment(w.sm, source, first, "Пишите в ЦУР, там быстрее реагируют", now - timedelta(hours=1))
    pipeline = Pipeline(
        sessionmaker=w.sm,
        workflow=w.workflow,
        classifier=KindClassifier(KeywordClassifier()),
        lemmatizer=LEMMATIZER,
        clock=w.clock,
    )
    report = pipeline.run_once()
    assert report.created == 0
    assert report.dropped == {"not_complaint": 3}


KIROV = ZoneInfo("Europe/Kirov")
MONTHS = "января февраля марта апреля мая июня июля августа сентября октября ноября декабря"


def test_a_complaint_during_a_planned_outage_names_the_notice(sqlite_url: str) -> None:
    w = world(sqlite_url)
    source = add_source(w.sm)
    now = w.clock()
    day = (now - timedelta(hours=1)).astimezone(KIROV)
    text = (
        f"Уважаемые жители! В связи с ремонтом водопровода {day.day} "
        f"{MONTHS.split()[day.month - 1]} с 0:00 до 23:59 будет отключено холодное "
        "водоснабжение по ул. Ленина. МУП «Водоканал»"
    )
    KINDS[text] = "notice"
    try:
        notice = post(w.sm, source, text, now - timedelta(days=1, hours=2))
        complaint = post(
            w.sm, source, "В Слободском на Ленина 15 нет воды с утра!", now - timedelta(hours=1)
        )
        other = post(w.sm, source, "В Слободском на Мира 3 нет воды с утра", now)
        pipeline = Pipeline(
            sessionmaker=w.sm,
            workflow=w.workflow,
            classifier=KindClassifier(KeywordClassifier()),
            lemmatizer=LEMMATIZER,
            clock=w.clock,
            zone=KIROV,
        )
        report = pipeline.run_once()
    finally:
        del KINDS[text]
    assert report.created == 2
    assert pipeline.counters["pipeline.notice.seen"] == 1
    assert pipeline.counters["pipeline.notice.explained"] == 1
    with w.sm() as s:
        grouping = GroupingRepository(s)
        notes = {}
        for record in IncidentRepository(s).by_status(list(IncidentStatus)):
            (link,) = dict(grouping.evidence(record.id)).values()
            notes[record.title[:25]] = str(link["note"])
    assert f"плановое отключение: вода (vk:{notice})" in notes["В Слободском на Ленина 15"]
    assert "плановое отключение" not in notes["В Слободском на Мира 3 не"]
    assert complaint != other
