"""Tokens, versions, token kinds per method, and communities that cannot be read."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from emulator.vk import VkEmulator
from tests.emulator.conftest import COMMUNITY, SERVICE, USER, Api, open_group_ids


def _group_in(emu: VkEmulator, state: str) -> int:
    return next(g.id for g in emu.world.groups.values() if g.state == state)


async def test_token_errors(api: Api, emu: VkEmulator) -> None:
    gid = open_group_ids(emu)[0]
    body = await api.raw("wall.get", None, owner_id=-gid)
    assert body["error"]["error_code"] == 5
    assert body["error"]["error_msg"] == "User authorization failed: no access_token passed."
    body = await api.raw("wall.get", "not-a-token", owner_id=-gid)
    assert body["error"]["error_msg"] == "User authorization failed: invalid access_token (4)."
    emu.revoke_token(SERVICE)
    body = await api.raw("wall.get", SERVICE, owner_id=-gid)
    assert body["error"]["error_code"] == 5
    assert "revoke" in body["error"]["error_msg"]


async def test_version_is_required_and_old_versions_are_refused(api: Api, emu: VkEmulator) -> None:
    gid = open_group_ids(emu)[0]
    body = await api.raw("wall.get", SERVICE, v=None, owner_id=-gid)
    assert body["error"]["error_code"] == 8
    assert body["error"]["error_msg"].startswith("Invalid request: v is required")
    body = await api.raw("wall.get", SERVICE, v="5.21", owner_id=-gid)
    assert body["error"]["error_code"] == 8
    assert "versions below 5.81 are deprecated" in body["error"]["error_msg"]


async def test_get_query_bearer_header_and_no_json_bodies(
    client: TestClient[Any, Any], emu: VkEmulator
) -> None:
    gid = open_group_ids(emu)[0]
    resp = await client.get(
        "/method/wall.get",
        params={"owner_id": str(-gid), "count": "1", "v": "5.199", "access_token": SERVICE},
    )
    assert (await resp.json())["response"]["items"][0]["owner_id"] == -gid
    resp = await client.post(
        "/method/wall.get",
        data={"owner_id": str(-gid), "v": "5.199"},
        headers={"Authorization": f"Bearer {SERVICE}"},
    )
    assert "response" in await resp.json()
    resp = await client.post(
        "/method/wall.get", json={"owner_id": -gid, "v": "5.199", "access_token": SERVICE}
    )
    assert (await resp.json())["error"]["error_code"] == 8  # a JSON body is not read at all


async def test_unknown_method(api: Api) -> None:
    assert await api.error("wall.getEverything") == 3


@pytest.mark.parametrize(
    ("method", "token", "code"),
    [
        ("wall.get", COMMUNITY, 27),
        ("wall.getComments", COMMUNITY, 27),
        ("newsfeed.search", COMMUNITY, 27),
        ("wall.getComment", SERVICE, 28),
        ("newsfeed.get", SERVICE, 28),
        ("newsfeed.getComments", SERVICE, 28),
        ("wall.createComment", SERVICE, 28),
    ],
)
async def test_token_kind_per_method(
    api: Api, emu: VkEmulator, method: str, token: str, code: int
) -> None:
    gid = open_group_ids(emu)[0]
    assert await api.error(method, token, owner_id=-gid, post_id=1, comment_id=1) == code


@pytest.mark.parametrize(
    ("state", "code"),
    [("closed", 15), ("private", 30), ("deleted", 18), ("banned", 18), ("blocked", 19)],
)
async def test_unreadable_walls(api: Api, emu: VkEmulator, state: str, code: int) -> None:
    gid = open_group_ids(emu)[0]
    post_id = emu.visible_posts(gid)[0].post_id
    emu.set_group_state(gid, state)  # type: ignore[arg-type]
    assert await api.error("wall.get", owner_id=-gid) == code
    assert await api.error("wall.getComments", owner_id=-gid, post_id=post_id) == code
    assert (await api("wall.getById", posts=f"-{gid}_{post_id}"))["items"] == []
    assert all(p.owner_id != -gid for p in emu.visible_posts())


async def test_closed_wall_message_and_member_access(api: Api, emu: VkEmulator) -> None:
    gid = _group_in(emu, "closed")
    body = await api.raw("wall.get", SERVICE, owner_id=-gid)
    assert body["error"]["error_msg"] == (
        "Access denied: this wall available only for community members"
    )
    # the demo user follows every community, so as a member it reads the closed wall
    response = await api("wall.get", USER, owner_id=-gid, count=100)
    assert response["count"] == len(emu.visible_posts(gid))


async def test_deleted_community_in_groups_get_by_id(api: Api, emu: VkEmulator) -> None:
    deleted = _group_in(emu, "deleted")
    banned = _group_in(emu, "banned")
    closed = _group_in(emu, "closed")
    groups = (await api("groups.getById", group_ids=f"{deleted},{banned},{closed}"))["groups"]
    by_id = {g["id"]: g for g in groups}
    assert by_id[deleted]["deactivated"] == "deleted"
    assert by_id[banned]["deactivated"] == "banned"
    assert by_id[closed]["is_closed"] == 1
    assert "deactivated" not in by_id[closed]
    assert await api.error("groups.getById", group_ids="999999999999") == 100
    assert await api.error("wall.get", owner_id=-999_999_999) == 100


async def test_fixed_post_field_and_membership(api: Api, emu: VkEmulator) -> None:
    gid = open_group_ids(emu)[0]
    post_id = emu.visible_posts(gid)[0].post_id
    emu.pin_post(gid, post_id)
    as_service = await api("groups.getById", group_id=gid, fields="fixed_post,members_count")
    group = as_service["groups"][0]
    assert group["fixed_post"] == post_id
    assert group["members_count"] == emu.world.groups[gid].members_count
    assert group["is_member"] == 0
    as_user = await api("groups.getById", USER, group_id=gid)
    assert as_user["groups"][0]["is_member"] == 1


async def test_closed_comments(api: Api, emu: VkEmulator) -> None:
    gid = open_group_ids(emu)[0]
    post_id = emu.visible_posts(gid)[0].post_id
    emu.close_comments(gid, post_id)
    assert await api.error("wall.getComments", owner_id=-gid, post_id=post_id) == 212
    assert (
        await api.error(
            "wall.createComment", COMMUNITY, owner_id=-gid, post_id=post_id, message="Ответ"
        )
        == 213
    )


async def test_deleted_post_is_gone_everywhere(api: Api, emu: VkEmulator) -> None:
    gid = open_group_ids(emu)[0]
    before = await api("wall.get", owner_id=-gid, count=1)
    emu.pin_post(gid, None)
    post_id = emu.visible_posts(gid)[-1].post_id
    emu.delete_post(gid, post_id)
    after = await api("wall.get", owner_id=-gid, count=100)
    assert after["count"] == before["count"] - 1
    assert post_id not in {i["id"] for i in after["items"]}
    assert (await api("wall.getById", posts=f"-{gid}_{post_id}"))["items"] == []
    assert await api.error("wall.getComments", owner_id=-gid, post_id=post_id) == 100


async def test_edited_post_carries_edited_and_new_text(api: Api, emu: VkEmulator) -> None:
    gid = open_group_ids(emu)[0]
    truth = emu.visible_posts(gid)[-1]
    emu.edit_post(gid, truth.post_id, truth.text + "\nUPD: яму засыпали щебнем")
    item = (await api("wall.getById", posts=f"-{gid}_{truth.post_id}"))["items"][0]
    assert item["edited"] == int(emu.clock())
    assert item["text"].endswith("UPD: яму засыпали щебнем")
    assert emu.world.post(gid, truth.post_id).history[-1] == truth.text
