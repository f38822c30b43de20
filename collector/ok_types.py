"""Plain frozen values the OK client returns: groups, topics (posts), comments and pages."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

__all__ = [
    "OK_WEB",
    "OkComment",
    "OkCommentsPage",
    "OkGroup",
    "OkTopic",
    "OkTopicsPage",
    "OkUrlInfo",
    "ok_local_time",
    "parse_comments_page",
    "parse_groups",
    "parse_topics_page",
]

OK_WEB = "https://ok.ru"
MOSCOW = ZoneInfo("Europe/Moscow")

log = logging.getLogger(__name__)
T = TypeVar("T")


def ok_local_time(value: object, zone: dt.tzinfo = MOSCOW) -> dt.datetime:
    """Return aware UTC for OK's zone-less ``"YYYY-MM-DD HH:MM:SS"``, read in ``zone``.

    Raises:
        ValueError: the value is not such a date.
    """
    if not isinstance(value, str):
        raise ValueError(f"not an OK date: {value!r}")
    local = dt.datetime.strptime(value.strip(), "%Y-%m-%d %H:%M:%S")
    return local.replace(tzinfo=zone).astimezone(dt.UTC)


def _int(value: object) -> int | None:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, str | float):
        try:
            return int(value)
        except (ValueError, OverflowError):  # "abc", NaN, Infinity
            return None
    return None


def _readable(read: Callable[[], T]) -> T | None:
    """Return ``read()``, or None when the item cannot be read (its date missing, not a date,
    out of datetime's range): that item is left out, not its whole page, since a page that
    fails fails every poll of the group while the item is on it."""
    try:
        return read()
    except (ValueError, OverflowError, OSError):
        log.warning("OK item left out: its date cannot be read")
        return None


def _count(block: object, key: str = "count") -> int | None:
    return _int(block.get(key)) if isinstance(block, Mapping) else None


@dataclass(frozen=True, slots=True)
class OkUrlInfo:
    """What ``url.getInfo`` says a link points to."""

    object_id: str
    type: str


@dataclass(frozen=True, slots=True)
class OkGroup:
    """A group as ``group.getInfo`` describes it."""

    uid: str
    name: str
    shortname: str | None = None
    description: str = ""
    members_count: int | None = None
    access_type: str = "OPEN"

    @property
    def url(self) -> str:
        """Return the group's public address."""
        return f"{OK_WEB}/group/{self.shortname or self.uid}"


def parse_groups(raw: object) -> tuple[OkGroup, ...]:
    """Parse ``group.getInfo``: a bare array, or an object with a ``groups`` array."""
    items: object = raw.get("groups") if isinstance(raw, Mapping) else raw
    if not isinstance(items, Sequence) or isinstance(items, str):
        raise ValueError("group.getInfo: neither an array nor {groups: [...]}")
    out = []
    for item in items:
        if not isinstance(item, Mapping) or item.get("uid") is None:
            continue
        out.append(
            OkGroup(
                uid=str(item["uid"]),
                name=str(item.get("name") or ""),
                shortname=str(item["shortname"]) if item.get("shortname") else None,
                description=str(item.get("description") or ""),
                members_count=_int(item.get("members_count")),
                access_type=str(item.get("access_type") or "OPEN"),
            )
        )
    return tuple(out)


@dataclass(frozen=True, slots=True)
class OkTopic:
    """A group post (media topic): its text blocks joined, counters, creation time (UTC)."""

    group_id: str
    id: str
    created: dt.datetime
    text: str
    author_ref: str | None = None
    comments_count: int | None = None
    likes_count: int | None = None
    reshares_count: int | None = None

    @property
    def external_id(self) -> str:
        """Return ``"{group_id}_{topic_id}"``, the post's id across OK."""
        return f"{self.group_id}_{self.id}"

    @property
    def url(self) -> str:
        """Return the post's public address."""
        return f"{OK_WEB}/group/{self.group_id}/topic/{self.id}"


def _topic_text(media: object) -> str:
    if not isinstance(media, Sequence) or isinstance(media, str):
        return ""
    parts = []
    for block in media:
        if isinstance(block, Mapping) and block.get("type") == "text":
            text = block.get("text")
            if not text and isinstance(block.get("text_tokens"), Sequence):
                text = "".join(
                    str(t.get("text") or "") for t in block["text_tokens"] if isinstance(t, Mapping)
                )
            if text:
                parts.append(str(text))
    return "\n\n".join(parts)


def _created(raw: Mapping[str, Any], zone: dt.tzinfo) -> dt.datetime:
    """Return a topic's creation time: ``created_ms``, else a ``created`` date or epoch ms."""
    created_ms = _int(raw.get("created_ms"))
    if created_ms is None:
        created = raw.get("created")
        if isinstance(created, str) and not created.isdigit():
            return ok_local_time(created, zone)
        created_ms = _int(created)
    if created_ms is None:
        raise ValueError(f"topic {raw.get('id')!r} has no created_ms")
    return dt.datetime.fromtimestamp(created_ms / 1000, tz=dt.UTC)


def _topic(raw: Mapping[str, Any], group_id: str, zone: dt.tzinfo = MOSCOW) -> OkTopic:
    return OkTopic(
        group_id=group_id,
        id=str(raw["id"]),
        created=_created(raw, zone),
        text=_topic_text(raw.get("media")),
        author_ref=str(raw["author_ref"]) if raw.get("author_ref") else None,
        comments_count=_count(raw.get("discussion_summary"), "comments_count"),
        likes_count=_count(raw.get("like_summary")),
        reshares_count=_count(raw.get("reshare_summary")),
    )


@dataclass(frozen=True, slots=True)
class OkTopicsPage:
    """A page of ``mediatopic.getTopics``: topics newest first, and where the next page starts."""

    topics: tuple[OkTopic, ...]
    anchor: str | None
    has_more: bool
    #: Ids of the topics left out because their date cannot be read: listed, so not deleted.
    unreadable: tuple[str, ...] = ()


def parse_topics_page(raw: object, *, group_id: str, zone: dt.tzinfo = MOSCOW) -> OkTopicsPage:
    """Parse ``{"media_topics": [...], "anchor": "...", "has_more": bool}``."""
    if not isinstance(raw, Mapping):
        raise ValueError("mediatopic.getTopics: not an object")
    items = raw.get("media_topics") or ()
    topics: list[OkTopic] = []
    unreadable: list[str] = []
    for item in items:
        if not isinstance(item, Mapping) or "id" not in item:
            continue
        topic = _readable(partial(_topic, item, group_id, zone))
        if topic is None:
            unreadable.append(str(item["id"]))
        else:
            topics.append(topic)
    anchor = raw.get("anchor")
    return OkTopicsPage(
        tuple(topics),
        str(anchor) if anchor else None,
        bool(raw.get("has_more")),
        unreadable=tuple(unreadable),
    )


@dataclass(frozen=True, slots=True)
class OkComment:
    """A comment under a group post."""

    group_id: str
    topic_id: str
    id: str
    date: dt.datetime
    text: str
    author_id: str | None = None
    reply_to_comment_id: str | None = None
    like_count: int | None = None

    @property
    def external_id(self) -> str:
        """Return ``"{group_id}_{topic_id}_{comment_id}"``."""
        return f"{self.group_id}_{self.topic_id}_{self.id}"

    @property
    def post_external_id(self) -> str:
        """Return the external id of the post it is under."""
        return f"{self.group_id}_{self.topic_id}"

    @property
    def url(self) -> str:
        """Return the post's address (OK has no per-comment link)."""
        return f"{OK_WEB}/group/{self.group_id}/topic/{self.topic_id}"


@dataclass(frozen=True, slots=True)
class OkCommentsPage:
    """A page of ``discussions.getComments`` and where the next one starts."""

    comments: tuple[OkComment, ...]
    anchor: str | None
    has_more: bool
    #: Ids of the comments left out because their date cannot be read: listed, so not deleted.
    unreadable: tuple[str, ...] = ()


def _comment_date(item: Mapping[str, Any], date_ms: int | None, zone: dt.tzinfo) -> dt.datetime:
    if date_ms is not None and item.get("date") is None:
        return dt.datetime.fromtimestamp(date_ms / 1000, tz=dt.UTC)
    return ok_local_time(item.get("date"), zone)


def parse_comments_page(
    raw: object, *, group_id: str, topic_id: str, zone: dt.tzinfo = MOSCOW
) -> OkCommentsPage:
    """Parse ``{"comments": [...], "anchor": "...", "has_more": bool}``; dates read in ``zone``."""
    if not isinstance(raw, Mapping):
        raise ValueError("discussions.getComments: not an object")
    out = []
    unreadable: list[str] = []
    for item in raw.get("comments") or ():
        if not isinstance(item, Mapping) or item.get("id") is None:
            continue
        reply = item.get("reply_to_comment_id")
        date_ms = _int(item.get("date_ms"))
        when = _readable(partial(_comment_date, item, date_ms, zone))
        if when is None:
            unreadable.append(str(item["id"]))
            continue
        out.append(
            OkComment(
                group_id=group_id,
                topic_id=topic_id,
                id=str(item["id"]),
                date=when,
                text=str(item.get("text") or ""),
                author_id=str(item["author_id"]) if item.get("author_id") else None,
                reply_to_comment_id=str(reply) if reply else None,
                like_count=_int(item.get("like_count")),
            )
        )
    anchor = raw.get("anchor")
    return OkCommentsPage(
        tuple(out),
        str(anchor) if anchor else None,
        bool(raw.get("has_more")),
        unreadable=tuple(unreadable),
    )
