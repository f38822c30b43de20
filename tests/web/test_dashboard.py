"""The dashboards and GET /api/v1/kpi over the scripted scenario of tests/app/test_kpi.py.

Who sees what: supervisors, operators and administrators every figure (read-only pages);
an executor's staff only their own executor's; nobody without signing in.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

import pytest
import sqlalchemy as sa
from aiohttp.test_utils import TestClient, TestServer

from app.accounts import AccountService
from app.dashboards import KpiService
from storage.models import Incident, Source
from tests.app.test_kpi import scenario
from tests.web.conftest import (
    INFO,
    PASSWORD,
    XSS,
    ClientFactory,
    _healthy,
    build_workspace,
    login_as,
)
from web import create_app

PERIOD = "from=2025-10-13&to=2025-10-19"

Client = TestClient  # type: ignore[type-arg]


@pytest.fixture
async def make_client(
    sqlite_url: str,
    aiohttp_client: ClientFactory,
    aiohttp_server: Callable[..., Awaitable[TestServer]],
) -> Callable[[str | None], Awaitable[Client]]:
    w = scenario(sqlite_url)
    with w.sm.begin() as session:  # text from the networks, where the dashboard shows it
        session.execute(sa.update(Source).where(Source.id == 1).values(title=XSS, last_error=XSS))
        session.execute(
            sa.update(Incident).where(Incident.id == 4).values(municipality=XSS + " Киров")
        )
    workspace = build_workspace(w)
    assert isinstance(workspace.dashboards, KpiService)
    accounts = workspace.accounts
    assert isinstance(accounts, AccountService)
    for login in ("operator", "supervisor", "admin", "zdrav", "trans"):
        accounts.set_password(login, PASSWORD)
    server = await aiohttp_server(
        create_app(site_info=INFO, health_probe=_healthy, workspace=workspace)
    )

    async def make(login: str | None) -> Client:
        client = await aiohttp_client(server)
        if login is not None:
            response = await login_as(client, login)
            assert response.status == 200
        return client

    return make


async def test_supervisor_sees_every_figure_linked_to_the_queue(make_client) -> None:  # type: ignore[no-untyped-def]
    client = await make_client("supervisor")
    response = await client.get(f"/dashboard?{PERIOD}")
    assert response.status == 200
    page = await response.text()
    # As of now (Mon 20 Oct 10:00): five incidents received, all answered, 3 on time.
    assert re.search(r'id="kpi-received">5<', page)
    assert re.search(r'id="kpi-answered">5<', page)
    assert re.search(r'id="kpi-on-time">60 %<', page)
    assert page.count("<svg") == 6
    assert "<title>Поступило по группам тем</title>" in page
    assert "<title>Здравоохранение: 4</title>" in page
    # Every bar and rating row links to the queue behind it.
    assert 'href="/queue?from=2025-10-13&amp;to=2025-10-19&amp;topic_group=' in page
    assert (
        'href="/queue?from=2025-10-13&amp;to=2025-10-19&amp;executor=minzdrav&amp;sla=overdue"'
        in page
    )
    assert 'href="/queue?from=2025-10-13&amp;to=2025-10-19&amp;municipality=33713000' in page
    ratings = page[page.index('id="rating-executors"') :]
    assert ratings.index("MINTRANS") < ratings.index("MINZDRAV")  # 100 % on time first
    assert "rules[0]" in page
    assert 'id="sources"' in page
    weeks = page[page.index('id="weeks-topics"') : page.index('id="weeks-places"')]
    assert '<th scope="col">13.10</th>' in weeks
    assert re.search(r"Здравоохранение</th><td><a href=\"[^\"]*topic_group=[^\"]*\">4</a>", weeks)


async def test_network_text_is_escaped_in_svg_and_tables(make_client) -> None:  # type: ignore[no-untyped-def]
    client = await make_client("supervisor")
    page = await (await client.get(f"/dashboard?{PERIOD}")).text()
    assert "<script>" not in page
    assert "<img src=x" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


async def test_operator_reads_without_any_form_to_change(make_client) -> None:  # type: ignore[no-untyped-def]
    client = await make_client("operator")
    response = await client.get(f"/dashboard?{PERIOD}")
    assert response.status == 200
    page = await response.text()
    assert re.search(r'id="kpi-received">5<', page)
    posts = re.findall(r'<form method="post" action="([^"]+)"', page)
    assert posts == ["/logout"]


async def test_executor_sees_only_its_own_figures(make_client) -> None:  # type: ignore[no-untyped-def]
    client = await make_client("trans")
    page = await (await client.get(f"/dashboard?{PERIOD}")).text()
    assert re.search(r'id="kpi-received">1<', page)
    assert "MINZDRAV" not in page
    assert "rules[0]" not in page
    assert 'id="sources"' not in page
    response = await client.get(f"/api/v1/kpi?{PERIOD}&by=executor")
    data = await response.json()
    assert [r["key"] for r in data["rows"]] == ["mintrans"]
    assert data["total"]["received"] == 1


async def test_without_a_session_login_or_401(make_client) -> None:  # type: ignore[no-untyped-def]
    client = await make_client(None)
    response = await client.get(f"/dashboard?{PERIOD}", allow_redirects=False)
    assert response.status == 303
    assert response.headers["Location"].startswith("/login?next=")
    response = await client.get(f"/api/v1/kpi?{PERIOD}")
    assert response.status == 401
    assert (await response.json())["status"] == 401


async def test_api_by_municipality(make_client) -> None:  # type: ignore[no-untyped-def]
    client = await make_client("supervisor")
    response = await client.get(f"/api/v1/kpi?{PERIOD}&by=municipality")
    assert response.status == 200
    data = await response.json()
    assert data["from"] == "2025-10-13T00:00:00+03:00"
    assert data["to"] == "2025-10-20T00:00:00+03:00"
    assert data["total"]["received"] == 5
    assert data["total"]["on_time"] == 3
    assert data["total"]["late"] == 2
    assert [(r["key"], r["received"]) for r in data["rows"]][:1] == [("33713000", 4)]
    assert data["misroutes"] == [
        {"rule_id": "manual", "routed": 1, "not_ours": 0, "share": 0.0},
        {"rule_id": "rules[0]", "routed": 6, "not_ours": 1, "share": pytest.approx(1 / 6)},
    ]


@pytest.mark.parametrize(
    ("query", "status", "field"),
    [
        ("from=2025-10-20&to=2025-10-13", 400, "to"),
        ("from=13.10.2025", 422, "from"),
        ("by=everything", 422, "by"),
        ("from=2024-01-01&to=2025-12-31", 400, "from"),
        ("colour=red", 422, "colour"),
    ],
)
async def test_api_bad_input_names_the_field(
    make_client, query: str, status: int, field: str
) -> None:  # type: ignore[no-untyped-def]
    client = await make_client("supervisor")
    response = await client.get(f"/api/v1/kpi?{query}")
    assert response.status == status
    assert (await response.json())["field"] == field


async def test_page_bad_period_is_a_400_page(make_client) -> None:  # type: ignore[no-untyped-def]
    client = await make_client("supervisor")
    response = await client.get("/dashboard?from=2025-10-20&to=2025-10-13")
    assert response.status == 400
    assert "конец периода раньше начала" in await response.text()


async def test_openapi_documents_kpi(make_client) -> None:  # type: ignore[no-untyped-def]
    client = await make_client(None)
    document = await (await client.get("/api/v1/openapi.json")).json()
    operation = document["paths"]["/api/v1/kpi"]["get"]
    assert {p["name"] for p in operation["parameters"]} == {"from", "to", "by"}
    assert "KpiOut" in document["components"]["schemas"]


@pytest.mark.parametrize(
    ("login", "received", "executors"),
    [
        ("supervisor", 5, ["minzdrav", "mintrans"]),
        ("operator", 5, ["minzdrav", "mintrans"]),
        ("admin", 5, ["minzdrav", "mintrans"]),
        ("zdrav", 6, ["minzdrav"]),  # its six assignments (I1 twice)
        ("trans", 1, ["mintrans"]),
    ],
)
async def test_role_table_page_and_api(  # type: ignore[no-untyped-def]
    make_client, login: str, received: int, executors: list[str]
) -> None:
    client = await make_client(login)
    page = await client.get(f"/dashboard?{PERIOD}")
    assert page.status == 200
    assert re.search(rf'id="kpi-received">{received}<', await page.text())
    response = await client.get(f"/api/v1/kpi?{PERIOD}&by=executor")
    assert response.status == 200
    data = await response.json()
    assert data["total"]["received"] == received
    assert [r["key"] for r in data["rows"]] == executors


async def test_late_parts_link_to_the_queue_of_late_answers(make_client) -> None:  # type: ignore[no-untyped-def]
    """As of Mon 20 Oct: I3 and I4 were answered late (minzdrav); the link lists exactly them."""
    client = await make_client("supervisor")
    page = await (await client.get(f"/dashboard?{PERIOD}")).text()
    link = "/queue?from=2025-10-13&amp;to=2025-10-19&amp;executor=minzdrav&amp;sla=late"
    assert f'href="{link}' in page
    found = re.search(rf'href="({re.escape(link)}[^"]*)"', page)
    assert found
    queue = await (await client.get(found.group(1).replace("&amp;", "&"))).text()
    numbers = set(re.findall(r"T-\d{6}", queue))
    assert len(numbers) == 2
    everything = await (
        await client.get(
            "/queue?sla=late&"
            + "&".join(
                f"state={s}"
                for s in (
                    "answered",
                    "approved",
                    "published",
                    "closed",
                    "assigned",
                    "reopened",
                    "in_progress",
                )
            )
        )
    ).text()
    assert set(re.findall(r"T-\d{6}", everything)) >= numbers


async def test_kpi_tables_export_as_csv_and_xlsx_within_the_viewers_scope(make_client) -> None:  # type: ignore[no-untyped-def]
    import csv
    import io

    import openpyxl

    client = await make_client("supervisor")
    page = await (await client.get(f"/dashboard?{PERIOD}")).text()
    assert (
        'href="/dashboard/export/figures.xlsx?from=2025-10-13&amp;to=2025-10-19&amp;by=executor"'
        in page
    )
    response = await client.get(f"/dashboard/export/figures.csv?{PERIOD}&by=executor")
    assert response.status == 200
    assert "kpi-executor-2025-10-13-2025-10-19.csv" in response.headers["Content-Disposition"]
    body = await response.read()
    assert body.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig")), delimiter=";"))
    keys = [row[0] for row in rows[1:]]
    assert "minzdrav" in keys
    assert "mintrans" in keys
    received = rows[0].index(next(h for h in rows[0] if h.startswith("Поступило")))
    total = rows[-1]
    assert total[received] == "5"  # the totals row, as on the page
    response = await client.get(f"/dashboard/export/misroutes.xlsx?{PERIOD}")
    assert response.status == 200
    sheet = openpyxl.load_workbook(io.BytesIO(await response.read()), read_only=True).active
    assert sheet is not None
    header = next(sheet.iter_rows(values_only=True))
    assert header[:2] == ("Правило", "Направлено")

    own = await make_client("trans")
    body = await (await own.get(f"/dashboard/export/figures.csv?{PERIOD}&by=executor")).read()
    keys = [row[0] for row in csv.reader(io.StringIO(body.decode("utf-8-sig")), delimiter=";")]
    assert "mintrans" in keys
    assert "minzdrav" not in keys

    assert (await client.get(f"/dashboard/export/nothing.csv?{PERIOD}")).status == 404
    assert (await client.get(f"/dashboard/export/figures.pdf?{PERIOD}")).status == 400
    assert (await client.get("/dashboard/export/figures.csv?from=2025-13-01")).status == 400
    nobody = await make_client(None)
    response = await nobody.get(f"/dashboard/export/figures.csv?{PERIOD}", allow_redirects=False)
    assert response.status == 303
