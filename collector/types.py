"""Plain frozen values the VK client returns: posts, comments, groups and pages of them."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from collector.messages import COUNT_MAX

__all__ = [
    "ExecuteCall",
    "ExecuteResult",
    "FeedPage",
    "VkComment",
    "VkCommentsPage",
    "VkGeo",
    "VkGroup",
    "VkPost",
    "VkWallPage",
    "parse_comment",
    "parse_comments_page",
    "parse_feed_page",
    "parse_group",
    "parse_post",
    "parse_wall_page",
    "unix_to_utc",
]

VK_WEB = "https://vk.com"


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def unix_to_utc(value: object) -> dt.datetime:
    """Return an aware UTC datetime for a VK Unix timestamp (int or numeric string).

    A value no datetime can hold (1e20, past year 9999) gives the epoch, as a missing one does:
    raising here would fail the whole poll, on every retry, for one absurd field.
    """
    try:
        return dt.datetime.fromtimestamp(_int(value), tz=dt.UTC)
    except (OverflowError, OSError, ValueError):
        return _EPOCH


def _int(value: object, default: int = 0) -> int:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, str | float):
        try:
            return int(value)
        except (ValueError, OverflowError):  # "abc", NaN, Infinity
            return default
    return default


def _opt_int(value: object) -> int | None:
    return None if value is None else _int(value)


def _count(obj: object) -> int | None:
    """Return ``obj["count"]`` for VK's ``{"count": N, ...}`` counters, None when absent.

    Clamped to 0 .. 2**31-1: a larger count would fail the transaction storing the whole poll.
    """
    if isinstance(obj, Mapping) and "count" in obj:
        return max(0, min(COUNT_MAX, _int(obj["count"])))
    return None


def _float(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


@dataclass(frozen=True, slots=True)
class VkGeo:
    """Where a post was tagged: a point and, when VK names it, the place."""

    latitude: float
    longitude: float
    place: str | None = None


def _parse_geo(raw: object) -> VkGeo | None:
    if not isinstance(raw, Mapping):
        return None
    place = raw.get("place") if isinstance(raw.get("place"), Mapping) else None
    title = str(place["title"]) if place and place.get("title") else None
    coords = raw.get("coordinates")
    if isinstance(coords, str):
        parts = [_float(p) for p in coords.split()]
        if len(parts) == 2 and parts[0] is not None and parts[1] is not None:
            return VkGeo(parts[0], parts[1], title)
    if place and (place.get("latitude") or place.get("longitude")):
        lat, lon = _float(place.get("latitude", 0)), _float(place.get("longitude", 0))
        if lat is not None and lon is not None:  # a place VK gives no usable point for: none
            return VkGeo(lat, lon, title)
    return None


@dataclass(frozen=True, slots=True)
class VkPost:
    """A wall post as read from ``wall.get``, ``wall.getById`` or a news feed."""

    owner_id: int
    id: int
    from_id: int
    date: dt.datetime
    text: str
    edited_at: dt.datetime | None = None
    is_pinned: bool = False
    is_deleted: bool = False
    post_type: str = "post"
    signer_id: int | None = None
    comments_count: int | None = None
    likes_count: int | None = None
    reposts_count: int | None = None
    views_count: int | None = None
    geo: VkGeo | None = None
    attachment_types: tuple[str, ...] = ()
    reposted_text: str = ""

    @property
    def edited(self) -> bool:
        """Return True when VK reports the post was edited."""
        return self.edited_at is not None

    @property
    def external_id(self) -> str:
        """Return ``"{owner_id}_{id}"``, the post's id across VK."""
        return f"{self.owner_id}_{self.id}"

    @property
    def url(self) -> str:
        """Return the post's public address."""
        return f"{VK_WEB}/wall{self.owner_id}_{self.id}"

    @property
    def author_id(self) -> int:
        """Return who wrote it: the signer of a signed community post, else ``from_id``."""
        return self.signer_id or self.from_id


