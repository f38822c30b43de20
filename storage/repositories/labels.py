"""Training labels: operators' corrections of the classifier, read back by ``train``."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Session

from storage.enums import LabelField
from storage.models import IncidentMessage, Message, TrainingLabel

__all__ = ["LabelRepository"]


class LabelRepository:
    """Training labels within one session (the caller owns the transaction)."""

    def __init__(self, session: Session) -> None:
        """Work inside ``session``."""
        self._session = session

    def label_incident(
        self,
        incident_id: int,
        field: LabelField,
        value: str,
        *,
        user_id: int | None,
        now: dt.datetime,
    ) -> int:
        """Label every message of the incident with a person's ``value``; return how many."""
        rows = self._session.execute(
            sa.select(Message.id, Message.text)
            .join(IncidentMessage, IncidentMessage.message_id == Message.id)
            .where(IncidentMessage.incident_id == incident_id)
            .order_by(Message.id)
        ).all()
        for message_id, text in rows:
            self._session.add(
                TrainingLabel(
                    message_id=message_id,
                    text=text,
                    field=field,
                    value=value,
                    user_id=user_id,
                    created_at=now,
                )
            )
        self._session.flush()
        return len(rows)
