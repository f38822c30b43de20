"""Ids, authors and addresses longer than their columns are fitted, never refused.

PostgreSQL's VARCHAR(n) refused a stand-in's 300-character topic id, a 500-character author or
a 5 000-character link, failing the transaction that stored the source's whole poll on every
retry: the source stalled. Ids are fitted deterministically (the same long id always finds
the same row), addresses are cut.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.orm import Session, sessionmaker

from collector.messages import CollectedMessage, Harvest
from collector.types import parse_comment, parse_post
from collector.vk_poller import PollResult, WallCursor
from storage.db import create_engine_for, make_sessionmaker
from storage.enums import Network
from storage.migrate import upgrade
from storage.repositories.harvests import HarvestRepository
from storage.repositories.messages import MessageRepository
from storage.repositories.sources import SourceRepository
from storage.types import fit_id

NOW = dt.datetime(2026, 12, 4, 9, 0, tzinfo=dt.UTC)
TOPIC = "7" * 300
POST = f"77_{TOPIC}"
COMMENTS = [f"{POST}_{'c' * 200}{n}" for n in range(2)]


@pytest.fixture
def sessions(db_url: str) -> sessionmaker[Session]:
    upgrade(db_url)
    return make_sessionmaker(create_engine_for(db_url))


def harvest(comments: list[str], deleted: tuple[str, ...] = ()) -> Harvest:
    post = CollectedMessage(
        network="ok",
        external_id=POST,
        kind="post",
        text="Третий день нет горячей воды на ул. Ленина, 12",
        posted_at=NOW,
        author_id="a" * 500,
        url="https://ok.ru/group/77/topic/" + "7" * 5000,
    )
    replies = [
        CollectedMessage(
            network="ok",
            external_id=cid,
            kind="comment",
            text=f"И у нас в доме {n} тоже",
            posted_at=NOW,
            parent=POST,
            author_id="u" * 100,
        )
        for n, cid in enumerate(comments)
    ]
    return Harvest(
        network="ok",
        messages=(post, *replies),
        cursor={},
        comment_sets={POST: frozenset(comments)},
        deleted=deleted,
    )


def test_fit_id_is_deterministic_distinct_and_within_the_limit() -> None:
    assert fit_id("-1_2", 128) == "-1_2"
    long_a, long_b = "я" * 129, "я" * 128 + "ю"
    assert len(fit_id(long_a, 128)) == 128
    assert fit_id(long_a, 128) == fit_id(long_a, 128)
    assert fit_id(long_a, 128) != fit_id(long_b, 128)


def test_an_ok_harvest_with_overlong_ids_is_stored_once_and_kept_in_step(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as s:
        source = SourceRepository(s).add(Network.OK, "77", screen_name="standin").id
        stats = HarvestRepository(s).store(source, harvest(COMMENTS), NOW)
    assert stats.inserted == 3
    with sessions.begin() as s:  # the same poll again: found, not inserted twice
        again = HarvestRepository(s).store(source, harvest(COMMENTS), NOW)
    assert (again.inserted, again.deleted) == (0, 0)
    with sessions.begin() as s:  # one comment gone, then the post
        HarvestRepository(s).store(source, harvest(COMMENTS[:1]), NOW)
    with sessions() as s:
        rows = {r.external_id: r for r in MessageRepository(s, network=Network.OK).iter_records()}
    assert set(rows) == {fit_id(e, 128) for e in [POST, *COMMENTS]}
    assert rows[fit_id(COMMENTS[1], 128)].deleted
    assert not rows[fit_id(COMMENTS[0], 128)].deleted
    post = rows[fit_id(POST, 128)]
    assert post.text == "Третий день нет горячей воды на ул. Ленина, 12"
    assert post.parent is None
    assert post.url is not None
    assert post.url.startswith("https://ok.ru/group/77/topic/777")
    assert len(post.url) == 1024
    assert rows[fit_id(COMMENTS[0], 128)].parent == fit_id(POST, 128)
    with sessions.begin() as s:
        gone = HarvestRepository(s).store(source, harvest([], deleted=(POST,)), NOW)
    assert gone.deleted == 2  # the post, and its last comment (its set is now empty)


def test_a_vk_poll_with_an_overlong_post_id_and_author_is_stored(
    sessions: sessionmaker[Session],
) -> None:
    owner = -4242
    big = 10**140
    post = parse_post(
        {
            "id": big,
            "owner_id": owner,
            "from_id": -(10**90),
            "date": 1764838800,
            "text": "Яма на дороге у школы № 5",
            "comments": {"count": 1},
        }
    )
    comment = parse_comment(
        {"id": big + 1, "from_id": 10**80, "date": 1764838900, "text": "Когда засыплют?"},
        owner_id=owner,
        post_id=big,
    )
    result = PollResult(
        owner_id=owner,
        posts=(post,),
        comments=(comment,),
        comment_sets={post.external_id: frozenset({comment.external_id})},
        deleted_posts=(),
        cursor=WallCursor(),
        new_posts=1,
        requests=1,
        lag_seconds=None,
    )
    with sessions.begin() as s:
        source = SourceRepository(s).add(Network.VK, str(owner), screen_name="standin").id
        assert MessageRepository(s).store_poll(source, result, NOW).inserted == 2
    with sessions.begin() as s:
        again = MessageRepository(s).store_poll(source, result, NOW)
    assert (again.inserted, again.deleted) == (0, 0)
