"""``execute``: batches, failed inner calls, the 25-call cap, and vk_api's VKScript templates."""

from __future__ import annotations

import json

from emulator.vk import VkEmulator
from tests.emulator.conftest import Api, open_group_ids


def _closed(emu: VkEmulator) -> int:
    return next(g.id for g in emu.world.groups.values() if g.state == "closed")


async def test_a_failed_inner_call_is_false_with_an_execute_error(
    api: Api, emu: VkEmulator
) -> None:
    gid = open_group_ids(emu)[0]
    closed = _closed(emu)
    code = (
        f"return [API.wall.get({{owner_id: {-gid}, count: 2}}), "
        f'API.wall.get({{"owner_id": {-closed}, "count": 2}}), '
        f"API.groups.getById({{group_ids: {gid}}})];"
    )
    body = await api.raw("execute", code=code)
    first, failed, third = body["response"]
    assert [p["id"] for p in first["items"]] == [
        p["id"] for p in (await api("wall.get", owner_id=-gid, count=2))["items"]
    ]
    assert failed is False
    assert third["groups"][0]["id"] == gid
    assert body["execute_errors"] == [
        {
            "method": "wall.get",
            "error_code": 15,
            "error_msg": "Access denied: this wall available only for community members",
        },
        {
            "method": "execute",
            "error_code": 15,
            "error_msg": "Access denied: this wall available only for community members",
        },
    ]


async def test_errors_map_to_falses_in_order(api: Api, emu: VkEmulator) -> None:
    """vk_api pairs each ``false`` with the next execute_errors entry: that must line up."""
    gid = open_group_ids(emu)[0]
    closed = _closed(emu)
    deleted = next(g.id for g in emu.world.groups.values() if g.state == "deleted")
    calls = [-closed, -gid, -deleted, -gid]
    code = "return [" + ",".join(f"API.wall.get({{owner_id:{o},count:1}})" for o in calls) + "];"
    body = await api.raw("execute", code=code)
    errors = iter(body["execute_errors"])
    codes = [next(errors)["error_code"] if r is False else None for r in body["response"]]
    assert codes == [15, None, 18, None]


async def test_more_than_25_calls_is_a_runtime_error(api: Api, emu: VkEmulator) -> None:
    gid = open_group_ids(emu)[0]
    code = "return [" + ",".join([f"API.groups.getById({{group_id:{gid}}})"] * 26) + "];"
    body = await api.raw("execute", code=code)
    assert body["error"]["error_code"] == 13
    assert "Too many API calls" in body["error"]["error_msg"]


async def test_bad_code_is_a_compile_error(api: Api) -> None:
    assert await api.error("execute", code="return [API.wall.get({owner_id: -1};") == 12
    assert await api.error("execute", code="") == 100


async def test_vk_api_requests_pool_one_method_template(api: Api, emu: VkEmulator) -> None:
    ids = open_group_ids(emu)[:3]
    values = json.dumps([{"owner_id": -g, "count": 1} for g in ids])
    code = f"""
    var values = {values},
        i = 0,
        result = [];

    while(i < values.length) {{
        result.push(API.wall.get(values[i]));
        i = i + 1;
    }}

    return result;
    """
    response = await api("execute", code=code)
    assert [r["items"][0]["owner_id"] for r in response] == [-g for g in ids]


async def test_vk_api_get_all_template_pages_a_wall(api: Api, emu: VkEmulator) -> None:
    gid = open_group_ids(emu)[0]
    values = json.dumps({"owner_id": -gid})
    code = f"""
    var max_count = 10,
        offset = 0,
        key = "items";

    var params = {{count: max_count, offset: offset}} + {values};

    var r = API.wall.get(params),
        items = r[key],
        i = 1;

    while(i < 25 && offset + max_count <= r.count) {{
        offset = offset + max_count;
        params.offset = offset;

        items = items + API.wall.get(params)[key];

        i = i + 1;
    }};

    return {{count: r.count, items: items, offset: offset + max_count}};
    """
    response = await api("execute", code=code)
    truth = emu.visible_posts(gid)
    assert response["count"] == len(truth)
    assert sorted(p["id"] for p in response["items"]) == [p.post_id for p in truth]
    assert emu.token_stats("vk-demo-service-1").calls["wall.get"] == len(truth) // 10 + 1


async def test_args_projection_and_arithmetic(api: Api, emu: VkEmulator) -> None:
    gid = open_group_ids(emu)[0]
    code = f"""
    var r = API.wall.get({{owner_id: {-gid}, count: Args.n}});
    var ids = r.items@.id;
    if (ids.length == parseInt(Args.n)) {{ return {{ids: ids, first: ids[0] - 0}}; }}
    else {{ return false; }}
    """
    response = await api("execute", code=code, n=4)
    page = await api("wall.get", owner_id=-gid, count=4)
    assert response["ids"] == [p["id"] for p in page["items"]]
    assert response["first"] == page["items"][0]["id"]


async def test_the_conditional_operator(api: Api) -> None:
    code = """
    var a = null, b = 3;
    var x = (a == null ? 0 : b - a), y = b > 2 ? "big" : "small";
    var z = a ? 1 : b < 0 ? 2 : 3;
    return {x: x, y: y, z: z, w: {k: b == 3 ? [1, 2] : []}};
    """
    assert await api("execute", code=code) == {"x": 0, "y": "big", "z": 3, "w": {"k": [1, 2]}}
    assert await api.error("execute", code="return 1 ? 2;") == 12


async def test_vk_api_real_get_all_script_reads_a_whole_wall(api: Api, emu: VkEmulator) -> None:
    """vk_api's own VkTools.get_all script (``vk_get_all_items``, with ``?:``) runs as on VK."""
    from vk_api.tools import vk_get_all_items

    gid = open_group_ids(emu)[0]
    # As VkTools.get_all_iter calls it: values merged with the page size, no count yet.
    script = vk_get_all_items.compile(
        {
            "method": "wall.get",
            "key": "items",
            "values": {"owner_id": -gid, "count": 10},
            "count": None,
            "offset": 0,
            "offset_mul": 1,
        }
    )
    response = await api("execute", code=script)
    truth = emu.visible_posts(gid)
    assert response["count"] == len(truth)
    assert sorted(p["id"] for p in response["items"]) == sorted(p.post_id for p in truth)
    assert response["more"] is (len(truth) > 25 * 10)
