"""Every method answers with the key sets of real VK payloads (vknet fixtures, 5.199 schema)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from emulator.vk import VkEmulator
from tests.emulator.conftest import SERVICE, USER, Api, open_group_ids

FIXTURES = Path(__file__).resolve().parents[3] / "shared" / "data" / "vk-api-fixtures-vknet"

#: Key sets taken from ../shared/data/vk-api-fixtures-vknet (real payloads; MIT, VkNet).
#: Only the key names are kept here; test_key_sets_match_the_fixtures re-derives them.
REAL_KEYS: dict[str, set[str]] = {
    "wall.get extended": {"count", "groups", "items", "profiles"},
    "wall.get post": {"can_delete", "comments", "copy_history", "date", "from_id", "id", "likes",
                      "owner_id", "post_source", "post_type", "reposts", "text"},
    "geo": {"coordinates", "place", "showmap", "type"},
    "geo.place": {"city", "country", "created", "icon", "id", "latitude", "longitude", "title"},
    "wall.getById extended": {"groups", "items", "profiles"},
    "wall.getById post": {"attachments", "carousel_offset", "comments", "date", "donut",
                          "from_id", "id", "likes", "marked_as_ads", "owner_id", "post_source",
                          "post_type", "reposts", "short_text_rate", "text", "views"},
    "group": {"id", "is_closed", "name", "photo_100", "photo_200", "photo_50", "screen_name",
              "type"},
    "wall.getComments": {"can_post", "count", "current_level_count", "groups_can_post", "items",
                         "show_reply_button"},
    "comment": {"date", "from_id", "id", "owner_id", "parents_stack", "post_id", "text",
                "thread"},
    "deleted comment": {"date", "deleted", "id", "parents_stack", "thread"},
    "thread": {"can_post", "count", "groups_can_post", "items", "show_reply_button"},
    "comment likes": {"count"},
    "wall.getComment extended": {"groups", "items", "profiles"},
    "reply": {"date", "from_id", "id", "likes", "reply_to_comment", "reply_to_user", "text"},
    "profile": {"first_name", "id", "last_name"},
    "newsfeed.get": {"groups", "items", "next_from", "profiles"},
    "feed post": {"attachments", "comments", "date", "likes", "post_id", "post_source",
                  "post_type", "reposts", "source_id", "text", "track_code", "type", "views"},
    "newsfeed.search extended": {"count", "groups", "items", "next_from", "profiles",
                                 "total_count"},
    "search post": {"attachments", "comments", "date", "from_id", "id", "is_favorite", "likes",
                    "owner_id", "post_source", "post_type", "reposts", "text"},
    "groups.getById legacy group": {"city", "country", "description", "id", "is_admin",
                                    "is_closed", "is_member", "name", "photo_100", "photo_200",
                                    "photo_50", "screen_name", "start_date", "type"},
}  # fmt: skip


def _fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))["response"]


@pytest.mark.skipif(not FIXTURES.is_dir(), reason="../shared fixtures are not present")
def test_key_sets_match_the_fixtures() -> None:
    wall = _fixture("Wall_Get_ExtendedVersion_GenerateOutParametersCorrectly.json")
    geo = _fixture("Wall_Get_Geo_NormalCase.json")["items"][0]["copy_history"][0]["geo"]
    by_id = _fixture("Wall_GetById_Donut.json")
    comments = _fixture("Wall_GetComments802.json")
    one = _fixture("Wall_GetComment_ReturnCorrectResults.json")
    feed = _fixture("NewsFeed_Get2.json")
    search = _fixture("NewsFeed_Search_NextFrom_NotNull.json")
    derived = {
        "wall.get extended": set(wall),
        "wall.get post": set(wall["items"][0]),
        "geo": set(geo),
        "geo.place": set(geo["place"]),
        "wall.getById extended": set(by_id),
        "wall.getById post": set(by_id["items"][0]),
        "group": set(by_id["groups"][0]),
        "wall.getComments": set(comments),
        "comment": set(comments["items"][0]),
        "deleted comment": set(comments["items"][1]),
        "thread": set(comments["items"][0]["thread"]),
        "comment likes": set(
            _fixture("Wall_GetComments_ReturnLikesAndAttachments.json")["items"][0]["likes"]
        ),
        "wall.getComment extended": set(one),
        "reply": set(one["items"][0]),
        "profile": set(one["profiles"][0]),
        "newsfeed.get": set(feed),
        "feed post": set(next(i for i in feed["items"] if i["type"] == "post")),
        "newsfeed.search extended": set(search),
        "search post": set(search["items"][0]),
        "groups.getById legacy group": set(
            _fixture("Groups_GetById_NormalCaseAllFields_ReturnTwoItems.json")[0]
        ),
    }
    assert derived == REAL_KEYS


def _geo_post(emu: VkEmulator) -> tuple[int, int]:
    for group in emu.world.groups.values():
        if group.state != "open":
            continue
        for post in group.posts.values():
            if post.geo is not None and not post.deleted:
                return group.id, post.id
    raise AssertionError("the region has no geotagged post")


async def test_wall_get_extended_shape(api: Api, emu: VkEmulator) -> None:
    gid = open_group_ids(emu)[0]
    response = await api("wall.get", owner_id=-gid, count=5, extended=1)
    assert set(response) == REAL_KEYS["wall.get extended"]
    post = response["items"][0]
    assert REAL_KEYS["wall.get post"] - {"can_delete", "copy_history"} <= set(post)
    assert {"inner_type", "hash", "type", "views", "marked_as_ads", "donut"} <= set(post)
    assert post["owner_id"] == -gid
    assert isinstance(post["date"], int)
    assert REAL_KEYS["group"] <= set(response["groups"][0])
    assert response["groups"][0]["id"] == gid
    for profile in response["profiles"]:
        assert REAL_KEYS["profile"] <= set(profile)


async def test_wall_get_plain_shape_and_geo(api: Api, emu: VkEmulator) -> None:
    gid, pid = _geo_post(emu)
    response = await api("wall.getById", posts=f"-{gid}_{pid}")
    assert set(response) == {"items"}
    geo = response["items"][0]["geo"]
    assert set(geo) == REAL_KEYS["geo"]
    assert set(geo["place"]) == REAL_KEYS["geo.place"]
    lat, lon = (float(x) for x in geo["coordinates"].split())
    assert 55 < lat < 62
    assert 45 < lon < 55
    page = await api("wall.get", owner_id=-gid, count=1)
    assert set(page) == {"count", "items"}


async def test_wall_get_by_id_shape(api: Api, emu: VkEmulator) -> None:
    gid = open_group_ids(emu)[0]
    ids = [p.post_id for p in emu.visible_posts(gid)][:3]
    refs = ",".join(f"-{gid}_{pid}" for pid in ids)
    response = await api("wall.getById", posts=refs, extended=1)
    assert set(response) == REAL_KEYS["wall.getById extended"]
    assert [p["id"] for p in response["items"]] == ids
    assert REAL_KEYS["wall.getById post"] - {"carousel_offset"} <= set(response["items"][0])


def _post_with_thread(emu: VkEmulator) -> tuple[int, int]:
    for group in emu.world.groups.values():
        if group.state != "open":
            continue
        for post in group.posts.values():
            tops = [group.comments[c] for c in post.top_comment_ids]
            if not post.deleted and any(c.reply_ids and not c.deleted for c in tops):
                return group.id, post.id
    raise AssertionError("no post with a reply thread")


async def test_wall_get_comments_shape(api: Api, emu: VkEmulator) -> None:
    gid, pid = _post_with_thread(emu)
    response = await api(
        "wall.getComments", owner_id=-gid, post_id=pid, count=100, preview_length=0,
        thread_items_count=10,
    )  # fmt: skip
    assert set(response) == REAL_KEYS["wall.getComments"]
    top = next(c for c in response["items"] if c["thread"]["count"])
    assert set(top) == REAL_KEYS["comment"]
    assert set(top["thread"]) == REAL_KEYS["thread"]
    reply = top["thread"]["items"][0]
    assert REAL_KEYS["reply"] - {"likes"} <= set(reply)
    assert reply["parents_stack"] == [top["id"]]
    assert "thread" not in reply
    liked = await api("wall.getComments", owner_id=-gid, post_id=pid, need_likes=1)
    assert REAL_KEYS["comment likes"] <= set(liked["items"][0]["likes"])
    extended = await api("wall.getComments", owner_id=-gid, post_id=pid, extended=1)
    assert {"profiles", "groups", "post_author_id"} <= set(extended)


async def test_deleted_comment_with_replies_is_a_stub(api: Api, emu: VkEmulator) -> None:
    gid, pid = _post_with_thread(emu)
    group = emu.world.groups[gid]
    top = next(
        group.comments[c]
        for c in group.posts[pid].top_comment_ids
        if group.comments[c].reply_ids and not group.comments[c].deleted
    )
    emu.delete_comment(gid, top.id)
    response = await api("wall.getComments", owner_id=-gid, post_id=pid, count=100)
    stub = next(c for c in response["items"] if c["id"] == top.id)
    assert set(stub) == REAL_KEYS["deleted comment"]
    assert stub["deleted"] is True
    assert top.id not in {c.comment_id for c in emu.visible_comments(gid)}


async def test_wall_get_comment_shape(api: Api, emu: VkEmulator) -> None:
    gid, _pid = _post_with_thread(emu)
    group = emu.world.groups[gid]
    reply = next(c for c in group.comments.values() if c.thread_root and not c.deleted)
    response = await api("wall.getComment", USER, owner_id=-gid, comment_id=reply.id, extended=1)
    assert REAL_KEYS["wall.getComment extended"] <= set(response)
    assert REAL_KEYS["reply"] <= set(response["items"][0])
    assert response["items"][0]["text"] == reply.text


async def test_groups_get_by_id_shapes_by_version(api: Api, emu: VkEmulator) -> None:
    gid = open_group_ids(emu)[0]
    group = emu.world.groups[gid]
    modern = await api("groups.getById", group_ids=f"{gid},{group.screen_name}", fields="city")
    assert set(modern) == {"groups", "profiles"}
    assert [g["id"] for g in modern["groups"]] == [gid]
    legacy = await api(
        "groups.getById", group_ids=group.screen_name, fields="city,country,description",
        v="5.131",
    )  # fmt: skip
    assert isinstance(legacy, list)
    assert REAL_KEYS["groups.getById legacy group"] - {"start_date"} <= set(legacy[0])


async def test_newsfeed_get_shape(api: Api, emu: VkEmulator) -> None:
    response = await api("newsfeed.get", USER, filters="post", count=3)
    assert set(response) == REAL_KEYS["newsfeed.get"]
    item = response["items"][0]
    assert REAL_KEYS["feed post"] - {"track_code"} <= set(item)
    assert item["type"] == "post"
    assert item["source_id"] < 0


async def test_newsfeed_search_shape(api: Api, emu: VkEmulator) -> None:
    response = await api("newsfeed.search", q="ул", count=2, extended=1, start_time=0)
    assert set(response) == REAL_KEYS["newsfeed.search extended"]
    assert REAL_KEYS["search post"] <= set(response["items"][0])
    plain = await api("newsfeed.search", q="ул", count=2, start_time=0)
    assert set(plain) == {"items", "count", "total_count", "next_from"}


async def test_newsfeed_get_comments_shape(api: Api, emu: VkEmulator) -> None:
    response = await api("newsfeed.getComments", USER, last_comments_count=3, start_time=0)
    assert {"items", "profiles", "groups"} <= set(response)
    item = response["items"][0]
    assert {"source_id", "post_id", "date", "text", "comments", "type"} <= set(item)
    assert 1 <= len(item["comments"]["list"]) <= 3


async def test_resolve_screen_name(api: Api, emu: VkEmulator) -> None:
    gid = open_group_ids(emu)[0]
    name = emu.world.groups[gid].screen_name
    assert await api("utils.resolveScreenName", screen_name=name) == {
        "object_id": gid,
        "type": "group",
    }
    assert await api("utils.resolveScreenName", screen_name=f"https://vk.com/{name}") == {
        "object_id": gid,
        "type": "group",
    }
    assert await api("utils.resolveScreenName", screen_name="no_such_community_here") == []


async def test_error_envelope_shape(api: Api) -> None:
    body = await api.raw("wall.get", SERVICE, owner_id="abc")
    error = body["error"]
    assert set(error) == {"error_code", "error_msg", "request_params"}
    assert error["error_code"] == 100
    assert error["error_msg"].startswith("One of the parameters specified was missing or invalid")
    params = {p["key"]: p["value"] for p in error["request_params"]}
    assert params["method"] == "wall.get"
    assert params["oauth"] == "1"
    assert params["v"] == "5.199"
    assert params["owner_id"] == "abc"
    assert "access_token" not in params
