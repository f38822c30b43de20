"""Official notices of planned outages and closures, and the incidents they explain."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.orm import Session

from router.notices import OutageNotice
from storage.models import OutageNotice as NoticeRow
from storage.models import OutageNoticeLink

__all__ = ["NoticeRepository"]


def _notice(row: NoticeRow) -> OutageNotice:
    return OutageNotice(
        key=row.message_key,
        service=row.service,
        topic_group=row.topic_group,
        streets=frozenset(row.streets),
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        text=row.text,
    )


class NoticeRepository:
    """Saves notices, reads the ones still in force, links incidents (the caller commits)."""

    def __init__(self, session: Session) -> None:
        """Work inside ``session``."""
        self._session = session

    def save(self, notice: OutageNotice) -> int:
        """Store a notice, or update the one of the same message (an edited post); its id."""
        row = self._session.scalar(sa.select(NoticeRow).where(NoticeRow.message_key == notice.key))
        if row is None:
            row = NoticeRow(message_key=notice.key)
            self._session.add(row)
        row.service = notice.service
        row.topic_group = notice.topic_group
        row.streets = sorted(notice.streets)
        row.starts_at = notice.starts_at
        row.ends_at = notice.ends_at
        row.text = notice.text
        self._session.flush()
        return row.id

    def in_force(self, since: dt.datetime) -> list[OutageNotice]:
        """Return the notices whose window ends at ``since`` or later, oldest first."""
        rows = self._session.scalars(
            sa.select(NoticeRow).where(NoticeRow.ends_at >= since).order_by(NoticeRow.starts_at)
        )
        return [_notice(r) for r in rows]

    def link(self, incident_id: int, notice_key: str) -> bool:
        """Link an incident to the notice of ``notice_key``; False if no such notice is stored."""
        notice_id = self._session.scalar(
            sa.select(NoticeRow.id).where(NoticeRow.message_key == notice_key)
        )
        if notice_id is None:
            return False
        exists = self._session.get(OutageNoticeLink, (incident_id, notice_id))
        if exists is None:
            self._session.add(OutageNoticeLink(incident_id=incident_id, notice_id=notice_id))
            self._session.flush()
        return True

    def of_incidents(self, incident_ids: Sequence[int]) -> dict[int, list[OutageNotice]]:
        """Return the notices linked to each of the incidents (absent when none)."""
        if not incident_ids:
            return {}
        rows = self._session.execute(
            sa.select(OutageNoticeLink.incident_id, NoticeRow)
            .join(NoticeRow, NoticeRow.id == OutageNoticeLink.notice_id)
            .where(OutageNoticeLink.incident_id.in_(list(incident_ids)))
            .order_by(NoticeRow.starts_at)
        )
        out: dict[int, list[OutageNotice]] = {}
        for incident_id, row in rows:
            out.setdefault(int(incident_id), []).append(_notice(row))
        return out
