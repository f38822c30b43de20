"""SIGKILL the running daemon during polling, processing and publishing; restart; exactly once.

A real ``python -m app run`` against the VK emulator (served by the test, so the test sees its
ground truth and the guids it took), on SQLite and PostgreSQL. The kill points are random
within each phase, from a seeded RNG. The leases are 600 s long: a restarted daemon that could
not tell that the killed one is gone would collect nothing for ten minutes, and the test would
time out.
"""

from __future__ import annotations

import asyncio
import random
import sys
from pathlib import Path

import pytest
from pytest_aiohttp.plugin import AiohttpServer

from emulator.vk import VkEmulator
from storage.db import create_engine_for, make_sessionmaker
from storage.enums import IncidentStatus, Network
from storage.repositories import IncidentRepository
from storage.repositories.messages import MessageRepository
from storage.repositories.sources import SourceRepository
from tests.app.daemon_proc import (
    SERVICE_TOKEN,
    daemon_config,
    daemon_env,
    rows,
    scalar,
    start_daemon,
    until,
)
from tests.factories import world

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")

ANSWER = "Здравствуйте! Проблема по обращению {number} решена, бригада выехала 03.12."


def pick_groups(emu: VkEmulator, count: int) -> list[int]:
    """Return open communities (not the control centre's) with a modest backlog."""
    groups = [
        g
        for g in emu.world.groups.values()
        if g.state == "open" and g.id != emu.world.official_group_id and len(g.posts) >= 20
    ]
    groups.sort(key=lambda g: len(g.comments))
    assert len(groups) >= count, "the seeded region has too few readable communities"
    return [g.id for g in groups[:count]]


def trim(emu: VkEmulator, groups: list[int], keep: int) -> None:
    """Delete all but the newest ``keep`` posts of each group: a backlog the test can afford."""
    for gid in groups:
        for post in sorted(emu.visible_posts(gid), key=lambda p: p.post_id)[:-keep]:
            emu.delete_post(gid, post.post_id)


def truth(emu: VkEmulator, groups: list[int]) -> set[str]:
    """Return the external ids of every visible citizen post and comment of the groups."""
    official = -emu.world.official_group_id
    out = set()
    for gid in groups:
        out |= {f"{p.owner_id}_{p.post_id}" for p in emu.visible_posts(gid)}
        out |= {
            f"{c.owner_id}_{c.post_id}_{c.comment_id}"
            for c in emu.visible_comments(gid)
            if c.from_id != official
        }
    return out


