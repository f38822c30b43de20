"""Token rotation: kinds per method, error 29 rests one token, auth errors disable one."""

from __future__ import annotations

import pytest

from collector.errors import VkAuthError
from collector.pool import NoTokenAvailable, VkClientPool
from collector.quotas import QuotaTracker
from tests.collector.conftest import MakeClient
from tests.fakes.clock import FakeClock
from tests.fakes.fake_vk import FakeVk


@pytest.fixture
def walls(fake_vk: FakeVk) -> FakeVk:
    fake_vk.walls[-1] = [{"id": 1, "owner_id": -1, "from_id": -1, "date": 1, "text": "x"}]
    fake_vk.tokens = {"tok-a": "service", "tok-b": "service", "tok-c": "community"}
    return fake_vk


def tokens_used(fake: FakeVk) -> list[str]:
    return [form["access_token"] for _, form in fake.requests]


async def test_tokens_rotate(walls: FakeVk, make_client: MakeClient) -> None:
    pool = VkClientPool([make_client("tok-a", name="a"), make_client("tok-b", name="b")])
    for _ in range(4):
        await pool.wall_get(-1)
    assert tokens_used(walls) == ["tok-a", "tok-b", "tok-a", "tok-b"]


async def test_community_token_never_reads_walls(walls: FakeVk, make_client: MakeClient) -> None:
    pool = VkClientPool([make_client("tok-c", name="c", kind="community")])
    with pytest.raises(VkAuthError, match="no usable token configured"):
        await pool.wall_get(-1)
    assert walls.requests == []


async def test_error_29_moves_on_to_the_next_token(
    walls: FakeVk, make_client: MakeClient, clock: FakeClock, quotas: QuotaTracker
) -> None:
    pool = VkClientPool(
        [make_client("tok-a", name="a"), make_client("tok-b", name="b")], quotas=quotas
    )
    walls.fault("error", code=29, message="Rate limit reached")
    page = await pool.wall_get(-1)
    assert page.items
    assert tokens_used(walls) == ["tok-a", "tok-b"]
    for _ in range(3):
        await pool.wall_get(-1)
    assert tokens_used(walls)[2:] == ["tok-b"] * 3
    walls.fault("error", code=29, message="Rate limit reached")
    with pytest.raises(NoTokenAvailable) as info:
        await pool.wall_get(-1)
    assert 0 < info.value.retry_after <= 24 * 3600
    # groups.getById is another method: still allowed.
    walls.groups["1"] = {"id": 1, "name": "g", "screen_name": "g"}
    assert await pool.groups_get_by_id([1])


async def test_dead_token_is_disabled_and_others_go_on(
    walls: FakeVk, make_client: MakeClient
) -> None:
    pool = VkClientPool([make_client("tok-dead", name="dead"), make_client("tok-a", name="a")])
    for _ in range(3):
        await pool.wall_get(-1)
    assert set(pool.disabled) == {"dead"}
    assert tokens_used(walls) == ["tok-dead", "tok-a", "tok-a", "tok-a"]
    assert "tok-dead" not in pool.disabled["dead"]


async def test_captcha_rests_the_token(walls: FakeVk, make_client: MakeClient) -> None:
    pool = VkClientPool([make_client("tok-a", name="a")], monotonic=lambda: 0.0)
    walls.fault("error", code=14, message="Captcha needed")
    with pytest.raises(NoTokenAvailable):
        await pool.wall_get(-1)
    with pytest.raises(NoTokenAvailable):
        await pool.wall_get(-1)
    assert len(walls.requests) == 1


def test_clients_and_pools_satisfy_the_protocols(make_client: MakeClient) -> None:
    from collector.reply import CommentReader, CommentWriter
    from collector.vk_poller import WallApi

    client = make_client()
    pool = VkClientPool([client])
    for implementation in (client, pool):
        assert isinstance(implementation, WallApi)
        assert isinstance(implementation, CommentReader)
        assert isinstance(implementation, CommentWriter)
