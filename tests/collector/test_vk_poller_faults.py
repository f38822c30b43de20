"""The wall poller under faults: a failed read costs its post only, and is read again next."""

from __future__ import annotations

import datetime as dt

import pytest

from collector.vk_client import Backoff
from collector.vk_poller import VkGroupPoller, WallCursor
from tests.collector.conftest import MakeClient
from tests.collector.test_vk_poller import OWNER, Wall
from tests.fakes.clock import FakeClock
from tests.fakes.fake_vk import FakeVk


@pytest.fixture
def wall(fake_vk: FakeVk) -> Wall:
    return Wall(fake_vk)


def make_poller(make_client: MakeClient, clock: FakeClock, **options: object) -> VkGroupPoller:
    client = make_client(backoff=Backoff(attempts=2, jitter=lambda: 0.5))
    return VkGroupPoller(client, OWNER, clock=clock.now, **options)  # type: ignore[arg-type]


def texts(result: object) -> set[str]:
    return {c.external_id for c in result.comments}  # type: ignore[attr-defined]


async def test_a_post_whose_comments_fail_is_pending_and_the_others_are_stored(
    wall: Wall, fake_vk: FakeVk, make_client: MakeClient, clock: FakeClock
) -> None:
    posts = [wall.post(f"Пост {i}: нет света на ул. Мира") for i in range(3)]
    comments = {p["id"]: [wall.comment(p) for _ in range(2)] for p in posts}
    broken = posts[1]
    fake_vk.broken[(OWNER, broken["id"], 0)] = 10
    poller = make_poller(make_client, clock)

    first = await poller.poll(WallCursor())  # error 10 on one post does not fail the poll

    ok = [p for p in posts if p is not broken]
    assert texts(first) == {f"{OWNER}_{p['id']}_{c['id']}" for p in ok for c in comments[p["id"]]}
    assert set(first.comment_sets) == {f"{OWNER}_{p['id']}" for p in ok}  # nothing marked gone
    assert first.unread == (f"{OWNER}_{broken['id']}",)
    assert first.cursor.pending == {broken["id"]: 1}
    assert first.cursor.watched[broken["id"]].comments is None  # its count is not taken
    assert first.cursor.watched[ok[0]["id"]].comments == 2
    assert WallCursor.from_json(first.cursor.to_json()) == first.cursor

    del fake_vk.broken[(OWNER, broken["id"], 0)]
    second = await poller.poll(first.cursor)  # nothing changed on the wall: still read again
    assert texts(second) == {f"{OWNER}_{broken['id']}_{c['id']}" for c in comments[broken["id"]]}
    assert set(second.comment_sets) == {f"{OWNER}_{broken['id']}"}
    assert second.cursor.pending == {}
    assert second.cursor.watched[broken["id"]].comments == 2
    third = await poller.poll(second.cursor)
    assert third.comments == ()


async def test_a_thread_read_failing_keeps_what_was_read_and_marks_nothing_deleted(
    wall: Wall, fake_vk: FakeVk, make_client: MakeClient, clock: FakeClock
) -> None:
    post = wall.post("Отопления нет вторую неделю 🥶")
    root = wall.comment(post)
    replies = [wall.comment(post, reply_to=root) for _ in range(12)]  # more than inlined (10)
    other = wall.post()
    wall.comment(other)
    poller = make_poller(make_client, clock)
    first = await poller.poll(WallCursor())
    fake_vk.broken[(OWNER, post["id"], root["id"])] = 10
    late = wall.comment(post, reply_to=root)
    second = await poller.poll(first.cursor)
    # The top level and the ten inlined replies were read and are kept; the thread was not.
    assert f"{OWNER}_{post['id']}_{root['id']}" in texts(second)
    assert f"{OWNER}_{post['id']}_{late['id']}" not in texts(second)
    assert f"{OWNER}_{post['id']}" not in second.comment_sets
    assert second.cursor.pending == {post["id"]: 1}
    del fake_vk.broken[(OWNER, post["id"], root["id"])]
    third = await poller.poll(second.cursor)
    assert f"{OWNER}_{post['id']}_{late['id']}" in texts(third)
    assert {f"{OWNER}_{post['id']}_{r['id']}" for r in replies} <= texts(third)
    assert third.cursor.pending == {}


async def test_a_pending_post_beyond_the_watched_window_is_looked_up_and_read(
    wall: Wall, fake_vk: FakeVk, make_client: MakeClient, clock: FakeClock
) -> None:
    posts = [wall.post() for _ in range(6)]
    oldest = posts[0]
    mine = wall.comment(oldest)
    fake_vk.broken[(OWNER, oldest["id"], 0)] = 10
    poller = make_poller(make_client, clock, page_size=2, watch_posts=2)
    first = await poller.poll(WallCursor())
    assert oldest["id"] not in first.cursor.watched  # out of the window...
    assert first.cursor.pending == {oldest["id"]: 1}  # ...but not forgotten
    del fake_vk.broken[(OWNER, oldest["id"], 0)]
    second = await poller.poll(first.cursor)
    assert texts(second) == {f"{OWNER}_{oldest['id']}_{mine['id']}"}
    assert second.cursor.pending == {}
    assert any(m == "wall.getById" for m, _ in fake_vk.requests)


