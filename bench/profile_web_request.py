"""Profile the queue page and ``GET /api/v1/incidents`` in process (cProfile), one at a time.

Runs against the database ``bench_web_queue.py --keep`` leaves (``im_bench_web_queue``), signs
in as its operator and sends ``--requests`` sequential requests per target, so the profile is
of the request path alone (no concurrency). ``asyncio.to_thread`` runs inline here, so the
database work of the worker threads is in the profile too. Prints the functions by own time.

    python bench/profile_web_request.py --requests 200 [--path '/api/v1/incidents?sla=overdue']
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import os
import pstats
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402
from aiohttp.test_utils import TestClient, TestServer  # noqa: E402

from app.accounts import AccountService  # noqa: E402
from app.config import load_config  # noqa: E402
from app.web_workers import build_http_app  # noqa: E402
from bench.bench_web_queue import PASSWORD  # noqa: E402
from storage.db import create_engine_for, make_sessionmaker  # noqa: E402


async def _inline(func: Any, /, *args: Any, **kwargs: Any) -> Any:
    """asyncio.to_thread run in the calling thread, so that cProfile sees the database work."""
    return func(*args, **kwargs)


async def _run(
    url: str, paths: list[str], requests: int, *, cpu: bool, sort: str, top: int, measure: bool
) -> None:
    asyncio.to_thread = _inline
    env = {**os.environ, "IM_DATABASE_URL": url, "IM_SESSION_SECRET": "b" * 48}
    config = load_config(ROOT / "config.yaml", env)
    engine = create_engine_for(url)
    from datetime import UTC, datetime

    token = AccountService(
        sessionmaker=make_sessionmaker(engine), clock=lambda: datetime.now(UTC)
    ).new_token("bench-operator")
    engine.dispose()
    app, close = build_http_app(config)
    client = TestClient(TestServer(app))
    await client.start_server()
    try:
        response = await client.post(
            "/api/v1/session", json={"login": "bench-operator", "password": PASSWORD}
        )
        assert response.status == 200, await response.text()
        for path in paths:
            headers = {} if path.startswith("/queue") else {"Authorization": f"Bearer {token}"}
            for _ in range(20):  # warm up
                await (await client.get(path, headers=headers)).read()
            if measure:
                # No profiler: the process's CPU a request (server and in-process client).
                used = time.process_time()
                for _ in range(requests):
                    await (await client.get(path, headers=headers)).read()
                used = time.process_time() - used
                print(f"{path}: {used / requests * 1000:.2f} ms CPU a request (unprofiled)")
                continue
            # CPU time, not wall time: on a loaded machine waits would swamp the profile.
            profile = cProfile.Profile(time.process_time) if cpu else cProfile.Profile()
            start = time.perf_counter()
            profile.enable()
            for _ in range(requests):
                got = await client.get(path, headers=headers)
                await got.read()
                assert got.status == 200, got.status
            profile.disable()
            wall = time.perf_counter() - start
            used = sum(row[2] for row in pstats.Stats(profile).stats.values()) if cpu else wall
            print(
                f"\n## {path}: {wall / requests * 1000:.1f} ms a request (sequential)"
                + (f", {used / requests * 1000:.2f} ms CPU (profiled)" if cpu else "")
            )
            out = io.StringIO()
            pstats.Stats(profile, stream=out).sort_stats(sort).print_stats(top)
            print(out.getvalue())
    finally:
        await client.close()
        close()


def main() -> None:
    """Profile the chosen paths."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument(
        "--url", default="postgresql+psycopg://postgres@127.0.0.1:5432/im_bench_web_queue"
    )
    parser.add_argument("--path", action="append", help="paths to profile (default: two)")
    parser.add_argument("--cpu", action="store_true", help="profile CPU time, not wall time")
    parser.add_argument(
        "--measure", action="store_true", help="no profile: print the CPU a request only"
    )
    parser.add_argument("--sort", default="tottime", help="pstats order (tottime, cumulative)")
    parser.add_argument("--top", type=int, default=25, help="how many functions to print")
    args = parser.parse_args()
    sa.make_url(args.url)
    paths = args.path or ["/api/v1/incidents", "/queue"]
    options = {"cpu": args.cpu, "sort": args.sort, "top": args.top, "measure": args.measure}
    asyncio.run(_run(args.url, paths, args.requests, **options))


if __name__ == "__main__":
    main()
