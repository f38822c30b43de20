"""Prometheus metrics at /metrics: database figures, job timings, VK counters; JSON logs."""

from __future__ import annotations

import io
import json
import logging
from collections import Counter
from datetime import timedelta

import pytest
import sqlalchemy as sa
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families
from pytest_aiohttp.plugin import AiohttpClient

from app.collect import CollectOutcome
from app.daemon import JobSpec
from app.logs import json_formatter
from app.metrics import DatabaseCollector, Metrics, VkClientCounters
from app.pipeline import RunReport
from storage.db import create_engine_for, make_sessionmaker
from storage.enums import MessageKind, Network
from storage.models import Classification, Message, Source
from storage.repositories.sources import SourceRepository
from tests.factories import World, kirov, new_incident, world
from web import create_app
from web.keys import HealthReport, SiteInfo

INFO = SiteInfo("Кировская область", "Europe/Kirov", "test", 1, 3, 2)


async def healthy() -> HealthReport:
    return HealthReport(True, True, "0005", "0005")


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def seed(w: World) -> None:
    """Two incidents (one assigned, one new), a failing source, a message classified 30 s late."""
    assigned = w.workflow.open_incident(new_incident())
    w.workflow.assign(assigned, "minzdrav", w.operator)
    w.workflow.open_incident(new_incident())
    now = w.clock()
    with w.sm.begin() as session:
        source = SourceRepository(session).add(Network.VK, "-101", screen_name="kirov_online")
        SourceRepository(session).add(Network.VK, "-102", screen_name="slobodskoy")
        session.execute(
            sa.update(Source)
            .where(Source.id == source.id)
            .values(consecutive_failures=3, last_error="VK error 10", lag_seconds=900)
        )
        message = Message(
            network=Network.VK,
            source_id=source.id,
            external_id="-101_1",
            kind=MessageKind.POST,
            author_id="7",
            text="Нет воды на Ленина",
            posted_at=now - timedelta(minutes=5),
            collected_at=now - timedelta(seconds=30),
        )
        session.add(message)
        session.flush()
        session.add(
            Classification(
                message_id=message.id,
                is_complaint=True,
                complaint_confidence=0.9,
                evidence={},
                model_version="test",
                created_at=now,
            )
        )


async def test_metrics_page_shows_incidents_overdue_sources_and_latency(
    db_url: str, aiohttp_client: AiohttpClient
) -> None:
    w = world(db_url, start=kirov("2025-10-14T10:00"))
    seed(w)
    registry = CollectorRegistry()
    registry.register(DatabaseCollector(w.sm, w.clock))
    client = await aiohttp_client(
        create_app(site_info=INFO, health_probe=healthy, metrics=registry)
    )

    before = samples(await (await client.get("/metrics")).text())
    w.clock.advance(timedelta(days=2))  # the 8 working hours are long gone
    response = await client.get("/metrics")

    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    after = samples(await response.text())
    assert after[("im_database_up", ())] == 1
    assert after[("im_incidents", (("state", "assigned"),))] == 1
    assert after[("im_incidents", (("state", "new"),))] == 1
    assert after[("im_incidents", (("state", "closed"),))] == 0
    assert before[("im_overdue_assignments", ())] == 0
    assert after[("im_overdue_assignments", ())] == 1
    failing = (("network", "vk"), ("source", "kirov_online"))
    healthy_source = (("network", "vk"), ("source", "slobodskoy"))
    assert after[("im_source_up", failing)] == 0
    assert after[("im_source_up", healthy_source)] == 1
    assert after[("im_source_consecutive_failures", failing)] == 3
    assert after[("im_source_lag_seconds", failing)] == 900
    assert before[("im_pipeline_latency_seconds", (("quantile", "0.5"),))] == 30


async def test_without_a_registry_there_is_no_metrics_page(aiohttp_client: AiohttpClient) -> None:
    client = await aiohttp_client(create_app(site_info=INFO, health_probe=healthy))
    assert (await client.get("/metrics")).status == 404


def test_an_unreachable_database_reports_down_not_an_error() -> None:
    engine = create_engine_for("postgresql+psycopg://nobody@127.0.0.1:1/none")
    registry = CollectorRegistry()
    registry.register(
        DatabaseCollector(make_sessionmaker(engine), lambda: kirov("2025-10-14T10:00"))
    )
    from prometheus_client import generate_latest

    found = samples(generate_latest(registry).decode())
    assert found[("im_database_up", ())] == 0
    assert ("im_incidents", (("state", "new"),)) not in found
    engine.dispose()