async def test_a_pending_post_deleted_meanwhile_is_marked_deleted_and_dropped(
    wall: Wall, fake_vk: FakeVk, make_client: MakeClient, clock: FakeClock
) -> None:
    posts = [wall.post() for _ in range(6)]
    wall.comment(posts[0])
    fake_vk.broken[(OWNER, posts[0]["id"], 0)] = 10
    poller = make_poller(make_client, clock, page_size=2, watch_posts=2)
    first = await poller.poll(WallCursor())
    wall.delete(posts[0])
    second = await poller.poll(first.cursor)
    assert second.deleted_posts == (f"{OWNER}_{posts[0]['id']}",)
    assert second.cursor.pending == {}


async def test_a_failed_deletion_check_does_not_fail_the_poll(
    wall: Wall, fake_vk: FakeVk, make_client: MakeClient, clock: FakeClock
) -> None:
    posts = [wall.post() for _ in range(4)]
    poller = make_poller(make_client, clock)
    first = await poller.poll(WallCursor())
    wall.delete(posts[1])
    for _ in range(2):  # both attempts
        fake_vk.fault("error", code=10, message="Internal server error", method="wall.getById")
    second = await poller.poll(first.cursor)
    assert second.deleted_posts == ()
    assert posts[1]["id"] in second.cursor.watched  # not verified: checked again next time
    third = await poller.poll(second.cursor)
    assert third.deleted_posts == (f"{OWNER}_{posts[1]['id']}",)


async def test_a_recheck_reads_a_post_whose_count_a_deletion_kept(
    wall: Wall, fake_vk: FakeVk, make_client: MakeClient, clock: FakeClock
) -> None:
    post = wall.post("Мусор не вывозят")
    gone, kept = wall.comment(post), wall.comment(post)
    poller = make_poller(make_client, clock)
    first = await poller.poll(WallCursor())
    fake_vk.comments[(OWNER, post["id"])].remove(gone)
    post["comments"]["count"] -= 1
    new = wall.comment(post)  # the count is 2 again
    plain = await poller.poll(first.cursor)
    assert plain.comments == ()  # the count alone cannot tell
    checked = await poller.poll(first.cursor, recheck=True)
    assert f"{OWNER}_{post['id']}_{new['id']}" in texts(checked)
    assert checked.comment_sets[f"{OWNER}_{post['id']}"] == {
        f"{OWNER}_{post['id']}_{kept['id']}",
        f"{OWNER}_{post['id']}_{new['id']}",
    }


async def test_the_first_poll_keeps_the_backfill_age_and_cap(
    wall: Wall, fake_vk: FakeVk, make_client: MakeClient, clock: FakeClock
) -> None:
    now = clock.now()
    pinned = wall.post("Правила сообщества")
    pinned["date"] = int((now - dt.timedelta(days=300)).timestamp())
    fake_vk.pinned[OWNER] = pinned["id"]
    posts = []
    for age in range(30, 0, -1):  # one post a day, the newest yesterday
        post = wall.post(f"Жалоба {age} дней назад")
        post["date"] = int((now - dt.timedelta(days=age) + dt.timedelta(hours=1)).timestamp())
        posts.append(post)
    by_age = make_poller(make_client, clock, page_size=5, backfill_days=7)
    first = await by_age.poll(WallCursor())
    recent = [p["id"] for p in posts[-7:]]  # 1..7 days old
    assert sorted(p.id for p in first.posts) == sorted([pinned["id"], *recent])
    assert first.cursor.last_post_id == posts[-1]["id"]
    # Newest first: paging stops at the first page reaching past the horizon, not at the end.
    assert len([m for m, _ in fake_vk.requests if m == "wall.get"]) == 2
    again = await by_age.poll(first.cursor)
    assert again.posts == ()  # the older posts are never taken as new later

    by_cap = make_poller(make_client, clock, backfill_days=None, backfill_max_posts=4)
    capped = await by_cap.poll(WallCursor())
    assert sorted(p.id for p in capped.posts) == sorted(
        [pinned["id"], *[p["id"] for p in posts[-4:]]]
    )
    both = make_poller(make_client, clock, backfill_days=2.5, backfill_max_posts=100)
    assert sorted(p.id for p in (await both.poll(WallCursor())).posts) == sorted(
        [pinned["id"], *[p["id"] for p in posts[-2:]]]
    )


