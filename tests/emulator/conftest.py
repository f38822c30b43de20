"""Fixtures: an emulator on a fake clock, served over real HTTP on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from emulator.vk import FakeClock, VkEmulator

SERVICE = "vk-demo-service-1"
USER = "vk-demo-user"
COMMUNITY = "vk-demo-community"


class Api:
    """Call ``/method/<name>`` like a polite client: form POST, v=5.199, 0.34 s between calls."""

    def __init__(self, client: TestClient[Any, Any], clock: FakeClock) -> None:
        self.client = client
        self.clock = clock
        self.step = 0.34

    async def raw(
        self, method: str, token: str | None = SERVICE, *, v: str | None = "5.199", **params: Any
    ) -> dict[str, Any]:
        """Return the whole JSON envelope."""
        self.clock.advance(self.step)
        data = {k: str(val) for k, val in params.items()}
        if token is not None:
            data["access_token"] = token
        if v is not None:
            data["v"] = v
        resp = await self.client.post(f"/method/{method}", data=data)
        assert resp.status == 200
        body: dict[str, Any] = await resp.json()
        return body

    async def __call__(self, method: str, token: str = SERVICE, **params: Any) -> Any:
        """Return ``response``, failing the test on an error envelope."""
        body = await self.raw(method, token, **params)
        assert "error" not in body, body
        return body["response"]

    async def error(self, method: str, token: str | None = SERVICE, **params: Any) -> int:
        """Return the error code of a call that must fail."""
        body = await self.raw(method, token, **params)
        assert "response" not in body, body
        code: int = body["error"]["error_code"]
        return code


@pytest.fixture
def clock() -> FakeClock:
    """A clock that moves only when a test (or the Api helper) moves it."""
    return FakeClock()


@pytest.fixture
def emu(clock: FakeClock) -> VkEmulator:
    """A small region: 12 communities (some closed, deleted, banned) plus the answering one."""
    return VkEmulator(seed=7, groups=12, clock=clock)


@pytest.fixture
async def client(
    emu: VkEmulator, aiohttp_client: Callable[..., Awaitable[TestClient[Any, Any]]]
) -> TestClient[Any, Any]:
    """An HTTP client of the emulator served on 127.0.0.1."""
    return await aiohttp_client(emu.create_app())


@pytest.fixture
def api(client: TestClient[Any, Any], clock: FakeClock) -> Api:
    """The polite API caller."""
    return Api(client, clock)


def open_group_ids(emu: VkEmulator) -> list[int]:
    """Return the ids of the monitored open communities, busiest first."""
    groups = [
        g
        for g in emu.world.groups.values()
        if g.state == "open" and g.id != emu.world.official_group_id
    ]
    groups.sort(key=lambda g: -len(g.posts))
    return [g.id for g in groups]
