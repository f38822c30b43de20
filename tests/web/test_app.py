"""The web application's start screen and health endpoint, with a fake health probe."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp.test_utils import TestClient

from web import create_app
from web.keys import HealthReport, SiteInfo

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
