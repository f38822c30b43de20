"""Helpers for pipeline tests (no tests here): a keyword classifier double, message builders."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from classifier.lemmatizer import Lemmatizer
from classifier.types import Classification, ClassificationInput
from collector.types import VkComment, VkPost
from storage.enums import Network
from storage.repositories.messages import MessageRepository
from storage.repositories.sources import SourceRecord, SourceRepository
from tests.factories import SLOBODSKOY

KOTELNICH = "33710000"
OWNER = -170001
LEMMATIZER = Lemmatizer()
_ids = itertools.count(100)

# (keyword in the lower-cased text, topic group, topic)
_TOPICS = (
    ("ям", "Дороги", "Ямы на дорогах"),
    ("поликлиник", "Здравоохранение", "Запись к врачу"),
    ("терапевт", "Здравоохранение", "Запись к врачу"),
    ("вод", "ЖКХ", "Отсутствие ГВС"),
)
_NOT_COMPLAINTS = ("продам", "поздравляем", "спасибо")
_PLACES = (("слободск", "Слободской", SLOBODSKOY), ("котельнич", "Котельнич", KOTELNICH))


@dataclass
class KeywordClassifier:
    """A classifier double: topics and places by keyword, fixed confidences; counts its calls."""

    version: str = "keywords:2026-11-23"
    topic_confidence: float = 0.95
    complaint_confidence: float = 0.9
    calls: list[int] = field(default_factory=list)
    fail: bool = False

    def classify_many(self, items: Sequence[ClassificationInput]) -> list[Classification]:
        """Classify by keywords."""
        if self.fail:
            raise RuntimeError("model exploded")
        self.calls.append(len(items))
        return [self._one(item) for item in items]

    def _one(self, item: ClassificationInput) -> Classification:
        text = item.text.lower()
        complaint = not any(word in text for word in _NOT_COMPLAINTS)
        group, topic = next(((g, t) for k, g, t in _TOPICS if k in text), (None, None))
        place = next(((n, o) for k, n, o in _PLACES if k in text), (None, None))
        if place == (None, None) and item.source_municipality == SLOBODSKOY:
            place = ("Слободской", SLOBODSKOY)
        return Classification(
            is_complaint=complaint,
            complaint_confidence=self.complaint_confidence if complaint else 0.1,
            topic_group=group,
            topic=topic,
            topic_confidence=self.topic_confidence if group else 0.1,
            municipality=place[0],
            municipality_oktmo=place[1],
            municipality_confidence=0.9 if place[1] else 0.0,
            model_version=self.version,
        )


def add_source(sm: sessionmaker[Session], owner: int = OWNER) -> SourceRecord:
    """Add a VK community of Slobodskoy."""
    with sm.begin() as s:
        return SourceRepository(s).add(
            Network.VK,
            str(-owner),
            screen_name=f"club{-owner}",
            municipality="Слободской",
            municipality_oktmo=SLOBODSKOY,
        )


def post(
    sm: sessionmaker[Session],
    source: SourceRecord,
    text: str,
    at: datetime,
    *,
    author: int = 1,
    views: int = 100,
    owner: int = OWNER,
) -> str:
    """Store a post; return its external id."""
    item = VkPost(
        owner_id=owner, id=next(_ids), from_id=author, date=at, text=text, views_count=views
    )
    with sm.begin() as s:
        MessageRepository(s).upsert_post(source.id, item, at)
    return item.external_id


def comment(
    sm: sessionmaker[Session],
    source: SourceRecord,
    post_external_id: str,
    text: str,
    at: datetime,
    *,
    author: int = 2,
) -> str:
    """Store a comment under a post; return its external id."""
    owner, post_id = (int(x) for x in post_external_id.split("_"))
    item = VkComment(
        owner_id=owner, post_id=post_id, id=next(_ids), from_id=author, date=at, text=text
    )
    with sm.begin() as s:
        MessageRepository(s).upsert_comment(source.id, item, at)
    return item.external_id
