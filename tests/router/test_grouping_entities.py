"""Grouping by the place and object named: the issue's example, suggestions, the labelled set."""

from __future__ import annotations

import itertools
import json
import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from router.grouping import Attach, Create, GroupingIndex, GroupingMessage, Rule
from router.grouping_eval import evaluate_grouping, load_labelled, pair_precision_recall
from tests.router.test_grouping_quality import SEED_CORPUS
from tests.router.test_grouping_support import lemmatize

T0 = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)
ENTITY_SET = Path(__file__).parent / "data" / "entity_duplicates.json"

WATER = ("ЖКХ", "Отсутствие горячей воды")
GARBAGE = ("Мусор/Свалки/ТКО", "★ Уборка/Вывоз мусора")
BUS = ("Общественный транспорт", "График движения общественного транспорта")
ROADS = ("Дороги", "Ремонт дороги")
SCHOOL = ("Образование", "Содержание гос. образовательных организаций")
FOOD = ("Образование", "Питание")
LIGHT = ("Благоустройство", "★ Неисправные фонари освещения")

# The issue's example: 15 complaints, 9 problems, each in another community within one minute;
# most name no town. (problem, text, (group, topic), municipality)
ISSUE_EXAMPLE = [
    ("gvardii", "Нет горячей воды, Молодой Гвардии 12, уже третий день", WATER, None),
    ("gvardii", "Молодой Гвардии 12 — горячей воды нет, управляйка молчит", WATER, None),
    ("gvardii", "В доме 12 по улице Молодой Гвардии опять нет горячей воды 😡", WATER, "33701000"),
    ("chapaeva", "Не вывозят мусор с площадки у дома 5 на улице Чапаева уже неделю", GARBAGE, None),
    (
        "chapaeva",
        "Чапаева 5 — контейнеры переполнены, мусор не забирают с прошлого четверга",
        GARBAGE,
        None,
    ),
    ("bus44", "Автобус 44 утром так и не пришёл, опоздали на работу", BUS, None),
    ("bus44", "44-й автобус опять сорвал рейс, люди мёрзнут на остановке", BUS, "33701000"),
    (
        "crossing",
        "Прорвало трубу на перекрёстке Ленина и Дерендяева, вода идёт по дороге",
        ROADS,
        None,
    ),
    ("crossing", "На Ленина / Дерендяева фонтан из-под асфальта, авария водопровода", ROADS, None),
    ("school22", "В школе 22 в кабинетах холодно, дети сидят в куртках", SCHOOL, None),
    ("school22", "Родители школы №22 жалуются: в классах +15", SCHOOL, "33701000"),
    ("food22", "В школе 22 кормят холодной кашей, порции крошечные", FOOD, None),
    ("pothole", "Огромная яма на Свердлова 10, пробил колесо", ROADS, None),
    ("light", "Не горят фонари на ул. Щорса, д. 3, вечером страшно", LIGHT, None),
    ("bus12", "Автобус 12 не пришёл, ждали на морозе час", BUS, None),
]


def example_messages() -> list[tuple[str, GroupingMessage]]:
    networks = itertools.cycle(("vk", "ok", "telegram", "file"))
    result = []
    for number, (truth, text, (group, topic), oktmo) in enumerate(ISSUE_EXAMPLE):
        network = next(networks)
        result.append(
            (
                truth,
                GroupingMessage(
                    key=f"{network}:community{number}_1",
                    network=network,
                    text=text,
                    lemmas=tuple(lemmatize(text)),
                    topic_group=group,
                    topic=topic,
                    municipality_oktmo=oktmo,
                    posted_at=T0 + timedelta(seconds=4 * number),
                    author_id=f"u{number}",
                ),
            )
        )
    return result


def test_the_issue_example_gives_one_incident_per_problem() -> None:
    index = GroupingIndex()
    ids = itertools.count(1)
    incident_of: dict[str, set[int]] = {}
    for truth, message in example_messages():
        _, link = index.process(message, lambda seed: next(ids))
        assert link is not None
        incident_of.setdefault(truth, set()).add(link.incident_id)
    assert all(len(found) == 1 for found in incident_of.values()), incident_of
    incidents = [next(iter(found)) for found in incident_of.values()]
    assert len(set(incidents)) == 9  # none merged wrongly: 15 complaints, 9 problems


