"""Incremental polling of one VK wall: new posts, edits, deletions and changed comment threads."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import astuple, dataclass, field, replace
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
    "read_comment_level",
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
class WallGap:
    """Posts a wall read cut at ``max_pages`` did not reach: ids strictly between ``low`` (the
    watermark then) and ``high`` (the oldest post read), and where paging stopped: ``offset``
    when the wall's count was ``count``, so the next poll goes on from about there."""

    low: int
    high: int
    offset: int
    count: int


@dataclass(frozen=True, slots=True)
class WallCursor:
    """Where polling of a wall stands: the watermark and the recent posts being watched.

    ``last_post_id`` is the newest non-pinned post id stored; every post above it is new.
    ``watched`` holds recent posts (and the pinned one) whose comment counts and edit times are
    compared on each poll; a count there is one whose comments were all stored. ``activity`` is
    the smoothed number of new posts and comments an hour, which sets the polling interval.
    ``pending`` maps the posts whose comments could not be read in full (a failure during the
    read) to the number of polls that tried: the next poll reads them again, whether or not
    they are still watched, until they are read or gone.
    """

    last_post_id: int | None = None
    watched: Mapping[int, PostState] = field(default_factory=dict)
    activity: float = 0.0
    polled_at: dt.datetime | None = None
    pinned: int | None = None
    pending: Mapping[int, int] = field(default_factory=dict)
    gap: WallGap | None = None

    def in_gap(self, post_id: int) -> bool:
        """Return whether ``post_id`` lies in the range a read cut at ``max_pages`` left."""
        return self.gap is not None and self.gap.low < post_id < self.gap.high

    def with_pending(self, post_ids: Iterable[int]) -> WallCursor:
        """Return this cursor with ``post_ids`` to be read again by the next poll."""
        pending = dict(self.pending)
        for pid in post_ids:
            pending[pid] = pending.get(pid, 0) + 1
        return replace(self, pending=pending)

    def to_json(self) -> dict[str, Any]:
        """Return a JSON-safe form for the source's ``cursor`` column."""
        return {
            "v": CURSOR_VERSION,
            "last_post_id": self.last_post_id,
            "watched": {str(k): [s.comments, s.edited] for k, s in sorted(self.watched.items())},
            "activity": round(self.activity, 4),
            "polled_at": self.polled_at.isoformat() if self.polled_at else None,
            "pinned": self.pinned,
            "pending": {str(k): v for k, v in sorted(self.pending.items())},
            "gap": list(astuple(self.gap)) if self.gap is not None else None,
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
            pending={int(k): int(v) for k, v in (data.get("pending") or {}).items()},
            gap=WallGap(*(int(v) for v in gap)) if (gap := data.get("gap")) else None,
        )


