"""Parsing real VK payloads (VkNet fixtures) into the collector's frozen values."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from collector.types import (
    parse_comments_page,
    parse_feed_page,
    parse_group,
    parse_post,
    parse_wall_page,
)

FIXTURES = Path(__file__).parent / "fixtures"


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))["response"]


def test_wall_get_with_repost_and_geo() -> None:
    page = parse_wall_page(load("Wall_Get_Geo_NormalCase.json"))
    assert page.count == 165
    post = page.items[0]
    assert (post.owner_id, post.id, post.from_id) == (1563369, 1164, 1563369)
    assert post.date == dt.datetime(2014, 4, 19, 13, 58, 26, tzinfo=dt.UTC)
    assert post.date.tzinfo is dt.UTC
    assert post.reposted_text.startswith("Мы оформляем храм")
    assert post.geo is not None
    assert post.geo.latitude == pytest.approx(47.282735079717)
    assert post.geo.longitude == pytest.approx(39.697793677442)
    assert post.geo.place == "Neklinovskiy pereulok, Rostov-na-Donu"
    assert (post.comments_count, post.likes_count, post.reposts_count) == (0, 1, 0)
    assert post.views_count is None
    assert not post.is_pinned
    assert not post.edited
    assert not post.is_deleted
    assert post.url == "https://vk.com/wall1563369_1164"
    assert post.external_id == "1563369_1164"


def test_posts_are_frozen() -> None:
    post = parse_wall_page(load("Wall_Get_Geo_NormalCase.json")).items[0]
    with pytest.raises(dataclasses.FrozenInstanceError):
        post.text = "x"  # type: ignore[misc]


def test_extended_wall_get_ignores_profiles() -> None:
    page = parse_wall_page(load("Wall_Get_ExtendedVersion_GenerateOutParametersCorrectly.json"))
    assert page.count == 42
    assert page.items[0].attachment_types == ()
    assert page.items[0].post_type == "post"


def test_get_by_id_views_and_counts() -> None:
    post = parse_post(load("Wall_GetById_Donut.json")["items"][0])
    assert (post.owner_id, post.id, post.views_count, post.comments_count) == (-322, 123, 9, 0)
    assert post.text == "В этом посте нет доната"


def test_pinned_edited_modern_post() -> None:
    raw = {
        "id": 12239,
        "owner_id": -48632629,
        "from_id": -48632629,
        "date": 1745391780,
        "edited": 1745395380,
        "is_pinned": 1,
        "type": "post",
        "inner_type": "wall_wallpost",
        "comments": {"count": 3},
        "likes": {"count": 17},
        "views": {"count": 1508},
        "signer_id": 77,
    }
    post = parse_post(raw)
    assert post.is_pinned
    assert post.edited
    assert post.edited_at == dt.datetime.fromtimestamp(1745395380, tz=dt.UTC)
    assert post.author_id == 77
    assert post.comments_count == 3


def test_comments_with_threads_and_deleted_stub() -> None:
    page = parse_comments_page(load("Wall_GetComments802.json"), owner_id=-69459624, post_id=482121)
    assert (page.count, page.current_level_count) == (3, 6)
    first, stub, third = page.items
    assert first.id == 482124
    assert first.from_id == 287979664
    assert first.text == "Текст 1го комментария"
    assert first.thread_count == 1
    assert first.thread == ()
    assert stub.deleted
    assert stub.from_id is None
    assert stub.text == ""
    assert stub.owner_id == -69459624
    assert stub.post_id == 482121
    assert third.external_id == "-69459624_482121_482418"
    assert third.post_external_id == "-69459624_482121"
    assert third.url == "https://vk.com/wall-69459624_482121?reply=482418"


def test_comments_without_owner_take_context_and_likes() -> None:
    page = parse_comments_page(
        load("Wall_GetComments_ReturnLikesAndAttachments.json"), owner_id=-5, post_id=9
    )
    second = page.items[1]
    assert (second.owner_id, second.post_id, second.id) == (-5, 9, 3810)
    assert second.likes_count == 1
    assert second.attachment_types == ("photo",)


def test_thread_replies_are_parsed_with_parents() -> None:
    raw = {
        "id": 10,
        "from_id": 1,
        "date": 1,
        "text": "q",
        "parents_stack": [],
        "thread": {
            "count": 2,
            "items": [
                {
                    "id": 11,
                    "from_id": 2,
                    "date": 2,
                    "text": "a",
                    "parents_stack": [10],
                    "reply_to_comment": 10,
                    "reply_to_user": 1,
                },
            ],
        },
    }
    from collector.types import parse_comment

    comment = parse_comment(raw, owner_id=-1, post_id=5)
    assert comment.thread_count == 2
    (reply,) = comment.thread
    assert reply.parent_comment_id == 10
    assert reply.reply_to_comment == 10
    assert reply.url == "https://vk.com/wall-1_5?reply=11&thread=10"


def test_groups_get_by_id_legacy_array() -> None:
    groups = [
        parse_group(g) for g in load("Groups_GetById_NormalCaseAllFields_ReturnTwoItems.json")
    ]
    assert groups[0].id == 17683660
    assert groups[0].owner_id == -17683660
    assert groups[0].screen_name == "club17683660"
    assert groups[0].type == "event"


def test_newsfeed_get_keeps_only_posts() -> None:
    raw = load("NewsFeed_Get2.json")
    page = parse_feed_page(raw)
    wanted = [i for i in raw["items"] if i.get("type") == "post"]
    assert len(page.items) == len(wanted) > 0
    assert page.items[0].owner_id == wanted[0]["source_id"]
    assert page.items[0].id == wanted[0]["post_id"]
    assert page.next_from == raw["next_from"]


def test_newsfeed_search_cursor_and_total() -> None:
    raw = load("NewsFeed_Search_NextFrom_NotNull.json")
    page = parse_feed_page(raw)
    assert page.total_count == 150428
    assert page.next_from
    assert len(page.items) == len(raw["items"])
    dates = [p.date for p in page.items]
    assert dates == sorted(dates, reverse=True)
