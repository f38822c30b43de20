"""A 100 000-row queue export as XLSX and CSV through the real path: time and peak memory.

What it does:

1. Makes a database (SQLite in a temporary folder; also PostgreSQL, a dedicated database
   dropped at the end, when ``IM_TEST_POSTGRES_URL`` is set), migrates it and fills it with
   ``--rows`` open incidents (each with its first message, a source, half of them with a
   running clock at one of 40 executors), Russian texts with emoji.
2. For each format, starts the web application (the real workspace services from the shipped
   config.yaml) in a child process on 127.0.0.1, signs in with a token and downloads
   ``GET /api/v1/incidents/export?format=...`` — the route, the export service, the keyset
   chunks, the writer thread, the chunked response — discarding the bytes as they come. Prints
   the wall time, the size, the rows, and the server child's largest resident set during the
   download (``VmRSS`` sampled every 50 ms) with its growth over the resident set just before.
3. The baseline, in the same run and also in a child process of its own: the same rows read
   in full into a list and written with a normal (not write-only) openpyxl workbook into
   memory, as an export would without streaming, and the same for CSV (``csv`` into a buffer);
   its peak is ``ru_maxrss``, its growth that over the peak before the rows were read.

Run: ``.venv/bin/python bench/bench_export.py`` (``--rows 20000`` for a quick run;
``--skip-baseline`` to leave the slow non-streaming workbook out).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.accounts import AccountService  # noqa: E402
from storage.db import create_engine_for, make_sessionmaker  # noqa: E402
from storage.enums import (  # noqa: E402
    AssignmentStatus,
    ExecutorKind,
    IncidentStatus,
    MessageKind,
    Network,
    Priority,
)
from storage.migrate import upgrade  # noqa: E402
from storage.models import PRIORITY_RANK, Base  # noqa: E402

DB_NAME = "im_bench_export"
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
EXECUTORS = 40
SOURCES = 50
BATCH = 5000
PHRASES = [
    "Третий день нет горячей воды в доме на улице Ленина, {n}. Когда дадут? 😡",
    "Огромная яма на улице Советской возле дома {n}, машины бьют колёса!",
    "В поликлинике невозможно записаться к терапевту, очередь с утра, талонов нет",
    "Не вывозят мусор со двора дома {n} по Октябрьскому проспекту уже неделю 🤢",
    "=Во дворе не горит ни один фонарь, дети идут в школу в темноте (дом {n})",
]
GROUPS = [("ЖКХ", "Отсутствие ГВС"), ("Дороги", "Ямы на дорогах"), ("Здравоохранение", "Запись")]
TOWNS = [("Киров", "33701000"), ("Слободской", "33713000"), ("Котельнич", "33710000")]
OPEN = [IncidentStatus.NEW, IncidentStatus.TRIAGE, IncidentStatus.ASSIGNED]
PRIORITIES = [Priority.LOW, Priority.NORMAL, Priority.NORMAL, Priority.HIGH, Priority.URGENT]


def _fill(url: str, rows: int) -> None:
    """Add executors, sources, incidents with one message each, and running assignments."""
    engine = create_engine_for(url)
    tables = Base.metadata.tables
    start = time.perf_counter()
    with engine.begin() as conn:
        conn.execute(
            tables["executors"].insert(),
            [
                {
                    "id": e,
                    "code": f"ex-{e:02d}",
                    "name": f"Министерство № {e}",
                    "kind": ExecutorKind.MINISTRY,
                    "timezone": "Europe/Kirov",
                }
                for e in range(1, EXECUTORS + 1)
            ],
        )
        conn.execute(
            tables["sources"].insert(),
            [
                {
                    "id": s,
                    "network": (Network.VK, Network.OK, Network.TELEGRAM)[s % 3],
                    "external_id": f"src{s}",
                    "title": f"Паблик «Подслушано» №{s}",
                    "poll_interval_seconds": 300,
                    "cursor": {},
                }
                for s in range(1, SOURCES + 1)
            ],
        )
    for first in range(1, rows + 1, BATCH):
        ids = range(first, min(first + BATCH, rows + 1))
        incidents, messages, links, assignments = [], [], [], []
        for i in ids:
            created = NOW - timedelta(minutes=3 * i)
            status = OPEN[i % 3]
            priority = PRIORITIES[i % 5]
            group, topic = GROUPS[i % 3]
            town, oktmo = TOWNS[i % 3]
            text = PHRASES[i % len(PHRASES)].format(n=i % 97)
            incidents.append(
                {
                    "id": i,
                    "public_number": f"E-{i:08d}",
                    "status": status,
                    "title": text[:120],
                    "summary": "",
                    "topic_group": group,
                    "topic": topic,
                    "municipality": town,
                    "municipality_oktmo": oktmo,
                    "priority": priority,
                    "priority_rank": PRIORITY_RANK[priority],
                    "message_count": 1,
                    "author_count": 1,
                    "reach": 100,
                    "version": 1,
                    "created_at": created,
                    "updated_at": created,
                }
            )
            source = 1 + i % SOURCES
            messages.append(
                {
                    "id": i,
                    "network": (Network.VK, Network.OK, Network.TELEGRAM)[source % 3],
                    "source_id": source,
                    "external_id": str(i),
                    "kind": MessageKind.POST,
                    "author_id": str(1000 + i % 5000),
                    "text": text,
                    "posted_at": created,
                    "url": f"https://vk.com/wall-1_{i}",
                    "collected_at": created,
                }
            )
            links.append(
                {
                    "incident_id": i,
                    "message_id": i,
                    "grouping_version": "bench",
                    "evidence": {},
                    "attached_at": created,
                }
            )
            if status is IncidentStatus.ASSIGNED:
                assignments.append(
                    {
                        "incident_id": i,
                        "executor_id": 1 + i % EXECUTORS,
                        "assigned_at": created,
                        "received_at": created,
                        "status": AssignmentStatus.RECEIVED,
                        "sla_budget_minutes": 480,
                        "deadline_at": created + timedelta(hours=24),
                        "at_risk_at": created + timedelta(hours=18),
                    }
                )
        with engine.begin() as conn:
            conn.execute(tables["incidents"].insert(), incidents)
            conn.execute(tables["messages"].insert(), messages)
            conn.execute(tables["incident_messages"].insert(), links)
            if assignments:
                conn.execute(tables["assignments"].insert(), assignments)
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text("ANALYZE"))
    engine.dispose()
    print(f"  filled {rows} incidents in {time.perf_counter() - start:.1f} s", flush=True)


def _token(url: str) -> str:
    engine = create_engine_for(url)
    accounts = AccountService(sessionmaker=make_sessionmaker(engine), clock=lambda: NOW)
    accounts.add_user("bench-operator", role="operator", password="bench-password-1")  # noqa: S106
    token = accounts.new_token("bench-operator")
    engine.dispose()
    return token


def _status_kib(pid: int, key: str) -> int:
    """A memory figure of /proc/PID/status (VmRSS: now; VmHWM: the peak so far), in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {key}")


