"""PostgreSQL unreachable for a while under a running daemon: log once each way, 503, resume.

A TCP proxy in the test stands between the daemon and the real PostgreSQL; cutting it kills
every connection mid-query and refuses new ones, as a network outage or a server restart does.
"""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from pytest_aiohttp.plugin import AiohttpServer
from sqlalchemy.engine import make_url

from emulator.vk import VkEmulator
from storage.db import create_engine_for, make_sessionmaker
from storage.enums import Network
from storage.migrate import upgrade
from storage.repositories.sources import SourceRepository
from tests.app.daemon_proc import daemon_config, daemon_env, scalar, start_daemon, until
from tests.app.tcp_proxy import TcpProxy
from tests.app.test_kill_daemon import pick_groups, trim

OUTAGE_SECONDS = 10.0


def get(url: str) -> tuple[int, str]:
    """GET ``url``; return the status and the body (also for 5xx answers)."""
    try:
        with urllib.request.urlopen(url, timeout=15) as answer:
            return answer.status, answer.read().decode("utf-8")
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode("utf-8")


@pytest.mark.postgres
async def test_database_outage_is_logged_once_answered_503_and_survived(
    aiohttp_server: AiohttpServer, postgres_url: str, tmp_path: Path
) -> None:
    emu = VkEmulator(seed=11, groups=10)
    server = await aiohttp_server(emu.create_app())
    (group,) = pick_groups(emu, 1)
    trim(emu, [group], 40)
    upgrade(postgres_url)
    real = make_url(postgres_url)
    proxy = TcpProxy(real.host or "127.0.0.1", real.port or 5432)
    await proxy.start()
    proxied = real.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    engine = create_engine_for(postgres_url)  # the test's own, direct connection
    sessions = make_sessionmaker(engine)
    with sessions.begin() as session:
        SourceRepository(session).add(
            Network.VK, str(-group), screen_name=f"club{group}", poll_interval_seconds=30
        )
    config = daemon_config(tmp_path / "config.yaml", lease_seconds=30)
    daemon = await start_daemon(
        config, daemon_env(proxied, str(server.make_url("/method"))), tmp_path, name="daemon"
    )

    def messages() -> int:
        return scalar(engine, "SELECT COUNT(*) FROM messages")

    def classified() -> int:
        return scalar(engine, "SELECT COUNT(DISTINCT message_id) FROM classifications")

    try:
        await daemon.ready()
        assert (await asyncio.to_thread(get, daemon.url + "/"))[0] == 200
        await until(lambda: messages() > 0, within=40, what="the first collection")
        # Cut the database while the pipeline works through the backlog.
        await until(lambda: classified() > 0, within=40, what="processing")
        await proxy.cut()
        posted = emu.publish_post(
            group, "Второй день нет воды на улице Ленина, дом 5. Когда дадут?"
        )
        with engine.begin() as conn:  # the source is due now: its next poll finds the new post
            conn.exec_driver_sql(
                "UPDATE sources SET lease_expires_at = NULL WHERE lease_owner IS NULL"
            )
        await asyncio.sleep(2.0)
        status, page = await asyncio.to_thread(get, daemon.url + "/")
        assert status == 503
        assert "Нет связи с базой данных" in page
        status, body = await asyncio.to_thread(get, daemon.url + "/health")
        assert status == 503
        health = json.loads(body)
        assert health["database"]["ok"] is False
        assert health["detail"].startswith("database unreachable")
        await asyncio.sleep(OUTAGE_SECONDS - 2.0)
        await proxy.restore()

        # Back: the daemon resumes by itself; nothing collected or pending is lost.
        external = f"{-group}_{posted.id}"
        await until(
            lambda: (
                scalar(engine, "SELECT COUNT(*) FROM messages WHERE external_id = :e", e=external)
                == 1
            ),
            within=40,
            what="the post published during the outage",
        )
        await until(lambda: classified() == messages(), within=60, what="the whole backlog")
        assert (await asyncio.to_thread(get, daemon.url + "/"))[0] == 200
        assert (await asyncio.to_thread(get, daemon.url + "/health"))[0] == 200
        assert await daemon.stop() == 0
    finally:
        if daemon.process.returncode is None:
            daemon.process.kill()
            await daemon.process.wait()
        await proxy.close()
        engine.dispose()
    log = daemon.log()
    assert log.count("database unreachable") == 1, log
    assert log.count("database reachable again") == 1, log
    assert "Traceback" not in log, log
