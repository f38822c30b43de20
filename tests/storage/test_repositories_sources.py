"""Sources: add, list, and leases on SQLite and PostgreSQL (including two claimers racing)."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from collector.health import SourceHealth
from storage.db import create_engine_for, make_sessionmaker
from storage.enums import Network
from storage.repositories.sources import LeaseLost, SourceExists, SourceRepository

NOW = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def writer(migrated_url: str) -> Iterator[Engine]:
    engine = create_engine_for(migrated_url, sqlite_begin="IMMEDIATE")
    yield engine
    engine.dispose()


@pytest.fixture
def sessions(writer: Engine) -> sessionmaker[Session]:
    return make_sessionmaker(writer)


def add_sources(sessions: sessionmaker[Session], n: int) -> list[int]:
    with sessions.begin() as s:
        repo = SourceRepository(s)
        return [repo.add(Network.VK, f"-{100 + i}", screen_name=f"g{i}").id for i in range(n)]


def test_add_find_and_duplicates(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        repo = SourceRepository(s)
        added = repo.add(
            Network.VK,
            "-42",
            screen_name="kirov",
            title="Киров",
            municipality="г. Киров",
            municipality_oktmo="33701000",
        )
        assert added.name == "kirov"
        assert added.cursor == {}
        assert added.health == SourceHealth()
    with sessions.begin() as s:
        repo = SourceRepository(s)
        assert repo.find(Network.VK, "-42") == added
        assert repo.find(Network.OK, "-42") is None
        with pytest.raises(SourceExists):
            repo.add(Network.VK, "-42")
        assert [r.id for r in repo.all()] == [added.id]


def test_claim_lease_rest_and_expiry(sessions: sessionmaker[Session]) -> None:
    (sid,) = add_sources(sessions, 1)
    with sessions.begin() as s:
        (got,) = SourceRepository(s).claim_due("a", NOW, lease_seconds=60)
        assert got.lease_owner == "a"
    with sessions.begin() as s:
        assert SourceRepository(s).claim_due("b", NOW, lease_seconds=60) == []
        assert SourceRepository(s).claim_due("b", NOW, lease_seconds=60, due_only=False) == []
        assert SourceRepository(s).claim(sid, "b", NOW, lease_seconds=60) is None
    with sessions.begin() as s:
        health = SourceHealth().succeeded(NOW, 5)
        SourceRepository(s).finish(
            sid,
            "a",
            health=health,
            next_due=NOW + dt.timedelta(minutes=5),
            cursor={"last_post_id": 7},
            last_seen_post_id="7",
        )
    with sessions.begin() as s:
        repo = SourceRepository(s)
        record = repo.get(sid)
        assert record.lease_owner is None
        assert record.cursor == {"last_post_id": 7}
        assert record.health.last_success_at == NOW
        # Resting until due: not claimed by the scheduler, but `collect --once` may take it.
        assert repo.claim_due("b", NOW, lease_seconds=60) == []
        assert [r.id for r in repo.claim_due("b", NOW, lease_seconds=60, due_only=False)] == [sid]


def test_expired_lease_is_taken_over_and_the_old_owner_cannot_commit(
    sessions: sessionmaker[Session],
) -> None:
    (sid,) = add_sources(sessions, 1)
    with sessions.begin() as s:
        SourceRepository(s).claim_due("a", NOW, lease_seconds=60)
    later = NOW + dt.timedelta(seconds=61)
    with sessions.begin() as s:
        (got,) = SourceRepository(s).claim_due("b", later, lease_seconds=60)
        assert got.lease_owner == "b"
    with pytest.raises(LeaseLost), sessions.begin() as s:
        SourceRepository(s).finish(
            sid, "a", health=SourceHealth(), next_due=later, cursor={"stolen": True}
        )
    with sessions.begin() as s:
        assert SourceRepository(s).get(sid).cursor == {}


def test_disabled_sources_are_not_claimed(sessions: sessionmaker[Session]) -> None:
    a, b = add_sources(sessions, 2)
    with sessions.begin() as s:
        repo = SourceRepository(s)
        repo.set_enabled(a, False)
        repo.claim(b, "x", NOW, lease_seconds=1)
        repo.finish(
            b, "x", health=SourceHealth(disabled_reason="closed: wall is disabled"), next_due=NOW
        )
    with sessions.begin() as s:
        assert SourceRepository(s).claim_due("y", NOW, lease_seconds=60, due_only=False) == []
        SourceRepository(s).set_enabled(b, True)
    with sessions.begin() as s:
        assert len(SourceRepository(s).claim_due("y", NOW, lease_seconds=60)) == 1


def test_two_claimers_racing_get_disjoint_sources(writer: Engine, migrated_url: str) -> None:
    sessions = make_sessionmaker(writer)
    ids = add_sources(sessions, 12)
    barrier = threading.Barrier(2)
    got: dict[str, list[int]] = {}
    errors: list[BaseException] = []

    def claim(owner: str) -> None:
        engine = create_engine_for(migrated_url, sqlite_begin="IMMEDIATE")
        try:
            with make_sessionmaker(engine).begin() as s:
                barrier.wait(timeout=10)
                got[owner] = [
                    r.id
                    for r in SourceRepository(s).claim_due(owner, NOW, lease_seconds=60, limit=8)
                ]
        except BaseException as err:  # reported below
            errors.append(err)
        finally:
            engine.dispose()

    threads = [threading.Thread(target=claim, args=(o,)) for o in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not errors
    assert not set(got["a"]) & set(got["b"])
    assert set(got["a"]) | set(got["b"]) <= set(ids)
    assert len(got["a"]) + len(got["b"]) >= 8
    with sessions.begin() as s:
        owners = {r.id: r.lease_owner for r in SourceRepository(s).all()}
    for owner in ("a", "b"):
        assert all(owners[i] == owner for i in got[owner])


@pytest.mark.postgres
def test_skip_locked_lets_a_second_claimer_take_the_rest(postgres_url: str) -> None:
    from storage.migrate import upgrade

    upgrade(postgres_url)
    engine = create_engine_for(postgres_url)
    try:
        sessions = make_sessionmaker(engine)
        ids = add_sources(sessions, 6)
        first = sessions()
        try:
            held = [
                r.id for r in SourceRepository(first).claim_due("a", NOW, lease_seconds=60, limit=3)
            ]
            # "a" has not committed: its rows are locked, "b" skips them without waiting.
            with sessions.begin() as s:
                taken = [r.id for r in SourceRepository(s).claim_due("b", NOW, lease_seconds=60)]
            assert sorted(held + taken) == ids
            first.commit()
        finally:
            first.close()
    finally:
        engine.dispose()
