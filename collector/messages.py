"""Network-neutral collected messages: what the OK, Telegram and file pollers yield.

VK keeps its own richer types (``collector.types``); every other source hands storage these
plain values, keyed by ``(network, external_id)`` so that storing one twice changes nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["COUNT_MAX", "NETWORKS", "CollectedMessage", "Harvest", "MessageKind"]

MessageKind = Literal["post", "comment"]
#: The largest counter (views, likes ...) stored: PostgreSQL's ``integer``.
COUNT_MAX = 2**31 - 1
#: The networks a collected message may belong to (storage's ``Network`` values).
NETWORKS: frozenset[str] = frozenset({"vk", "ok", "telegram", "file"})


@dataclass(frozen=True, slots=True)
class CollectedMessage:
    """A post (channel message) or comment as read from a network or a replay file.

    ``parent`` is the external id of the post a comment is under (None for posts). ``edited``
    says the network marks the message edited (Telegram shows only a mark, no time);
    ``edited_at`` is the edit time when the network gives one. ``deleted`` marks a message seen
    deleted. Times are aware UTC.
    """

    network: str
    external_id: str
    kind: MessageKind
    text: str
    posted_at: dt.datetime
    parent: str | None = None
    author_id: str | None = None
    url: str | None = None
    edited: bool = False
    edited_at: dt.datetime | None = None
    deleted: bool = False
    views: int | None = None
    likes: int | None = None
    comments: int | None = None
    reposts: int | None = None

    def __post_init__(self) -> None:
        if self.posted_at.tzinfo is None:
            raise ValueError(f"{self.external_id}: posted_at must be timezone-aware")
        if self.network not in NETWORKS:
            raise ValueError(f"{self.external_id}: unknown network {self.network!r}")
        for name in ("views", "likes", "comments", "reposts"):
            value = getattr(self, name)
            if value is not None and not 0 <= value <= COUNT_MAX:
                # A count past the database's integer would fail the transaction storing the
                # whole poll, on every retry; a negative one is nonsense.
                object.__setattr__(self, name, max(0, min(COUNT_MAX, value)))


@dataclass(frozen=True, slots=True)
class Harvest:
    """Everything one poll of one source found, to be stored with ``cursor`` in one transaction.

    ``messages`` are new and changed posts and comments (posts first). ``comment_sets`` maps a
    post whose comments were read in full to the external ids of every comment now visible
    under it, so storage marks the others deleted; ``deleted`` lists posts seen gone (both in
    ``network``, the source's network).
    ``cursor`` is the source's new JSON cursor; ``last_seen`` its newest post id.
    """

    network: str
    messages: tuple[CollectedMessage, ...]
    cursor: Mapping[str, Any]
    comment_sets: Mapping[str, frozenset[str]] = field(default_factory=dict)
    deleted: tuple[str, ...] = ()
    new_posts: int = 0
    requests: int = 0
    lag_seconds: int | None = None
    last_seen: str | None = None
    notes: tuple[str, ...] = ()
