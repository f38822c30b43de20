"""Exports of the queue (page routes and the API): files, filters, the viewer's scope, errors."""

from __future__ import annotations

import csv
import html
import io
import re
from datetime import datetime
from zoneinfo import ZoneInfo

import openpyxl
import pytest
import sqlalchemy as sa

from tests.web.conftest import CLINIC, POTHOLE, WATER, XSS, Desk

KIROV = ZoneInfo("Europe/Kirov")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def csv_rows(data: bytes) -> list[dict[str, str]]:
    assert data.startswith(b"\xef\xbb\xbf")
    return list(csv.DictReader(io.StringIO(data[3:].decode("utf-8"), newline=""), delimiter=";"))


def xlsx_rows(data: bytes) -> list[dict[str, object]]:
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    header = [str(h) for h in rows[0]]
    return [dict(zip(header, r, strict=True)) for r in rows[1:]]


def numbers(rows: list[dict[str, str]] | list[dict[str, object]]) -> set[str]:
    return {str(r["Номер"]) for r in rows}


def names(desk: Desk, wanted: set[str]) -> set[str]:
    return {desk.incidents[n].public_number for n in wanted}


async def test_operator_exports_the_queue_as_csv(desk: Desk) -> None:
    client = await desk.client("operator")
    response = await client.get("/queue/export.csv")
    assert response.status == 200, await response.text()
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Transfer-Encoding"] == "chunked"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith('attachment; filename="incidents-2025-10-14_')
    assert ".csv\"; filename*=UTF-8''incidents-2025-10-14_" in disposition
    assert response.headers["Content-Security-Policy"].startswith("default-src 'self'")
    assert response.headers["Cache-Control"] == "no-store"
    rows = csv_rows(await response.read())
    assert numbers(rows) == names(desk, {"clinic", "pothole", "water"})
    by_number = {r["Номер"]: r for r in rows}
    water = by_number[desk.incidents["water"].public_number]
    assert water["Первое сообщение"] == WATER  # a file, not a page: the text as written
    assert XSS in water["Первое сообщение"]
    assert water["Соцсеть"] == "ВКонтакте"
    assert water["Состояние"] == "на разборе"
    assert water["Ссылка на сообщение"].startswith("https://vk.com/wall-")
    clinic = by_number[desk.incidents["clinic"].public_number]
    assert clinic["Первое сообщение"] == CLINIC  # emoji intact
    assert clinic["Исполнитель"]
    assert clinic["Соблюдение срока"] in ("в срок", "")
    received = desk.incidents["clinic"].created_at.astimezone(KIROV)
    assert clinic["Получен"] == received.strftime("%Y-%m-%d %H:%M:%S")


async def test_operator_exports_the_queue_as_xlsx_with_real_dates(desk: Desk) -> None:
    client = await desk.client("operator")
    response = await client.get("/queue/export.xlsx?sort=received")
    assert response.status == 200, await response.text()
    assert response.headers["Content-Type"] == XLSX
    rows = xlsx_rows(await response.read())
    assert [r["Номер"] for r in rows] == [
        desk.incidents[n].public_number for n in ("water", "pothole", "clinic")
    ]
    pothole = rows[1]
    assert pothole["Первое сообщение"] == POTHOLE
    assert isinstance(pothole["ID"], int)
    received = pothole["Получен"]
    assert isinstance(received, datetime)
    expected = desk.incidents["pothole"].created_at.astimezone(KIROV).replace(tzinfo=None)
    assert received == expected.replace(microsecond=received.microsecond)
    assert isinstance(pothole["Срок"], datetime)  # routed: a deadline


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("topic_group=Дороги", {"pothole"}),
        ("state=triage", {"water"}),
        ("executor=minzdrav", {"clinic"}),
        ("q=воды", {"water"}),
        ("municipality=33713000", {"clinic", "pothole"}),
        ("network=telegram", set()),
        ("from=2025-10-15", set()),
        ("cursor=garbage&limit=1", {"clinic", "pothole", "water"}),  # an export has no pages
    ],
)
async def test_exports_keep_the_filters(desk: Desk, query: str, expected: set[str]) -> None:
    client = await desk.client("operator")
    for fmt in ("csv", "xlsx"):
        response = await client.get(f"/queue/export.{fmt}?{query}")
        assert response.status == 200, await response.text()
        data = await response.read()
        found = numbers(csv_rows(data) if fmt == "csv" else xlsx_rows(data))
        assert found == names(desk, expected), (fmt, query)


