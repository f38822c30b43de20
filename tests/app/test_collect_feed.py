"""The wired collect service against the emulator: the feed path and the planned wall polls."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import AsyncIterator, Callable, Iterator

import aiohttp
import pytest
from pytest_aiohttp.plugin import AiohttpServer
from sqlalchemy.orm import Session, sessionmaker

from app.collect import FEED_SOURCE_ID, FEED_STATE_KEY, CollectService, summary_line
from collector.quotas import DAILY_QUOTAS
from emulator.vk import FakeClock, VkEmulator
from storage.enums import Network
from storage.models import Source
from storage.repositories.messages import MessageRecord, MessageRepository
from storage.repositories.sources import SourceRepository
from tests.app.emulated_vk import emulated_service, migrated_sessions

SERVICE = ("vk-demo-service-1", "vk-demo-service-2")
USER = "vk-demo-user"

MakeService = Callable[..., CollectService]


@pytest.fixture
def sessions(db_url: str) -> Iterator[sessionmaker[Session]]:
    yield from migrated_sessions(db_url)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def emu(clock: FakeClock) -> VkEmulator:
    return VkEmulator(seed=11, groups=10, clock=clock)


@pytest.fixture
async def make_service(
    aiohttp_server: AiohttpServer,
    emu: VkEmulator,
    clock: FakeClock,
    sessions: sessionmaker[Session],
) -> AsyncIterator[MakeService]:
    server = await aiohttp_server(emu.create_app())
    async with aiohttp.ClientSession() as http:

        def make(*, user: bool) -> CollectService:
            tokens = [(t, "service") for t in SERVICE] + ([(USER, "user")] if user else [])
            return emulated_service(
                http=http,
                api_url=str(server.make_url("/method")),
                clock=clock,
                sessions=sessions,
                tokens=tokens,
            )

        yield make


def monitored(emu: VkEmulator) -> list[int]:
    return [g.id for g in emu.world.groups.values() if g.id != emu.world.official_group_id]


def open_groups(emu: VkEmulator) -> list[int]:
    return [g for g in monitored(emu) if emu.world.groups[g].state == "open"]


def add_sources(emu: VkEmulator, sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        repo = SourceRepository(s)
        for group in monitored(emu):
            repo.add(Network.VK, str(-group), screen_name=emu.world.groups[group].screen_name)


def truth(emu: VkEmulator) -> dict[str, str]:
    out: dict[str, str] = {}
    for group in open_groups(emu):
        out |= {f"{p.owner_id}_{p.post_id}": p.text for p in emu.visible_posts(group)}
        out |= {
            f"{c.owner_id}_{c.post_id}_{c.comment_id}": c.text for c in emu.visible_comments(group)
        }
    return out


def records(sessions: sessionmaker[Session]) -> list[MessageRecord]:
    with sessions() as s:
        return list(MessageRepository(s).iter_records())


def stored(sessions: sessionmaker[Session]) -> dict[str, str]:
    got = records(sessions)
    assert len(got) == len({r.external_id for r in got}), "a message was stored twice"
    return {r.external_id: r.text for r in got if not r.deleted}


def calls(emu: VkEmulator, token: str, method: str) -> int:
    return emu.token_stats(token).calls[method]


def publish(emu: VkEmulator, step: int) -> list[str]:
    """Publish a post on two walls and a comment under an older post; return their ids."""
    groups = open_groups(emu)
    ids = []
    for group in (groups[step % len(groups)], groups[(step + 3) % len(groups)]):
        post = emu.publish_post(group, f"Шаг {step}: во дворе на улице Ленина яма")
        ids.append(f"{-group}_{post.id}")
    group = groups[(step + 1) % len(groups)]
    older = sorted(emu.world.groups[group].posts)[-1]
    comment = emu.publish_comment(group, older, f"Шаг {step}: и у нас тоже")
    ids.append(f"{-group}_{older}_{comment.id}")
    return ids


async def test_the_feed_path_collects_new_items_without_reading_walls(
    emu: VkEmulator, clock: FakeClock, sessions: sessionmaker[Session], make_service: MakeService
) -> None:
    add_sources(emu, sessions)
    service = make_service(user=True)
    assert service.feed_api is not None
    first = await service.collect(due_only=False)
    assert first[0].source_id == FEED_SOURCE_ID
    assert first[0].ok, first[0]
    assert stored(sessions) == truth(emu)
    plan = service.plan
    assert plan is not None
    assert all(p.feed_covered for p in plan.sources.values())
    assert all(p.interval_seconds >= 3600 for p in plan.sources.values())
    with sessions() as s:
        closed = [r for r in SourceRepository(s).all() if r.health.disabled_reason]
    assert len(closed) == len(monitored(emu)) - len(open_groups(emu))

    walls_before = sum(calls(emu, t, "wall.get") for t in (*SERVICE, USER))
    published: list[str] = []
    for step in range(10):
        clock.advance(60)
        published += publish(emu, step)
        outcomes = await service.collect(due_only=True)
        feed = [o for o in outcomes if o.source_id == FEED_SOURCE_ID]
        assert feed, "the feed runs every minute"
        assert feed[0].ok, feed[0]
        assert "feed:" in summary_line(outcomes)
        # Every item published before this tick is stored by now.
        assert set(published) <= set(stored(sessions))
    # No per-community wall.get on these ticks: the feed brought everything.
    assert sum(calls(emu, t, "wall.get") for t in (*SERVICE, USER)) == walls_before
    assert calls(emu, USER, "wall.get") == 0, "walls are read by the service tokens"
    assert calls(emu, USER, "newsfeed.get") >= 10
    assert calls(emu, USER, "newsfeed.getComments") >= 10
    assert stored(sessions) == truth(emu)

    # A restart (a new service, the same database) resumes from the stored feed cursor.
    with sessions() as s:
        state = s.query(Source).filter(Source.external_id == f"state:{FEED_STATE_KEY}").one()
        assert state.cursor["cursor"]["posts_since"] is not None
        assert state.lease_owner is None
    restarted = make_service(user=True)
    clock.advance(60)
    published += publish(emu, 99)
    outcomes = await restarted.collect(due_only=True)
    assert outcomes[0].source_id == FEED_SOURCE_ID
    assert outcomes[0].inserted == 3, outcomes[0]
    assert stored(sessions) == truth(emu)

    for token in (*SERVICE, USER):
        stats = emu.token_stats(token)
        # No rate-limit or quota refusal; 15/18 are the closed and deleted communities.
        assert not stats.errors[6], (token, stats.errors)
        assert not stats.errors[29], (token, stats.errors)
        assert set(stats.errors) <= {15, 18}, (token, stats.errors)
        assert stats.calls["wall.get"] <= DAILY_QUOTAS["wall.get"]


async def test_without_a_user_token_walls_are_polled_on_the_plan(
    emu: VkEmulator, clock: FakeClock, sessions: sessionmaker[Session], make_service: MakeService
) -> None:
    add_sources(emu, sessions)
    service = make_service(user=False)
    assert service.feed_api is None
    first = await service.collect(due_only=False)
    assert all(o.source_id != FEED_SOURCE_ID for o in first)
    plan = service.plan
    assert plan is not None
    assert not any(p.feed_covered for p in plan.sources.values())
    assert plan.tokens == len(SERVICE)
    with sessions() as s:
        intervals = {
            str(r.id): r.poll_interval_seconds for r in SourceRepository(s).all() if r.cursor
        }
    assert intervals
    for key, seconds in intervals.items():
        assert seconds == round(plan.sources[key].interval_seconds)
        assert 60 <= seconds <= 6 * 3600

    published: list[str] = []
    walls_before = sum(calls(emu, t, "wall.get") for t in SERVICE)
    for step in range(3):
        published += publish(emu, step)
        clock.advance(max(intervals.values()) * 1.2)
        outcomes = await service.collect(due_only=True)
        assert outcomes
        assert all(o.ok for o in outcomes), outcomes
    assert sum(calls(emu, t, "wall.get") for t in SERVICE) > walls_before
    assert set(published) <= set(stored(sessions))
    assert stored(sessions) == truth(emu)
    for token in SERVICE:
        assert set(emu.token_stats(token).errors) <= {15, 18}
        assert calls(emu, token, "newsfeed.get") == 0


async def test_a_failed_feed_read_stores_nothing_and_the_next_one_catches_up(
    emu: VkEmulator,
    clock: FakeClock,
    sessions: sessionmaker[Session],
    make_service: MakeService,
    caplog: pytest.LogCaptureFixture,
) -> None:
    add_sources(emu, sessions)
    service = make_service(user=True)
    await service.collect(due_only=False)
    clock.advance(60)
    published = publish(emu, 1)
    emu.inject("error", method="newsfeed.get", error_code=10, count=10)
    with caplog.at_level(logging.WARNING, logger="app.collect"):
        outcomes = await service.collect(due_only=True)
    assert caplog.text.count("feed unavailable") == 1
    assert outcomes[0].source_id == FEED_SOURCE_ID
    assert not outcomes[0].ok
    assert "feed failed" in summary_line(outcomes)
    assert not set(published) & set(stored(sessions))
    with sessions() as s:
        state = s.query(Source).filter(Source.external_id == f"state:{FEED_STATE_KEY}").one()
        assert state.lease_owner is None, "the feed's lease is given back"
        assert all(r.lease_owner is None for r in SourceRepository(s).all())
    emu.clear_faults()
    clock.advance(60)
    published += publish(emu, 2)
    with caplog.at_level(logging.INFO, logger="app.collect"):
        outcomes = await service.collect(due_only=True)
    assert outcomes[0].ok, outcomes[0]
    assert "feed recovered" in caplog.text
    assert set(published) <= set(stored(sessions))
    assert stored(sessions) == truth(emu)


def test_the_feed_state_row_is_leased_by_one_process_and_is_no_source(
    sessions: sessionmaker[Session],
) -> None:
    now = dt.datetime(2026, 1, 1, 10, tzinfo=dt.UTC)
    with sessions.begin() as s:
        repo = SourceRepository(s)
        repo.add(Network.VK, "-1", screen_name="one")
        assert repo.claim_state("k", "a", now, lease_seconds=60) == {}
        assert repo.claim_state("k", "b", now, lease_seconds=60) is None
        repo.save_state("k", "a", {"cursor": {"posts_since": 5}})
        assert repo.claim_state("k", "b", now, lease_seconds=60) == {"cursor": {"posts_since": 5}}
        # An expired lease is taken over; the old holder can no longer save.
        later = now + dt.timedelta(seconds=61)
        assert repo.claim_state("k", "a", later, lease_seconds=60) is not None
        repo.release_state("k", "a")
        assert [r.external_id for r in repo.all()] == ["-1"]
        assert repo.claim_due("c", later, lease_seconds=60)[0].external_id == "-1"
        assert repo.claim_due("d", later, lease_seconds=60, due_only=False) == []
