"""Messages: idempotent upserts, edits kept as versions, deletions marked, export records."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from collector.types import VkComment, VkGeo, VkPost
from collector.vk_poller import PollResult, WallCursor
from storage.db import make_sessionmaker
from storage.enums import MessageKind, Network
from storage.models import Message
from storage.repositories.messages import MessageRepository
from storage.repositories.sources import SourceRepository

NOW = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)
OWNER = -42


def post(pid: int, text: str = "", **kw: object) -> VkPost:
    return VkPost(
        owner_id=OWNER,
        id=pid,
        from_id=OWNER,
        date=NOW - dt.timedelta(hours=pid),
        text=text or f"post {pid}",
        comments_count=0,
        **kw,
    )  # type: ignore[arg-type]


def comment(pid: int, cid: int, text: str = "", **kw: object) -> VkComment:
    return VkComment(
        owner_id=OWNER,
        post_id=pid,
        id=cid,
        from_id=7,
        date=NOW,
        text=text or f"comment {cid}",
        **kw,
    )  # type: ignore[arg-type]


def result(
    posts: tuple[VkPost, ...] = (), comments: tuple[VkComment, ...] = (), **kw: object
) -> PollResult:
    values: dict[str, object] = {
        "owner_id": OWNER,
        "posts": posts,
        "comments": comments,
        "comment_sets": {},
        "deleted_posts": (),
        "cursor": WallCursor(),
        "new_posts": len(posts),
        "requests": 1,
        "lag_seconds": None,
    }
    values.update(kw)
    return PollResult(**values)  # type: ignore[arg-type]


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    return make_sessionmaker(engine)


@pytest.fixture
def source_id(sessions: sessionmaker[Session]) -> int:
    with sessions.begin() as s:
        return SourceRepository(s).add(Network.VK, str(OWNER), screen_name="kirov").id


def count(sessions: sessionmaker[Session]) -> int:
    with sessions() as s:
        return int(s.scalar(select(func.count()).select_from(Message)) or 0)


def test_storing_a_poll_twice_stores_it_once(
    sessions: sessionmaker[Session], source_id: int
) -> None:
    poll = result((post(1, geo=VkGeo(58.6, 49.6)), post(2)), (comment(1, 3),))
    with sessions.begin() as s:
        stats = MessageRepository(s).store_poll(source_id, poll, NOW)
    assert stats.inserted == 3
    with sessions.begin() as s:
        again = MessageRepository(s).store_poll(source_id, poll, NOW)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 3)
    assert count(sessions) == 3
    with sessions() as s:
        row = s.scalars(select(Message).where(Message.external_id == "-42_1_3")).one()
        parent = s.scalars(select(Message).where(Message.external_id == "-42_1")).one()
        assert row.kind == MessageKind.COMMENT
        assert row.parent_message_id == parent.id
        assert row.external_parent_id == "-42_1"
        assert parent.geo_lat == pytest.approx(58.6)
        assert parent.posted_at.tzinfo is not None


def test_edit_keeps_the_previous_text(sessions: sessionmaker[Session], source_id: int) -> None:
    with sessions.begin() as s:
        MessageRepository(s).store_poll(source_id, result((post(1, "Яма"),)), NOW)
    edited_at = NOW + dt.timedelta(minutes=5)
    with sessions.begin() as s:
        stats = MessageRepository(s).store_poll(
            source_id, result((post(1, "Яма у дома 5", edited_at=edited_at),)), NOW
        )
    assert stats.edited == 1
    with sessions.begin() as s:
        MessageRepository(s).store_poll(
            source_id, result((post(1, "Яма у дома 7", edited_at=edited_at),)), NOW
        )
    with sessions() as s:
        repo = MessageRepository(s)
        assert repo.versions("-42_1") == ["Яма", "Яма у дома 5"]
        (record,) = list(repo.iter_records())
        assert record.text == "Яма у дома 7"
        assert record.edited
        assert record.versions == 2


def test_deletions_are_marked_not_erased(sessions: sessionmaker[Session], source_id: int) -> None:
    first = result((post(1), post(2)), (comment(1, 3), comment(1, 4), comment(1, 5)))
    with sessions.begin() as s:
        MessageRepository(s).store_poll(source_id, first, NOW)
    stub = dataclasses.replace(comment(1, 3), deleted=True, from_id=None, text="")
    later = result(
        (),
        (stub, comment(1, 4)),
        deleted_posts=("-42_2",),
        comment_sets={"-42_1": frozenset({"-42_1_3", "-42_1_4"})},
    )
    with sessions.begin() as s:
        stats = MessageRepository(s).store_poll(source_id, later, NOW)
    assert stats.deleted == 3
    with sessions() as s:
        records = {r.external_id: r for r in MessageRepository(s).iter_records(batch=2)}
    assert count(sessions) == 5
    assert {k for k, r in records.items() if r.deleted} == {"-42_2", "-42_1_3", "-42_1_5"}
    assert records["-42_1_3"].text == "comment 3"  # the stub did not wipe the text


def test_export_record_form(sessions: sessionmaker[Session], source_id: int) -> None:
    with sessions.begin() as s:
        MessageRepository(s).store_poll(source_id, result((post(1),), (comment(1, 2),)), NOW)
    with sessions() as s:
        post_rec, comment_rec = MessageRepository(s).iter_records()
    assert post_rec.to_json() == {
        "network": "vk",
        "source": "kirov",
        "external_id": "-42_1",
        "kind": "post",
        "parent": None,
        "author_id": "-42",
        "text": "post 1",
        "posted_at": "2026-11-23T08:00:00+00:00",
        "url": "https://vk.com/wall-42_1",
        "edited": False,
        "edited_at": None,
        "deleted": False,
        "versions": 0,
    }
    assert comment_rec.to_json()["parent"] == "-42_1"
    assert comment_rec.to_json()["url"] == "https://vk.com/wall-42_1?reply=2"
