"""Signals to a real daemon: SIGTERM mid-poll stops it cleanly; SIGHUP reloads or refuses.

SIGTERM: the poll in flight is abandoned (its leases given back, nothing half-written) and
the process exits 0 within 10 s. SIGHUP with a malformed file: one line naming the key, and
the running service goes on; a restart with that file is refused the same way while the old
process keeps running; SIGHUP with a good file: the service restarts with it.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

import pytest
from pytest_aiohttp.plugin import AiohttpServer

from emulator.vk import VkEmulator
from storage.db import create_engine_for
from storage.enums import Network
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
from tests.app.test_kill_daemon import pick_groups
from tests.app.test_kill_outage import get
from tests.factories import database

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")


async def test_sigterm_mid_poll_gives_leases_back_and_exits_0_within_10_s(
    aiohttp_server: AiohttpServer, db_url: str, tmp_path: Path
) -> None:
    emu = VkEmulator(seed=11, groups=10)
    server = await aiohttp_server(emu.create_app())
    groups = pick_groups(emu, 2)
    sessions = database(db_url)
    with sessions.begin() as session:
        repo = SourceRepository(session)
        for gid in groups:
            repo.add(Network.VK, str(-gid), screen_name=f"club{gid}", poll_interval_seconds=30)
    config = daemon_config(tmp_path / "config.yaml", lease_seconds=600)
    daemon = await start_daemon(
        config, daemon_env(db_url, str(server.make_url("/method"))), tmp_path, name="daemon"
    )
    engine = create_engine_for(db_url)
    try:
        emu.inject("delay", delay=20.0, token=SERVICE_TOKEN)  # a poll that would outlast 10 s
        await daemon.ready()
        await until(lambda: bool(emu.faults.fired), within=30, what="the poll")
        leased = "SELECT COUNT(*) FROM sources WHERE lease_owner IS NOT NULL"
        assert scalar(engine, leased) == len(groups)
        assert await daemon.stop(signal.SIGTERM, within=10.0) == 0
        assert scalar(engine, leased) == 0
        # Abandoned, not half-done: no cursor moved, no message stored.
        assert scalar(engine, "SELECT COUNT(*) FROM messages") == 0
        with sessions() as session:
            assert [s.cursor for s in SourceRepository(session).all()] == [{}] * len(groups)
        assert rows(engine, "SELECT name FROM job_leases WHERE owner IS NOT NULL") == []
    finally:
        if daemon.process.returncode is None:
            daemon.process.kill()
            await daemon.process.wait()
        engine.dispose()
        sessions.kw["bind"].dispose()
    log = daemon.log()
    assert "job collect: abandoned at shutdown" in log
    assert "Traceback" not in log, log


GOOD = """region: {code: kirov, name: %s}
networks:
  vk: {enabled: false}
  ok: {enabled: false}
  telegram: {enabled: false}
scheduler: {collect_interval: 1, classify_interval: 1}
"""


async def test_sighup_refuses_a_malformed_configuration_and_applies_a_good_one(
    sqlite_url: str, tmp_path: Path
) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(GOOD % "Кировская область", encoding="utf-8")
    env = daemon_env(sqlite_url, "http://127.0.0.1:9/method")
    daemon = await start_daemon(config, env, tmp_path, name="daemon")
    try:
        await daemon.ready()
        status, page = await asyncio.to_thread(get, daemon.url + "/")
        assert status == 200
        assert "Кировская область" in page

        # A typo in a key: refused with one line naming it; the service goes on.
        config.write_text(
            (GOOD % "Вятский край").replace("collect_interval", "colect_interval"),
            encoding="utf-8",
        )
        daemon.process.send_signal(signal.SIGHUP)
        await until(
            lambda: "configuration reload refused" in daemon.log(), within=20, what="refusal"
        )
        (line,) = [x for x in daemon.log().splitlines() if "reload refused" in x]
        assert "scheduler.colect_interval" in line
        status, page = await asyncio.to_thread(get, daemon.url + "/")
        assert status == 200
        assert "Кировская область" in page

        # A restart with that file is refused the same way, while the old process runs on.
        again = await start_daemon(config, env, tmp_path, name="again")
        assert await asyncio.wait_for(again.process.wait(), 60) == 2
        (error,) = again.log().strip().splitlines()
        assert "scheduler.colect_interval" in error
        assert (await asyncio.to_thread(get, daemon.url + "/health"))[0] == 200

        # A good file: the service restarts with it, on the same address.
        config.write_text(GOOD % "Вятский край", encoding="utf-8")
        daemon.process.send_signal(signal.SIGHUP)

        def renamed() -> bool:
            try:
                return "Вятский край" in get(daemon.url + "/")[1]
            except OSError:  # between the old service and the new one
                return False

        await until(renamed, within=30, what="the new configuration", every=0.3)
        assert "configuration reloaded" in daemon.log()
        assert await daemon.stop() == 0
    finally:
        if daemon.process.returncode is None:
            daemon.process.kill()
            await daemon.process.wait()