@dataclass(frozen=True, slots=True)
class PollResult:
    """Everything one poll found, to be stored together with ``cursor`` in one transaction.

    ``posts`` are new posts and known posts that changed (edited, new comment count);
    ``comments`` every comment (thread replies included) of the posts whose comments were read;
    ``comment_sets`` the complete set of comment external ids now visible under each such post,
    so storage can mark the others deleted (only for posts read in full: a partial read marks
    nothing); ``deleted_posts`` the external ids of posts that vanished from the wall.
    ``unread`` names the posts whose comments were not read in full this time (their comments
    read so far are in ``comments``); the cursor keeps them pending for the next poll.
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
    unread: tuple[str, ...] = ()


#: Each comment page after the first starts this many comments before where the last ended
#: (at most half a page), so comments deleted between the pages cannot move one past the read.
COMMENT_OVERLAP = 5


def _next_comment_offset(page: VkCommentsPage, start: int, prev_count: int | None) -> int:
    """Return where to ask for the page after ``page`` (read from ``start``) of one level.

    Offsets shift when comments before them are deleted: the next page is asked for a little
    earlier, and earlier still by as much as the level's count dropped since the page before.
    The repeats are dropped by id.
    """
    end = start + len(page.items)
    drop = max(0, prev_count - page.current_level_count) if prev_count is not None else 0
    return max(0, end - min(COMMENT_OVERLAP, len(page.items) // 2) - drop)


def _more_comments(page: VkCommentsPage, start: int, fresh: bool) -> bool:
    """Return True when comments of this level remain after ``page`` (read from ``start``).

    A page may be shorter than asked while more follow, so the level's count decides; a page
    with nothing new (a server ignoring ``offset``) ends the read instead of looping.
    """
    return fresh and start + len(page.items) < page.current_level_count


async def read_comment_level(
    first: VkCommentsPage,
    page_at: Callable[[int], Awaitable[VkCommentsPage]],
    take: Callable[[Sequence[VkComment]], Awaitable[None]],
) -> None:
    """Page one level (a post's comments or a thread) from ``first``, giving each comment
    once to ``take``; pages overlap so deletions while paging skip nothing."""
    seen: set[int] = set()
    page, start, prev_count = first, 0, None
    while True:
        fresh = [c for c in page.items if c.id not in seen]
        seen.update(c.id for c in fresh)
        await take(fresh)
        if not _more_comments(page, start, bool(fresh)):
            return
        start, prev_count = (
            _next_comment_offset(page, start, prev_count),
            page.current_level_count,
        )
        page = await page_at(start)


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
        backfill_max_posts: int = 100,
        backfill_days: float | None = None,
        initial_posts: int | None = None,
        watch_posts: int = 50,
        max_pages: int = 200,
        batch_comments: bool = True,
        clock: WallClock = utcnow,
        smoothing: float = 0.3,
    ) -> None:
        """Set up the poller.

        ``backfill_max_posts`` and ``backfill_days`` bound the first poll of a new source (no
        watermark yet): at most that many posts, none older than that many days (None: any
        age). ``initial_posts`` is the former name of ``backfill_max_posts``.
        """
        self.api = api
        self.owner_id = owner_id
        self.page_size = page_size
        self.backfill_max_posts = initial_posts if initial_posts is not None else backfill_max_posts
        self.backfill_days = backfill_days
        self.watch_posts = watch_posts
        self.max_pages = max_pages
        self.batch_comments = batch_comments
        self.clock = clock
        self.smoothing = smoothing
        self.requests = 0
        self.wall_count = 0  # the wall's count as the last wall page read gave it

    @property
    def initial_posts(self) -> int:
        """Return the first poll's post cap (the former name of ``backfill_max_posts``)."""
        return self.backfill_max_posts

    # ------------------------------------------------------------------ posts

    async def _page(self, offset: int) -> VkWallPage:
        self.requests += 1
        return await self.api.wall_get(self.owner_id, offset=offset, count=self.page_size)

    async def _read_wall(
        self, cursor: WallCursor, first_page: VkWallPage | None = None
    ) -> tuple[dict[int, VkPost], int | None, WallGap | None]:
        """Return the posts seen (pinned included), the oldest non-pinned id reached, and the
        range left unread when paging stopped at ``max_pages`` above the watermark."""
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
            prev_count = self.wall_count = page.count
            for post in page.items:
                seen.setdefault(post.id, post)
                if not post.is_pinned:
                    oldest = post.id if oldest is None else min(oldest, post.id)
            offset += len(page.items)
            # ``count`` asks for at most that many: a short page is not the end of the wall
            # (VK leaves posts out of a page at times), only an empty one or the wall's count.
            if not page.items or offset >= page.count:
                break
            if watermark is None:
                if sum(1 for p in seen.values() if not p.is_pinned) >= self.backfill_max_posts:
                    break
                horizon = self._backfill_horizon()
                if horizon is not None and any(
                    p.date < horizon for p in page.items if not p.is_pinned
                ):
                    break  # newest first: every later page is older still
            elif oldest is not None and oldest <= watermark and (floor is None or oldest <= floor):
                break
        else:
            log.warning("wall %s: stopped after %d pages", self.owner_id, self.max_pages)
            if watermark is not None and oldest is not None and oldest > watermark + 1:
                gap = WallGap(watermark, oldest, offset, prev_count or 0)
                return seen, oldest, gap
        return seen, oldest, None

    async def _fill_gap(
        self, gap: WallGap, count: int, budget: int, seen: dict[int, VkPost]
    ) -> WallGap | None:
        """Read on where a cut read stopped, with what is left of the page budget; return the
        range still unread (None once closed).

        Posts published since push the range later and deletions above it pull it earlier,
        both by the change of the wall's count (a deletion below it gives an earlier offset
        than needed, which re-reads a little). Paging starts one post early, on the range's
        top, and steps back a page while the page read lies wholly below that top (posts
        between could be skipped otherwise).
        """
        offset = max(0, gap.offset + (count - gap.count) - 1)
        reached = False
        high = gap.high
        while budget > 0:
            budget -= 1
            page = await self._page(offset)
            ids = [p.id for p in page.items if not p.is_pinned]
            if not reached and offset > 0 and (not ids or max(ids) < gap.high):
                offset = max(0, offset - self.page_size)  # jumped past the range's top
                continue
            reached = True
            for post in page.items:
                if gap.low < post.id < gap.high:
                    seen.setdefault(post.id, post)
            offset += len(page.items)
            if ids:
                high = min(high, min(ids))
            if not page.items or offset >= page.count or high <= gap.low + 1:
                return None
        return WallGap(gap.low, high, offset, count) if high > gap.low + 1 else None

    def _backfill_horizon(self) -> dt.datetime | None:
        if self.backfill_days is None:
            return None
        return self.clock() - dt.timedelta(days=self.backfill_days)

    def _backfill(self, seen: Mapping[int, VkPost]) -> dict[int, VkPost]:
        """Return the posts a first poll keeps: the newest ``backfill_max_posts`` within
        ``backfill_days``, and the pinned post whatever its age (it is watched like the others
        and would be taken as new by the next poll anyway)."""
        horizon = self._backfill_horizon()
        kept = {
            pid: p for pid, p in seen.items() if p.is_pinned or horizon is None or p.date >= horizon
        }
        newest = sorted((pid for pid, p in kept.items() if not p.is_pinned), reverse=True)
        cap = set(newest[: self.backfill_max_posts])
        return {pid: p for pid, p in kept.items() if p.is_pinned or pid in cap}

    # ------------------------------------------------------------------ comments

    async def _thread(self, parent: VkComment, out: list[VkComment]) -> None:
        async def page_at(offset: int) -> VkCommentsPage:
            self.requests += 1
            return await self.api.wall_get_comments(
                parent.owner_id, parent.post_id, offset=offset, count=PAGE, comment_id=parent.id
            )

        async def take(items: Sequence[VkComment]) -> None:
            out.extend(items)

        await read_comment_level(await page_at(0), page_at, take)

    async def _expand(self, items: Sequence[VkComment], out: list[VkComment]) -> None:
        for comment in items:
            out.append(comment)
            if comment.thread_count > len(comment.thread):
                await self._thread(comment, out)
            else:
                out.extend(comment.thread)

    async def _comments_into(
        self, post: VkPost, first: VkCommentsPage, out: list[VkComment]
    ) -> None:
        """Read every comment of ``post`` from its first page into ``out`` (threads included).

        ``out`` keeps what was read when a call fails on the way.
        """

        async def page_at(offset: int) -> VkCommentsPage:
            self.requests += 1
            return await self.api.wall_get_comments(
                post.owner_id, post.id, offset=offset, count=PAGE
            )

        async def take(items: Sequence[VkComment]) -> None:
            await self._expand(items, out)

        await read_comment_level(first, page_at, take)

    def _batch(self, chunk: Sequence[VkPost]) -> list[ExecuteCall]:
        return [
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

    async def _first_pages(
        self, posts: Sequence[VkPost]
    ) -> list[tuple[VkPost, VkCommentsPage | VkError]]:
        """Read the first comment page of each post, batched through ``execute``.

        Each post gets its page or the error its read failed with (a whole batch failing gives
        each of its posts that error). After an error that is not transient (the token is
        refused, every token rests) the remaining posts are not asked for: they get that error.
        """
        out: list[tuple[VkPost, VkCommentsPage | VkError]] = []
        stop: VkError | None = None
        if self.batch_comments and len(posts) > 1:
            for start in range(0, len(posts), EXECUTE_MAX_CALLS):
                chunk = posts[start : start + EXECUTE_MAX_CALLS]
                if stop is not None:
                    out.extend((post, stop) for post in chunk)
                    continue
                self.requests += 1
                try:
                    results = await self.api.execute(self._batch(chunk))
                except VkError as batch_err:
                    out.extend((post, batch_err) for post in chunk)
                    stop = None if batch_err.retryable else batch_err
                    continue
                for post, result in zip(chunk, results, strict=True):
                    if result.error is not None:
                        err = result.error
                        out.append((post, err if isinstance(err, VkError) else VkError(str(err))))
                    elif isinstance(result.response, Mapping):
                        page = parse_comments_page(
                            result.response, owner_id=post.owner_id, post_id=post.id
                        )
                        out.append((post, page))
                    else:
                        out.append((post, VkError("wall.getComments: unexpected response")))
            return out
        for post in posts:
            if stop is not None:
                out.append((post, stop))
                continue
            self.requests += 1
            try:
                page = await self.api.wall_get_comments(post.owner_id, post.id, count=PAGE)
            except VkError as err:
                out.append((post, err))
                if not err.retryable and not isinstance(err, VkAccessDenied):
                    stop = err
                continue
            out.append((post, page))
        return out

    async def _read_comments(
        self, posts: Sequence[VkPost]
    ) -> tuple[list[VkComment], dict[str, frozenset[str]], set[int], list[str]]:
        """Read the comments of ``posts``; return them, the complete sets, the posts not read
        in full, and notes. A failure costs only its post (whose comments read so far are
        kept), never the poll."""
        comments: list[VkComment] = []
        sets: dict[str, frozenset[str]] = {}
        unread: set[int] = set()
        notes: list[str] = []
        stop: VkError | None = None
        for post, first in await self._first_pages(posts):
            if isinstance(first, VkAccessDenied):
                notes.append(f"comments of {post.external_id} unavailable: {first.error_msg}")
                continue
            if isinstance(first, VkError):
                unread.add(post.id)
                notes.append(f"comments of {post.external_id} not read ({first}); read again next")
                continue
            got: list[VkComment] = []
            if stop is None:
                try:
                    await self._comments_into(post, first, got)
                except VkError as err:
                    unread.add(post.id)
                    notes.append(
                        f"comments of {post.external_id} read in part ({err}); read again next"
                    )
                    if not err.retryable and not isinstance(err, VkAccessDenied):
                        stop = err
                else:
                    sets[post.external_id] = frozenset(c.external_id for c in got)
            else:
                await self._expand_inline(first, got)
                unread.add(post.id)
            comments.extend(got)
        return comments, sets, unread, notes

    @staticmethod
    async def _expand_inline(page: VkCommentsPage, out: list[VkComment]) -> None:
        for comment in page.items:
            out.append(comment)
            out.extend(comment.thread)

    # ------------------------------------------------------------------ poll

    async def poll(
        self,
        cursor: WallCursor,
        *,
        first_page: VkWallPage | None = None,
        recheck: bool = False,
    ) -> PollResult:
        """Read what changed on the wall since ``cursor``.

        A failure while reading comments costs only that post: its comments read so far are
        returned, and the cursor keeps it pending, so the next poll reads it again.

        Args:
            cursor: the state after the previous successful poll (a fresh one for a new source).
            first_page: the wall's page at offset 0 when it was read already (in an ``execute``
                batch over many walls, see :func:`collector.batching.first_pages`).
            recheck: read the comments of every watched post that has any, changed count or
                not. New comments are noticed by a changed count, and a deletion plus an
                addition keep it; the longer since the last poll (after failed polls), the
                likelier that is, so the caller asks for a recheck then.

        Returns:
            New and changed posts, comments of posts whose comment count changed (or whose
            comments are pending), deletions, and the cursor to store with them.

        Raises:
            VkError: the wall could not be read; nothing of this poll should be stored.
        """
        self.requests = 0
        now = self.clock()
        read, oldest, cut = await self._read_wall(cursor, first_page)
        seen = dict(read)
        gap = cursor.gap
        if gap is not None and cut is not None:  # cut again above it: one range, read on later
            gap = WallGap(gap.low, cut.high, cut.offset, cut.count)
        elif gap is not None:
            budget = max(1, self.max_pages - self.requests)
            gap = await self._fill_gap(gap, self.wall_count, budget, seen)
        else:
            gap = cut
        if cursor.last_post_id is None:
            seen = self._backfill(seen)
        return await self._evaluate(
            cursor, seen, oldest, now, from_wall=True, read=read, recheck=recheck, gap=gap
        )

    async def poll_posts(self, cursor: WallCursor, posts: Sequence[VkPost]) -> PollResult:
        """Take posts of this wall learned elsewhere (the news feed) without reading the wall.

        New posts are returned and watched; known posts whose comment count changed get their
        comments read, as in :meth:`poll`. The watermark does not move and deletions are not
        looked for: only a wall read can prove nothing between was missed.

        Args:
            cursor: the wall's cursor.
            posts: posts from ``newsfeed.get`` / ``newsfeed.getComments`` (others' are ignored).

        Returns:
            The same kind of result as :meth:`poll`; posts whose comments failed to read are
            pending in its cursor.
        """
        self.requests = 0
        now = self.clock()
        seen = {p.id: p for p in posts if p.owner_id == self.owner_id}
        return await self._evaluate(cursor, seen, None, now, from_wall=False, read=seen)

    async def _pending_posts(
        self, cursor: WallCursor, seen: Mapping[int, VkPost]
    ) -> tuple[list[VkPost], list[int], list[str]]:
        """Look up the pending posts this poll did not see: (alive, gone, notes).

        A post is gone only when ``wall.getById`` answered without it; when the lookup fails the
        posts stay pending.
        """
        wanted = sorted(pid for pid in cursor.pending if pid not in seen)
        alive: list[VkPost] = []
        gone: list[int] = []
        notes: list[str] = []
        for start in range(0, len(wanted), PAGE):
            chunk = wanted[start : start + PAGE]
            self.requests += 1
            try:
                found = await self.api.wall_get_by_id([f"{self.owner_id}_{pid}" for pid in chunk])
            except VkError as err:
                notes.append(f"{len(chunk)} pending posts not looked up ({err}); tried again next")
                continue
            by_id = {p.id: p for p in found if not p.is_deleted and p.owner_id == self.owner_id}
            alive.extend(by_id[pid] for pid in chunk if pid in by_id)
            gone.extend(pid for pid in chunk if pid not in by_id)
        return alive, gone, notes

    async def _evaluate(
        self,
        cursor: WallCursor,
        seen: Mapping[int, VkPost],
        oldest: int | None,
        now: dt.datetime,
        *,
        from_wall: bool,
        read: Mapping[int, VkPost],
        recheck: bool = False,
        gap: WallGap | None = None,
    ) -> PollResult:
        watermark = cursor.last_post_id
        new: list[VkPost] = []
        changed: list[VkPost] = []
        need_comments: list[VkPost] = []
        activity = 0
        for post in sorted(seen.values(), key=lambda p: p.id):
            state = cursor.watched.get(post.id)
            edited = int(post.edited_at.timestamp()) if post.edited_at else None
            fresh = (
                watermark is None or post.id > watermark or post.is_pinned or cursor.in_gap(post.id)
            )
            pending = post.id in cursor.pending
            if state is None and fresh:
                new.append(post)
                activity += 1 + (post.comments_count or 0)
                if post.comments_count:
                    need_comments.append(post)
            elif state is None:
                if from_wall and not pending:  # an old post beyond the watched window
                    continue
                changed.append(post)  # an older post the feed says has new comments
                if post.comments_count or pending:
                    need_comments.append(post)
            else:
                comments_changed = post.comments_count != state.comments
                if comments_changed or edited != state.edited:
                    changed.append(post)
                if comments_changed:
                    activity += max(0, (post.comments_count or 0) - (state.comments or 0))
                if comments_changed or pending or (recheck and post.comments_count):
                    need_comments.append(post)
        notes: list[str] = []
        # Pending posts beyond what this poll saw are looked up by id and read again.
        extra, gone_pending, lookup_notes = await self._pending_posts(cursor, read)
        notes.extend(lookup_notes)
        need_comments.extend(extra)
        # Watched posts missing from the range read were deleted (verified by id).
        missing = [
            pid
            for pid in cursor.watched
            if from_wall and pid not in read and oldest is not None and pid >= oldest
        ]
        deleted: list[str] = [f"{self.owner_id}_{pid}" for pid in gone_pending]
        if missing:
            refs = [f"{self.owner_id}_{pid}" for pid in missing]
            self.requests += 1
            try:
                alive = {p.id for p in await self.api.wall_get_by_id(refs) if not p.is_deleted}
            except VkError as err:  # not verified this time: they stay watched, checked next
                notes.append(f"{len(missing)} missing posts not verified ({err})")
            else:
                deleted += [f"{self.owner_id}_{pid}" for pid in missing if pid not in alive]
        comments, sets, unread, read_notes = await self._read_comments(need_comments)
        notes.extend(read_notes)
        cursor_next = self._next_cursor(
            cursor,
            seen,
            read,
            oldest,
            deleted,
            activity,
            now,
            unread=unread,
            looked_up={p.id for p in extra} | set(gone_pending),
            move_watermark=from_wall,
            gap=gap if from_wall else cursor.gap,
        )
        lag = None
        if new:
            lag = int(max(0.0, (now - max(p.date for p in new)).total_seconds()))
        return PollResult(
            owner_id=self.owner_id,
            posts=tuple(new + changed),
            comments=tuple(comments),
            comment_sets=sets,
            deleted_posts=tuple(dict.fromkeys(deleted)),
            cursor=cursor_next,
            new_posts=len(new),
            requests=self.requests,
            lag_seconds=lag,
            notes=tuple(notes),
            unread=tuple(f"{self.owner_id}_{pid}" for pid in sorted(unread)),
        )

    def _next_cursor(
        self,
        cursor: WallCursor,
        seen: Mapping[int, VkPost],
        read: Mapping[int, VkPost],
        oldest: int | None,
        deleted: Sequence[str],
        activity: int,
        now: dt.datetime,
        *,
        unread: set[int],
        looked_up: set[int],
        move_watermark: bool = True,
        gap: WallGap | None = None,
    ) -> WallCursor:
        # The watermark covers every post the wall read showed, kept by the backfill or not.
        ids = [p.id for p in read.values() if not p.is_pinned] if move_watermark else []
        last = max([cursor.last_post_id or 0, *ids]) or None
        gone = {int(ref.rsplit("_", 1)[1]) for ref in deleted}
        watched: dict[int, PostState] = {}
        for pid, state in cursor.watched.items():
            if pid not in gone and pid not in seen and (oldest is None or pid >= oldest):
                watched[pid] = state  # not re-read this time (e.g. beyond a short wall)
        for post in seen.values():
            edited = int(post.edited_at.timestamp()) if post.edited_at else None
            count = post.comments_count
            if post.id in unread:  # only a count whose comments were all stored is taken
                before = cursor.watched.get(post.id)
                count = before.comments if before is not None else None
            watched[post.id] = PostState(count, edited)
        if move_watermark:  # a wall read shows the pinned post (if any) at offset 0
            pinned = next((p.id for p in read.values() if p.is_pinned), None)
        else:
            pinned = cursor.pinned
        keep = sorted((k for k in watched if k != pinned), reverse=True)[: self.watch_posts]
        watched = {k: v for k, v in watched.items() if k == pinned or k in keep}
        # Pending: the posts not read in full now, plus those neither read nor looked up.
        pending: dict[int, int] = {}
        for pid, tries in cursor.pending.items():
            if pid in gone or pid in seen or pid in looked_up:
                continue
            pending[pid] = tries + 1 if pid not in read else tries
        for pid in unread:
            pending[pid] = cursor.pending.get(pid, 0) + 1
        rate = cursor.activity
        if cursor.polled_at is not None:
            hours = max((now - cursor.polled_at).total_seconds() / 3600.0, 1 / 60)
            rate = (1 - self.smoothing) * cursor.activity + self.smoothing * (activity / hours)
        return WallCursor(
            last_post_id=last,
            watched=watched,
            activity=rate,
            polled_at=now,
            pinned=pinned,
            pending=pending,
            gap=gap,
        )
