"""Paging over walls, comments and feeds, with posts arriving and vanishing between pages."""

from __future__ import annotations

from typing import Any

from emulator.vk import FakeClock, TokenSpec, VkEmulator
from tests.emulator.conftest import USER, Api, open_group_ids


async def _all_wall_items(api: Api, owner_id: int, page: int) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    offset = 0
    while True:
        response = await api("wall.get", owner_id=owner_id, offset=offset, count=page)
        items.extend(response["items"])
        offset += page
        if offset >= response["count"]:
            return items


def _pinned_group(emu: VkEmulator) -> int:
    for gid in open_group_ids(emu):
        group = emu.world.groups[gid]
        newest = max(p.id for p in group.posts.values() if not p.deleted)
        if group.fixed_post is not None and group.fixed_post != newest:
            return gid
    gid = open_group_ids(emu)[0]
    oldest = min(p.post_id for p in emu.visible_posts(gid))
    emu.pin_post(gid, oldest)
    return gid


async def test_paging_a_wall_returns_the_truth_once_with_the_pinned_post_first(
    api: Api, emu: VkEmulator
) -> None:
    gid = _pinned_group(emu)
    pinned = emu.world.groups[gid].fixed_post
    items = await _all_wall_items(api, -gid, page=7)
    truth = emu.visible_posts(gid)
    assert items[0]["id"] == pinned
    assert items[0]["is_pinned"] == 1
    assert all("is_pinned" not in item for item in items[1:])
    assert [i["id"] for i in items].count(pinned) == 1
    assert sorted(i["id"] for i in items) == [p.post_id for p in truth]
    rest = [(i["date"], i["id"]) for i in items[1:]]
    assert rest == sorted(rest, reverse=True)
    texts = {p.post_id: p.text for p in truth}
    assert all(item["text"] == texts[item["id"]] for item in items)


async def test_count_is_capped_at_100_and_defaults_to_20(api: Api, emu: VkEmulator) -> None:
    gid = open_group_ids(emu)[0]
    assert len(emu.visible_posts(gid)) > 100
    assert len((await api("wall.get", owner_id=-gid, count=500))["items"]) == 100
    assert len((await api("wall.get", owner_id=-gid))["items"]) == 20


async def test_a_new_post_mid_paging_shifts_the_next_page(api: Api, emu: VkEmulator) -> None:
    gid = open_group_ids(emu)[0]
    emu.pin_post(gid, None)
    first = await api("wall.get", owner_id=-gid, offset=0, count=10)
    emu.publish_post(gid, "Опять отключили воду без предупреждения!")
    emu.publish_post(gid, "Продам дрова берёзовые, колотые")
    second = await api("wall.get", owner_id=-gid, offset=10, count=10)
    assert second["count"] == first["count"] + 2
    # the two newest posts pushed everything down: the tail of page 1 comes back
    assert [i["id"] for i in second["items"][:2]] == [i["id"] for i in first["items"][-2:]]
    fresh = await api("wall.get", owner_id=-gid, offset=0, count=2)
    assert [i["text"] for i in fresh["items"]] == [
        "Продам дрова берёзовые, колотые",
        "Опять отключили воду без предупреждения!",
    ]


async def test_a_deleted_post_mid_paging_skips_an_item(api: Api, emu: VkEmulator) -> None:
    gid = open_group_ids(emu)[0]
    emu.pin_post(gid, None)
    whole = await api("wall.get", owner_id=-gid, offset=0, count=20)
    first = await api("wall.get", owner_id=-gid, offset=0, count=10)
    emu.delete_post(gid, first["items"][3]["id"])
    second = await api("wall.get", owner_id=-gid, offset=10, count=10)
    assert second["count"] == first["count"] - 1
    skipped = whole["items"][10]["id"]
    assert skipped not in {i["id"] for i in first["items"] + second["items"]}
    assert second["items"][0]["id"] == whole["items"][11]["id"]


async def _page_with_drift(
    api: Api, emu: VkEmulator, gid: int, *, offset_includes_diff: bool
) -> list[int]:
    """Page a wall 5 at a time with count_diff bookkeeping; a post arrives after each of the
    first three pages. ``offset_includes_diff`` is vk_api get_all_slow_iter's variant."""
    seen: list[int] = []
    offset, count, page = 0, None, 5
    published = 0
    while offset < (count or 1):
        response = await api("wall.get", owner_id=-gid, offset=offset, count=page)
        new_count = response["count"]
        diff = new_count - (count if count is not None else new_count)
        seen.extend(i["id"] for i in response["items"][diff:])
        offset += page + (diff if offset_includes_diff else 0)
        count = new_count
        if published < 3:
            emu.publish_post(gid, f"Новая запись {published}")
            published += 1
    return seen


