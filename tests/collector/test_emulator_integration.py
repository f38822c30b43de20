"""The collector against the VK emulator over loopback HTTP: ground truth matched exactly."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest
from pytest_aiohttp.plugin import AiohttpServer

from collector.errors import (
    VkAccessDenied,
    VkAuthError,
    VkCaptchaNeeded,
    VkConnectionError,
    VkError,
    VkFloodControl,
    VkRateLimited,
    VkServerError,
)
from collector.quotas import QuotaTracker
from collector.rate_limit import SlidingWindowLimiter
from collector.reply import ReplyPublisher
from collector.vk_client import Backoff, VkClient
from collector.vk_poller import PollResult, VkGroupPoller, WallCursor
from emulator.vk import FakeClock, VkEmulator

SERVICE = "vk-demo-service-1"
COMMUNITY = "vk-demo-community"
USER = "vk-demo-user"


class Clocks:
    """Drive the collector's limiter, quotas and sleeps with the emulator's own clock."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.slept = 0.0

    def now(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self.clock(), tz=dt.UTC)

    async def sleep(self, seconds: float) -> None:
        self.slept += max(0.0, seconds)
        self.clock.advance(max(0.0, seconds))


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def clocks(clock: FakeClock) -> Clocks:
    return Clocks(clock)


@pytest.fixture
def emu(clock: FakeClock) -> VkEmulator:
    return VkEmulator(seed=7, groups=12, clock=clock)


@pytest.fixture
async def emu_url(aiohttp_server: AiohttpServer, emu: VkEmulator) -> str:
    server = await aiohttp_server(emu.create_app())
    return str(server.make_url("/method"))


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


MakeClient = Callable[..., VkClient]


@pytest.fixture
def make_client(http: aiohttp.ClientSession, emu_url: str, clocks: Clocks) -> MakeClient:
    def make(token: str = SERVICE, kind: str = "service", **kw: Any) -> VkClient:
        options: dict[str, Any] = {
            "limiter": SlidingWindowLimiter.for_kind(kind, clock=clocks.clock, sleep=clocks.sleep),
            "quotas": QuotaTracker(clock=clocks.now),
            "backoff": Backoff(jitter=lambda: 0.5),
            "sleep": clocks.sleep,
            "name": token,
            "kind": kind,
        }
        options.update(kw)
        return VkClient(session=http, token=token, api_url=emu_url, **options)

    return make


def open_groups(emu: VkEmulator) -> list[int]:
    return [
        g.id
        for g in emu.world.groups.values()
        if g.state == "open" and g.id != emu.world.official_group_id
    ]


def busiest(emu: VkEmulator) -> int:
    return max(open_groups(emu), key=lambda g: len(emu.world.groups[g].posts))


class Store:
    """What storage would hold: latest text per id, deleted ids, earlier texts."""

    def __init__(self) -> None:
        self.posts: dict[int, str] = {}
        self.comments: dict[int, str] = {}
        self.comment_post: dict[int, int] = {}
        self.deleted: set[int] = set()
        self.versions: dict[int, list[str]] = {}

    def apply(self, result: PollResult) -> None:
        for post in result.posts:
            if post.id in self.posts and self.posts[post.id] != post.text:
                self.versions.setdefault(post.id, []).append(self.posts[post.id])
            self.posts[post.id] = post.text
        for comment in result.comments:
            self.comment_post[comment.id] = comment.post_id
            if comment.deleted:
                self.deleted.add(comment.id)
            else:
                self.comments[comment.id] = comment.text
        for ref in result.deleted_posts:
            self.deleted.add(int(ref.rsplit("_", 1)[1]))
        for post_ref, present in result.comment_sets.items():
            pid = int(post_ref.rsplit("_", 1)[1])
            known = {int(r.rsplit("_", 1)[1]) for r in present}
            for cid, owner_post in self.comment_post.items():
                if owner_post == pid and cid not in known:
                    self.deleted.add(cid)

    def visible_posts(self) -> dict[int, str]:
        return {k: v for k, v in self.posts.items() if k not in self.deleted}

    def visible_comments(self) -> dict[int, str]:
        return {k: v for k, v in self.comments.items() if k not in self.deleted}