@pytest.mark.parametrize(
    "query",
    [
        "",
        "executor=mintrans",
        "executor=minzdrav",
        "topic_group=Дороги",
        "q=яма",
        "q=воды",
        "state=triage",
        "state=assigned&state=triage&state=new",
    ],
)
async def test_an_executor_exports_only_its_own_incidents(desk: Desk, query: str) -> None:
    """zdrav (minzdrav's employee) never gets the pothole or the water, whatever the filters."""
    client = await desk.client("zdrav")
    own = names(desk, {"clinic"})
    for fmt in ("csv", "xlsx"):
        response = await client.get(f"/queue/export.{fmt}?{query}")
        assert response.status == 200, await response.text()
        data = await response.read()
        found = numbers(csv_rows(data) if fmt == "csv" else xlsx_rows(data))
        assert found <= own, (fmt, query)
    unfiltered = await client.get("/queue/export.csv")
    assert numbers(csv_rows(await unfiltered.read())) == own


async def test_an_empty_list_exports_the_header_alone(desk: Desk) -> None:
    client = await desk.client("operator")
    response = await client.get("/queue/export.csv?state=closed")
    assert response.status == 200
    data = await response.read()
    assert csv_rows(data) == []
    assert data[3:].decode("utf-8").startswith("ID;Номер;Состояние;Получен;")
    response = await client.get("/queue/export.xlsx?state=closed")
    assert xlsx_rows(await response.read()) == []


async def test_exports_need_a_session(sqlite_desk: Desk) -> None:
    client = await sqlite_desk.client()
    response = await client.get("/queue/export.csv", allow_redirects=False)
    assert response.status == 303
    assert response.headers["Location"].startswith("/login?next=/queue/export.csv")


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/queue/export.pdf", "format"),
        ("/queue/export.csv?sla=soon", "sla"),
        ("/queue/export.xlsx?from=14.10.2025", "from"),
        ("/queue/export.csv?source=abc", "source"),
        ("/queue/export.csv?q=" + "я" * 201, "q"),
        ("/queue/export.csv?sort=random", "sort"),
    ],
)
async def test_bad_format_or_filters_are_a_400(sqlite_desk: Desk, path: str, field: str) -> None:
    client = await sqlite_desk.client("operator")
    response = await client.get(path)
    assert response.status == 400
    assert "Content-Disposition" not in response.headers
    page = await response.text()
    assert "Неверный запрос" in page


async def test_unknown_state_filter_is_a_400(sqlite_desk: Desk) -> None:
    client = await sqlite_desk.client("operator")
    response = await client.get("/queue/export.csv?state=lost")
    assert response.status == 400


async def test_the_queue_page_links_its_exports_with_the_current_filters(desk: Desk) -> None:
    client = await desk.client("operator")
    first = await (await client.get("/queue?municipality=33713000&sort=received&limit=1")).text()
    found = re.search(r'href="(/queue\?[^"]*cursor=[^"]*)"', first)
    assert found, "no next page link"
    second = await client.get(html.unescape(found.group(1)))
    assert second.status == 200
    page = await second.text()
    for fmt in ("xlsx", "csv"):
        link = re.search(rf'href="(/queue/export\.{fmt}[^"]*)"', page)
        assert link, fmt
        target = html.unescape(link.group(1))
        assert target == f"/queue/export.{fmt}?municipality=33713000&sort=received"
    response = await client.get(target)
    assert numbers(csv_rows(await response.read())) == names(desk, {"clinic", "pothole"})


async def test_exports_read_without_offset_in_keyset_chunks(sqlite_desk: Desk) -> None:
    """The whole list in chunks of one incident: every row once, in the queue's order."""
    from app.export_service import ExportService
    from web.contracts import QueueFilter, QueueSort, Viewer

    statements: list[str] = []
    offsets: list[object] = []
    engine = sqlite_desk.w.sm.kw["bind"]

    def note(conn: object, cursor: object, statement: str, params: object, *args: object) -> None:
        statements.append(statement)
        if "OFFSET" in statement.upper() and isinstance(params, tuple | list):
            offsets.append(params[-1])  # SQLite spells every LIMIT as "LIMIT ? OFFSET ?"

    sa.event.listen(engine, "before_cursor_execute", note)
    try:
        service = ExportService(
            sessionmaker=sqlite_desk.w.sm,
            clock=sqlite_desk.w.clock,
            timezone="Europe/Kirov",
            chunk=1,
        )
        viewer = Viewer(user_id=1, login="operator", name="Оператор", role="operator")
        table = service.incidents(viewer, QueueFilter(sort=QueueSort.RECEIVED))
        assert statements == []  # nothing is read before the rows are
        rows = list(table.rows)
    finally:
        sa.event.remove(engine, "before_cursor_execute", note)
    assert [r[1] for r in rows] == [
        sqlite_desk.incidents[n].public_number for n in ("water", "pothole", "clinic")
    ]
    assert set(offsets) <= {0}  # keyset chunks: nothing is skipped by counting rows
    queue_reads = [s for s in statements if "FROM incidents" in s and "LIMIT" in s.upper()]
    # Three chunks of one (each read asks for one more row to see whether another follows);
    # the second and third start after the sort keys of the row before.
    assert len(queue_reads) == 3
    assert [") < (" in s for s in queue_reads] == [False, True, True]