async def test_short_pages_are_not_the_end_of_the_wall_nor_of_the_comments(
    wall: Wall, fake_vk: FakeVk, make_client: MakeClient, clock: FakeClock
) -> None:
    # VK's count is a maximum: a page may come back shorter while more follow. Taking a short
    # page for the end moved the watermark past posts never read (lost for good) and took a
    # post's comments as complete, so the unread ones were never fetched.
    old = wall.post("Старый пост")
    poller = make_poller(make_client, clock)
    first = await poller.poll(WallCursor())
    assert first.cursor.last_post_id == old["id"]
    new = [wall.post(f"Пост {i}: не вывозят мусор на ул. Ленина 😡") for i in range(45)]
    busy = new[0]
    thread_root = wall.comment(busy)
    replies = [wall.comment(busy, reply_to=thread_root) for _ in range(25)]
    top = [wall.comment(busy) for _ in range(30)]
    busy["comments"] = {"count": 1 + len(replies) + len(top)}
    fake_vk.page_cap = 10

    second = await poller.poll(first.cursor)

    assert {p.id for p in second.posts} == {p["id"] for p in new}
    assert second.cursor.last_post_id == new[-1]["id"]
    expected = {f"{OWNER}_{busy['id']}_{c['id']}" for c in [thread_root, *replies, *top]}
    assert texts(second) == expected
    assert second.comment_sets[f"{OWNER}_{busy['id']}"] == frozenset(expected)


async def test_a_post_dated_out_of_range_does_not_stall_the_wall(
    wall: Wall, fake_vk: FakeVk, make_client: MakeClient, clock: FakeClock
) -> None:
    # fromtimestamp() raised OverflowError / ValueError for such a date, out of the parser, so
    # the poll failed on every retry and no later post of the wall was ever stored.
    poller = make_poller(make_client, clock)
    first = await poller.poll(WallCursor())
    odd = [wall.post(f"Пост {i}: яма на ул. Свободы") for i in range(4)]
    odd[0]["date"] = 10**20
    odd[1]["date"] = 253_402_300_800  # 10000-01-01: past datetime's last year
    odd[2]["edited"] = -(10**20)
    fine = wall.post("Обычный пост: нет горячей воды")

    second = await poller.poll(first.cursor)

    assert {p.id for p in second.posts} == {p["id"] for p in [*odd, fine]}
    assert second.cursor.last_post_id == fine["id"]
    dates = {p.id: p.date for p in second.posts}
    assert dates[fine["id"]] == dt.datetime.fromtimestamp(fine["date"], tz=dt.UTC)
    assert dates[odd[0]["id"]] == dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


async def test_a_comment_deleted_while_its_post_is_paged_hides_no_other(
    wall: Wall, fake_vk: FakeVk, make_client: MakeClient, clock: FakeClock
) -> None:
    # Comments are paged by offset: a comment deleted between two pages pulls the later ones
    # forward, so the one that moved across the page boundary was never read.
    post = wall.post("Опрос: где в Кирове нужен новый светофор?")
    poller = make_poller(make_client, clock)
    first = await poller.poll(WallCursor())
    top = [wall.comment(post) for _ in range(250)]
    root = top[3]
    replies = [wall.comment(post, reply_to=root) for _ in range(230)]
    post["comments"] = {"count": len(top) + len(replies)}
    level = fake_vk.comments[(OWNER, post["id"])]
    gone: list[int] = []

    def delete_one(method: str, form: dict[str, str]) -> None:
        if method != "wall.getComments" or form.get("offset", "0") == "0":
            return
        victims = root["_replies"] if form.get("comment_id") else level
        gone.append(victims.pop(1)["id"])  # one read already: everything after moves up

    fake_vk.before_response = delete_one
    second = await poller.poll(first.cursor)

    assert gone
    alive = {c["id"] for c in [*top, *replies]} - set(gone)
    got = [c.id for c in second.comments]
    assert alive <= set(got)
    assert len(got) == len(set(got))


async def test_a_wall_read_cut_at_max_pages_goes_on_next_poll_from_where_it_stopped(
    wall: Wall, make_client: MakeClient, clock: FakeClock
) -> None:
    # The watermark moved to the newest post although paging stopped after max_pages, above
    # it: every post between was never read.
    old = wall.post("Старый пост")
    poller = make_poller(make_client, clock, page_size=10, max_pages=2)
    first = await poller.poll(WallCursor())
    backlog = [wall.post(f"Пост {i}: не убирают снег на ул. Карла Маркса") for i in range(45)]

    second = await poller.poll(first.cursor)
    got = [p.id for p in second.posts]
    assert len(got) == 20
    cursor = WallCursor.from_json(second.cursor.to_json())
    assert cursor == second.cursor
    arrived = [wall.post("Новый пост: нет воды в доме 12") for _ in range(3)]
    wall.delete(backlog[-1])  # read already: pulls the unread range one place up
    for _ in range(5):
        result = await poller.poll(cursor)
        got += [p.id for p in result.posts]
        cursor = result.cursor
        if cursor.gap is None:
            break

    assert cursor.gap is None
    assert sorted(set(got)) == sorted(got)
    assert {p["id"] for p in backlog + arrived} <= set(got)
    assert old["id"] not in got
    assert cursor.last_post_id == arrived[-1]["id"]
    assert (await poller.poll(cursor)).posts == ()
