"""A ``collect --once`` process killed with SIGKILL mid-poll, then restarted: exactly once."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
from pathlib import Path

import pytest
from pytest_aiohttp.plugin import AiohttpServer

from emulator.vk import VkEmulator
from storage.db import create_engine_for, make_sessionmaker
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
    emu = VkEmulator(seed=7, groups=12)
    server = await aiohttp_server(emu.create_app())
    groups = [
        g
        for g in emu.world.groups.values()
        if g.state == "open" and g.id != emu.world.official_group_id and len(g.posts) > 20
    ]
    group = min(groups, key=lambda g: len(g.posts))
    upgrade(db_url)
    config = tmp_path / "config.yaml"
    config.write_text(
        "region: {code: kirov}\nnetworks:\n  vk:\n    tokens:\n"
        '      - {name: reader, kind: service, token: "${VK_TOKEN}"}\n  ok: {enabled: false}\n',
        encoding="utf-8",
    )
    env = dict(
        os.environ,
        VK_TOKEN="vk-demo-service-1",
        IM_DATABASE_URL=db_url,
        IM_VK_API_URL=str(server.make_url("/method")),
        PYTHONPATH=str(ROOT),
    )
    common = ["--config", str(config)]
    add = await run_cli(env, *common, "sources", "add", str(group.id))
    assert await add.wait() == 0, (await add.stderr.read()).decode()

    # The first poll stalls reading comments (after the wall was read); kill it there.
    emu.inject("delay", delay=4.0, method="execute")
    proc = await run_cli(env, *common, "collect", "--once", "--lease-seconds", "600")
    deadline = time.monotonic() + 30
    while not emu.faults.fired and time.monotonic() < deadline:  # noqa: ASYNC110 - polls a child
        await asyncio.sleep(0.05)
    assert emu.faults.fired, "the poll never reached the stalled call"
    proc.send_signal(signal.SIGKILL)
    assert await proc.wait() == -signal.SIGKILL

    engine = create_engine_for(db_url)
    sessions = make_sessionmaker(engine)
    try:
        with sessions() as s:
            assert list(MessageRepository(s).iter_records()) == []
            (source,) = SourceRepository(s).all()
            assert source.lease_owner is not None  # the dead process's lease
            assert source.cursor == {}
        emu.clear_faults()
        # The dead process's 600 s lease is given back at once: its pid is gone.
        again = await run_cli(env, *common, "collect", "--once", "--lease-seconds", "600")
        out, err = await again.communicate()
        assert again.returncode == 0, err.decode()
        assert out.decode().startswith("1 sources polled, 0 failed;")
        export = await run_cli(env, *common, "export", "messages", "--format", "jsonl")
        lines, _ = await export.communicate()
        records = [json.loads(x) for x in lines.decode().splitlines()]
        ids = [r["external_id"] for r in records]
        want = {f"{p.owner_id}_{p.post_id}" for p in emu.visible_posts(group.id)}
        want |= {f"{c.owner_id}_{c.post_id}_{c.comment_id}" for c in emu.visible_comments(group.id)}
        assert len(ids) == len(set(ids))
        # Deleted comments that still have replies are stored as deleted stubs.
        assert {r["external_id"] for r in records if not r["deleted"]} == want
    finally:
        engine.dispose()
