"""Several daemons on one PostgreSQL against the emulator: everything done once, by one.

Two real ``run`` processes, each reading with its own service token (so the emulator can tell
them apart), share one database: every message is stored and processed once, no source is read
by both at the same moment, each answer is posted once, the ``process`` job (whose grouping
index lives in memory) runs in one process at a time, and when the process running it is
killed the other takes it over at once and finishes the backlog.
"""

from __future__ import annotations

import asyncio
import random
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiohttp import web
from pytest_aiohttp.plugin import AiohttpServer

from emulator.vk import VkEmulator
from storage.db import create_engine_for, make_sessionmaker
from storage.enums import IncidentStatus, Network
from storage.repositories import IncidentRepository
from storage.repositories.sources import SourceRepository
from tests.app.daemon_proc import (
    Daemon,
    daemon_config,
    daemon_env,
    rows,
    scalar,
    start_daemon,
    until,
)
from tests.app.test_kill_daemon import ANSWER, truth
from tests.factories import world

TOKENS = ("vk-demo-service-1", "vk-demo-service-2")
_OWNER = re.compile(r"owner_id\W{0,3}(-?\d+)")


@dataclass(frozen=True)
class Call:
    """One request the emulator served: who, about which walls, from when to when."""

    token: str
    method: str
    owners: frozenset[int]
    start: float
    end: float


