"""``web.workers: 2`` on a real ``run``: both processes listen and answer, a killed worker is
logged and started again, and SIGTERM stops the service leaving no child behind."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import aiohttp
import pytest

from tests.app.daemon_proc import daemon_env, start_daemon, until

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


def _children(pid: int) -> list[int]:
    found = []
    for path in Path("/proc").iterdir():
        entry = path.name
        if not entry.isdigit():
            continue
        try:
            stat = (path / "stat").read_text()
        except OSError:
            continue
        # The command may hold spaces and parentheses: the fields follow the last ")".
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry))
    return found


def _listening_inodes(port: int) -> set[str]:
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, state, inode = fields[1], fields[3], fields[9]
        if state == "0A" and int(local.split(":")[1], 16) == port:  # 0A: LISTEN
            inodes.add(inode)
    return inodes


def _listens(pid: int, port: int) -> bool:
    wanted = {f"socket:[{inode}]" for inode in _listening_inodes(port)}
    try:
        fds = list(Path(f"/proc/{pid}/fd").iterdir())
    except OSError:
        return False
    for fd in fds:
        try:
            if str(fd.readlink()) in wanted:
                return True
        except OSError:
            continue
    return False


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _workers(pid: int, port: int) -> list[int]:
    return [c for c in _children(pid) if _listens(c, port)]


async def _all_answer(url: str, times: int = 20) -> None:
    for _ in range(times):
        # A new connection each time: the kernel spreads connections over the listeners.
        async with (
            aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as http,
            http.get(url + "/health") as response,
        ):
            assert response.status == 200


async def test_two_workers_serve_restart_and_stop_cleanly(db_url: str, tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(
        "region: {code: kirov}\n"
        "web: {workers: 2}\n"
        "networks:\n  vk: {enabled: false}\n  ok: {enabled: false}\n"
        "  telegram: {enabled: false}\n",
        encoding="utf-8",
    )
    env = daemon_env(db_url, "http://127.0.0.1:9/method", IM_SESSION_SECRET="w" * 48)
    daemon = await start_daemon(config, env, tmp_path, name="workers")
    try:
        await daemon.ready()
        assert _listens(daemon.pid, daemon.port)
        await until(
            lambda: len(_workers(daemon.pid, daemon.port)) == 1, within=60, what="the worker"
        )
        (worker,) = _workers(daemon.pid, daemon.port)
        assert len(_listening_inodes(daemon.port)) == 2  # two listeners share the port
        await _all_answer(daemon.url)

        os.kill(worker, signal.SIGKILL)
        await until(
            lambda: "exited with signal SIGKILL" in daemon.log(), within=30, what="the log line"
        )
        await until(
            lambda: [w for w in _workers(daemon.pid, daemon.port) if w != worker] != [],
            within=60,
            what="a new worker",
        )
        (again,) = _workers(daemon.pid, daemon.port)
        assert again != worker
        await _all_answer(daemon.url)

        children = _children(daemon.pid)
        assert again in children
        assert await daemon.stop(signal.SIGTERM, within=15) == 0
        await until(
            lambda: not any(_alive(c) for c in children), within=10, what="children to exit"
        )
        assert "web workers stopped" in daemon.log()
    finally:
        if daemon.process.returncode is None:
            daemon.process.kill()
            await daemon.process.wait()
        await asyncio.sleep(0)