def test_an_entity_merge_stores_its_evidence() -> None:
    index = GroupingIndex()
    ids = itertools.count(1)
    messages = dict(
        (message.key, message) for _, message in example_messages() if "44" in message.text
    )
    first, second = messages.values()
    index.process(first, lambda seed: next(ids))
    decision, link = index.process(second, lambda seed: next(ids))
    assert isinstance(decision, Attach)
    assert decision.evidence.rule is Rule.ENTITY
    evidence = link.evidence.to_dict() if link is not None else {}
    assert evidence["entity"] == "route:bus:44"
    assert evidence["topic"] == BUS[1]
    assert evidence["time_gap_seconds"] == 4  # posted 4 s apart
    assert float(str(evidence["confidence"])) >= index.config.entity_merge_confidence


def _message(key: str, text: str, topic: tuple[str, str | None], minutes: int) -> GroupingMessage:
    return GroupingMessage(
        key=key,
        network="vk",
        text=text,
        lemmas=tuple(lemmatize(text)),
        topic_group=topic[0],
        topic=topic[1],
        municipality_oktmo=None,
        posted_at=T0 + timedelta(minutes=minutes),
    )


def test_another_topic_of_the_group_at_one_school_is_suggested_not_merged() -> None:
    index = GroupingIndex()
    ids = itertools.count(1)
    index.process(
        _message("vk:1", "В школе 22 холодно в классах, дети мёрзнут", SCHOOL, 0), lambda s: 1
    )
    decision, link = index.process(
        _message("vk:2", "В школе №22 дети жалуются: в столовой холодно", FOOD, 30),
        lambda seed: next(ids) + 1,
    )
    assert isinstance(decision, Create)
    assert decision.evidence.suggested_incident_id == 1
    assert decision.evidence.entity == "school:22"
    assert "possibly the same as #1" in decision.evidence.note
    assert link is not None
    assert link.evidence.to_dict()["suggested_incident_id"] == 1


def test_the_same_problem_in_another_town_is_another_incident() -> None:
    index = GroupingIndex()
    first = _message("vk:1", "Нет горячей воды на Ленина 5 с утра", WATER, 0)
    second = _message("vk:2", "Ленина 5 — третий день без горячей воды", WATER, 10)
    index.process(replace(first, municipality_oktmo="33701000"), lambda s: 1)
    decision, _ = index.process(replace(second, municipality_oktmo="33713000"), lambda s: 2)
    assert isinstance(decision, Create)
    assert decision.evidence.suggested_incident_id is None


def test_an_unknown_town_joins_the_one_town_whose_incident_names_the_place() -> None:
    index = GroupingIndex()
    located = _message("vk:1", "Нет горячей воды на Ленина 5 с утра", WATER, 0)
    index.process(replace(located, municipality_oktmo="33701000"), lambda s: 1)
    decision, _ = index.process(
        _message("tg:2", "Ленина 5 — третий день без горячей воды", WATER, 10), lambda s: 2
    )
    assert isinstance(decision, Attach)
    assert decision.incident_id == 1


def test_a_split_is_not_redone_by_the_next_message() -> None:
    index = GroupingIndex()
    index.process(_message("vk:1", "Автобус 44 не пришёл утром", BUS, 0), lambda s: 1)
    index.process(_message("vk:2", "44-й автобус сорвал рейс утром", BUS, 5), lambda s: 2)
    assert index.incident_of("vk:2") == 1
    index.split(1, ["vk:2"], 2)
    assert index.incident_of("vk:2") == 2
    index.process(_message("vk:3", "Автобус 44 опять не пришёл утром", BUS, 9), lambda s: 3)
    # The split messages stay apart; the new one joins one of them, never both.
    assert index.incident_of("vk:1") == 1
    assert index.incident_of("vk:2") == 2
    assert index.incident_of("vk:3") in {1, 2}


