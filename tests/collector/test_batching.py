"""The first wall pages of many communities in one execute request."""

from __future__ import annotations

from collector.batching import first_pages
from collector.errors import VkAccessDenied
from collector.quotas import QuotaTracker
from collector.vk_poller import VkGroupPoller, WallCursor
from tests.collector.conftest import MakeClient
from tests.fakes.fake_vk import FakeVk


def wall(fake: FakeVk, owner: int, n: int) -> None:
    fake.walls[owner] = [
        {"id": i, "owner_id": owner, "from_id": owner, "date": 1_790_000_000 + i, "text": f"{i}"}
        for i in range(1, n + 1)
    ]


async def test_one_request_for_many_walls_each_failing_alone(
    fake_vk: FakeVk, make_client: MakeClient, quotas: QuotaTracker
) -> None:
    owners = [-(i + 1) for i in range(30)]
    for owner in owners:
        wall(fake_vk, owner, 3)
    del fake_vk.walls[-7]  # this one answers 15
    pages = await first_pages(make_client(), owners)
    assert [m for m, _ in fake_vk.requests] == ["execute", "execute"]  # 25 + 5
    assert isinstance(pages[-7], VkAccessDenied)
    page = pages[-1]
    assert not isinstance(page, Exception)
    assert [p.id for p in page.items] == [3, 2, 1]
    assert page.items[0].owner_id == -1
    assert quotas.used("t1", "wall.get") == 30


async def test_poller_uses_the_batched_page(fake_vk: FakeVk, make_client: MakeClient) -> None:
    wall(fake_vk, -1, 5)
    client = make_client()
    pages = await first_pages(client, [-1])
    fake_vk.requests.clear()
    first = pages[-1]
    assert not isinstance(first, Exception)
    result = await VkGroupPoller(client, -1).poll(WallCursor(), first_page=first)
    assert [p.id for p in result.posts] == [1, 2, 3, 4, 5]
    assert fake_vk.requests == []