async def test_drift_compensation_loses_and_doubles_nothing(api: Api, emu: VkEmulator) -> None:
    """Dropping the first count_diff items of the next page sees every older post once."""
    gid = open_group_ids(emu)[1]
    emu.pin_post(gid, None)
    seen = await _page_with_drift(api, emu, gid, offset_includes_diff=False)
    truth = {p.post_id for p in emu.visible_posts(gid)}
    newest = sorted(truth)[-3:]
    assert len(seen) == len(set(seen))
    assert set(seen) == truth - set(newest)  # the 3 posted during paging are for the next poll


async def test_drift_is_modelled_closely_enough_to_expose_a_skipping_client(
    api: Api, emu: VkEmulator
) -> None:
    """Also moving the offset by count_diff (vk_api's get_all_slow_iter) skips one post per
    arrival: the emulator shifts pages exactly as positional offsets do."""
    gid = open_group_ids(emu)[1]
    emu.pin_post(gid, None)
    before = [p.id for p in emu.world.wall(emu.world.groups[gid])]
    seen = await _page_with_drift(api, emu, gid, offset_includes_diff=True)
    missed = [pid for pid in before if pid not in seen]
    assert missed == [before[9], before[14], before[19]]


async def test_filter_owner_and_others(api: Api, emu: VkEmulator) -> None:
    gid = next(
        g for g in open_group_ids(emu) if len({p.from_id < 0 for p in emu.visible_posts(g)}) == 2
    )
    owner = await api("wall.get", owner_id=-gid, filter="owner", count=100)
    others = await api("wall.get", owner_id=-gid, filter="others", count=100)
    assert owner["items"]
    assert others["items"]
    assert all(i["from_id"] == -gid for i in owner["items"])
    assert all(i["from_id"] > 0 for i in others["items"])
    assert owner["count"] + others["count"] == len(emu.visible_posts(gid))


def _busy_post(emu: VkEmulator) -> tuple[int, int]:
    best: tuple[int, int, int] = (0, 0, 0)
    for gid in open_group_ids(emu):
        group = emu.world.groups[gid]
        for post in group.posts.values():
            if not post.deleted and len(post.top_comment_ids) > best[0]:
                best = (len(post.top_comment_ids), gid, post.id)
    return best[1], best[2]


async def test_comment_paging_with_threads_matches_the_truth(api: Api, emu: VkEmulator) -> None:
    gid, pid = _busy_post(emu)
    group = emu.world.groups[gid]
    # make sure one thread is longer than what is inlined
    top = next(c for c in group.comments.values() if c.post_id == pid and not c.deleted)
    for n in range(5):
        emu.publish_comment(gid, pid, f"Ответ номер {n}", reply_to_comment=top.id)
    seen: dict[int, str] = {}
    offset = 0
    while True:
        page = await api(
            "wall.getComments", owner_id=-gid, post_id=pid, offset=offset, count=3,
            preview_length=0, thread_items_count=2, sort="asc",
        )  # fmt: skip
        for item in page["items"]:
            if not item.get("deleted"):
                seen[item["id"]] = item["text"]
            thread = item["thread"]
            inline = thread["items"]
            assert len(inline) == min(2, thread["count"])
            for reply in inline:
                seen[reply["id"]] = reply["text"]
            if thread["count"] > len(inline):
                replies = await api(
                    "wall.getComments", owner_id=-gid, post_id=pid, comment_id=item["id"],
                    count=100, preview_length=0,
                )  # fmt: skip
                assert replies["count"] == thread["count"]
                for reply in replies["items"]:
                    assert reply["parents_stack"] == [item["id"]]
                    seen[reply["id"]] = reply["text"]
        offset += 3
        if offset >= page["current_level_count"]:
            break
    truth = {c.comment_id: c.text for c in emu.visible_comments(gid, pid)}
    assert seen == truth
    assert page["count"] == len(truth)


