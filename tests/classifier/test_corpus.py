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
