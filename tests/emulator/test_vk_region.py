"""The generated region: deterministic, varied, consistent with what the API serves."""

from __future__ import annotations

from collections import Counter

from emulator.vk import FakeClock, RegionSpec, VkEmulator
from emulator.vk.world import COMPLAINT_TOPICS, World, generate_world
from tests.emulator.conftest import open_group_ids


def _world(seed: int, groups: int = 40) -> World:
    return generate_world(RegionSpec(seed=seed, groups=groups), FakeClock())


def test_same_seed_same_region_other_seed_other_region() -> None:
    a, b, c = _world(5), _world(5), _world(6)
    assert a.visible_posts() == b.visible_posts()
    assert a.visible_comments() == b.visible_comments()
    assert a.visible_posts() != c.visible_posts()


def test_region_has_every_kind_of_community_and_item() -> None:
    world = _world(5, groups=120)
    names = [g.name for g in world.groups.values()]
    assert "Подслушано Киров" in names
    assert "Киров | Новости" in names
    assert any(n.startswith("Подслушано ") and n != "Подслушано Киров" for n in names)
    states = Counter(g.state for g in world.groups.values())
    assert {"open", "closed", "private", "deleted", "banned", "blocked"} <= set(states)
    posts = [p for g in world.groups.values() for p in g.posts.values()]
    comments = [c for g in world.groups.values() for c in g.comments.values()]
    assert any(p.edited for p in posts)
    assert any(p.deleted for p in posts)
    assert any(p.geo for p in posts)
    assert any(c.deleted for c in comments)
    assert any(c.thread_root for c in comments)
    assert sum(1 for g in world.groups.values() if g.fixed_post) >= 10
    complaints = sum(1 for p in posts if p.label in COMPLAINT_TOPICS)
    assert 0.3 < complaints / len(posts) < 0.7
    assert all(any("а" <= ch <= "я" for ch in p.text.lower()) for p in posts)
    assert all(g.owner_id < 0 for g in world.groups.values())


def test_ids_are_one_sequence_per_wall_in_time_order() -> None:
    world = _world(9)
    for group in world.groups.values():
        items = [(p.date, p.id) for p in group.posts.values()]
        items += [(c.date, c.id) for c in group.comments.values()]
        ids = [i for _, i in sorted(items)]
        assert len(ids) == len(set(ids))
        assert ids == sorted(ids)


def test_activity_is_uneven_and_lands_in_the_truth(clock: FakeClock) -> None:
    emu = VkEmulator(seed=11, groups=200, clock=clock)
    start = clock()
    before = {(p.owner_id, p.post_id) for p in emu.visible_posts()}
    clock.advance(86_400)
    published = emu.advance_activity()
    posts = [p for p in published if p.kind == "post"]
    assert len(posts) > 200
    assert all(start <= p.date <= clock() for p in published)
    assert [p.date for p in published] == sorted(p.date for p in published)
    per_group = Counter(p.owner_id for p in posts)
    ranked = sorted(per_group.values(), reverse=True)
    assert sum(ranked[:20]) > 0.5 * len(posts)  # a few busy communities write most
    quiet = [g for g in emu.world.groups.values() if g.state == "open" and g.activity < 0.5]
    assert quiet
    assert sum(per_group[-g.id] for g in quiet) < 0.05 * len(posts)
    truth = {(p.owner_id, p.post_id) for p in emu.visible_posts(accessible_only=False)}
    assert {(p.owner_id, p.item_id) for p in posts} <= truth - before
    comments = {(c.owner_id, c.comment_id) for c in emu.visible_comments()}
    new_comments = [p for p in published if p.kind == "comment"]
    assert new_comments
    assert {(c.owner_id, c.item_id) for c in new_comments if c.owner_id in {
        -g.id for g in emu.world.groups.values() if g.state == "open"
    }} <= comments  # fmt: skip
    assert emu.advance_activity() == []


async def test_a_published_post_tops_the_wall(clock: FakeClock, emu: VkEmulator) -> None:
    gid = open_group_ids(emu)[0]
    emu.pin_post(gid, None)
    post = emu.publish_post(gid, "Во дворе на Мира 5 третий день не вывозят мусор")
    response = emu.call(
        "wall.get", {"owner_id": str(-gid), "count": "1", "access_token": "vk-demo-service-1",
                     "v": "5.199"},
    )  # fmt: skip
    item = response["response"]["items"][0]
    assert (item["id"], item["text"], item["date"]) == (post.id, post.text, int(clock()))
    assert post.id > max(p.post_id for p in emu.visible_posts(gid) if p.post_id != post.id)
