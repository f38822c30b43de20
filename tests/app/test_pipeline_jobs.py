"""The daemon's collect and process jobs: quiet without VK, a model that appears later is used."""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path

import pytest

from app.config import load_config
from app.pipeline import Pipeline, RunReport
from app.runtime import (
    PROCESS_CHUNK,
    PipelineSlot,
    add_reports,
    collect_job,
    process_job,
    registered_jobs,
)
from app.workflow import Workflow
from tests.app.test_pipeline_support import LEMMATIZER, KeywordClassifier, add_source, post
from tests.factories import world

ROOT = Path(__file__).resolve().parents[2]
POTHOLE = "В Слободском на улице Ленина 15 огромная яма на дороге, машины бьют колёса"


async def test_collect_skips_quietly_when_vk_is_off() -> None:
    config = load_config(ROOT / "config.yaml", {})
    assert not config.networks.vk.enabled
    await collect_job(config, None)()  # nothing to poll, nothing raised


def test_jobs_follow_the_configured_intervals() -> None:
    config = load_config(ROOT / "config.yaml", {})
    slot = PipelineSlot(lambda: None)
    jobs = registered_jobs(
        config,
        workflow=None,  # type: ignore[arg-type]
        notifier=None,  # type: ignore[arg-type]
        pipeline=slot,
    )
    intervals = {job.name: job.interval_seconds for job in jobs}
    assert intervals == {
        "collect": config.scheduler.collect_interval,
        "process": config.scheduler.classify_interval,
        "deadlines": config.scheduler.deadlines_interval,
    }


async def test_process_waits_for_a_model_and_then_processes(sqlite_url: str) -> None:
    w = world(sqlite_url)
    source = add_source(w.sm)
    post(w.sm, source, POTHOLE, w.clock() - timedelta(hours=1))
    model: list[KeywordClassifier] = []

    def build() -> Pipeline | None:
        if not model:
            return None  # the model is being retrained
        return Pipeline(
            sessionmaker=w.sm,
            workflow=w.workflow,
            classifier=model[0],
            lemmatizer=LEMMATIZER,
            clock=w.clock,
        )

    slot = PipelineSlot(build, retry_seconds=0)
    job = process_job(slot)
    await job()
    assert slot.pipeline is None
    model.append(KeywordClassifier())
    await job()
    assert slot.pipeline is not None
    assert slot.pipeline.counters["pipeline.incident.created"] == 1
    await job()  # idempotent: nothing new
    assert slot.pipeline.counters["pipeline.incident.created"] == 1
    assert isinstance(w.workflow, Workflow)


def test_reports_of_consecutive_runs_add_up() -> None:
    first = RunReport(classified=50, complaints=20, created=3, dropped={"discussion": 4}, seconds=1)
    second = RunReport(
        classified=7, complaints=2, attached=1, dropped={"discussion": 1, "too_old": 2}, seconds=2
    )
    total = add_reports(first, second)
    assert (total.classified, total.complaints, total.created, total.attached) == (57, 22, 3, 1)
    assert total.dropped == {"discussion": 5, "too_old": 2}
    assert total.seconds == 3


async def test_a_run_over_many_chunks_logs_one_line(
    sqlite_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    w = world(sqlite_url)
    source = add_source(w.sm)
    streets = ["Ленина", "Гагарина", "Советской", "Кирова", "Мира", "Труда"]
    for i in range(PROCESS_CHUNK + 10):  # more than one chunk of the job
        text = f"В Слободском на улице {streets[i % 6]} {i + 1} огромная яма на дороге, бьём колёса"
        post(w.sm, source, text, w.clock() - timedelta(minutes=30), author=i + 1)
    pipeline = Pipeline(
        sessionmaker=w.sm,
        workflow=w.workflow,
        classifier=KeywordClassifier(),
        lemmatizer=LEMMATIZER,
        clock=w.clock,
    )
    with caplog.at_level(logging.INFO, logger="app.runtime"):
        await process_job(pipeline)()
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("process: ")]
    assert len(lines) == 1
    assert f"classified: {PROCESS_CHUNK + 10} " in lines[0]
