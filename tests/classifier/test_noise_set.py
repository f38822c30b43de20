"""The measured noise set: its format, its coverage, and that it never leaks into training."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from classifier.corpus import load_seed_corpus
from classifier.noise import (
    COMPLAINT,
    NOISE_KINDS,
    SAME,
    NoiseMessage,
    NoiseSetError,
    format_noise_report,
    load_noise_set,
    noise_report,
)
from classifier.rubricator import load_rubricator

ROOT = Path(__file__).resolve().parents[2]
NOISE_SET = ROOT / "tests" / "classifier" / "data" / "noise_threads.txt"
TEMPLATES = ROOT / "classifier" / "corpus" / "templates"


def _key(text: str) -> str:
    return " ".join(re.findall(r"\w+", text.casefold().replace("ё", "е")))


@pytest.fixture(scope="module")
def messages() -> list[NoiseMessage]:
    return load_noise_set(NOISE_SET)


def test_the_set_is_large_and_has_every_kind_and_group(messages: list[NoiseMessage]) -> None:
    assert len({m.text.casefold() for m in messages}) >= 600
    labels = Counter(m.label for m in messages)
    for kind in (*NOISE_KINDS, SAME):
        assert labels[kind] >= 10, kind
    assert labels[COMPLAINT] >= 100
    groups = {m.group for m in messages if m.label == COMPLAINT}
    assert groups == set(load_rubricator().groups)
    roles = Counter(m.role for m in messages)
    assert roles["post"] >= 200
    assert roles["comment"] >= 300
    assert roles["reply"] >= 25
    # short and long, emoji-only and «+» among them
    lengths = [len(m.text) for m in messages]
    assert min(lengths) <= 2
    assert max(lengths) >= 400
    assert any(m.text.strip("+") == "" for m in messages)
    assert any(not re.search(r"\w", m.text) and "+" not in m.text for m in messages)


def test_threads_are_linked(messages: list[NoiseMessage]) -> None:
    by_id = {m.id: m for m in messages}
    for m in messages:
        if m.role == "post":
            assert m.parent_id is None
            assert m.reply_to is None
            continue
        assert m.parent_id is not None
        assert by_id[m.parent_id].role == "post"
        assert by_id[m.parent_id].thread == m.thread
        if m.role == "reply":
            assert m.reply_to is not None
            assert by_id[m.reply_to].role == "comment"


def test_no_text_of_the_set_is_in_the_training_corpus(messages: list[NoiseMessage]) -> None:
    """The set is for measuring only: no text of it is in the seed corpus or its templates."""
    measured = {_key(m.text) for m in messages if _key(m.text)}
    corpus = {_key(e.text) for e in load_seed_corpus()}
    assert not measured & corpus
    template_lines = set()
    for path in TEMPLATES.glob("*.txt"):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip() and not line.startswith("#"):
                template_lines.add(_key(re.sub(r"\{\w+\}", " ", line)))
    # Whole messages of three words or more never appear as a template statement.
    assert not {k for k in measured if len(k.split()) >= 3} & template_lines


def test_a_malformed_line_names_its_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "set.txt"
    path.write_text("=== t1 vk\npost complaint | яма на дороге\n", encoding="utf-8")
    with pytest.raises(NoiseSetError, match=r"set.txt:2: a complaint needs its group"):
        load_noise_set(path)
    path.write_text("=== t1 vk\n comment reaction | +\n", encoding="utf-8")
    with pytest.raises(NoiseSetError, match="before the post"):
        load_noise_set(path)
    path.write_text("=== t1 vk\npost rant | ну и ну\n", encoding="utf-8")
    with pytest.raises(NoiseSetError, match="unknown label 'rant'"):
        load_noise_set(path)


def test_report_counts_precision_recall_and_kinds() -> None:
    msgs = [
        NoiseMessage("a", "t", "vk", "post", "Яма на Ленина", COMPLAINT, "Дороги"),
        NoiseMessage("b", "t", "vk", "comment", "+", "reaction", parent_id="a"),
        NoiseMessage("c", "t", "vk", "comment", "Пишите в ЦУР", "advice", parent_id="a"),
        NoiseMessage("d", "t", "vk", "comment", "На Мира то же", SAME, parent_id="a"),
    ]
    report = noise_report(msgs, [0.9, 0.2, 0.7, 0.9], ["reaction", "reaction", "advice", None])
    assert report.complaint_precision == 0.5  # the advice was called a complaint
    assert report.complaint_recall == 1.0
    rows = {k.label: k for k in report.per_kind}
    assert rows["reaction"].kept_out == 1.0
    assert rows["reaction"].recall == 1.0
    assert rows["advice"].kept_out == 0.0
    assert rows["advice"].recall == 0.0
    assert rows[SAME].precision is None
    assert report.false_positives == (("advice", "Пишите в ЦУР", 0.7),)
    text = format_noise_report(report)
    assert "complaint precision 0.500, recall 1.000" in text
    assert "[advice] Пишите в ЦУР" in text
