"""The same failure at neighbouring houses: two incidents, related under one parent."""

from __future__ import annotations

from datetime import timedelta

from app.pipeline import Pipeline
from storage.enums import IncidentStatus, Network
from storage.repositories import IncidentRepository
from storage.repositories.events import EventRepository
from storage.repositories.sources import SourceRepository
from tests.app.test_pipeline_support import (
    LEMMATIZER,
    KeywordClassifier,
    add_source,
    post,
)
from tests.factories import SLOBODSKOY, world


def test_neighbouring_houses_without_hot_water_are_linked_under_a_parent(sqlite_url: str) -> None:
    w = world(sqlite_url)
    source = add_source(w.sm)
    now = w.clock()
    post(
        w.sm,
        source,
        "В Слободском на ул. Ленина, д. 10 нет горячей воды с утра",
        now - timedelta(hours=3),
        author=1,
    )
    post(
        w.sm,
        source,
        "Слободской, Ленина 12 — тоже нет горячей воды, с утра сидим без воды",
        now - timedelta(hours=2),
        author=2,
    )
    post(
        w.sm,
        source,
        "Слободской, Мира 3: нет горячей воды третий день",
        now - timedelta(hours=1),
        author=3,
    )
    pipeline = Pipeline(
        sessionmaker=w.sm,
        workflow=w.workflow,
        classifier=KeywordClassifier(),
        lemmatizer=LEMMATIZER,
        clock=w.clock,
    )

    report = pipeline.run_once()

    assert report.created == 3  # one per house: another house may be another problem
    assert pipeline.counters["pipeline.related.linked"] == 1
    with w.sm() as s:
        records = IncidentRepository(s).by_status(list(IncidentStatus))
    ten = next(r for r in records if "д. 10" in r.title)
    twelve = next(r for r in records if "Ленина 12" in r.title)
    mira = next(r for r in records if "Мира 3" in r.title)
    assert ten.parent_incident_id is not None
    assert twelve.parent_incident_id == ten.parent_incident_id
    assert mira.parent_incident_id is None
    parent = next(r for r in records if r.id == ten.parent_incident_id)
    assert parent.title.startswith("Одна авария, несколько адресов")
    assert parent.topic_group == ten.topic_group


def test_a_located_message_about_the_same_address_gives_the_incident_its_town(
    sqlite_url: str,
) -> None:
    w = world(sqlite_url)
    with w.sm.begin() as s:  # a region-wide community: no municipality of its own
        region_wide = SourceRepository(s).add(Network.VK, "-170100", screen_name="club170100")
    now = w.clock()
    post(
        w.sm,
        region_wide,
        "Чапаева 5: нет горячей воды с утра",
        now - timedelta(hours=2),
        owner=170100,
    )
    post(
        w.sm,
        region_wide,
        "В Слободском на ул. Чапаева, д. 5 горячей воды нет весь день",
        now - timedelta(hours=1),
        owner=170100,
    )
    pipeline = Pipeline(
        sessionmaker=w.sm,
        workflow=w.workflow,
        classifier=KeywordClassifier(),
        lemmatizer=LEMMATIZER,
        clock=w.clock,
    )

    report = pipeline.run_once()

    assert (report.created, report.attached) == (1, 1)
    assert pipeline.counters["pipeline.incident.located"] == 1
    with w.sm() as s:
        (incident,) = IncidentRepository(s).by_status(list(IncidentStatus))
        kinds = [e.kind for e in EventRepository(s).for_incident(incident.id)]
    assert incident.municipality_oktmo == SLOBODSKOY
    assert "locate" in kinds


def test_related_links_keep_each_incidents_events_in_the_order_decided(sqlite_url: str) -> None:
    w = world(sqlite_url)
    source = add_source(w.sm)
    now = w.clock()
    texts = (
        "В Слободском на ул. Ленина, д. 10 нет горячей воды с утра",
        "Слободской, Ленина 12 — тоже нет горячей воды, с утра сидим без воды",
        "Слободской, Ленина 14: горячей воды нет, сколько можно ждать",
    )
    for k, text in enumerate(texts):
        post(w.sm, source, text, now - timedelta(hours=3 - k), author=1 + k)
    pipeline = Pipeline(
        sessionmaker=w.sm,
        workflow=w.workflow,
        classifier=KeywordClassifier(),
        lemmatizer=LEMMATIZER,
        clock=w.clock,
    )

    pipeline.run_once()  # one batch: the links are written with its routing, in rounds

    with w.sm() as s:
        records = IncidentRepository(s).by_status(list(IncidentStatus))
        kinds = {r.id: [e.kind for e in EventRepository(s).for_incident(r.id)] for r in records}
    ten = next(r for r in records if "д. 10" in r.title)
    parent = next(r for r in records if r.id == ten.parent_incident_id)
    children = [r for r in records if r.parent_incident_id == parent.id]
    assert len(children) == len(texts)
    # The related incident was routed when the first link came: routed, then made a child.
    assert kinds[ten.id] == ["create", "attach", "triage", "set_parent"]
    for child in children:
        if child.id != ten.id:  # linked when opened, routed right after
            assert kinds[child.id] == ["create", "attach", "set_parent", "triage"]
    assert kinds[parent.id][0] == "create"
    assert kinds[parent.id][1] in ("triage", "assign")
