"""The grouping index and the word caches stay bounded: sizes, not timings."""

from __future__ import annotations

from datetime import timedelta

from classifier.lemmatizer import DEFAULT_CACHE_SIZE
from router.fingerprint import STEM_CACHE_SIZE, stem
from router.grouping import GroupingIndex
from tests.router.test_grouping import T0, WATER_LENINA, WATER_LENINA_2, feed, msg


def test_expire_drops_the_shared_block_keys_of_the_days_it_forgets() -> None:
    index = GroupingIndex()
    feed(index, msg("a", WATER_LENINA), msg("b", "Труда 3, нет холодной воды", minutes=5))
    assert len(index._block_keys) == 1
    entries = list(index._entries.values())
    assert entries[0].block is entries[1].block  # one tuple for the block, not one a message
    index.expire(T0 + timedelta(days=10))
    assert index._block_keys == {}
    feed(index, msg("c", WATER_LENINA, minutes=60 * 24 * 11))
    assert len(index._block_keys) == 1


def test_an_incident_keeps_no_out_of_date_snapshot() -> None:
    index = GroupingIndex()
    [first] = feed(index, msg("a", WATER_LENINA))
    probe = msg("b", WATER_LENINA_2, minutes=10)
    index.route(probe)  # reads the incident: its snapshot is cached
    assert index._incidents[first].snapshot is not None
    assert feed(index, probe) == [first]
    assert index._incidents[first].snapshot is None  # attached: the old record is let go
    assert index.incident(first).message_count == 2


def test_entries_keep_their_terms_in_the_order_of_the_term_set() -> None:
    index = GroupingIndex()
    feed(index, msg("a", WATER_LENINA))
    entry = index._entries["a"]
    assert isinstance(entry.terms, tuple)
    assert set(entry.terms) >= {"ленин", "холодн"}


def test_word_caches_have_bounds_that_a_backfill_fills_to_a_few_tens_of_mb() -> None:
    # A 200 000-word lemma cache holds ~63 MB once full; a real backfill fills it.
    assert 0 < DEFAULT_CACHE_SIZE <= 50_000
    assert stem.cache_info().maxsize == STEM_CACHE_SIZE <= 50_000
    stem.cache_clear()
    for i in range(STEM_CACHE_SIZE + 10):
        stem(f"улица{i}")
    assert stem.cache_info().currsize == STEM_CACHE_SIZE
    stem.cache_clear()
