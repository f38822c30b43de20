"""The web application's start screen and health endpoint, with a fake health probe."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from aiohttp.test_utils import TestClient

from web import create_app
from web.keys import HealthReport, IncidentRow, Overview, SiteInfo

INFO = SiteInfo(
    region_name="Кировская область <тест>",
    timezone="Europe/Kirov",
    version="9.9.9",
    sources=3,
    executors=70,
    rules=12,
)

ClientFactory = Callable[..., Awaitable[TestClient]]  # type: ignore[type-arg]


def probe_returning(report: HealthReport) -> Callable[[], Awaitable[HealthReport]]:
    async def probe() -> HealthReport:
        return report

    return probe


HEALTHY = HealthReport(ok=True, database_ok=True, schema_revision="0001", schema_head="0001")
BROKEN = HealthReport(
    ok=False,
    database_ok=False,
    schema_revision=None,
    schema_head="0001",
    detail="database is unreachable",
)


async def test_health_ok(aiohttp_client: ClientFactory) -> None:
    client = await aiohttp_client(create_app(site_info=INFO, health_probe=probe_returning(HEALTHY)))
    response = await client.get("/health")
    assert response.status == 200
    assert await response.json() == {
        "status": "ok",
        "version": "9.9.9",
        "database": {"ok": True, "schema_revision": "0001", "schema_head": "0001"},
    }


async def test_health_unavailable_is_503_with_reason(aiohttp_client: ClientFactory) -> None:
    client = await aiohttp_client(create_app(site_info=INFO, health_probe=probe_returning(BROKEN)))
    response = await client.get("/health")
    assert response.status == 503
    body = await response.json()
    assert body["status"] == "unavailable"
    assert body["detail"] == "database is unreachable"
    assert body["database"]["ok"] is False


async def test_index_is_russian_and_escapes_names(aiohttp_client: ClientFactory) -> None:
    client = await aiohttp_client(create_app(site_info=INFO, health_probe=probe_returning(HEALTHY)))
    response = await client.get("/")
    assert response.status == 200
    assert response.content_type == "text/html"
    page = await response.text()
    assert "Кировская область &lt;тест&gt;" in page
    assert "<тест>" not in page
    assert "Исполнители</dt><dd>70" in page
    assert "работает" in page


async def test_index_shows_fault(aiohttp_client: ClientFactory) -> None:
    client = await aiohttp_client(create_app(site_info=INFO, health_probe=probe_returning(BROKEN)))
    page = await (await client.get("/")).text()
    assert "неисправность: database is unreachable" in page
    assert "не создана" in page


def _overview() -> Overview:
    created = datetime(2026, 1, 12, 6, 0, tzinfo=UTC)  # 09:00 in Kirov
    return Overview(
        messages=42,
        by_status=(("triage", 3), ("assigned", 2)),
        latest=(
            IncidentRow(
                number="K-000001",
                status="assigned",
                priority="urgent",
                title="Прорыв трубы <на> Ленина",
                topic_group="ЖКХ",
                municipality="Слободской",
                messages=5,
                authors=4,
                created_at=created,
                executor="Министерство ЖКХ",
                deadline=created + timedelta(hours=8),
            ),
        ),
    )


async def test_index_shows_incidents_in_russian(aiohttp_client: ClientFactory) -> None:
    async def provide() -> Overview:
        return _overview()

    app = create_app(site_info=INFO, health_probe=probe_returning(HEALTHY), overview=provide)
    client = await aiohttp_client(app)
    page = await (await client.get("/")).text()
    assert "Сообщений собрано: <strong>42</strong>" in page
    assert "инцидентов: <strong>5</strong>" in page
    assert "на разборе: <strong>3</strong>" in page
    assert "Прорыв трубы &lt;на&gt; Ленина" in page
    assert "срочный" in page
    assert "12.01.2026 09:00" in page  # shown in Europe/Kirov
    assert "12.01.2026 17:00" in page


async def test_index_skips_incidents_when_unhealthy(aiohttp_client: ClientFactory) -> None:
    async def provide() -> Overview:
        raise AssertionError("must not be read while the database is down")

    app = create_app(site_info=INFO, health_probe=probe_returning(BROKEN), overview=provide)
    client = await aiohttp_client(app)
    page = await (await client.get("/")).text()
    assert "неисправность" in page
    assert "Последние инциденты" not in page


async def test_health_shows_the_process_backlog(aiohttp_client: ClientFactory) -> None:
    behind = HealthReport(
        ok=True,
        database_ok=True,
        schema_revision="0001",
        schema_head="0001",
        backlog={"messages": 1250, "oldest_age_seconds": 720, "measured_at": "2026-12-03T06:12"},
    )
    client = await aiohttp_client(create_app(site_info=INFO, health_probe=probe_returning(behind)))
    response = await client.get("/health")
    assert response.status == 200
    body = await response.json()
    assert body["backlog"] == {
        "messages": 1250,
        "oldest_age_seconds": 720,
        "measured_at": "2026-12-03T06:12",
    }
