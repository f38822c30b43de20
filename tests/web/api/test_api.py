"""The JSON API: sign-in, tokens, the queue, the incident, errors, scope and secrets."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from tests.web.api.conftest import Api
from tests.web.conftest import PASSWORD, SECRET
from web.api import OPERATIONS
from web.api.models import IncidentList
from web.auth import COOKIE


async def _json(response: Any) -> Any:
    return await response.json()


async def test_session_sign_in_csrf_tokens_and_sign_out(api: Api) -> None:
    client = await api.anonymous()
    assert (await client.get("/api/v1/me")).status == 401
    wrong = await client.post("/api/v1/session", json={"login": "zdrav", "password": "не тот"})
    assert wrong.status == 401
    body = await wrong.json()
    assert body["status"] == 401
    assert body["error"]
    assert body["detail"]
    response = await client.post("/api/v1/session", json={"login": "zdrav", "password": PASSWORD})
    assert response.status == 200
    me = await response.json()
    assert (me["login"], me["role"], me["executor_code"], me["auth"]) == (
        "zdrav",
        "executor",
        "minzdrav",
        "session",
    )
    cookie = response.cookies[COOKIE]
    assert cookie["httponly"]
    assert cookie["samesite"] == "Lax"
    csrf = me["csrf_token"]
    assert (await _json(await client.get("/api/v1/me")))["login"] == "zdrav"
    # An unsafe call with the cookie but without the CSRF header is refused.
    refused = await client.post("/api/v1/tokens")
    assert refused.status == 403
    issued = await client.post("/api/v1/tokens", headers={"X-CSRF-Token": csrf})
    assert issued.status == 201
    token = (await issued.json())["token"]
    by_token = await api.make_client(api.server, headers={"Authorization": f"Bearer {token}"})
    mine = await _json(await by_token.get("/api/v1/me"))
    assert (mine["login"], mine["auth"], mine["csrf_token"]) == ("zdrav", "token", None)
    assert (await client.delete("/api/v1/session")).status == 403  # no CSRF header
    assert (await client.delete("/api/v1/session", headers={"X-CSRF-Token": csrf})).status == 204
    assert (await client.get("/api/v1/me")).status == 401
    assert (await by_token.get("/api/v1/me")).status == 200  # tokens outlive the session


async def test_the_sign_in_needs_json_and_is_throttled(api: Api) -> None:
    client = await api.anonymous()
    form = await client.post("/api/v1/session", data={"login": "operator", "password": PASSWORD})
    assert form.status == 403  # a form post (what a cross-site page can send) needs CSRF
    for _ in range(5):
        response = await client.post(
            "/api/v1/session", json={"login": "operator", "password": "угадываю"}
        )
        assert response.status == 401
    locked = await client.post("/api/v1/session", json={"login": "operator", "password": PASSWORD})
    assert locked.status == 429
    assert int(locked.headers["Retry-After"]) >= 1
    assert (await locked.json())["status"] == 429


@pytest.mark.parametrize("query", ["", "limit=1", "state=triage", "sort=deadline&limit=2"])
async def test_the_queue_page_is_exactly_what_its_documented_model_writes(
    api: Api, query: str
) -> None:
    # The rows are serialised without passing through IncidentSummary (views.py _PAGE_JSON):
    # validating the answer against IncidentList and writing it again must give the same bytes.
    client = await api.bearer("operator")
    response = await client.get("/api/v1/incidents?" + query)
    assert response.status == 200
    assert response.content_type == "application/json"
    body = await response.read()
    page = IncidentList.model_validate_json(body)
    assert page.items
    assert page.model_dump_json().encode() == body
    triage = [i for i in page.items if i.status.value == "triage"]
    assert all(i.executor_code is None and i.sla is None for i in triage)


async def test_the_queue_filters_and_keyset_pages(api: Api) -> None:
    client = await api.bearer("operator")
    everything = await _json(await client.get("/api/v1/incidents"))
    assert {i["id"] for i in everything["items"]} == {i.id for i in api.incidents.values()}
    assert everything["next_cursor"] is None
    triage = await _json(await client.get("/api/v1/incidents", params={"state": "triage"}))
    assert [i["id"] for i in triage["items"]] == [api.incidents["water"].id]
    several = await client.get("/api/v1/incidents?state=triage&state=assigned&sort=received")
    assert len((await several.json())["items"]) == 3
    found = await _json(await client.get("/api/v1/incidents", params={"q": "поликлинике"}))
    assert [i["id"] for i in found["items"]] == [api.incidents["clinic"].id]
    by_executor = await _json(await client.get("/api/v1/incidents?executor=minzdrav"))
    assert [i["executor_code"] for i in by_executor["items"]] == ["minzdrav"]
    seen: list[int] = []
    cursor: str | None = None
    for _ in range(5):
        params = {"limit": "1", "sort": "deadline", **({"cursor": cursor} if cursor else {})}
        page = await _json(await client.get("/api/v1/incidents", params=params))
        seen.extend(i["id"] for i in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(i.id for i in api.incidents.values())
    damaged = await client.get("/api/v1/incidents", params={"cursor": "испорчен"})
    assert damaged.status == 400
    assert (await damaged.json())["field"] == "cursor"
    for query, field in (
        ("state=closed&state=спам", "state"),
        ("limit=0", "limit"),
        ("limit=abc", "limit"),
        ("from=14.10.2025", "from"),
        ("sla=soon", "sla"),
        ("statе=triage", "statе"),  # a Cyrillic е: unknown parameters are named, not ignored
    ):
        response = await client.get("/api/v1/incidents?" + query)
        assert response.status == 422, query
        assert (await response.json())["field"] == field, query


async def test_the_incident_page_content(api: Api) -> None:
    client = await api.bearer("operator")
    clinic = api.incidents["clinic"]
    detail = await _json(await client.get(f"/api/v1/incidents/{clinic.id}"))
    assert detail["public_number"] == clinic.public_number
    assert detail["messages"][0]["text"].startswith("В поликлинике Слободского")
    assert detail["classifications"][0]["topic_group"] == "Здравоохранение"
    assert detail["assignments"][0]["executor_code"] == "minzdrav"
    assert detail["assignments"][0]["explanation"]  # the deadline explained step by step
    assert {e["kind"] for e in detail["events"]} >= {"assign"}
    assert "assign" in detail["allowed_actions"]
    water = await _json(await client.get(f"/api/v1/incidents/{api.incidents['water'].id}"))
    assert water["title"].startswith("<script>")  # JSON carries text as text, unchanged
    missing = await client.get("/api/v1/incidents/999999")
    assert missing.status == 404
    assert (await missing.json())["status"] == 404


async def test_a_stale_version_is_409_and_changes_nothing(api: Api) -> None:
    client = await api.bearer("operator")
    water = api.incident("water")
    path = f"/api/v1/incidents/{water.id}/actions/reject"
    stale = await client.post(path, json={"version": water.version - 1, "reason": "Спам"})
    assert stale.status == 409
    assert "изменено другим пользователем" in (await stale.json())["detail"]
    assert api.incident("water").status.value == "triage"
    done = await client.post(path, json={"version": water.version, "reason": "Спам"})
    assert done.status == 200
    assert (await done.json())["status"] == "rejected"


async def test_bad_input_is_named_never_a_500(api: Api) -> None:
    client = await api.bearer("operator")
    water = api.incident("water")
    path = f"/api/v1/incidents/{water.id}/actions/reject"
    cases: list[tuple[dict[str, Any], int, str | None]] = [
        ({"data": "{не json", "headers": {"Content-Type": "application/json"}}, 400, "body"),
        ({"data": "[" * 100_000, "headers": {"Content-Type": "application/json"}}, 400, "body"),
        (
            {
                "data": '{"a": ' + "[" * 100_000 + '"\\u0000"}',
                "headers": {"Content-Type": "application/json"},
            },
            400,
            "body",
        ),
        ({"json": ["version", 1]}, 422, "body"),
        ({"json": {"version": water.version}}, 422, "reason"),
        ({"json": {"version": "первая", "reason": "Спам"}}, 422, "version"),
        ({"json": {"version": water.version, "reason": "Спам", "лишнее": 1}}, 422, "лишнее"),
        ({"json": {"version": water.version, "reason": "я" * 8001}}, 422, "reason"),
        ({"data": "version=1&reason=x"}, 415, None),
    ]
    for kwargs, status, field in cases:
        response = await client.post(path, **kwargs)
        body = await response.json()
        assert response.status == status, (kwargs, body)
        assert body.get("field") == field, (kwargs, body)
    for bad in ("0", "-1", "abc", "9" * 30):
        response = await client.get(f"/api/v1/incidents/{bad}")
        assert response.status in (404, 422), bad
        assert (await response.json())["status"] == response.status
    unknown = await client.post(f"/api/v1/incidents/{water.id}/actions/publish", json={})
    assert unknown.status in (404, 405)
    assert (await unknown.json())["status"] == unknown.status
    no_rule = await client.post(
        f"/api/v1/incidents/{water.id}/actions/confirm_route", json={"version": water.version}
    )
    assert no_rule.status == 422  # no jurisdiction rule for this topic and place
    assert api.incident("water").status.value == "triage"


async def test_an_executor_never_reaches_another_executors_incident(api: Api) -> None:
    client = await api.bearer("zdrav")  # minzdrav's employee: only the clinic incident
    clinic, pothole, water = (api.incidents[n] for n in ("clinic", "pothole", "water"))
    page = await _json(await client.get("/api/v1/incidents"))
    assert [i["id"] for i in page["items"]] == [clinic.id]
    for params in (
        {"executor": "adm-slobodskoy"},
        {"state": "triage"},
        {"topic_group": "Дороги"},
        {"q": "яма"},
        {"q": pothole.public_number},
        {"q": water.public_number},
        {"sort": "received", "limit": "200"},
    ):
        items = (await _json(await client.get("/api/v1/incidents", params=params)))["items"]
        assert {i["id"] for i in items} <= {clinic.id}, params
    for guess in range(1, 20):
        response = await client.get(f"/api/v1/incidents/{guess}")
        assert response.status == (200 if guess == clinic.id else 404), guess
    before = api.incident("pothole")
    for action, body in (
        ("accept", {}),
        ("return", {"return_kind": "not_ours", "reason": "не наш"}),
        ("answer", {"text": "Отремонтируем"}),
    ):
        response = await client.post(
            f"/api/v1/incidents/{pothole.id}/actions/{action}",
            json={"version": before.version, **body},
        )
        assert response.status == 404, action
    after = api.incident("pothole")
    assert (after.status, after.version) == (before.status, before.version)


async def test_a_disabled_users_token_and_session_stop_at_once(api: Api) -> None:
    by_token = await api.bearer("operator")
    by_session, _ = await api.session("operator")
    assert (await by_token.get("/api/v1/incidents")).status == 200
    assert (await by_session.get("/api/v1/incidents")).status == 200
    api.accounts.disable("operator")
    for client in (by_token, by_session):
        response = await client.get("/api/v1/incidents")
        assert response.status == 401
        assert (await response.json())["status"] == 401
    revoked = await api.bearer("supervisor")
    api.accounts.revoke_tokens("supervisor")
    assert (await revoked.get("/api/v1/me")).status == 401
    forged = await api.make_client(api.server, headers={"Authorization": "Bearer imt_поддельный"})
    assert (await forged.get("/api/v1/me")).status == 401


async def test_tokens_and_passwords_never_in_answers_or_logs(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    client = await api.anonymous()
    answers: list[str] = []
    failed = await client.post(
        "/api/v1/session", json={"login": "operator", "password": "Пароль-1"}
    )
    answers.append(await failed.text())
    signed = await client.post("/api/v1/session", json={"login": "operator", "password": PASSWORD})
    answers.append(await signed.text())
    csrf = (await signed.json())["csrf_token"]
    issued = await client.post("/api/v1/tokens", headers={"X-CSRF-Token": csrf})
    token = (await issued.json())["token"]
    bearer = await api.make_client(api.server, headers={"Authorization": f"Bearer {token}"})
    for path in (
        "/api/v1/me",
        "/api/v1/incidents",
        f"/api/v1/incidents/{api.incidents['clinic'].id}",
    ):
        answers.append(await (await bearer.get(path)).text())
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "failed login for 'operator'" in logged  # the failure is logged, without the password
    for secret in (PASSWORD, "Пароль-1", token, SECRET):
        assert secret not in logged
        assert all(secret not in answer for answer in answers)


async def test_the_openapi_document_describes_every_route(api: Api) -> None:
    client = await api.anonymous()
    response = await client.get("/api/v1/openapi.json")
    assert response.status == 200
    doc = await response.json()
    assert doc["openapi"].startswith("3.1")
    documented = {(m.upper(), p) for p, ops in doc["paths"].items() for m in ops}
    served = {
        (route.method, route.resource.canonical)
        for route in api.server.app.router.routes()
        if route.resource is not None
        and route.resource.canonical.startswith("/api/v1/")
        and route.method != "HEAD"
    }
    assert served - {("GET", "/api/v1/openapi.json")} == documented
    assert len(documented) == len(OPERATIONS)
    reject = doc["paths"]["/api/v1/incidents/{incident_id}/actions/reject"]["post"]
    ref = reject["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    schema = doc["components"]["schemas"][ref.rsplit("/", 1)[1]]
    assert set(schema["required"]) == {"version", "reason"}
    assert {"401", "404", "409", "422"} <= set(reject["responses"])
    names = {p["name"] for p in doc["paths"]["/api/v1/incidents"]["get"]["parameters"]}
    assert names == {
        "state", "topic_group", "topic", "municipality", "executor", "sla", "network",
        "source", "priority", "from", "to", "q", "sort", "cursor", "limit",
    }  # fmt: skip
