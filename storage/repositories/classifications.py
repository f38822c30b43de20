"""Classifications: the classifier's verdicts per message and model version, and what is pending."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from classifier.types import Classification as ClassificationResult
from storage.enums import MessageKind, Network
from storage.models import Classification, Message, Source

__all__ = ["ClassificationRepository", "PendingMessage", "SourceBacklog", "StoredClassification"]


@dataclass(frozen=True, slots=True)
class SourceBacklog:
    """Messages of one source still waiting for the pipeline, and when the oldest was stored."""

    source_id: int
    messages: int
    oldest_collected_at: dt.datetime | None


def _aware(value: dt.datetime | str | None) -> dt.datetime | None:
    """Return an aggregate's time as aware UTC, whatever form the driver gives it in."""
    if value is None:
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


@dataclass(frozen=True, slots=True)
class PendingMessage:
    """A stored message the pipeline has not classified with the current model yet."""

    id: int
    network: Network
    external_id: str
    kind: MessageKind
    parent_external_id: str | None
    author_id: str | None
    text: str
    posted_at: dt.datetime
    views: int
    likes: int
    comments: int
    reposts: int
    geo_lat: float | None
    geo_lon: float | None
    deleted: bool
    source_id: int
    source_municipality: str | None
    source_municipality_oktmo: str | None

    @property
    def key(self) -> str:
        """Return the network-wide key grouping knows the message by ("vk:-1_2")."""
        return f"{self.network.value}:{self.external_id}"

    @property
    def parent_key(self) -> str | None:
        """Return the key of the post a comment belongs to."""
        if self.parent_external_id is None:
            return None
        return f"{self.network.value}:{self.parent_external_id}"


@dataclass(frozen=True, slots=True)
class StoredClassification:
    """A classifications row as read back."""

    message_id: int
    model_version: str
    is_complaint: bool
    complaint_confidence: float
    topic_group: str | None
    topic: str | None
    municipality_oktmo: str | None


def _evidence(result: ClassificationResult) -> dict[str, object]:
    return {
        "evidence": [
            {"field": e.field, "text": e.text, "weight": round(e.weight, 4)}
            for e in result.evidence
        ],
        "municipality_candidates": [
            {"name": c.name, "oktmo": c.oktmo, "score": round(c.score, 4)}
            for c in result.municipality_candidates
        ],
        "topic_group_confidence": result.topic_group_confidence,
    }


#: The batch's verdicts: an insert on the table, not the ORM's bulk insert of the class
#: (several times the CPU for the same rows).
_INSERT = sa.insert(cast("sa.Table", Classification.__table__))