def parse_post(raw: Mapping[str, Any], *, owner_id: int | None = None) -> VkPost:
    """Parse a post object (``wall.get`` item, or a feed item with ``source_id``/``post_id``)."""
    owner = _int(raw.get("owner_id", raw.get("source_id", raw.get("to_id", owner_id or 0))))
    post_id = _int(raw.get("id", raw.get("post_id", 0)))
    copies = raw.get("copy_history")
    reposted = ""
    if isinstance(copies, Sequence) and copies and isinstance(copies[0], Mapping):
        reposted = str(copies[0].get("text") or "")
    attachments = raw.get("attachments")
    types: tuple[str, ...] = ()
    if isinstance(attachments, Sequence):
        types = tuple(str(a.get("type")) for a in attachments if isinstance(a, Mapping))
    edited = raw.get("edited")
    return VkPost(
        owner_id=owner,
        id=post_id,
        from_id=_int(raw.get("from_id", owner)),
        date=unix_to_utc(raw.get("date", 0)),
        text=str(raw.get("text") or ""),
        edited_at=unix_to_utc(edited) if edited else None,
        is_pinned=bool(_int(raw.get("is_pinned", 0))),
        is_deleted=bool(_int(raw.get("is_deleted", 0))),
        post_type=str(raw.get("post_type") or raw.get("type") or "post"),
        signer_id=_opt_int(raw.get("signer_id")),
        comments_count=_count(raw.get("comments")),
        likes_count=_count(raw.get("likes")),
        reposts_count=_count(raw.get("reposts")),
        views_count=_count(raw.get("views")),
        geo=_parse_geo(raw.get("geo")) or _first_copy_geo(copies),
        attachment_types=types,
        reposted_text=reposted,
    )


def _first_copy_geo(copies: object) -> VkGeo | None:
    if isinstance(copies, Sequence) and copies and isinstance(copies[0], Mapping):
        return _parse_geo(copies[0].get("geo"))
    return None


@dataclass(frozen=True, slots=True)
class VkComment:
    """A comment under a post; replies inside a thread carry their parents in ``parents_stack``.

    A deleted comment that still has replies comes back as a stub: ``deleted`` is set and
    ``from_id`` is None and ``text`` empty.
    """

    owner_id: int
    post_id: int
    id: int
    from_id: int | None
    date: dt.datetime
    text: str
    deleted: bool = False
    reply_to_comment: int | None = None
    reply_to_user: int | None = None
    parents_stack: tuple[int, ...] = ()
    thread_count: int = 0
    thread: tuple[VkComment, ...] = ()
    likes_count: int | None = None
    attachment_types: tuple[str, ...] = ()

    @property
    def external_id(self) -> str:
        """Return ``"{owner_id}_{post_id}_{id}"``, the comment's id across VK."""
        return f"{self.owner_id}_{self.post_id}_{self.id}"

    @property
    def post_external_id(self) -> str:
        """Return the external id of the post the comment is under."""
        return f"{self.owner_id}_{self.post_id}"

    @property
    def parent_comment_id(self) -> int | None:
        """Return the comment this one replies to inside a thread (None for top level)."""
        return self.parents_stack[-1] if self.parents_stack else None

    @property
    def url(self) -> str:
        """Return the comment's public address (the thread is named for replies)."""
        base = f"{VK_WEB}/wall{self.owner_id}_{self.post_id}?reply={self.id}"
        if self.parents_stack:
            return f"{base}&thread={self.parents_stack[0]}"
        return base


def parse_comment(raw: Mapping[str, Any], *, owner_id: int, post_id: int) -> VkComment:
    """Parse a comment object; ``owner_id``/``post_id`` fill in what older payloads omit."""
    owner = _int(raw.get("owner_id", owner_id))
    post = _int(raw.get("post_id", post_id))
    thread_value = raw.get("thread")
    thread_raw: Mapping[str, Any] = thread_value if isinstance(thread_value, Mapping) else {}
    replies = thread_raw.get("items") or ()
    thread = tuple(
        parse_comment(item, owner_id=owner, post_id=post)
        for item in replies
        if isinstance(item, Mapping)
    )
    attachments = raw.get("attachments")
    types: tuple[str, ...] = ()
    if isinstance(attachments, Sequence):
        types = tuple(str(a.get("type")) for a in attachments if isinstance(a, Mapping))
    stack = raw.get("parents_stack") or ()
    return VkComment(
        owner_id=owner,
        post_id=post,
        id=_int(raw.get("id")),
        from_id=_opt_int(raw.get("from_id")),
        date=unix_to_utc(raw.get("date", 0)),
        text=str(raw.get("text") or ""),
        deleted=bool(raw.get("deleted", False)),
        reply_to_comment=_opt_int(raw.get("reply_to_comment")),
        reply_to_user=_opt_int(raw.get("reply_to_user")),
        parents_stack=tuple(_int(p) for p in stack) if isinstance(stack, Sequence) else (),
        thread_count=_int(thread_raw.get("count", 0)),
        thread=thread,
        likes_count=_count(raw.get("likes")),
        attachment_types=types,
    )


