"""One cleaning per message: the prepared text gives every stage what it read before."""

from __future__ import annotations

import numpy as np
import pytest

from classifier.artifact import load_artifact
from classifier.gazetteer import CORRECTION_CACHE_SIZE, Gazetteer
from classifier.lemmatizer import Lemmatizer
from classifier.pipeline import Classifier, PreparedMatcher, WordLemmatizer
from classifier.text import clean, normalize, prepare, tokenize
from classifier.types import ClassificationInput

# Real-looking messages, among them the cases where a line and the whole text clean apart:
# markup over a line break, Latin look-alikes decided by the whole text's alphabet, trailing
# and Windows line breaks, empty lines, emoji, very long and empty texts.
TEXTS = [
    "",
    "   \n\n  ",
    "Во дворе дома 5 по ул. Ленина третий день нет воды!!! 😡😡",
    "В Слободском районе\nдорогу не чистят\n\nс. Бобино тоже отрезано",
    "КИРОВО-ЧЕПЕЦК: свет отключили в 6 утра\r\nкогда дадут???",
    "<b>Кир</b>ов, <p>ул. Московская</p> яма на дороге\n<a href='x'>ссылка\nдальше</a>",
    "B Кирове\nC днём рождения, ужжжжасно оооочень плохо",
    "Напишите на admin@kirov.ru или позвоните +7 (912) 345-67-89\nwww.kirov.ru/news",
    "[id123|Иван Петров], в д. Балезинщина снова нет света\u2028уже неделю",
    "Котельнич\n",
    "Кирово\u2011Чепецк, школа №3 — 5-й день без отопления; сайт киров.рф/жкх молчит",
    "Аварийка не отвечает, звоните сами: 8 912\n345-67-89, спросите мастера",
    "Подъезд 2\n\n\nлифт стоит\r\nс понедельника 😡\n",
    "мусор " * 400,
    # Folding that is not one character for one: «İ» becomes two, «Σ» reads its neighbours.
    "İstanbul-Кафе на Ленина 5 закрыто\nвывеска висит криво",
    "ΟΔΟΣ'Α: кафе «ΣΑΣ» у дома 3, мусор не вывозят",
]


@pytest.fixture(scope="module")
def lemmatizer() -> Lemmatizer:
    return Lemmatizer()


@pytest.fixture(scope="module")
def kirov(lemmatizer: Lemmatizer) -> Gazetteer:
    return Gazetteer.load("kirov", morph=lemmatizer.morph)


@pytest.mark.parametrize("text", TEXTS)
def test_prepared_words_are_the_normalised_tokens(text: str) -> None:
    assert list(prepare(text).words) == tokenize(normalize(text))


@pytest.mark.parametrize("text", TEXTS)
def test_prepared_lines_are_the_cleaned_lines(text: str) -> None:
    expected = [c for c in (clean(line) for line in text.splitlines()) if c]
    assert list(prepare(text).lines) == expected


def test_a_two_line_text_is_cleaned_as_a_whole_for_the_lemmas() -> None:
    # Line by line, "B" and "C" would each be read in a line of their own alphabet.
    text = "B Кирове нет света\nC утра"
    assert prepare(text).words == tuple(tokenize(normalize(text)))
    assert prepare(text).words[0] == "в"


@pytest.mark.parametrize("text", TEXTS)
def test_the_gazetteer_reads_a_prepared_text_as_the_raw_one(kirov: Gazetteer, text: str) -> None:
    assert kirov.find_places(prepare(text)) == kirov.find_places(text)
    assert kirov.match_prepared(prepare(text), source_municipality="Оричевский район") == (
        kirov.match(text, source_municipality="Оричевский район")
    )


def test_typo_checks_are_remembered_within_a_bound(kirov: Gazetteer) -> None:
    fresh = Gazetteer.load("kirov", morph=kirov._morph)
    assert fresh.find_places("Авария в Котельниче")  # a known form: no typo check needed
    found = fresh.find_places("Авария в Котельнче")  # one letter lost
    assert [m.settlements[0].name for m in found] == ["Котельнич"]
    assert "котельнче" in fresh._corrections
    fresh._corrections.clear()
    fresh._corrections.update({f"слово{k}": None for k in range(CORRECTION_CACHE_SIZE)})
    again = fresh.find_places("Авария в Котелниче")  # another slip, once the memory is full
    assert [m.settlements[0].name for m in again] == ["Котельнич"]
    assert len(fresh._corrections) <= CORRECTION_CACHE_SIZE


def test_the_batch_path_hands_back_the_lemmas_the_models_read(
    lemmatizer: Lemmatizer, kirov: Gazetteer
) -> None:
    assert isinstance(lemmatizer, WordLemmatizer)
    assert isinstance(kirov, PreparedMatcher)
    classifier = Classifier.from_artifact(load_artifact(), lemmatizer=lemmatizer, matcher=kirov)
    items = [ClassificationInput(t, source_municipality="Слободской район") for t in TEXTS]
    results = classifier.classify_with_lemmas(items)
    assert [lemmas for _result, lemmas in results] == [
        tuple(lemmatizer.lemmatize_text(t)) for t in TEXTS
    ]
    assert [result for result, _lemmas in results] == classifier.classify_many(items)
    one_by_one = [classifier.classify(item) for item in items]
    assert [result for result, _lemmas in results] == one_by_one
    kotelnich = classifier.classify(ClassificationInput("Котельнич\nнет воды второй день"))
    assert kotelnich.municipality == "город Котельнич"


