"""Tests for surge detection: a burst against the baseline becomes one parent with children."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from router.grouping import GroupingIndex, GroupingMessage, IncidentHeader
from router.surge import SurgeConfig, SurgeDetector, SurgeEvent, SurgeKey
from tests.router.test_grouping_support import lemmatize

T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
KIROV = "33701000"
POWER = "Электроснабжение"
CONFIG = SurgeConfig(window=timedelta(hours=2), baseline=timedelta(days=7), min_messages=10)


WEEK_AGO = T0 - timedelta(days=7)


def event(minutes: float, incident_id: int, group: str = POWER) -> SurgeEvent:
    return SurgeEvent(T0 + timedelta(minutes=minutes), incident_id, group, KIROV)


def background(detector: SurgeDetector, per_day: int, days: int = 7) -> None:
    """Feed a steady trickle: ``per_day`` messages a day for ``days`` days before T0."""
    step = timedelta(days=1) / per_day
    start = T0 - timedelta(days=days)
    for number in range(per_day * days):
        at = start + step * number
        assert detector.observe(SurgeEvent(at, 10_000 + number, POWER, KIROV)) is None


def test_a_burst_over_a_quiet_baseline_starts_one_surge() -> None:
    detector = SurgeDetector(CONFIG)
    background(detector, per_day=4)
    updates = [detector.observe(event(minute, 1 + minute % 5)) for minute in range(0, 30, 3)]
    started = [u for u in updates if u is not None and u.started]
    assert len(started) == 1
    surge = started[0].surge
    assert surge.key == SurgeKey(POWER, KIROV)
    assert surge.window_count == 10
    assert surge.baseline_per_window == pytest.approx(4 * 7 * (2 / (7 * 24)), rel=0.05)
    assert set(surge.incident_ids) == {1, 2, 3, 4, 5}
    assert "10 messages about Электроснабжение" in surge.explanation
    assert detector.active() == (surge,)


def test_the_same_rate_is_no_surge_where_it_is_usual() -> None:
    detector = SurgeDetector(CONFIG)
    background(detector, per_day=120)  # ten every two hours is normal here
    updates = [detector.observe(event(minute, 1 + minute % 5)) for minute in range(0, 30, 3)]
    assert updates == [None] * 10
    assert detector.active() == ()


def test_one_busy_incident_is_not_a_surge() -> None:
    detector = SurgeDetector(CONFIG, history_start=WEEK_AGO)
    assert all(detector.observe(event(minute, 1)) is None for minute in range(30))


def test_new_incidents_join_the_active_surge_as_children() -> None:
    detector = SurgeDetector(CONFIG, history_start=WEEK_AGO)
    for minute in range(10):
        last = detector.observe(event(minute, 1 + minute % 3))
    assert last is not None
    assert last.started
    surge = detector.set_parent(last.surge.key, 99)
    assert surge.parent_incident_id == 99
    assert detector.observe(event(11, 2)) is None  # already a child
    assert detector.observe(event(12, 99)) is None  # the parent itself
    grown = detector.observe(event(13, 7))
    assert grown is not None
    assert not grown.started
    assert grown.new_children == (7,)
    assert grown.surge.parent_incident_id == 99
    assert 7 in grown.surge.incident_ids


def test_a_surge_ends_when_the_rate_falls_and_a_new_one_can_start() -> None:
    detector = SurgeDetector(CONFIG, history_start=WEEK_AGO)
    for minute in range(10):
        detector.observe(event(minute, 1 + minute % 3))
    assert detector.active()
    assert detector.observe(event(6 * 60, 4)) is None  # hours later, a lone message
    assert detector.active() == ()


def test_right_after_a_start_only_a_much_bigger_burst_counts() -> None:
    detector = SurgeDetector(CONFIG)  # no history at all
    assert all(detector.observe(event(minute, 1 + minute % 5)) is None for minute in range(39))
    update = detector.observe(event(39, 6))
    assert update is not None
    assert update.surge.window_count == 40  # ratio 4 x min_messages 10


def test_messages_without_group_or_place_are_not_counted() -> None:
    detector = SurgeDetector(CONFIG)
    assert detector.observe(SurgeEvent(T0, 1, None, KIROV)) is None
    assert detector.observe(SurgeEvent(T0, 1, POWER, None)) is None
    with pytest.raises(ValueError, match="aware"):
        detector.observe(SurgeEvent(datetime(2026, 11, 20, 12, 0), 1, POWER, KIROV))


def test_replay_rebuilds_the_same_state_in_any_order() -> None:
    events = [event(minute, 1 + minute % 4) for minute in range(12)]
    live = SurgeDetector(CONFIG, history_start=WEEK_AGO)
    for item in events:
        live.observe(item)
    rebuilt = SurgeDetector(CONFIG, history_start=WEEK_AGO)
    rebuilt.replay(reversed(events))
    assert [s.incident_ids for s in rebuilt.active()] == [s.incident_ids for s in live.active()]


def test_config_is_checked() -> None:
    with pytest.raises(ValueError, match="window"):
        SurgeConfig(window=timedelta(days=2), baseline=timedelta(days=1))
    with pytest.raises(ValueError, match="ratio"):
        SurgeConfig(ratio=0.5)
    with pytest.raises(KeyError):
        SurgeDetector().set_parent(SurgeKey(POWER, KIROV), 1)


def test_a_power_cut_becomes_a_parent_incident_with_its_children() -> None:
    """The flow app/ runs: group, count, and on a surge put the incidents under one parent."""
    index = GroupingIndex()
    detector = SurgeDetector(
        SurgeConfig(min_messages=8, min_incidents=3), history_start=T0 - timedelta(days=14)
    )
    streets = ["Ленина", "Мира", "Горького", "Щорса", "Воровского", "Московской"]
    next_id = iter(range(1, 1000))
    parent: int | None = None
    for number in range(24):
        street = streets[number % len(streets)]
        text = f"На {street} {number % 4 + 1} нет света, когда дадут электричество?"
        message = GroupingMessage(
            key=f"vk:{number}",
            network="vk",
            text=text,
            lemmas=tuple(lemmatize(text)),
            topic_group=POWER,
            topic="Качество электроснабжения",
            municipality_oktmo=KIROV,
            posted_at=T0 + timedelta(minutes=number * 3),
        )
        _, link = index.process(message, lambda seed: next(next_id))
        assert link is not None
        update = detector.observe(SurgeEvent(message.posted_at, link.incident_id, POWER, KIROV))
        if update is None:
            continue
        if update.started:
            parent = 500
            index.add_incident(IncidentHeader(parent, POWER, None, KIROV, message.posted_at))
            detector.set_parent(update.surge.key, parent)
        assert parent is not None
        index.set_parent(update.new_children, parent)
    assert parent is not None
    children = [
        i for i in index.open_incident_ids() if index.incident(i).parent_incident_id == parent
    ]
    assert len(children) >= 6
    assert all(
        index.incident(i).parent_incident_id == parent
        for i in index.open_incident_ids()
        if i != parent
    )
