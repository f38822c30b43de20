"""Classifications: one verdict per message and model version; what is still pending."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine

from classifier.types import Classification, Evidence, MunicipalityCandidate
from collector.types import VkComment, VkPost
from storage.db import make_sessionmaker
from storage.enums import MessageKind, Network
from storage.repositories.classifications import ClassificationRepository
from storage.repositories.messages import MessageRepository
from storage.repositories.sources import SourceRepository

NOW = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)


def verdict(version: str, complaint: bool = True) -> Classification:
    return Classification(
        is_complaint=complaint,
        complaint_confidence=0.93 if complaint else 0.05,
        topic_group="Дороги",
        topic="Ямы на дорогах",
        topic_confidence=0.88,
        municipality="Слободской",
        municipality_oktmo="33713000",
        municipality_confidence=0.8,
        model_version=version,
        evidence=(Evidence("topic", "яма", 1.2), Evidence("municipality", "Слободском", 0.8)),
        municipality_candidates=(MunicipalityCandidate("Слободской", "33713000", 0.8),),
    )


def test_pending_until_classified_by_the_current_version(engine: Engine) -> None:
    sm = make_sessionmaker(engine)
    with sm.begin() as s:
        source = SourceRepository(s).add(
            Network.VK, "-42", municipality="Слободской", municipality_oktmo="33713000"
        )
        messages = MessageRepository(s)
        first = messages.upsert_post(
            source.id,
            VkPost(owner_id=-42, id=1, from_id=7, date=NOW, text="Яма на Ленина в Слободском"),
            NOW,
        )
        second = messages.upsert_comment(
            source.id,
            VkComment(owner_id=-42, post_id=1, id=2, from_id=8, date=NOW, text="Да, огромная"),
            NOW,
        )
    with sm.begin() as s:
        repo = ClassificationRepository(s)
        pending = repo.pending("m:1")
        assert [p.id for p in pending] == [first, second]
        assert pending[0].key == "vk:-42_1"
        assert pending[0].parent_key is None
        assert pending[1].kind is MessageKind.COMMENT
        assert pending[1].parent_key == "vk:-42_1"
        assert pending[0].source_municipality_oktmo == "33713000"
        assert repo.add(first, verdict("m:1"), now=NOW)
        assert not repo.add(first, verdict("m:1"), now=NOW)  # one per version
    with sm.begin() as s:
        repo = ClassificationRepository(s)
        assert [p.id for p in repo.pending("m:1")] == [second]
        assert repo.count_pending("m:1") == 1
        # A new model version makes every message pending again (re-processing, rule 11).
        assert repo.count_pending("m:2") == 2
        assert [p.id for p in repo.pending("m:2", after_id=first)] == [second]
        repo.add(second, verdict("m:1", complaint=False), now=NOW)
        stored = repo.for_messages([first, second])
        assert [(c.message_id, c.is_complaint) for c in stored] == [(first, True), (second, False)]
        assert repo.by_version() == {"m:1": 2}


def test_many_verdicts_in_one_insert_keep_one_per_message_and_version(engine: Engine) -> None:
    sm = make_sessionmaker(engine)
    with sm.begin() as s:
        source = SourceRepository(s).add(Network.VK, "-43")
        messages = MessageRepository(s)
        ids = [
            messages.upsert_post(
                source.id,
                VkPost(owner_id=-43, id=k, from_id=7, date=NOW, text=f"Яма №{k} на Ленина 🚧"),
                NOW,
            )
            for k in range(1, 4)
        ]
    with sm.begin() as s:
        repo = ClassificationRepository(s)
        assert repo.add(ids[0], verdict("m:1"), now=NOW)
        # The first already has one; the second is listed twice: two rows in all.
        batch = [(ids[0], verdict("m:1", complaint=False)), (ids[1], verdict("m:1"))]
        batch += [(ids[1], verdict("m:1", complaint=False)), (ids[2], verdict("m:1", False))]
        assert repo.add_many(batch, now=NOW) == 2
        assert repo.add_many([], now=NOW) == 0
    with sm() as s:
        repo = ClassificationRepository(s)
        stored = repo.for_messages(ids)
        assert [(c.message_id, c.is_complaint) for c in stored] == [
            (ids[0], True),
            (ids[1], True),
            (ids[2], False),
        ]
        assert repo.count_pending("m:1") == 0
