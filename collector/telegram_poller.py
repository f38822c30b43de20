"""Incremental polling of one public Telegram channel through its preview pages."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from collector.messages import CollectedMessage, Harvest
from collector.quotas import WallClock, utcnow
from collector.telegram_client import TelegramConnectionError
from collector.telegram_page import TgPage, TgPost

__all__ = ["ChannelCursor", "ChannelPages", "TelegramChannelPoller"]


@runtime_checkable
class ChannelPages(Protocol):
    """What the poller needs (:class:`collector.telegram_client.TelegramClient` fits)."""

    async def fetch(
        self, channel: str, *, before: int | None = None, after: int | None = None
    ) -> TgPage:
        """Fetch the newest page of a channel, or the one older than ``before``."""
        ...


def _digest(post: TgPost) -> str:
    return hashlib.sha256(f"{post.edited}\x00{post.text}".encode()).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class ChannelCursor:
    """The newest message id stored and a digest of each recent message (edits, deletions)."""

    last_id: int | None = None
    watched: Mapping[int, str] = field(default_factory=dict)
    polled_at: dt.datetime | None = None
    #: Ranges not read yet, ``(before, floor)``: messages with ``floor < id < before`` arrived
    #: while more pages than one poll may read were needed; later polls page through them.
    gaps: tuple[tuple[int, int], ...] = ()

    def to_json(self) -> dict[str, Any]:
        """Return the JSON form for the source's ``cursor`` column."""
        return {
            "v": 1,
            "last_id": self.last_id,
            "watched": {str(k): v for k, v in sorted(self.watched.items())},
            "polled_at": self.polled_at.isoformat() if self.polled_at else None,
            "gaps": [list(g) for g in self.gaps],
        }

    def in_gap(self, message_id: int) -> bool:
        """Tell whether an id lies in a range not read yet."""
        return any(floor < message_id < before for before, floor in self.gaps)

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> ChannelCursor:
        """Read :meth:`to_json`'s form (empty: a fresh cursor)."""
        if not data:
            return cls()
        last = data.get("last_id")
        polled = data.get("polled_at")
        return cls(
            last_id=int(last) if last is not None else None,
            watched={int(k): str(v) for k, v in (data.get("watched") or {}).items()},
            polled_at=dt.datetime.fromisoformat(polled) if polled else None,
            gaps=tuple((int(g[0]), int(g[1])) for g in data.get("gaps") or ()),
        )


def _message(post: TgPost) -> CollectedMessage:
    return CollectedMessage(
        network="telegram",
        external_id=post.external_id,
        kind="post",
        text=post.text,
        posted_at=post.date,
        author_id=post.channel,  # a signature is a display name, not an id
        url=post.url,
        edited=post.edited,
        views=post.views,
    )


