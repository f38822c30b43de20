"""The classify stage hands grouping the lemmas the classifier read: one lemmatisation a text."""

from __future__ import annotations

import datetime as dt

import pytest

from app.pipeline import ClassifyStage, Item
from classifier.artifact import load_artifact
from classifier.lemmatizer import Lemmatizer
from classifier.pipeline import Classifier
from classifier.types import ClassificationInput
from storage.enums import MessageKind, Network
from storage.repositories.classifications import PendingMessage

TEXTS = [
    "Третий день нет горячей воды в доме 5 по ул. Ленина, Слободской 😡",
    "Спасибо дорожникам за ремонт!",
    "",
]


class CountingLemmatizer(Lemmatizer):
    """A lemmatiser that counts whole-text calls."""

    def __init__(self) -> None:
        super().__init__()
        self.texts = 0

    def lemmatize_text(self, text: str) -> list[str]:
        self.texts += 1
        return super().lemmatize_text(text)


def _message(number: int, text: str) -> PendingMessage:
    return PendingMessage(
        id=number,
        network=Network.VK,
        external_id=f"-1_{number}",
        kind=MessageKind.POST,
        parent_external_id=None,
        author_id="7",
        text=text,
        posted_at=dt.datetime(2026, 12, 1, 9, tzinfo=dt.UTC),
        views=0,
        likes=0,
        comments=0,
        reposts=0,
        geo_lat=None,
        geo_lon=None,
        deleted=False,
        source_id=1,
        source_municipality=None,
        source_municipality_oktmo=None,
    )


@pytest.mark.parametrize("shared", [True, False])
def test_lemmas_come_from_the_classifier_when_it_shares_the_lemmatiser(shared: bool) -> None:
    ours = CountingLemmatizer()
    classifier = Classifier.from_artifact(load_artifact(), lemmatizer=ours)
    stage_lemmatizer = ours if shared else CountingLemmatizer()
    stage = ClassifyStage(classifier, stage_lemmatizer)
    items = [Item(_message(n, t)) for n, t in enumerate(TEXTS, start=1)]
    stage.prepare(items)
    done = [stage.process(item) for item in items]
    reference = Lemmatizer()
    assert [i.lemmas for i in done] == [tuple(reference.lemmatize_text(t)) for t in TEXTS]
    expected = classifier.classify_many([ClassificationInput(t) for t in TEXTS])
    assert [i.classification for i in done] == expected
    assert ours.texts == 0  # the classifier reads prepared words, never whole texts again
    if not shared:
        assert stage_lemmatizer.texts == len(TEXTS)  # a lemmatiser of its own: once a text
