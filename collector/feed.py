"""The feed path: new posts and new comments of every followed community, and keyword search."""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from collector.errors import VkAccessDenied, VkError, VkRateLimited
from collector.quotas import WallClock, utcnow
from collector.types import (
    ExecuteCall,
    ExecuteResult,
    FeedPage,
    VkComment,
    VkCommentsPage,
    VkPost,
    parse_comments_page,
    unix_to_utc,
)
from collector.vk_client import EXECUTE_MAX_CALLS
from collector.vk_poller import read_comment_level

__all__ = [
    "CommentMark",
    "CommentsApi",
    "FeedApi",
    "FeedCursor",
    "FeedGap",
    "FeedReader",
    "FeedResult",
    "KeywordSearch",
    "SearchApi",
    "SearchCursor",
    "SearchResult",
    "read_comments",
]

log = logging.getLogger(__name__)

PAGE = 100
CURSOR_VERSION = 1


@runtime_checkable
class CommentsApi(Protocol):
    """Reading comments: :class:`VkClient` and :class:`VkClientPool` both fit."""

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


@runtime_checkable
class FeedApi(Protocol):
    """The news feed of a user token whose account follows the communities (:class:`VkClient`)."""

    async def newsfeed_get(
        self,
        *,
        source_ids: Sequence[int] = (),
        start_time: int | None = None,
        end_time: int | None = None,
        start_from: str | None = None,
        count: int = 100,
    ) -> FeedPage:
        """Read new posts of the followed communities."""
        ...

    async def newsfeed_get_comments(
        self,
        *,
        source_ids: Sequence[int] = (),
        start_time: int | None = None,
        start_from: str | None = None,
        last_comments_count: int = 10,
        count: int = 100,
    ) -> FeedPage:
        """Read which feed posts got new comments."""
        ...


@runtime_checkable
class SearchApi(Protocol):
    """Keyword search over public posts (:class:`VkClient`)."""

    async def newsfeed_search(
        self,
        q: str,
        *,
        start_time: int | None = None,
        end_time: int | None = None,
        start_from: str | None = None,
        count: int = 200,
    ) -> FeedPage:
        """Search public posts."""
        ...


# ---------------------------------------------------------------------- comments


async def read_comments(
    api: CommentsApi, posts: Sequence[VkPost]
) -> tuple[dict[str, list[VkComment]], list[str], int, list[str]]:
    """Read every comment (thread replies included) of ``posts``, first pages batched.

    A post whose read fails (after the client's retries) costs only itself: it is named in
    the failed list and left out of the comments, and the others are returned.

    Args:
        api: a client or pool that may call ``wall.getComments`` and ``execute``.
        posts: the posts to read.

    Returns:
        Comments by post external id (posts read in full only), notes on posts whose comments
        are closed (212 and other access errors) or failed, the number of requests made, and
        the external ids of the posts that failed (to read again later).
    """
    out: dict[str, list[VkComment]] = {}
    notes: list[str] = []
    failed: list[str] = []
    requests = 0
    firsts: list[tuple[VkPost, VkCommentsPage | VkError]] = []
    if len(posts) == 1:
        post = posts[0]
        requests += 1
        try:
            firsts.append((post, await api.wall_get_comments(post.owner_id, post.id, count=PAGE)))
        except VkError as err:
            firsts.append((post, err))
    else:
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
            requests += 1
            try:
                results = await api.execute(calls)
            except VkError as err:
                firsts.extend((post, err) for post in chunk)
                continue
            for post, result in zip(chunk, results, strict=True):
                error = result.error
                if error is not None:
                    firsts.append(
                        (post, error if isinstance(error, VkError) else VkError(str(error)))
                    )
                elif isinstance(result.response, Mapping):
                    page = parse_comments_page(
                        result.response, owner_id=post.owner_id, post_id=post.id
                    )
                    firsts.append((post, page))
                else:
                    firsts.append((post, VkError("wall.getComments: unexpected response")))
    for post, first in firsts:
        if isinstance(first, VkAccessDenied):
            notes.append(f"comments of {post.external_id} unavailable: {first.error_msg}")
            continue
        if isinstance(first, VkError):
            notes.append(f"comments of {post.external_id} not read ({first}); read again next")
            failed.append(post.external_id)
            continue
        try:
            got, made = await _all_pages(api, post, first)
        except VkError as err:
            notes.append(f"comments of {post.external_id} read in part ({err}); read again next")
            failed.append(post.external_id)
            continue
        requests += made
        out[post.external_id] = got
    return out, notes, requests, failed