class ClassificationRepository:
    """Classification rows within one session (the caller owns the transaction)."""

    def __init__(self, session: Session) -> None:
        """Work inside ``session``."""
        self._session = session

    def add(self, message_id: int, result: ClassificationResult, *, now: dt.datetime) -> bool:
        """Store a verdict unless this message already has one of this model version.

        Returns whether a row was inserted.
        """
        exists = self._session.scalar(
            sa.select(Classification.id).where(
                Classification.message_id == message_id,
                Classification.model_version == result.model_version,
            )
        )
        if exists is not None:
            return False
        self._session.add(
            Classification(
                message_id=message_id,
                is_complaint=result.is_complaint,
                complaint_confidence=result.complaint_confidence,
                topic_group=result.topic_group,
                topic=result.topic,
                topic_confidence=result.topic_confidence,
                municipality=result.municipality,
                municipality_oktmo=result.municipality_oktmo,
                municipality_confidence=result.municipality_confidence,
                evidence=_evidence(result),
                model_version=result.model_version,
                created_at=now,
            )
        )
        self._session.flush()
        return True

    def add_many(
        self, verdicts: Sequence[tuple[int, ClassificationResult]], *, now: dt.datetime
    ) -> int:
        """Store many verdicts in two statements (one read, one multi-row insert).

        A message that already has a verdict of that model version (or is listed twice) keeps
        its first one. Returns how many rows were inserted.
        """
        if not verdicts:
            return 0
        ids = {message_id for message_id, _ in verdicts}
        versions = {result.model_version for _, result in verdicts}
        seen = {
            (row[0], row[1])
            for row in self._session.execute(
                sa.select(Classification.message_id, Classification.model_version).where(
                    Classification.message_id.in_(ids),
                    Classification.model_version.in_(versions),
                )
            )
        }
        rows = []
        for message_id, result in verdicts:
            key = (message_id, result.model_version)
            if key in seen:
                continue
            seen.add(key)
            rows.append(
                {
                    "message_id": message_id,
                    "is_complaint": result.is_complaint,
                    "complaint_confidence": result.complaint_confidence,
                    "topic_group": result.topic_group,
                    "topic": result.topic,
                    "topic_confidence": result.topic_confidence,
                    "municipality": result.municipality,
                    "municipality_oktmo": result.municipality_oktmo,
                    "municipality_confidence": result.municipality_confidence,
                    "evidence": _evidence(result),
                    "model_version": result.model_version,
                    "created_at": now,
                }
            )
        if rows:
            self._session.flush()
            self._session.execute(_INSERT, rows)
        return len(rows)

    def backlog(self, model_version: str) -> dict[int, SourceBacklog]:
        """Return, per source, how many messages wait for a verdict of ``model_version``.

        One grouped query; sources with nothing waiting are left out.
        """
        done = (
            sa.select(Classification.id)
            .where(
                Classification.message_id == Message.id,
                Classification.model_version == model_version,
            )
            .exists()
        )
        count, oldest = sa.func.count(Message.id), sa.func.min(Message.collected_at)
        rows = self._session.execute(
            sa.select(Message.source_id, count, oldest).where(~done).group_by(Message.source_id)
        ).all()
        return {
            source_id: SourceBacklog(source_id, count, _aware(oldest))
            for source_id, count, oldest in rows
        }

    def pending(
        self, model_version: str, *, limit: int = 500, after_id: int = 0
    ) -> list[PendingMessage]:
        """Return messages without a verdict of ``model_version``, oldest id first."""
        done = (
            sa.select(Classification.id)
            .where(
                Classification.message_id == Message.id,
                Classification.model_version == model_version,
            )
            .exists()
        )
        rows = self._session.execute(
            sa.select(Message, Source.municipality, Source.municipality_oktmo)
            .join(Source, Source.id == Message.source_id)
            .where(~done, Message.id > after_id)
            .order_by(Message.id)
            .limit(limit)
        ).all()
        return [
            PendingMessage(
                id=m.id,
                network=m.network,
                external_id=m.external_id,
                kind=m.kind,
                parent_external_id=m.external_parent_id,
                author_id=m.author_id,
                text=m.text,
                posted_at=m.posted_at,
                views=m.views or 0,
                likes=m.likes or 0,
                comments=m.comments or 0,
                reposts=m.reposts or 0,
                geo_lat=m.geo_lat,
                geo_lon=m.geo_lon,
                deleted=m.deleted_at is not None,
                source_id=m.source_id,
                source_municipality=muni,
                source_municipality_oktmo=oktmo,
            )
            for m, muni, oktmo in rows
        ]

    def count_pending(self, model_version: str) -> int:
        """Return how many messages still wait for a verdict of ``model_version``."""
        done = (
            sa.select(Classification.id)
            .where(
                Classification.message_id == Message.id,
                Classification.model_version == model_version,
            )
            .exists()
        )
        return int(self._session.scalar(sa.select(sa.func.count(Message.id)).where(~done)) or 0)

    def for_messages(self, message_ids: Sequence[int]) -> list[StoredClassification]:
        """Return every stored verdict on these messages, by message and id."""
        if not message_ids:
            return []
        rows = self._session.scalars(
            sa.select(Classification)
            .where(Classification.message_id.in_(list(message_ids)))
            .order_by(Classification.message_id, Classification.id)
        )
        return [
            StoredClassification(
                message_id=r.message_id,
                model_version=r.model_version,
                is_complaint=r.is_complaint,
                complaint_confidence=r.complaint_confidence,
                topic_group=r.topic_group,
                topic=r.topic,
                municipality_oktmo=r.municipality_oktmo,
            )
            for r in rows
        ]

    def by_version(self) -> dict[str, int]:
        """Return how many verdicts each model version gave."""
        rows = self._session.execute(
            sa.select(Classification.model_version, sa.func.count()).group_by(
                Classification.model_version
            )
        )
        return {version: int(n) for version, n in rows}
