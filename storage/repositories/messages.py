"""Messages (posts and comments): idempotent upserts keeping earlier texts, deletions, export."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Session

from collector.types import VkComment, VkPost
from storage.enums import MessageKind, Network
from storage.models import EXTERNAL_ID_LENGTH, Message, MessageVersion, Source
from storage.types import fit_id

if TYPE_CHECKING:
    from collector.vk_poller import PollResult

__all__ = ["MessageRecord", "MessageRepository", "StoreStats"]


@dataclass(slots=True)
class StoreStats:
    """What storing a poll changed."""

    inserted: int = 0
    updated: int = 0
    edited: int = 0
    deleted: int = 0
    unchanged: int = 0
    inserted_ids: list[int] = field(default_factory=list)
    inserted_rows: list[Message] = field(default_factory=list, repr=False)


@dataclass(frozen=True, slots=True)
class MessageRecord:
    """A stored message as exported: one JSON object per message."""

    id: int
    network: Network
    source: str
    external_id: str
    kind: MessageKind
    parent: str | None
    author_id: str | None
    text: str
    posted_at: dt.datetime
    url: str | None
    edited: bool
    edited_at: dt.datetime | None
    deleted: bool
    versions: int

    def to_json(self) -> dict[str, object]:
        """Return the export form (times as ISO 8601 UTC)."""
        return {
            "network": self.network.value,
            "source": self.source,
            "external_id": self.external_id,
            "kind": self.kind.value,
            "parent": self.parent,
            "author_id": self.author_id,
            "text": self.text,
            "posted_at": self.posted_at.isoformat(),
            "url": self.url,
            "edited": self.edited,
            "edited_at": self.edited_at.isoformat() if self.edited_at else None,
            "deleted": self.deleted,
            "versions": self.versions,
        }


class MessageRepository:
    """Messages within one session (the caller owns the transaction).

    Every write is keyed by ``(network, external_id)``, so storing the same poll twice changes
    nothing the second time; a changed text keeps the previous one in ``message_versions``.
    """

    def __init__(self, session: Session, *, network: Network = Network.VK) -> None:
        """Work inside ``session`` on one network's messages."""
        self._session = session
        self._network = network
        self._known: dict[str, Message | None] = {}

    def _find(self, external_id: str) -> Message | None:
        if external_id in self._known:
            return self._known[external_id]
        row = self._session.scalars(
            sa.select(Message).where(
                Message.network == self._network, Message.external_id == external_id
            )
        ).one_or_none()
        self._known[external_id] = row
        return row

    def _preload(self, external_ids: Iterable[str], *, chunk: int = 500) -> None:
        """Load the rows of many external ids in a few queries (absent ones remembered too)."""
        wanted = [e for e in dict.fromkeys(external_ids) if e not in self._known]
        for start in range(0, len(wanted), chunk):
            part = wanted[start : start + chunk]
            rows = self._session.scalars(
                sa.select(Message).where(
                    Message.network == self._network, Message.external_id.in_(part)
                )
            )
            found = {row.external_id: row for row in rows}  # an overlong id is stored fitted
            for external_id in part:
                self._known[external_id] = found.get(fit_id(external_id, EXTERNAL_ID_LENGTH))

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

    def upsert_post(
        self, source_id: int, post: VkPost, now: dt.datetime, stats: StoreStats | None = None
    ) -> int:
        """Insert or update a post; return its row id."""
        row = self._upsert_post(source_id, post, now, stats if stats is not None else StoreStats())
        self._session.flush()
        return row.id

    def _upsert_post(
        self, source_id: int, post: VkPost, now: dt.datetime, stats: StoreStats
    ) -> Message:
        row = self._find(post.external_id)
        if row is None:
            row = Message(
                network=self._network,
                source_id=source_id,
                external_id=post.external_id,
                kind=MessageKind.POST,
                author_id=str(post.author_id),
                text=post.text or post.reposted_text,
                posted_at=post.date,
                url=post.url,
                edited_at=post.edited_at,
                deleted_at=now if post.is_deleted else None,
                collected_at=now,
            )
            self._counters(row, post)
            self._session.add(row)
            self._known[post.external_id] = row
            stats.inserted += 1
            stats.inserted_rows.append(row)
            return row
        changed = self._set_text(row, post.text or post.reposted_text, now, stats)
        if post.edited_at and row.edited_at != post.edited_at:
            row.edited_at = post.edited_at
            changed = True
        if post.is_deleted and row.deleted_at is None:
            row.deleted_at = now
            stats.deleted += 1
        before = (row.views, row.likes, row.comments, row.reposts)
        self._counters(row, post)
        if changed or before != (row.views, row.likes, row.comments, row.reposts):
            stats.updated += 1
        else:
            stats.unchanged += 1
        return row

    @staticmethod
    def _counters(row: Message, post: VkPost) -> None:
        row.views = post.views_count
        row.likes = post.likes_count
        row.comments = post.comments_count
        row.reposts = post.reposts_count
        if post.geo is not None:
            row.geo_lat, row.geo_lon = post.geo.latitude, post.geo.longitude

    def upsert_comment(
        self,
        source_id: int,
        comment: VkComment,
        now: dt.datetime,
        stats: StoreStats | None = None,
    ) -> int:
        """Insert or update a comment (a deleted stub only marks it deleted); return its id."""
        row = self._upsert_comment(
            source_id, comment, now, stats if stats is not None else StoreStats()
        )
        self._session.flush()
        return row.id

    def _upsert_comment(
        self, source_id: int, comment: VkComment, now: dt.datetime, stats: StoreStats
    ) -> Message:
        row = self._find(comment.external_id)
        if row is None:
            parent = self._find(comment.post_external_id)
            row = Message(
                network=self._network,
                source_id=source_id,
                external_id=comment.external_id,
                kind=MessageKind.COMMENT,
                external_parent_id=comment.post_external_id,
                parent_message_id=parent.id if parent is not None else None,
                author_id=str(comment.from_id) if comment.from_id is not None else None,
                text=comment.text,
                posted_at=comment.date,
                url=comment.url,
                likes=comment.likes_count,
                deleted_at=now if comment.deleted else None,
                collected_at=now,
            )
            self._session.add(row)
            self._known[comment.external_id] = row
            stats.inserted += 1
            stats.inserted_rows.append(row)
            return row
        if comment.deleted:
            if row.deleted_at is None:
                row.deleted_at = now
                stats.deleted += 1
            else:
                stats.unchanged += 1
            return row
        changed = self._set_text(row, comment.text, now, stats)
        if row.deleted_at is not None:  # visible again (a restored comment)
            row.deleted_at = None
            changed = True
        if comment.likes_count is not None and row.likes != comment.likes_count:
            row.likes = comment.likes_count
            changed = True
        if changed:
            stats.updated += 1
        else:
            stats.unchanged += 1
        return row

    def mark_deleted(
        self, external_ids: Iterable[str], now: dt.datetime, stats: StoreStats | None = None
    ) -> int:
        """Mark messages deleted (never erase them); return how many were newly marked."""
        ids = list(external_ids)
        if not ids:
            return 0
        result = self._session.execute(
            sa.update(Message)
            .where(
                Message.network == self._network,
                Message.external_id.in_(ids),
                Message.deleted_at.is_(None),
            )
            .values(deleted_at=now)
            .execution_options(synchronize_session=False)
        )
        count = int(getattr(result, "rowcount", 0) or 0)
        if stats is not None:
            stats.deleted += count
        return count

    def mark_missing_comments(
        self,
        post_external_id: str,
        present: Iterable[str],
        now: dt.datetime,
        stats: StoreStats | None = None,
    ) -> int:
        """Mark the post's stored comments that are no longer visible as deleted."""
        keep = {fit_id(p, EXTERNAL_ID_LENGTH) for p in present}  # as stored
        rows = self._session.scalars(
            sa.select(Message.external_id).where(
                Message.network == self._network,
                Message.kind == MessageKind.COMMENT,
                Message.external_parent_id == post_external_id,
                Message.deleted_at.is_(None),
            )
        )
        gone = [r for r in rows if r not in keep]
        return self.mark_deleted(gone, now, stats)

    def store_poll(self, source_id: int, result: PollResult, now: dt.datetime) -> StoreStats:
        """Store everything a poll found: posts, then comments, then deletions."""
        stats = StoreStats()
        self._preload(
            [p.external_id for p in result.posts]
            + [c.external_id for c in result.comments]
            + [c.post_external_id for c in result.comments]
        )
        for post in result.posts:
            self._upsert_post(source_id, post, now, stats)
        self._session.flush()  # post ids, for the comments' parent links
        for comment in result.comments:
            self._upsert_comment(source_id, comment, now, stats)
        self.mark_deleted(result.deleted_posts, now, stats)
        for post_id, present in result.comment_sets.items():
            self.mark_missing_comments(post_id, present, now, stats)
        self._session.flush()
        stats.inserted_ids = [row.id for row in stats.inserted_rows]
        stats.inserted_rows = []  # ORM rows stay inside storage
        return stats

    # ------------------------------------------------------------------ reading

    def versions(self, external_id: str) -> list[str]:
        """Return the earlier texts of a message, oldest first."""
        row = self._find(external_id)
        if row is None:
            return []
        return list(
            self._session.scalars(
                sa.select(MessageVersion.text)
                .where(MessageVersion.message_id == row.id)
                .order_by(MessageVersion.version_no)
            )
        )

    def iter_records(self, *, batch: int = 1000) -> Iterator[MessageRecord]:
        """Yield every stored message of the network in id order, in batches."""
        versions = (
            sa.select(sa.func.count())
            .where(MessageVersion.message_id == Message.id)
            .scalar_subquery()
        )
        last = 0
        while True:
            rows = self._session.execute(
                sa.select(Message, Source.screen_name, Source.external_id, versions)
                .join(Source, Source.id == Message.source_id)
                .where(Message.network == self._network, Message.id > last)
                .order_by(Message.id)
                .limit(batch)
            ).all()
            if not rows:
                return
            for msg, screen_name, source_external, n_versions in rows:
                yield MessageRecord(
                    id=msg.id,
                    network=msg.network,
                    source=screen_name or source_external,
                    external_id=msg.external_id,
                    kind=msg.kind,
                    parent=msg.external_parent_id,
                    author_id=msg.author_id,
                    text=msg.text,
                    posted_at=msg.posted_at,
                    url=msg.url,
                    edited=bool(n_versions) or msg.edited_at is not None,
                    edited_at=msg.edited_at,
                    deleted=msg.deleted_at is not None,
                    versions=int(n_versions or 0),
                )
                last = msg.id
