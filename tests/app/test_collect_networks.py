"""OK, Telegram and file sources through the collect service into both databases, exactly."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from pytest_aiohttp.plugin import AiohttpServer
from sqlalchemy.orm import Session, sessionmaker

from app.collect import process_owner_id
from app.collect_networks import NetworkCollectService, PollerFactory
from collector.ok_client import OkClient
from collector.ok_poller import OkGroupPoller
from collector.quotas import utcnow
from collector.replay import ReplayPoller
from collector.telegram_client import TelegramClient
from collector.telegram_poller import TelegramChannelPoller
from collector.vk_client import Backoff
from emulator.ok import DEMO_ACCESS_TOKEN, DEMO_APP_KEY, DEMO_APP_SECRET, OkEmulator
from emulator.telegram import TelegramEmulator
from emulator.vk import FakeClock
from storage.enums import Network
from storage.repositories.messages import MessageRepository
from storage.repositories.sources import SourceRepository
from tests.app.emulated_vk import fake_now, fake_sleep, migrated_sessions


@pytest.fixture
def sessions(db_url: str) -> Iterator[sessionmaker[Session]]:
    yield from migrated_sessions(db_url)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def ok_emu(clock: FakeClock) -> OkEmulator:
    return OkEmulator(seed=5, groups=3, posts=30, clock=clock)


@pytest.fixture
def tg_emu(clock: FakeClock) -> TelegramEmulator:
    return TelegramEmulator(seed=5, channels=2, posts=50, clock=clock)


@pytest.fixture
async def service(
    aiohttp_server: AiohttpServer,
    ok_emu: OkEmulator,
    tg_emu: TelegramEmulator,
    clock: FakeClock,
    sessions: sessionmaker[Session],
) -> AsyncIterator[NetworkCollectService]:
    app = web.Application()
    ok_emu.add_routes(app)
    tg_emu.add_routes(app)
    server = await aiohttp_server(app)
    now, sleep = fake_now(clock), fake_sleep(clock)
    async with aiohttp.ClientSession() as http:
        ok = OkClient(
            session=http,
            application_key=DEMO_APP_KEY,
            application_secret=DEMO_APP_SECRET,
            access_token=DEMO_ACCESS_TOKEN,
            api_url=str(server.make_url("/fb.do")),
            backoff=Backoff(attempts=3, jitter=lambda: 0.5),
            sleep=sleep,
            monotonic=clock,
        )
        tg = TelegramClient(
            session=http, base_url=str(server.make_url("")), sleep=sleep, monotonic=clock
        )
        pollers: dict[Network, PollerFactory] = {
            Network.OK: lambda s: OkGroupPoller(ok, s.external_id, page_size=10, clock=now),
            Network.TELEGRAM: lambda s: TelegramChannelPoller(tg, s.external_id, clock=now),
            Network.FILE: lambda s: ReplayPoller(Path(s.external_id), clock=now),
        }
        yield NetworkCollectService(
            sessions=sessions,
            pollers=pollers,
            owner="test",
            clock=now,
            concurrency=1,
            jitter=lambda: 0.5,
        )


def add_sources(
    sessions: sessionmaker[Session], ok_emu: OkEmulator, tg_emu: TelegramEmulator
) -> None:
    with sessions.begin() as s:
        repo = SourceRepository(s)
        for group in ok_emu.world.groups.values():
            repo.add(Network.OK, str(group.uid), screen_name=group.shortname, title=group.name)
        for channel in tg_emu.channels.values():
            repo.add(Network.TELEGRAM, channel.username, screen_name=channel.username)


def visible(sessions: sessionmaker[Session], network: Network) -> dict[str, str]:
    with sessions() as s:
        records = list(MessageRepository(s, network=network).iter_records())
    assert len({r.external_id for r in records}) == len(records)  # nothing twice
    return {r.external_id: r.text for r in records if not r.deleted}


def ok_truth(emu: OkEmulator) -> dict[str, str]:
    out: dict[str, str] = {}
    for uid in emu.world.groups:
        out.update(emu.world.truth(uid))
    return out


def tg_truth(emu: TelegramEmulator) -> dict[str, str]:
    out: dict[str, str] = {}
    for channel in emu.channels.values():
        out.update(emu.truth(channel.username))
    return out


async def test_ok_matches_the_ground_truth_through_changes_and_faults(
    service: NetworkCollectService,
    sessions: sessionmaker[Session],
    ok_emu: OkEmulator,
    tg_emu: TelegramEmulator,
    clock: FakeClock,
) -> None:
    add_sources(sessions, ok_emu, tg_emu)
    outcomes = await service.collect(due_only=False)
    assert all(o.ok for o in outcomes), outcomes
    # Each outcome names its network (the metrics' label).
    assert {o.network for o in outcomes} == {"ok", "telegram"}
    assert visible(sessions, Network.OK) == ok_truth(ok_emu)
    world = ok_emu.world
    uid, group = next(iter(world.groups.items()))
    topics = world.live_topics(uid)
    # New posts (more than a page), a new comment with an edited one, edits and deletions.
    clock.advance(600)
    for n in range(12):
        world.publish_topic(uid, f"Новая жалоба №{n}: на ул. Мира не горят фонари")
    commented = next(t for t in topics[:8] if group.comments[t.id])
    first = group.comments[commented.id][0]
    world.edit_comment(uid, commented.id, first.id, "Исправлено: яма уже 2 метра!")
    world.publish_comment(uid, commented.id, "И у нас то же самое 😡")
    old_text = topics[1].text
    world.edit_topic(uid, topics[1].id, "Текст поста изменён администратором")
    world.delete_topic(uid, topics[2].id)
    other = next(t for t in topics[3:8] if world.live_comments(uid, t.id))
    world.delete_comment(uid, other.id, world.live_comments(uid, other.id)[0].id)
    # Transient faults on the way: a server error, a cut-off body, a 502.
    ok_emu.inject("error", error_code=2, method="mediatopic.getTopics")
    ok_emu.inject("truncate", method="discussions.getComments")
    ok_emu.inject("http", status=502, method="mediatopic.getTopics")
    clock.advance(3600)
    outcomes = await service.collect(due_only=False)
    assert all(o.ok for o in outcomes), outcomes
    assert not ok_emu.faults.pending()
    assert visible(sessions, Network.OK) == ok_truth(ok_emu)
    with sessions() as s:
        repo = MessageRepository(s, network=Network.OK)
        assert repo.versions(f"{uid}_{topics[1].id}") == [old_text]
    # Nothing new: nothing stored, nothing updated.
    clock.advance(3600)
    again = [o for o in await service.collect(due_only=False) if o.source.startswith("ok_")]
    assert sum(o.inserted + o.updated + o.deleted for o in again) == 0


async def test_ok_throttling_and_token_errors_store_nothing_and_catch_up(
    service: NetworkCollectService,
    sessions: sessionmaker[Session],
    ok_emu: OkEmulator,
    tg_emu: TelegramEmulator,
    clock: FakeClock,
) -> None:
    add_sources(sessions, ok_emu, tg_emu)
    await service.collect(due_only=False)
    uid = next(iter(ok_emu.world.groups))
    ok_emu.world.publish_topic(uid, "Снег не убирают третий день")
    ok_emu.inject("error", error_code=8)  # FLOOD_BLOCKED: the token rests
    clock.advance(600)
    outcomes = [o for o in await service.collect(due_only=False) if o.source.startswith("ok_")]
    assert not outcomes[0].ok
    assert "OK error 8" in (outcomes[0].error or "")
    assert visible(sessions, Network.OK) != ok_truth(ok_emu)
    with sessions() as s:
        failed = SourceRepository(s).get(outcomes[0].source_id)
    assert failed.health.consecutive_failures == 1
    assert failed.health.disabled_reason is None
    clock.advance(120)
    await service.collect(due_only=False)
    assert visible(sessions, Network.OK) == ok_truth(ok_emu)
    # A closed group is disabled with its reason; the others go on.
    closed = next(iter(ok_emu.world.groups.values()))
    closed.state = "closed"
    clock.advance(600)
    await service.collect(due_only=False)
    with sessions() as s:
        source = SourceRepository(s).find(Network.OK, str(closed.uid))
    assert source is not None
    assert (source.health.disabled_reason or "").startswith("group_restriction")


async def test_telegram_matches_the_ground_truth(
    service: NetworkCollectService,
    sessions: sessionmaker[Session],
    ok_emu: OkEmulator,
    tg_emu: TelegramEmulator,
    clock: FakeClock,
) -> None:
    add_sources(sessions, ok_emu, tg_emu)
    channel = next(iter(tg_emu.channels.values()))
    await service.collect(due_only=False)
    stored = visible(sessions, Network.TELEGRAM)
    # The first poll reads the newest page only (no backfill of the whole channel).
    newest = sorted(tg_truth(tg_emu))
    assert set(stored) <= set(newest)
    assert {k: tg_truth(tg_emu)[k] for k in stored} == stored
    before = dict(stored)
    # 30 new messages (more than a page), an edit and a deletion among the recent ones.
    clock.advance(600)
    recent = sorted(m.id for m in channel.messages.values() if not m.service)[-5:]
    tg_emu.edit(channel.username, recent[0], "Обновлено: воду дадут к 20:00")
    tg_emu.delete(channel.username, recent[1])
    for n in range(30):
        tg_emu.post(channel.username, f"Сообщение {n}\nс переносом строки & «кавычками»")
    tg_emu.inject("rate_limit", retry_after=90, channel=channel.username)
    outcomes = await service.collect(due_only=False)
    assert any(not o.ok and "429" in (o.error or "") for o in outcomes)
    assert visible(sessions, Network.TELEGRAM) == before  # the failed poll stored nothing
    tg_emu.inject("truncate", channel=channel.username)
    clock.advance(91)
    outcomes = await service.collect(due_only=False)
    assert any(not o.ok and "cut off" in (o.error or "") for o in outcomes)
    clock.advance(120)
    outcomes = await service.collect(due_only=False)
    assert all(o.ok for o in outcomes), outcomes
    now_stored = visible(sessions, Network.TELEGRAM)
    truth = tg_truth(tg_emu)
    mine = {k: v for k, v in truth.items() if k.startswith(channel.username + "_")}
    expected = {k: v for k, v in mine.items() if int(k.rsplit("_", 1)[1]) >= min(recent)}
    assert {k: v for k, v in now_stored.items() if k in expected} == expected
    assert f"{channel.username}_{recent[1]}" not in now_stored
    assert now_stored[f"{channel.username}_{recent[0]}"] == "Обновлено: воду дадут к 20:00"
    with sessions() as s:
        records = {
            r.external_id: r for r in MessageRepository(s, network=Network.TELEGRAM).iter_records()
        }
    assert records[f"{channel.username}_{recent[0]}"].edited
    assert records[f"{channel.username}_{recent[1]}"].deleted
    # Nothing re-read whole: the gap of 30 took two pages, not the channel's history.
    pages = [q for name, q, _ in tg_emu.requests if name == channel.username]
    assert len(pages) <= 6


async def test_a_channel_without_preview_is_disabled_with_its_reason(
    service: NetworkCollectService,
    sessions: sessionmaker[Session],
    ok_emu: OkEmulator,
    tg_emu: TelegramEmulator,
) -> None:
    add_sources(sessions, ok_emu, tg_emu)
    channel = next(iter(tg_emu.channels.values()))
    channel.preview = False
    await service.collect(due_only=False)
    with sessions() as s:
        source = SourceRepository(s).find(Network.TELEGRAM, channel.username)
    assert source is not None
    assert "no public preview" in (source.health.disabled_reason or "")


async def test_a_file_imported_twice_stores_nothing_twice(
    service: NetworkCollectService, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    path = tmp_path / "export.jsonl"
    rows = [
        {
            "network": "vk",
            "external_id": "-5_1",
            "kind": "post",
            "time": "2026-11-01T10:00:00+03:00",
            "text": "Прорвало трубу на ул. Гагарина",
        },
        {
            "network": "vk",
            "external_id": "-5_1_2",
            "kind": "comment",
            "parent": "-5_1",
            "author": "77",
            "time": "2026-11-01T10:05:00+03:00",
            "text": "Уже третий раз за месяц!",
        },
        "это не JSON",
        {
            "network": "telegram",
            "external_id": "chan_9",
            "kind": "post",
            "time": "2026-11-01T07:00:00Z",
            "text": "",
        },
    ]
    path.write_text(
        "\n".join(r if isinstance(r, str) else json.dumps(r, ensure_ascii=False) for r in rows),
        encoding="utf-8",
    )
    with sessions.begin() as s:
        first = SourceRepository(s).add(Network.FILE, str(path), screen_name="export.jsonl")
        second = SourceRepository(s).add(Network.FILE, str(tmp_path / "copy.jsonl"))
    (tmp_path / "copy.jsonl").write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    outcomes = {o.source_id: o for o in await service.collect(due_only=False)}
    assert outcomes[first.id].inserted == 3
    assert outcomes[first.id].notes == ("export.jsonl line 3: not JSON (Expecting value); skipped",)
    assert outcomes[second.id].inserted == 0  # the same messages from another file
    assert visible(sessions, Network.VK) == {
        "-5_1": "Прорвало трубу на ул. Гагарина",
        "-5_1_2": "Уже третий раз за месяц!",
    }
    assert visible(sessions, Network.TELEGRAM) == {"chan_9": ""}
    with sessions() as s:
        comment = next(
            r for r in MessageRepository(s, network=Network.VK).iter_records() if r.parent
        )
    assert comment.parent == "-5_1"


async def test_a_killed_process_leases_are_taken_over_at_once_even_without_vk(
    sessions: sessionmaker[Session], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    line = {
        "network": "telegram",
        "external_id": "kirov_news_5",
        "kind": "post",
        "time": "2026-11-01T07:00:00Z",
        "text": "Нет отопления в доме 12 по ул. Мира 🥶",
    }
    for name in ("mine.jsonl", "theirs.jsonl"):
        (tmp_path / name).write_text(json.dumps(line, ensure_ascii=False) + "\n", "utf-8")
    dead = await asyncio.create_subprocess_exec(sys.executable, "-c", "pass")
    await dead.wait()  # its pid is gone now: the owner id of a daemon killed on this host
    killed = f"{socket.gethostname()}:{dead.pid}:1a2b3c4d"
    elsewhere = "other-host:4242:5e6f7a8b"  # cannot be checked: its lease must run out
    now = utcnow()
    with sessions.begin() as s:
        repo = SourceRepository(s)
        for name, holder in (("mine.jsonl", killed), ("theirs.jsonl", elsewhere)):
            repo.add(Network.FILE, str(tmp_path / name))
            repo.claim_due(holder, now, lease_seconds=600, network=Network.FILE, due_only=False)
    service = NetworkCollectService(
        sessions=sessions,
        pollers={Network.FILE: lambda s: ReplayPoller(Path(s.external_id))},
        owner=process_owner_id(),
    )

    with caplog.at_level(logging.INFO, logger="app.collect_networks"):
        outcomes = await service.collect(due_only=False)

    with sessions() as s:
        leased = {Path(r.external_id).name: r.lease_owner for r in SourceRepository(s).all()}
    assert len(outcomes) == 1
    assert outcomes[0].inserted == 1
    assert leased == {"mine.jsonl": None, "theirs.jsonl": elsewhere}
    assert f"gave back the leases of {killed} (process gone)" in caplog.text
