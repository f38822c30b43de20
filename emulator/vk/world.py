"""The synthetic region: communities, posts, comments, their live changes and the ground truth."""

from __future__ import annotations

import hashlib
import math
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Literal

from emulator.vk import texts

GroupState = Literal["open", "closed", "private", "deleted", "banned", "blocked"]
GROUP_STATES: tuple[GroupState, ...] = ("open", "closed", "private", "deleted", "banned", "blocked")

#: Labels of generated posts: a complaint topic from texts.COMPLAINTS or a non-complaint kind.
COMPLAINT_TOPICS = tuple(texts.COMPLAINTS)
OTHER_KINDS = tuple(texts.OTHER_POSTS)

DAY = 86_400


@dataclass
class User:
    """A citizen who writes posts and comments."""

    id: int
    first_name: str
    last_name: str
    sex: int  # 1 female, 2 male (VK's coding)


@dataclass
class Post:
    """A wall post; ``deleted`` posts vanish from every API answer."""

    owner_id: int
    id: int
    from_id: int
    date: int
    text: str
    label: str
    views: int = 0
    likes: int = 0
    reposts: int = 0
    edited: int | None = None
    deleted: bool = False
    comments_closed: bool = False
    marked_as_ads: bool = False
    signer_id: int | None = None
    geo: tuple[float, float, str] | None = None
    history: list[str] = field(default_factory=list)
    top_comment_ids: list[int] = field(default_factory=list)


@dataclass
class Comment:
    """A comment or a reply in a thread (``thread_root`` is the top-level comment's id)."""

    owner_id: int
    id: int
    post_id: int
    from_id: int
    date: int
    text: str
    thread_root: int | None = None
    reply_to_comment: int | None = None
    reply_to_user: int | None = None
    likes: int = 0
    deleted: bool = False
    edited: int | None = None
    reply_ids: list[int] = field(default_factory=list)


@dataclass
class Group:
    """A public community of the region; ``next_id`` is its shared post/comment id counter."""

    id: int
    name: str
    screen_name: str
    town: str
    type: str
    members_count: int
    activity: float  # posts per day on average
    description: str
    lat: float
    lon: float
    state: GroupState = "open"
    fixed_post: int | None = None
    next_id: int = 1
    posts: dict[int, Post] = field(default_factory=dict)
    comments: dict[int, Comment] = field(default_factory=dict)

    @property
    def owner_id(self) -> int:
        """Return the negative owner id VK uses for this community's wall."""
        return -self.id

    def allocate_id(self) -> int:
        """Return the next id of this wall's shared post/comment sequence."""
        value = self.next_id
        self.next_id += 1
        return value


@dataclass(frozen=True, slots=True)
class TruthPost:
    """A post as the collector should have stored it."""

    owner_id: int
    post_id: int
    from_id: int
    date: int
    text: str
    edited: int | None
    is_pinned: bool
    comments_count: int
    label: str


@dataclass(frozen=True, slots=True)
class TruthComment:
    """A visible comment or reply as the collector should have stored it."""

    owner_id: int
    post_id: int
    comment_id: int
    from_id: int
    date: int
    text: str
    thread_root: int | None
    reply_to_comment: int | None


class NotFound(LookupError):
    """Raised by the control API for an unknown group, post or comment."""


