"""Storing a network-neutral poll (OK, Telegram, file replay): idempotent, edits kept."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.orm import Session

from collector.messages import CollectedMessage, Harvest
from storage.enums import MessageKind, Network
from storage.models import EXTERNAL_ID_LENGTH, Message, MessageVersion
from storage.repositories.messages import StoreStats
from storage.types import fit_id

__all__ = ["HarvestRepository"]


class HarvestRepository:
    """Store :class:`collector.messages.Harvest` values within one session (caller's transaction).

    Every write is keyed by ``(network, external_id)``: storing the same harvest twice changes
    nothing the second time. A changed text keeps the previous one in ``message_versions``;
    deletions are only marked, never erased.
    """

    def __init__(self, session: Session) -> None:
        """Work inside ``session``."""
        self._session = session
        self._known: dict[tuple[str, str], Message | None] = {}

    def _preload(self, keys: Iterable[tuple[str, str]], *, chunk: int = 500) -> None:
        wanted = [k for k in dict.fromkeys(keys) if k not in self._known]
        by_network: dict[str, list[str]] = {}
        for network, external_id in wanted:
            by_network.setdefault(network, []).append(external_id)
        for network, ids in by_network.items():
            for start in range(0, len(ids), chunk):
                part = ids[start : start + chunk]
                rows = self._session.scalars(
                    sa.select(Message).where(
                        Message.network == Network(network), Message.external_id.in_(part)
                    )
                )
                found = {row.external_id: row for row in rows}  # an overlong id is stored fitted
                for external_id in part:
                    fitted = fit_id(external_id, EXTERNAL_ID_LENGTH)
                    self._known[(network, external_id)] = found.get(fitted)

    def _find(self, network: str, external_id: str) -> Message | None:
        key = (network, external_id)
        if key not in self._known:
            self._preload([key])
        return self._known[key]

    def _set_text(self, row: Message, text: str, now: dt.datetime, stats: StoreStats) -> bool:
        if row.text == text:
            return False
        number = self._session.scalar(
            sa.select(sa.func.count()).where(MessageVersion.message_id == row.id)
        )
        self._session.add(
            MessageVersion(
                message_id=row.id, version_no=int(number or 0) + 1, text=row.text, seen_at=now
            )
        )
        row.text = text
        stats.edited += 1
        return True

    def _insert(
        self, source_id: int, msg: CollectedMessage, now: dt.datetime, stats: StoreStats
    ) -> None:
        parent = self._find(msg.network, msg.parent) if msg.parent else None
        row = Message(
            network=Network(msg.network),
            source_id=source_id,
            external_id=msg.external_id,
            kind=MessageKind(msg.kind),
            external_parent_id=msg.parent,
            parent_message_id=parent.id if parent is not None else None,
            author_id=msg.author_id,
            text=msg.text,
            posted_at=msg.posted_at,
            url=msg.url,
            views=msg.views,
            likes=msg.likes,
            comments=msg.comments,
            reposts=msg.reposts,
            edited_at=msg.edited_at or (now if msg.edited else None),
            deleted_at=now if msg.deleted else None,
            collected_at=now,
        )
        self._session.add(row)
        self._known[(msg.network, msg.external_id)] = row
        stats.inserted += 1
        stats.inserted_rows.append(row)

    def _update(
        self, row: Message, msg: CollectedMessage, now: dt.datetime, stats: StoreStats
    ) -> None:
        if msg.deleted:
            if row.deleted_at is None:
                row.deleted_at = now
                stats.deleted += 1
            else:
                stats.unchanged += 1
            return
        changed = self._set_text(row, msg.text, now, stats)
        if msg.edited_at is not None and row.edited_at != msg.edited_at:
            row.edited_at = msg.edited_at
            changed = True
        elif msg.edited and row.edited_at is None:
            row.edited_at = now  # the network shows only a mark: when we first saw it
            changed = True
        if row.deleted_at is not None:  # visible again
            row.deleted_at = None
            changed = True
        before = (row.views, row.likes, row.comments, row.reposts)
        for name in ("views", "likes", "comments", "reposts"):
            value = getattr(msg, name)
            if value is not None:
                setattr(row, name, value)
        if changed or before != (row.views, row.likes, row.comments, row.reposts):
            stats.updated += 1
        else:
            stats.unchanged += 1

    def mark_deleted(
        self, network: str, external_ids: Iterable[str], now: dt.datetime, stats: StoreStats
    ) -> None:
        """Mark messages deleted (never erase them)."""
        ids = list(external_ids)
        if not ids:
            return
        result = self._session.execute(
            sa.update(Message)
            .where(
                Message.network == Network(network),
                Message.external_id.in_(ids),
                Message.deleted_at.is_(None),
            )
            .values(deleted_at=now)
            .execution_options(synchronize_session=False)
        )
        stats.deleted += int(getattr(result, "rowcount", 0) or 0)

    def _mark_missing_comments(
        self, network: str, post: str, present: frozenset[str], now: dt.datetime, stats: StoreStats
    ) -> None:
        rows = self._session.scalars(
            sa.select(Message.external_id).where(
                Message.network == Network(network),
                Message.kind == MessageKind.COMMENT,
                Message.external_parent_id == post,
                Message.deleted_at.is_(None),
            )
        )
        keep = {fit_id(p, EXTERNAL_ID_LENGTH) for p in present}  # as stored
        self.mark_deleted(network, [r for r in rows if r not in keep], now, stats)

    def store(self, source_id: int, harvest: Harvest, now: dt.datetime) -> StoreStats:
        """Store a harvest: posts, then comments (linked to their posts), then deletions."""
        stats = StoreStats()
        messages = sorted(harvest.messages, key=lambda m: m.kind != "post")  # posts first
        self._preload(
            [(m.network, m.external_id) for m in messages]
            + [(m.network, m.parent) for m in messages if m.parent]
        )
        flushed = False
        for msg in messages:
            if msg.kind == "comment" and not flushed:
                self._session.flush()  # post ids, for the comments' parent links
                flushed = True
            row = self._find(msg.network, msg.external_id)
            if row is None:
                self._insert(source_id, msg, now, stats)
            else:
                self._update(row, msg, now, stats)
        self._session.flush()
        self.mark_deleted(harvest.network, harvest.deleted, now, stats)
        for post, present in harvest.comment_sets.items():
            self._mark_missing_comments(harvest.network, post, present, now, stats)
        self._session.flush()
        stats.inserted_ids = [row.id for row in stats.inserted_rows]
        stats.inserted_rows = []  # ORM rows stay inside storage
        return stats
