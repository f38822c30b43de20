"""Tests for the priority rating: urgency words, distinct authors, reach, and the explanation."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from router.grouping import GroupingIndex, GroupingMessage, Reach
from router.priority import (
    Priority,
    PriorityConfig,
    PrioritySignals,
    assess_priority,
    urgency_markers,
)
from tests.router.test_grouping_support import lemmatize


def phrases(text: str) -> tuple[str, ...]:
    return tuple(marker.phrase for marker in urgency_markers(lemmatize(text)))


def test_urgency_words_and_utility_cuts_are_found_in_any_form() -> None:
    assert phrases("Прорвало трубу, кипяток хлещет, дети дома!") == (
        "кипяток",
        "прорвать",
        "ребенок",
    )
    assert phrases("Третий день сидим без света") == ("без свет",)
    assert phrases("нет отопления и горячей воды") == ("без вода", "без отопление")
    assert phrases("Когда дадут электричество?") == ("без электричество",)
    assert phrases("Яма на дороге у дома") == ()


@pytest.mark.parametrize(
    ("signals", "level"),
    [
        (PrioritySignals(message_count=1, distinct_authors=1), Priority.LOW),
        (PrioritySignals(message_count=1, distinct_authors=1, views=500), Priority.NORMAL),
        (PrioritySignals(message_count=2, distinct_authors=2), Priority.NORMAL),
        (PrioritySignals(message_count=12, distinct_authors=11), Priority.NORMAL),
        (
            PrioritySignals(message_count=1, distinct_authors=1, urgency=("прорвать",)),
            Priority.HIGH,
        ),
        (
            PrioritySignals(message_count=1, distinct_authors=1, urgency=("без свет", "ребенок")),
            Priority.HIGH,
        ),
        (
            PrioritySignals(
                message_count=40, distinct_authors=35, views=60_000, urgency=("без свет",)
            ),
            Priority.URGENT,
        ),
        (
            PrioritySignals(
                message_count=3, distinct_authors=3, urgency=("авария", "без вода", "ребенок")
            ),
            Priority.URGENT,
        ),
        (PrioritySignals(message_count=30, distinct_authors=30, views=10_000), Priority.HIGH),
        (PrioritySignals(message_count=30, distinct_authors=30, views=50_000), Priority.URGENT),
    ],
)
def test_levels(signals: PrioritySignals, level: Priority) -> None:
    assert assess_priority(signals).level is level


def test_the_explanation_names_every_point() -> None:
    result = assess_priority(
        PrioritySignals(
            message_count=5,
            distinct_authors=4,
            views=1600,
            likes=30,
            comments=10,
            reposts=5,
            urgency=("без свет", "срочно"),
        )
    )
    assert result.points == 3 + 2 + 1 + 1
    assert result.level is Priority.URGENT
    assert result.reasons == (
        "urgency words: без свет (+3), срочно (+2)",
        "4 distinct authors (+1)",
        "reach 2050 = 1600 views + 10 x (30 likes + 10 comments + 5 reposts) (+1)",
        "7 points: urgent at 6, high at 3 -> urgent",
    )


def test_urgency_points_are_capped() -> None:
    config = PriorityConfig(urgency_cap=4)
    result = assess_priority(
        PrioritySignals(1, 1, urgency=("авария", "пожар", "угроза", "ребенок")), config
    )
    assert result.points == 4
    assert "capped at 4" in result.reasons[0]


def test_an_incident_rates_from_its_messages() -> None:
    index = GroupingIndex()
    at = datetime(2026, 11, 16, 6, 0, tzinfo=UTC)
    texts = [
        "Ленина 15 прорвало трубу в подвале, кипяток, дети",
        "На Ленина 15 в подвале прорвало трубу, пар валит",
        "ул. Ленина д. 15 прорыв трубы в подвале, всё в пару",
    ]
    incident_ids = set()
    for number, text in enumerate(texts):
        message = GroupingMessage(
            key=f"vk:{number}",
            network="vk",
            text=text,
            lemmas=tuple(lemmatize(text)),
            topic_group="ЖКХ",
            topic="Жалобы на управляющие компании",
            municipality_oktmo="33701000",
            posted_at=at,
            author_id=f"u{number}",
            reach=Reach(views=400),
        )
        _, link = index.process(message, lambda seed: 1)
        assert link is not None
        incident_ids.add(link.incident_id)
    assert incident_ids == {1}
    record = index.incident(1)
    assert record.authors == {"u0", "u1", "u2"}
    assert record.reach == Reach(views=1200)
    assessment = record.priority()
    assert assessment.level is Priority.URGENT
    assert "прорвать" in assessment.reasons[0]