class World:
    """Every community, user, post and comment of the emulated region."""

    def __init__(self, clock: Callable[[], float], rng: random.Random) -> None:
        self.clock = clock
        self.rng = rng
        self.groups: dict[int, Group] = {}
        self.users: dict[int, User] = {}
        self.screen_names: dict[str, int] = {}
        self.official_group_id: int = 0

    # ---- lookups -------------------------------------------------------------------------

    def now(self) -> int:
        """Return the clock as whole Unix seconds."""
        return int(self.clock())

    def group(self, group_id: int) -> Group:
        """Return a group by its positive or negative id."""
        found = self.groups.get(abs(group_id))
        if found is None:
            raise NotFound(f"no group {group_id}")
        return found

    def add_group(self, group: Group) -> None:
        """Register a community and its screen name."""
        self.groups[group.id] = group
        self.screen_names[group.screen_name] = group.id

    def post(self, group_id: int, post_id: int) -> Post:
        """Return a post (deleted ones included)."""
        found = self.group(group_id).posts.get(post_id)
        if found is None:
            raise NotFound(f"no post {post_id} on wall {-abs(group_id)}")
        return found

    def comment(self, group_id: int, comment_id: int) -> Comment:
        """Return a comment (deleted ones included)."""
        found = self.group(group_id).comments.get(comment_id)
        if found is None:
            raise NotFound(f"no comment {comment_id} on wall {-abs(group_id)}")
        return found

    def wall(self, group: Group) -> list[Post]:
        """Return visible posts as wall.get orders them: the pinned one first, then newest first."""
        posts = [p for p in group.posts.values() if not p.deleted]
        posts.sort(key=lambda p: (p.date, p.id), reverse=True)
        if group.fixed_post is not None:
            pinned = [p for p in posts if p.id == group.fixed_post]
            posts = pinned + [p for p in posts if p.id != group.fixed_post]
        return posts

    def replies(self, group: Group, top: Comment) -> list[Comment]:
        """Return the visible replies of a top-level comment, oldest first."""
        items = (group.comments[cid] for cid in top.reply_ids)
        return [c for c in items if not c.deleted]

    def top_level(self, group: Group, post: Post) -> list[Comment]:
        """Return top-level comments oldest first, keeping deleted ones that still have replies."""
        out: list[Comment] = []
        for cid in post.top_comment_ids:
            comment = group.comments[cid]
            if not comment.deleted or self.replies(group, comment):
                out.append(comment)
        return out

    def comments_count(self, group: Group, post: Post) -> int:
        """Return the post's ``comments.count``: every visible comment and reply."""
        total = 0
        for cid in post.top_comment_ids:
            top = group.comments[cid]
            total += (0 if top.deleted else 1) + len(self.replies(group, top))
        return total

    # ---- live changes --------------------------------------------------------------------

    def publish_post(
        self,
        group_id: int,
        text: str,
        *,
        from_id: int | None = None,
        date: int | None = None,
        label: str = "manual",
        geo: tuple[float, float, str] | None = None,
        signer_id: int | None = None,
    ) -> Post:
        """Publish a post on a community wall (it gets the wall's next id) and return it."""
        group = self.group(group_id)
        post = Post(
            owner_id=group.owner_id,
            id=group.allocate_id(),
            from_id=group.owner_id if from_id is None else from_id,
            date=self.now() if date is None else date,
            text=text,
            label=label,
            geo=geo,
            signer_id=signer_id,
        )
        group.posts[post.id] = post
        return post

    def publish_comment(
        self,
        group_id: int,
        post_id: int,
        text: str,
        *,
        from_id: int | None = None,
        reply_to_comment: int | None = None,
        date: int | None = None,
    ) -> Comment:
        """Add a comment (or a reply when ``reply_to_comment`` is given) and return it."""
        group = self.group(group_id)
        post = self.post(group_id, post_id)
        author = from_id if from_id is not None else self.random_user_id()
        root: int | None = None
        reply_to_user: int | None = None
        if reply_to_comment is not None:
            parent = self.comment(group_id, reply_to_comment)
            if parent.post_id != post_id:
                raise NotFound(f"comment {reply_to_comment} is not under post {post_id}")
            root = parent.thread_root if parent.thread_root is not None else parent.id
            reply_to_user = parent.from_id
        comment = Comment(
            owner_id=group.owner_id,
            id=group.allocate_id(),
            post_id=post_id,
            from_id=author,
            date=self.now() if date is None else date,
            text=text,
            thread_root=root,
            reply_to_comment=reply_to_comment,
            reply_to_user=reply_to_user,
        )
        group.comments[comment.id] = comment
        if root is None:
            post.top_comment_ids.append(comment.id)
        else:
            group.comments[root].reply_ids.append(comment.id)
        return comment

    def edit_post(self, group_id: int, post_id: int, text: str, *, date: int | None = None) -> Post:
        """Replace a post's text, keep the previous one in ``history`` and set ``edited``."""
        post = self.post(group_id, post_id)
        post.history.append(post.text)
        post.text = text
        post.edited = self.now() if date is None else date
        return post

    def edit_comment(self, group_id: int, comment_id: int, text: str) -> Comment:
        """Replace a comment's text."""
        comment = self.comment(group_id, comment_id)
        comment.text = text
        comment.edited = self.now()
        return comment

    def delete_post(self, group_id: int, post_id: int) -> None:
        """Delete a post: it disappears from the wall and the wall's count drops."""
        group = self.group(group_id)
        self.post(group_id, post_id).deleted = True
        if group.fixed_post == post_id:
            group.fixed_post = None

    def delete_comment(self, group_id: int, comment_id: int) -> None:
        """Delete a comment; a top-level one with replies stays as a ``deleted`` stub."""
        self.comment(group_id, comment_id).deleted = True

    def pin_post(self, group_id: int, post_id: int | None) -> None:
        """Pin a post (or unpin with ``None``)."""
        group = self.group(group_id)
        if post_id is not None and self.post(group_id, post_id).deleted:
            raise NotFound(f"post {post_id} is deleted")
        group.fixed_post = post_id

    def set_group_state(self, group_id: int, state: GroupState) -> None:
        """Open, close, make private, delete, ban or block a community."""
        if state not in GROUP_STATES:
            raise ValueError(f"unknown group state {state!r}")
        self.group(group_id).state = state

    def close_comments(self, group_id: int, post_id: int, closed: bool = True) -> None:
        """Close (or reopen) the comments of a post."""
        self.post(group_id, post_id).comments_closed = closed

    # ---- ground truth --------------------------------------------------------------------

    def _selected(self, group_id: int | None, accessible_only: bool) -> Iterable[Group]:
        if group_id is not None:
            return [self.group(group_id)]
        return [g for g in self.groups.values() if g.state == "open" or not accessible_only]

    def visible_posts(
        self, group_id: int | None = None, *, accessible_only: bool = True
    ) -> list[TruthPost]:
        """Return every post a reader can see now, ordered by (owner_id, post_id)."""
        out: list[TruthPost] = []
        for group in self._selected(group_id, accessible_only):
            for post in group.posts.values():
                if post.deleted:
                    continue
                out.append(
                    TruthPost(
                        owner_id=post.owner_id,
                        post_id=post.id,
                        from_id=post.from_id,
                        date=post.date,
                        text=post.text,
                        edited=post.edited,
                        is_pinned=group.fixed_post == post.id,
                        comments_count=self.comments_count(group, post),
                        label=post.label,
                    )
                )
        out.sort(key=lambda p: (p.owner_id, p.post_id))
        return out

    def visible_comments(
        self,
        group_id: int | None = None,
        post_id: int | None = None,
        *,
        accessible_only: bool = True,
    ) -> list[TruthComment]:
        """Return every visible comment and reply (no deleted stubs), by (owner_id, comment_id)."""
        out: list[TruthComment] = []
        for group in self._selected(group_id, accessible_only):
            for comment in group.comments.values():
                post = group.posts[comment.post_id]
                if comment.deleted or post.deleted:
                    continue
                if post_id is not None and comment.post_id != post_id:
                    continue
                out.append(
                    TruthComment(
                        owner_id=comment.owner_id,
                        post_id=comment.post_id,
                        comment_id=comment.id,
                        from_id=comment.from_id,
                        date=comment.date,
                        text=comment.text,
                        thread_root=comment.thread_root,
                        reply_to_comment=comment.reply_to_comment,
                    )
                )
        out.sort(key=lambda c: (c.owner_id, c.comment_id))
        return out

    # ---- helpers -------------------------------------------------------------------------

    def random_user_id(self) -> int:
        """Return the id of a random existing citizen."""
        return self.rng.choice(list(self.users))

    def user_name(self, user_id: int) -> str:
        """Return a user's first name (for reply templates)."""
        user = self.users.get(user_id)
        return user.first_name if user else "Администрация"

    def post_hash(self, post: Post) -> str:
        """Return a stable share hash for a post."""
        digest = hashlib.sha256(f"{post.owner_id}_{post.id}".encode()).hexdigest()
        return digest[:18]


