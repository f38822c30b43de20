"""The cached pymorphy3 lemmatizer: lemmas of inflected Russian, the cache, stop words."""

from __future__ import annotations

from typing import Any

import pymorphy3
import pytest

from classifier.lemmatizer import RUSSIAN_STOP_WORDS, Lemmatizer


@pytest.fixture(scope="module")
def morph() -> Any:
    return pymorphy3.MorphAnalyzer()


@pytest.fixture
def lemmatizer(morph: Any) -> Lemmatizer:
    return Lemmatizer(morph)


@pytest.mark.parametrize(
    ("word", "lemma"),
    [
        ("дороги", "дорога"),
        ("дорогами", "дорога"),
        ("Котельнича", "котельнич"),
        ("Кирово-Чепецке", "кирово-чепецк"),
        ("Перми", "пермь"),
        ("Березниках", "березники"),
        ("отремонтируют", "отремонтировать"),
        ("ЁЛКАМИ", "елка"),
        ("подъездах", "подъезд"),
        ("2024", "2024"),
    ],
)
def test_lemma_of_inflected_words(lemmatizer: Lemmatizer, word: str, lemma: str) -> None:
    assert lemmatizer.lemma(word) == lemma


def test_lemma_of_empty_word(lemmatizer: Lemmatizer) -> None:
    assert lemmatizer.lemma("") == ""


def test_lemmatize_text_normalises_first(lemmatizer: Lemmatizer) -> None:
    text = "<b>Ужжжжасно!!!</b> Дорoги в Кирове 😡 разбиты, [id1|Иван] https://vk.cc/abc"
    assert lemmatizer.lemmatize_text(text) == [
        "ужасно",
        "дорога",
        "в",
        "киров",
        "разбитый",
        "иван",
    ]


def test_lemmatize_empty_text(lemmatizer: Lemmatizer) -> None:
    assert lemmatizer.lemmatize_text("") == []
    assert lemmatizer.lemmatize_text("😡 <br> https://vk.com/x") == []


def test_stop_words_are_kept_unless_asked(morph: Any) -> None:
    text = "Когда уже в Кирове отремонтируют дорогу на улице Ленина? Я не могу пройти!"
    kept = Lemmatizer(morph).lemmatize_text(text)
    dropped = Lemmatizer(morph, drop_stop_words=True).lemmatize_text(text)
    assert "в" in kept
    assert "я" in kept
    assert dropped == [
        "уже",
        "киров",
        "отремонтировать",
        "дорога",
        "улица",
        "ленин",
        "не",
        "мочь",
        "пройти",
    ]


def test_negations_are_never_stop_words() -> None:
    assert {"не", "нет", "ни"}.isdisjoint(RUSSIAN_STOP_WORDS)


def test_custom_stop_words(morph: Any) -> None:
    lem = Lemmatizer(morph, stop_words={"дорога"}, drop_stop_words=True)
    assert lem.lemmas(["дороги", "разбиты"]) == ["разбитый"]
    assert lem.is_stop_word("дорога")


def test_cache_counts_hits_and_is_bounded(morph: Any) -> None:
    lem = Lemmatizer(morph, cache_size=2)
    lem.lemmas(["дороги", "дороги", "ямы", "свет"])
    hits, misses, size = lem.cache_info()
    assert (hits, misses) == (1, 3)
    assert size == 2
    lem.clear_cache()
    assert lem.cache_info()[2] == 0


def test_cache_folds_case_and_yo(morph: Any) -> None:
    lem = Lemmatizer(morph)
    assert lem.lemmas(["Ёлки", "ёлки", "ЕЛКИ"]) == ["елка"] * 3
    hits, misses, _ = lem.cache_info()
    assert (hits, misses) == (2, 1)


def test_uncached_lemmatizer_gives_the_same_lemmas(morph: Any) -> None:
    words = ["дороги", "Кирове", "отремонтируют", "подъездах"]
    assert Lemmatizer(morph, cache_size=0).lemmas(words) == Lemmatizer(morph).lemmas(words)
    assert Lemmatizer(morph, cache_size=0).cache_info() == (0, 0, 0)


def test_negative_cache_size_is_refused(morph: Any) -> None:
    with pytest.raises(ValueError, match="cache_size"):
        Lemmatizer(morph, cache_size=-1)


def test_creates_its_own_analyzer_and_uses_the_c_extension() -> None:
    lem = Lemmatizer()
    assert lem.morph is not None
    # dawg2 is a declared dependency: pymorphy3 must read its dictionaries with it.
    assert lem.uses_c_extension is True
