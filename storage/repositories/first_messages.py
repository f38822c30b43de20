"""The first message of each of a set of incidents: what a list's export shows beside the row.

One query per batch of incidents (the exports read the queue in keyset chunks and ask for the
chunk's first messages at once), served by the unique index on (incident_id, message_id).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from storage.enums import Network
from storage.models import IncidentMessage, Message, Source

__all__ = ["FirstMessage", "first_messages"]


@dataclass(frozen=True, slots=True)
class FirstMessage:
    """The earliest message of an incident: where it came from, its text (cut) and its link."""

    incident_id: int
    network: Network
    source_title: str
    text: str
    posted_at: dt.datetime
    url: str | None
    cut: bool  # the stored text is longer than ``text``


def first_messages(
    session: Session, incident_ids: Collection[int], *, text_limit: int
) -> dict[int, FirstMessage]:
    """Return each incident's earliest message (by time, then id), its text cut to the limit."""
    if not incident_ids:
        return {}
    order = sa.func.row_number().over(
        partition_by=IncidentMessage.incident_id, order_by=(Message.posted_at, Message.id)
    )
    ranked = (
        sa.select(
            IncidentMessage.incident_id.label("incident_id"),
            Message.network.label("network"),
            Source.title.label("source_title"),
            sa.func.substr(Message.text, 1, text_limit).label("text"),
            (sa.func.length(Message.text) > text_limit).label("cut"),
            Message.posted_at.label("posted_at"),
            Message.url.label("url"),
            order.label("place"),
        )
        .join(Message, Message.id == IncidentMessage.message_id)
        .join(Source, Source.id == Message.source_id)
        .where(IncidentMessage.incident_id.in_(list(incident_ids)))
        .subquery()
    )
    rows = session.execute(sa.select(ranked).where(ranked.c.place == 1)).all()
    return {
        row.incident_id: FirstMessage(
            incident_id=row.incident_id,
            network=row.network,
            source_title=row.source_title or "",
            text=row.text or "",
            posted_at=row.posted_at,
            url=row.url,
            cut=bool(row.cut),
        )
        for row in rows
    }
