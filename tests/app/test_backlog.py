"""A backlog that reports itself: counted per source, logged once each way, on /health."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from app.backlog import Backlog, BacklogMonitor, SkippedRunFilter, measure_backlog
from app.runtime import make_health_probe
from classifier.types import Classification
from collector.types import VkComment, VkPost
from storage.db import create_engine_for, make_sessionmaker
from storage.enums import Network
from storage.migrate import upgrade
from storage.repositories.classifications import ClassificationRepository
from storage.repositories.messages import MessageRepository
from storage.repositories.sources import SourceRepository

T0 = dt.datetime(2026, 12, 3, 6, 0, tzinfo=dt.UTC)


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    upgrade(db_url)
    eng = create_engine_for(db_url)
    yield eng
    eng.dispose()


def verdict(version: str) -> Classification:
    return Classification(
        is_complaint=True,
        complaint_confidence=0.9,
        topic_group="ЖКХ",
        topic=None,
        topic_confidence=0.5,
        municipality=None,
        municipality_oktmo=None,
        municipality_confidence=0.0,
        model_version=version,
    )


def _store(engine: Engine) -> tuple[int, int, list[int]]:
    """Two sources; five messages collected an hour apart; return the ids."""
    sm = make_sessionmaker(engine)
    with sm.begin() as s:
        sources = SourceRepository(s)
        town = sources.add(Network.VK, "-42", municipality="Слободской")
        village = sources.add(Network.VK, "-43", municipality="Оричевский район")
        messages = MessageRepository(s)
        ids = [
            messages.upsert_post(
                town.id,
                VkPost(owner_id=-42, id=1, from_id=7, date=T0, text="Нет воды на Ленина 😡"),
                T0,
            ),
            messages.upsert_comment(
                town.id,
                VkComment(owner_id=-42, post_id=1, id=2, from_id=8, date=T0, text="И у нас!"),
                T0 + dt.timedelta(hours=1),
            ),
            messages.upsert_post(
                town.id,
                VkPost(owner_id=-42, id=3, from_id=9, date=T0, text="Яма у школы №2"),
                T0 + dt.timedelta(hours=2),
            ),
            messages.upsert_post(
                village.id,
                VkPost(owner_id=-43, id=1, from_id=5, date=T0, text="В д. Быстрица нет света"),
                T0 + dt.timedelta(hours=3),
            ),
            messages.upsert_post(
                village.id,
                VkPost(owner_id=-43, id=2, from_id=6, date=T0, text="Автобус не пришёл"),
                T0 + dt.timedelta(hours=4),
            ),
        ]
    return town.id, village.id, ids


def _classify(engine: Engine, ids: list[int], version: str) -> None:
    with make_sessionmaker(engine).begin() as s:
        for message_id in ids:
            ClassificationRepository(s).add(message_id, verdict(version), now=T0)


def test_the_backlog_counts_what_waits_for_the_current_model_per_source(engine: Engine) -> None:
    town, village, ids = _store(engine)
    _classify(engine, ids[:1], "m:2")  # done with the current model
    _classify(engine, ids[1:2], "m:1")  # only an old model's verdict: waits again
    with make_sessionmaker(engine)() as s:
        per_source = ClassificationRepository(s).backlog("m:2")
        total = measure_backlog(s, "m:2", T0 + dt.timedelta(hours=5))
    assert {k: v.messages for k, v in per_source.items()} == {town: 2, village: 2}
    assert per_source[town].oldest_collected_at == T0 + dt.timedelta(hours=1)
    assert per_source[village].oldest_collected_at == T0 + dt.timedelta(hours=3)
    assert total.messages == 4
    assert total.oldest_age == dt.timedelta(hours=4)
    assert total.to_json() == {
        "messages": 4,
        "oldest_age_seconds": 4 * 3600,
        "measured_at": "2026-12-03T11:00:00+00:00",
    }
    _classify(engine, ids[1:], "m:2")
    with make_sessionmaker(engine)() as s:
        assert ClassificationRepository(s).backlog("m:2") == {}
        empty = measure_backlog(s, "m:2", T0)
    assert empty.describe() == "no message waiting"
    assert empty.oldest_age is None


def test_falling_behind_and_catching_up_are_logged_once_each(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    _town, _village, ids = _store(engine)
    now = [T0 + dt.timedelta(hours=4, minutes=30)]
    monitor = BacklogMonitor(
        sessions=make_sessionmaker(engine),
        clock=lambda: now[0],
        max_messages=3,
        max_age=dt.timedelta(hours=1),
    )
    caplog.set_level(logging.INFO, logger="app.backlog")
    monitor.check("m:1")
    monitor.check("m:1")  # still behind: said once already
    _classify(engine, ids[:4], "m:1")
    monitor.check("m:1")  # one message, 30 minutes old: within both limits
    monitor.check("m:1")
    lines = [(r.levelname, r.getMessage()) for r in caplog.records]
    assert lines == [
        ("WARNING", "process is behind: 5 messages waiting, the oldest for 4.5 h"),
        ("INFO", "process caught up: 1 messages waiting, the oldest for 30 min"),
    ]
    assert monitor.last is not None
    assert monitor.last.messages == 1


def test_only_the_process_jobs_skipped_runs_are_quietened() -> None:
    quiet = SkippedRunFilter(("process",))

    def record(job: str) -> logging.LogRecord:
        return logging.LogRecord(
            "apscheduler.scheduler",
            logging.WARNING,
            __file__,
            1,
            'Execution of job "%s" skipped: maximum number of running instances reached (%d)',
            (f"{job} (trigger: interval[0:01:00], next run at: 2026-12-03 09:00:00 UTC)", 1),
            None,
        )

    assert not quiet.filter(record("process"))
    assert quiet.filter(record("collect"))
    other = logging.LogRecord("x", logging.INFO, __file__, 1, "process: classified 5", (), None)
    assert quiet.filter(other)


async def test_health_reports_the_latest_backlog(engine: Engine) -> None:
    latest: list[Backlog | None] = [None]
    probe = make_health_probe(engine, backlog=lambda: latest[0])
    assert (await probe()).backlog is None
    latest[0] = Backlog(1250, T0, T0 + dt.timedelta(minutes=12))
    report = await probe()
    assert report.ok
    assert report.backlog == {
        "messages": 1250,
        "oldest_age_seconds": 720,
        "measured_at": "2026-12-03T06:12:00+00:00",
    }
