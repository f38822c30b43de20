"""Benchmark ``process``: a backlog from the emulator through the whole pipeline.

Run: ``.venv/bin/python bench/bench_process.py [--messages N] [--database URL]``.

The VK emulator's synthetic region (``VkEmulator(groups=...)``) gives posts and comments as the
collector stores them; they are written straight into a fresh, migrated database (SQLite in a
temporary directory by default, or ``--database``: an empty PostgreSQL database), one source
per community, with ./config.yaml's executors and rules bootstrapped. Their dates are moved to
the last hours, so the freshness stage keeps them. Then ``Pipeline.run_once`` runs over the
backlog with the shipped classifier and the Kirov gazetteer, as ``incident-management process``
does, while SQLAlchemy events count the SQL statements and the commits.

Printed beside it, in the same run: the classifier alone over the same texts (the ceiling the
database work leaves). Figures are printed, never asserted.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import datetime as dt  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def backlog(sessions: Any, messages: int, seed: int, groups: int | None = None) -> int:
    """Store about ``messages`` emulator posts and comments, one source per community.

    ``groups``: the emulator region's communities (default: one per 150 messages, at least 12).
    A region too small for ``messages`` has its posts stored again under new ids.
    """
    from collector.types import VkComment, VkPost
    from emulator.vk.server import VkEmulator
    from storage.enums import Network
    from storage.repositories.messages import MessageRepository
    from storage.repositories.sources import SourceRepository

    groups = groups or max(12, messages // 150)
    emu = VkEmulator(seed=seed, groups=groups)
    now = dt.datetime.now(dt.UTC)
    stored = 0
    with sessions.begin() as s:
        sources, repo = SourceRepository(s), MessageRepository(s)
        posts = emu.visible_posts()
        comments: dict[tuple[int, int], list[Any]] = {}
        for c in emu.visible_comments():
            comments.setdefault((c.owner_id, c.post_id), []).append(c)
        by_group: dict[int, int] = {}
        for k, post in enumerate(posts):
            if stored >= messages:
                break
            group = -post.owner_id
            if group not in by_group:
                by_group[group] = sources.add(Network.VK, str(post.owner_id)).id
            when = now - dt.timedelta(seconds=(len(posts) - k) % 36_000)
            repo.upsert_post(
                by_group[group],
                VkPost(post.owner_id, post.post_id, post.from_id, when, post.text),
                now,
            )
            stored += 1
            for c in comments.get((post.owner_id, post.post_id), ()):
                if stored >= messages:
                    break
                repo.upsert_comment(
                    by_group[group],
                    VkComment(c.owner_id, c.post_id, c.comment_id, c.from_id, when, c.text),
                    now,
                )
                stored += 1
    return stored


def time_stages(pipeline: Any) -> dict[str, float]:
    """Wrap each stage's ``prepare`` and ``process`` to add up the CPU time they take."""
    spent: dict[str, float] = {}
    for stage in pipeline.stages:
        spent[stage.name] = 0.0
        for method in ("prepare", "process"):
            inner = getattr(stage, method)

            def timed(*args: Any, _inner: Any = inner, _name: str = stage.name) -> Any:
                started = time.process_time()
                try:
                    return _inner(*args)
                finally:
                    spent[_name] += time.process_time() - started

            setattr(stage, method, timed)
    write = pipeline.write_attaches

    def timed_write() -> None:
        started = time.process_time()
        try:
            write()
        finally:
            spent["bulk writes"] = spent.get("bulk writes", 0.0) + (time.process_time() - started)

    pipeline.write_attaches = timed_write
    return spent


def main(argv: list[str] | None = None) -> int:
    """Build the backlog, run the pipeline over it, print the figures and the baseline."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=5_000)
    parser.add_argument("--database", default=None, help="an empty database URL (default: SQLite)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)

    from sqlalchemy import event

    from app.bootstrap import bootstrap
    from app.commands.classify_cmd import build_classifier
    from app.config import load_config
    from app.pipeline import Pipeline
    from app.routing import build_routing
    from app.runtime import utc_clock
    from app.workflow import Workflow
    from classifier.types import ClassificationInput
    from storage.db import create_engine_for, make_sessionmaker
    from storage.migrate import upgrade
    from storage.repositories.classifications import ClassificationRepository

    with tempfile.TemporaryDirectory() as tmp:
        url = args.database or f"sqlite:///{tmp}/bench.db"
        upgrade(url)
        engine = create_engine_for(url, sqlite_begin="IMMEDIATE")
        sessions = make_sessionmaker(engine)
        config = load_config(ROOT / "config.yaml", dict(os.environ))
        bootstrap(config, sessions)
        stored = backlog(sessions, args.messages, args.seed)
        classifier = build_classifier(config, None)
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
        with sessions() as s:
            waiting = ClassificationRepository(s).pending(classifier.version, limit=stored)
        texts = [m.text for m in waiting]
        counts = {"statements": 0, "commits": 0}

        def statement(*_args: Any) -> None:
            counts["statements"] += 1

        def commit(*_args: Any) -> None:
            counts["commits"] += 1

        event.listen(engine, "before_cursor_execute", statement)
        event.listen(engine, "commit", commit)
        stage_cpu = time_stages(pipeline)
        started, cpu_started = time.perf_counter(), time.process_time()
        report = pipeline.run_once()
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        event.remove(engine, "before_cursor_execute", statement)
        event.remove(engine, "commit", commit)
        classifier.lemmatizer.clear_cache()
        alone_started = time.perf_counter()
        for k in range(0, len(texts), 200):
            classifier.classify_many([ClassificationInput(t) for t in texts[k : k + 200]])
        alone = time.perf_counter() - alone_started
        engine.dispose()

    backend = url.split(":", 1)[0]
    n = max(1, report.classified)
    print(f"{stored} emulator messages on {backend}; {'; '.join(report.lines())}")
    print(
        f"process        {n / wall:7.0f} messages/s wall ({n / cpu:.0f} per CPU-second); "
        f"{counts['statements'] / n:.1f} statements and {counts['commits'] / n:.2f} commits "
        "a message"
    )
    print(f"classify alone {len(texts) / alone:7.0f} messages/s wall (same texts, batches of 200)")
    shares = ", ".join(f"{name} {seconds / cpu:.0%}" for name, seconds in stage_cpu.items())
    print(f"CPU by stage   {shares}, the rest {1 - sum(stage_cpu.values()) / cpu:.0%}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
