"""The ``/_emulator/`` endpoints drive the same live changes as the Python API."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient

from emulator.vk import FakeClock, VkEmulator
from tests.emulator.conftest import Api, open_group_ids


async def test_overview_lists_groups_and_tokens(
    client: TestClient[Any, Any], emu: VkEmulator
) -> None:
    data = await (await client.get("/_emulator/")).json()
    assert {t["token"] for t in data["tokens"]} == set(emu.tokens)
    assert len(data["groups"]) == len(emu.world.groups)
    assert data["official_group_id"] == emu.world.official_group_id


async def test_publish_edit_pin_delete_over_http(
    client: TestClient[Any, Any], clock: FakeClock, emu: VkEmulator
) -> None:
    api = Api(client, clock)
    gid = open_group_ids(emu)[0]
    resp = await client.post("/_emulator/posts", json={"group_id": gid, "text": "Нет света"})
    assert resp.status == 201
    post = await resp.json()
    assert post["owner_id"] == -gid
    resp = await client.post(
        "/_emulator/comments",
        json={"group_id": gid, "post_id": post["post_id"], "text": "И у нас"},
    )
    comment = await resp.json()
    assert comment["parents_stack"] == []
    await client.post("/_emulator/pin", json={"group_id": gid, "post_id": post["post_id"]})
    await client.post(
        "/_emulator/edit", json={"group_id": gid, "post_id": post["post_id"], "text": "Свет дали"}
    )
    top = (await api("wall.get", owner_id=-gid, count=1))["items"][0]
    assert top["id"] == post["post_id"]
    assert top["is_pinned"] == 1
    assert top["text"] == "Свет дали"
    assert top["comments"]["count"] == 1
    await client.post(
        "/_emulator/delete", json={"group_id": gid, "comment_id": comment["comment_id"]}
    )
    await client.post("/_emulator/delete", json={"group_id": gid, "post_id": post["post_id"]})
    truth = await (await client.get("/_emulator/truth", params={"group_id": str(gid)})).json()
    assert post["post_id"] not in {p["post_id"] for p in truth["posts"]}
    assert len(truth["posts"]) == len(emu.visible_posts(gid))


async def test_group_state_and_closed_comments_over_http(
    client: TestClient[Any, Any], clock: FakeClock, emu: VkEmulator
) -> None:
    api = Api(client, clock)
    gid = open_group_ids(emu)[0]
    post_id = emu.visible_posts(gid)[0].post_id
    await client.post(
        "/_emulator/close_comments", json={"group_id": gid, "post_id": post_id, "closed": True}
    )
    assert await api.error("wall.getComments", owner_id=-gid, post_id=post_id) == 212
    resp = await client.post("/_emulator/group_state", json={"group_id": gid, "state": "banned"})
    assert resp.status == 200
    assert await api.error("wall.get", owner_id=-gid) == 18
    bad = await client.post("/_emulator/group_state", json={"group_id": gid, "state": "gone"})
    assert bad.status == 400
    missing = await client.post("/_emulator/pin", json={"group_id": 1, "post_id": 1})
    assert missing.status == 404


async def test_stats_and_activity_over_http(
    client: TestClient[Any, Any], clock: FakeClock, emu: VkEmulator
) -> None:
    api = Api(client, clock)
    await api("groups.getById", group_id=open_group_ids(emu)[0])
    stats = await (await client.get("/_emulator/stats")).json()
    assert stats["tokens"]["vk-demo-service-1"]["calls"] == {"groups.getById": 1}
    resp = await client.post("/_emulator/activity", json={"until": clock() + 86_400})
    published = (await resp.json())["published"]
    assert published
    assert {p["kind"] for p in published} == {"post", "comment"}
