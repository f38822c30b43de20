"""The feed path against the VK emulator over loopback HTTP: new posts, new comments, search."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest
from pytest_aiohttp.plugin import AiohttpServer

from collector.errors import VkError
from collector.feed import (
    CommentsApi,
    FeedApi,
    FeedCursor,
    FeedReader,
    KeywordSearch,
    SearchApi,
    SearchCursor,
    read_comments,
)
from collector.quotas import QuotaTracker
from collector.rate_limit import SlidingWindowLimiter
from collector.vk_client import Backoff, VkClient
from emulator.vk import FakeClock, QuotaPolicy, VkEmulator

USER = "vk-demo-user"
SERVICE = "vk-demo-service-1"


class Clocks:
    """Drive the client's limiter, quotas and sleeps with the emulator's clock."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock

    def now(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self.clock(), tz=dt.UTC)

    async def sleep(self, seconds: float) -> None:
        self.clock.advance(max(0.0, seconds))


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def clocks(clock: FakeClock) -> Clocks:
    return Clocks(clock)


@pytest.fixture
def emu(clock: FakeClock) -> VkEmulator:
    return VkEmulator(
        seed=11, groups=14, clock=clock, quota=QuotaPolicy(limits={"newsfeed.search": 3})
    )


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
    def make(token: str = USER, kind: str = "user", **kw: Any) -> VkClient:
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
    return sorted(
        g.id
        for g in emu.world.groups.values()
        if g.state == "open" and g.id != emu.world.official_group_id
    )


def test_the_clients_fit_the_protocols(make_client: MakeClient) -> None:
    client = make_client()
    assert isinstance(client, FeedApi)
    assert isinstance(client, SearchApi)
    assert isinstance(client, CommentsApi)


async def test_new_posts_of_followed_groups_arrive_once(
    emu: VkEmulator, clock: FakeClock, clocks: Clocks, make_client: MakeClient
) -> None:
    groups = open_groups(emu)
    followed = {-g for g in groups[:-1]}
    reader = FeedReader(make_client(), followed=followed, clock=clocks.now)
    first = await reader.poll(FeedCursor())
    assert all(p.owner_id in followed for p in first.posts)
    cursor = first.cursor

    clock.advance(30)
    a = emu.publish_post(groups[0], "Яма на дороге у школы")
    b = emu.publish_post(groups[1], "Не горят фонари")
    outside = emu.publish_post(groups[-1], "Этот паблик не отслеживается")
    clock.advance(30)
    second = await reader.poll(cursor)
    got = {(p.owner_id, p.id) for p in second.posts}
    assert got == {(a.owner_id, a.id), (b.owner_id, b.id)}
    assert (outside.owner_id, outside.id) not in got
    assert second.activity[a.owner_id] >= 1

    # Read again at once: the overlap window re-reads them, but they are dropped by id.
    clock.advance(5)
    third = await reader.poll(second.cursor)
    assert third.posts == ()
    assert FeedCursor.from_json(third.cursor.to_json()) == third.cursor


async def test_posts_published_in_the_same_second_are_not_lost(
    emu: VkEmulator, clock: FakeClock, clocks: Clocks, make_client: MakeClient
) -> None:
    groups = open_groups(emu)
    reader = FeedReader(make_client(), clock=clocks.now)
    cursor = (await reader.poll(FeedCursor())).cursor
    clock.advance(10)
    first = emu.publish_post(groups[0], "Первый")
    mid = await reader.poll(cursor)
    assert [p.id for p in mid.posts] == [first.id]
    second = emu.publish_post(groups[1], "Второй в ту же секунду")
    late = await reader.poll(mid.cursor)
    assert [p.id for p in late.posts] == [second.id]


async def test_new_comments_inline_and_read_in_full(
    emu: VkEmulator, clock: FakeClock, clocks: Clocks, make_client: MakeClient
) -> None:
    groups = open_groups(emu)
    user = make_client()
    service = make_client(SERVICE, "service")
    # A service token cannot read closed communities the account is a member of: keep to open.
    reader = FeedReader(user, comments=service, followed={-g for g in groups}, clock=clocks.now)
    clock.advance(10)
    quiet = emu.publish_post(groups[0], "Когда починят лифт?")
    busy = emu.publish_post(groups[1], "Отключили воду")
    start = await reader.poll(FeedCursor())
    assert {(p.owner_id, p.id) for p in start.posts} >= {
        (quiet.owner_id, quiet.id),
        (busy.owner_id, busy.id),
    }

    clock.advance(20)
    few = [emu.publish_comment(groups[0], quiet.id, f"Поддерживаю {i}") for i in range(3)]
    reply = emu.publish_comment(groups[0], quiet.id, "И я", reply_to_comment=few[0].id)
    many = [emu.publish_comment(groups[1], busy.id, f"Тоже нет воды, дом {i}") for i in range(14)]
    clock.advance(20)
    result = await reader.poll(start.cursor, posts=False)
    got = {c.id for c in result.comments}
    assert {c.id for c in few} | {reply.id} <= got
    assert {c.id for c in many} <= got
    assert result.full_reads >= 1  # 14 new comments: more than the ten inlined
    by_id = {c.id: c for c in result.comments}
    assert by_id[reply.id].parents_stack == (few[0].id,)
    truth = {c.comment_id for c in emu.visible_comments(groups[1], busy.id)}
    assert {c.id for c in result.comments if c.post_id == busy.id} == truth

    clock.advance(20)
    again = await reader.poll(result.cursor, posts=False)
    assert again.comments == ()
    extra = emu.publish_comment(groups[1], busy.id, "Дали воду")
    clock.advance(5)
    last = await reader.poll(again.cursor, posts=False)
    assert [c.id for c in last.comments] == [extra.id]
    assert last.full_reads == 0