def test_word_features_equal_scikit_learns_transform(lemmatizer: Lemmatizer) -> None:
    import joblib  # type: ignore[import-untyped]

    from classifier.artifact import MODEL_FILE, default_artifact_dir

    # The fitted models (load_artifact reads the frozen copy, which has no vectorizers).
    featurizer = joblib.load(default_artifact_dir() / MODEL_FILE).featurizer
    docs = [" ".join(lemmatizer.lemmatize_text(t)) for t in TEXTS]
    docs += ["не работать не работать фонарь", "вода вода вода нет"]
    ours = featurizer._word_tfidf(docs)
    theirs = featurizer.words.transform(docs)
    assert ours.shape == theirs.shape
    assert ours.dtype == theirs.dtype
    assert (ours.indptr == theirs.indptr).all()
    assert (ours.indices == theirs.indices).all()
    assert (ours.data == theirs.data).all()
    assert ours.nnz > 20


def test_word_pairs_with_an_unknown_word_fall_back_to_their_text(lemmatizer: Lemmatizer) -> None:
    import joblib

    from classifier.artifact import MODEL_FILE, default_artifact_dir

    featurizer = joblib.load(default_artifact_dir() / MODEL_FILE).featurizer
    assert featurizer._word_pairs()  # the shipped vocabulary: every pair's words are columns
    docs = [" ".join(lemmatizer.lemmatize_text(t)) for t in TEXTS]
    docs.append("прорвать трубу зюзюка прорвать")
    vocabulary = dict(featurizer.words.vocabulary_)
    pair = next(term for term in vocabulary if " " in term)
    column = vocabulary.pop(pair)
    vocabulary["зюзюка прорвать"] = column  # a pair of a word with no column of its own
    featurizer.words.vocabulary_ = vocabulary
    featurizer.__dict__.pop("_pairs_by_columns", None)
    assert featurizer._word_pairs() is None
    ours = featurizer._word_tfidf(docs)
    theirs = featurizer.words.transform(docs)
    assert (ours.indptr == theirs.indptr).all()
    assert (ours.indices == theirs.indices).all()
    assert (ours.data == theirs.data).all()
    assert ours[len(docs) - 1, column] > 0  # the pair was counted


@pytest.mark.parametrize("text", TEXTS)
def test_folded_words_get_the_lemmas_of_the_words(lemmatizer: Lemmatizer, text: str) -> None:
    words = prepare(text).words
    assert lemmatizer.lemmas_of_folded(words) == lemmatizer.lemmas(words)
    dropping = Lemmatizer(lemmatizer.morph, drop_stop_words=True)
    assert dropping.lemmas_of_folded(words) == dropping.lemmas(words)


def test_folding_one_character_keeps_its_kind_for_every_code_point() -> None:
    # What lets prepare fold the lines' words instead of tokenising the folded text: a
    # character folded into one character stays a word character (letter or digit), a hyphen,
    # a space or none of them, and no other character folds into one of those.
    import re

    from classifier.text import fold

    word = re.compile(r"[^\W_]")

    def kind(ch: str) -> str:
        if word.fullmatch(ch):
            return "word"
        return "hyphen" if ch == "-" else "space" if ch.isspace() else "other"

    for code in range(0x110000):
        ch = chr(code)
        folded = fold(ch)
        if len(folded) == 1:
            assert kind(folded) == kind(ch), hex(code)
        elif kind(ch) != "word":
            assert all(kind(c) == "other" for c in folded), hex(code)


def test_the_gazetteer_tokens_of_a_prepared_text_are_those_of_its_lines() -> None:
    from classifier.gazetteer import _Tokens

    for text in TEXTS:
        prepared = prepare(text)
        shared, own = _Tokens(prepared.lines, prepared), _Tokens(prepared.lines)
        assert shared.lows == own.lows
        assert list(shared) == list(own)


def test_folding_is_idempotent_for_every_code_point() -> None:
    from classifier.text import fold

    for code in range(0x110000):
        once = fold(chr(code))
        assert fold(once) == once, hex(code)


def test_a_few_messages_get_the_same_bits_through_the_sparse_weights(
    lemmatizer: Lemmatizer, kirov: Gazetteer
) -> None:
    from classifier.model import DENSE_FROM_ROWS

    items = [ClassificationInput(text) for text in TEXTS]
    assert len(items) < DENSE_FROM_ROWS
    few = Classifier.from_artifact(load_artifact(), lemmatizer=lemmatizer, matcher=kirov)
    singly = [few.classify(item) for item in items]
    together = few.classify_many(items)
    heads = (few.models.complaint, few.models.group, few.models.topic)
    assert all(head is not None and head._dense_t is None for head in heads)  # sparse only
    dense = Classifier.from_artifact(load_artifact(), lemmatizer=lemmatizer, matcher=kirov)
    padded = items * (DENSE_FROM_ROWS // len(items) + 1)
    through_dense = dense.classify_many(padded)[: len(items)]
    assert dense.models.topic is not None
    assert dense.models.topic._dense_t is not None
    assert singly == together == through_dense
    assert any(result.is_complaint for result in singly)
    x = dense.models.featurizer.transform([" ".join(lemmatizer.lemmatize_text(t)) for t in TEXTS])
    dense_heads = (dense.models.complaint, dense.models.group, dense.models.topic)
    for sparse_head, dense_head in zip(heads, dense_heads, strict=True):
        assert sparse_head is not None
        assert dense_head is not None
        sparse_bits = sparse_head._products(x)
        dense_bits = np.asarray(x @ dense_head.dense_t())
        assert sparse_bits.dtype == dense_bits.dtype == np.float32
        assert (sparse_bits.view(np.uint32) == dense_bits.view(np.uint32)).all()