@dataclass(frozen=True, slots=True)
class VkWallPage:
    """One page of ``wall.get``: the wall's total post count and the posts, newest first."""

    count: int
    items: tuple[VkPost, ...]


def parse_wall_page(raw: Mapping[str, Any], *, owner_id: int | None = None) -> VkWallPage:
    """Parse a ``wall.get`` response payload."""
    items = tuple(
        parse_post(item, owner_id=owner_id)
        for item in raw.get("items") or ()
        if isinstance(item, Mapping)
    )
    return VkWallPage(count=_int(raw.get("count", len(items))), items=items)


@dataclass(frozen=True, slots=True)
class VkCommentsPage:
    """One page of ``wall.getComments``: totals and the comments at this level."""

    count: int
    current_level_count: int
    items: tuple[VkComment, ...]


def parse_comments_page(raw: Mapping[str, Any], *, owner_id: int, post_id: int) -> VkCommentsPage:
    """Parse a ``wall.getComments`` response payload."""
    items = tuple(
        parse_comment(item, owner_id=owner_id, post_id=post_id)
        for item in raw.get("items") or ()
        if isinstance(item, Mapping)
    )
    count = _int(raw.get("count", len(items)))
    return VkCommentsPage(
        count=count,
        current_level_count=_int(raw.get("current_level_count", count)),
        items=items,
    )


@dataclass(frozen=True, slots=True)
class VkGroup:
    """A community as ``groups.getById`` describes it (ids are positive here)."""

    id: int
    name: str
    screen_name: str
    is_closed: int = 0
    type: str = "group"
    deactivated: str | None = None
    fixed_post: int | None = None
    members_count: int | None = None

    @property
    def owner_id(self) -> int:
        """Return the wall owner id of the community (negative)."""
        return -self.id

    @property
    def url(self) -> str:
        """Return the community's public address."""
        return f"{VK_WEB}/{self.screen_name or f'club{self.id}'}"


def parse_group(raw: Mapping[str, Any]) -> VkGroup:
    """Parse a group object."""
    group_id = _int(raw.get("id"))
    deactivated = raw.get("deactivated")
    return VkGroup(
        id=group_id,
        name=str(raw.get("name") or ""),
        screen_name=str(raw.get("screen_name") or f"club{group_id}"),
        is_closed=_int(raw.get("is_closed", 0)),
        type=str(raw.get("type") or "group"),
        deactivated=str(deactivated) if deactivated else None,
        fixed_post=_opt_int(raw.get("fixed_post")),
        members_count=_opt_int(raw.get("members_count")),
    )


@dataclass(frozen=True, slots=True)
class FeedPage:
    """A page of ``newsfeed.get`` / ``newsfeed.search`` / ``newsfeed.getComments``.

    ``comments`` maps a post's external id to the last comments the feed inlined for it
    (``newsfeed.getComments`` only).
    """

    items: tuple[VkPost, ...]
    next_from: str | None
    total_count: int | None = None
    comments: Mapping[str, tuple[VkComment, ...]] = field(default_factory=dict)


def parse_feed_page(raw: Mapping[str, Any]) -> FeedPage:
    """Parse a news feed payload (items carry ``source_id``/``post_id`` or ``owner_id``/``id``)."""
    posts: list[VkPost] = []
    comments: dict[str, tuple[VkComment, ...]] = {}
    for item in raw.get("items") or ():
        if not isinstance(item, Mapping):
            continue
        if item.get("type", "post") not in ("post", "wall_wallpost"):
            continue
        post = parse_post(item)
        posts.append(post)
        block = item.get("comments")
        listed = block.get("list") if isinstance(block, Mapping) else None
        if isinstance(listed, Sequence):
            comments[post.external_id] = tuple(
                parse_comment(c, owner_id=post.owner_id, post_id=post.id)
                for c in listed
                if isinstance(c, Mapping)
            )
    next_from = raw.get("next_from")
    total = raw.get("total_count")
    return FeedPage(
        items=tuple(posts),
        next_from=str(next_from) if next_from else None,
        total_count=_opt_int(total),
        comments=comments,
    )


@dataclass(frozen=True, slots=True)
class ExecuteCall:
    """One API call inside an ``execute`` batch."""

    method: str
    params: Mapping[str, str | int]


@dataclass(frozen=True, slots=True)
class ExecuteResult:
    """The outcome of one call of a batch: its payload, or the error it failed with."""

    call: ExecuteCall
    response: Any = None
    error: Exception | None = None

    @property
    def ok(self) -> bool:
        """Return True when the call succeeded."""
        return self.error is None
