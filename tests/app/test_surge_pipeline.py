"""Test that a surge opens one parent incident over its children, answerable in bulk."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.pipeline import Pipeline
from app.workflow import PARENT_EVENT, InvalidRequest
from router.surge import SurgeConfig
from storage.enums import AnswerKind, IncidentStatus
from storage.repositories import EventRepository, IncidentRecord, IncidentRepository
from storage.repositories.answers import AnswerRepository
from tests.app.test_pipeline_support import LEMMATIZER, KeywordClassifier, add_source, post
from tests.factories import World, world

# A flu season: one clinic after another in Slobodskoy runs out of appointments.
COMPLAINTS = (
    "Поликлиника на улице Советской 12 в Слободском: талонов к терапевту нет до декабря",
    "В детской поликлинике на Ленина 40 Слободской не записаться к педиатру, телефон молчит",
    "Амбулатория в Вахруках Слободского района: терапевт принимает раз в неделю, очередь с утра",
    "Слободской, поликлиника на Гоголя 7: электронная запись закрыта, талоны к терапевту кончились",
)
LATE = "Поликлиника на Кирова 3 в Слободском: к терапевту записи нет вторую неделю, что делать?"
ANSWER = (
    "Министерство здравоохранения Кировской области: в Слободском районе с понедельника "
    "открыты дополнительные приёмы терапевтов, запись по телефону 122."
)

SURGE = SurgeConfig(min_messages=4, min_incidents=3, ratio=1.0, min_history=timedelta(0))


def pipeline_for(w: World) -> Pipeline:
    """A pipeline with a surge threshold small enough for a test."""
    return Pipeline(
        sessionmaker=w.sm,
        workflow=w.workflow,
        classifier=KeywordClassifier(),
        lemmatizer=LEMMATIZER,
        clock=w.clock,
        surge=SURGE,
    )


def all_incidents(w: World) -> list[IncidentRecord]:
    with w.sm() as s:
        return IncidentRepository(s).by_status(list(IncidentStatus))


def test_a_surge_opens_one_routed_parent_and_later_children_join_it(db_url: str) -> None:
    w = world(db_url)
    source = add_source(w.sm)
    now = w.clock()
    for n, text in enumerate(COMPLAINTS):
        post(w.sm, source, text, now - timedelta(minutes=90 - 10 * n), author=20 + n)
    pipeline = pipeline_for(w)

    report = pipeline.run_once()

    assert report.errors == {}
    parents = [i for i in all_incidents(w) if i.title.startswith("Массовые обращения")]
    assert len(parents) == 1
    parent = parents[0]
    assert parent.title == "Массовые обращения: Здравоохранение, Слободской"
    assert (parent.status, parent.executor_code) == (IncidentStatus.ASSIGNED, "minzdrav")
    children = w.workflow.children(parent.id)
    assert len(children) == report.created
    assert len(children) >= SURGE.min_incidents
    assert all(c.parent_incident_id == parent.id for c in children)
    assert pipeline.counters["pipeline.surge.started"] == 1
    with w.sm() as s:
        events = EventRepository(s).for_incident(children[0].id)
    (linked,) = [e for e in events if e.kind == PARENT_EVENT]
    assert linked.payload["parent"] == parent.id
    # The children were routed as usual: set_parent does not make their records stale.
    assert all(c.status is IncidentStatus.ASSIGNED for c in children)

    post(w.sm, source, LATE, now - timedelta(minutes=5), author=40)
    late = pipeline.run_once()

    assert late.created == 1
    assert pipeline.counters["pipeline.surge.started"] == 1
    grown = w.workflow.children(parent.id)
    assert len(grown) == len(children) + 1
    assert [i for i in all_incidents(w) if i.title.startswith("Массовые обращения")] == [parent]


def test_answering_the_parent_answers_each_open_child(db_url: str) -> None:
    w = world(db_url)
    source = add_source(w.sm)
    now = w.clock()
    for n, text in enumerate(COMPLAINTS):
        post(w.sm, source, text, now - timedelta(minutes=90 - 10 * n), author=20 + n)
    pipeline_for(w).run_once()
    (parent,) = [i for i in all_incidents(w) if i.title.startswith("Массовые обращения")]
    children = w.workflow.children(parent.id)
    # The ministry took all but the last child into work.
    for child in children[:-1]:
        w.workflow.accept(child, w.minzdrav)

    result = w.workflow.answer_children(parent, ANSWER, w.minzdrav)

    assert [c.id for c in result.answered] == [c.id for c in children[:-1]]
    assert all(c.status is IncidentStatus.ANSWERED for c in result.answered)
    ((skipped, why),) = result.skipped
    assert skipped.id == children[-1].id
    assert "cannot answer_final from assigned" in why
    with w.sm() as s:
        answers = [AnswerRepository(s).latest_final(c.id) for c in children]
        kinds = [EventRepository(s).for_incident(c.id)[-1].kind for c in children]
    assert [a.text if a else None for a in answers] == [ANSWER] * (len(children) - 1) + [None]
    assert all(a is None or a.kind is AnswerKind.FINAL for a in answers)
    assert kinds[:-1] == ["answer_final"] * (len(children) - 1)
    with pytest.raises(InvalidRequest):
        w.workflow.answer_children(parent, "   ", w.minzdrav)


def test_an_incident_merged_away_before_the_surge_is_not_made_a_child(db_url: str) -> None:
    w = world(db_url)
    source = add_source(w.sm)
    now = w.clock()
    pipeline = pipeline_for(w)
    for n, text in enumerate(COMPLAINTS[:3]):
        post(w.sm, source, text, now - timedelta(minutes=90 - 10 * n), author=20 + n)
    assert pipeline.run_once().created == 3
    first, second, _ = all_incidents(w)
    # The operator sees the children's clinic is the same building and merges it.
    w.workflow.merge(second, first.id, w.operator)

    post(w.sm, source, COMPLAINTS[3], now - timedelta(minutes=10), author=23)
    report = pipeline.run_once()

    assert report.errors == {}
    (parent,) = [i for i in all_incidents(w) if i.title.startswith("Массовые обращения")]
    children = {c.id for c in w.workflow.children(parent.id)}
    assert second.id not in children
    assert first.id in children
    assert len(children) == 3
    assert pipeline.counters["pipeline.surge.child"] == 3


def test_a_backlog_of_finished_events_opens_no_surge_parent(sqlite_url: str) -> None:
    w = world(sqlite_url)
    source = add_source(w.sm)
    now = w.clock()
    # The same burst as above, but a day ago: a first sync reading the group's history.
    for n, text in enumerate(COMPLAINTS):
        post(w.sm, source, text, now - timedelta(hours=24, minutes=90 - 10 * n), author=20 + n)
    pipeline = pipeline_for(w)

    report = pipeline.run_once()

    assert report.created >= SURGE.min_incidents
    assert not [i for i in all_incidents(w) if i.title.startswith("Массовые обращения")]
    assert pipeline.counters["pipeline.surge.skipped_old"] == len(COMPLAINTS)
    assert pipeline.counters["pipeline.surge.started"] == 0
