"""The queue at scale: 1 000 000 incidents in PostgreSQL, 50 concurrent clients.

What it does:

1. Creates a dedicated PostgreSQL database (dropped at the end unless ``--keep``), migrates it,
   and generates the incidents in bulk inside the database (multi-row ``INSERT ... SELECT`` over
   ``generate_series``; the secondary indexes are dropped first and rebuilt after, as for any
   bulk load): by default 1 000 000 incidents spread over three years, each with its post and
   every fifth with a comment too (1.2 M messages), links, and assignments (closed ones for the
   old incidents, running clocks for the newest 2 %), then ANALYZE.
2. Starts the web application (the real workspace services from the shipped config.yaml,
   pointed at that database) in a child process on 127.0.0.1, so server and clients do not
   share one interpreter.
3. For each typical filter, loads the queue page (``/queue``, signed in by session cookie) and
   ``GET /api/v1/incidents`` (Bearer token) from ``--concurrency`` closed-loop clients, and
   prints p50 / p95 / p99 latency and the throughput. With ``wrk`` installed (the default
   ``--load wrk``; bench/wrk_load.py) each line runs ``--duration`` seconds and also prints the
   CPU a request of the web processes and of the database's PostgreSQL backends (/proc), and
   the load average; a last line rotates through every filter. Without it, ``--requests``
   requests from aiohttp clients in this process (which then share the cores with the server).
   The baseline, in the same run, is ``/health`` (the server's floor: no queue, no template).
4. Prints ``EXPLAIN (ANALYZE, BUFFERS)`` of each filter's queue query, captured from the
   repository itself (the SQL the service really sends), with the indexes it uses.

Run: ``.venv/bin/python bench/bench_web_queue.py`` (PostgreSQL on 127.0.0.1:5432, trust auth;
``--admin-url`` to change). ``--incidents 200000`` for a quicker run.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.accounts import AccountService  # noqa: E402
from app.queries import QueryService  # noqa: E402
from bench.process_cpu import cpu_seconds, descendants  # noqa: E402
from bench.wrk_load import WrkResult, have_wrk, run_wrk  # noqa: E402
from storage.db import create_engine_for, make_sessionmaker  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from web.contracts import QueueFilter, Viewer  # noqa: E402

DB_NAME = "im_bench_web_queue"
PASSWORD = "bench-password-1"  # noqa: S105 - a throwaway user of a throwaway database
EXECUTORS = 40
SOURCES = 300
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
YEARS = 3

GROUPS = {
    "ЖКХ": ["Отсутствие ГВС", "Отсутствие ХВС", "Протечка кровли", "Вывоз мусора"],
    "Дороги": ["Ямы на дорогах", "Уборка снега", "Освещение улиц", "Светофоры"],
    "Здравоохранение": ["Запись к врачу", "Лекарственное обеспечение", "Скорая помощь"],
    "Образование": ["Детские сады", "Школьное питание", "Ремонт школ"],
    "Транспорт": ["Общественный транспорт", "Расписание автобусов", "Остановки"],
    "Благоустройство": ["Детские площадки", "Парки и скверы", "Бездомные животные"],
}
TOWNS = [
    ("Киров", "33701000"),
    ("Слободской", "33713000"),
    ("Котельнич", "33710000"),
    ("Вятские Поляны", "33707000"),
    ("Кирово-Чепецк", "33708000"),
    ("Омутнинск", "33628101"),
    ("Яранск", "33649101"),
    ("Советск", "33637101"),
]
PHRASES = [
    "Третий день нет горячей воды в доме на улице {street}, {n}. Когда дадут?",
    "Огромная яма на улице {street} возле дома {n}, машины бьют колёса!",
    "В поликлинике невозможно записаться к терапевту, на {street} очередь с утра 😡",
    "Не вывозят мусор во дворе дома {n} по улице {street}, контейнеры переполнены",
    "Не горят фонари на улице {street}, вечером страшно ходить детям",
    "Автобус №{n} не пришёл, на остановке {street} стоим уже час на морозе",
    "Течёт крыша в подъезде дома {n} на {street}, управляющая компания молчит",
    "Не убран снег на тротуаре по улице {street}, пешеходы идут по дороге",
]
STREETS = ["Ленина", "Октябрьская", "Мира", "Советская", "Труда", "Московская", "Горького"]

#: The filters measured: name → query string (the pages and the API read the same parameters).
FILTERS: dict[str, str] = {
    "default (priority)": "",
    "state=triage": "state=triage",
    "open states, by deadline": "state=assigned&state=in_progress&sort=deadline",
    "sla=overdue": "sla=overdue",
    "sla=at_risk": "sla=at_risk",
    "executor": "executor=ex-07",
    "topic_group + municipality": "topic_group=%D0%96%D0%9A%D0%A5&municipality=33713000",
    "network=ok": "network=ok",
    "source": "source=17",
    "priority=urgent": "priority=urgent",
    "received from-to": "from=2025-03-01&to=2025-03-07&sort=received",
    "text search": "q=%D1%8F%D0%BC%D0%B0+%D0%BA%D0%BE%D0%BB%D1%91%D1%81%D0%B0",
}


def _h(expr: str, prime: int) -> str:
    """A pseudo-random number 0..1000002 from a row number: each attribute uses its own prime,
    so that attributes are independent (plain ``g % n`` patterns correlate, e.g. every urgent
    incident coming from one network, which no real region looks like)."""
    return f"((({expr})::bigint * {prime}) % 1000003)"


def _sql_array(values: Sequence[str]) -> str:
    return "ARRAY[" + ", ".join("'" + v.replace("'", "''") + "'" for v in values) + "]"


def _seed(conn: sa.Connection, incidents: int) -> dict[str, float]:
    """Generate everything in the database; return seconds per step."""
    timings: dict[str, float] = {}
    pairs = [(g, t) for g, topics in GROUPS.items() for t in topics]
    groups_sql = _sql_array([g for g, _ in pairs])
    topics_sql = _sql_array([t for _, t in pairs])
    towns_sql = _sql_array([t for t, _ in TOWNS])
    oktmo_sql = _sql_array([o for _, o in TOWNS])
    phrases_sql = _sql_array(PHRASES)
    streets_sql = _sql_array(STREETS)
    span = YEARS * 365 * 86400
    active_from = int(incidents * 0.98)
    # independent pseudo-random draws per attribute (see _h)
    h0 = _h("g", 611953)
    h1 = _h("g", 7727)
    h2 = _h("g", 7919)
    h3 = _h("g", 104729)
    h4 = _h("g", 15485863)
    h5 = _h("g", 31337)
    h6 = _h("p.inc", 49979687)
    h7 = _h("p.inc", 611953)
    h8 = _h("p.inc", 7727)
    h9 = _h("i.id", 2654435761)

    def step(name: str, sql: str) -> None:
        start = time.perf_counter()
        conn.execute(sa.text(sql))
        timings[name] = time.perf_counter() - start
        print(f"  {name}: {timings[name]:.1f} s", flush=True)

    step(
        "executors, users, sources",
        f"""
        INSERT INTO executors (code, name, kind, timezone)
        SELECT 'ex-' || lpad(g::text, 2, '0'), 'Исполнитель ' || g,
               CASE WHEN g % 2 = 0 THEN 'ministry' ELSE 'municipal' END, 'Europe/Kirov'
        FROM generate_series(1, {EXECUTORS}) g;
        INSERT INTO sources (network, external_id, title, poll_interval_seconds, cursor)
        SELECT (ARRAY['vk','ok','telegram'])[1 + g % 3], 'src' || g, 'Паблик №' || g, 300, '{{}}'
        FROM generate_series(1, {SOURCES}) g;
        """,
    )
    index_defs = [
        row[0]
        for row in conn.execute(
            sa.text(
                "SELECT indexdef FROM pg_indexes WHERE tablename IN "
                "('incidents','messages','incident_messages','assignments') "
                "AND indexdef NOT LIKE 'CREATE UNIQUE%'"
            )
        )
    ]
    for definition in index_defs:
        name = definition.split(" INDEX ", 1)[1].split(" ON ", 1)[0]
        conn.execute(sa.text(f"DROP INDEX IF EXISTS {name} CASCADE"))
    step(
        f"{incidents:,} incidents",
        f"""
        INSERT INTO incidents (id, public_number, status, title, summary, topic_group, topic,
            municipality, municipality_oktmo, priority, priority_rank, message_count,
            author_count, reach, version, created_at, updated_at, closed_at)
        SELECT g,
               'B-' || lpad(g::text, 8, '0'),
               st,
               left(replace(replace(({phrases_sql})[1 + {h0} % {len(PHRASES)}], '{{street}}',
                    ({streets_sql})[1 + {h1} % {len(STREETS)}]), '{{n}}', (g % 97)::text), 120),
               '',
               ({groups_sql})[1 + {h2} % {len(pairs)}],
               ({topics_sql})[1 + {h2} % {len(pairs)}],
               ({towns_sql})[1 + {h3} % {len(TOWNS)}],
               ({oktmo_sql})[1 + {h3} % {len(TOWNS)}],
               (ARRAY['low','normal','normal','normal','high','urgent'])[1 + {h4} % 6],
               (ARRAY[0,1,1,1,2,3])[1 + {h4} % 6],
               1 + (g % 5 = 0)::int, 1 + (g % 5 = 0)::int, 100 + g % 900, 3,
               created, created, CASE WHEN st = 'closed' THEN created + interval '2 days' END
        FROM (
            SELECT g,
                   timestamptz '{NOW.isoformat()}' - make_interval(
                       secs => ({incidents} - g)::float8 * {span} / {incidents}) AS created,
                   CASE WHEN g > {active_from} THEN
                        (ARRAY['triage','triage','new','assigned','assigned','in_progress',
                               'in_progress','in_progress','answered','returned'])[1 + {h5} % 10]
                   ELSE (ARRAY['closed','closed','closed','closed','closed','closed','closed',
                               'closed','closed','closed','closed','closed','closed','closed',
                               'closed','closed','rejected','rejected','merged','published'])
                        [1 + {h5} % 20]
                   END AS st
            FROM generate_series(1, {incidents}) g
        ) s;
        SELECT setval('incidents_id_seq', {incidents});
        """,
    )
    step(
        f"{incidents + incidents // 5:,} messages",
        f"""
        INSERT INTO messages (id, network, source_id, external_id, kind, author_id, text,
            posted_at, url, collected_at)
        SELECT p.m, (ARRAY['vk','ok','telegram'])[1 + (1 + {h6} % {SOURCES}) % 3],
               1 + {h6} % {SOURCES}, p.m::text,
               CASE WHEN p.m > {incidents} THEN 'comment' ELSE 'post' END,
               (1000 + p.m % 50000)::text,
               replace(replace(({phrases_sql})[1 + {h7} % {len(PHRASES)}], '{{street}}',
                   ({streets_sql})[1 + {h8} % {len(STREETS)}]), '{{n}}',
                   (p.inc % 97)::text)
                   || CASE WHEN p.m > {incidents} THEN ' Та же беда, поддерживаю!' ELSE '' END,
               x.created_at, 'https://vk.com/wall-1_' || p.m, x.created_at
        FROM (
            SELECT g, g FROM generate_series(1, {incidents}) g
            UNION ALL
            SELECT {incidents} + g, g * 5 FROM generate_series(1, {incidents // 5}) g
        ) p(m, inc)
        JOIN incidents x ON x.id = p.inc;
        SELECT setval('messages_id_seq', {incidents + incidents // 5});
        """,
    )
    step(
        "incident_messages",
        f"""
        INSERT INTO incident_messages (incident_id, message_id, grouping_version, evidence,
            attached_at)
        SELECT CASE WHEN m.id > {incidents} THEN (m.id - {incidents}) * 5 ELSE m.id END,
               m.id, 'bench', '{{}}', m.posted_at
        FROM messages m;
        """,
    )
    step(
        "assignments",
        f"""
        INSERT INTO assignments (incident_id, executor_id, assigned_at, received_at, status,
            sla_budget_minutes, deadline_at, at_risk_at, closed_at)
        SELECT i.id, 1 + {h9} % {EXECUTORS}, i.created_at, i.created_at,
               CASE i.status WHEN 'assigned' THEN 'received' WHEN 'in_progress' THEN 'received'
                             WHEN 'answered' THEN 'answered' WHEN 'returned' THEN 'returned'
                             ELSE 'closed' END,
               480, i.created_at + make_interval(hours => 24 + (i.id % 48)::int),
               i.created_at + make_interval(hours => 18 + (i.id % 48)::int),
               CASE WHEN i.status IN ('closed', 'published', 'returned')
                    THEN i.created_at + interval '2 days' END
        FROM incidents i
        WHERE i.status IN ('assigned','in_progress','answered','returned','closed','published');
        """,
    )
    step(
        "active assignment copied onto incidents (as migration 0006 backfills it)",
        """
        UPDATE incidents AS i SET
            active_assignment_id = a.id, active_executor_id = a.executor_id,
            active_status = a.status, active_deadline_at = a.deadline_at,
            active_at_risk_at = a.at_risk_at, queue_deadline_at = a.deadline_at
        FROM assignments a
        WHERE a.incident_id = i.id AND a.status IN ('assigned', 'received', 'paused', 'answered');
        """,
    )
    start = time.perf_counter()
    for definition in index_defs:
        conn.execute(sa.text(definition))
    timings["indexes"] = time.perf_counter() - start
    print(f"  indexes rebuilt: {timings['indexes']:.1f} s", flush=True)
    return timings


def _users(url: str) -> str:
    """Add the bench's operator and an executor's employee; return the operator's token."""
    engine = create_engine_for(url)
    sessions = make_sessionmaker(engine)
    accounts = AccountService(sessionmaker=sessions, clock=lambda: NOW)
    accounts.add_user("bench-operator", role="operator", password=PASSWORD)
    accounts.add_user("bench-exec", role="executor", password=PASSWORD, executor="ex-07")
    token = accounts.new_token("bench-operator")
    engine.dispose()
    return token


def _plans(url: str, timezone: str) -> list[tuple[str, str, list[str]]]:
    """EXPLAIN ANALYZE each filter's queue query, as the repository sends it."""
    from multidict import MultiDict

    from web.forms import parse_filter

    engine = create_engine_for(url)
    captured: list[tuple[str, Any]] = []

    @sa.event.listens_for(engine, "before_cursor_execute")
    def capture(_conn: Any, _cursor: Any, statement: str, params: Any, *_: Any) -> None:
        captured.append((statement, params))

    sessions = make_sessionmaker(engine)
    service = QueryService(
        sessionmaker=sessions,
        routing=lambda: (_ for _ in ()).throw(RuntimeError("not needed")),
        clock=lambda: NOW,
    )
    operator = Viewer(user_id=1, login="bench-operator", name="bench", role="operator")
    results = []
    for name, query in FILTERS.items():
        params: MultiDict[str] = MultiDict()
        for part in filter(None, query.split("&")):
            key, _, value = part.partition("=")
            from urllib.parse import unquote_plus

            params.add(key, unquote_plus(value))
        filters: QueueFilter = parse_filter(params, timezone=timezone)
        captured.clear()
        service.queue_sync(operator, filters)
        statement, bound = next(
            (s, p) for s, p in captured if "FROM incidents" in s and "ORDER BY" in s
        )
        with engine.connect() as conn:
            raw = conn.connection.dbapi_connection
            assert raw is not None
            with raw.cursor() as cursor:
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, bound)
                plan = [row[0] for row in cursor.fetchall()]
        results.append((name, query, plan))
    engine.dispose()
    return results


def _serve(url: str, port: int, workers: int) -> None:
    """Run the web application over the bench database (the child process).

    The application is the one ``run`` serves (``build_http_app``), on the loop ``run`` uses
    (app/event_loop.py; ``IM_EVENT_LOOP=asyncio`` for asyncio's own). With ``workers`` > 1
    this process serves HTTP too and starts ``workers - 1`` HTTP-only processes on the same
    port, as ``run`` does with ``web.workers`` (app/web_workers.py).
    """
    import logging

    from aiohttp import web

    from app import event_loop
    from app.config import load_config
    from app.runtime import install_stop_signals
    from app.web_workers import WorkerPool, build_http_app

    logging.basicConfig(level=logging.WARNING)
    os.environ.update({"IM_DATABASE_URL": url, "IM_SESSION_SECRET": "b" * 48})
    config = load_config(ROOT / "config.yaml", dict(os.environ))
    app, close = build_http_app(config)

    async def main() -> None:
        stop = asyncio.Event()
        install_stop_signals(stop)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port, reuse_port=True).start()
        pool = WorkerPool(config, "127.0.0.1", port, workers - 1)
        if workers > 1:
            pool.start()
        try:
            if workers > 1:
                await pool.supervise(stop)
            else:
                await stop.wait()
        finally:
            await asyncio.to_thread(pool.stop)
            await runner.cleanup()
            close()

    event_loop.run(main())


async def _sign_in(session: aiohttp.ClientSession, base: str) -> None:
    async with session.post(
        base + "/api/v1/session", json={"login": "bench-operator", "password": PASSWORD}
    ) as response:
        response.raise_for_status()


async def _load(
    base: str, path: str, *, requests: int, concurrency: int, headers: dict[str, str], cookie: bool
) -> tuple[list[float], int]:
    """Send ``requests`` GETs from ``concurrency`` clients; return latencies (ms) and errors."""
    latencies: list[float] = []
    errors = 0
    remaining = requests
    connector = aiohttp.TCPConnector(limit=concurrency)
    # unsafe=True: keep the session cookie of a bare IP address (127.0.0.1).
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(
        connector=connector, headers=headers, cookie_jar=jar
    ) as session:
        if cookie:
            await _sign_in(session, base)

        async def client() -> None:
            nonlocal remaining, errors
            while remaining > 0:
                remaining -= 1
                start = time.perf_counter()
                async with session.get(base + path, allow_redirects=False) as response:
                    await response.read()
                    if response.status != 200:
                        errors += 1
                latencies.append((time.perf_counter() - start) * 1000)

        await asyncio.gather(*(client() for _ in range(concurrency)))
    return latencies, errors


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def _measure(base: str, token: str, args: argparse.Namespace) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = []
    bearer = {"Authorization": f"Bearer {token}"}
    targets = [("baseline /health", "/health", {}, False)]
    for name, query in FILTERS.items():
        suffix = "?" + query if query else ""
        targets.append((f"page  {name}", "/queue" + suffix, {}, True))
        targets.append((f"api   {name}", "/api/v1/incidents" + suffix, bearer, False))
    # Warm up (caches, connection pools), not measured.
    await _load(
        base, "/api/v1/incidents", requests=50, concurrency=10, headers=bearer, cookie=False
    )
    for label, path, headers, cookie in targets:
        start = time.perf_counter()
        latencies, errors = await _load(
            base,
            path,
            requests=args.requests,
            concurrency=args.concurrency,
            headers=headers,
            cookie=cookie,
        )
        wall = time.perf_counter() - start
        row = (
            label,
            f"{statistics.median(latencies):7.1f}",
            f"{_pct(latencies, 0.95):7.1f}",
            f"{_pct(latencies, 0.99):7.1f}",
            f"{len(latencies) / wall:6.1f}",
            str(errors),
        )
        print("  " + " | ".join(row), flush=True)
        rows.append(row)
    return rows


async def _session_cookie(base: str) -> str:
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(cookie_jar=jar) as session:
        await _sign_in(session, base)
        value = next((c.value for c in jar if c.key == "im_session"), None)
    if value is None:
        raise RuntimeError("signing in gave no session cookie")
    return value


def _backends(url: str, database: str) -> list[int]:
    """The PostgreSQL backends serving ``database`` (the web processes' pooled connections)."""
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        pids = conn.scalars(
            sa.text(
                "SELECT pid FROM pg_stat_activity WHERE datname = :db AND pid <> pg_backend_pid()"
            ),
            {"db": database},
        ).all()
    engine.dispose()
    return list(pids)


@dataclass(frozen=True, slots=True)
class _Line:
    """One wrk run of one target: its result, the think time and the server's CPU a request."""

    think_s: float
    result: WrkResult
    web_ms: float
    pg_ms: float
    load: float

    def passes(self, goal_ms: float) -> bool:
        """Whether the run met the latency goal (p95 under ``goal_ms``, no errors)."""
        return self.result.p95_ms < goal_ms and self.result.errors == 0


@dataclass(frozen=True, slots=True)
class _Server:
    """Where the load goes and whose CPU is counted: the web process tree and the database."""

    base: str
    pid: int
    url: str
    database: str


def _run_line(
    server: _Server,
    paths: list[str],
    headers: dict[str, str],
    *,
    clients: int,
    think_s: float,
    seconds: float,
) -> _Line:
    """Run wrk once; CPU a request from /proc of the web processes and the database backends."""
    web_before = cpu_seconds(descendants(server.pid))
    pg_before = cpu_seconds(_backends(server.url, server.database))
    result = run_wrk(
        server.base, paths, headers=headers, connections=clients, seconds=seconds, think_s=think_s
    )
    web_after = cpu_seconds(descendants(server.pid))
    pg_after = cpu_seconds(_backends(server.url, server.database))
    web_cpu = sum(v - web_before.get(pid, 0.0) for pid, v in web_after.items())
    pg_cpu = sum(v - pg_before.get(pid, 0.0) for pid, v in pg_after.items())
    per = max(result.requests, 1)
    return _Line(think_s, result, web_cpu / per * 1000, pg_cpu / per * 1000, os.getloadavg()[0])


def _offered(clients: int, think_s: float) -> str:
    """The rate the clients would send if every answer took no time (clients / think time)."""
    return f"{clients / think_s:.0f}" if think_s > 0 else "closed"


def _print_line(label: str, line: _Line, clients: int) -> None:
    r = line.result
    print(
        f"  {label} | {line.think_s:g} | {_offered(clients, line.think_s)} | {r.rate:.0f} | "
        f"{r.p50_ms:.1f} | {r.p95_ms:.1f} | {r.p99_ms:.1f} | {r.errors} | {line.web_ms:.2f} | "
        f"{line.pg_ms:.2f} | {line.load:.1f}",
        flush=True,
    )


def _capacity(
    lines: list[_Line], run: Callable[[float], _Line], *, clients: int, goal_ms: float, steps: int
) -> tuple[float, list[tuple[float, float, float]]]:
    """The highest achieved req/s with p95 under ``goal_ms``, by bisection on the offered rate.

    The measured lines bound it: the best passing line from below, the lowest offered rate of
    a failing one from above (the closed loop's offered rate is what it achieved). Each step
    runs ``clients`` clients at the mean think time ``clients / rate`` and keeps the half that
    holds the boundary. Return the capacity and the steps as (offered, achieved, p95).
    """
    passing = [x.result.rate for x in lines if x.passes(goal_ms)]
    failing = [
        clients / x.think_s if x.think_s > 0 else x.result.rate
        for x in lines
        if not x.passes(goal_ms)
    ]
    best = max(passing, default=0.0)
    if not failing:
        return best, []
    low, high = best, min(failing)
    tried: list[tuple[float, float, float]] = []
    for _ in range(steps):
        if high - low < max(5.0, 0.05 * high):
            break
        rate = (low + high) / 2
        line = run(clients / rate)
        tried.append((rate, line.result.rate, line.result.p95_ms))
        if line.passes(goal_ms):
            best = max(best, line.result.rate)
            low = rate
        else:
            high = rate
    return best, tried


def _measure_wrk(base: str, token: str, args: argparse.Namespace, server: _Server) -> None:
    """Each target under wrk at each think time; latency, req/s, CPU a request, capacity.

    CPU a request: the web processes' CPU-seconds (the server's process tree) and the
    database's backends' over the line's requests, read from /proc before and after.
    """
    bearer = {"Authorization": f"Bearer {token}"}
    cookie = {"Cookie": "im_session=" + asyncio.run(_session_cookie(base))}
    targets: list[tuple[str, list[str], dict[str, str]]] = [("baseline /health", ["/health"], {})]
    suffixes = ["?" + q if q else "" for q in FILTERS.values()]
    for name, suffix in zip(FILTERS, suffixes, strict=True):
        targets.append((f"page  {name}", ["/queue" + suffix], cookie))
        targets.append((f"api   {name}", ["/api/v1/incidents" + suffix], bearer))
    if len(suffixes) > 1:
        targets.append(("page  every filter in turn", ["/queue" + s for s in suffixes], cookie))
        targets.append(
            ("api   every filter in turn", ["/api/v1/incidents" + s for s in suffixes], bearer)
        )
    run_wrk(base, ["/api/v1/incidents"], headers=bearer, connections=10, seconds=2)  # warm up
    thinks = [float(x) for x in args.think.split(",")]
    clients, goal = args.concurrency, args.goal_ms
    print(
        "  target | think s | offered req/s | achieved req/s | p50 | p95 | p99 ms | errors | "
        "web CPU ms/req | PG CPU ms/req | load",
        flush=True,
    )
    summary: list[tuple[str, list[_Line], float | None]] = []
    for label, paths, headers in targets:

        def run(
            think_s: float, seconds: float, paths: list[str] = paths, h: dict[str, str] = headers
        ) -> _Line:
            return _run_line(server, paths, h, clients=clients, think_s=think_s, seconds=seconds)

        lines = []
        for think_s in thinks:
            line = run(think_s, args.duration)
            _print_line(label, line, clients)
            lines.append(line)
        capacity: float | None = None
        if args.capacity_steps > 0:
            capacity, tried = _capacity(
                lines,
                lambda t, run=run: run(t, args.capacity_duration),
                clients=clients,
                goal_ms=goal,
                steps=args.capacity_steps,
            )
            steps = ", ".join(f"{o:.0f}->{a:.0f} req/s p95 {p:.0f}" for o, a, p in tried)
            print(
                f"  {label} | capacity (p95 < {goal:g} ms): {capacity:.0f} req/s"
                + (f" [bisection, offered->achieved: {steps}]" if steps else ""),
                flush=True,
            )
        summary.append((label, lines, capacity))
    print(
        f"\nsummary, {clients} clients: p95 ms (achieved req/s) at each mean think time; "
        f"capacity: the highest req/s with p95 < {goal:g} ms",
        flush=True,
    )
    print("  target | " + " | ".join(f"think {t:g} s" for t in thinks) + " | capacity req/s")
    for label, lines, capacity in summary:
        cells = [f"{x.result.p95_ms:.0f} ({x.result.rate:.0f})" for x in lines]
        cap = "-" if capacity is None else f"{capacity:.0f}"
        print(f"  {label} | " + " | ".join(cells) + f" | {cap}", flush=True)


def main() -> None:
    """Generate, serve, measure, explain, drop."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--incidents", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=400, help="requests per filter")
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument(
        "--load",
        choices=("wrk", "aiohttp"),
        default="wrk" if have_wrk() else "aiohttp",
        help="load generator: wrk (default when installed) or the Python aiohttp clients",
    )
    parser.add_argument(
        "--duration", type=float, default=10.0, help="seconds per line with --load wrk"
    )
    parser.add_argument(
        "--think",
        default="1,0.25,0",
        help="comma-separated mean think times in seconds, a line each with --load wrk "
        "(each client waits for its answer, then thinks; 0: closed loop without think time)",
    )
    parser.add_argument(
        "--goal-ms", type=float, default=150.0, help="the p95 goal of the capacity search"
    )
    parser.add_argument(
        "--capacity-steps",
        type=int,
        default=3,
        help="bisection steps of the capacity search per target with --load wrk (0: none)",
    )
    parser.add_argument(
        "--capacity-duration", type=float, default=6.0, help="seconds per capacity step"
    )
    parser.add_argument(
        "--loops",
        default="uvloop",
        help="comma-separated event loops to measure in turn: uvloop, asyncio (IM_EVENT_LOOP)",
    )
    parser.add_argument("--no-plans", action="store_true", help="skip the EXPLAIN ANALYZE part")
    parser.add_argument(
        "--admin-url",
        default=os.environ.get(
            "IM_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
        ),
    )
    parser.add_argument(
        "--database",
        default=DB_NAME,
        help="name of the bench database (created and dropped by the script)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument(
        "--filters", help="comma-separated names of the filters to measure (default: all)"
    )
    parser.add_argument("--reuse", action="store_true", help="use an existing bench database")
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=18573)
    parser.add_argument(
        "--workers",
        default="1",
        help="comma-separated web process counts to measure in turn (e.g. 1,2; web.workers); "
        "0: generate (or reuse) only",
    )
    args = parser.parse_args()
    if args.serve:
        _serve(args.serve, args.port, int(args.workers))
        return
    if args.filters:
        wanted = {name.strip() for name in args.filters.split(",")}
        unknown = wanted - set(FILTERS)
        if unknown:
            parser.error(f"unknown filters {sorted(unknown)}; known: {sorted(FILTERS)}")
        for name in set(FILTERS) - wanted:
            del FILTERS[name]
    admin = sa.create_engine(args.admin_url, isolation_level="AUTOCOMMIT")
    db_name = args.database
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", db_name):
        parser.error("--database: lower-case letters, digits and underscores only")
    url = str(sa.make_url(args.admin_url).set(database=db_name).render_as_string(False))
    if not args.reuse:
        with admin.connect() as conn:
            conn.execute(sa.text(f"DROP DATABASE IF EXISTS {db_name} WITH (FORCE)"))
            conn.execute(sa.text(f"CREATE DATABASE {db_name}"))
    child: subprocess.Popen[bytes] | None = None
    try:
        # A reused database is brought to the current migration too (alembic does nothing
        # when it is there already).
        upgrade(url)
        if not args.reuse:
            print(f"generating {args.incidents:,} incidents in {db_name} ...", flush=True)
            start = time.perf_counter()
            engine = sa.create_engine(url)
            with engine.begin() as conn:
                _seed(conn, args.incidents)
            # As autovacuum leaves a settled table: statistics, and the visibility map that
            # lets index-only scans skip the table (VACUUM cannot run in a transaction).
            vacuum_start = time.perf_counter()
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(sa.text("VACUUM ANALYZE"))
            print(f"  vacuum analyze: {time.perf_counter() - vacuum_start:.1f} s", flush=True)
            engine.dispose()
            print(f"generated in {time.perf_counter() - start:.0f} s", flush=True)
        token = _users(url) if not args.reuse else _reuse_token(url)
        with sa.create_engine(url).connect() as conn:
            size = conn.scalar(
                sa.text("SELECT pg_size_pretty(pg_database_size(current_database()))")
            )
            counts = {
                t: conn.scalar(sa.text(f"SELECT count(*) FROM {t}"))
                for t in ("incidents", "messages", "incident_messages", "assignments")
            }
        print(f"database: {size}; rows: {counts}", flush=True)
        runs = [
            (loop, int(w))
            for loop in args.loops.split(",")
            for w in args.workers.split(",")
            if int(w) > 0
        ]
        for loop, workers in runs:
            child = subprocess.Popen(
                [
                    sys.executable,
                    __file__,
                    "--serve",
                    url,
                    "--port",
                    str(args.port),
                    "--workers",
                    str(workers),
                ],
                cwd=ROOT,
                env={**os.environ, "IM_EVENT_LOOP": loop},
            )
            base = f"http://127.0.0.1:{args.port}"
            _wait_for(base)
            if workers > 1:
                time.sleep(8 + 2 * workers)  # the spawned workers import and bind
            load = os.getloadavg()
            print(
                f"\nweb processes: {workers}, event loop {loop}; load average before: "
                f"{load[0]:.1f} {load[1]:.1f} {load[2]:.1f}",
                flush=True,
            )
            if args.load == "wrk":
                print(
                    f"wrk, {args.duration:.0f} s per line, {args.concurrency} clients (a "
                    "connection each: request, wait for the answer, think, again), mean think "
                    f"times {args.think} s (0: closed loop, no think time):",
                    flush=True,
                )
                _measure_wrk(base, token, args, _Server(base, child.pid, url, db_name))
            else:
                print(
                    f"aiohttp, {args.requests} requests per line, {args.concurrency} concurrent "
                    "clients (latency ms: p50 | p95 | p99 | req/s | non-200):",
                    flush=True,
                )
                asyncio.run(_measure(base, token, args))
            child.terminate()
            child.wait(timeout=30)
            child = None
        print("\nplans (EXPLAIN ANALYZE of the repository's own SQL):", flush=True)
        for name, query, plan in [] if args.no_plans else _plans(url, "Europe/Kirov"):
            names = sorted(set(re.findall(r"(?:using|Index Scan on) (\w+)", "\n".join(plan))))
            seq = sorted(set(re.findall(r"Seq Scan on (\w+)", "\n".join(plan))))
            timing = next((line for line in plan if line.startswith("Execution Time")), "")
            print(f"\n### {name}  ({query or 'no filter'})  {timing}")
            print(f"    indexes: {', '.join(names) or '-'}; seq scans: {', '.join(seq) or 'none'}")
            for line in plan:
                print("    " + line)
    finally:
        if child is not None:
            child.terminate()
            child.wait(timeout=30)
        if not args.keep:
            with admin.connect() as conn:
                conn.execute(sa.text(f"DROP DATABASE IF EXISTS {db_name} WITH (FORCE)"))
        admin.dispose()


def _reuse_token(url: str) -> str:
    engine = create_engine_for(url)
    accounts = AccountService(sessionmaker=make_sessionmaker(engine), clock=lambda: NOW)
    token = accounts.new_token("bench-operator")
    engine.dispose()
    return token


def _wait_for(base: str) -> None:
    async def probe() -> None:
        async with aiohttp.ClientSession() as session:
            for _ in range(300):
                try:
                    async with session.get(base + "/health") as response:
                        if response.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.2)
        raise RuntimeError("the bench server did not start")

    asyncio.run(probe())


if __name__ == "__main__":
    main()