async def test_comment_sort_start_id_and_preview_length(api: Api, emu: VkEmulator) -> None:
    gid, pid = _busy_post(emu)
    asc = await api("wall.getComments", owner_id=-gid, post_id=pid, count=100)
    desc = await api("wall.getComments", owner_id=-gid, post_id=pid, count=100, sort="desc")
    ids = [c["id"] for c in asc["items"]]
    assert ids == sorted(ids)
    assert [c["id"] for c in desc["items"]] == ids[::-1]
    start = await api(
        "wall.getComments", owner_id=-gid, post_id=pid, start_comment_id=ids[2], count=2
    )
    assert [c["id"] for c in start["items"]] == ids[2:4]
    long_text = "Очень длинный комментарий про ямы на дороге. " * 5
    emu.publish_comment(gid, pid, long_text)
    default = await api("wall.getComments", owner_id=-gid, post_id=pid, count=100)
    full = await api("wall.getComments", owner_id=-gid, post_id=pid, count=100, preview_length=0)
    assert default["items"][-1]["text"] == long_text[:90]
    assert full["items"][-1]["text"] == long_text


async def test_newsfeed_get_covers_only_followed_groups_and_pages_without_loss(
    clock: FakeClock, api: Api, emu: VkEmulator
) -> None:
    followed = open_group_ids(emu)[:3]
    emu.add_token(TokenSpec("reader", "user", follows=frozenset(followed)))
    start = int(clock()) - 3 * 86_400
    seen: list[tuple[int, int]] = []
    cursor = ""
    pages = 0
    while True:
        params: dict[str, Any] = {"filters": "post", "count": 25, "start_time": start}
        if cursor:
            params["start_from"] = cursor
        page = await api("newsfeed.get", "reader", **params)
        seen.extend((i["source_id"], i["post_id"]) for i in page["items"])
        pages += 1
        if pages == 1:  # new posts at the top must not shift later pages
            emu.publish_post(followed[0], "Свежая жалоба: на остановке нет света")
        cursor = page.get("next_from", "")
        if not cursor:
            break
    assert pages > 2
    expected = {
        (p.owner_id, p.post_id)
        for gid in followed
        for p in emu.visible_posts(gid)
        if p.date >= start and "Свежая жалоба" not in p.text
    }
    assert len(seen) == len(set(seen))
    assert set(seen) == expected
    assert {owner for owner, _ in seen} <= {-g for g in followed}
    newest = await api("newsfeed.get", "reader", filters="post", count=1)
    assert newest["items"][0]["text"] == "Свежая жалоба: на остановке нет света"


async def test_newsfeed_get_comments_reports_posts_with_new_comments(
    clock: FakeClock, api: Api, emu: VkEmulator
) -> None:
    gid = open_group_ids(emu)[2]
    since = int(clock()) + 1
    clock.advance(10)
    quiet_post = min(p.post_id for p in emu.visible_posts(gid))
    emu.publish_comment(gid, quiet_post, "И у нас на Ленина то же самое")
    response = await api(
        "newsfeed.getComments", USER, start_time=since, last_comments_count=1, count=100
    )
    assert [(i["source_id"], i["post_id"]) for i in response["items"]] == [(-gid, quiet_post)]
    assert response["items"][0]["comments"]["list"][0]["text"] == "И у нас на Ленина то же самое"


async def test_newsfeed_search_pages_newest_first_and_stops_at_1000(
    clock: FakeClock, api: Api, emu: VkEmulator
) -> None:
    gid = open_group_ids(emu)[0]
    now = int(clock())
    for n in range(1050):
        emu.publish_post(gid, f"Гололёд на тротуаре, сообщение {n}", date=now - 80_000 + n * 60)
    clock.set(now + 1)
    seen: list[int] = []
    cursor = ""
    while True:
        params: dict[str, Any] = {"q": "гололед", "count": 200}
        if cursor:
            params["start_from"] = cursor
        page = await api("newsfeed.search", **params)
        assert page["total_count"] == 1050
        assert page["count"] == 1000
        seen.extend(i["id"] for i in page["items"])
        cursor = page.get("next_from", "")
        if not cursor:
            break
    assert len(seen) == 1000
    assert seen == sorted(seen, reverse=True)
    old = await api(
        "newsfeed.search", q="гололед", start_time=now - 86_400 * 30, end_time=now - 86_000
    )
    assert old["total_count"] == 0