async def _all_pages(
    api: CommentsApi, post: VkPost, first: VkCommentsPage
) -> tuple[list[VkComment], int]:
    """Expand threads longer than their inlined replies and read the pages after ``first``.

    Paged as the wall poller pages comments (:func:`collector.vk_poller.read_comment_level`):
    a short page is not the end, and pages overlap so a deletion while paging skips nothing.
    """
    requests = 0
    out: list[VkComment] = []

    async def thread(parent: VkComment) -> None:
        async def page_at(offset: int) -> VkCommentsPage:
            nonlocal requests
            requests += 1
            return await api.wall_get_comments(
                post.owner_id, post.id, offset=offset, count=PAGE, comment_id=parent.id
            )

        async def take(items: Sequence[VkComment]) -> None:
            out.extend(items)

        await read_comment_level(await page_at(0), page_at, take)

    async def page_at(offset: int) -> VkCommentsPage:
        nonlocal requests
        requests += 1
        return await api.wall_get_comments(post.owner_id, post.id, offset=offset, count=PAGE)

    async def take(items: Sequence[VkComment]) -> None:
        for comment in items:
            out.append(comment)
            if comment.thread_count <= len(comment.thread):
                out.extend(comment.thread)
            else:
                await thread(comment)

    await read_comment_level(first, page_at, take)
    return out, requests


def _stub(external_id: str) -> VkPost:
    """Return a stand-in for a post known only by its id, to read its comments again."""
    owner, _, post_id = external_id.rpartition("_")
    return VkPost(
        owner_id=int(owner), id=int(post_id), from_id=int(owner), date=unix_to_utc(0), text=""
    )


# ---------------------------------------------------------------------- the feed


@dataclass(frozen=True, slots=True)
class CommentMark:
    """What is known of a post's comments: how many VK counted and the newest id stored."""

    count: int
    last_id: int


@dataclass(frozen=True, slots=True)
class FeedGap:
    """A ``newsfeed.get`` read cut at ``max_pages``: its window and where paging stopped."""

    start_time: int
    end_time: int
    start_from: str