class _RssSampler:
    """Samples a process's resident set every 50 ms in a thread; keeps the largest."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.largest = _status_kib(pid, "VmRSS")
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            self.largest = max(self.largest, _status_kib(self.pid, "VmRSS"))

    def __enter__(self) -> _RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _serve(url: str, port: int) -> None:
    """Run the web application over the bench database (the child process)."""
    import logging

    from aiohttp import web

    from app.config import load_config
    from app.routing import build_routing
    from app.runtime import make_health_probe, site_info, utc_clock
    from app.workflow import Workflow
    from app.workspace import build_workspace
    from web import create_app

    logging.basicConfig(level=logging.WARNING)
    env = {**os.environ, "IM_DATABASE_URL": url, "IM_SESSION_SECRET": "b" * 48}
    config = load_config(ROOT / "config.yaml", env)
    engine = create_engine_for(url)
    sessions = make_sessionmaker(engine)
    workflow = Workflow(sessionmaker=sessions, clock=utc_clock, routing=build_routing(config))
    app = create_app(
        site_info=site_info(config),
        health_probe=make_health_probe(engine),
        workspace=build_workspace(config, sessions=sessions, workflow=workflow, clock=utc_clock),
    )
    web.run_app(app, host="127.0.0.1", port=port, access_log=None, print=None)


async def _download(base: str, token: str, fmt: str) -> tuple[float, int]:
    """Fetch the export, dropping each chunk; return the seconds and the bytes."""
    headers = {"Authorization": f"Bearer {token}"}
    timeout = aiohttp.ClientTimeout(total=1800)
    async with aiohttp.ClientSession(headers=headers, timeout=timeout) as session:
        for _ in range(300):  # wait for the child to listen
            try:
                async with session.get(base + "/health") as response:
                    if response.status == 200:
                        break
            except aiohttp.ClientConnectionError:
                await asyncio.sleep(0.1)
        start = time.perf_counter()
        size = 0
        async with session.get(f"{base}/api/v1/incidents/export?format={fmt}") as response:
            response.raise_for_status()
            async for chunk in response.content.iter_chunked(256 * 1024):
                size += len(chunk)
        return time.perf_counter() - start, size


def _streamed(url: str, token: str, fmt: str) -> dict[str, Any]:
    port = _free_port()
    child = subprocess.Popen(
        [sys.executable, __file__, "--serve", url, "--port", str(port)],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        base = f"http://127.0.0.1:{port}"
        asyncio.run(_wait_listening(base))
        before = _status_kib(child.pid, "VmRSS")
        with _RssSampler(child.pid) as sampler:
            seconds, size = asyncio.run(_download(base, token, fmt))
        peak = max(sampler.largest, _status_kib(child.pid, "VmRSS"))
    finally:
        child.kill()
        child.wait(timeout=30)
    # The growth is the export's: the server's largest resident set during the download over
    # its resident set just before (after start-up, whose own peak is the imports').
    return {"seconds": seconds, "bytes": size, "peak_kib": peak, "growth_kib": peak - before}


async def _wait_listening(base: str) -> None:
    async with aiohttp.ClientSession() as session:
        for _ in range(600):
            try:
                async with session.get(base + "/health") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientConnectionError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError("the server child did not start")


def _baseline_child(url: str, fmt: str) -> None:
    """The non-streaming export: every row in a list, then a normal workbook in memory."""
    import csv
    import io

    from openpyxl import Workbook

    from app.export_service import ExportService
    from web.contracts import QueueFilter, Viewer

    engine = create_engine_for(url)
    service = ExportService(
        sessionmaker=make_sessionmaker(engine), clock=lambda: NOW, timezone="Europe/Kirov"
    )
    viewer = Viewer(user_id=1, login="bench-operator", name="bench", role="operator")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    table = service.incidents(viewer, QueueFilter())
    rows = list(table.rows)
    out = io.BytesIO()
    if fmt == "xlsx":
        book = Workbook()
        sheet = book.active
        assert sheet is not None
        sheet.append([c.title for c in table.columns])
        for row in rows:
            sheet.append([v.replace(tzinfo=None) if isinstance(v, datetime) else v for v in row])
        book.save(out)
    else:
        text = io.StringIO()
        writer = csv.writer(text, delimiter=";")
        writer.writerow([c.title for c in table.columns])
        writer.writerows(rows)
        out.write(text.getvalue().encode("utf-8-sig"))
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps(
            {
                "seconds": seconds,
                "bytes": len(out.getvalue()),
                "peak_kib": peak,
                "growth_kib": peak - before,
            }
        )
    )


def _baseline(url: str, fmt: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, __file__, "--baseline-child", url, "--format", fmt],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _postgres(admin_url: str) -> tuple[str, sa.Engine]:
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)"))
        conn.execute(sa.text(f"CREATE DATABASE {DB_NAME}"))
    url = sa.make_url(admin_url).set(database=DB_NAME).render_as_string(hide_password=False)
    return url, admin


def _report(engine: str, rows: int, results: list[tuple[str, dict[str, Any]]]) -> None:
    print(f"\n{engine}, {rows} rows")
    print(
        f"  {'export':<26}{'time s':>8}{'rows/s':>9}{'MB':>8}{'peak RSS MB':>13}{'growth MB':>11}"
    )
    for name, r in results:
        print(
            f"  {name:<26}{r['seconds']:>8.1f}{rows / r['seconds']:>9.0f}"
            f"{r['bytes'] / 1e6:>8.1f}{r['peak_kib'] / 1024:>13.0f}{r['growth_kib'] / 1024:>11.0f}"
        )


def _bench(url: str, label: str, args: argparse.Namespace) -> None:
    print(f"{label}: migrating and filling", flush=True)
    upgrade(url)
    _fill(url, args.rows)
    token = _token(url)
    results: list[tuple[str, dict[str, Any]]] = []
    for fmt in ("xlsx", "csv"):
        results.append((f"{fmt} streamed (HTTP)", _streamed(url, token, fmt)))
        print(f"  {results[-1]}", flush=True)
        if not args.skip_baseline:
            results.append((f"{fmt} baseline (in memory)", _baseline(url, fmt)))
            print(f"  {results[-1]}", flush=True)
    _report(label, args.rows, results)


def main() -> None:
    """Run the benchmark (or one of its child processes)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--skip-baseline", action="store_true")
    parser.add_argument(
        "--engines", default="sqlite,postgres", help="sqlite, postgres (when configured) or both"
    )
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--baseline-child", help=argparse.SUPPRESS)
    parser.add_argument("--format", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        _serve(args.serve, args.port)
        return
    if args.baseline_child:
        _baseline_child(args.baseline_child, args.format)
        return
    engines = set(args.engines.split(","))
    if "sqlite" in engines:
        with tempfile.TemporaryDirectory(prefix="im-bench-export-") as folder:
            _bench(f"sqlite:///{folder}/bench.db", "SQLite", args)
    admin_url = os.environ.get("IM_TEST_POSTGRES_URL")
    if admin_url and "postgres" in engines:
        url, admin = _postgres(admin_url)
        try:
            _bench(url, "PostgreSQL", args)
        finally:
            with admin.connect() as conn:
                conn.execute(sa.text(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)"))
            admin.dispose()


if __name__ == "__main__":
    main()
