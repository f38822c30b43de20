"""The wired keyword search against the emulator: posts outside the configured communities."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator, Sequence

import aiohttp
import pytest
from pytest_aiohttp.plugin import AiohttpServer
from sqlalchemy.orm import Session, sessionmaker

from app.collect import (
    SEARCH_SOURCE_ID,
    SEARCH_SOURCE_NAME,
    SEARCH_STATE_KEY,
    CollectOutcome,
    CollectService,
    summary_line,
)
from emulator.vk import FakeClock, VkEmulator
from storage.enums import Network
from storage.models import Source
from storage.repositories.messages import MessageRecord, MessageRepository
from storage.repositories.sources import SourceRepository
from tests.app.emulated_vk import emulated_service, migrated_sessions

SERVICE = ("vk-demo-service-1", "vk-demo-service-2")
USER = "vk-demo-user"
KEYWORD = "дирижабль"

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

        def make(
            *, keywords: Sequence[str] = (KEYWORD,), interval: float = 600, user: bool = False
        ) -> CollectService:
            tokens = [(t, "service") for t in SERVICE] + ([(USER, "user")] if user else [])
            return emulated_service(
                http=http,
                api_url=str(server.make_url("/method")),
                clock=clock,
                sessions=sessions,
                tokens=tokens,
                search_keywords=keywords,
                search_interval=interval,
            )

        yield make


def open_groups(emu: VkEmulator) -> list[int]:
    return [
        g.id
        for g in emu.world.groups.values()
        if g.id != emu.world.official_group_id and g.state == "open"
    ]


def configure(emu: VkEmulator, sessions: sessionmaker[Session], groups: Sequence[int]) -> None:
    with sessions.begin() as s:
        repo = SourceRepository(s)
        for group in groups:
            repo.add(Network.VK, str(-group), screen_name=emu.world.groups[group].screen_name)


def records(sessions: sessionmaker[Session]) -> list[MessageRecord]:
    with sessions() as s:
        got = list(MessageRepository(s).iter_records())
    assert len(got) == len({r.external_id for r in got}), "a message was stored twice"
    return got


def found_by_search(sessions: sessionmaker[Session]) -> set[str]:
    return {r.external_id for r in records(sessions) if r.source == SEARCH_SOURCE_NAME}


def searches(emu: VkEmulator, tokens: Sequence[str] = SERVICE) -> int:
    return sum(emu.token_stats(t).calls["newsfeed.search"] for t in tokens)


def search_outcome(outcomes: Sequence[CollectOutcome]) -> CollectOutcome | None:
    got = [o for o in outcomes if o.source_id == SEARCH_SOURCE_ID]
    assert len(got) <= 1
    return got[0] if got else None


async def test_posts_outside_the_sources_are_stored_once_under_the_search_row(
    emu: VkEmulator, clock: FakeClock, sessions: sessionmaker[Session], make_service: MakeService
) -> None:
    groups = open_groups(emu)
    outside, inside = groups[:2], groups[2:]
    configure(emu, sessions, inside)
    expected = {
        f"{-g}_{emu.publish_post(g, f'Над школой завис {KEYWORD}, дети боятся').id}"
        for g in outside
    }
    in_source = f"{-inside[0]}_{emu.publish_post(inside[0], f'Опять {KEYWORD} над дорогой').id}"
    service = make_service()
    assert service.search_api is not None

    outcomes = await service.collect(due_only=False)
    searched = search_outcome(outcomes)
    assert searched is not None
    assert searched.ok, searched
    assert searched.inserted == len(expected)
    assert "search: 2 found, 2 stored" in summary_line(outcomes)
    assert found_by_search(sessions) == expected
    # The configured community's post is stored once, by its own source's wall poll.
    mine = [r for r in records(sessions) if r.external_id == in_source]
    assert [r.source for r in mine] == [emu.world.groups[inside[0]].screen_name]

    # The search row: disabled, holding the cursor, not a source (hidden from `sources list`).
    with sessions() as s:
        row = s.query(Source).filter(Source.external_id == f"state:{SEARCH_STATE_KEY}").one()
        assert not row.enabled
        assert row.screen_name == SEARCH_SOURCE_NAME
        assert row.municipality is None
        assert row.lease_owner is None
        assert row.cursor["cursor"]["since"][KEYWORD] > 0
        assert SEARCH_SOURCE_NAME not in {r.name for r in SourceRepository(s).all()}

    # A second search, and a restarted service, store nothing new.
    clock.advance(601)
    again = search_outcome(await service.collect(due_only=True))
    assert again is not None
    assert again.ok, again
    assert again.inserted == 0
    clock.advance(601)
    restarted = search_outcome(await make_service().collect(due_only=True))
    assert restarted is not None
    assert restarted.inserted == 0
    assert found_by_search(sessions) == expected

    # A new matching post outside is found by the next search.
    clock.advance(601)
    late = f"{-outside[0]}_{emu.publish_post(outside[0], f'Снова {KEYWORD}').id}"
    last = search_outcome(await service.collect(due_only=True))
    assert last is not None
    assert last.inserted == 1
    assert found_by_search(sessions) == expected | {late}
    for token in SERVICE:
        assert set(emu.token_stats(token).errors) <= {15, 18}


async def test_no_search_without_keywords(
    emu: VkEmulator, sessions: sessionmaker[Session], make_service: MakeService
) -> None:
    groups = open_groups(emu)
    configure(emu, sessions, groups[2:])
    emu.publish_post(groups[0], f"Над школой завис {KEYWORD}")
    service = make_service(keywords=["  "], user=True)
    assert service.search_api is None
    outcomes = await service.collect(due_only=False)
    assert search_outcome(outcomes) is None
    assert searches(emu, (*SERVICE, USER)) == 0
    assert not found_by_search(sessions)
    assert "search" not in summary_line(outcomes)


async def test_the_search_runs_at_most_every_interval(
    emu: VkEmulator, clock: FakeClock, sessions: sessionmaker[Session], make_service: MakeService
) -> None:
    configure(emu, sessions, open_groups(emu)[2:])
    service = make_service(keywords=[KEYWORD, "воздушный шар"], interval=900)
    assert search_outcome(await service.collect(due_only=True)) is not None
    first = searches(emu)
    assert first == 2, "one call per keyword"

    clock.advance(600)
    assert search_outcome(await service.collect(due_only=True)) is None
    # Nor does another process (or a restart) search before the interval is over.
    assert search_outcome(await make_service(interval=900).collect(due_only=False)) is None
    assert searches(emu) == first

    clock.advance(301)
    assert search_outcome(await service.collect(due_only=True)) is not None
    assert searches(emu) == 2 * first