def recorder(calls: list[Call]) -> Callable[..., Awaitable[web.StreamResponse]]:
    """Return an emulator middleware recording every wall read with its time span."""

    @web.middleware
    async def middleware(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        params = dict(request.query)
        if request.method == "POST":
            params.update({k: v for k, v in (await request.post()).items() if isinstance(v, str)})
        start = time.monotonic()
        try:
            return await handler(request)
        finally:
            text = " ".join(f"{k}={v}" for k, v in params.items())
            owners = frozenset(int(m) for m in _OWNER.findall(text))
            method = request.match_info.get("method", "")
            # Reading an answer back (start_comment_id) is publishing, not polling.
            if owners and "start_comment_id" not in params and method != "wall.createComment":
                calls.append(
                    Call(params.get("access_token", ""), method, owners, start, time.monotonic())
                )

    return middleware


def overlapping_reads(calls: list[Call]) -> list[tuple[Call, Call]]:
    """Return pairs of reads of one wall by two tokens (two processes) at the same time."""
    out = []
    for i, a in enumerate(calls):
        for b in calls[i + 1 :]:
            if a.token != b.token and a.owners & b.owners and a.start < b.end and b.start < a.end:
                out.append((a, b))
    return out


@pytest.mark.postgres
async def test_two_daemons_share_one_database_and_do_everything_once(
    aiohttp_server: AiohttpServer, postgres_url: str, tmp_path: Path
) -> None:
    emu = VkEmulator(seed=11, groups=10)
    calls: list[Call] = []
    app = emu.create_app()
    app.middlewares.append(recorder(calls))
    server = await aiohttp_server(app)
    groups = [
        g.id
        for g in emu.world.groups.values()
        if g.state == "open" and g.id != emu.world.official_group_id and len(g.posts) >= 20
    ][:3]
    for gid in groups:  # a short backlog: the newest 8 posts of each community
        for post in sorted(emu.visible_posts(gid), key=lambda p: p.post_id)[:-8]:
            emu.delete_post(gid, post.post_id)
    for token in TOKENS:  # stretch the polls so that overlapping ones could not be missed
        emu.inject("delay", delay=0.7, token=token, count=6)
    w = world(postgres_url)
    with w.sm.begin() as session:
        repo = SourceRepository(session)
        for gid in groups:
            repo.add(Network.VK, str(-gid), screen_name=f"club{gid}", poll_interval_seconds=30)
    config = daemon_config(tmp_path / "config.yaml", lease_seconds=600)
    api = str(server.make_url("/method"))
    engine = create_engine_for(postgres_url)
    sessions = make_sessionmaker(engine)
    daemons: dict[int, Daemon] = {}

    def messages() -> int:
        return scalar(engine, "SELECT COUNT(*) FROM messages")

    def classified() -> int:
        return scalar(engine, "SELECT COUNT(DISTINCT message_id) FROM classifications")

    rng = random.Random(9)

    async def keep_due() -> None:
        """Make every resting source due again and again, so both daemons race to poll it."""
        while True:
            await asyncio.sleep(rng.uniform(0.2, 0.8))
            with engine.begin() as conn:
                conn.exec_driver_sql(
                    "UPDATE sources SET lease_expires_at = NULL WHERE lease_owner IS NULL"
                )

    racing = asyncio.create_task(keep_due())
    try:
        for n, token in enumerate(TOKENS):
            env = daemon_env(postgres_url, api, VK_TOKEN=token)
            daemon = await start_daemon(config, env, tmp_path, name=f"daemon{n}")
            daemons[daemon.pid] = daemon
        for daemon in daemons.values():
            await daemon.ready()
        await until(
            lambda: scalar(engine, "SELECT COUNT(DISTINCT source_id) FROM messages") == len(groups),
            within=40,
            what="every source collected",
        )
        # On a loaded machine one daemon can collect everything before the other's first poll;
        # the sources are made due again and again, so the other gets its turn.
        await until(
            lambda: {c.token for c in calls if c.token in TOKENS} == set(TOKENS),
            within=40,
            what="both daemons polling",
        )
        await until(
            lambda: scalar(engine, "SELECT COUNT(*) FROM incidents WHERE status = 'triage'") >= 2,
            within=40,
            what="the first incidents",
        )
        with sessions() as session:
            waiting = IncidentRepository(session).by_status([IncidentStatus.TRIAGE])[:2]
        approved = []
        for incident in waiting:
            incident = w.workflow.assign(incident, "minzdrav", w.operator)
            incident = w.workflow.accept(incident, w.minzdrav)
            incident = w.workflow.answer(
                incident, w.minzdrav, ANSWER.format(number=incident.public_number)
            )
            approved.append(w.workflow.approve(incident, w.operator))

        # Kill whichever daemon runs the process job now; the other takes it over.
        holder: list[str] = []

        def process_held() -> bool:
            found = rows(engine, "SELECT owner FROM job_leases WHERE name = 'process'")
            holder[:] = [str(r[0]) for r in found if r[0] is not None]
            return bool(holder)

        await until(process_held, within=30, what="a daemon running the process job", every=0.01)
        victim = daemons.pop(int(holder[0].split(":")[1]))
        await victim.kill()
        (survivor,) = daemons.values()

        def published() -> int:
            with sessions() as session:
                repo = IncidentRepository(session)
                return sum(1 for i in approved if repo.get(i.id).status is IncidentStatus.PUBLISHED)

        await until(lambda: published() == len(approved), within=40, what="every answer")
        # The answers come back as new comments: only the survivor can process them, and only
        # if it took the process job over from the killed daemon (whose lease lasts 600 s).
        official = str(-emu.world.official_group_id)
        answers_in = "SELECT COUNT(*) FROM messages WHERE author_id = :o"
        await until(
            lambda: scalar(engine, answers_in, o=official) >= len(approved),
            within=40,
            what="the answers collected",
        )
        await until(lambda: classified() == messages(), within=40, what="the whole backlog")
        racing.cancel()
        assert await survivor.stop() == 0
    finally:
        racing.cancel()
        for daemon in daemons.values():
            if daemon.process.returncode is None:
                daemon.process.kill()
                await daemon.process.wait()

    try:
        stored = {
            str(r[0])
            for r in rows(engine, "SELECT external_id FROM messages WHERE deleted_at IS NULL")
        }
        citizens = {
            str(r[0])
            for r in rows(
                engine,
                "SELECT external_id FROM messages WHERE deleted_at IS NULL "
                "AND (author_id IS NULL OR author_id <> :o)",
                o=official,
            )
        }
        assert citizens == truth(emu, groups)
        assert len(stored) == messages()
        assert scalar(engine, "SELECT COUNT(*) FROM classifications") == messages()
        assert (
            rows(
                engine,
                "SELECT message_id FROM incident_messages GROUP BY message_id "
                "HAVING COUNT(DISTINCT incident_id) > 1",
            )
            == []
        )
        for incident in approved:
            text = ANSWER.format(number=incident.public_number)
            assert len([c for c in emu.visible_comments() if c.text == text]) == 1
        reads = [c for c in calls if c.token in TOKENS]
        assert {c.token for c in reads} == set(TOKENS), "both daemons polled"
        assert overlapping_reads(reads) == []
        assert rows(engine, "SELECT name FROM job_leases WHERE owner IS NOT NULL") == []
        assert rows(engine, "SELECT id FROM sources WHERE lease_owner IS NOT NULL") == []
        for daemon in (victim, survivor):
            assert "Traceback" not in daemon.log(), daemon.log()
    finally:
        engine.dispose()
