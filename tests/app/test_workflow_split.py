"""Test splitting messages off an incident into a new one, and merging moving links back."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.pipeline import Pipeline
from app.workflow import (
    SPLIT_EVENT,
    ConcurrentUpdate,
    InvalidRequest,
    PermissionDenied,
    TransitionNotAllowed,
)
from storage.enums import IncidentStatus
from storage.repositories import EventRepository, IncidentRecord, IncidentRepository
from storage.repositories.grouping import GroupingRepository
from tests.app.test_pipeline_support import LEMMATIZER, KeywordClassifier, add_source, post
from tests.factories import World, new_incident, world

POTHOLE = (
    "В Слободском на улице Ленина 15 огромная яма на дороге, машины бьют колёса. Когда починят?"
)
POTHOLE_AGAIN = "Опять яма у дома Ленина 15 в Слободском, третью неделю никто не ремонтирует"
POTHOLE_THIRD = "Яма на Ленина 15 в Слободском так и не заделана, вчера пробил колесо"
REASON = "Третье сообщение про яму у школы на Ленина 40, это другое место"


def pipeline_for(w: World) -> Pipeline:
    """A pipeline over the test world with the keyword classifier."""
    return Pipeline(
        sessionmaker=w.sm,
        workflow=w.workflow,
        classifier=KeywordClassifier(),
        lemmatizer=LEMMATIZER,
        clock=w.clock,
    )


def pothole(w: World) -> tuple[Pipeline, IncidentRecord, dict[str, int]]:
    """Three complaints grouped into one routed incident; return it and its message ids."""
    source = add_source(w.sm)
    now = w.clock()
    ids = {
        "first": post(w.sm, source, POTHOLE, now - timedelta(hours=3), author=11, views=500),
        "again": post(w.sm, source, POTHOLE_AGAIN, now - timedelta(hours=2), author=12, views=300),
        "third": post(w.sm, source, POTHOLE_THIRD, now - timedelta(hours=1), author=13, views=40),
    }
    pipeline = pipeline_for(w)
    report = pipeline.run_once()
    assert (report.created, report.attached) == (1, 2)
    with w.sm() as s:
        (incident,) = IncidentRepository(s).by_status([IncidentStatus.ASSIGNED])
        linked = GroupingRepository(s).linked_messages([incident.id])
    by_external = {m.external_id: m.message_id for m in linked}
    return pipeline, incident, {name: by_external[ext] for name, ext in ids.items()}


def counters(w: World, incident_id: int) -> tuple[int, int, int]:
    """Return an incident's stored (messages, distinct authors, reach)."""
    with w.sm() as s:
        found = GroupingRepository(s).counters(incident_id)
    return found.message_count, found.author_count, found.reach


def kinds(w: World, incident_id: int) -> list[str]:
    """Return the kinds of an incident's events, in order."""
    with w.sm() as s:
        return [e.kind for e in EventRepository(s).for_incident(incident_id)]


def test_split_moves_messages_into_a_new_routed_incident(db_url: str) -> None:
    w = world(db_url)
    pipeline, incident, ids = pothole(w)
    assert counters(w, incident.id) == (3, 3, 840)

    kept, new = w.workflow.split(incident, [ids["third"]], w.operator, REASON)

    assert kept.status is IncidentStatus.ASSIGNED
    assert kept.version > incident.version
    assert (new.status, new.executor_code) == (IncidentStatus.ASSIGNED, "adm-slobodskoy")
    assert (new.topic_group, new.topic, new.municipality_oktmo) == (
        incident.topic_group,
        incident.topic,
        incident.municipality_oktmo,
    )
    assert new.title.startswith("Яма на Ленина 15")
    assert counters(w, incident.id) == (2, 2, 800)
    assert counters(w, new.id) == (1, 1, 40)
    with w.sm() as s:
        grouping = GroupingRepository(s)
        links = grouping.linked([ids["first"], ids["again"], ids["third"]])
        source_events = EventRepository(s).for_incident(incident.id)
        new_events = EventRepository(s).for_incident(new.id)
    assert links == {ids["first"]: incident.id, ids["again"]: incident.id, ids["third"]: new.id}
    last = source_events[-1]
    assert (last.kind, last.from_status, last.to_status) == (SPLIT_EVENT, "assigned", "assigned")
    assert last.payload["new_incident"] == new.id
    assert last.payload["message_ids"] == [ids["third"]]
    assert last.payload["reason"] == REASON
    assert last.actor_user_id == w.operator.user_id
    assert [e.kind for e in new_events] == ["create", SPLIT_EVENT, "assign"]
    assert new_events[1].payload["split_from"] == incident.id

    # The pipeline sees the split and rebuilds its grouping index before the next run.
    rebuilt = pipeline.counters["pipeline.index.rebuilt"]
    pipeline.run_once()
    assert pipeline.counters["pipeline.index.rebuilt"] == rebuilt + 1
    assert pipeline.last_rebuild is not None
    assert (pipeline.last_rebuild.incidents, pipeline.last_rebuild.messages) == (2, 3)


def test_merge_moves_links_and_counters_into_the_target(db_url: str) -> None:
    w = world(db_url)
    _, incident, ids = pothole(w)
    kept, new = w.workflow.split(incident, [ids["again"], ids["third"]], w.operator, REASON)
    assert counters(w, kept.id) == (1, 1, 500)

    merged = w.workflow.merge(new, kept.id, w.supervisor)

    assert (merged.status, merged.merged_into_id) == (IncidentStatus.MERGED, kept.id)
    assert counters(w, kept.id) == (3, 3, 840)
    assert counters(w, new.id) == (0, 0, 0)
    with w.sm() as s:
        links = GroupingRepository(s).linked(list(ids.values()))
        last = EventRepository(s).for_incident(new.id)[-1]
    assert set(links.values()) == {kept.id}
    assert last.kind == "merge"
    assert sorted(last.payload["message_ids"]) == sorted([ids["again"], ids["third"]])
    assert last.payload["into_messages"] == 3


def test_bad_splits_are_refused_and_change_nothing(db_url: str) -> None:
    w = world(db_url)
    _, incident, ids = pothole(w)
    before = kinds(w, incident.id)

    with pytest.raises(InvalidRequest, match="at least one message must stay"):
        w.workflow.split(incident, list(ids.values()), w.operator, REASON)
    with pytest.raises(InvalidRequest, match="not linked"):
        w.workflow.split(incident, [ids["third"], 999_999], w.operator, REASON)
    with pytest.raises(InvalidRequest, match="reason"):
        w.workflow.split(incident, [ids["third"]], w.operator, "  ")
    with pytest.raises(InvalidRequest, match="name the messages"):
        w.workflow.split(incident, [], w.operator, REASON)
    with pytest.raises(PermissionDenied):
        w.workflow.split(incident, [ids["third"]], w.minzdrav, REASON)
    assert kinds(w, incident.id) == before

    # Merged away meanwhile: the operator's screen is stale, and a merged incident keeps nothing.
    other = w.workflow.open_incident(new_incident("Дороги"))
    w.workflow.merge(incident, other.id, w.operator)
    with pytest.raises(ConcurrentUpdate):
        w.workflow.split(incident, [ids["third"]], w.operator, REASON)
    with w.sm() as s:
        merged = IncidentRepository(s).get(incident.id)
    with pytest.raises(TransitionNotAllowed, match="cannot split from merged"):
        w.workflow.split(merged, [ids["third"]], w.operator, REASON)
    assert kinds(w, incident.id) == [*before, "merge"]
    assert counters(w, other.id) == (3, 3, 840)
