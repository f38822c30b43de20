"""The problem vocabulary and the rule that keeps texts naming no problem out of complaints."""

from __future__ import annotations

import pytest

from classifier.complaint_cues import (
    ADVICE_REASON,
    CUE_NAMES,
    NO_PROBLEM_REASON,
    REPLY_REASON,
    cue_matrix,
    no_problem_reason,
    problem_vocabulary,
)
from classifier.corpus import load_seed_corpus
from classifier.lemmatizer import Lemmatizer
from classifier.model import NO_PROBLEM_CONFIDENCE, TextModels
from classifier.rubricator import load_rubricator
from classifier.train import train
from tests.classifier.test_kinds import SMALL


@pytest.fixture(scope="module")
def lemmatizer() -> Lemmatizer:
    return Lemmatizer()


def _doc(lemmatizer: Lemmatizer, text: str) -> str:
    return " ".join(lemmatizer.lemmatize_text(text))


def test_vocabulary_takes_the_complaints_own_words_and_not_the_shared_ones() -> None:
    complaints = ["граффити на фасад", "граффити на забор", "граффити у школа", "вот и все"]
    others = ["вот и все", "вот спасибо", "вот и все пишите"]
    words = problem_vocabulary(complaints, others)
    assert "граффити" in words  # three complaints, no other text
    assert "вот" not in words  # as common in the others
    assert {"яма", "подъезд"} <= words  # the hand lexicons are always in


# Written for this test (not in the seed corpus, the measured or the dev set).
@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("Позор, куда смотрят власти", NO_PROBLEM_REASON),
        ("Обращайтесь в прокуратуру, быстрее будет", ADVICE_REASON),
        ("Пишите жалобу в министерство", ADVICE_REASON),
        ("Сергей, вы неправы, у нас давно всё поменяли", REPLY_REASON),
        ("Наталья Ивановна, не согласна", REPLY_REASON),
        ("Во дворе на Луговой 5 третью неделю не вывозят мусор", None),
        ("Звоните в управляющую компанию: в подъезде нет света вторые сутки", None),
        ("Олег, у нас в подвале прорвало трубу, вода стоит по колено", None),
        ("Надпись на стене", None),
        ("", None),
    ],
)
def test_no_problem_reason(lemmatizer: Lemmatizer, text: str, reason: str | None) -> None:
    words = problem_vocabulary([], [])
    assert no_problem_reason(_doc(lemmatizer, text), words | {"надпись"}) == reason


def test_cue_matrix_has_a_row_per_document(lemmatizer: Lemmatizer) -> None:
    docs = [_doc(lemmatizer, "Яма на дороге у дома 5"), "", _doc(lemmatizer, "Звоните в ЕДДС")]
    cues = cue_matrix(docs)
    assert cues.shape == (3, len(CUE_NAMES))
    col = {name: i for i, name in enumerate(CUE_NAMES)}
    assert cues[0, col["problem_and_object"]] == 1.0
    assert cues[1].sum() == 0.0
    assert cues[2, col["advice_opening"]] == 1.0


@pytest.fixture(scope="module")
def models(lemmatizer: Lemmatizer) -> TextModels:
    seed = load_seed_corpus()
    return train(
        seed, lemmatize=lemmatizer.lemmatize_text, rubricator=load_rubricator(), spec=SMALL
    ).models


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("Позвоните в диспетчерскую, они запишут заявку", "advice"),
        ("Марина, а вы сами-то пробовали туда дозвониться?", "reply"),
    ],
)
def test_the_model_keeps_out_what_names_no_problem_and_says_why(
    models: TextModels, lemmatizer: Lemmatizer, text: str, kind: str
) -> None:
    assert models.problem_words is not None
    (pred,) = models.predict([_doc(lemmatizer, text)])
    assert pred.complaint_confidence <= NO_PROBLEM_CONFIDENCE
    assert pred.kind == kind
    fields = [e.field for e in pred.evidence]
    assert fields[:2] == ["kind", "reason"]


def test_a_complaint_passes_the_rule(models: TextModels, lemmatizer: Lemmatizer) -> None:
    text = "На улице Гагарина 12 вторую неделю не горят фонари, дети идут в школу в темноте"
    (pred,) = models.predict([_doc(lemmatizer, text)])
    assert pred.is_complaint
    assert all(e.field != "reason" for e in pred.evidence)


def test_a_model_without_the_vocabulary_keeps_nothing_out(
    models: TextModels, lemmatizer: Lemmatizer
) -> None:
    doc = _doc(lemmatizer, "Позвоните в диспетчерскую, они запишут заявку")
    state = models.__getstate__()
    state.pop("problem_words")
    old = TextModels.__new__(TextModels)
    old.__setstate__(state)
    assert old.problem_words is None
    (pred,) = old.predict([doc])
    assert all(e.field != "reason" for e in pred.evidence)
