"""The dictionary's fast path to a word's first normal form answers as pymorphy3's parse does."""

from __future__ import annotations

from typing import Any

import pymorphy3
import pytest

from classifier.corpus import load_seed_corpus
from classifier.morph_lookup import NormalFormLookup
from classifier.text import prepare


@pytest.fixture(scope="module")
def morph() -> Any:
    return pymorphy3.MorphAnalyzer()


def test_same_normal_form_as_parse_on_the_seed_corpus(morph: Any) -> None:
    # Every word of the corpus as the lemmatiser gets it, plus words the dictionary does not
    # know, homographs ranked by P(tag | word), «е» for «ё» and a Latin word.
    words = {w for example in load_seed_corpus() for w in prepare(example.text).words}
    words |= {"стали", "мыла", "елка", "ежик", "котельничские", "ямааа", "10-й", "wifi", "ооо"}
    lookup = NormalFormLookup(morph)
    different = {
        w: (lookup.normal_form(w), morph.parse(w)[0].normal_form)
        for w in sorted(words)
        if lookup.normal_form(w) != morph.parse(w)[0].normal_form
    }
    assert len(words) > 3000
    assert different == {}


def test_an_analyzer_it_does_not_know_is_asked_to_parse() -> None:
    class Parse:
        normal_form = "своё"

    class Analyzer:
        def parse(self, word: str) -> list[Parse]:
            return [Parse()] if word else []

    lookup = NormalFormLookup(Analyzer())
    assert lookup.normal_form("слово") == "своё"
    assert lookup.normal_form("") is None
