"""Parsing what administrators type, and posting answers once with a guid."""

from __future__ import annotations

import pytest

from collector.reply import CommentReader, CommentWriter, ReplyPublisher, reply_guid
from collector.resolve import parse_group_ref
from tests.collector.conftest import MakeClient
from tests.fakes.fake_vk import FakeVk


@pytest.mark.parametrize(
    ("ref", "wanted"),
    [
        ("https://vk.com/kirov_online", "kirov_online"),
        ("http://m.vk.com/kirov_online?w=wall-1_2", "kirov_online"),
        ("vk.ru/club123", "123"),
        ("https://vk.com/public77/", "77"),
        ("@kirov", "kirov"),
        ("-123", "123"),
        ("123", "123"),
        ("event5", "5"),
        (" podslushano.kirov ", "podslushano.kirov"),
    ],
)
def test_group_references(ref: str, wanted: str) -> None:
    assert parse_group_ref(ref) == wanted


@pytest.mark.parametrize("ref", ["https://example.com/x", "a b", "", "x"])
def test_bad_references(ref: str) -> None:
    with pytest.raises(ValueError, match="not a VK community"):
        parse_group_ref(ref)


def test_guid_is_stable_and_short() -> None:
    assert reply_guid(42, 1) == reply_guid(42, 1)
    assert reply_guid(42, 1) != reply_guid(42, 2)
    assert len(reply_guid(42, 1)) <= 40


async def test_thread_reply_is_posted_once_and_verified(
    fake_vk: FakeVk, make_client: MakeClient
) -> None:
    fake_vk.comments[(-1, 5)] = [
        {"id": 6, "from_id": 9, "date": 1, "text": "Когда уберут снег?", "parents_stack": []}
    ]
    writer = make_client("community-token", name="c", kind="community")
    reader = make_client()
    assert isinstance(writer, CommentWriter)
    assert isinstance(reader, CommentReader)
    publisher = ReplyPublisher(writer=writer, reader=reader)
    guid = reply_guid("incident", 7)
    # The first attempt fails with a 502; the client's retry and a later re-publish reuse the
    # guid, so the answer appears once.
    fake_vk.fault("status", code=502, method="wall.createComment")
    first = await publisher.publish(
        owner_id=-1, post_id=5, text="Ответ ЦУР", guid=guid, from_group=1, reply_to_comment=6
    )
    second = await publisher.publish(
        owner_id=-1, post_id=5, text="Ответ ЦУР", guid=guid, from_group=1, reply_to_comment=6
    )
    assert first.verified
    assert second.comment_id == first.comment_id
    assert first.url == f"https://vk.com/wall-1_5?reply={first.comment_id}"
    replies = fake_vk.comments[(-1, 5)][0]["_replies"]
    assert [r["text"] for r in replies] == ["Ответ ЦУР"]
    posts = [f for m, f in fake_vk.requests if m == "wall.createComment"]
    assert {f["guid"] for f in posts} == {guid}
    assert posts[-1]["reply_to_comment"] == "6"


async def test_unverified_when_the_answer_is_not_there(
    fake_vk: FakeVk, make_client: MakeClient
) -> None:
    fake_vk.comments[(-1, 5)] = []
    publisher = ReplyPublisher(writer=make_client(kind="community"), reader=make_client())
    assert not await publisher.verify(-1, 5, 999)
