"""Executors' answers: add, read, and move through review (approved, rework, published)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from storage.enums import AnswerKind, AnswerStatus, IncidentStatus, MessageKind, Network
from storage.models import Answer, Incident, IncidentMessage, Message
from storage.repositories.errors import NotFound

__all__ = ["AnswerRecord", "AnswerRepository", "PendingReply"]


@dataclass(frozen=True, slots=True)
class AnswerRecord:
    """An answer and where its review stands."""

    id: int
    incident_id: int
    assignment_id: int | None
    author_user_id: int | None
    text: str
    kind: AnswerKind
    status: AnswerStatus
    review_comment: str | None
    guid: str
    published_at: dt.datetime | None


@dataclass(frozen=True, slots=True)
class PendingReply:
    """An approved answer of an approved incident, with the citizen's message to answer under."""

    answer_id: int
    incident_id: int
    text: str
    external_reply_id: str | None
    network: Network | None
    message_external_id: str | None
    message_kind: MessageKind | None


def _record(row: Answer) -> AnswerRecord:
    return AnswerRecord(
        row.id,
        row.incident_id,
        row.assignment_id,
        row.author_user_id,
        row.text,
        row.kind,
        row.status,
        row.review_comment,
        row.guid,
        row.published_at,
    )


class AnswerRepository:
    """Answers within one session (the caller owns the transaction)."""

    def __init__(self, session: Session) -> None:
        """Work inside ``session``."""
        self._session = session

    def add(
        self,
        incident_id: int,
        assignment_id: int | None,
        author_user_id: int | None,
        text: str,
        kind: AnswerKind,
        *,
        now: dt.datetime,
    ) -> AnswerRecord:
        """Add a submitted answer and return it."""
        row = Answer(
            incident_id=incident_id,
            assignment_id=assignment_id,
            author_user_id=author_user_id,
            text=text,
            kind=kind,
            status=AnswerStatus.SUBMITTED,
            created_at=now,
            updated_at=now,
        )
        self._session.add(row)
        self._session.flush()
        return _record(row)

    def latest_final(self, incident_id: int) -> AnswerRecord | None:
        """Return the incident's newest final answer, if any."""
        query = (
            sa.select(Answer)
            .where(Answer.incident_id == incident_id, Answer.kind == AnswerKind.FINAL)
            .order_by(Answer.id.desc())
            .limit(1)
        )
        row = self._session.scalars(query).first()
        return None if row is None else _record(row)

    def set_status(
        self,
        answer_id: int,
        status: AnswerStatus,
        *,
        now: dt.datetime,
        review_comment: str | None = None,
    ) -> AnswerRecord:
        """Move an answer to a review status (``published`` also stamps ``published_at``)."""
        row = self._session.get(Answer, answer_id)
        if row is None:
            raise NotFound(f"no answer with id {answer_id}")
        row.status = status
        row.updated_at = now
        if review_comment is not None:
            row.review_comment = review_comment
        if status is AnswerStatus.PUBLISHED:
            row.published_at = now
        self._session.flush()
        return _record(row)

    def awaiting_publication(self, *, limit: int | None = None) -> list[PendingReply]:
        """Return the approved final answers of approved incidents not yet published.

        Each comes with the incident's first linked message (the citizen's post or comment).
        """
        first_link = (
            sa.select(sa.func.min(IncidentMessage.id))
            .where(IncidentMessage.incident_id == Answer.incident_id)
            .correlate(Answer)
            .scalar_subquery()
        )
        query = (
            sa.select(Answer, Message.network, Message.external_id, Message.kind)
            .join(Incident, Incident.id == Answer.incident_id)
            .outerjoin(IncidentMessage, IncidentMessage.id == first_link)
            .outerjoin(Message, Message.id == IncidentMessage.message_id)
            .where(
                Answer.kind == AnswerKind.FINAL,
                Answer.status == AnswerStatus.APPROVED,
                Answer.published_at.is_(None),
                Incident.status == IncidentStatus.APPROVED,
            )
            .order_by(Answer.id)
        )
        if limit is not None:
            query = query.limit(limit)
        return [
            PendingReply(row.id, row.incident_id, row.text, row.external_reply_id, net, ext, kind)
            for row, net, ext, kind in self._session.execute(query)
        ]

    def record_reply(
        self,
        answer_id: int,
        *,
        external_reply_id: str,
        guid: str,
        verified_at: dt.datetime | None,
        now: dt.datetime,
    ) -> None:
        """Store the posted reply's id and ``guid`` (and when reading back found it)."""
        row = self._session.get(Answer, answer_id)
        if row is None:
            raise NotFound(f"no answer with id {answer_id}")
        row.external_reply_id = external_reply_id
        row.guid = guid
        if verified_at is not None:
            row.delivery_verified_at = verified_at
        row.updated_at = now
        self._session.flush()

    def reply_of(self, answer_id: int) -> tuple[str | None, str, dt.datetime | None]:
        """Return an answer's reply id, ``guid`` and delivery verification time."""
        row = self._session.get(Answer, answer_id)
        if row is None:
            raise NotFound(f"no answer with id {answer_id}")
        return row.external_reply_id, row.guid, row.delivery_verified_at
