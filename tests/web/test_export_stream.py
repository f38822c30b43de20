"""stream_table, the helper that sends any Table as a download (the KPI tables will use it)."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Awaitable, Callable, Iterator
from urllib.parse import unquote

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from app.tabular import Column, Table
from tests.web.conftest import INFO, ClientFactory, Desk, _healthy, login_as
from tests.web.test_export import csv_rows, xlsx_rows
from web import create_app
from web.errors import BadRequest
from web.export_views import content_disposition, parse_format, stream_table

COLUMNS = (
    Column("executor", "Исполнитель"),
    Column("received", "Получено", "int"),
    Column("on_time", "В срок", "percent"),
    Column("median", "Медиана, ч", "hours"),
)


class Rows:
    """A generator of KPI-like rows that notes the threads it ran in and how it ended."""

    def __init__(self, count: int | None, *, fail_after: int | None = None) -> None:
        self.count = count
        self.fail_after = fail_after
        self.threads: set[int] = set()
        self.closed = threading.Event()

    def __iter__(self) -> Iterator[tuple[object, ...]]:
        i = 0
        try:
            while self.count is None or i < self.count:
                self.threads.add(threading.get_ident())
                if self.fail_after is not None and i == self.fail_after:
                    raise RuntimeError("база недоступна")
                yield (f"Министерство № {i} 🏥 <b>", i, (i % 100) / 100, i / 4)
                i += 1
        finally:
            self.closed.set()


async def serve(
    desk: Desk,
    rows: Rows,
    aiohttp_server: Callable[..., Awaitable[TestServer]],
    aiohttp_client: ClientFactory,
    *,
    filename: str | None = "Рейтинг исполнителей.{fmt}",
) -> TestClient:  # type: ignore[type-arg]
    async def kpi(request: web.Request) -> web.StreamResponse:
        fmt = request.match_info["fmt"]
        table = Table("kpi-executors", "Рейтинг исполнителей", COLUMNS, iter(rows))
        name = filename.format(fmt=fmt) if filename else None
        return await stream_table(request, table, fmt, filename=name)

    app = create_app(site_info=INFO, health_probe=_healthy, workspace=desk.workspace)
    app.router.add_get("/kpi.{fmt}", kpi)
    client = await aiohttp_client(await aiohttp_server(app))
    response = await login_as(client, "supervisor")
    assert response.status == 200
    return client


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
async def test_any_table_streams_as_a_download(
    sqlite_desk: Desk,
    aiohttp_server: Callable[..., Awaitable[TestServer]],
    aiohttp_client: ClientFactory,
    fmt: str,
) -> None:
    rows = Rows(5000)
    client = await serve(sqlite_desk, rows, aiohttp_server, aiohttp_client)
    response = await client.get(f"/kpi.{fmt}")
    assert response.status == 200, await response.text()
    assert response.headers["Transfer-Encoding"] == "chunked"
    disposition = response.headers["Content-Disposition"]
    fallback, encoded = disposition.split("; filename*=UTF-8''")
    assert fallback == f'attachment; filename="export.{fmt}"'
    assert unquote(encoded) == f"Рейтинг исполнителей.{fmt}"
    data = await response.read()
    found = csv_rows(data) if fmt == "csv" else xlsx_rows(data)
    assert len(found) == 5000
    last = found[-1]
    assert last["Исполнитель"] == "Министерство № 4999 🏥 <b>"
    if fmt == "xlsx":
        assert last["Получено"] == 4999
        assert last["В срок"] == 0.99
        assert last["Медиана, ч"] == 1249.75
    else:
        assert last["Получено"] == "4999"
        assert last["В срок"] == "99%"
        assert last["Медиана, ч"] == "1249,75"
    assert threading.get_ident() not in rows.threads  # read off the event loop's thread
    assert rows.closed.is_set()


async def test_the_default_filename_is_the_table_name_and_local_time(
    sqlite_desk: Desk,
    aiohttp_server: Callable[..., Awaitable[TestServer]],
    aiohttp_client: ClientFactory,
) -> None:
    client = await serve(sqlite_desk, Rows(1), aiohttp_server, aiohttp_client, filename=None)
    response = await client.get("/kpi.xlsx")
    # The world's clock: 2025-10-14 10:00 in Kirov.
    assert response.headers["Content-Disposition"] == (
        'attachment; filename="kpi-executors-2025-10-14_1000.xlsx"; '
        "filename*=UTF-8''kpi-executors-2025-10-14_1000.xlsx"
    )


async def test_a_failure_midway_cuts_the_body_short_and_is_logged(
    sqlite_desk: Desk,
    aiohttp_server: Callable[..., Awaitable[TestServer]],
    aiohttp_client: ClientFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    rows = Rows(None, fail_after=20_000)
    client = await serve(sqlite_desk, rows, aiohttp_server, aiohttp_client)
    with caplog.at_level(logging.ERROR, logger="web.export_views"):
        response = await client.get("/kpi.csv")
        assert response.status == 200  # the headers went out before the rows were read
        with pytest.raises(aiohttp.ClientPayloadError):
            await response.read()
    assert "failed after the response started" in caplog.text
    assert "база недоступна" in caplog.text


async def test_a_client_that_goes_away_stops_the_writer(
    sqlite_desk: Desk,
    aiohttp_server: Callable[..., Awaitable[TestServer]],
    aiohttp_client: ClientFactory,
) -> None:
    rows = Rows(None)  # endless: only the client's leaving can end it
    client = await serve(sqlite_desk, rows, aiohttp_server, aiohttp_client)
    response = await client.get("/kpi.csv")
    assert response.status == 200
    assert await response.content.read(1000)
    response.close()
    ended = await asyncio.to_thread(rows.closed.wait, 60)
    assert ended, "the writer thread went on after the client left"


def test_content_disposition_has_an_ascii_fallback_and_the_rfc_5987_name() -> None:
    assert content_disposition("incidents-2025-10-14_1000.csv") == (
        'attachment; filename="incidents-2025-10-14_1000.csv"; '
        "filename*=UTF-8''incidents-2025-10-14_1000.csv"
    )
    header = content_disposition('Жалобы "за" октябрь;\r\n.xlsx')
    assert "\r" not in header
    assert "\n" not in header
    assert header.startswith('attachment; filename="')
    assert header.split('"')[1] == "export.xlsx"
    assert content_disposition("Отчёт-2025.csv").startswith('attachment; filename="_-2025.csv"')
    assert unquote(header.split("UTF-8''")[1]) == 'Жалобы "за" октябрь;\r\n.xlsx'


@pytest.mark.parametrize("value", ["pdf", "", None, "csv; drop"])
def test_parse_format_refuses_unknown_formats(value: str | None) -> None:
    with pytest.raises(BadRequest) as caught:
        parse_format(value)
    assert caught.value.field == "format"


def test_parse_format_reads_known_formats() -> None:
    assert parse_format(" XLSX ") == "xlsx"
    assert parse_format("csv") == "csv"
