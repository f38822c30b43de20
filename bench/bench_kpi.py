"""KPIs over a year of events for 40 000 incidents: time and peak memory, beside a baseline.

The log is generated in bulk (Core inserts, not the workflow: the workflow writes one
transaction per step) with the clock documents the workflow would write: 20 executors on a
Mon–Fri 09–13/14–18 week in Kirov; per incident an assignment, acceptance and, for most, a
final answer after 0.5–40 hours; ~10 % "не наш" returns re-routed, ~8 % sent for rework, ~3 %
reopened, ~5 % interim answers, ~15 % left open. Then, on the same database in the same run:

- baseline: one pass over the same event rows the KPIs read (the repository's query), counting
  them by kind, with no replay: the cost of reading the log;
- the KPIs: ``KpiService.report`` for the year (total, by executor), and the dashboard (every
  breakdown, volume, misroutes, escalations, sources).

Time is the best of ``--repeat`` runs; peak memory is tracemalloc's peak in a separate run (so
it does not slow the timed one). Run: `.venv/bin/python bench/bench_kpi.py` (SQLite in a temp
directory and PostgreSQL, from IM_BENCH_POSTGRES_URL or 127.0.0.1 trust auth).
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
import time
import tracemalloc
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Any

import sqlalchemy as sa

from app.dashboards import KpiService
from app.kpi import Dimension, Period
from app.routing import Routing
from router.calendar import load_shipped_calendar
from router.jurisdiction import Jurisdiction
from router.sla import Budget, SlaPolicy, WorkingHours, restart, start_clock, stop
from router.working_time import parse_schedule
from storage.db import create_engine_for, make_sessionmaker
from storage.enums import ExecutorKind, IncidentStatus, MessageKind, Network, Priority
from storage.migrate import upgrade
from storage.models import (
    Event,
    Executor,
    Incident,
    IncidentMessage,
    Message,
    Source,
)
from storage.repositories import clock_to_json
from storage.repositories.kpi import KpiRepository

ZONE = "Europe/Kirov"
CALENDAR = load_shipped_calendar()
HOURS = WorkingHours(parse_schedule("mon-fri=09:00-13:00,14:00-18:00"), CALENDAR, ZONE)
EXECUTORS = [f"exec-{i:02d}" for i in range(20)]
GROUPS = ["ЖКХ", "Дороги", "Здравоохранение", "Образование", "Транспорт", "Благоустройство"]
PLACES = [(f"33{n:06d}", f"Район {n}") for n in range(1, 40)]
YEAR = (datetime(2025, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC))
BUDGET = Budget(timedelta(hours=8), "default: 8 working hours")
INTERIM = Budget(timedelta(hours=56), "interim answer: 7 working days")
CHUNK = 5000


def routing() -> Routing:
    """Every executor on the same week; no jurisdiction rules are needed to read the log."""
    return Routing(
        jurisdiction=Jurisdiction(()),
        policy=SlaPolicy(),
        calendar=CALENDAR,
        executor_hours=MappingProxyType(dict.fromkeys(EXECUTORS, HOURS)),
        region_hours=HOURS,
        escalate_outside_hours=False,
    )


class Log:
    """Collects generated rows and writes them in chunks."""

    def __init__(self, conn: sa.Connection) -> None:
        self.conn = conn
        self.events: list[dict[str, Any]] = []
        self.count = 0

    def add(self, incident_id: int, kind: str, at: datetime, **payload: Any) -> None:
        self.events.append(
            {"incident_id": incident_id, "kind": kind, "occurred_at": at, "payload": payload}
        )
        if len(self.events) >= CHUNK:
            self.flush()

    def flush(self) -> None:
        if self.events:
            self.conn.execute(sa.insert(Event), self.events)
            self.count += len(self.events)
            self.events = []


def _incident_events(log: Log, rng: random.Random, incident_id: int, aid: Iterator[int]) -> None:
    received = YEAR[0] + timedelta(seconds=rng.uniform(0, 364 * 86400))
    executor = rng.choice(EXECUTORS)
    a = next(aid)
    clock = start_clock(received, BUDGET, HOURS)
    overall = start_clock(received, BUDGET, HOURS)
    log.add(
        incident_id,
        "assign",
        received,
        executor=executor,
        assignment_id=a,
        rule_id=f"rules[{EXECUTORS.index(executor) % 7}]",
        clocks={str(a): clock_to_json(clock)},
        overall_clock=clock_to_json(overall),
    )
    now = received + timedelta(minutes=rng.uniform(5, 120))
    if rng.random() < 0.10:  # not ours: back, and re-routed
        clock = stop(clock, now)
        log.add(
            incident_id,
            "return",
            now,
            executor=executor,
            assignment_id=a,
            return_kind="not_ours",
            rule_id=f"rules[{EXECUTORS.index(executor) % 7}]",
            clocks={str(a): clock_to_json(clock)},
        )
        now += timedelta(minutes=rng.uniform(10, 240))
        executor = rng.choice(EXECUTORS)
        a = next(aid)
        clock = start_clock(now, BUDGET, HOURS)
        log.add(
            incident_id,
            "assign",
            now,
            executor=executor,
            assignment_id=a,
            rule_id=None,
            clocks={str(a): clock_to_json(clock)},
        )
    log.add(incident_id, "accept", now + timedelta(minutes=5), assignment_id=a)
    if rng.random() < 0.15:
        return  # left open
    if rng.random() < 0.05:
        now += timedelta(hours=rng.uniform(1, 8))
        clock = start_clock(now, INTERIM, HOURS)
        overall = start_clock(now, INTERIM, HOURS)
        log.add(
            incident_id,
            "answer_interim",
            now,
            assignment_id=a,
            clocks={str(a): clock_to_json(clock)},
            overall_clock=clock_to_json(overall),
        )
    now += timedelta(hours=rng.uniform(0.5, 40))
    clock, overall = stop(clock, now), stop(overall, now)
    log.add(
        incident_id,
        "answer_final",
        now,
        assignment_id=a,
        clocks={str(a): clock_to_json(clock)},
        overall_clock=clock_to_json(overall),
    )
    if rng.random() < 0.08:
        now += timedelta(hours=rng.uniform(1, 5))
        clock, overall = restart(clock, now, HOURS), restart(overall, now, HOURS)
        log.add(
            incident_id,
            "send_for_rework",
            now,
            assignment_id=a,
            comment="Нет сроков",
            clocks={str(a): clock_to_json(clock)},
            overall_clock=clock_to_json(overall),
        )
        now += timedelta(hours=rng.uniform(1, 20))
        clock, overall = stop(clock, now), stop(overall, now)
        log.add(
            incident_id,
            "answer_final",
            now,
            assignment_id=a,
            clocks={str(a): clock_to_json(clock)},
            overall_clock=clock_to_json(overall),
        )
    if rng.random() < 0.03:
        log.add(
            incident_id,
            "reopen",
            now + timedelta(days=1),
            reason="не решено",
            clocks={str(a): clock_to_json(clock)},
        )


def seed(url: str, incidents: int) -> int:
    """Generate the region's year; return how many events were written."""
    rng = random.Random(12)
    engine = create_engine_for(url)
    with engine.begin() as conn:
        conn.execute(
            sa.insert(Executor),
            [
                {"code": c, "name": f"Исполнитель {c}", "kind": ExecutorKind.MINISTRY}
                for c in EXECUTORS
            ],
        )
        networks = [Network.VK, Network.OK, Network.TELEGRAM]
        conn.execute(
            sa.insert(Source),
            [
                {"network": networks[i % 3], "external_id": f"g{i}", "title": f"Группа {i}"}
                for i in range(60)
            ],
        )
        rows, messages, links = [], [], []
        for i in range(1, incidents + 1):
            oktmo, name = rng.choice(PLACES)
            rows.append(
                {
                    "id": i,
                    "public_number": f"B-{i:07d}",
                    "status": IncidentStatus.ASSIGNED,
                    "topic_group": rng.choice(GROUPS),
                    "municipality": name,
                    "municipality_oktmo": oktmo,
                    "priority": Priority.NORMAL,
                }
            )
            source = rng.randrange(60)
            messages.append(
                {
                    "id": i,
                    "network": networks[source % 3],
                    "source_id": source + 1,
                    "external_id": f"p{i}",
                    "kind": MessageKind.POST,
                    "text": "Нет воды третий день 😡",
                    "posted_at": YEAR[0],
                }
            )
            links.append({"incident_id": i, "message_id": i, "grouping_version": "bench"})
        for table, values in ((Incident, rows), (Message, messages), (IncidentMessage, links)):
            for k in range(0, len(values), CHUNK):
                conn.execute(sa.insert(table), values[k : k + CHUNK])
        log = Log(conn)
        aid = iter(range(1, 10**9))
        for i in range(1, incidents + 1):
            _incident_events(log, rng, i, aid)
        log.flush()
    engine.dispose()
    return log.count


