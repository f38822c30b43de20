"""New posts and comments over simulated time, busy and quiet communities alike."""

from __future__ import annotations

import heapq
import math
import random
from dataclasses import dataclass
from typing import Literal

from emulator.vk.world import Group, World, comment_text, post_text, reply_text, town_of

#: Share of the day's posts by local hour (UTC+3): quiet at night, busy in the evening.
_HOURLY = (
    0.25, 0.15, 0.1, 0.08, 0.08, 0.15, 0.45, 0.9, 1.2, 1.3, 1.3, 1.3,
    1.3, 1.3, 1.3, 1.3, 1.35, 1.45, 1.6, 1.7, 1.6, 1.3, 0.9, 0.5,
)  # fmt: skip
_PEAK = max(_HOURLY)


@dataclass(frozen=True, slots=True)
class Published:
    """One item the activity model published: when, where, and its ids."""

    kind: Literal["post", "comment"]
    owner_id: int
    item_id: int
    post_id: int
    date: int


class ActivityModel:
    """Publish posts (Poisson, per-community rate, daily rhythm) and comments on recent posts.

    ``rate_multiplier`` speeds everything up (the standalone demo uses it so something happens
    every few seconds); ``comments_per_post`` is the mean number of comments a post attracts.
    """

    def __init__(
        self,
        world: World,
        *,
        seed: int = 0,
        start: float | None = None,
        rate_multiplier: float = 1.0,
        comments_per_post: float = 2.0,
        utc_offset_hours: float = 3.0,
    ) -> None:
        self.world = world
        self.rng = random.Random(seed)  # noqa: S311 - a simulation, not crypto
        self.time = float(world.clock() if start is None else start)
        self.rate_multiplier = rate_multiplier
        self.comments_per_post = comments_per_post
        self.utc_offset_hours = utc_offset_hours

    def _factor(self, when: float) -> float:
        hour = int(((when + self.utc_offset_hours * 3600) % 86_400) // 3600)
        return _HOURLY[hour] / _PEAK

    def _next_events(self, group: Group, until: float) -> list[tuple[float, str]]:
        """Return (time, "post"|"comment") events of one community in (self.time, until]."""
        events: list[tuple[float, str]] = []
        post_rate = group.activity * self.rate_multiplier * _PEAK / 86_400
        comment_rate = post_rate * self.comments_per_post
        for kind, rate in (("post", post_rate), ("comment", comment_rate)):
            if rate <= 0:
                continue
            t = self.time
            while True:
                t += self.rng.expovariate(rate)
                if t > until:
                    break
                if self.rng.random() < self._factor(t):  # thinning: the daily rhythm
                    events.append((t, kind))
        return events

    def advance(self, until: float) -> list[Published]:
        """Publish everything that happens up to ``until`` and return it in time order."""
        if until <= self.time:
            return []
        heap: list[tuple[float, int, str]] = []
        for group in self.world.groups.values():
            if group.state not in ("open", "closed") or group.id == self.world.official_group_id:
                continue
            for t, kind in self._next_events(group, until):
                heapq.heappush(heap, (t, group.id, kind))
        published: list[Published] = []
        while heap:
            t, gid, kind = heapq.heappop(heap)
            item = self._publish(self.world.groups[gid], kind, int(t))
            if item is not None:
                published.append(item)
        self.time = until
        return published

    def _publish(self, group: Group, kind: str, when: int) -> Published | None:
        town = town_of(group)
        if kind == "post":
            label, text = post_text(self.rng, town, self.world)
            by_user = group.type == "group" and self.rng.random() < 0.6
            post = self.world.publish_post(
                group.id,
                text,
                from_id=self.world.random_user_id() if by_user else None,
                date=when,
                label=label,
            )
            post.views = int(group.members_count * self.rng.uniform(0.01, 0.2)) + 1
            return Published("post", post.owner_id, post.id, post.id, when)
        recent = [
            p
            for p in sorted(group.posts.values(), key=lambda p: p.id)[-20:]
            if not p.deleted and not p.comments_closed
        ]
        if not recent:
            return None
        # newer posts attract more comments
        weights = [math.exp(i / 4) for i in range(len(recent))]
        post = self.rng.choices(recent, weights=weights)[0]
        tops = [group.comments[c] for c in post.top_comment_ids if not group.comments[c].deleted]
        if tops and self.rng.random() < 0.3:
            parent = self.rng.choice(tops)
            text = reply_text(self.rng, self.world.user_name(parent.from_id))
            comment = self.world.publish_comment(
                group.id, post.id, text, reply_to_comment=parent.id, date=when
            )
        else:
            text = comment_text(self.rng, town, self.world, post.label)
            comment = self.world.publish_comment(group.id, post.id, text, date=when)
        return Published("comment", comment.owner_id, comment.id, post.id, when)
