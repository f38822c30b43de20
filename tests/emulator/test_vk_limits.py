"""Per-second limits (error 6), daily quotas (error 29) and per-token statistics."""

from __future__ import annotations

from emulator.vk import FakeClock, QuotaPolicy, TokenSpec, VkEmulator
from tests.emulator.conftest import COMMUNITY, SERVICE, Api, open_group_ids


async def test_a_fourth_request_within_a_second_gets_error_6(
    api: Api, clock: FakeClock, emu: VkEmulator
) -> None:
    gid = open_group_ids(emu)[0]
    api.step = 0.0
    for _ in range(3):
        assert "response" in await api.raw("wall.get", owner_id=-gid, count=1)
    body = await api.raw("wall.get", owner_id=-gid, count=1)
    assert body["error"]["error_code"] == 6
    assert body["error"]["error_msg"] == "Too many requests per second"
    # another token has its own window
    assert "response" in await api.raw("wall.get", "vk-demo-service-2", owner_id=-gid)
    clock.advance(1.0)
    assert "response" in await api.raw("wall.get", owner_id=-gid, count=1)


async def test_the_window_slides(api: Api, clock: FakeClock, emu: VkEmulator) -> None:
    gid = open_group_ids(emu)[0]
    api.step = 0.0
    start = clock()
    for at in (0.0, 0.5, 0.9):
        clock.set(start + at)
        assert "response" in await api.raw("wall.get", owner_id=-gid, count=1)
    clock.set(start + 1.0)  # the call at 0.0 has left the window
    assert "response" in await api.raw("wall.get", owner_id=-gid, count=1)
    clock.set(start + 1.1)  # 0.5, 0.9 and 1.0 are still in it
    assert await api.error("wall.get", owner_id=-gid, count=1) == 6
    clock.set(start + 1.5)
    assert "response" in await api.raw("wall.get", owner_id=-gid, count=1)


async def test_community_tokens_get_20_per_second(api: Api, emu: VkEmulator) -> None:
    api.step = 0.0
    gid = open_group_ids(emu)[0]
    for _ in range(20):
        assert "response" in await api.raw("groups.getById", COMMUNITY, group_id=gid)
    assert await api.error("groups.getById", COMMUNITY, group_id=gid) == 6


async def test_polite_clients_never_see_error_6(api: Api, emu: VkEmulator) -> None:
    gid = open_group_ids(emu)[0]
    api.step = 1 / 3
    for _ in range(30):
        assert "response" in await api.raw("wall.get", owner_id=-gid, count=1)
    assert emu.token_stats(SERVICE).errors[6] == 0


async def test_execute_is_one_request_but_each_call_counts_against_quota(
    api: Api, emu: VkEmulator
) -> None:
    gid = open_group_ids(emu)[0]
    api.step = 0.0
    code = "return [" + ",".join([f"API.wall.get({{owner_id:{-gid},count:1}})"] * 25) + "];"
    for _ in range(3):
        assert "response" in await api.raw("execute", code=code)
    assert await api.error("execute", code=code) == 6
    stats = emu.token_stats(SERVICE)
    assert stats.requests == 4
    assert stats.calls["wall.get"] == 75
    assert emu.quotas.used(SERVICE, "wall.get", emu.clock()) == 75


async def test_wall_get_quota_of_5000_a_day(api: Api, clock: FakeClock, emu: VkEmulator) -> None:
    gid = open_group_ids(emu)[0]
    code = "return [" + ",".join([f"API.wall.get({{owner_id:{-gid},count:1}})"] * 25) + "];"
    for _ in range(200):
        body = await api.raw("execute", code=code)
        assert "execute_errors" not in body
    body = await api.raw("execute", code=code)
    assert body["response"] == [False] * 25
    assert body["execute_errors"][0] == {
        "method": "wall.get",
        "error_code": 29,
        "error_msg": "Rate limit reached",
    }
    assert await api.error("wall.get", owner_id=-gid) == 29
    # other methods and other tokens go on
    assert "response" in await api.raw("groups.getById", group_id=gid)
    assert "response" in await api.raw("wall.get", "vk-demo-service-2", owner_id=-gid)


async def test_quota_resets_at_moscow_midnight(aiohttp_client: object, clock: FakeClock) -> None:
    emu = VkEmulator(seed=3, groups=8, clock=clock, quota=QuotaPolicy(limits={"wall.get": 3}))
    gid = open_group_ids(emu)[0]
    clock.set(1_767_290_000.0)  # 2026-01-01 17:53:20 UTC, 20:53 in Moscow
    api = Api(await aiohttp_client(emu.create_app()), clock)  # type: ignore[operator]
    for _ in range(3):
        assert "response" in await api.raw("wall.get", owner_id=-gid)
    assert await api.error("wall.get", owner_id=-gid) == 29
    reset = emu.quotas.reset_at(SERVICE, "wall.get", clock())
    assert reset == 1_767_301_200.0  # 2026-01-01 21:00 UTC = 2026-01-02 00:00 MSK
    clock.set(reset - 1)
    assert await api.error("wall.get", owner_id=-gid) == 29
    clock.set(reset)
    assert "response" in await api.raw("wall.get", owner_id=-gid)
    assert emu.token_stats(SERVICE).errors[29] == 2


async def test_rolling_quota_frees_24_hours_after_each_call(clock: FakeClock) -> None:
    emu = VkEmulator(
        seed=3,
        groups=8,
        clock=clock,
        quota=QuotaPolicy(limits={"newsfeed.search": 2}, reset="rolling"),
    )
    params = {"access_token": SERVICE, "v": "5.199", "q": "вода"}
    first = clock()
    assert "response" in emu.call("newsfeed.search", params)
    clock.advance(3600)
    assert "response" in emu.call("newsfeed.search", params)
    clock.advance(3600)
    assert emu.call("newsfeed.search", params)["error"]["error_code"] == 29
    clock.set(first + 86_400)
    assert "response" in emu.call("newsfeed.search", params)
    assert emu.call("newsfeed.search", params)["error"]["error_code"] == 29


async def test_default_newsfeed_search_quota_is_1000(clock: FakeClock, emu: VkEmulator) -> None:
    emu.add_token(TokenSpec("searcher", "service"))
    params = {"access_token": "searcher", "v": "5.199", "q": "ямы"}
    for _ in range(1000):
        clock.advance(0.34)
        assert "response" in emu.call("newsfeed.search", params)
    clock.advance(0.34)
    assert emu.call("newsfeed.search", params)["error"]["error_code"] == 29


async def test_stats_record_calls_errors_and_times(
    api: Api, clock: FakeClock, emu: VkEmulator
) -> None:
    gid = open_group_ids(emu)[0]
    await api("wall.get", owner_id=-gid)
    await api.error("wall.getComments", owner_id=-gid, post_id=1)
    t1 = clock()
    stats = emu.token_stats(SERVICE)
    assert stats.calls == {"wall.get": 1, "wall.getComments": 1}
    assert stats.errors == {100: 1}
    assert stats.method_errors == {("wall.getComments", 100): 1}
    assert [(r.at, r.method, r.error_code) for r in stats.log][-1] == (t1, "wall.getComments", 100)
    summary = stats.as_json()
    assert summary["requests"] == 2
    assert summary["last_at"] == t1