def measure(name: str, work: Callable[[], object], repeat: int) -> tuple[str, float, float]:
    """Return (name, best seconds, peak MiB) of ``work``."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - start)
    tracemalloc.start()
    work()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return name, best, peak / 2**20


def run(url: str, label: str, args: argparse.Namespace) -> None:
    """Seed one database and print the figures."""
    upgrade(url)
    start = time.perf_counter()
    count = seed(url, args.incidents)
    print(
        f"\n[{label}] {args.incidents:,} incidents, {count:,} events generated in "
        f"{time.perf_counter() - start:.0f} s",
        flush=True,
    )
    sessions = make_sessionmaker(create_engine_for(url))
    at = datetime(2026, 1, 15, tzinfo=UTC)
    service = KpiService(sessionmaker=sessions, routing=routing, clock=lambda: at, timezone=ZONE)
    year = Period(*YEAR)

    def baseline() -> Counter[str]:
        with sessions() as session:
            return Counter(e.kind for e in KpiRepository(session).events(*YEAR, at))

    def total() -> object:
        return service.report(year, as_of=at)

    def by_executor() -> object:
        return service.report(year, by=Dimension.EXECUTOR, as_of=at)

    def dashboard() -> object:
        return service.dashboard(year)

    print(f"{'':48} {'best s':>8} {'× base':>7} {'peak MiB':>9}", flush=True)
    base = 0.0
    for name, work in (
        ("baseline: read the same events, count by kind", baseline),
        ("kpi report: total", total),
        ("kpi report: by executor", by_executor),
        ("dashboard: every breakdown", dashboard),
    ):
        _, seconds, peak = measure(name, work, args.repeat)
        base = base or seconds
        print(f"{name:48} {seconds:8.2f} {seconds / base:7.1f} {peak:9.1f}", flush=True)
    report = service.report(year, as_of=at)
    t = report.total
    print(
        f"figures: received {t.received:,}, answered {t.answered:,}, on time "
        f"{(t.on_time_share or 0) * 100:.1f} %, final answer median "
        f"{t.final_answer_wh_median:.1f} wh, p90 {t.final_answer_wh_p90:.1f} wh"
    )


def main() -> None:
    """Run on SQLite and PostgreSQL."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--incidents", type=int, default=40_000)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument(
        "--admin-url",
        default=os.environ.get(
            "IM_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
        ),
    )
    args = parser.parse_args()
    backends = {b.strip() for b in args.backends.split(",")}
    if "sqlite" in backends:
        with tempfile.TemporaryDirectory() as tmp:
            run(f"sqlite:///{Path(tmp) / 'kpi.db'}", "SQLite", args)
    if "postgres" in backends:
        name = f"im_bench_kpi_{uuid.uuid4().hex[:8]}"
        admin = sa.create_engine(args.admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        try:
            url = sa.make_url(args.admin_url).set(database=name).render_as_string(False)
            run(url, "PostgreSQL", args)
        finally:
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()


if __name__ == "__main__":
    main()
