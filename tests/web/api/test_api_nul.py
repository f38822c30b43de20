"""The JSON API refuses a NUL character as a 422 naming the field, never a 500.

PostgreSQL text and JSONB cannot hold ``\\u0000``: before the check a reason or a search with
one reached the database and failed there as a 500.
"""

from __future__ import annotations

from tests.web.api.conftest import Api


async def test_the_api_refuses_nul_naming_the_field(api: Api) -> None:
    client = await api.bearer("operator")
    water = api.incident("water")
    path = f"/api/v1/incidents/{water.id}/actions/reject"
    response = await client.post(path, json={"version": water.version, "reason": "Спам\x00"})
    assert response.status == 422
    assert (await response.json())["field"] == "reason"
    assert api.incident("water").version == water.version

    search = await client.get("/api/v1/incidents", params={"q": "вода\x00"})
    assert search.status == 422
    assert (await search.json())["field"] == "q"
