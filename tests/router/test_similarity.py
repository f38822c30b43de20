"""Tests for the IDF-weighted cosine between a message and an incident profile."""

from __future__ import annotations

import math

import pytest

from router.similarity import TermStats, profile_similarity, set_similarity

FLAT = TermStats(0, {})


def test_identical_sets_score_one_and_disjoint_sets_zero() -> None:
    assert set_similarity({"вода", "холодный"}, {"холодный", "вода"}, FLAT).score == pytest.approx(
        1.0
    )
    assert set_similarity({"вода"}, {"яма"}, FLAT).score == 0.0
    assert set_similarity(set(), {"яма"}, FLAT).score == 0.0


def test_flat_weights_give_the_plain_set_cosine() -> None:
    sim = set_similarity({"a", "b", "c"}, {"b", "c", "d", "e"}, FLAT)
    assert sim.score == pytest.approx(2 / math.sqrt(3 * 4))
    assert set(sim.shared) == {"b", "c"}


def test_a_rare_shared_term_counts_more_than_a_common_one() -> None:
    stats = TermStats(1000, {"свет": 500, "лянгасов": 3, "радужн": 3})
    rare = set_similarity({"свет", "лянгасов"}, {"лянгасов", "радужн"}, stats)
    common = set_similarity({"свет", "лянгасов"}, {"свет", "радужн"}, stats)
    assert rare.score > common.score
    assert rare.shared == ("лянгасов",)


def test_weight_is_smoothed_idf() -> None:
    stats = TermStats(9, {"a": 9})
    assert stats.weight("a") == pytest.approx(1.0)
    assert stats.weight("never-seen") == pytest.approx(math.log(10) + 1)


def test_profile_weights_lemmas_by_the_share_of_messages_using_them() -> None:
    # Three messages: all say "вода", one says "безобразие".
    profile = {"вода": 3, "холодн": 2, "безобраз": 1}
    core = profile_similarity({"вода", "холодн"}, profile, 3, FLAT)
    fringe = profile_similarity({"безобраз"}, profile, 3, FLAT)
    assert core.score > 0.9
    assert fringe.score < 0.3
    assert core.shared == ("вода", "холодн")


def test_empty_profile_scores_zero() -> None:
    assert profile_similarity({"вода"}, {}, 0, FLAT).score == 0.0