class TelegramChannelPoller:
    """Poll one channel: the newest page each time, older pages only to close a gap.

    The newest page (about 20 messages) shows what is new since the stored ``last_id``; when
    more than a page arrived since, ``?before=`` pages back until ``last_id`` is reached, so
    the channel is never read whole again. A poll reads at most ``max_pages`` pages (2: the
    client paces each channel, so a second page waits a minute inside the collect job; more
    would hold the job, and every other source, for minutes); a range still unread is kept in
    the cursor as a gap, and the next polls page through it after the newest page. The
    messages of the newest pages are compared with their digests (text and edited mark) to
    notice edits; a watched message missing from the
    id range the pages showed was deleted (one newer than every message shown is noticed
    once a newer message is shown). Comments cannot be read from the preview.
    """

    def __init__(
        self,
        api: ChannelPages,
        channel: str,
        *,
        initial_pages: int = 1,
        max_pages: int = 2,
        watch_posts: int = 100,
        clock: WallClock = utcnow,
    ) -> None:
        self.api = api
        self.channel = channel
        self.initial_pages = initial_pages
        self.max_pages = max_pages
        self.watch_posts = watch_posts
        self.clock = clock
        self.requests = 0

    async def _read(
        self, cursor: ChannelCursor, unreadable: set[int]
    ) -> tuple[dict[int, TgPost], int | None, str, int]:
        """Return the messages read, the lowest id the read covers, the channel's name, and
        the pages read; the ids of messages shown but left out (their time cannot be read) go
        to ``unreadable``.

        Raises:
            TelegramConnectionError: the newest page is empty although messages were stored
                (a page that lost its body): nothing may be concluded from it.
        """
        seen: dict[int, TgPost] = {}
        before: int | None = None
        low: int | None = None
        name = self.channel
        pages = 0
        while True:
            self.requests += 1
            page = await self.api.fetch(self.channel, before=before)
            pages += 1
            name = page.channel or name
            if pages == 1 and not page.posts and cursor.watched:
                raise TelegramConnectionError(f"{self.channel}: the newest page lists nothing")
            for post in page.posts:
                seen.setdefault(post.id, post)
            unreadable.update(page.unreadable)
            ids = [p.id for p in page.posts]
            if page.before is None or not ids:
                return seen, 0, name, pages  # the start of the channel: everything is covered
            low = min(ids) if low is None else min(low, *ids)
            if cursor.last_id is None:
                if pages >= self.initial_pages:
                    return seen, low, name, pages
            elif low <= cursor.last_id + 1:
                return seen, low, name, pages
            if pages >= self.max_pages:
                return seen, low, name, pages
            before = page.before

    async def _fill_gaps(
        self, gaps: list[tuple[int, int]], seen: dict[int, TgPost], budget: int
    ) -> list[tuple[int, int]]:
        """Page through unread ranges (newest first) with what is left of the page budget."""
        left: list[tuple[int, int]] = []
        for before, floor in sorted(gaps, reverse=True):
            while budget > 0:
                self.requests += 1
                budget -= 1
                page = await self.api.fetch(self.channel, before=before)
                ids = [p.id for p in page.posts if p.id < before]
                for post in page.posts:
                    if floor < post.id < before:
                        seen.setdefault(post.id, post)
                if page.before is None or not ids or min(ids) <= floor + 1:
                    break  # closed
                before = min(ids)
            else:
                left.append((before, floor))
        return left

    async def poll(self, cursor: ChannelCursor | Mapping[str, Any] | None) -> Harvest:
        """Read what changed in the channel since ``cursor``.

        Raises:
            VkError: (the Telegram classes) the preview could not be read; store nothing.
        """
        if not isinstance(cursor, ChannelCursor):
            cursor = ChannelCursor.from_json(cursor)
        self.requests = 0
        now = self.clock()
        # Shown but unreadable (a time that cannot be read) is not absent: never deleted.
        unreadable: set[int] = set()
        seen, low, name, pages = await self._read(cursor, unreadable)
        gaps = list(cursor.gaps)
        if cursor.last_id is not None and low is not None and low > cursor.last_id + 1:
            gaps.append((low, cursor.last_id))  # more arrived than this poll may read
        # The deletion range is the newest pages' only; gap pages show older, unwatched ids.
        high = max(seen, default=0)
        gaps = await self._fill_gaps(gaps, seen, self.max_pages - pages)
        out: list[CollectedMessage] = []
        new: list[TgPost] = []
        for post in sorted(seen.values(), key=lambda p: p.id):
            known = cursor.watched.get(post.id)
            if known is None:
                fresh = cursor.last_id is None or post.id > cursor.last_id
                if not fresh and not cursor.in_gap(post.id):
                    continue  # older than the watched window
                new.append(post)
                out.append(_message(post))
            elif known != _digest(post):
                out.append(_message(post))
        # Deleted: watched ids inside the range the pages showed. Ids above the newest one
        # shown are kept watched: a page cut short loses its newest messages, not its oldest.
        deleted = [
            f"{name}_{pid}"
            for pid in cursor.watched
            if pid not in seen and pid not in unreadable and low is not None and low <= pid <= high
        ]
        watched = {
            pid: digest
            for pid, digest in cursor.watched.items()
            if pid not in seen and (low is None or pid < low or pid > high or pid in unreadable)
        }
        for post in seen.values():
            recent = post.id in cursor.watched or cursor.last_id is None or post.id > cursor.last_id
            if recent and (low is None or post.id >= low):  # gap pages are not watched
                watched[post.id] = _digest(post)
        keep = sorted(watched, reverse=True)[: self.watch_posts]
        last = max([cursor.last_id or 0, *seen]) or None
        lag = None
        if new:
            lag = int(max(0.0, (now - max(p.date for p in new)).total_seconds()))
        return Harvest(
            network="telegram",
            messages=tuple(out),
            cursor=ChannelCursor(
                last_id=last,
                watched={k: watched[k] for k in keep},
                polled_at=now,
                gaps=tuple(gaps),
            ).to_json(),
            deleted=tuple(deleted),
            new_posts=len(new),
            requests=self.requests,
            lag_seconds=lag,
            last_seen=str(last) if last else None,
        )