async def test_a_full_read_failing_is_read_again_by_the_next_poll(
    emu: VkEmulator, clock: FakeClock, clocks: Clocks, make_client: MakeClient
) -> None:
    groups = open_groups(emu)
    service = make_client(SERVICE, "service", backoff=Backoff(attempts=2, jitter=lambda: 0.5))
    reader = FeedReader(
        make_client(), comments=service, followed={-g for g in groups}, clock=clocks.now
    )
    clock.advance(10)
    busy = emu.publish_post(groups[1], "Отключили воду во всём микрорайоне")
    calm = emu.publish_post(groups[2], "Когда включат фонари?")
    start = await reader.poll(FeedCursor())
    clock.advance(20)
    many = [emu.publish_comment(groups[1], busy.id, f"Тоже нет воды, дом {i}") for i in range(14)]
    more = [emu.publish_comment(groups[2], calm.id, f"Темно, подъезд {i}") for i in range(12)]
    clock.advance(20)
    emu.set_fault_rates(error=1.0, methods=frozenset({"execute"}))  # every batch fails
    failed = await reader.poll(start.cursor, posts=False)
    assert failed.cursor.unread == {f"{-groups[1]}_{busy.id}": 1, f"{-groups[2]}_{calm.id}": 1}
    assert not any(c.id in {m.id for m in many} for c in failed.comments)
    clock.advance(600)
    again = await reader.poll(failed.cursor, posts=False)  # listed again, failing again
    assert again.cursor.unread == {k: 2 for k in failed.cursor.unread}
    emu.set_fault_rates()
    clock.advance(600)  # nothing new: newsfeed.getComments does not list these posts now
    healed = await reader.poll(again.cursor, posts=False)
    got = {c.id for c in healed.comments}
    assert {c.id for c in many} | {c.id for c in more} <= got
    assert healed.cursor.unread == {}


class FeedOnly:
    """A feed api that cannot read comments (not a CommentsApi)."""

    def __init__(self, client: VkClient) -> None:
        self.newsfeed_get = client.newsfeed_get
        self.newsfeed_get_comments = client.newsfeed_get_comments


async def test_full_reads_need_a_comments_api(
    emu: VkEmulator, clock: FakeClock, clocks: Clocks, make_client: MakeClient
) -> None:
    groups = open_groups(emu)
    reader = FeedReader(FeedOnly(make_client()), clock=clocks.now)
    post = emu.publish_post(groups[2], "Мусор не вывозят")
    cursor = (await reader.poll(FeedCursor(), comments=False)).cursor
    for i in range(12):
        emu.publish_comment(groups[2], post.id, f"Да, {i}")
    clock.advance(10)
    with pytest.raises(VkError, match="no comments api"):
        await reader.poll(cursor, posts=False)


async def test_keyword_search_finds_posts_outside_the_groups_and_rests_on_29(
    emu: VkEmulator, clock: FakeClock, clocks: Clocks, make_client: MakeClient
) -> None:
    groups = open_groups(emu)
    configured = {-g for g in groups[:3]}
    clock.advance(60)
    inside = emu.publish_post(groups[0], "Прорвало трубу отопления на Ленина")
    outside = emu.publish_post(groups[5], "Прорвало трубу на Советской")
    clock.advance(60)
    search = KeywordSearch(
        make_client(SERVICE, "service"),
        ["прорвало трубу", "прорвало трубу", " "],
        exclude_owners=configured,
        clock=clocks.now,
    )
    assert search.queries == ("прорвало трубу",)
    first = await search.poll(SearchCursor())
    refs = {p.external_id for p in first.posts}
    assert f"{outside.owner_id}_{outside.id}" in refs
    assert f"{inside.owner_id}_{inside.id}" not in refs
    assert all(p.owner_id not in configured for p in first.posts)
    assert SearchCursor.from_json(first.cursor.to_json()) == first.cursor

    clock.advance(60)
    second = await search.poll(first.cursor)
    assert second.posts == ()

    # The emulator allows three searches a day here: the third and fourth polls hit 29.
    clock.advance(60)
    third = await search.poll(second.cursor)
    assert third.retry_after is None
    fourth = await search.poll(third.cursor)
    assert fourth.retry_after is not None
    assert fourth.retry_after > 0
    assert fourth.cursor == third.cursor


