"""Job leases on SQLite and PostgreSQL: one holder at a time, run out, dead owners, heartbeat."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from storage.db import create_engine_for, make_sessionmaker
from storage.enums import Network
from storage.repositories.jobs import JobLeaseRepository
from storage.repositories.sources import SourceRepository

NOW = dt.datetime(2026, 12, 3, 9, 0, tzinfo=dt.UTC)
LATER = NOW + dt.timedelta(seconds=61)


@pytest.fixture
def sessions(migrated_url: str) -> Iterator[sessionmaker[Session]]:
    engine: Engine = create_engine_for(migrated_url, sqlite_begin="IMMEDIATE")
    yield make_sessionmaker(engine)
    engine.dispose()


def acquire(sm: sessionmaker[Session], owner: str, now: dt.datetime, **kw: object) -> bool:
    with sm.begin() as s:
        return JobLeaseRepository(s).acquire("process", owner, now, lease_seconds=60, **kw)  # type: ignore[arg-type]


def test_one_holder_until_released_or_run_out(sessions: sessionmaker[Session]) -> None:
    assert acquire(sessions, "a", NOW)
    assert not acquire(sessions, "b", NOW + dt.timedelta(seconds=59))
    with sessions.begin() as s:
        assert JobLeaseRepository(s).holder("process", NOW) == "a"
        assert JobLeaseRepository(s).release("process", "a")
        assert not JobLeaseRepository(s).release("process", "a")  # not held any more
    assert acquire(sessions, "b", NOW)
    assert acquire(sessions, "c", LATER)  # b never renewed: it ran out
    with sessions.begin() as s:
        assert JobLeaseRepository(s).holder("process", LATER) == "c"


def test_the_heartbeat_keeps_the_lease(sessions: sessionmaker[Session]) -> None:
    assert acquire(sessions, "a", NOW)
    with sessions.begin() as s:
        assert (
            JobLeaseRepository(s).renew("a", NOW + dt.timedelta(seconds=40), lease_seconds=60) == 1
        )
    assert not acquire(sessions, "b", LATER)


def test_a_dead_owner_is_taken_over_at_once(sessions: sessionmaker[Session]) -> None:
    assert acquire(sessions, "host:1:dead", NOW)
    assert not acquire(sessions, "b", NOW, is_dead=lambda owner: False)
    assert acquire(sessions, "b", NOW, is_dead=lambda owner: owner == "host:1:dead")
    with sessions.begin() as s:
        assert JobLeaseRepository(s).owners() == ["b"]
        assert JobLeaseRepository(s).release_owned(["b"]) == 1
        assert JobLeaseRepository(s).owners() == []


def test_two_processes_racing_for_a_job_get_it_once(sessions: sessionmaker[Session]) -> None:
    results: list[bool] = []
    barrier = threading.Barrier(4)

    def race(owner: str) -> None:
        barrier.wait()
        results.append(acquire(sessions, owner, NOW))

    threads = [threading.Thread(target=race, args=(f"p{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [False, False, False, True]


def test_source_leases_renew_and_are_given_back_by_owner(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        repo = SourceRepository(s)
        ids = [repo.add(Network.VK, f"-{i}", screen_name=f"г{i}").id for i in (1, 2, 3)]
        (first,) = repo.claim_due("host:7:dead", NOW, lease_seconds=60, limit=1)
        repo.claim_due("me", NOW, lease_seconds=60, limit=1)
        assert repo.lease_owners() == ["host:7:dead", "me"]
        assert repo.renew("me", NOW + dt.timedelta(seconds=50), lease_seconds=60) == 1
    with sessions.begin() as s:
        repo = SourceRepository(s)
        # At LATER the dead owner's lease ran out, ours was renewed.
        claimed = repo.claim_due("other", LATER, lease_seconds=60)
        assert {c.id for c in claimed} == {first.id, ids[2]}
        assert repo.release_owned(["me", "other"]) == 3
        assert repo.lease_owners() == []