def truth(emu: VkEmulator, group: int) -> tuple[dict[int, str], dict[int, str]]:
    posts = {p.post_id: p.text for p in emu.visible_posts(group)}
    comments = {c.comment_id: c.text for c in emu.visible_comments(group)}
    return posts, comments


@pytest.fixture
def store() -> Store:
    return Store()


async def test_initial_sync_matches_ground_truth_with_zero_error_6(
    emu: VkEmulator, make_client: MakeClient, store: Store, clocks: Clocks
) -> None:
    client = make_client()
    for group in open_groups(emu):
        poller = VkGroupPoller(client, -group, initial_posts=10_000, clock=clocks.now)
        result = await poller.poll(WallCursor())
        store.apply(result)
        posts, comments = truth(emu, group)
        assert {k: v for k, v in store.visible_posts().items() if k in posts} == posts
        assert set(posts) <= set(store.posts)
        got_comments = {c.id: c.text for c in result.comments if not c.deleted}
        assert got_comments == comments
        assert len(result.comments) == len({c.id for c in result.comments})
    stats = emu.token_stats(SERVICE)
    assert stats.errors[6] == 0
    assert stats.requests > 20
    span = stats.log[-1].at - stats.log[0].at
    assert (stats.requests - 1) / span >= 0.9 * 3  # close to the 3/s limit, never above


async def test_incremental_polls_with_activity_pinned_edits_deletions(
    emu: VkEmulator, make_client: MakeClient, store: Store, clocks: Clocks, clock: FakeClock
) -> None:
    group = busiest(emu)
    client = make_client()
    poller = VkGroupPoller(client, -group, initial_posts=10_000, page_size=20, clock=clocks.now)
    first = await poller.poll(WallCursor())
    store.apply(first)
    cursor = first.cursor
    posts = sorted(emu.world.groups[group].posts)
    # Changes between polls: new posts and comments, an edit, a deleted post and comment,
    # an old post pinned, a new reply in a thread.
    clock.advance(600)
    fresh = [emu.publish_post(group, f"Новая жалоба {i}").id for i in range(3)]
    target = posts[-2]
    emu.edit_post(group, target, "Исправленный текст жалобы")
    emu.delete_post(group, posts[-3])
    emu.pin_post(group, posts[0])
    top = emu.visible_comments(group, posts[-1])
    if top:
        emu.delete_comment(group, top[0].comment_id)
    emu.publish_comment(group, posts[-4], "Когда починят?")
    # More posts arrive while the poller is between pages.
    arrived: list[int] = []
    original = emu.call

    def call(method: str, params: Any) -> Any:
        if method == "wall.get" and params.get("offset") == "20" and not arrived:
            arrived.extend(emu.publish_post(group, f"Пока листали {i}").id for i in range(5))
        return original(method, params)

    emu.call = call  # type: ignore[method-assign]
    for _ in range(3):
        result = await poller.poll(cursor)
        store.apply(result)
        cursor = result.cursor
        clock.advance(300)
    emu.call = original  # type: ignore[method-assign]
    want_posts, want_comments = truth(emu, group)
    assert arrived
    assert set(fresh) | set(arrived) <= set(store.posts)
    assert store.visible_posts() == want_posts
    assert store.visible_comments() == want_comments
    assert store.versions[target]
    assert posts[-3] in store.deleted
    assert cursor.last_post_id == max(want_posts)
    assert posts[0] in cursor.watched  # the pinned post is watched, never the watermark


