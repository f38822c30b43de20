"""The collect service against the VK emulator into both databases: its ground truth, exactly."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import aiohttp
import pytest
from pytest_aiohttp.plugin import AiohttpServer
from sqlalchemy.orm import Session, sessionmaker

from app.collect import CollectService
from emulator.vk import FakeClock, VkEmulator
from storage.enums import Network
from storage.repositories.messages import MessageRecord, MessageRepository
from storage.repositories.sources import SourceRepository
from tests.app.emulated_vk import emulated_service, migrated_sessions

TOKENS = ("vk-demo-service-1", "vk-demo-service-2", "vk-demo-service-3")


@pytest.fixture
def sessions(db_url: str) -> Iterator[sessionmaker[Session]]:
    yield from migrated_sessions(db_url)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def emu(clock: FakeClock) -> VkEmulator:
    return VkEmulator(seed=7, groups=12, clock=clock)


@pytest.fixture
async def service(
    aiohttp_server: AiohttpServer,
    emu: VkEmulator,
    clock: FakeClock,
    sessions: sessionmaker[Session],
) -> AsyncIterator[CollectService]:
    server = await aiohttp_server(emu.create_app())
    async with aiohttp.ClientSession() as http:
        yield emulated_service(
            http=http,
            api_url=str(server.make_url("/method")),
            clock=clock,
            sessions=sessions,
            tokens=[(t, "service") for t in TOKENS],
        )


def monitored(emu: VkEmulator) -> list[int]:
    return [g.id for g in emu.world.groups.values() if g.id != emu.world.official_group_id]


def visible(records: list[MessageRecord]) -> dict[str, str]:
    deleted = {r.external_id for r in records if r.deleted}
    return {
        r.external_id: r.text
        for r in records
        if not r.deleted and (r.parent is None or r.parent not in deleted)
    }


def truth(emu: VkEmulator) -> dict[str, str]:
    out: dict[str, str] = {}
    for group in monitored(emu):
        if emu.world.groups[group].state != "open":  # closed, deleted, banned: unreadable
            continue
        out |= {f"{p.owner_id}_{p.post_id}": p.text for p in emu.visible_posts(group)}
        out |= {
            f"{c.owner_id}_{c.post_id}_{c.comment_id}": c.text for c in emu.visible_comments(group)
        }
    return out


def records(sessions: sessionmaker[Session]) -> list[MessageRecord]:
    with sessions() as s:
        return list(MessageRepository(s).iter_records())


async def test_initial_sync_and_incremental_polls_match_the_emulator(
    emu: VkEmulator, clock: FakeClock, sessions: sessionmaker[Session], service: CollectService
) -> None:
    with sessions.begin() as s:
        repo = SourceRepository(s)
        for group in monitored(emu):
            repo.add(Network.VK, str(-group), screen_name=emu.world.groups[group].screen_name)
    first = await service.collect(due_only=False)
    readable = {g.id for g in emu.world.groups.values() if g.state == "open"}
    assert sum(o.ok for o in first) == len(readable & set(monitored(emu)))
    got = records(sessions)
    assert len(got) == len({r.external_id for r in got})
    assert visible(got) == truth(emu)

    # Two hours of activity, plus an edit, a deletion and a new pinned post on the busiest wall.
    busiest = max(
        readable - {emu.world.official_group_id}, key=lambda g: len(emu.world.groups[g].posts)
    )
    posts = sorted(emu.world.groups[busiest].posts)
    for step in range(8):
        clock.advance(900)
        emu.advance_activity()
        if step == 2:
            emu.edit_post(busiest, posts[-1], "Отредактировано: яма засыпана частично")
            emu.delete_post(busiest, posts[-2])
            pinned = emu.publish_post(busiest, "Закреплённое объявление")
            emu.pin_post(busiest, pinned.id)
        await service.collect(due_only=False)
    got = records(sessions)
    assert len(got) == len({r.external_id for r in got})
    assert visible(got) == truth(emu)
    by_id = {r.external_id: r for r in got}
    assert by_id[f"{-busiest}_{posts[-2]}"].deleted
    edited = by_id[f"{-busiest}_{posts[-1]}"]
    assert edited.edited
    assert edited.versions == 1
    errors = {t: emu.token_stats(t).errors for t in TOKENS}
    assert all(e[6] == 0 for e in errors.values()), errors
