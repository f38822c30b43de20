"""Incremental polling of one OK group: new posts, edits, deletions and changed comment threads."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping, Set
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from collector.errors import VkAccessDenied
from collector.messages import CollectedMessage, Harvest
from collector.ok_errors import OkApiError
from collector.ok_types import OkComment, OkCommentsPage, OkTopic, OkTopicsPage
from collector.quotas import WallClock, utcnow

__all__ = ["OkCursor", "OkFeedApi", "OkGroupPoller", "TopicState"]

#: Comment errors that mean the post itself went away meanwhile (not the group).
_GONE = frozenset({300, 700, 702})


@runtime_checkable
class OkFeedApi(Protocol):
    """What the poller needs from OK (:class:`collector.ok_client.OkClient` fits)."""

    async def get_topics(
        self, group_id: str, *, anchor: str | None = None, count: int = 50
    ) -> OkTopicsPage:
        """Read a page of the group's posts."""
        ...

    async def get_comments(
        self, group_id: str, topic_id: str, *, anchor: str | None = None, count: int = 100
    ) -> OkCommentsPage:
        """Read a page of a post's comments."""
        ...


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class TopicState:
    """What is remembered of a recent post: its time, comment count and a digest of its text."""

    created_ms: int
    comments: int | None
    digest: str


