"""``collect --once`` killed with SIGKILL mid-poll of an OK group and a Telegram channel, then
restarted: everything stored exactly once."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from pathlib import Path

import pytest
from aiohttp import web
from pytest_aiohttp.plugin import AiohttpServer

from emulator.ok import DEMO_ACCESS_TOKEN, DEMO_APP_KEY, DEMO_APP_SECRET, OkEmulator
from emulator.telegram import TelegramEmulator
from storage.db import create_engine_for, make_sessionmaker
from storage.enums import Network
from storage.migrate import upgrade
from storage.repositories.messages import MessageRepository
from storage.repositories.sources import SourceRepository

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")


async def run_cli(env: dict[str, str], *args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "app",
        *args,
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def test_killed_mid_poll_then_restarted_stores_everything_once(
    aiohttp_server: AiohttpServer, db_url: str, tmp_path: Path
) -> None:
    ok_emu = OkEmulator(seed=4, groups=1, posts=14)
    tg_emu = TelegramEmulator(seed=4, channels=1, posts=12)
    app = web.Application()
    ok_emu.add_routes(app)
    tg_emu.add_routes(app)
    server = await aiohttp_server(app)
    group = next(iter(ok_emu.world.groups.values()))
    channel = next(iter(tg_emu.channels.values()))
    upgrade(db_url)
    config = tmp_path / "config.yaml"
    config.write_text(
        "region: {code: kirov}\nnetworks:\n  vk: {enabled: false}\n  ok:\n"
        '    application_key: "${OK_KEY}"\n    application_secret: "${OK_SECRET}"\n'
        '    access_token: "${OK_TOKEN}"\n    requests_per_second: 5\n'
        "  telegram: {page_interval: 1}\n",
        encoding="utf-8",
    )
    env = dict(
        os.environ,
        OK_KEY=DEMO_APP_KEY,
        OK_SECRET=DEMO_APP_SECRET,
        OK_TOKEN=DEMO_ACCESS_TOKEN,
        IM_DATABASE_URL=db_url,
        IM_OK_API_URL=str(server.make_url("/fb.do")),
        IM_TELEGRAM_URL=str(server.make_url("")).rstrip("/"),
        PYTHONPATH=str(ROOT),
    )
    common = ["--config", str(config)]
    engine = create_engine_for(db_url)
    sessions = make_sessionmaker(engine)
    with sessions.begin() as s:  # as `sources add` stores them (its own tests cover it)
        SourceRepository(s).add(Network.OK, str(group.uid), screen_name=group.shortname)
        SourceRepository(s).add(Network.TELEGRAM, channel.username, poll_interval_seconds=60)

    # Both polls stall: OK after the posts were read (on a comment page), Telegram on its page.
    ok_emu.inject("delay", delay=4.0, method="discussions.getComments")
    tg_emu.inject("delay", delay=4.0, channel=channel.username)
    calls_before = len(ok_emu.calls)
    asked_before = len(tg_emu.requests)
    proc = await run_cli(env, *common, "collect", "--once", "--lease-seconds", "2")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and (  # noqa: ASYNC110 - polls a child process
        ok_emu.faults.pending() or tg_emu.faults
    ):
        await asyncio.sleep(0.05)
    assert not ok_emu.faults.pending(), "the OK poll never reached the stalled call"
    assert not tg_emu.faults, "the Telegram poll never reached its page"
    proc.send_signal(signal.SIGKILL)
    assert await proc.wait() == -signal.SIGKILL
    assert len(ok_emu.calls) > calls_before
    assert len(tg_emu.requests) > asked_before

    try:
        with sessions() as s:
            sources = SourceRepository(s).all()
        assert all(r.cursor == {} for r in sources)  # nothing of the killed poll was stored
        # Meanwhile: a new post, a new comment and a new channel message.
        ok_emu.world.publish_topic(group.uid, "Опять отключили горячую воду на ул. Свободы")
        tg_emu.post(channel.username, "Внимание: перекрыт мост через Вятку")
        await asyncio.sleep(2.2)  # the dead leases expire
        again = await run_cli(env, *common, "collect", "--once", "--lease-seconds", "2")
        out, err = await again.communicate()
        assert again.returncode == 0, err.decode()
        assert out.decode().startswith("2 sources polled, 0 failed;")
        with sessions() as s:
            ids = [
                (network.value, r.external_id)
                for network in (Network.OK, Network.TELEGRAM)
                for r in MessageRepository(s, network=network).iter_records()
            ]
        assert len(ids) == len(set(ids))
        want = {("ok", k) for k in ok_emu.world.truth(group.uid)}
        want |= {("telegram", k) for k in tg_emu.truth(channel.username)}
        assert set(ids) == want
    finally:
        engine.dispose()
