"""``wall.createComment``: official replies, guid idempotency, threads, and flood control."""

from __future__ import annotations

from emulator.vk import VkEmulator
from tests.emulator.conftest import COMMUNITY, USER, Api, open_group_ids


def _citizen_post(emu: VkEmulator) -> tuple[int, int, int]:
    """Return (group, post, a top-level comment) of a complaint with comments."""
    for gid in open_group_ids(emu):
        group = emu.world.groups[gid]
        for post in group.posts.values():
            tops = [group.comments[c] for c in post.top_comment_ids]
            live = [c for c in tops if not c.deleted]
            if not post.deleted and not post.comments_closed and live:
                return gid, post.id, live[0].id
    raise AssertionError("no commented post")


async def test_official_reply_is_posted_once_per_guid_and_reads_back(
    api: Api, emu: VkEmulator
) -> None:
    gid, pid, _ = _citizen_post(emu)
    official = emu.world.official_group_id
    before = len(emu.visible_comments(gid, pid))
    params = {
        "owner_id": -gid,
        "post_id": pid,
        "from_group": official,
        "message": "Здравствуйте! Ремонт дороги запланирован на июнь. ЦУР",
        "guid": "incident-1042-answer-1",
    }
    first = await api("wall.createComment", COMMUNITY, **params)
    posted_at = int(emu.clock())
    again = await api("wall.createComment", COMMUNITY, **params)
    assert first == again
    assert first["parents_stack"] == []
    assert len(emu.visible_comments(gid, pid)) == before + 1
    thread = await api(
        "wall.getComments", owner_id=-gid, post_id=pid, count=100, sort="desc", preview_length=0
    )
    mine = thread["items"][0]
    assert mine["id"] == first["comment_id"]
    assert mine["from_id"] == -official
    assert mine["text"] == params["message"]
    assert mine["date"] == posted_at


async def test_reply_into_a_citizens_thread(api: Api, emu: VkEmulator) -> None:
    gid, pid, cid = _citizen_post(emu)
    created = await api(
        "wall.createComment", COMMUNITY, owner_id=-gid, post_id=pid, reply_to_comment=cid,
        message="Информация передана в администрацию района", guid="g-2",
    )  # fmt: skip
    assert created["parents_stack"] == [cid]
    replies = await api("wall.getComments", owner_id=-gid, post_id=pid, comment_id=cid, count=100)
    reply = next(r for r in replies["items"] if r["id"] == created["comment_id"])
    assert reply["reply_to_comment"] == cid
    assert reply["parents_stack"] == [cid]
    truth = {c.comment_id: c for c in emu.visible_comments(gid, pid)}
    assert truth[created["comment_id"]].thread_root == cid


async def test_same_text_twice_without_guid_is_flood_control(api: Api, emu: VkEmulator) -> None:
    gid, pid, _ = _citizen_post(emu)
    params = {"owner_id": -gid, "post_id": pid, "message": "Проверим и ответим"}
    await api("wall.createComment", COMMUNITY, **params)
    assert await api.error("wall.createComment", COMMUNITY, **params) == 9


async def test_create_comment_errors(api: Api, emu: VkEmulator) -> None:
    gid, pid, _ = _citizen_post(emu)
    assert await api.error("wall.createComment", COMMUNITY, owner_id=-gid, post_id=pid) == 100
    assert (
        await api.error("wall.createComment", COMMUNITY, owner_id=-gid, post_id=10**9, message="x")
        == 100
    )
    assert (
        await api.error(
            "wall.createComment",
            COMMUNITY,
            owner_id=-gid,
            post_id=pid,
            message="x",
            from_group=gid,
        )
        == 15
    )
    # a user token may post as itself
    created = await api("wall.createComment", USER, owner_id=-gid, post_id=pid, message="Да")
    author = next(
        c.from_id for c in emu.visible_comments(gid, pid) if c.comment_id == created["comment_id"]
    )
    assert author > 0
