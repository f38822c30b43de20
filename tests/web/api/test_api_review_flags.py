"""The answer review aid's flags in the API's incident detail and its OpenAPI document."""

from __future__ import annotations

from tests.web.api.conftest import Api


async def test_the_api_detail_carries_the_flags(sqlite_api: Api) -> None:
    w = sqlite_api.w
    clinic = w.workflow.accept(sqlite_api.incident("clinic"), w.minzdrav)
    clinic = w.workflow.answer(
        clinic, w.minzdrav, "Запись к терапевту будет налажена в ближайшее время."
    )
    client = await sqlite_api.bearer("operator")
    detail = await (await client.get(f"/api/v1/incidents/{clinic.id}")).json()
    (answer,) = detail["answers"]
    assert [f["code"] for f in answer["review_flags"]] == ["no_term"]
    assert answer["review_flags"][0]["reason"].startswith("Не указан срок работ")
    assert answer["review_flags"][0]["evidence"] == ["в ближайшее время"]
    doc = await (await client.get("/api/v1/openapi.json")).json()
    schema = doc["components"]["schemas"]
    assert "review_flags" in schema["AnswerOut"]["properties"]
    assert "unrelated" in schema["ReviewFlagOut"]["properties"]["code"]["enum"]
