"""Incremental polling of one VK wall: new posts, edits, deletions and changed comment threads."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from collector.errors import VkAccessDenied, VkError
from collector.quotas import WallClock, utcnow
from collector.types import (
    ExecuteCall,
    ExecuteResult,
    VkComment,
    VkCommentsPage,
    VkPost,
    VkWallPage,
    parse_comments_page,
)
from collector.vk_client import EXECUTE_MAX_CALLS

__all__ = [
    "PollResult",
    "PostState",
    "VkGroupPoller",
    "WallApi",
    "WallCursor",
    "next_interval",
]

log = logging.getLogger(__name__)

PAGE = 100
CURSOR_VERSION = 1


@runtime_checkable
class WallApi(Protocol):
    """What a poller needs from VK: :class:`VkClient` and :class:`VkClientPool` both fit."""

    async def wall_get(self, owner_id: int, *, offset: int = 0, count: int = 100) -> VkWallPage:
        """Read a page of the wall."""
        ...

    async def wall_get_by_id(self, posts: Sequence[str]) -> tuple[VkPost, ...]:
        """Read posts by id."""
        ...

    async def wall_get_comments(
        self,
        owner_id: int,
        post_id: int,
        *,
        offset: int = 0,
        count: int = 100,
        comment_id: int | None = None,
    ) -> VkCommentsPage:
        """Read a page of comments or of one thread."""
        ...

    async def execute(self, calls: Sequence[ExecuteCall]) -> list[ExecuteResult]:
        """Run up to 25 calls in one request."""
        ...


@dataclass(frozen=True, slots=True)
class PostState:
    """What the poller remembers of a recent post to notice changes: comments and last edit."""

    comments: int | None
    edited: int | None = None


@dataclass(frozen=True, slots=True)
class WallCursor:
    """Where polling of a wall stands: the watermark and the recent posts being watched.

    ``last_post_id`` is the newest non-pinned post id stored; every post above it is new.
    ``watched`` holds recent posts (and the pinned one) whose comment counts and edit times are
    compared on each poll. ``activity`` is the smoothed number of new posts and comments an
    hour, which sets the polling interval.
    """

    last_post_id: int | None = None
    watched: Mapping[int, PostState] = field(default_factory=dict)
    activity: float = 0.0
    polled_at: dt.datetime | None = None
    pinned: int | None = None

    def to_json(self) -> dict[str, Any]:
        """Return a JSON-safe form for the source's ``cursor`` column."""
        return {
            "v": CURSOR_VERSION,
            "last_post_id": self.last_post_id,
            "watched": {str(k): [s.comments, s.edited] for k, s in sorted(self.watched.items())},
            "activity": round(self.activity, 4),
            "polled_at": self.polled_at.isoformat() if self.polled_at else None,
            "pinned": self.pinned,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> WallCursor:
        """Read the form written by :meth:`to_json` (an empty mapping is a fresh cursor)."""
        if not data:
            return cls()
        watched = {int(k): PostState(v[0], v[1]) for k, v in (data.get("watched") or {}).items()}
        polled = data.get("polled_at")
        last = data.get("last_post_id")
        pinned = data.get("pinned")
        return cls(
            last_post_id=int(last) if last is not None else None,
            watched=watched,
            activity=float(data.get("activity") or 0.0),
            polled_at=dt.datetime.fromisoformat(polled) if polled else None,
            pinned=int(pinned) if pinned is not None else None,
        )


@dataclass(frozen=True, slots=True)
class PollResult:
    """Everything one poll found, to be stored together with ``cursor`` in one transaction.

    ``posts`` are new posts and known posts that changed (edited, new comment count);
    ``comments`` every comment (thread replies included) of the posts whose comments were read;
    ``comment_sets`` the complete set of comment external ids now visible under each such post,
    so storage can mark the others deleted; ``deleted_posts`` the external ids of posts that
    vanished from the wall.
    """

    owner_id: int
    posts: tuple[VkPost, ...]
    comments: tuple[VkComment, ...]
    comment_sets: Mapping[str, frozenset[str]]
    deleted_posts: tuple[str, ...]
    cursor: WallCursor
    new_posts: int
    requests: int
    lag_seconds: int | None
    notes: tuple[str, ...] = ()


def next_interval(
    activity_per_hour: float, *, minimum: float = 60.0, maximum: float = 3600.0
) -> float:
    """Return seconds to the next poll: about one new item per poll, within the bounds."""
    if activity_per_hour <= 0:
        return maximum
    return max(minimum, min(maximum, 3600.0 / activity_per_hour))


class VkGroupPoller:
    """Poll one wall incrementally; pure with respect to storage (cursor in, result out).

    Paging goes newest first from offset 0 until the watermark is crossed (and the watched
    window covered). The pinned post, always first, never moves the watermark. New posts
    published while paging push older ones to later offsets: the repeats are dropped by id.
    Posts deleted while paging pull them earlier: a drop of the wall's ``count`` between pages
    moves the offset back by as much, so nothing is skipped.
    """

    def __init__(
        self,
        api: WallApi,
        owner_id: int,
        *,
        page_size: int = PAGE,
        initial_posts: int = 100,
        watch_posts: int = 50,
        max_pages: int = 200,
        batch_comments: bool = True,
        clock: WallClock = utcnow,
        smoothing: float = 0.3,
    ) -> None:
        self.api = api
        self.owner_id = owner_id
        self.page_size = page_size
        self.initial_posts = initial_posts
        self.watch_posts = watch_posts
        self.max_pages = max_pages
        self.batch_comments = batch_comments
        self.clock = clock
        self.smoothing = smoothing
        self.requests = 0

    # ------------------------------------------------------------------ posts

    async def _page(self, offset: int) -> VkWallPage:
        self.requests += 1
        return await self.api.wall_get(self.owner_id, offset=offset, count=self.page_size)

    async def _read_wall(
        self, cursor: WallCursor, first_page: VkWallPage | None = None
    ) -> tuple[dict[int, VkPost], int | None]:
        """Return the posts seen (pinned included) and the oldest non-pinned id reached."""
        seen: dict[int, VkPost] = {}
        offset = 0
        prev_count: int | None = None
        oldest: int | None = None
        watermark = cursor.last_post_id
        # The pinned post may be years old: it is watched, but never a reason to page down to it.
        floor = min((k for k in cursor.watched if k != cursor.pinned), default=None)
        pages = 0
        while pages < self.max_pages:
            if offset == 0 and first_page is not None:
                page, first_page = first_page, None  # read already, in a batch
            else:
                page = await self._page(offset)
            pages += 1
            if prev_count is not None and page.count < prev_count and offset > 0:
                # Posts were deleted while paging: later posts moved up; step back and re-read.
                offset = max(0, offset - (prev_count - page.count))
                prev_count = page.count
                continue
            prev_count = page.count
            for post in page.items:
                seen.setdefault(post.id, post)
                if not post.is_pinned:
                    oldest = post.id if oldest is None else min(oldest, post.id)
            offset += len(page.items)
            if len(page.items) < self.page_size or offset >= page.count:
                break
            if watermark is None:
                if sum(1 for p in seen.values() if not p.is_pinned) >= self.initial_posts:
                    break
            elif oldest is not None and oldest <= watermark and (floor is None or oldest <= floor):
                break
        else:
            log.warning("wall %s: stopped after %d pages", self.owner_id, self.max_pages)
        return seen, oldest

    # ------------------------------------------------------------------ comments

    async def _thread(self, parent: VkComment) -> list[VkComment]:
        out: list[VkComment] = []
        offset = 0
        while True:
            self.requests += 1
            page = await self.api.wall_get_comments(
                parent.owner_id, parent.post_id, offset=offset, count=PAGE, comment_id=parent.id
            )
            out.extend(page.items)
            offset += len(page.items)
            if len(page.items) < PAGE:
                return out

    async def _expand(self, page: VkCommentsPage) -> list[VkComment]:
        out: list[VkComment] = []
        for comment in page.items:
            out.append(comment)
            if comment.thread_count > len(comment.thread):
                out.extend(await self._thread(comment))
            else:
                out.extend(comment.thread)
        return out

    async def _comments_from(self, post: VkPost, first: VkCommentsPage) -> list[VkComment]:
        out = await self._expand(first)
        offset = len(first.items)
        page = first
        while len(page.items) >= PAGE:
            self.requests += 1
            page = await self.api.wall_get_comments(
                post.owner_id, post.id, offset=offset, count=PAGE
            )
            out.extend(await self._expand(page))
            offset += len(page.items)
        return out

    async def _first_pages(
        self, posts: Sequence[VkPost]
    ) -> list[tuple[VkPost, VkCommentsPage | VkError]]:
        """Read the first comment page of each post, batched through ``execute``."""
        out: list[tuple[VkPost, VkCommentsPage | VkError]] = []
        if self.batch_comments and len(posts) > 1:
            for start in range(0, len(posts), EXECUTE_MAX_CALLS):
                chunk = posts[start : start + EXECUTE_MAX_CALLS]
                calls = [
                    ExecuteCall(
                        "wall.getComments",
                        {
                            "owner_id": p.owner_id,
                            "post_id": p.id,
                            "count": PAGE,
                            "sort": "asc",
                            "thread_items_count": 10,
                            "need_likes": 1,
                            "preview_length": 0,
                        },
                    )
                    for p in chunk
                ]
                self.requests += 1
                results = await self.api.execute(calls)
                for post, result in zip(chunk, results, strict=True):
                    if result.error is not None:
                        err = result.error
                        out.append((post, err if isinstance(err, VkError) else VkError(str(err))))
                    else:
                        page = parse_comments_page(
                            result.response, owner_id=post.owner_id, post_id=post.id
                        )
                        out.append((post, page))
            return out
        for post in posts:
            self.requests += 1
            try:
                page = await self.api.wall_get_comments(post.owner_id, post.id, count=PAGE)
            except VkAccessDenied as err:
                out.append((post, err))
                continue
            out.append((post, page))
        return out

    # ------------------------------------------------------------------ poll

    async def poll(self, cursor: WallCursor, *, first_page: VkWallPage | None = None) -> PollResult:
        """Read what changed on the wall since ``cursor``.

        Args:
            cursor: the state after the previous successful poll (a fresh one for a new source).
            first_page: the wall's page at offset 0 when it was read already (in an ``execute``
                batch over many walls, see :func:`collector.batching.first_pages`).

        Returns:
            New and changed posts, comments of posts whose comment count changed, deletions,
            and the cursor to store with them.

        Raises:
            VkError: the wall could not be read; nothing of this poll should be stored.
        """
        self.requests = 0
        now = self.clock()
        seen, oldest = await self._read_wall(cursor, first_page)
        return await self._evaluate(cursor, seen, oldest, now, from_wall=True)

    async def poll_posts(self, cursor: WallCursor, posts: Sequence[VkPost]) -> PollResult:
        """Take posts of this wall learned elsewhere (the news feed) without reading the wall.

        New posts are returned and watched; known posts whose comment count changed get their
        comments read, as in :meth:`poll`. The watermark does not move and deletions are not
        looked for: only a wall read can prove nothing between was missed.

        Args:
            cursor: the wall's cursor.
            posts: posts from ``newsfeed.get`` / ``newsfeed.getComments`` (others' are ignored).

        Returns:
            The same kind of result as :meth:`poll`.

        Raises:
            VkError: comments could not be read; nothing of this poll should be stored.
        """
        self.requests = 0
        now = self.clock()
        seen = {p.id: p for p in posts if p.owner_id == self.owner_id}
        return await self._evaluate(cursor, seen, None, now, from_wall=False)

    async def _evaluate(
        self,
        cursor: WallCursor,
        seen: Mapping[int, VkPost],
        oldest: int | None,
        now: dt.datetime,
        *,
        from_wall: bool,
    ) -> PollResult:
        watermark = cursor.last_post_id
        new: list[VkPost] = []
        changed: list[VkPost] = []
        need_comments: list[VkPost] = []
        activity = 0
        for post in sorted(seen.values(), key=lambda p: p.id):
            state = cursor.watched.get(post.id)
            edited = int(post.edited_at.timestamp()) if post.edited_at else None
            fresh = watermark is None or post.id > watermark or post.is_pinned
            if state is None and fresh:
                new.append(post)
                activity += 1 + (post.comments_count or 0)
                if post.comments_count:
                    need_comments.append(post)
            elif state is None:
                if from_wall:  # an old post beyond the watched window
                    continue
                changed.append(post)  # an older post the feed says has new comments
                if post.comments_count:
                    need_comments.append(post)
            else:
                comments_changed = post.comments_count != state.comments
                if comments_changed or edited != state.edited:
                    changed.append(post)
                if comments_changed:
                    activity += max(0, (post.comments_count or 0) - (state.comments or 0))
                    need_comments.append(post)
        # Watched posts missing from the range read were deleted (verified by id).
        missing = [
            pid
            for pid in cursor.watched
            if from_wall and pid not in seen and oldest is not None and pid >= oldest
        ]
        deleted: list[str] = []
        if missing:
            refs = [f"{self.owner_id}_{pid}" for pid in missing]
            self.requests += 1
            alive = {p.id for p in await self.api.wall_get_by_id(refs) if not p.is_deleted}
            deleted = [f"{self.owner_id}_{pid}" for pid in missing if pid not in alive]
        comments: list[VkComment] = []
        sets: dict[str, frozenset[str]] = {}
        notes: list[str] = []
        for post, first in await self._first_pages(need_comments):
            if isinstance(first, VkAccessDenied):
                notes.append(f"comments of {post.external_id} unavailable: {first.error_msg}")
                continue
            if isinstance(first, VkError):
                raise first
            got = await self._comments_from(post, first)
            comments.extend(got)
            sets[post.external_id] = frozenset(c.external_id for c in got)
        cursor_next = self._next_cursor(
            cursor, seen, oldest, deleted, activity, now, move_watermark=from_wall
        )
        lag = None
        if new:
            lag = int(max(0.0, (now - max(p.date for p in new)).total_seconds()))
        return PollResult(
            owner_id=self.owner_id,
            posts=tuple(new + changed),
            comments=tuple(comments),
            comment_sets=sets,
            deleted_posts=tuple(deleted),
            cursor=cursor_next,
            new_posts=len(new),
            requests=self.requests,
            lag_seconds=lag,
            notes=tuple(notes),
        )

    def _next_cursor(
        self,
        cursor: WallCursor,
        seen: Mapping[int, VkPost],
        oldest: int | None,
        deleted: Sequence[str],
        activity: int,
        now: dt.datetime,
        *,
        move_watermark: bool = True,
    ) -> WallCursor:
        ids = [p.id for p in seen.values() if not p.is_pinned] if move_watermark else []
        last = max([cursor.last_post_id or 0, *ids]) or None
        gone = {int(ref.rsplit("_", 1)[1]) for ref in deleted}
        watched: dict[int, PostState] = {}
        for pid, state in cursor.watched.items():
            if pid not in gone and pid not in seen and (oldest is None or pid >= oldest):
                watched[pid] = state  # not re-read this time (e.g. beyond a short wall)
        for post in seen.values():
            edited = int(post.edited_at.timestamp()) if post.edited_at else None
            watched[post.id] = PostState(post.comments_count, edited)
        if move_watermark:  # a wall read shows the pinned post (if any) at offset 0
            pinned = next((p.id for p in seen.values() if p.is_pinned), None)
        else:
            pinned = cursor.pinned
        keep = sorted((k for k in watched if k != pinned), reverse=True)[: self.watch_posts]
        watched = {k: v for k, v in watched.items() if k == pinned or k in keep}
        rate = cursor.activity
        if cursor.polled_at is not None:
            hours = max((now - cursor.polled_at).total_seconds() / 3600.0, 1 / 60)
            rate = (1 - self.smoothing) * cursor.activity + self.smoothing * (activity / hours)
        return WallCursor(
            last_post_id=last, watched=watched, activity=rate, polled_at=now, pinned=pinned
        )