@dataclass(frozen=True, slots=True)
class FeedCursor:
    """Where the feed path stands.

    ``posts_since`` is the newest post date seen (Unix time); ``recent`` maps the posts seen
    within the overlap before it to their dates (they are read again, so dropped by id).
    ``comments_since`` is the newest comment date seen; ``marks`` the comment state of recent
    posts (the newest ``keep_marks`` posts are kept). ``gaps`` are feed reads cut at
    ``max_pages``, each resumed from its ``next_from`` by the following polls. ``unread``
    maps the posts whose full comment read failed to the number of polls that tried: each
    poll reads them again until it succeeds (their marks stay where they were).
    """

    posts_since: int | None = None
    recent: Mapping[str, int] = field(default_factory=dict)
    comments_since: int | None = None
    marks: Mapping[str, CommentMark] = field(default_factory=dict)
    gaps: tuple[FeedGap, ...] = ()
    unread: Mapping[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """Return a JSON-safe form for storage."""
        return {
            "v": CURSOR_VERSION,
            "gaps": [[g.start_time, g.end_time, g.start_from] for g in self.gaps],
            "posts_since": self.posts_since,
            "recent": dict(sorted(self.recent.items())),
            "comments_since": self.comments_since,
            "marks": {k: [m.count, m.last_id] for k, m in sorted(self.marks.items())},
            "unread": dict(sorted(self.unread.items())),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> FeedCursor:
        """Read the form written by :meth:`to_json` (empty: a fresh cursor)."""
        if not data:
            return cls()
        posts_since = data.get("posts_since")
        comments_since = data.get("comments_since")
        return cls(
            gaps=tuple(FeedGap(int(a), int(b), str(c)) for a, b, c in data.get("gaps") or ()),
            posts_since=int(posts_since) if posts_since is not None else None,
            recent={str(k): int(v) for k, v in (data.get("recent") or {}).items()},
            comments_since=int(comments_since) if comments_since is not None else None,
            marks={
                str(k): CommentMark(int(v[0]), int(v[1]))
                for k, v in (data.get("marks") or {}).items()
            },
            unread={str(k): int(v) for k, v in (data.get("unread") or {}).items()},
        )


@dataclass(frozen=True, slots=True)
class FeedResult:
    """What one feed poll found, to be stored with ``cursor``.

    ``posts`` are new posts of followed communities, ``commented`` the posts whose comments
    changed (with their new comment count), ``comments`` the new comments (thread replies
    included). ``activity`` counts new posts and comments per wall owner, for the planner.
    ``truncated`` says paging stopped at ``max_pages``: the rest is read by the next polls
    (``cursor.gaps``); meanwhile the walls may be read to be sure.
    """

    posts: tuple[VkPost, ...]
    comments: tuple[VkComment, ...]
    commented: tuple[VkPost, ...]
    activity: Mapping[int, int]
    cursor: FeedCursor
    requests: int
    full_reads: int = 0
    truncated: bool = False
    notes: tuple[str, ...] = ()

    def by_owner(self) -> dict[int, tuple[VkPost, ...]]:
        """Return new and commented posts per wall owner (for ``VkGroupPoller.poll_posts``)."""
        out: dict[int, dict[int, VkPost]] = {}
        for post in (*self.commented, *self.posts):
            out.setdefault(post.owner_id, {})[post.id] = post
        return {k: tuple(sorted(v.values(), key=lambda p: p.id)) for k, v in out.items()}


class FeedReader:
    """Read the feed of an account that follows the monitored communities.

    ``newsfeed.get`` brings new posts of every followed community in one paged call;
    ``newsfeed.getComments`` names the posts with new comments and inlines the last ten; when
    more arrived than were inlined, the post's comments are read in full through ``comments``
    (batched ``wall.getComments``, which has no published daily quota; by default through
    ``api`` itself). ``followed`` limits the
    result to these wall owners (negative ids); ``overlap`` seconds are read again each time, in
    case the feed shows a post a little after its date.
    """

    def __init__(
        self,
        api: FeedApi,
        *,
        comments: CommentsApi | None = None,
        followed: Collection[int] | None = None,
        source_ids: Sequence[int] = (),
        overlap: int = 120,
        lookback: int = 3600,
        max_pages: int = 50,
        keep_marks: int = 5000,
        clock: WallClock = utcnow,
    ) -> None:
        self.api = api
        if comments is None and isinstance(api, CommentsApi):
            comments = api
        self.comments_api = comments
        self.followed = frozenset(followed) if followed is not None else None
        self.source_ids = tuple(source_ids)
        self.overlap = overlap
        self.lookback = lookback
        self.max_pages = max_pages
        self.keep_marks = keep_marks
        self.clock = clock

    def _wanted(self, post: VkPost) -> bool:
        return self.followed is None or post.owner_id in self.followed

    async def _pages(
        self,
        method: str,
        start_time: int,
        end_time: int | None = None,
        start_from: str | None = None,
    ) -> tuple[list[FeedPage], str | None]:
        """Page newest first; return the pages and, when cut at ``max_pages``, where to go on."""
        pages: list[FeedPage] = []
        while len(pages) < self.max_pages:
            if method == "newsfeed.get":
                page = await self.api.newsfeed_get(
                    source_ids=self.source_ids,
                    start_time=start_time,
                    end_time=end_time,
                    start_from=start_from,
                )
            else:
                page = await self.api.newsfeed_get_comments(
                    source_ids=self.source_ids, start_time=start_time, start_from=start_from
                )
            pages.append(page)
            start_from = page.next_from
            if not start_from or not page.items:
                return pages, None
        log.warning("%s: stopped after %d pages", method, self.max_pages)
        return pages, start_from

    async def poll(
        self, cursor: FeedCursor, *, posts: bool = True, comments: bool = True
    ) -> FeedResult:
        """Read new posts and new comments since ``cursor``.

        Args:
            cursor: the state after the previous poll (fresh: the last ``lookback`` seconds).
            posts: read ``newsfeed.get``.
            comments: read ``newsfeed.getComments`` (and the comments it points at).

        Returns:
            The new posts and comments and the cursor to store with them.

        Raises:
            VkError: the feed could not be read; nothing of this poll should be stored.
        """
        now = int(self.clock().timestamp())
        requests = 0
        truncated = False
        activity: dict[int, int] = {}
        marks = dict(cursor.marks)
        new_posts: list[VkPost] = []
        posts_since, recent = cursor.posts_since, dict(cursor.recent)
        gaps: list[FeedGap] = []
        if posts:
            start = now - self.lookback if posts_since is None else posts_since - self.overlap
            start = max(0, start)
            pages, more = await self._pages("newsfeed.get", start, now)
            if more is not None:
                gaps.append(FeedGap(start, now, more))
            for gap in cursor.gaps:  # what earlier polls could not page to, oldest last
                gap_pages, more = await self._pages(
                    "newsfeed.get", gap.start_time, gap.end_time, gap.start_from
                )
                pages += gap_pages
                if more is not None:
                    gaps.append(FeedGap(gap.start_time, gap.end_time, more))
            requests += len(pages)
            truncated = bool(gaps)
            seen: dict[str, VkPost] = {}
            for page in pages:
                for post in page.items:
                    if self._wanted(post) and post.external_id not in recent:
                        seen.setdefault(post.external_id, post)
            new_posts = sorted(seen.values(), key=lambda p: (p.date, p.owner_id, p.id))
            for post in new_posts:
                activity[post.owner_id] = activity.get(post.owner_id, 0) + 1
                if not post.comments_count:
                    # Comments share the wall's id counter, so they all come after the post.
                    marks[post.external_id] = CommentMark(0, post.id)
            dates = [int(p.date.timestamp()) for p in new_posts]
            if dates:
                posts_since = max([posts_since or 0, *dates])
            if posts_since is not None:
                floor = posts_since - self.overlap
                recent.update({p.external_id: int(p.date.timestamp()) for p in new_posts})
                recent = {k: d for k, d in recent.items() if d >= floor}
        found: list[VkComment] = []
        commented: list[VkPost] = []
        notes: list[str] = []
        full_reads = 0
        comments_since = cursor.comments_since
        unread = dict(cursor.unread)
        if comments:
            start = now - self.lookback if comments_since is None else comments_since - self.overlap
            start = max(0, start)
            pages, more = await self._pages("newsfeed.getComments", start)
            requests += len(pages)
            truncated |= more is not None
            to_read: list[VkPost] = []
            for page in pages:
                for post in page.items:
                    if not self._wanted(post):
                        continue
                    inline = page.comments.get(post.external_id, ())
                    mark = marks.get(post.external_id)
                    total = post.comments_count or 0
                    if mark is not None:
                        fresh = [c for c in inline if c.id > mark.last_id]
                        if not fresh and total <= mark.count:
                            marks[post.external_id] = CommentMark(total, mark.last_id)
                            continue
                        complete = total - mark.count <= len(fresh)
                    else:
                        fresh = [c for c in inline if c.date.timestamp() >= start]
                        complete = total <= len(inline)
                    commented.append(post)
                    if not complete:
                        to_read.append(post)
                        continue
                    found.extend(fresh)
                    last = max([c.id for c in inline] + [mark.last_id if mark else post.id])
                    marks[post.external_id] = CommentMark(total, last)
            wanted = {p.external_id for p in to_read}
            # Posts whose full read failed before are read again (their marks did not move).
            to_read += [_stub(ref) for ref in unread if ref not in wanted]
            if to_read:
                if self.comments_api is None:
                    raise VkError("comments must be read in full, but no comments api is set")
                by_post, read_notes, made, failed = await read_comments(self.comments_api, to_read)
                requests += made
                full_reads = len(to_read)
                notes.extend(read_notes)
                for ref in failed:
                    unread[ref] = unread.get(ref, 0) + 1
                for post in to_read:
                    got = by_post.get(post.external_id)
                    if got is None:
                        continue
                    unread.pop(post.external_id, None)
                    mark = marks.get(post.external_id)
                    if mark is not None:
                        found.extend(c for c in got if c.id > mark.last_id)
                    elif post.external_id in wanted:
                        found.extend(c for c in got if c.date.timestamp() >= start)
                    else:
                        found.extend(got)
                    last = max([c.id for c in got] + [mark.last_id if mark else post.id])
                    count = post.comments_count
                    marks[post.external_id] = CommentMark(
                        count if count is not None else len(got), last
                    )
            dates = [int(c.date.timestamp()) for c in found]
            # With nothing new the window still moves, so it never grows: comments dated up
            # to ``overlap`` before this poll are read again next time.
            comments_since = max([comments_since or start, now - self.overlap, *dates])
            found = list({c.external_id: c for c in found}.values())
            for c in found:
                activity[c.owner_id] = activity.get(c.owner_id, 0) + 1
        if len(marks) > self.keep_marks:
            newest = sorted(marks, key=lambda k: int(k.rsplit("_", 1)[1]), reverse=True)
            marks = {k: marks[k] for k in newest[: self.keep_marks]}
        return FeedResult(
            posts=tuple(new_posts),
            comments=tuple(found),
            commented=tuple(commented),
            activity=activity,
            cursor=FeedCursor(
                posts_since=posts_since,
                recent=recent,
                comments_since=comments_since,
                marks=marks,
                gaps=tuple(gaps) if posts else cursor.gaps,
                unread=unread,
            ),
            requests=requests,
            full_reads=full_reads,
            truncated=truncated,
            notes=tuple(notes),
        )


# ---------------------------------------------------------------------- keyword search


@dataclass(frozen=True, slots=True)
class SearchCursor:
    """Per query: the newest post date seen and the posts seen within the overlap before it."""

    since: Mapping[str, int] = field(default_factory=dict)
    recent: Mapping[str, Mapping[str, int]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """Return a JSON-safe form for storage."""
        return {
            "v": CURSOR_VERSION,
            "since": dict(sorted(self.since.items())),
            "recent": {q: dict(sorted(ids.items())) for q, ids in sorted(self.recent.items())},
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> SearchCursor:
        """Read the form written by :meth:`to_json`."""
        if not data:
            return cls()
        return cls(
            since={str(q): int(t) for q, t in (data.get("since") or {}).items()},
            recent={
                str(q): {str(k): int(v) for k, v in ids.items()}
                for q, ids in (data.get("recent") or {}).items()
            },
        )


@dataclass(frozen=True, slots=True)
class SearchResult:
    """Posts found by keywords outside the configured communities, and the next cursor.

    ``capped`` lists queries with more matches than VK lets page to (1 000): search more often
    or narrow them. ``retry_after`` is set when the daily search quota ran out mid-way; the
    queries not run keep their place in the cursor.
    """

    posts: tuple[VkPost, ...]
    cursor: SearchCursor
    requests: int
    capped: tuple[str, ...] = ()
    retry_after: float | None = None


class KeywordSearch:
    """Run ``newsfeed.search`` for the region's keywords; keep what the followed groups miss.

    Each query pages newest first from its own watermark (the first run looks back
    ``lookback`` seconds). Posts of ``exclude_owners`` (the configured communities, which the
    feed and the pollers already read) are dropped; the rest are deduplicated across queries.
    """

    def __init__(
        self,
        api: SearchApi,
        queries: Sequence[str],
        *,
        exclude_owners: Collection[int] = (),
        lookback: int = 86_400,
        overlap: int = 60,
        max_pages: int = 5,
        clock: WallClock = utcnow,
    ) -> None:
        self.api = api
        self.queries = tuple(dict.fromkeys(q.strip() for q in queries if q.strip()))
        self.exclude = frozenset(exclude_owners)
        self.lookback = lookback
        self.overlap = overlap
        self.max_pages = max_pages
        self.clock = clock

    async def poll(self, cursor: SearchCursor) -> SearchResult:
        """Search every query since its watermark.

        Args:
            cursor: the state after the previous search.

        Returns:
            New posts outside the excluded communities, and the cursor to store.

        Raises:
            VkError: a failure other than the daily quota running out.
        """
        now = int(self.clock().timestamp())
        since = dict(cursor.since)
        recent = dict(cursor.recent)
        found: dict[str, VkPost] = {}
        requests = 0
        capped: list[str] = []
        retry_after: float | None = None
        for query in self.queries:
            start = since.get(query, now - self.lookback)
            seen = recent.get(query, {})
            start_from: str | None = None
            hits: list[VkPost] = []
            try:
                for _ in range(self.max_pages):
                    requests += 1
                    page = await self.api.newsfeed_search(
                        query, start_time=max(0, start - self.overlap), start_from=start_from
                    )
                    hits.extend(page.items)
                    if page.total_count is not None and page.total_count > 1000:
                        capped.append(query)
                    start_from = page.next_from
                    if not start_from or not page.items:
                        break
            except VkRateLimited as err:
                retry_after = err.retry_after
                log.warning("newsfeed.search: %s; the other queries wait", err)
                break
            for post in hits:
                if post.external_id not in seen and post.owner_id not in self.exclude:
                    found.setdefault(post.external_id, post)
            newest = max([int(p.date.timestamp()) for p in hits], default=start)
            since[query] = max(start, newest)
            floor = since[query] - self.overlap
            merged = {**seen, **{p.external_id: int(p.date.timestamp()) for p in hits}}
            recent[query] = {k: d for k, d in merged.items() if d >= floor}
        posts = sorted(found.values(), key=lambda p: (p.date, p.owner_id, p.id))
        return SearchResult(
            posts=tuple(posts),
            cursor=SearchCursor(since=since, recent=recent),
            requests=requests,
            capped=tuple(dict.fromkeys(capped)),
            retry_after=retry_after,
        )
