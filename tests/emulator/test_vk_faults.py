"""Faults on demand: any error code, delays, dropped connections, truncated JSON, HTTP 5xx."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient

from emulator.vk import FakeClock, VkEmulator
from tests.emulator.conftest import SERVICE, Api, open_group_ids

CODES = [1, 5, 6, 9, 10, 14, 15, 17, 18, 19, 27, 28, 29, 30, 100, 203, 212, 213, 222, 223]


@pytest.mark.parametrize("code", CODES)
async def test_error_fault_then_back_to_normal(api: Api, emu: VkEmulator, code: int) -> None:
    gid = open_group_ids(emu)[0]
    emu.inject("error", error_code=code)
    body = await api.raw("wall.get", owner_id=-gid)
    error = body["error"]
    assert error["error_code"] == code
    assert error["error_msg"]
    assert {"key": "method", "value": "wall.get"} in error["request_params"]
    if code == 14:
        assert error["captcha_sid"].isdigit()
        assert error["captcha_img"].endswith(f"sid={error['captcha_sid']}&s=1")
    if code == 17:
        assert error["redirect_uri"].startswith("https://")
    assert "response" in await api.raw("wall.get", owner_id=-gid)
    assert emu.token_stats(SERVICE).errors[code] == 1


async def test_count_method_and_token_filters(api: Api, emu: VkEmulator) -> None:
    gid = open_group_ids(emu)[0]
    emu.inject("error", error_code=10, count=2, method="wall.getComments", token=SERVICE)
    assert "response" in await api.raw("wall.get", owner_id=-gid)
    post_id = emu.visible_posts(gid)[0].post_id
    other = "vk-demo-service-2"
    assert "response" in await api.raw("wall.getComments", other, owner_id=-gid, post_id=post_id)
    assert await api.error("wall.getComments", owner_id=-gid, post_id=post_id) == 10
    assert await api.error("wall.getComments", owner_id=-gid, post_id=post_id) == 10
    assert "response" in await api.raw("wall.getComments", owner_id=-gid, post_id=post_id)
    assert emu.faults.pending() == []


async def test_error_fault_naming_a_method_hits_calls_inside_execute(
    api: Api, emu: VkEmulator
) -> None:
    gid = open_group_ids(emu)[0]
    emu.inject("error", error_code=29, method="wall.get")
    code = f"return [API.wall.get({{owner_id:{-gid}}}), API.wall.get({{owner_id:{-gid}}})];"
    body = await api.raw("execute", code=code)
    assert body["response"][0] is False
    assert body["response"][1]["count"] > 0
    assert body["execute_errors"][0]["error_code"] == 29


async def test_delay_fault_awaits_the_injected_sleep(
    clock: FakeClock, aiohttp_client: Callable[..., Awaitable[TestClient[Any, Any]]]
) -> None:
    slept: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        slept.append(seconds)

    emu = VkEmulator(seed=2, groups=8, clock=clock, sleep=fake_sleep)
    api = Api(await aiohttp_client(emu.create_app()), clock)
    emu.inject("delay", delay=12.5)
    gid = open_group_ids(emu)[0]
    assert (await api("wall.get", owner_id=-gid, count=1))["items"]
    assert slept == [12.5]


async def test_delay_fault_makes_a_client_time_out(
    aiohttp_client: Callable[..., Awaitable[TestClient[Any, Any]]], emu: VkEmulator
) -> None:
    client = await aiohttp_client(emu.create_app())
    emu.inject("delay", delay=30.0)
    with pytest.raises(TimeoutError):
        await client.post(
            "/method/groups.getById",
            data={"group_id": "1", "access_token": SERVICE, "v": "5.199"},
            timeout=aiohttp.ClientTimeout(total=0.2),
        )


async def test_drop_closes_the_connection_without_an_answer(
    client: TestClient[Any, Any], emu: VkEmulator
) -> None:
    emu.inject("drop")
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await client.post("/method/wall.get", data={"access_token": SERVICE, "v": "5.199"})
    assert emu.transport_faults["drop"] == 1


async def test_truncated_json(client: TestClient[Any, Any], emu: VkEmulator) -> None:
    gid = open_group_ids(emu)[0]
    emu.inject("truncate", method="wall.get")
    resp = await client.post(
        "/method/wall.get", data={"owner_id": str(-gid), "access_token": SERVICE, "v": "5.199"}
    )
    assert resp.status == 200
    text = await resp.text()
    assert text.startswith('{"response": {"count": ')
    with pytest.raises(json.JSONDecodeError):
        json.loads(text)


async def test_http_5xx(client: TestClient[Any, Any], emu: VkEmulator) -> None:
    emu.inject("http", status=502)
    resp = await client.post("/method/wall.get", data={"access_token": SERVICE, "v": "5.199"})
    assert resp.status == 502
    assert resp.content_type == "text/html"


async def test_faults_over_the_admin_endpoint(
    client: TestClient[Any, Any], clock: FakeClock
) -> None:
    resp = await client.post(
        "/_emulator/faults", json={"kind": "error", "error_code": 14, "count": 2}
    )
    assert resp.status == 201
    listed = await (await client.get("/_emulator/faults")).json()
    assert listed["pending"][0]["error_code"] == 14
    api = Api(client, clock)
    assert await api.error("groups.getById", group_id=1) == 14
    assert (await client.delete("/_emulator/faults")).status == 200
    assert (await (await client.get("/_emulator/faults")).json())["pending"] == []
    bad = await client.post("/_emulator/faults", json={"kind": "explode"})
    assert bad.status == 400
    bad = await client.post("/_emulator/faults", json={"kind": "error", "colour": "red"})
    assert bad.status == 400


async def _false_slots(api: Api, gid: int) -> tuple[list[int], list[dict[str, Any]]]:
    code = "return [" + ",".join(f"API.wall.get({{owner_id:{-gid},count:1}})" for _ in range(25))
    body = await api.raw("execute", code=code + "];")
    slots = [i for i, value in enumerate(body["response"]) if value is False]
    return slots, body.get("execute_errors", [])


async def test_a_share_of_calls_inside_execute_fail_alone_like_vk(
    api: Api, emu: VkEmulator
) -> None:
    gid = open_group_ids(emu)[0]
    emu.set_fault_rates(error=0.3, seed=5)
    slots, errors = await _false_slots(api, gid)
    assert 0 < len(slots) < 25  # some calls failed, the others answered
    # One entry per failed call, in call order, then the trailing entry for execute itself.
    assert [e["method"] for e in errors] == ["wall.get"] * len(slots) + ["execute"]
    assert {e["error_code"] for e in errors} == {10}
    assert errors[0]["error_msg"] == "Internal server error"
    assert emu.random_faults.fired["inner_error"] == len(slots)


async def test_random_faults_repeat_for_the_same_seed(
    clock: FakeClock, aiohttp_client: Callable[..., Awaitable[TestClient[Any, Any]]]
) -> None:
    patterns = []
    for seed in (5, 5, 6):
        emu = VkEmulator(seed=7, groups=12, clock=clock)
        api = Api(await aiohttp_client(emu.create_app()), clock)
        emu.set_fault_rates(error=0.3, seed=seed)
        patterns.append((await _false_slots(api, open_group_ids(emu)[0]))[0])
    assert patterns[0] == patterns[1]
    assert patterns[0] != patterns[2]


async def test_shares_of_plain_errors_502_and_cut_bodies(
    client: TestClient[Any, Any], emu: VkEmulator, clock: FakeClock
) -> None:
    gid = open_group_ids(emu)[0]
    emu.set_fault_rates(error=0.2, http=0.2, truncate=0.2, seed=3)
    seen: dict[str, int] = {"ok": 0, "error": 0, "http": 0, "truncate": 0}
    for _ in range(60):
        clock.advance(0.34)
        resp = await client.post(
            "/method/wall.get",
            data={"owner_id": str(-gid), "count": "1", "access_token": SERVICE, "v": "5.199"},
        )
        if resp.status == 502:
            assert "nginx" in await resp.text()
            seen["http"] += 1
            continue
        try:
            body = json.loads(await resp.text())
        except json.JSONDecodeError:
            seen["truncate"] += 1
            continue
        if "error" in body:
            assert body["error"]["error_code"] == 10
            seen["error"] += 1
        else:
            seen["ok"] += 1
    assert all(n > 0 for n in seen.values()), seen
    fired = emu.random_faults.fired
    assert (fired["http"], fired["truncate"]) == (seen["http"], seen["truncate"])
    assert fired["error"] >= seen["error"]  # a cut body may hide an error envelope
    emu.set_fault_rates()  # off again
    assert "response" in await Api(client, clock).raw("wall.get", owner_id=-gid, count=1)


async def test_writes_are_left_alone_by_default(api: Api, emu: VkEmulator) -> None:
    emu.set_fault_rates(error=1.0)
    assert await api.error("wall.get", owner_id=-open_group_ids(emu)[0]) == 10
    assert "wall.createComment" not in emu.fault_rates.methods


async def test_fault_rates_over_the_admin_endpoint(
    client: TestClient[Any, Any], emu: VkEmulator
) -> None:
    resp = await client.put("/_emulator/fault_rates", json={"error": 0.1, "http": 0.05, "seed": 9})
    assert resp.status == 200
    assert emu.fault_rates.error == 0.1
    assert emu.fault_rates.seed == 9
    listed = await (await client.get("/_emulator/fault_rates")).json()
    assert listed["rates"]["http"] == 0.05
    assert "wall.get" in listed["rates"]["methods"]
    assert (await client.delete("/_emulator/fault_rates")).status == 200
    assert not emu.fault_rates.active
    for bad in ({"error": 1.5}, {"errror": 0.1}, {"http": 0.7, "truncate": 0.7}, {"status": 200}):
        assert (await client.put("/_emulator/fault_rates", json=bad)).status == 400