# ---- generation ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RegionSpec:
    """Parameters of the generated region."""

    seed: int = 1
    groups: int = 30
    history_days: float = 7.0
    max_posts_per_group: int = 120
    users: int = 600


def _fill(template: str, rng: random.Random, town: texts.Town, world: World) -> str:
    street, street2 = rng.sample(texts.STREETS, 2)
    user = world.users[world.random_user_id()]
    values = {
        "street": f"ул. {street}",
        "street_cap": f"Улица {street}",
        "street2": f"ул. {street2}",
        "house": str(rng.randint(1, 120)),
        "town": town.name,
        "loc": town.locative,
        "loc_cap": town.locative[:1].upper() + town.locative[1:],
        "n": str(rng.randint(2, 5)),
        "route": str(rng.randint(1, 54)),
        "minutes": str(rng.choice((25, 40, 50, 60, 90))),
        "hour": str(rng.randint(6, 21)),
        "school": str(rng.randint(1, 60)),
        "phone": f"{rng.randint(100, 999)}-{rng.randint(10, 99)}-{rng.randint(10, 99)}",
        "name": user.first_name,
    }
    return template.format(**values)


def post_text(
    rng: random.Random, town: texts.Town, world: World, label: str | None = None
) -> tuple[str, str]:
    """Return (label, text) of a random post; about half are complaints."""
    if label is None:
        label = rng.choice(COMPLAINT_TOPICS) if rng.random() < 0.5 else rng.choice(OTHER_KINDS)
    pool = texts.COMPLAINTS.get(label) or texts.OTHER_POSTS.get(label) or (texts.RULES_POST,)
    return label, _fill(rng.choice(pool), rng, town, world)