async def test_sigkill_at_random_points_then_restart_loses_and_doubles_nothing(
    aiohttp_server: AiohttpServer, db_url: str, tmp_path: Path
) -> None:
    rng = random.Random(20261203)
    emu = VkEmulator(seed=11, groups=10)
    server = await aiohttp_server(emu.create_app())
    groups = pick_groups(emu, 1)
    trim(emu, groups, 40)  # ~150 messages: processing still takes a few seconds
    w = world(db_url)  # migrated, with executors and users to answer with
    with w.sm.begin() as session:
        repo = SourceRepository(session)
        for gid in groups:
            repo.add(Network.VK, str(-gid), screen_name=f"club{gid}", poll_interval_seconds=30)
    config = daemon_config(tmp_path / "config.yaml", lease_seconds=600)
    env = daemon_env(db_url, str(server.make_url("/method")))
    engine = create_engine_for(db_url)
    sessions = make_sessionmaker(engine)
    lives = 0

    async def start() -> object:
        nonlocal lives
        lives += 1
        daemon = await start_daemon(config, env, tmp_path, name=f"life{lives}")
        await daemon.ready()
        return daemon

    def messages() -> int:
        return scalar(engine, "SELECT COUNT(*) FROM messages")

    def classified() -> int:
        return scalar(engine, "SELECT COUNT(DISTINCT message_id) FROM classifications")

    def triage() -> int:
        return scalar(engine, "SELECT COUNT(*) FROM incidents WHERE status = 'triage'")

    try:
        # Life 1: killed while the first poll waits for VK (at a random moment of the stall).
        emu.inject("delay", delay=3.0, token=SERVICE_TOKEN)
        first = await start()
        await until(lambda: bool(emu.faults.fired), within=30, what="the first poll")
        await asyncio.sleep(rng.uniform(0.0, 2.0))
        await first.kill()  # type: ignore[attr-defined]
        assert messages() == 0
        leased = rows(engine, "SELECT lease_owner FROM sources WHERE lease_owner IS NOT NULL")
        assert leased, "the killed poll held its sources"
        emu.clear_faults()

        # Life 2: the dead daemon's 600 s leases are given back at once, so it collects now.
        # While the pipeline works through the backlog, operators approve answers to the first
        # incidents; the daemon is killed after VK took an answer, while it reads the answer
        # back (so before it recorded it), and most likely while the pipeline is mid-backlog.
        second = await start()
        await until(lambda: messages() > 0, within=40, what="the restarted daemon to collect")
        await until(lambda: triage() >= 2, within=40, what="the first incidents")
        with sessions() as session:
            waiting = IncidentRepository(session).by_status([IncidentStatus.TRIAGE])[:2]
        emu.inject("delay", delay=3.0, method="wall.getComments", count=50)
        guids_before = len(emu.methods.guids)
        approved = []
        for incident in waiting:
            incident = w.workflow.assign(incident, "minzdrav", w.operator)
            incident = w.workflow.accept(incident, w.minzdrav)
            incident = w.workflow.answer(
                incident, w.minzdrav, ANSWER.format(number=incident.public_number)
            )
            approved.append(w.workflow.approve(incident, w.operator))
        await until(
            lambda: len(emu.methods.guids) > guids_before, within=40, what="an answer posted"
        )
        await asyncio.sleep(rng.uniform(0.0, 0.3))
        await second.kill()  # type: ignore[attr-defined]
        recorded = scalar(
            engine, "SELECT COUNT(*) FROM answers WHERE external_reply_id IS NOT NULL"
        )
        assert recorded < len(approved), "the kill came after every answer was recorded"
        emu.clear_faults()

        # Life 3: everything left is finished once; SIGTERM ends it cleanly.
        last = await start()

        def published() -> int:
            ids = [i.id for i in approved]
            with sessions() as session:
                repo = IncidentRepository(session)
                return sum(1 for i in ids if repo.get(i).status is IncidentStatus.PUBLISHED)

        await until(lambda: published() == len(approved), within=40, what="every answer")
        await until(lambda: classified() >= messages(), within=40, what="the whole backlog")
        assert await last.stop() == 0  # type: ignore[attr-defined]
    finally:
        engine.dispose()

    engine = create_engine_for(db_url)
    sessions = make_sessionmaker(engine)
    try:
        with sessions() as session:
            records = list(MessageRepository(session).iter_records())
            sources = SourceRepository(session).all()
        ids = [r.external_id for r in records]
        assert len(ids) == len(set(ids))
        official = str(-emu.world.official_group_id)
        stored = {r.external_id for r in records if not r.deleted and r.author_id != official}
        visible = truth(emu, groups)
        assert stored <= visible
        for gid in groups:  # the backlog's newest posts, and every comment of a stored post
            posts = sorted(emu.visible_posts(gid), key=lambda p: p.post_id)[-100:]
            for post in posts:
                assert f"{post.owner_id}_{post.post_id}" in stored
            kept = {
                p.post_id for p in emu.visible_posts(gid) if f"{p.owner_id}_{p.post_id}" in stored
            }
            for c in emu.visible_comments(gid):
                if c.post_id in kept and str(c.from_id) != official:
                    assert f"{c.owner_id}_{c.post_id}_{c.comment_id}" in stored
        # Every message processed once; no message in two incidents.
        assert classified() == len(records)
        doubled = rows(
            engine,
            "SELECT message_id FROM incident_messages GROUP BY message_id "
            "HAVING COUNT(DISTINCT incident_id) > 1",
        )
        assert doubled == []
        # Every answer posted once: one official comment per answer, the one recorded.
        for incident in approved:
            text = ANSWER.format(number=incident.public_number)
            posted = [c for c in emu.visible_comments() if c.text == text]
            assert len(posted) == 1, f"{incident.public_number}: posted {len(posted)} times"
            (reply,) = rows(
                engine,
                "SELECT external_reply_id FROM answers WHERE incident_id = :i",
                i=incident.id,
            )
            assert reply[0] == str(posted[0].comment_id)
        # Nothing left leased after the clean stop.
        assert [s.name for s in sources if s.lease_owner is not None] == []
        assert rows(engine, "SELECT name FROM job_leases WHERE owner IS NOT NULL") == []
    finally:
        engine.dispose()
