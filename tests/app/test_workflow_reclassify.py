"""Workflow.reclassify: a person's topic and municipality, training labels, the version."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.workflow import (
    RECLASSIFY_EVENT,
    ConcurrentUpdate,
    PermissionDenied,
    TransitionNotAllowed,
)
from storage.models import TrainingLabel
from storage.repositories import EventRepository, IncidentRepository
from tests.factories import new_incident, world


def test_reclassify_sets_fields_labels_and_an_event(db_url: str) -> None:
    w = world(db_url)
    incident = w.workflow.open_incident(new_incident("Дороги"))
    saved = w.workflow.reclassify(
        incident,
        w.operator,
        topic_group="ЖКХ",
        topic="Отсутствие горячей воды",
        municipality="Котельнич",
        municipality_oktmo="33710000",
    )
    assert saved.version == incident.version + 1
    assert (saved.topic_group, saved.topic, saved.municipality_oktmo) == (
        "ЖКХ",
        "Отсутствие горячей воды",
        "33710000",
    )
    with w.sm() as session:
        assert IncidentRepository(session).municipality(incident.id) == "Котельнич"
        (event,) = [
            e
            for e in EventRepository(session).for_incident(incident.id)
            if e.kind == RECLASSIFY_EVENT
        ]
        labels = session.scalars(sa.select(TrainingLabel)).all()
    assert event.payload["topic"] == ["Запись к врачу", "Отсутствие горячей воды"]
    assert event.actor_user_id == w.operator.user_id
    assert labels == []  # no messages linked: nothing to learn from
    with pytest.raises(ConcurrentUpdate):
        w.workflow.reclassify(
            incident,  # the old version
            w.operator,
            topic_group="Дороги",
            topic="Ямы на дорогах",
            municipality=None,
            municipality_oktmo=None,
        )


def test_reclassify_is_for_operators_and_open_incidents(db_url: str) -> None:
    w = world(db_url)
    incident = w.workflow.open_incident(new_incident())
    fields = {
        "topic_group": "ЖКХ",
        "topic": "Отсутствие горячей воды",
        "municipality": None,
        "municipality_oktmo": None,
    }
    for actor in (w.minzdrav, w.admin):
        with pytest.raises(PermissionDenied):
            w.workflow.reclassify(incident, actor, **fields)  # type: ignore[arg-type]
    rejected = w.workflow.reject(incident, w.operator, "Реклама")
    with pytest.raises(TransitionNotAllowed):
        w.workflow.reclassify(rejected, w.supervisor, **fields)  # type: ignore[arg-type]