def comment_text(rng: random.Random, town: texts.Town, world: World, label: str) -> str:
    """Return the text of a random top-level comment fitting the post's label."""
    pool = texts.COMPLAINT_COMMENTS if label in texts.COMPLAINTS else texts.OTHER_COMMENTS
    return _fill(rng.choice(pool), rng, town, world)


def reply_text(rng: random.Random, to_name: str) -> str:
    """Return the text of a random reply addressed to ``to_name``."""
    return rng.choice(texts.REPLIES).format(name=to_name)


def town_of(group: Group) -> texts.Town:
    """Return the settlement a community belongs to."""
    for town in texts.TOWNS:
        if town.name == group.town:
            return town
    return texts.TOWNS[0]


def _make_users(world: World, rng: random.Random, count: int) -> None:
    ids = rng.sample(range(1_000_000, 900_000_000), count)
    for uid in ids:
        female = rng.random() < 0.55
        first = rng.choice(texts.FIRST_NAMES_F if female else texts.FIRST_NAMES_M)
        last = rng.choice(texts.LAST_NAMES) + ("а" if female else "")
        world.users[uid] = User(uid, first, last, 1 if female else 2)


def _group_names(count: int, rng: random.Random) -> list[tuple[str, str, float, str, texts.Town]]:
    """Return (name, screen_name, activity factor, type, town), the biggest communities first."""
    combos = [(town, pattern) for town in texts.TOWNS for pattern in texts.GROUP_PATTERNS]
    combos.sort(key=lambda tp: -(tp[0].weight * tp[1][2]))
    head, tail = combos[:6], combos[6:]
    rng.shuffle(tail)
    ordered = head + tail
    out: list[tuple[str, str, float, str, texts.Town]] = []
    round_no = 0
    while len(out) < count:
        for town, (pattern, prefix, factor, kind) in ordered:
            if len(out) >= count:
                break
            name = pattern.format(town=town.name)
            screen = prefix + town.slug
            if round_no:
                name = f"{name} {round_no + 1}"
                screen = f"{screen}{round_no + 1}"
            out.append((name, screen, factor * town.weight, kind, town))
        round_no += 1
    return out


