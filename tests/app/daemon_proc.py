"""Real ``python -m app run`` processes for the kill, outage and several-daemon tests.

Each daemon writes its stdout and stderr to files (no pipe can fill up and block it); the test
polls the database and the emulator to decide when to kill it.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

ROOT = Path(__file__).resolve().parents[2]
#: How long a daemon may take to start (imports, the model) on a loaded CI machine.
START_TIMEOUT = 60.0
SERVICE_TOKEN = "vk-demo-service-1"
COMMUNITY_TOKEN = "vk-demo-community"


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def daemon_config(
    path: Path,
    *,
    lease_seconds: int = 600,
    interval: int = 1,
    reader_env: str = "VK_TOKEN",
    extra: str = "",
) -> Path:
    """Write a daemon configuration: VK on (service + community tokens), 1 s jobs."""
    path.write_text(
        "region: {code: kirov}\n"
        "networks:\n"
        "  vk:\n"
        "    enabled: true\n"
        "    tokens:\n"
        f'      - {{name: reader, kind: service, token: "${{{reader_env}}}"}}\n'
        '      - {name: answers, kind: community, token: "${VK_COMMUNITY_TOKEN}"}\n'
        "  ok: {enabled: false}\n"
        "  telegram: {enabled: false}\n"
        "scheduler:\n"
        f"  collect_interval: {interval}\n"
        f"  classify_interval: {interval}\n"
        "  deadlines_interval: 30\n"
        f"  lease_seconds: {lease_seconds}\n" + extra,
        encoding="utf-8",
    )
    return path


def daemon_env(db_url: str, api_url: str, **more: str) -> dict[str, str]:
    """Return the environment of a daemon against ``db_url`` and the emulator at ``api_url``."""
    env = dict(os.environ)
    env.update(
        VK_TOKEN=SERVICE_TOKEN,
        VK_COMMUNITY_TOKEN=COMMUNITY_TOKEN,
        IM_DATABASE_URL=db_url,
        IM_VK_API_URL=api_url,
        PYTHONPATH=str(ROOT),
        PYTHONUNBUFFERED="1",
    )
    env.update(more)
    return env


@dataclass
class Daemon:
    """One ``incident-management run`` child process."""

    process: asyncio.subprocess.Process
    out: Path
    err: Path
    port: int
    started_at: float = field(default_factory=time.monotonic)

    @property
    def pid(self) -> int:
        """Return the child's pid."""
        return self.process.pid

    def stdout(self) -> str:
        """Return what the daemon printed so far."""
        return self.out.read_text(encoding="utf-8", errors="replace")

    def log(self) -> str:
        """Return the daemon's log (stderr) so far."""
        return self.err.read_text(encoding="utf-8", errors="replace")

    @property
    def url(self) -> str:
        """Return the web app's base URL."""
        return f"http://127.0.0.1:{self.port}"

    async def ready(self, within: float = START_TIMEOUT) -> None:
        """Wait until the daemon announced it listens (fail if it exits first)."""
        deadline = time.monotonic() + within
        while "is running at" not in self.stdout():
            if self.process.returncode is not None:
                raise AssertionError(f"the daemon exited ({self.process.returncode}): {self.log()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"the daemon did not start in {within} s: {self.log()}")
            await asyncio.sleep(0.1)

    async def kill(self) -> None:
        """SIGKILL the daemon and reap it."""
        self.process.send_signal(signal.SIGKILL)
        assert await self.process.wait() == -signal.SIGKILL

    async def stop(self, sig: int = signal.SIGTERM, within: float = 10.0) -> int:
        """Send ``sig`` and return the exit code (fail if it takes longer than ``within``)."""
        self.process.send_signal(sig)
        try:
            return await asyncio.wait_for(self.process.wait(), within)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()
            raise AssertionError(
                f"the daemon did not stop within {within} s: {self.log()}"
            ) from None


async def start_daemon(
    config: Path, env: Mapping[str, str], directory: Path, *, name: str, port: int | None = None
) -> Daemon:
    """Start ``python -m app --config CONFIG run`` on a free port (not waiting for it)."""
    port = port or free_port()
    out, err = directory / f"{name}.out", directory / f"{name}.err"
    with out.open("wb") as stdout, err.open("wb") as stderr:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "app",
            "--config",
            str(config),
            "run",
            "--port",
            str(port),
            # Its own directory: a daemon on PostgreSQL keeps its session key under ./var, which
            # must not be the checkout that other tests (and xdist workers) share.
            cwd=directory,
            env=dict(env),
            stdout=stdout,
            stderr=stderr,
        )
    return Daemon(process, out, err, port)


async def until(
    condition: Callable[[], bool], *, within: float, what: str, every: float = 0.05
) -> None:
    """Wait until ``condition()`` holds; fail naming ``what`` after ``within`` seconds."""
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(every)


def scalar(engine: Engine, sql: str, **params: object) -> int:
    """Return one integer the query computes."""
    with engine.connect() as conn:
        return int(conn.execute(sa.text(sql), params).scalar_one() or 0)


def rows(engine: Engine, sql: str, **params: object) -> list[tuple[object, ...]]:
    """Return the query's rows as tuples."""
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.text(sql), params)]
