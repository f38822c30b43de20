"""Benchmark memory: the pipeline's resident memory over a backlog from many communities.

Run: ``.venv/bin/python bench/bench_memory.py [--sources 1000] [--messages 20000]
[--database URL] [--trace]``.

A fresh, migrated database (SQLite in a temporary directory by default, or ``--database``: an
empty PostgreSQL database) gets ``--sources`` VK communities of the emulator's synthetic region
and a backlog of ``--messages`` of their posts and comments, written in bulk (a region smaller
than the backlog has its posts stored again under new ids, dated within the last hours so the
freshness stage keeps them). Then the pipeline works through the backlog as the daemon's
``process`` job does (``run_once`` in chunks of ``app.runtime.PROCESS_CHUNK``), and the
process's resident set (VmRSS) is printed at each tenth of the way, with the growth per 10 000
messages over the second half (what a longer backfill would add).

The baseline, in the same run, is the RSS before the pipeline's first message: interpreter,
libraries, the classifier's model and gazetteer, the configuration. ``--trace`` adds
tracemalloc's largest growths between the first tenth and the end (slower). Figures are
printed, never asserted.

``--daemon`` measures the real service instead: ``incident-management run`` in a child process
over the same database (./config.yaml, its web app on a free port, every job of the scheduler;
Telegram pointed at a closed local port so that nothing leaves the machine, VK and OK off as
shipped), its VmRSS sampled every two seconds until the backlog is processed.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import datetime as dt  # noqa: E402
import gc  # noqa: E402
import multiprocessing  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

MB = 1024 * 1024


def rss_mb() -> float:
    """Return the process's resident set size in MB (Linux /proc)."""
    with Path("/proc/self/status").open(encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def store_backlog(sessions: Any, sources: int, messages: int, seed: int) -> int:
    """Store ``messages`` posts and comments of ``sources`` communities with bulk inserts."""
    import sqlalchemy as sa

    from emulator.vk.server import VkEmulator
    from storage.enums import MessageKind, Network
    from storage.models import Message
    from storage.repositories.sources import SourceRepository

    emu = VkEmulator(seed=seed, groups=sources)
    posts = emu.visible_posts()
    comments: dict[tuple[int, int], list[Any]] = {}
    for c in emu.visible_comments():
        comments.setdefault((c.owner_id, c.post_id), []).append(c)
    now = dt.datetime.now(dt.UTC)
    with sessions.begin() as s:
        repo = SourceRepository(s)
        owners = dict.fromkeys(post.owner_id for post in posts)
        source_of = {owner: repo.add(Network.VK, str(owner)).id for owner in owners}
    stored, round_ = 0, 0
    rows: list[dict[str, Any]] = []
    while stored < messages:
        # Later rounds store the region's posts again under new post ids.
        offset = round_ * 10_000_000
        for k, post in enumerate(posts):
            if stored >= messages:
                break
            when = now - dt.timedelta(seconds=(stored * 7 + k) % 36_000)
            post_id = f"{post.owner_id}_{post.post_id + offset}"
            source = source_of[post.owner_id]
            rows.append(_row(Network.VK, source, post_id, MessageKind.POST, None, post, when, now))
            stored += 1
            for c in comments.get((post.owner_id, post.post_id), ()):
                if stored >= messages:
                    break
                comment_id = f"{post_id}_{c.comment_id}"
                rows.append(
                    _row(Network.VK, source, comment_id, MessageKind.COMMENT, post_id, c, when, now)
                )
                stored += 1
            if len(rows) >= 5_000:
                with sessions.begin() as s:
                    s.execute(sa.insert(Message), rows)
                rows = []
        round_ += 1
    if rows:
        with sessions.begin() as s:
            s.execute(sa.insert(Message), rows)
    return stored


def _rss_of(pid: int) -> float:
    """Return another process's resident set size in MB (nan once it is gone)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text(encoding="ascii")
    except OSError:
        return float("nan")
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def run_daemon(url: str, stored: int, version: str, timeout: float) -> None:
    """Run ``incident-management run`` over the backlog; print its RSS until it is processed.

    The count of processed messages is read through an engine of its own that begins its
    transactions DEFERRED: a plain read (in SQLite's WAL mode) waits for no writer, where the
    benchmark's IMMEDIATE engine asked for the write lock the daemon's batch holds and got
    "database is locked". A read that fails all the same skips that sample.
    """
    import signal
    import subprocess

    import sqlalchemy as sa

    from storage.db import create_engine_for
    from storage.models import Classification

    reader = create_engine_for(url)
    count = sa.select(sa.func.count()).where(Classification.model_version == version)

    env = dict(os.environ)
    env.update(
        IM_CONFIG=str(ROOT / "config.yaml"),
        IM_DATABASE_URL=url,
        IM_TELEGRAM_URL="http://127.0.0.1:9",  # discard port: polls fail at once, locally
    )
    command = [sys.executable, "-m", "app", "run", "--port", "0", "--no-migrate"]
    child = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    started = time.perf_counter()
    samples: list[tuple[float, int, float]] = []
    try:
        while time.perf_counter() - started < timeout and child.poll() is None:
            time.sleep(2)
            try:
                with reader.connect() as connection:
                    done = int(connection.scalar(count) or 0)
            except sa.exc.OperationalError as err:
                print(f"count not read ({err.orig}); next sample in 2 s")
                continue
            rss = _rss_of(child.pid)
            samples.append((time.perf_counter() - started, int(done or 0), rss))
            if len(samples) % 15 == 1 or done >= stored:
                print(f"{samples[-1][0]:6.0f} s  {done:>8} processed  daemon RSS {rss:6.0f} MB")
            if done >= stored:
                break
    finally:
        child.send_signal(signal.SIGTERM)
        try:
            child.wait(timeout=60)
        except subprocess.TimeoutExpired:
            child.kill()
        reader.dispose()
    if not samples:
        print("the daemon exited before the first sample")
        return
    before = [rss for _, done, rss in samples if done == 0]
    peak = max(rss for _, _, rss in samples)
    print(
        f"daemon: {samples[-1][1]} of {stored} processed in {samples[-1][0]:.0f} s; RSS before "
        f"the first message {max(before) if before else float('nan'):.0f} MB, peak {peak:.0f} MB"
    )
    half = [x for x in samples if x[1] >= stored // 2]
    if len(half) >= 2 and half[-1][1] > half[0][1]:
        slope = (half[-1][2] - half[0][2]) / (half[-1][1] - half[0][1]) * 10_000
        print(f"daemon growth over the second half: {slope:+.1f} MB per 10 000 messages")


def _store_in_child(url: str, sources: int, messages: int, seed: int) -> int:
    from storage.db import create_engine_for, make_sessionmaker

    engine = create_engine_for(url)
    try:
        return store_backlog(make_sessionmaker(engine), sources, messages, seed)
    finally:
        engine.dispose()


def _row(
    network: Any,
    source_id: int,
    external_id: str,
    kind: Any,
    parent: str | None,
    item: Any,
    when: dt.datetime,
    now: dt.datetime,
) -> dict[str, Any]:
    author = getattr(item, "from_id", None)
    return {
        "network": network,
        "source_id": source_id,
        "external_id": external_id,
        "kind": kind,
        "external_parent_id": parent,
        "author_id": str(author) if author is not None else None,
        "text": item.text,
        "posted_at": when,
        "views": getattr(item, "views", None),
        "likes": getattr(item, "likes", None),
        "collected_at": now,
    }


def main(argv: list[str] | None = None) -> int:
    """Build the backlog, work through it in the daemon's chunks, print RSS along the way."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", type=int, default=1_000)
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--database", default=None, help="an empty database URL (default: SQLite)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--trace", action="store_true", help="tracemalloc's largest growths")
    parser.add_argument("--daemon", action="store_true", help="measure `incident-management run`")
    parser.add_argument("--timeout", type=float, default=3600, help="--daemon: give up after (s)")
    args = parser.parse_args(argv)

    from app.bootstrap import bootstrap
    from app.commands.classify_cmd import build_classifier
    from app.config import load_config
    from app.pipeline import Pipeline
    from app.routing import build_routing
    from app.runtime import PROCESS_CHUNK, utc_clock
    from app.workflow import Workflow
    from storage.db import create_engine_for, make_sessionmaker
    from storage.migrate import upgrade

    with tempfile.TemporaryDirectory() as tmp:
        url = args.database or f"sqlite:///{tmp}/bench.db"
        upgrade(url)
        engine = create_engine_for(url, sqlite_begin="IMMEDIATE")
        sessions = make_sessionmaker(engine)
        config = load_config(ROOT / "config.yaml", dict(os.environ))
        bootstrap(config, sessions)
        started = time.perf_counter()
        # In a child process, so that the emulator's region does not weigh on the figures.
        with multiprocessing.get_context("fork").Pool(1) as pool:
            stored = pool.apply(_store_in_child, (url, args.sources, args.messages, args.seed))
        print(
            f"backlog: {stored} messages of {args.sources} sources stored in "
            f"{time.perf_counter() - started:.0f} s"
        )
        classifier = build_classifier(config, None)
        if args.daemon:
            run_daemon(url, stored, classifier.version, args.timeout)
            engine.dispose()
            return 0
        routing = build_routing(config)
        workflow = Workflow(sessionmaker=sessions, clock=utc_clock, routing=routing)
        pipeline = Pipeline(
            sessionmaker=sessions,
            workflow=workflow,
            classifier=classifier,
            lemmatizer=classifier.lemmatizer,
            clock=utc_clock,
            jurisdiction=routing.jurisdiction,
        )
        gc.collect()
        baseline = rss_mb()
        print(f"baseline RSS (libraries, model, gazetteer, config): {baseline:.0f} MB")
        if args.trace:
            tracemalloc.start(5)
        done, step, mark = 0, max(1, stored // 10), max(1, stored // 10)
        samples: list[tuple[int, float]] = []
        first_snapshot = None
        started, cpu_started = time.perf_counter(), time.process_time()
        while True:
            report = pipeline.run_once(PROCESS_CHUNK)
            done += report.classified
            if done >= mark or report.classified < PROCESS_CHUNK:
                gc.collect()
                rss = rss_mb()
                samples.append((done, rss))
                index = pipeline.index
                print(
                    f"{done:>8} messages  RSS {rss:6.0f} MB (+{rss - baseline:.0f})  "
                    f"index: {len(index._incidents)} incidents, {len(index._entries)} messages, "
                    f"{len(index._blocks)} blocks  {done / (time.perf_counter() - started):.0f}"
                    f" messages/s ({done / (time.process_time() - cpu_started):.0f} per CPU-s)"
                )
                if args.trace and first_snapshot is None:
                    first_snapshot = tracemalloc.take_snapshot()
                mark += step
            if report.classified < PROCESS_CHUNK:
                break
        if args.trace and first_snapshot is not None:
            last = tracemalloc.take_snapshot()
            print("largest growths (tracemalloc, first tenth -> end):")
            for stat in last.compare_to(first_snapshot, "lineno")[:12]:
                print(f"  {stat.size_diff / MB:+7.1f} MB  {stat.traceback[0]}")
        engine.dispose()

    half = [s for s in samples if s[0] >= stored // 2]
    if len(half) >= 2 and half[-1][0] > half[0][0]:
        slope = (half[-1][1] - half[0][1]) / (half[-1][0] - half[0][0]) * 10_000
        print(f"growth over the second half: {slope:+.1f} MB per 10 000 messages")
    peak = max(rss for _, rss in samples) if samples else baseline
    added = peak - baseline
    print(f"peak RSS {peak:.0f} MB; baseline {baseline:.0f} MB; the pipeline adds {added:.0f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
