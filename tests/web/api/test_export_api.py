"""The JSON API's export: the file, the caller's scope, parameters refused, the document."""

from __future__ import annotations

import pytest

from tests.web.api.conftest import Api
from tests.web.test_export import XLSX, csv_rows, numbers, xlsx_rows


async def test_api_export_streams_the_file(api: Api) -> None:
    client = await api.bearer("operator")
    response = await client.get("/api/v1/incidents/export?format=xlsx&topic_group=Дороги")
    assert response.status == 200, await response.text()
    assert response.headers["Content-Type"] == XLSX
    assert "filename*=UTF-8''incidents-" in response.headers["Content-Disposition"]
    rows = xlsx_rows(await response.read())
    assert [r["Номер"] for r in rows] == [api.incidents["pothole"].public_number]
    response = await client.get("/api/v1/incidents/export?format=csv")
    assert len(csv_rows(await response.read())) == 3


@pytest.mark.parametrize(
    "query", ["", "executor=mintrans", "q=яма", "topic_group=ЖКХ", "state=triage"]
)
async def test_api_export_keeps_the_executor_in_its_scope(api: Api, query: str) -> None:
    client = await api.bearer("zdrav")
    response = await client.get(f"/api/v1/incidents/export?format=csv&{query}")
    assert response.status == 200, await response.text()
    assert numbers(csv_rows(await response.read())) <= {api.incidents["clinic"].public_number}


async def test_api_export_without_a_session_is_a_401(api: Api) -> None:
    client = await api.anonymous()
    response = await client.get("/api/v1/incidents/export?format=csv")
    assert response.status == 401
    body = await response.json()
    assert body["status"] == 401


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("format=pdf", "format"),
        ("", "format"),
        ("format=csv&sla=soon", "sla"),
        ("format=csv&source=abc", "source"),
        ("format=csv&cursor=abc", "cursor"),  # an export has no pages
        ("format=xlsx&from=14.10.2025", "from"),
    ],
)
async def test_api_export_refuses_bad_parameters(api: Api, query: str, field: str) -> None:
    client = await api.bearer("operator")
    response = await client.get(f"/api/v1/incidents/export?{query}")
    assert response.status == 422
    body = await response.json()
    assert body["field"] == field


async def test_api_export_refuses_an_unknown_state_with_400(api: Api) -> None:
    client = await api.bearer("operator")
    response = await client.get("/api/v1/incidents/export?format=csv&state=lost")
    assert response.status in (400, 422)
    assert (await response.json())["field"] == "state"


async def test_the_export_is_documented(api: Api) -> None:
    client = await api.anonymous()
    doc = await (await client.get("/api/v1/openapi.json")).json()
    op = doc["paths"]["/api/v1/incidents/export"]["get"]
    assert set(op["responses"]["200"]["content"]) == {"text/csv", XLSX}
    params = {p["name"]: p for p in op["parameters"]}
    assert params["format"]["required"] is True
    ref = params["format"]["schema"]["$ref"].rsplit("/", 1)[1]
    assert doc["components"]["schemas"][ref]["enum"] == ["csv", "xlsx"]
    assert "cursor" not in params
    assert {"401", "422"} <= set(op["responses"])
