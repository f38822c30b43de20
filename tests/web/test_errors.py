"""The error middleware: pages for people, JSON under /api/, nothing internal leaked."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Awaitable, Callable

import pytest
from aiohttp.test_utils import TestClient, TestServer

from tests.web.conftest import INFO, PASSWORD, Desk, csrf_of
from web import create_app
from web.contracts import QueueFilter, QueuePage, Viewer
from web.keys import HealthReport


@pytest.fixture
async def desk(sqlite_desk: Desk) -> Desk:
    """SQLite suffices: no SQL under test here."""
    return sqlite_desk


async def _healthy() -> HealthReport:
    return HealthReport(ok=True, database_ok=True, schema_revision="x", schema_head="x")


async def test_unknown_pages_are_404_pages_and_json_under_api(desk: Desk) -> None:
    client = await desk.client("operator")
    page = await client.get("/no/such/page")
    assert page.status == 404
    assert "Страница не найдена" in await page.text()
    api = await client.get("/api/v1/nothing")
    assert api.status == 404
    body = await api.json()
    assert body["status"] == 404
    assert body["error"] == "Страница не найдена"


class ExplodingQueries:
    """Queries whose queue fails with an unexpected error (a bug, a lost database)."""

    def __init__(self, inner: object) -> None:
        self._inner = inner

    async def queue(self, viewer: Viewer, filters: QueueFilter) -> QueuePage:
        raise RuntimeError("database password=hunter2 lost")

    def __getattr__(self, name: str) -> object:
        return getattr(self._inner, name)


async def test_an_unexpected_error_is_a_500_page_logged_with_its_traceback(
    desk: Desk,
    aiohttp_client: Callable[..., Awaitable[TestClient]],  # type: ignore[type-arg]
    aiohttp_server: Callable[..., Awaitable[TestServer]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    workspace = dataclasses.replace(
        desk.workspace, queries=ExplodingQueries(desk.workspace.queries)
    )
    app = create_app(site_info=INFO, health_probe=_healthy, workspace=workspace)
    client = await aiohttp_client(await aiohttp_server(app))
    page = await (await client.get("/login")).text()
    signed_in = await client.post(
        "/login",
        data={"login": "operator", "password": PASSWORD, "csrf": csrf_of(page)},
        allow_redirects=False,
    )
    assert signed_in.status == 303
    caplog.set_level(logging.ERROR)
    response = await client.get("/queue")
    assert response.status == 500
    page = await response.text()
    assert "Внутренняя ошибка" in page
    assert "hunter2" not in page
    assert "RuntimeError" in caplog.text  # the traceback is in the log for the administrator
