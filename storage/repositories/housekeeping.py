"""Reads and writes of the housekeeping jobs: labels to retrain on, messages to reclassify,
messages whose personal data retention removes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from storage.enums import IncidentStatus
from storage.models import (
    Classification,
    Incident,
    IncidentMessage,
    Message,
    MessageVersion,
    Source,
    TrainingLabel,
)

__all__ = ["HousekeepingRepository", "LabelRow", "MessageToClassify"]

_ENDED = (IncidentStatus.CLOSED, IncidentStatus.REJECTED, IncidentStatus.MERGED)


@dataclass(frozen=True, slots=True)
class LabelRow:
    """An operator's label as training reads it."""

    id: int
    text: str
    field: str
    value: str


@dataclass(frozen=True, slots=True)
class MessageToClassify:
    """A message of an open incident, with the priors the classifier reads."""

    message_id: int
    text: str
    source_municipality: str | None
    geo_lat: float | None
    geo_lon: float | None


class HousekeepingRepository:
    """Queries of the retrain, reclassify and retention jobs (the caller owns the transaction)."""

    def __init__(self, session: Session) -> None:
        """Work inside ``session``."""
        self._session = session

    # ------------------------------------------------------------------ labels

    def unused_labels(self) -> tuple[int, int]:
        """Return how many labels no model was trained on yet, and the newest label id."""
        count, newest = self._session.execute(
            sa.select(sa.func.count(), sa.func.max(TrainingLabel.id)).where(
                TrainingLabel.used_in_model_version.is_(None)
            )
        ).one()
        return int(count or 0), int(newest or 0)

    def labels(self, *, up_to_id: int) -> list[LabelRow]:
        """Return every label up to an id, oldest first."""
        rows = self._session.execute(
            sa.select(
                TrainingLabel.id, TrainingLabel.text, TrainingLabel.field, TrainingLabel.value
            )
            .where(TrainingLabel.id <= up_to_id)
            .order_by(TrainingLabel.created_at, TrainingLabel.id)
        )
        return [LabelRow(r[0], r[1], str(getattr(r[2], "value", r[2])), r[3]) for r in rows]

    def mark_labels_used(self, *, up_to_id: int, model_version: str) -> int:
        """Record that the labels up to an id went into ``model_version``; return how many."""
        result = self._session.execute(
            sa.update(TrainingLabel)
            .where(TrainingLabel.id <= up_to_id, TrainingLabel.used_in_model_version.is_(None))
            .values(used_in_model_version=model_version)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    # ------------------------------------------------------------------ reclassification

    def open_messages_without(self, model_version: str, *, limit: int) -> list[MessageToClassify]:
        """Return messages of open incidents that ``model_version`` has not classified yet."""
        done = sa.select(Classification.message_id).where(
            Classification.model_version == model_version
        )
        query = (
            sa.select(
                Message.id,
                Message.text,
                sa.func.coalesce(Source.municipality_oktmo, Source.municipality),
                Message.geo_lat,
                Message.geo_lon,
            )
            .join(IncidentMessage, IncidentMessage.message_id == Message.id)
            .join(Incident, Incident.id == IncidentMessage.incident_id)
            .join(Source, Source.id == Message.source_id)
            .where(
                Incident.status.not_in(_ENDED),
                Message.id.not_in(done),
                Message.anonymised_at.is_(None),
            )
            .distinct()
            .order_by(Message.id)
            .limit(limit)
        )
        return [MessageToClassify(*row) for row in self._session.execute(query)]

    # ------------------------------------------------------------------ retention

    def expired_messages(self, *, before: dt.datetime, limit: int) -> list[int]:
        """Return ids of messages whose personal data may go: older than ``before`` and

        - linked only to incidents that ended (closed, rejected, merged) before ``before``, or
        - linked to none and already classified (a message still waiting is left alone).
        """
        live_link = (
            sa.select(IncidentMessage.id)
            .join(Incident, Incident.id == IncidentMessage.incident_id)
            .where(
                IncidentMessage.message_id == Message.id,
                sa.or_(
                    Incident.status.not_in(_ENDED),
                    Incident.closed_at.is_(None),
                    Incident.closed_at >= before,
                ),
            )
            .correlate(Message)
        )
        any_link = sa.select(IncidentMessage.id).where(IncidentMessage.message_id == Message.id)
        classified = sa.select(Classification.id).where(Classification.message_id == Message.id)
        query = (
            sa.select(Message.id)
            .where(
                Message.anonymised_at.is_(None),
                Message.posted_at < before,
                Message.collected_at < before,
                ~sa.exists(live_link),
                sa.or_(sa.exists(any_link.correlate(Message)), sa.exists(classified)),
            )
            .order_by(Message.id)
            .limit(limit)
        )
        return list(self._session.scalars(query))

    def anonymise(self, message_ids: Sequence[int], *, now: dt.datetime) -> int:
        """Remove author, text, link, geotag and earlier versions of these messages."""
        if not message_ids:
            return 0
        ids = list(message_ids)
        self._session.execute(sa.delete(MessageVersion).where(MessageVersion.message_id.in_(ids)))
        result = self._session.execute(
            sa.update(Message)
            .where(Message.id.in_(ids), Message.anonymised_at.is_(None))
            .values(
                author_id=None,
                text="",
                url=None,
                geo_lat=None,
                geo_lon=None,
                anonymised_at=now,
            )
        )
        return int(getattr(result, "rowcount", 0) or 0)