@pytest.mark.parametrize(
    ("fault", "exc"),
    [
        ({"kind": "error", "error_code": 5}, VkAuthError),
        ({"kind": "error", "error_code": 14}, VkCaptchaNeeded),
        ({"kind": "error", "error_code": 9}, VkFloodControl),
        ({"kind": "error", "error_code": 15}, VkAccessDenied),
        ({"kind": "error", "error_code": 29}, VkRateLimited),
        ({"kind": "error", "error_code": 10, "count": 4}, VkServerError),
        ({"kind": "error", "error_code": 6, "count": 4}, VkRateLimited),
        ({"kind": "truncate", "count": 4}, VkConnectionError),
        ({"kind": "http", "status": 502, "count": 4}, VkConnectionError),
        ({"kind": "drop", "count": 4}, VkConnectionError),
    ],
)
async def test_every_error_class(
    emu: VkEmulator, make_client: MakeClient, fault: dict[str, Any], exc: type[VkError]
) -> None:
    emu.inject(fault.pop("kind"), method="wall.get", **fault)
    with pytest.raises(exc):
        await make_client().wall_get(-busiest(emu))


async def test_transient_faults_are_retried_to_success(
    emu: VkEmulator, make_client: MakeClient
) -> None:
    for kind, options in [
        ("error", {"error_code": 6}),
        ("error", {"error_code": 1}),
        ("truncate", {}),
        ("http", {"status": 503}),
        ("drop", {}),
    ]:
        emu.inject(kind, method="wall.get", **options)  # type: ignore[arg-type]
        page = await make_client().wall_get(-busiest(emu), count=5)
        assert len(page.items) == 5


async def test_unreadable_walls_raise_access_denied(
    emu: VkEmulator, make_client: MakeClient
) -> None:
    closed = [g.id for g in emu.world.groups.values() if g.state != "open"]
    assert closed
    for group in closed:
        with pytest.raises(VkAccessDenied):
            await make_client().wall_get(-group)


async def test_official_answer_is_posted_once_and_verified(
    emu: VkEmulator, make_client: MakeClient
) -> None:
    group = busiest(emu)
    post = emu.visible_posts(group)[-1]
    publisher = ReplyPublisher(
        writer=make_client(COMMUNITY, kind="community"), reader=make_client()
    )
    official = emu.world.official_group_id
    first = await publisher.publish(
        owner_id=-group,
        post_id=post.post_id,
        text="Ответ ЦУР: работы назначены на 25.11.",
        guid="incident-42-answer-1",
        from_group=official,
    )
    assert first.verified
    again = await publisher.publish(
        owner_id=-group,
        post_id=post.post_id,
        text="Ответ ЦУР: работы назначены на 25.11.",
        guid="incident-42-answer-1",
        from_group=official,
    )
    assert again.comment_id == first.comment_id
    answers = [
        c for c in emu.visible_comments(group, post.post_id) if c.text.startswith("Ответ ЦУР")
    ]
    assert len(answers) == 1
    assert answers[0].from_id == -official


# ---- posts learned from the news feed, handed to a wall poller


async def test_feed_fed_poller_stores_without_moving_the_watermark(
    emu: VkEmulator, make_client: MakeClient, clocks: Clocks, clock: FakeClock
) -> None:
    group = busiest(emu)
    wall = VkGroupPoller(make_client(), -group, initial_posts=10_000, clock=clocks.now)
    synced = await wall.poll(WallCursor())
    since = int(clock())
    clock.advance(300)
    fresh = emu.publish_post(group, "Мусор не вывозят неделю")
    old = emu.visible_posts(group)[0]  # beyond the watched window
    reply = emu.publish_comment(group, old.post_id, "Когда решат?")
    clock.advance(30)
    user = make_client(USER, kind="user")
    new_posts = await user.newsfeed_get(source_ids=[-group], start_time=since)
    commented = await user.newsfeed_get_comments(source_ids=[-group], start_time=since)
    assert fresh.id in {p.id for p in new_posts.items}
    assert old.post_id in {p.id for p in commented.items}
    result = await wall.poll_posts(synced.cursor, [*new_posts.items, *commented.items])
    assert fresh.id in {p.id for p in result.posts}
    assert reply.id in {c.id for c in result.comments}
    assert result.cursor.last_post_id == synced.cursor.last_post_id
    assert fresh.id in result.cursor.watched
    later = await wall.poll(result.cursor)
    assert fresh.id not in {p.id for p in later.posts}
    assert later.cursor.last_post_id == fresh.id
