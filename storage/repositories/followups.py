"""What the follow-up job watches: published answers' threads and the comments judged in them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from storage.enums import AnswerKind, AnswerStatus, IncidentStatus, MessageKind, Network
from storage.models import (
    Answer,
    FollowupVerdict,
    Incident,
    IncidentMessage,
    Message,
)

__all__ = ["FollowupRepository", "ThreadComment", "WatchedThread"]


@dataclass(frozen=True, slots=True)
class WatchedThread:
    """A published answer whose thread is watched: the incident, the answer and the post."""

    incident_id: int
    incident_version: int
    answer_id: int
    published_at: dt.datetime
    external_reply_id: str | None
    source_id: int
    network: Network
    message_external_id: str
    message_kind: MessageKind
    citizen_ids: frozenset[str]


@dataclass(frozen=True, slots=True)
class ThreadComment:
    """A comment under the watched post, written after the answer and not judged yet."""

    message_id: int
    external_id: str
    author_id: str | None
    text: str
    posted_at: dt.datetime


class FollowupRepository:
    """Reads for the follow-up job and its verdicts (the caller owns the transaction)."""

    def __init__(self, session: Session) -> None:
        """Work inside ``session``."""
        self._session = session

    def published(self, *, limit: int | None = None) -> list[WatchedThread]:
        """Return the published incidents with their published answer and first message."""
        first_link = (
            sa.select(sa.func.min(IncidentMessage.id))
            .where(IncidentMessage.incident_id == Incident.id)
            .correlate(Incident)
            .scalar_subquery()
        )
        latest_answer = (
            sa.select(sa.func.max(Answer.id))
            .where(
                Answer.incident_id == Incident.id,
                Answer.kind == AnswerKind.FINAL,
                Answer.status == AnswerStatus.PUBLISHED,
            )
            .correlate(Incident)
            .scalar_subquery()
        )
        query = (
            sa.select(Incident.id, Incident.version, Answer, Message)
            .join(Answer, Answer.id == latest_answer)
            .join(IncidentMessage, IncidentMessage.id == first_link)
            .join(Message, Message.id == IncidentMessage.message_id)
            .where(Incident.status == IncidentStatus.PUBLISHED, Answer.published_at.is_not(None))
            .order_by(Answer.published_at, Incident.id)
        )
        if limit is not None:
            query = query.limit(limit)
        rows = self._session.execute(query).all()
        authors = self._authors([r[0] for r in rows])
        result = []
        for incident_id, version, answer, message in rows:
            published_at = answer.published_at
            if published_at is None:  # pragma: no cover - filtered in the query
                continue
            result.append(
                WatchedThread(
                    incident_id=incident_id,
                    incident_version=version,
                    answer_id=answer.id,
                    published_at=published_at,
                    external_reply_id=answer.external_reply_id,
                    source_id=message.source_id,
                    network=message.network,
                    message_external_id=message.external_id,
                    message_kind=message.kind,
                    citizen_ids=frozenset(authors.get(incident_id, ())),
                )
            )
        return result

    def _authors(self, incident_ids: Sequence[int]) -> dict[int, set[str]]:
        found: dict[int, set[str]] = {}
        if not incident_ids:
            return found
        rows = self._session.execute(
            sa.select(IncidentMessage.incident_id, Message.author_id)
            .join(Message, Message.id == IncidentMessage.message_id)
            .where(
                IncidentMessage.incident_id.in_(list(incident_ids)),
                Message.author_id.is_not(None),
            )
        )
        for incident_id, author in rows:
            found.setdefault(incident_id, set()).add(str(author))
        return found

    def new_comments(
        self,
        network: Network,
        post_external_id: str,
        *,
        since: dt.datetime,
        exclude_external_ids: Sequence[str] = (),
    ) -> list[ThreadComment]:
        """Return the comments under a post written at or after ``since`` and not judged yet.

        Deleted comments and the community's own (a negative VK author id) are left out.
        """
        judged = sa.select(FollowupVerdict.message_id)
        prefix = post_external_id.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = (
            sa.select(Message)
            .where(
                Message.network == network,
                Message.kind == MessageKind.COMMENT,
                Message.external_id.like(prefix + "\\_%", escape="\\"),
                Message.posted_at >= since,
                Message.deleted_at.is_(None),
                Message.id.not_in(judged),
            )
            .order_by(Message.posted_at, Message.id)
        )
        if exclude_external_ids:
            query = query.where(Message.external_id.not_in(list(exclude_external_ids)))
        return [
            ThreadComment(m.id, m.external_id, m.author_id, m.text, m.posted_at)
            for m in self._session.scalars(query)
            if not (m.author_id or "").startswith("-")
        ]

    def record(
        self,
        *,
        message_id: int,
        incident_id: int,
        verdict: str,
        score: float,
        classifier_version: str,
        action: str | None,
        now: dt.datetime,
    ) -> bool:
        """Record the verdict on a comment once; return False if it was recorded already."""
        exists = self._session.scalar(
            sa.select(FollowupVerdict.id).where(FollowupVerdict.message_id == message_id)
        )
        if exists is not None:
            return False
        self._session.add(
            FollowupVerdict(
                message_id=message_id,
                incident_id=incident_id,
                verdict=verdict,
                score=score,
                classifier_version=classifier_version,
                action=action,
                created_at=now,
            )
        )
        self._session.flush()
        return True

    def verdicts(self, incident_id: int) -> list[tuple[int, str, str | None]]:
        """Return ``(message_id, verdict, action)`` of an incident's judged comments."""
        rows = self._session.execute(
            sa.select(FollowupVerdict.message_id, FollowupVerdict.verdict, FollowupVerdict.action)
            .where(FollowupVerdict.incident_id == incident_id)
            .order_by(FollowupVerdict.id)
        )
        return [(r[0], r[1], r[2]) for r in rows]