@dataclass(frozen=True, slots=True)
class OkCursor:
    """Where polling of a group stands: the newest post's time and the recent posts watched."""

    newest_ms: int | None = None
    watched: Mapping[str, TopicState] = field(default_factory=dict)
    polled_at: dt.datetime | None = None

    def to_json(self) -> dict[str, Any]:
        """Return the JSON form stored in the source's ``cursor`` column."""
        return {
            "v": 1,
            "newest_ms": self.newest_ms,
            "watched": {k: [s.created_ms, s.comments, s.digest] for k, s in self.watched.items()},
            "polled_at": self.polled_at.isoformat() if self.polled_at else None,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> OkCursor:
        """Read :meth:`to_json`'s form (empty: a fresh cursor)."""
        if not data:
            return cls()
        watched = {
            str(k): TopicState(int(v[0]), None if v[1] is None else int(v[1]), str(v[2]))
            for k, v in (data.get("watched") or {}).items()
        }
        polled = data.get("polled_at")
        newest = data.get("newest_ms")
        return cls(
            newest_ms=int(newest) if newest is not None else None,
            watched=watched,
            polled_at=dt.datetime.fromisoformat(polled) if polled else None,
        )


def _ms(topic: OkTopic) -> int:
    return round(topic.created.timestamp() * 1000)


def _post_message(topic: OkTopic) -> CollectedMessage:
    author = topic.author_ref.partition(":")[2] if topic.author_ref else None
    return CollectedMessage(
        network="ok",
        external_id=topic.external_id,
        kind="post",
        text=topic.text,
        posted_at=topic.created,
        author_id=author or topic.group_id,
        url=topic.url,
        likes=topic.likes_count,
        comments=topic.comments_count,
        reposts=topic.reshares_count,
    )


def _comment_message(comment: OkComment) -> CollectedMessage:
    return CollectedMessage(
        network="ok",
        external_id=comment.external_id,
        kind="comment",
        text=comment.text,
        posted_at=comment.date,
        parent=comment.post_external_id,
        author_id=comment.author_id,
        url=comment.url,
        likes=comment.like_count,
    )


class OkGroupPoller:
    """Poll one OK group; pure with respect to storage (cursor in, harvest out).

    Posts are read newest first with ``anchor`` paging until the newest post already stored
    and the oldest watched post are reached. A watched post whose text digest or comment
    count changed is returned again; comments are read in full (``anchor``/``has_more``) for
    new posts with comments and for posts whose comment count changed (and for the newest
    ``refresh_unknown`` posts when the answer gives no count), so that comments no longer
    listed are marked deleted. A watched post missing from the range read was deleted.
    """

    def __init__(
        self,
        api: OkFeedApi,
        group_id: str,
        *,
        page_size: int = 50,
        initial_posts: int = 100,
        watch_posts: int = 50,
        max_pages: int = 50,
        comment_page_size: int = 100,
        refresh_unknown: int = 20,
        clock: WallClock = utcnow,
    ) -> None:
        self.api = api
        self.group_id = group_id
        self.page_size = page_size
        self.initial_posts = initial_posts
        self.watch_posts = watch_posts
        self.max_pages = max_pages
        self.comment_page_size = comment_page_size
        self.refresh_unknown = refresh_unknown
        self.clock = clock
        self.requests = 0

    async def _read_topics(
        self, cursor: OkCursor, unreadable: set[str]
    ) -> tuple[dict[str, OkTopic], bool]:
        """Return the posts read (by id) and whether the read reached the group's oldest.

        The ids of posts listed but left out (their date cannot be read) go to ``unreadable``.
        """
        seen: dict[str, OkTopic] = {}
        floor = min((s.created_ms for s in cursor.watched.values()), default=None)
        stop_at = cursor.newest_ms if floor is None else min(floor, cursor.newest_ms or floor)
        anchor: str | None = None
        used: set[str] = set()
        for _ in range(self.max_pages):
            self.requests += 1
            page = await self.api.get_topics(self.group_id, anchor=anchor, count=self.page_size)
            for topic in page.topics:
                seen.setdefault(topic.id, topic)
            unreadable.update(page.unreadable)
            if not page.has_more:
                # The end of the feed, unless nothing at all came back although posts are
                # watched: an empty answer (``{}``) must not mark every watched post deleted.
                return seen, bool(seen) or not cursor.watched
            if not page.anchor or not page.topics or page.anchor in used:
                return seen, False  # "more" without a way on: only what was read counts
            used.add(page.anchor)
            anchor = page.anchor
            oldest = min(_ms(t) for t in page.topics)
            if stop_at is None:
                if len(seen) >= self.initial_posts:
                    break
            elif oldest < stop_at:
                break
        return seen, False

    async def _comments(self, topic: OkTopic, unreadable: set[str]) -> tuple[list[OkComment], bool]:
        """Return a post's comments and whether they are all of them; the ids of comments
        listed but left out (their date cannot be read) go to ``unreadable``.

        Not all when OK says there are more but gives no new anchor (missing or repeated: a
        repeated one would loop for ever), or lists none for a post that has comments.
        """
        out: dict[str, OkComment] = {}
        anchor: str | None = None
        used: set[str] = set()
        while True:
            self.requests += 1
            page = await self.api.get_comments(
                self.group_id, topic.id, anchor=anchor, count=self.comment_page_size
            )
            for comment in page.comments:
                out.setdefault(comment.id, comment)
            unreadable.update(page.unreadable)
            if not page.has_more:
                return list(out.values()), bool(out) or not topic.comments_count
            if not page.anchor or not page.comments or page.anchor in used:
                return list(out.values()), False
            used.add(page.anchor)
            anchor = page.anchor

    async def poll(self, cursor: OkCursor | Mapping[str, Any] | None) -> Harvest:
        """Read what changed in the group since ``cursor``.

        Returns:
            New and changed posts, the comments of posts whose comments were read, deletions
            and the cursor to store with them.

        Raises:
            VkError: (the OK classes) the group could not be read; nothing should be stored.
        """
        if not isinstance(cursor, OkCursor):
            cursor = OkCursor.from_json(cursor)
        self.requests = 0
        now = self.clock()
        # Listed but unreadable (a date that cannot be read) is not absent: never deleted.
        unreadable: set[str] = set()
        seen, complete = await self._read_topics(cursor, unreadable)
        posts: list[CollectedMessage] = []
        need_comments: list[OkTopic] = []
        new = 0
        newest_new: dt.datetime | None = None
        # Without a comment count (an answer that omits discussion_summary) nothing tells a
        # thread changed: the newest such posts have their comments read on every poll.
        unknown = sorted(
            (t for t in seen.values() if t.comments_count is None), key=_ms, reverse=True
        )
        refresh = {t.id for t in unknown[: self.refresh_unknown]}
        for topic in sorted(seen.values(), key=_ms):
            state = cursor.watched.get(topic.id)
            if state is None:
                if cursor.newest_ms is not None and _ms(topic) < cursor.newest_ms:
                    continue  # an old post beyond the watched window
                new += 1
                newest_new = max(newest_new or topic.created, topic.created)
                posts.append(_post_message(topic))
                if topic.comments_count is None or topic.comments_count > 0:
                    need_comments.append(topic)
                continue
            changed_comments = topic.comments_count != state.comments
            if changed_comments or _digest(topic.text) != state.digest:
                posts.append(_post_message(topic))
            if changed_comments or topic.id in refresh:
                need_comments.append(topic)
        oldest_read = min((_ms(t) for t in seen.values()), default=None)
        deleted = [
            f"{self.group_id}_{tid}"
            for tid, state in cursor.watched.items()
            if tid not in seen
            and tid not in unreadable
            and (complete or (oldest_read is not None and state.created_ms >= oldest_read))
        ]
        comments: list[CollectedMessage] = []
        sets: dict[str, frozenset[str]] = {}
        partial: set[str] = set()
        notes: list[str] = []
        for topic in need_comments:
            try:
                left_out: set[str] = set()
                got, whole = await self._comments(topic, left_out)
            except VkAccessDenied as err:
                notes.append(f"comments of {topic.external_id} unavailable: {err.error_msg}")
                continue
            except OkApiError as err:
                if err.code not in _GONE:
                    raise
                notes.append(f"comments of {topic.external_id} gone: {err.error_msg}")
                continue
            comments.extend(_comment_message(c) for c in got)
            if whole:  # the set marks the comments it lacks deleted: only a complete one
                listed = [c.external_id for c in got]
                listed += [f"{topic.external_id}_{cid}" for cid in left_out]
                sets[topic.external_id] = frozenset(listed)
            else:
                partial.add(topic.id)
                notes.append(f"comments of {topic.external_id} read in part ({len(got)})")
        next_cursor = self._next_cursor(cursor, seen, deleted, now, partial)
        lag = None
        if newest_new is not None:
            lag = int(max(0.0, (now - newest_new).total_seconds()))
        return Harvest(
            network="ok",
            messages=tuple(posts + comments),
            cursor=next_cursor.to_json(),
            comment_sets=sets,
            deleted=tuple(deleted),
            new_posts=new,
            requests=self.requests,
            lag_seconds=lag,
            last_seen=max(seen.values(), key=_ms).id if seen else None,
            notes=tuple(notes),
        )

    def _next_cursor(
        self,
        cursor: OkCursor,
        seen: Mapping[str, OkTopic],
        deleted: list[str],
        now: dt.datetime,
        partial: Set[str] = frozenset(),
    ) -> OkCursor:
        gone = {ref.rpartition("_")[2] for ref in deleted}
        watched = {k: v for k, v in cursor.watched.items() if k not in gone and k not in seen}
        for topic in seen.values():
            state = cursor.watched.get(topic.id)
            if state is None and cursor.newest_ms is not None and _ms(topic) < cursor.newest_ms:
                continue
            # A thread read in part keeps no count, so the next poll reads it again.
            count = None if topic.id in partial else topic.comments_count
            watched[topic.id] = TopicState(_ms(topic), count, _digest(topic.text))
        keep = sorted(watched, key=lambda k: watched[k].created_ms, reverse=True)
        watched = {k: watched[k] for k in keep[: self.watch_posts]}
        newest = max([cursor.newest_ms or 0, *(_ms(t) for t in seen.values())]) or None
        return OkCursor(newest_ms=newest, watched=watched, polled_at=now)
