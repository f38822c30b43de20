"""The OK emulator's ground truth: groups, their posts (media topics) and comments."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

from emulator.vk import texts

__all__ = ["OkComment", "OkGroup", "OkTopic", "OkWorld"]

#: Group states: readable, closed to outsiders, deleted, blocked.
STATES = ("open", "closed", "deleted", "blocked")


@dataclass
class OkTopic:
    """A group post."""

    id: int
    created: float  # Unix seconds
    text: str
    author_ref: str
    likes: int = 0
    deleted: bool = False


@dataclass
class OkComment:
    """A comment under a post."""

    id: int
    topic_id: int
    date: float
    text: str
    author_id: str
    reply_to: int | None = None
    deleted: bool = False


@dataclass
class OkGroup:
    """A group: its posts, newest last, and each post's comments, oldest first."""

    uid: int
    name: str
    shortname: str
    town: str
    state: str = "open"
    topics: dict[int, OkTopic] = field(default_factory=dict)
    comments: dict[int, list[OkComment]] = field(default_factory=dict)


def _fill(template: str, rng: random.Random, town: texts.Town) -> str:
    street, street2 = rng.sample(texts.STREETS, 2)
    return template.format(
        street=f"ул. {street}",
        street_cap=f"Улица {street}",
        street2=f"ул. {street2}",
        house=str(rng.randint(1, 120)),
        town=town.name,
        loc=town.locative,
        loc_cap=town.locative[:1].upper() + town.locative[1:],
        n=str(rng.randint(2, 5)),
        route=str(rng.randint(1, 54)),
        minutes=str(rng.choice((25, 40, 50, 60, 90))),
        hour=str(rng.randint(6, 21)),
        school=str(rng.randint(1, 60)),
        phone=f"{rng.randint(100, 999)}-{rng.randint(10, 99)}-{rng.randint(10, 99)}",
        name=rng.choice(("Ольга", "Сергей", "Марина", "Иван", "Наталья")),
    )


def random_post(rng: random.Random, town: texts.Town) -> str:
    """Return a random post text of the synthetic region (about half are complaints)."""
    pools = texts.COMPLAINTS if rng.random() < 0.5 else texts.OTHER_POSTS
    return _fill(rng.choice(rng.choice(list(pools.values()))), rng, town)


def random_comment(rng: random.Random, town: texts.Town) -> str:
    """Return a random comment text."""
    return _fill(rng.choice(texts.COMPLAINT_COMMENTS), rng, town)


class OkWorld:
    """Groups with posts and comments; ids grow from one counter, like OK's long ids."""

    def __init__(
        self, *, seed: int = 1, groups: int = 6, clock: Callable[[], float], posts: int = 40
    ) -> None:
        self.clock = clock
        self.rng = random.Random(seed)  # noqa: S311 - a simulation, not crypto
        self._next = 153_000_000_000_000 + seed * 1_000_000
        self.groups: dict[int, OkGroup] = {}
        now = clock()
        towns = texts.TOWNS[: max(1, groups)]
        for index in range(groups):
            town = towns[index % len(towns)]
            uid = 55_348_644_610_000 + seed * 1000 + index
            group = OkGroup(uid, f"Жалобы {town.name} ОК", f"ok_{town.slug}_{index}", town.name)
            self.groups[uid] = group
            count = self.rng.randint(posts // 2, posts)
            for n in range(count):
                created = now - (count - n) * self.rng.uniform(1800, 7200)
                topic = self.publish_topic(uid, random_post(self.rng, town), at=created)
                for _ in range(self.rng.choice((0, 0, 1, 2, 4))):
                    self.publish_comment(
                        uid, topic.id, random_comment(self.rng, town), at=created + 600
                    )

    def next_id(self) -> int:
        """Return a fresh object id."""
        self._next += self.rng.randint(1, 50)
        return self._next

    def town(self, group: OkGroup) -> texts.Town:
        """Return the settlement of a group."""
        return next((t for t in texts.TOWNS if t.name == group.town), texts.TOWNS[0])

    def publish_topic(self, uid: int, text: str, *, at: float | None = None) -> OkTopic:
        """Publish a post now (or at ``at``)."""
        topic = OkTopic(self.next_id(), self.clock() if at is None else at, text, f"group:{uid}")
        self.groups[uid].topics[topic.id] = topic
        self.groups[uid].comments[topic.id] = []
        return topic

    def publish_comment(
        self,
        uid: int,
        topic_id: int,
        text: str,
        *,
        at: float | None = None,
        reply_to: int | None = None,
    ) -> OkComment:
        """Publish a comment now (or at ``at``)."""
        comment = OkComment(
            self.next_id(),
            topic_id,
            self.clock() if at is None else at,
            text,
            str(570_000_000_000 + self.rng.randint(1, 999_999)),
            reply_to,
        )
        self.groups[uid].comments[topic_id].append(comment)
        return comment

    def edit_topic(self, uid: int, topic_id: int, text: str) -> None:
        """Change a post's text."""
        self.groups[uid].topics[topic_id].text = text

    def delete_topic(self, uid: int, topic_id: int) -> None:
        """Delete a post."""
        self.groups[uid].topics[topic_id].deleted = True

    def edit_comment(self, uid: int, topic_id: int, comment_id: int, text: str) -> None:
        """Change a comment's text."""
        for c in self.groups[uid].comments[topic_id]:
            if c.id == comment_id:
                c.text = text

    def delete_comment(self, uid: int, topic_id: int, comment_id: int) -> None:
        """Delete a comment."""
        for c in self.groups[uid].comments[topic_id]:
            if c.id == comment_id:
                c.deleted = True

    def live_topics(self, uid: int) -> list[OkTopic]:
        """Return the visible posts, newest first."""
        topics = [t for t in self.groups[uid].topics.values() if not t.deleted]
        return sorted(topics, key=lambda t: (t.created, t.id), reverse=True)

    def live_comments(self, uid: int, topic_id: int) -> list[OkComment]:
        """Return the visible comments of a post, oldest first."""
        return [c for c in self.groups[uid].comments.get(topic_id, []) if not c.deleted]

    def truth(self, uid: int) -> dict[str, str]:
        """Return ``external id -> text`` of everything visible in a group (as stored)."""
        out: dict[str, str] = {}
        for topic in self.live_topics(uid):
            out[f"{uid}_{topic.id}"] = topic.text
            for c in self.live_comments(uid, topic.id):
                out[f"{uid}_{topic.id}_{c.id}"] = c.text
        return out

    def step(self) -> None:
        """Publish a little: a post in a random open group, comments under recent posts."""
        open_groups = [g for g in self.groups.values() if g.state == "open"]
        if not open_groups:
            return
        group = self.rng.choice(open_groups)
        town = self.town(group)
        if self.rng.random() < 0.6:
            self.publish_topic(group.uid, random_post(self.rng, town))
        recent = self.live_topics(group.uid)[:5]
        if recent:
            self.publish_comment(
                group.uid, self.rng.choice(recent).id, random_comment(self.rng, town)
            )
