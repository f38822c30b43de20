"""Fixtures for collector tests: the fake VK server on loopback and a fake clock."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import aiohttp
import pytest
from pytest_aiohttp.plugin import AiohttpServer

from collector.quotas import QuotaTracker
from collector.rate_limit import SlidingWindowLimiter
from collector.vk_client import Backoff, VkClient
from tests.fakes.clock import FakeClock
from tests.fakes.fake_vk import FakeVk

MakeClient = Callable[..., VkClient]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def fake_vk() -> FakeVk:
    return FakeVk()


@pytest.fixture
async def vk_url(aiohttp_server: AiohttpServer, fake_vk: FakeVk) -> str:
    server = await aiohttp_server(fake_vk.app())
    return str(server.make_url("/method"))


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
def quotas(clock: FakeClock) -> QuotaTracker:
    return QuotaTracker(clock=clock.now)


@pytest.fixture
def make_client(
    http: aiohttp.ClientSession, vk_url: str, clock: FakeClock, quotas: QuotaTracker
) -> MakeClient:
    def make(
        token: str = "secret-token-1",  # noqa: S107
        *,
        name: str = "t1",
        kind: str = "service",
        **kw: object,
    ) -> VkClient:
        options: dict[str, object] = {
            "limiter": SlidingWindowLimiter.for_kind(
                kind, clock=clock.monotonic, sleep=clock.sleep
            ),
            "quotas": quotas,
            "backoff": Backoff(jitter=lambda: 0.5),
            "sleep": clock.sleep,
        }
        options.update(kw)
        return VkClient(
            session=http,
            token=token,
            api_url=vk_url,
            name=name,
            kind=kind,
            **options,  # type: ignore[arg-type]
        )

    return make