def test_the_same_failure_at_the_neighbouring_house_is_related_not_merged() -> None:
    index = GroupingIndex()
    index.process(
        _message("vk:1", "Нет горячей воды на ул. Щорса, д. 10 с утра", WATER, 0), lambda s: 1
    )
    decision, _ = index.process(
        _message("vk:2", "Щорса 12 — тоже нет горячей воды с утра", WATER, 20), lambda s: 2
    )
    assert isinstance(decision, Create)
    assert decision.evidence.related_incident_id == 1
    assert decision.evidence.to_dict()["entity"] == "street:щорс"
    other = index.route(_message("vk:3", "Щорса 14 — не вывозят мусор неделю", GARBAGE, 30))
    assert isinstance(other, Create)
    assert other.evidence.related_incident_id is None  # another problem on that street


# Measured on 2026-12-03 (entity_duplicates.json, 325 complaints in 112 problems): see
# docs/grouping.md. The issue's goals are the floors.
GOALS = {"pair_precision": 0.98, "pair_recall": 0.9}


def test_the_labelled_entity_set_meets_the_goals(capsys: pytest.CaptureFixture[str]) -> None:
    scores = evaluate_grouping(load_labelled(ENTITY_SET, lemmatize))
    with capsys.disabled():
        print("\nentity_duplicates.json: " + "; ".join(scores.lines()))
    assert scores.messages >= 300
    assert scores.problems >= 100
    assert scores.pair_precision >= GOALS["pair_precision"]
    assert scores.pair_recall >= GOALS["pair_recall"]
    assert scores.bcubed_f1 >= 0.95
    assert scores.suggested_share < 0.2


def test_the_entity_set_among_thousands_of_other_complaints() -> None:
    """The set again among the seed corpus's complaints, a third of them of unknown town."""
    if not SEED_CORPUS.exists():
        pytest.skip("the classifier's seed corpus is not there")
    labelled = load_labelled(ENTITY_SET, lemmatize)
    first = min(lm.message.posted_at for lm in labelled)
    rng = random.Random(5)
    places = ["33701000"] * 6 + ["33707000", "33713000", "33710000", None, None, None, None]
    noise = []
    for number, line in enumerate(SEED_CORPUS.read_text(encoding="utf-8").splitlines()):
        row = json.loads(line)
        if row["is_complaint"] and row["group"]:
            noise.append(
                GroupingMessage(
                    key=f"seed:{number}",
                    network="vk",
                    text=row["text"],
                    lemmas=tuple(lemmatize(row["text"])),
                    topic_group=row["group"],
                    topic=row["topic"],
                    municipality_oktmo=rng.choice(places),
                    posted_at=first - timedelta(days=1) + timedelta(minutes=rng.randrange(11520)),
                )
            )
    index = GroupingIndex()
    ids = itertools.count(1)
    for message in sorted([lm.message for lm in labelled] + noise, key=lambda m: m.posted_at):
        index.process(message, lambda seed: next(ids))
    precision, recall = pair_precision_recall(
        [lm.truth for lm in labelled], [index.incident_of(lm.message.key) for lm in labelled]
    )
    # Measured 2026-12-03: precision 0.981, recall 0.934.
    assert precision >= 0.97
    assert recall >= 0.9


def test_a_broken_labelled_set_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "set.json"
    path.write_text('{"base_time": "2026-12-01T00:00:00+00:00", "messages": [{"key": 1}]}')
    with pytest.raises(ValueError, match="not a labelled grouping set"):
        load_labelled(path, lemmatize)


def test_an_address_beside_the_shared_route_does_not_keep_them_apart() -> None:
    index = GroupingIndex()
    index.process(
        _message("vk:1", "Автобус 44 не пришёл, ждали у дома 5 на Ленина", BUS, 0), lambda s: 1
    )
    decision = index.route(
        _message("ok:2", "44-й автобус опять не пришёл, стоим на Мира 3", BUS, 15)
    )
    assert isinstance(decision, Attach)
    assert decision.incident_id == 1
    assert decision.evidence.entity == "route:bus:44"


def test_the_same_words_about_another_kindergarten_are_another_incident() -> None:
    index = GroupingIndex()
    index.process(
        _message("vk:1", "В д/с №7 не чистят территорию, родители по сугробам идут", SCHOOL, 0),
        lambda s: 1,
    )
    decision = index.route(
        _message("vk:2", "В д/с №200 не чистят территорию, родители по сугробам идут", SCHOOL, 5)
    )
    assert isinstance(decision, Create)