async def test_read_comments_expands_long_threads_pages_and_skips_closed_ones(
    emu: VkEmulator, make_client: MakeClient
) -> None:
    groups = open_groups(emu)
    service = make_client(SERVICE, "service")
    long_post = emu.publish_post(groups[3], "Опрос: где ещё нет света?")
    root = emu.publish_comment(groups[3], long_post.id, "У нас нет")
    for i in range(12):
        emu.publish_comment(groups[3], long_post.id, f"И у нас {i}", reply_to_comment=root.id)
    for i in range(104):
        emu.publish_comment(groups[3], long_post.id, f"Нет света, дом {i}")
    closed = emu.publish_post(groups[4], "Комментарии закрыты")
    emu.close_comments(groups[4], closed.id)
    single = emu.publish_post(groups[5], "Один комментарий")
    emu.publish_comment(groups[5], single.id, "Первый")

    page = await service.wall_get(-groups[3], count=5)
    post = next(p for p in page.items if p.id == long_post.id)
    others = await service.wall_get(-groups[4], count=5)
    shut = next(p for p in others.items if p.id == closed.id)
    got, notes, requests, failed = await read_comments(service, [post, shut])
    truth = {c.comment_id for c in emu.visible_comments(groups[3], long_post.id)}
    assert {c.id for c in got[post.external_id]} == truth
    assert len(truth) == 117
    assert shut.external_id not in got
    assert len(notes) == 1
    assert "unavailable" in notes[0]
    assert failed == []  # closed comments are not a failure to retry
    assert requests >= 3  # the batch, the thread beyond ten replies, the second page

    alone = await service.wall_get(-groups[5], count=5)
    one = next(p for p in alone.items if p.id == single.id)
    got_one, _, made, _ = await read_comments(service, [one])
    assert [c.text for c in got_one[one.external_id]] == ["Первый"]
    assert made == 1


async def test_paging_stops_at_max_pages_and_says_so(
    emu: VkEmulator, clock: FakeClock, clocks: Clocks, make_client: MakeClient
) -> None:
    groups = open_groups(emu)
    reader = FeedReader(make_client(), max_pages=1, overlap=10, clock=clocks.now)
    cursor = (await reader.poll(FeedCursor(), comments=False)).cursor
    published = []
    for i in range(120):
        clock.advance(1)
        post = emu.publish_post(groups[i % len(groups)], f"Новость {i}")
        published.append(f"{post.owner_id}_{post.id}")
    clock.advance(5)
    result = await reader.poll(cursor, comments=False)
    assert result.truncated
    assert len(result.posts) == 100
    by_owner = result.by_owner()
    assert sum(len(v) for v in by_owner.values()) == 100
    assert all(all(p.owner_id == owner for p in posts) for owner, posts in by_owner.items())
    assert len(result.cursor.gaps) == 1
    assert FeedCursor.from_json(result.cursor.to_json()) == result.cursor

    # The next polls resume the cut reads where they stopped: the other 20, none twice.
    clock.advance(5)
    late = emu.publish_post(groups[0], "Свежая новость")
    got = [p.external_id for p in result.posts]
    cursor = result.cursor
    for _ in range(5):
        rest = await reader.poll(cursor, comments=False)
        got += [p.external_id for p in rest.posts]
        cursor = rest.cursor
        if not rest.truncated:
            break
    assert cursor.gaps == ()
    assert len(got) == len(set(got))  # none twice
    assert {*published, f"{late.owner_id}_{late.id}"} <= set(got)


async def test_a_feed_comment_read_survives_short_pages_and_a_deletion_while_paging() -> None:
    # The feed's own paging took a short page for the end and paged by bare offsets, so a
    # comment deleted between two pages hid the one that moved across the page boundary.
    from collector.feed import _all_pages
    from collector.types import VkCommentsPage, parse_comment, parse_post

    owner, post_id = -77, 5
    level = [
        {"id": n, "from_id": n, "date": 1764838800 + n, "text": f"Нет света в доме {n}"}
        for n in range(1, 46)
    ]
    deleted: list[int] = []

    class Comments:
        async def wall_get_comments(
            self,
            owner_id: int,
            post_id: int,
            *,
            offset: int = 0,
            count: int = 100,
            comment_id: int | None = None,
        ) -> VkCommentsPage:
            if offset > 0:
                deleted.append(level.pop(2)["id"])  # read already: the rest move up
            items = tuple(
                parse_comment(c, owner_id=owner_id, post_id=post_id)
                for c in level[offset : offset + 10]  # VK's pages come back short at times
            )
            return VkCommentsPage(count=len(level), current_level_count=len(level), items=items)

        async def execute(self, calls: object) -> list[object]:
            raise AssertionError("not batched here")

    api = Comments()
    post = parse_post({"id": post_id, "owner_id": owner, "from_id": owner, "date": 1764838800})
    first = await api.wall_get_comments(owner, post_id)
    got, _ = await _all_pages(api, post, first)  # type: ignore[arg-type]

    ids = [c.id for c in got]
    assert len(ids) == len(set(ids))
    assert set(range(1, 46)) - set(deleted) <= set(ids)
