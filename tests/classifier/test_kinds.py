"""The complaint head names the kind of a non-complaint; wordless messages are no complaints."""

from __future__ import annotations

import pytest

from classifier.corpus import SeedExample, load_seed_corpus
from classifier.features import FeatureSpec
from classifier.lemmatizer import Lemmatizer
from classifier.model import NO_WORDS_CONFIDENCE, ModelSpec, TextModels, TrainingItem
from classifier.noise import NOISE_KINDS
from classifier.pipeline import Classifier
from classifier.rubricator import load_rubricator
from classifier.train import merge_training_items, train
from classifier.types import ClassificationInput

SMALL = ModelSpec(features=FeatureSpec(char_ngrams=None), c=5.0, max_iter=300)


@pytest.fixture(scope="module")
def lemmatizer() -> Lemmatizer:
    return Lemmatizer()


@pytest.fixture(scope="module")
def models(lemmatizer: Lemmatizer) -> TextModels:
    seed = load_seed_corpus()
    return train(
        seed, lemmatize=lemmatizer.lemmatize_text, rubricator=load_rubricator(), spec=SMALL
    ).models


def test_the_seed_corpus_names_a_kind_for_most_non_complaints() -> None:
    seed = load_seed_corpus()
    kinds = {e.kind for e in seed if not e.is_complaint}
    assert kinds == set(NOISE_KINDS)
    assert all(e.kind is None for e in seed if e.is_complaint)


def test_training_items_carry_the_kind(lemmatizer: Lemmatizer) -> None:
    seed = [
        SeedExample("Нет воды третий день", True, "ЖКХ", "Отсутствие холодной воды"),
        SeedExample("Пишите в прокуратуру", False, kind="advice"),
        SeedExample("Продам дрова", False),
    ]
    items, _ = merge_training_items(
        seed, [], lemmatize=lemmatizer.lemmatize_text, rubricator=load_rubricator()
    )
    assert [i.complaint_label() for i in items] == ["1", "advice", "0"]
    assert TrainingItem("x", None).complaint_label() == "0"


# Written for this test (not in the seed corpus or the measured set).
@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("Советую написать жалобу в жилинспекцию через госуслуги", "advice"),
        ("Всем привет, добрый вечер из Лузы!", "greeting"),
        ("Продаю картошку крупную, 5 мешков, звоните", "ad"),
    ],
)
def test_a_non_complaint_gets_its_kind_and_the_reason_in_the_evidence(
    models: TextModels, lemmatizer: Lemmatizer, text: str, kind: str
) -> None:
    (pred,) = models.predict([" ".join(lemmatizer.lemmatize_text(text))])
    assert not pred.is_complaint
    assert pred.kind == kind
    assert 0.0 < pred.kind_confidence <= 1.0
    reasons = [e for e in pred.evidence if e.field == "kind"]
    assert [e.text for e in reasons] == [kind]
    assert any(e.field == "complaint" for e in pred.evidence)


@pytest.mark.parametrize("text", ["+", "👍👍👍", "++++", "<b></b> 😡😡"])
def test_a_message_without_words_is_no_complaint(
    models: TextModels, lemmatizer: Lemmatizer, text: str
) -> None:
    classifier = Classifier(models=models, version="t", lemmatizer=lemmatizer)
    result = classifier.classify(ClassificationInput(text))
    assert not result.is_complaint
    assert result.complaint_confidence == NO_WORDS_CONFIDENCE
    assert result.kind == "reaction"


def test_a_complaint_has_no_kind(models: TextModels, lemmatizer: Lemmatizer) -> None:
    classifier = Classifier(models=models, version="t", lemmatizer=lemmatizer)
    result = classifier.classify(
        ClassificationInput(
            "В подъезде дома Мира 7 третий день не работает лифт, бабушки сидят дома"
        )
    )
    assert result.is_complaint
    assert result.kind is None
