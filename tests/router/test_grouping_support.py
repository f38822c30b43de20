"""Shared helpers for the grouping tests: a small pymorphy3 lemmatiser and the duplicate sets."""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path

import pymorphy3

from router.grouping import GroupingMessage, Reach

DATA = Path(__file__).parent / "data"
_WORD = re.compile(r"[а-яёa-z]+(?:-[а-яёa-z]+)*|\d+", re.IGNORECASE)
_URL = re.compile(r"https?://\S+|www\.\S+", re.IGNORECASE)


@lru_cache(maxsize=1)
def _morph() -> pymorphy3.MorphAnalyzer:
    return pymorphy3.MorphAnalyzer()


@lru_cache(maxsize=50_000)
def _lemma(word: str) -> str:
    if word.isdigit():
        return word
    return str(_morph().parse(word)[0].normal_form).replace("ё", "е")


def lemmatize(text: str) -> list[str]:
    """Lemmatise a text word by word (the first pymorphy3 parse; numbers kept; URLs dropped)."""
    return [_lemma(word.lower()) for word in _WORD.findall(_URL.sub(" ", text))]


@dataclass(frozen=True, slots=True)
class LabelledMessage:
    """A synthetic message with the incident it truly belongs to."""

    truth: str
    message: GroupingMessage


def load_duplicates(name: str = "duplicates.json") -> list[LabelledMessage]:
    """Load a synthetic duplicate set as grouping messages, in order of posting."""
    raw = json.loads((DATA / name).read_text(encoding="utf-8"))
    base = datetime.fromisoformat(raw["base_time"])
    places: dict[str, str] = raw["municipalities"]
    result = []
    for item in raw["messages"]:
        message = GroupingMessage(
            key=item["key"],
            network=item["network"],
            text=item["text"],
            lemmas=tuple(lemmatize(item["text"])),
            topic_group=item["group"],
            topic=item["topic"],
            municipality_oktmo=places[item["place"]],
            posted_at=base + timedelta(minutes=item["minutes"]),
            parent_key=item.get("parent"),
            author_id=item.get("author"),
            reach=Reach(
                views=item.get("views", 0),
                likes=item.get("likes", 0),
                comments=item.get("comments", 0),
                reposts=item.get("reposts", 0),
            ),
        )
        result.append(LabelledMessage(item["truth"], message))
    result.sort(key=lambda lm: lm.message.posted_at)
    return result


@dataclass(frozen=True, slots=True)
class PairScores:
    """Pairwise precision and recall of a clustering against the truth."""

    precision: float
    recall: float
    true_pairs: int
    predicted_pairs: int


def pair_scores(truth: Sequence[str], predicted: Sequence[object]) -> PairScores:
    """Count pairs of messages put together by the truth, by the prediction, and by both."""

    def pairs(labels: Iterable[object]) -> set[tuple[int, int]]:
        return {
            (a, b) for (a, la), (b, lb) in itertools.combinations(enumerate(labels), 2) if la == lb
        }

    true_pairs = pairs(truth)
    predicted_pairs = pairs(predicted)
    both = len(true_pairs & predicted_pairs)
    precision = both / len(predicted_pairs) if predicted_pairs else 1.0
    recall = both / len(true_pairs) if true_pairs else 1.0
    return PairScores(precision, recall, len(true_pairs), len(predicted_pairs))


def test_lemmatize_normalises_forms() -> None:
    assert lemmatize("Прорвало трубы у детей, 15 домов") == [
        "прорвать",
        "труба",
        "у",
        "ребенок",
        "15",
        "дом",
    ]


def test_pair_scores_counts_pairs() -> None:
    scores = pair_scores(["a", "a", "a", "b"], [1, 1, 2, 2])
    assert (scores.true_pairs, scores.predicted_pairs) == (3, 2)
    assert scores.precision == 0.5
    assert scores.recall == 1 / 3
