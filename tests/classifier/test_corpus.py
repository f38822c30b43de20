"""The seed corpus: its format, its coverage of the rubricator, and its generator."""

from __future__ import annotations

import importlib.util
import json
import sys
from collections import Counter
from pathlib import Path

import pytest

from classifier.corpus import CorpusError, corpus_summary, load_seed_corpus, parse_example
from classifier.rubricator import load_rubricator

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def corpus() -> list:  # type: ignore[type-arg]
    return load_seed_corpus(rubricator=load_rubricator())


def test_corpus_is_large_and_covers_every_group_and_topic(corpus: list) -> None:  # type: ignore[type-arg]
    summary = corpus_summary(corpus)
    assert summary["examples"] >= 3000
    assert summary["complaints"] >= 3000
    assert summary["non_complaints"] >= 800
    rubricator = load_rubricator()
    assert set(summary["groups"]) == set(rubricator.groups)
    assert summary["topics"] == len(rubricator.topics)
    assert min(summary["groups"].values()) >= 40


def test_texts_are_unique_and_varied(corpus: list) -> None:  # type: ignore[type-arg]
    texts = [e.text.lower() for e in corpus]
    assert len(set(texts)) == len(texts)
    # No sentence opening dominates: the first two words of any text begin under 3% of them.
    openings = Counter(" ".join(t.split()[:2]) for t in texts)
    assert openings.most_common(1)[0][1] < 0.03 * len(texts)


def test_the_noise_has_the_kinds_people_post(corpus: list) -> None:  # type: ignore[type-arg]
    noise = " ".join(e.text.lower() for e in corpus if not e.is_complaint)
    for word in ("продам", "поздравляем", "спасибо", "подскажите", "заработок"):
        assert word in noise


def test_parse_example_checks_fields() -> None:
    ok = parse_example({"text": "яма", "is_complaint": True, "group": "Дороги", "topic": "Ямы"})
    assert ok.group == "Дороги"
    with pytest.raises(CorpusError, match="needs a 'group'"):
        parse_example({"text": "яма", "is_complaint": True})
    with pytest.raises(CorpusError, match="no 'group'"):
        parse_example({"text": "привет", "is_complaint": False, "group": "Дороги", "topic": None})
    with pytest.raises(CorpusError, match="'is_complaint'"):
        parse_example({"text": "яма", "is_complaint": "yes"})
    with pytest.raises(CorpusError, match="'text'"):
        parse_example({"text": " ", "is_complaint": False})


def test_a_bad_line_names_its_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    good = {"text": "привет", "is_complaint": False, "group": None, "topic": None}
    path.write_text(json.dumps(good) + "\n{oops\n", encoding="utf-8")
    with pytest.raises(CorpusError, match=r"c\.jsonl:2: not valid JSON"):
        load_seed_corpus(path)


def test_unknown_topic_is_refused_with_a_rubricator(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    row = {"text": "яма", "is_complaint": True, "group": "Дороги", "topic": "Нет такой"}
    path.write_text(json.dumps(row, ensure_ascii=False) + "\n", encoding="utf-8")
    assert load_seed_corpus(path)[0].topic == "Нет такой"
    with pytest.raises(CorpusError, match="unknown topic"):
        load_seed_corpus(path, rubricator=load_rubricator())


def test_the_committed_corpus_is_what_the_generator_writes(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location(
        "build_seed_corpus", ROOT / "tools" / "build_seed_corpus.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["build_seed_corpus"] = module
    spec.loader.exec_module(module)
    assert module.main(["--check"]) == 0


@pytest.fixture(scope="module")
def generator():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location(
        "build_seed_corpus_terse", ROOT / "tools" / "build_seed_corpus.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_set_share_of_complaints_is_the_first_clause_alone(generator) -> None:  # type: ignore[no-untyped-def]
    import random

    statement = "во дворе огромная яма, машины застревают, дети падают в лужу"
    rng = random.Random(11)
    texts = [generator.complaint_text(statement, None, rng) for _ in range(4000)]
    # Terse texts keep "во дворе огромная яма" and drop the rest; every other style keeps the
    # whole statement. A typo may hit one later word, hardly both.
    terse = [t for t in texts if "застрев" not in t.lower() and "лужу" not in t.lower()]
    share = len(terse) / len(texts)
    assert abs(share - generator.TERSE_SHARE) < 0.03
    short = [t for t in terse if len(t.split()) <= 4 and "ям" in t.lower()]
    assert len(short) >= 0.99 * len(terse)


# Everyday words residents use for each thinly covered group (templates_topics_14.txt), and the
# group the rubricator files them under.
EVERYDAY_WORDS = (
    ("Здравоохранение/Медицина", "поликлиник"),
    ("Здравоохранение/Медицина", "талон"),
    ("Образование", "садик"),
    ("Образование", "столов"),
    ("Социальное обслуживание и защита", "соцзащит"),
    ("Общественный транспорт", "маршрутк"),
    ("Газ и топливо", "газовик"),
    ("Здравоохранение/Медицина", "фап"),
    ("Торговля", "ларек"),
    ("Связь и телевидение", "провайдер"),
    ("Мусор/Свалки/ТКО", "диван"),
    ("ЖКХ", "лампочк"),
    ("Благоустройство", "фонар"),
    ("Культура", "дом культуры"),
    ('МФЦ "Мои документы"', "мфц"),
)


@pytest.mark.parametrize(("group", "word"), EVERYDAY_WORDS, ids=[w for _, w in EVERYDAY_WORDS])
def test_the_corpus_has_everyday_words_in_the_right_group(
    corpus: list,  # type: ignore[type-arg]
    group: str,
    word: str,
) -> None:
    by_group = Counter(
        e.group for e in corpus if e.is_complaint and word in e.text.lower().replace("ё", "е")
    )
    assert by_group[group] >= 3
    assert by_group.most_common(1)[0][0] == group


def test_light_on_the_stairs_is_housing_and_a_pit_in_the_yard_is_the_yard(
    corpus: list,  # type: ignore[type-arg]
) -> None:
    def groups_of(*words: str) -> Counter[str]:
        return Counter(
            e.group
            for e in corpus
            if e.is_complaint and all(w in e.text.lower().replace("ё", "е") for w in words)
        )

    stairs = groups_of("подъезд", "свет")
    assert stairs.most_common(1)[0][0] == "ЖКХ"
    yard_pits = groups_of("двор", "ям")
    assert yard_pits.most_common(1)[0][0] == "Благоустройство"