def _special_states(count: int) -> dict[int, GroupState]:
    """Return index → state for the closed, private, deleted, banned and blocked communities."""
    if count < 6:
        return {}
    plan: list[tuple[GroupState, int]] = [
        ("closed", max(1, count // 25)),
        ("deleted", max(1, count // 50)),
        ("banned", max(1, count // 100)),
        ("private", count // 50),
        ("blocked", count // 100),
    ]
    states: dict[int, GroupState] = {}
    index = count - 1
    for state, number in plan:
        for _ in range(number):
            states[index] = state
            index -= 1
    return states


def generate_world(spec: RegionSpec, clock: Callable[[], float]) -> World:
    """Build the region deterministically from ``spec.seed``, dated back from ``clock()``."""
    rng = random.Random(spec.seed)  # noqa: S311 - a simulation, not crypto
    world = World(clock, random.Random(spec.seed + 1))  # noqa: S311
    _make_users(world, rng, spec.users)
    now = int(clock())
    group_ids = rng.sample(range(10_000_000, 220_000_000), spec.groups + 1)
    states = _special_states(spec.groups)
    for index, (name, screen, factor, kind, town) in enumerate(_group_names(spec.groups, rng)):
        activity = min(250.0, max(0.05, 1.2 * factor * math.exp(rng.gauss(0.0, 0.9))))
        group = Group(
            id=group_ids[index],
            name=name,
            screen_name=screen,
            town=town.name,
            type=kind,
            members_count=int(400 * town.weight * factor * rng.uniform(0.5, 2.5)) + 50,
            activity=activity,
            description=f"Сообщество жителей: {town.locative}. Новости, жалобы, объявления.",
            lat=town.lat,
            lon=town.lon,
            state=states.get(index, "open"),
            next_id=rng.randint(200, 60_000),
        )
        world.add_group(group)
        _fill_history(world, group, town, rng, spec, now)
    official = Group(
        id=group_ids[-1],
        name="ЦУР Кировской области",
        screen_name="cur_kirov",
        town="Киров",
        type="page",
        members_count=15_300,
        activity=1.0,
        description="Центр управления регионом: отвечаем на обращения жителей.",
        lat=58.6036,
        lon=49.6680,
        next_id=rng.randint(1_000, 5_000),
    )
    world.add_group(official)
    world.official_group_id = official.id
    _fill_history(world, official, texts.TOWNS[0], rng, spec, now, label="news")
    return world


def _fill_history(
    world: World,
    group: Group,
    town: texts.Town,
    rng: random.Random,
    spec: RegionSpec,
    now: int,
    label: str | None = None,
) -> None:
    """Generate a community's past posts and comments, allocating ids in time order."""
    count = max(3, min(spec.max_posts_per_group, round(group.activity * spec.history_days)))
    span = max(DAY, min(120 * DAY, int(count / group.activity * DAY)))
    times = sorted(rng.randint(now - span, now - 120) for _ in range(count))
    # (time, order, kind, payload): posts, then comments and replies, all by time
    events: list[tuple[int, int, str, int]] = []
    for i, t in enumerate(times):
        events.append((t, 0, "post", i))
    labels: list[str] = []
    texts_: list[str] = []
    for _ in times:
        lab, text = post_text(rng, town, world, label)
        labels.append(lab)
        texts_.append(text)
    # comments: (post index, time, parent comment index or -1)
    comment_plan: list[tuple[int, int, int]] = []
    for i, t in enumerate(times):
        complaint = labels[i] in texts.COMPLAINTS
        if labels[i] == "ad" and rng.random() < 0.5:
            continue
        k = rng.choice((0, 0, 1, 2, 3, 5, 8, 12) if complaint else (0, 0, 0, 1, 2))
        for _ in range(k):
            ct = min(now - 30, t + int(rng.expovariate(1 / 3600)) + 30)
            comment_plan.append((i, ct, -1))
            parent = len(comment_plan) - 1
            if rng.random() < 0.3:
                for _ in range(rng.randint(1, 4)):
                    rt = min(now - 10, ct + int(rng.expovariate(1 / 1800)) + 10)
                    comment_plan.append((i, rt, parent))
    for j, (_, ct, _) in enumerate(comment_plan):
        events.append((ct, 1, "comment", j))
    events.sort()
    post_ids: dict[int, int] = {}
    comment_ids: dict[int, int] = {}
    for t, _, kind, index in events:
        if kind == "post":
            by_user = group.type == "group" and rng.random() < 0.6
            post = world.publish_post(
                group.id,
                texts_[index],
                from_id=world.random_user_id() if by_user else None,
                date=t,
                label=labels[index],
            )
            post.signer_id = world.random_user_id() if not by_user and rng.random() < 0.2 else None
            post.marked_as_ads = labels[index] == "ad" and rng.random() < 0.3
            post.views = int(group.members_count * rng.uniform(0.05, 0.6)) + 1
            post.likes = int(post.views * rng.uniform(0.0, 0.05))
            post.reposts = int(post.likes * rng.uniform(0.0, 0.3))
            if labels[index] in texts.COMPLAINTS and rng.random() < 0.15:
                post.geo = (
                    round(group.lat + rng.uniform(-0.02, 0.02), 6),
                    round(group.lon + rng.uniform(-0.03, 0.03), 6),
                    f"{town.name}, ул. {rng.choice(texts.STREETS)}",
                )
            if labels[index] == "ad" and not post.top_comment_ids and rng.random() < 0.3:
                post.comments_closed = True
            post_ids[index] = post.id
        else:
            post_index, _, parent = comment_plan[index]
            post_id = post_ids[post_index]
            if parent < 0:
                text = comment_text(rng, town, world, labels[post_index])
                comment = world.publish_comment(group.id, post_id, text, date=t)
            else:
                parent_comment = group.comments[comment_ids[parent]]
                text = reply_text(rng, world.user_name(parent_comment.from_id))
                comment = world.publish_comment(
                    group.id, post_id, text, reply_to_comment=parent_comment.id, date=t
                )
            comment.likes = rng.randint(0, 12)
            comment_ids[index] = comment.id
    _mutate_history(world, group, rng, now)


def _mutate_history(world: World, group: Group, rng: random.Random, now: int) -> None:
    """Edit, delete and pin some of a community's generated items."""
    posts = list(group.posts.values())
    for post in posts:
        post.comments_closed = post.comments_closed and not post.top_comment_ids
        roll = rng.random()
        if roll < 0.1:
            edited = min(now - 5, post.date + rng.randint(60, 7200))
            world.edit_post(
                group.id, post.id, post.text + rng.choice(texts.EDIT_SUFFIXES), date=edited
            )
        elif roll < 0.13 and len(posts) > 3:
            world.delete_post(group.id, post.id)
    for comment in list(group.comments.values()):
        if rng.random() < 0.05:
            world.delete_comment(group.id, comment.id)
    if rng.random() < 0.4 and len(posts) >= 3:
        older = [p for p in posts[: max(1, len(posts) // 2)] if not p.deleted]
        if older:
            pinned = rng.choice(older)
            if rng.random() < 0.5:
                pinned.text, pinned.label = texts.RULES_POST, "rules"
            world.pin_post(group.id, pinned.id)
