"""Collection end to end over loopback HTTP into both databases: exactly once, with leases."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any

import aiohttp
import pytest
from pytest_aiohttp.plugin import AiohttpServer
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from app.collect import CollectService, summary_line
from collector.pool import VkClientPool
from collector.quotas import QuotaTracker
from collector.vk_client import Backoff, VkClient
from storage.db import create_engine_for, make_sessionmaker
from storage.enums import Network
from storage.migrate import upgrade
from storage.repositories.messages import MessageRepository
from storage.repositories.sources import SourceRepository
from tests.fakes.clock import FakeClock
from tests.fakes.fake_vk import FakeVk

OWNER = -77


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    upgrade(db_url)
    eng = create_engine_for(db_url, sqlite_begin="IMMEDIATE")
    yield eng
    eng.dispose()


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    return make_sessionmaker(engine)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def fake() -> FakeVk:
    fake = FakeVk()
    fake.walls[OWNER] = []
    return fake


@pytest.fixture
async def api(
    aiohttp_server: AiohttpServer, fake: FakeVk, clock: FakeClock
) -> AsyncIterator[VkClient]:
    server = await aiohttp_server(fake.app())
    async with aiohttp.ClientSession() as http:
        yield VkClient(
            session=http,
            token="vk1.a.service-token",
            api_url=str(server.make_url("/method")),
            quotas=QuotaTracker(clock=clock.now),
            backoff=Backoff(attempts=1),
            sleep=clock.sleep,
        )


@pytest.fixture
def source_id(sessions: sessionmaker[Session]) -> int:
    with sessions.begin() as s:
        return SourceRepository(s).add(Network.VK, str(OWNER), screen_name="kirov_online").id


def publish(fake: FakeVk, n: int, comments: int = 0) -> list[dict[str, Any]]:
    posts = []
    for _ in range(n):
        fake.next_id += 1
        pid = fake.next_id
        post = {
            "id": pid,
            "owner_id": OWNER,
            "from_id": OWNER,
            "date": 1_790_000_000 + pid,
            "text": f"пост {pid}",
            "comments": {"count": 0},
        }
        fake.walls[OWNER].append(post)
        fake.comments[(OWNER, pid)] = []
        for _ in range(comments):
            fake.next_id += 1
            fake.comments[(OWNER, pid)].append(
                {
                    "id": fake.next_id,
                    "from_id": 3,
                    "date": 1_790_000_000 + fake.next_id,
                    "text": f"коммент {fake.next_id}",
                    "parents_stack": [],
                }
            )
            post["comments"]["count"] += 1
        posts.append(post)
    return posts


def truth(fake: FakeVk) -> set[str]:
    ids = set()
    for post in fake.walls[OWNER]:
        ids.add(f"{OWNER}_{post['id']}")
        for c in fake.comments[(OWNER, post["id"])]:
            ids.add(f"{OWNER}_{post['id']}_{c['id']}")
    return ids


def stored(sessions: sessionmaker[Session]) -> list[str]:
    with sessions() as s:
        return [r.external_id for r in MessageRepository(s).iter_records()]


def service(
    sessions: sessionmaker[Session], api: VkClient, clock: FakeClock, owner: str = "p1", **kw: Any
) -> CollectService:
    kw.setdefault("jitter", lambda: 0.5)  # no spread: due times are exact
    return CollectService(
        sessions=sessions,
        api=api,
        owner=owner,
        clock=clock.now,
        poller_options={"batch_comments": False},
        **kw,
    )


async def test_initial_and_incremental_polls_match_the_wall_exactly(
    sessions: sessionmaker[Session],
    api: VkClient,
    fake: FakeVk,
    clock: FakeClock,
    source_id: int,
) -> None:
    publish(fake, 30, comments=2)
    svc = service(sessions, api, clock)
    (first,) = await svc.collect(due_only=False)
    assert first.ok
    assert first.inserted == 90
    assert sorted(stored(sessions)) == sorted(truth(fake))
    publish(fake, 4, comments=1)
    clock.advance(3600)
    (second,) = await svc.collect()
    assert second.new_posts == 4
    got = stored(sessions)
    assert len(got) == len(set(got))
    assert set(got) == truth(fake)
    with sessions() as s:
        record = SourceRepository(s).get(source_id)
    assert record.last_seen_post_id == str(max(p["id"] for p in fake.walls[OWNER]))
    assert record.health.consecutive_failures == 0
    assert record.health.last_success_at == clock.now()
    assert record.lease_owner is None
    assert record.lease_expires_at is not None
    assert record.lease_expires_at > clock.now()  # resting until the next interval
    assert await svc.collect() == []  # not due yet


async def test_a_crash_before_commit_loses_and_doubles_nothing(
    sessions: sessionmaker[Session],
    api: VkClient,
    fake: FakeVk,
    clock: FakeClock,
    source_id: int,
) -> None:
    publish(fake, 10, comments=1)

    def crash(*_: object) -> None:
        raise RuntimeError("killed mid-transaction")

    crashing = service(sessions, api, clock, after_store=crash)
    with pytest.raises(RuntimeError):
        await crashing.collect(due_only=False)
    assert stored(sessions) == []
    with sessions() as s:
        assert SourceRepository(s).get(source_id).cursor == {}
    # The crashed process's lease expires; another process polls and stores everything once.
    clock.advance(601)
    (outcome,) = await service(sessions, api, clock, owner="p2").collect()
    assert outcome.ok
    got = stored(sessions)
    assert sorted(got) == sorted(truth(fake))
    (again,) = await service(sessions, api, clock, owner="p2").collect(due_only=False)
    assert again.inserted == 0
    assert sorted(stored(sessions)) == sorted(got)


async def test_two_pollers_racing_for_one_source(
    sessions: sessionmaker[Session],
    api: VkClient,
    fake: FakeVk,
    clock: FakeClock,
    source_id: int,
) -> None:
    publish(fake, 12)
    a = service(sessions, api, clock, owner="a")
    b = service(sessions, api, clock, owner="b")
    # Scheduler mode: whoever claims first polls; the other finds the source leased, or
    # resting until its next due time, and polls nothing.
    outcomes_a, outcomes_b = await asyncio.gather(a.collect(), b.collect())
    assert len(outcomes_a) + len(outcomes_b) == 1
    assert sum(1 for m, _ in fake.requests if m == "wall.get") == 1
    assert sorted(stored(sessions)) == sorted(truth(fake))


async def test_a_poll_whose_lease_was_taken_over_is_discarded(
    sessions: sessionmaker[Session],
    api: VkClient,
    fake: FakeVk,
    clock: FakeClock,
    source_id: int,
) -> None:
    publish(fake, 5)
    slow = service(sessions, api, clock, owner="slow", lease_seconds=60)
    (claimed,) = slow._claim(due_only=False, limit=10)
    clock.advance(120)  # the slow process stalls past its lease
    (taken,) = await service(sessions, api, clock, owner="fast").collect()
    assert taken.ok
    outcome = await slow.poll_source(claimed)
    assert not outcome.ok
    assert "taken over" in (outcome.error or "")
    got = stored(sessions)
    assert len(got) == len(set(got)) == 5


async def test_closed_wall_disables_the_source_and_logs_once(
    sessions: sessionmaker[Session],
    api: VkClient,
    fake: FakeVk,
    clock: FakeClock,
    source_id: int,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="collector.health")
    publish(fake, 3)
    svc = service(sessions, api, clock)
    fake.fault(
        "error", code=15, message="Access denied: this wall available only for community members"
    )
    (outcome,) = await svc.collect(due_only=False)
    assert not outcome.ok
    with sessions() as s:
        record = SourceRepository(s).get(source_id)
    assert record.health.disabled_reason == (
        "closed: Access denied: this wall available only for community members"
    )
    assert record.health.consecutive_failures == 1
    assert await svc.collect(due_only=False) == []  # disabled: not polled again
    downs = [r for r in caplog.records if "unavailable" in r.getMessage()]
    assert len(downs) == 1
    assert downs[0].levelno == logging.WARNING


async def test_transient_failures_back_off_then_recover_logging_once(
    sessions: sessionmaker[Session],
    api: VkClient,
    fake: FakeVk,
    clock: FakeClock,
    source_id: int,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="collector.health")
    publish(fake, 3)
    svc = service(sessions, api, clock)
    for _ in range(3):
        fake.fault("truncated")
        (outcome,) = await svc.collect(due_only=False)
        assert not outcome.ok
    with sessions() as s:
        record = SourceRepository(s).get(source_id)
    assert record.health.consecutive_failures == 3
    assert "malformed JSON" in (record.health.last_error or "")
    assert record.lease_expires_at is not None
    assert record.lease_expires_at - clock.now() == dt.timedelta(seconds=1200)  # 300 * 2**2
    (outcome,) = await svc.collect(due_only=False)
    assert outcome.ok
    messages = [r.getMessage() for r in caplog.records]
    assert sum("unavailable" in m for m in messages) == 1
    assert sum("recovered" in m for m in messages) == 1
    assert stored(sessions)


async def test_quota_rest_defers_the_source(
    sessions: sessionmaker[Session],
    api: VkClient,
    fake: FakeVk,
    clock: FakeClock,
    source_id: int,
) -> None:
    publish(fake, 3)
    fake.fault("error", code=29, message="Rate limit reached")
    (outcome,) = await service(sessions, api, clock).collect(due_only=False)
    assert not outcome.ok
    with sessions() as s:
        record = SourceRepository(s).get(source_id)
    assert record.health.disabled_reason is None
    assert record.lease_expires_at == dt.datetime(2026, 11, 23, 21, 0, tzinfo=dt.UTC)


def test_summary_line() -> None:
    from app.collect import CollectOutcome

    line = summary_line(
        [
            CollectOutcome(1, "a", True, inserted=3),
            CollectOutcome(2, "b", False, error="VK error 15: closed"),
        ],
        skipped=1,
    )
    assert line == (
        "2 sources polled, 1 failed; 3 messages stored, 0 updated, 0 deleted; "
        "1 skipped (leased by another process); failed: b (VK error 15: closed)"
    )


async def test_next_due_times_are_spread(
    sessions: sessionmaker[Session], api: VkClient, fake: FakeVk, clock: FakeClock
) -> None:
    with sessions.begin() as s:
        repo = SourceRepository(s)
        ids = [repo.add(Network.VK, str(OWNER), screen_name="a").id]
    publish(fake, 2)
    draws = iter([0.0])
    svc = service(sessions, api, clock, jitter=lambda: next(draws))
    (outcome,) = await svc.collect(due_only=False)
    assert outcome.ok
    with sessions() as s:
        record = SourceRepository(s).get(ids[0])
    assert record.lease_expires_at is not None
    rest = (record.lease_expires_at - clock.now()).total_seconds()
    assert rest == pytest.approx(record.poll_interval_seconds * 0.9, abs=1)


async def test_collect_job_polls_due_sources_and_logs_a_summary(
    sessions: sessionmaker[Session],
    api: VkClient,
    fake: FakeVk,
    clock: FakeClock,
    source_id: int,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from app.collect import collect_job

    caplog.set_level(logging.INFO, logger="app.collect")
    publish(fake, 3)
    job = collect_job(service(sessions, api, clock))
    await job()
    await job()  # nothing due: silent
    lines = [r.getMessage() for r in caplog.records if r.name == "app.collect"]
    assert lines == ["1 sources polled, 0 failed; 3 messages stored, 0 updated, 0 deleted"]


async def test_many_sources_share_one_execute_for_their_first_pages(
    sessions: sessionmaker[Session], api: VkClient, fake: FakeVk, clock: FakeClock
) -> None:
    owners = [-501, -502, -503]
    with sessions.begin() as s:
        repo = SourceRepository(s)
        for owner in owners:
            repo.add(Network.VK, str(owner), screen_name=f"g{-owner}")
    for owner in owners[:2]:
        fake.walls[owner] = [
            {
                "id": i,
                "owner_id": owner,
                "from_id": owner,
                "date": 1_790_000_000 + i,
                "text": f"{owner} {i}",
            }
            for i in range(1, 4)
        ]
    outcomes = await service(sessions, api, clock).collect(due_only=False)
    assert sorted(o.ok for o in outcomes) == [False, True, True]
    methods = [m for m, _ in fake.requests]
    assert methods == ["execute"]  # three walls, one request
    assert len(stored(sessions)) == 6
    with sessions() as s:
        closed = SourceRepository(s).find(Network.VK, "-503")
    assert closed is not None
    assert (closed.health.disabled_reason or "").startswith("closed")


async def test_error_29_inside_the_batch_moves_the_walls_to_another_token_not_to_tomorrow(
    sessions: sessionmaker[Session],
    aiohttp_server: AiohttpServer,
    fake: FakeVk,
    clock: FakeClock,
) -> None:
    # The first token's wall.get quota is spent on VK's side (e.g. counted by a process that
    # has since restarted): inside the batched first pages VK answers false + error 29 for each
    # wall. Those walls used to rest until the quota's reset, hours away, although the second
    # token had its whole quota left.
    owners = [-601, -602]
    with sessions.begin() as s:
        repo = SourceRepository(s)
        for owner in owners:
            repo.add(Network.VK, str(owner), screen_name=f"g{-owner}")
    for owner in owners:
        fake.walls[owner] = [
            {
                "id": i,
                "owner_id": owner,
                "from_id": owner,
                "date": 1_790_000_000 + i,
                "text": f"Нет отопления в доме {i} на ул. Труда",
            }
            for i in range(1, 4)
        ]
    for _ in owners:
        fake.fault("error", code=29, message="Rate limit reached", method="wall.get")
    server = await aiohttp_server(fake.app())
    quotas = QuotaTracker(clock=clock.now)
    async with aiohttp.ClientSession() as http:
        clients = [
            VkClient(
                session=http,
                token=f"vk1.a.service-token-{n}",
                api_url=str(server.make_url("/method")),
                quotas=quotas,
                backoff=Backoff(attempts=1),
                sleep=clock.sleep,
                name=f"reader-{n}",
            )
            for n in (1, 2)
        ]
        pool = VkClientPool(clients, quotas=quotas, monotonic=lambda: 0.0)
        outcomes = await service(sessions, pool, clock).collect(due_only=False)  # type: ignore[arg-type]
    assert [o.ok for o in outcomes] == [True, True]
    assert len(stored(sessions)) == 6
    with sessions() as s:
        for owner in owners:
            record = SourceRepository(s).find(Network.VK, str(owner))
            assert record is not None
            assert record.health.consecutive_failures == 0
