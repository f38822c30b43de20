"""Incremental polling over real HTTP against the fake VK server: nothing lost, nothing doubled."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from collector.errors import VkAccessDenied
from collector.vk_poller import PollResult, VkGroupPoller, WallCursor, next_interval
from tests.collector.conftest import MakeClient
from tests.fakes.clock import FakeClock
from tests.fakes.fake_vk import FakeVk

OWNER = -100


class Wall:
    """A test wall on the fake server with one id counter shared by posts and comments."""

    def __init__(self, fake: FakeVk) -> None:
        self.fake = fake
        self.next_id = 0
        fake.walls[OWNER] = []

    def _id(self) -> int:
        self.next_id += 1
        return self.next_id

    def post(self, text: str = "") -> dict[str, Any]:
        pid = self._id()
        post = {
            "id": pid,
            "owner_id": OWNER,
            "from_id": OWNER,
            "date": 1_790_000_000 + pid,
            "text": text or f"post {pid}",
            "comments": {"count": 0},
        }
        self.fake.walls[OWNER].append(post)
        self.fake.comments[(OWNER, pid)] = []
        return post

    def comment(
        self, post: dict[str, Any], reply_to: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        cid = self._id()
        comment: dict[str, Any] = {
            "id": cid,
            "from_id": 5,
            "date": 1_790_000_000 + cid,
            "text": f"comment {cid}",
            "parents_stack": [],
        }
        if reply_to is None:
            self.fake.comments[(OWNER, post["id"])].append(comment)
        else:
            comment["parents_stack"] = [reply_to["id"]]
            reply_to.setdefault("_replies", []).append(comment)
        post["comments"]["count"] += 1
        return comment

    def delete(self, post: dict[str, Any]) -> None:
        post["_deleted"] = True


@pytest.fixture
def wall(fake_vk: FakeVk) -> Wall:
    return Wall(fake_vk)


@pytest.fixture
def poller(make_client: MakeClient, clock: FakeClock) -> VkGroupPoller:
    return VkGroupPoller(make_client(), OWNER, initial_posts=100, clock=clock.now)


def ids(result: PollResult) -> list[int]:
    return sorted(p.id for p in result.posts)


def wall_gets(fake: FakeVk) -> list[dict[str, str]]:
    return [form for method, form in fake.requests if method == "wall.get"]


async def test_initial_sync_reads_the_newest_posts(wall: Wall, poller: VkGroupPoller) -> None:
    posts = [wall.post() for _ in range(250)]
    result = await poller.poll(WallCursor())
    assert ids(result) == [p["id"] for p in posts[-100:]]
    assert result.new_posts == 100
    assert result.cursor.last_post_id == 250
    assert result.comments == ()
    assert result.lag_seconds is not None


async def test_incremental_poll_returns_exactly_the_new_posts(
    wall: Wall, poller: VkGroupPoller, fake_vk: FakeVk
) -> None:
    for _ in range(30):
        wall.post()
    first = await poller.poll(WallCursor())
    new = [wall.post()["id"] for _ in range(3)]
    second = await poller.poll(first.cursor)
    assert ids(second) == new
    assert second.cursor.last_post_id == max(new)
    third = await poller.poll(second.cursor)
    assert third.posts == ()
    assert third.new_posts == 0
    assert len(wall_gets(fake_vk)) == 3


async def test_posts_arriving_mid_paging_are_neither_lost_nor_doubled(
    wall: Wall, make_client: MakeClient, fake_vk: FakeVk, clock: FakeClock
) -> None:
    for _ in range(20):
        wall.post()
    poller = VkGroupPoller(make_client(), OWNER, page_size=10, clock=clock.now)
    first = await poller.poll(WallCursor())
    backlog = [wall.post()["id"] for _ in range(35)]
    arrived: list[int] = []

    def publish(method: str, form: dict[str, str]) -> None:
        if method == "wall.get" and form["offset"] in ("10", "20"):
            arrived.extend(wall.post()["id"] for _ in range(4))

    fake_vk.before_response = publish
    second = await poller.poll(first.cursor)
    fake_vk.before_response = None
    assert len(arrived) == 8
    got = [p.id for p in second.posts]
    assert len(got) == len(set(got))
    assert set(backlog) <= set(got)
    third = await poller.poll(second.cursor)
    assert set(got) | {p.id for p in third.posts} == set(backlog + arrived)
    assert not set(got) & {p.id for p in third.posts}


async def test_posts_deleted_mid_paging_do_not_hide_others(
    wall: Wall, make_client: MakeClient, fake_vk: FakeVk, clock: FakeClock
) -> None:
    for _ in range(5):
        wall.post()
    poller = VkGroupPoller(make_client(), OWNER, page_size=10, watch_posts=3, clock=clock.now)
    first = await poller.poll(WallCursor())
    backlog = [wall.post() for _ in range(30)]

    def delete(method: str, form: dict[str, str]) -> None:
        if method == "wall.get" and form["offset"] == "10":
            for post in backlog[:3]:
                wall.delete(post)

    fake_vk.before_response = delete
    second = await poller.poll(first.cursor)
    alive = [p["id"] for p in backlog if not p.get("_deleted")]
    got = [p.id for p in second.posts]
    assert sorted(set(got)) == sorted(got)
    assert set(alive) <= set(got)


async def test_pinned_post_never_moves_the_watermark(
    wall: Wall, poller: VkGroupPoller, fake_vk: FakeVk
) -> None:
    old = wall.post("old, pinned")
    for _ in range(10):
        wall.post()
    fake_vk.pinned[OWNER] = old["id"]
    first = await poller.poll(WallCursor())
    assert first.cursor.last_post_id == 11
    assert old["id"] in first.cursor.watched
    # A new post pinned at once: stored, but the watermark stays for posts published before.
    pinned_new = wall.post("announcement")
    fake_vk.pinned[OWNER] = pinned_new["id"]
    second = await poller.poll(first.cursor)
    assert ids(second) == [pinned_new["id"]]
    assert second.cursor.last_post_id == 11
    third = await poller.poll(second.cursor)
    assert third.posts == ()
    later = wall.post()
    fourth = await poller.poll(third.cursor)
    assert ids(fourth) == [later["id"]]
    assert fourth.cursor.last_post_id == later["id"]


async def test_edits_are_reported_with_the_new_text(wall: Wall, poller: VkGroupPoller) -> None:
    post = wall.post("Яма на дороге")
    first = await poller.poll(WallCursor())
    post["text"] = "Яма на дороге у дома 5"
    post["edited"] = 1_790_100_000
    second = await poller.poll(first.cursor)
    (edited,) = second.posts
    assert edited.text == "Яма на дороге у дома 5"
    assert edited.edited_at == dt.datetime.fromtimestamp(1_790_100_000, tz=dt.UTC)
    assert second.new_posts == 0
    third = await poller.poll(second.cursor)
    assert third.posts == ()


async def test_deleted_posts_are_reported(wall: Wall, poller: VkGroupPoller) -> None:
    posts = [wall.post() for _ in range(5)]
    first = await poller.poll(WallCursor())
    wall.delete(posts[2])
    second = await poller.poll(first.cursor)
    assert second.deleted_posts == (f"{OWNER}_{posts[2]['id']}",)
    assert posts[2]["id"] not in second.cursor.watched


async def test_comments_only_for_posts_whose_count_changed_with_threads(
    wall: Wall, poller: VkGroupPoller, fake_vk: FakeVk
) -> None:
    quiet = wall.post()
    busy = wall.post()
    other = wall.post()
    top = wall.comment(busy)
    first = await poller.poll(WallCursor())
    assert [c.id for c in first.comments] == [top["id"]]
    assert first.comment_sets == {
        f"{OWNER}_{busy['id']}": frozenset({f"{OWNER}_{busy['id']}_{top['id']}"})
    }
    replies = [wall.comment(busy, reply_to=top) for _ in range(12)]
    second_top = wall.comment(other)
    fake_vk.requests.clear()
    second = await poller.poll(first.cursor)
    got = {c.id for c in second.comments}
    assert got == {top["id"], second_top["id"], *(r["id"] for r in replies)}
    assert len(second.comments) == len(got)
    asked = {form["post_id"] for m, form in fake_vk.requests if m == "wall.getComments"}
    batched = [form for m, form in fake_vk.requests if m == "execute"]
    assert str(quiet["id"]) not in asked
    assert len(batched) == 1  # both first pages in one execute
    assert asked == {str(busy["id"])}  # the long thread's follow-up (comment_id)
    thread_calls = [f for m, f in fake_vk.requests if m == "wall.getComments" and "comment_id" in f]
    assert [f["comment_id"] for f in thread_calls] == [str(top["id"])]
    reply = next(c for c in second.comments if c.id == replies[0]["id"])
    assert reply.parents_stack == (top["id"],)
    assert {p.id for p in second.posts} == {busy["id"], other["id"]}


async def test_closed_comments_are_a_note_not_a_failure(
    wall: Wall, make_client: MakeClient, fake_vk: FakeVk, clock: FakeClock
) -> None:
    post = wall.post()
    post["comments"]["count"] = 2
    del fake_vk.comments[(OWNER, post["id"])]
    poller = VkGroupPoller(make_client(), OWNER, batch_comments=False, clock=clock.now)
    result = await poller.poll(WallCursor())
    assert ids(result) == [post["id"]]
    assert "unavailable" in result.notes[0]


async def test_closed_wall_fails_the_poll(make_client: MakeClient, clock: FakeClock) -> None:
    poller = VkGroupPoller(make_client(), -999, clock=clock.now)
    with pytest.raises(VkAccessDenied):
        await poller.poll(WallCursor())


def test_cursor_round_trips_through_json() -> None:
    from collector.vk_poller import PostState

    cursor = WallCursor(
        last_post_id=7,
        watched={7: PostState(3, None), 2: PostState(None, 1700)},
        activity=1.5,
        polled_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        pinned=2,
    )
    assert WallCursor.from_json(cursor.to_json()) == cursor
    assert WallCursor.from_json({}) == WallCursor()


def test_interval_follows_activity() -> None:
    assert next_interval(0) == 3600
    assert next_interval(120) == 60
    assert next_interval(6) == 600


async def test_an_old_pinned_post_is_not_a_reason_to_page_down_to_it(
    wall: Wall, make_client: MakeClient, fake_vk: FakeVk, clock: FakeClock
) -> None:
    ancient = wall.post("rules of the group")
    for _ in range(60):
        wall.post()
    fake_vk.pinned[OWNER] = ancient["id"]
    poller = VkGroupPoller(make_client(), OWNER, page_size=10, watch_posts=5, clock=clock.now)
    first = await poller.poll(WallCursor())
    assert first.cursor.pinned == ancient["id"]
    fake_vk.requests.clear()
    fresh = wall.post()
    second = await poller.poll(first.cursor)
    assert [p.id for p in second.posts] == [fresh["id"]]
    assert len(wall_gets(fake_vk)) == 1  # one page, not six down to the pinned post
    assert ancient["id"] in second.cursor.watched