async def test_jobs_are_timed_and_failures_counted() -> None:
    registry = CollectorRegistry()
    metrics = Metrics(registry)
    calls: list[str] = []

    async def fine() -> None:
        calls.append("fine")

    async def broken() -> None:
        raise RuntimeError("boom")

    timed = metrics.instrument([JobSpec("fine", fine, 60), JobSpec("broken", broken, 60)])
    assert [(j.name, j.interval_seconds) for j in timed] == [("fine", 60), ("broken", 60)]
    await timed[0].func()
    await timed[0].func()
    with pytest.raises(RuntimeError):
        await timed[1].func()

    assert calls == ["fine", "fine"]
    assert registry.get_sample_value("im_job_duration_seconds_count", {"job": "fine"}) == 2
    assert registry.get_sample_value("im_job_duration_seconds_count", {"job": "broken"}) == 1
    assert registry.get_sample_value("im_job_failures_total", {"job": "broken"}) == 1
    assert registry.get_sample_value("im_job_failures_total", {"job": "fine"}) == 0


def test_collected_messages_and_pipeline_outcomes_are_counted() -> None:
    registry = CollectorRegistry()
    metrics = Metrics(registry)
    metrics.observe_collect(
        [
            CollectOutcome(1, "kirov_online", True, new_posts=2, inserted=5),
            CollectOutcome(2, "slobodskoy", False, error="VK error 10"),
        ]
    )
    metrics.observe_collect([CollectOutcome(1, "kirov_online", True, inserted=1)])
    metrics.observe_collect([CollectOutcome(7, "kirov_tg", True, inserted=3, network="telegram")])
    metrics.observe_pipeline(
        RunReport(classified=6, complaints=4, created=2, dropped={"duplicate": 1}, seconds=0.5)
    )

    get = registry.get_sample_value
    assert get("im_messages_collected_total", {"network": "vk", "source": "kirov_online"}) == 6
    assert get("im_messages_collected_total", {"network": "vk", "source": "slobodskoy"}) is None
    telegram = {"network": "telegram", "source": "kirov_tg"}
    assert get("im_messages_collected_total", telegram) == 3
    assert get("im_messages_collected_total", {"network": "vk", "source": "kirov_tg"}) is None
    polls = {"network": "vk", "source": "slobodskoy", "result": "failed"}
    assert get("im_collect_polls_total", polls) == 1
    assert get("im_pipeline_messages_total", {"outcome": "classified"}) == 6
    assert get("im_pipeline_messages_total", {"outcome": "dropped_duplicate"}) == 1
    assert get("im_pipeline_run_seconds_count") == 1


def test_vk_client_counters_become_calls_and_errors_by_code() -> None:
    counters: Counter[str] = Counter()
    registry = CollectorRegistry()
    registry.register(VkClientCounters(counters))
    counters.update(
        {
            "collector.vk.requests": 40,
            "collector.vk.error.10": 3,
            "collector.vk.error.6": 1,
            "collector.vk.retry.server_error": 3,
            "collector.vk.quota_refused.wall.get": 2,
        }
    )

    get = registry.get_sample_value
    assert get("im_api_calls_total", {"network": "vk"}) == 40
    assert get("im_api_errors_total", {"network": "vk", "code": "10"}) == 3
    assert get("im_api_errors_total", {"network": "vk", "code": "6"}) == 1
    assert get("im_api_retries_total", {"network": "vk", "cause": "server_error"}) == 3
    assert get("im_api_quota_refused_total", {"network": "vk", "method": "wall.get"}) == 2
    counters["collector.vk.requests"] += 1
    assert get("im_api_calls_total", {"network": "vk"}) == 41


def test_json_logs_are_one_object_per_line_with_russian_text() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(json_formatter())
    logger = logging.getLogger("tests.json_logs")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("источник %s недоступен", "kirov_online")
        try:
            raise ValueError("обрыв")
        except ValueError:
            logger.exception("collect failed")
    finally:
        logger.removeHandler(handler)
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert first["message"] == "источник kirov_online недоступен"
    assert (first["level"], first["logger"]) == ("WARNING", "tests.json_logs")
    assert "T" in first["time"]
    assert "ValueError: обрыв" in second["exc_info"]
