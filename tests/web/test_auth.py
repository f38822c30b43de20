"""Sign-in, sessions, CSRF, the login throttle, disabled users and tokens, over real storage."""

from __future__ import annotations

import hashlib
import logging
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa

from storage.models import ApiToken
from tests.web.conftest import PASSWORD, SECRET, Desk, csrf_of, login_as, post_action
from web.auth import COOKIE


@pytest.fixture
async def desk(sqlite_desk: Desk) -> Desk:
    """These tests exercise the web layer and the workflow, not SQL: SQLite suffices (the
    queue's SQL runs on both backends in test_queue.py)."""
    return sqlite_desk


async def test_pages_need_a_signed_in_user(desk: Desk) -> None:
    client = await desk.client()
    response = await client.get("/queue?state=triage", allow_redirects=False)
    assert response.status == 303
    location = urlsplit(response.headers["Location"])
    assert location.path == "/login"
    assert parse_qs(location.query) == {"next": ["/queue?state=triage"]}
    incident = desk.incidents["clinic"]
    response = await client.get(f"/incidents/{incident.id}", allow_redirects=False)
    assert response.status == 303


async def test_login_sets_a_signed_httponly_lax_cookie_and_logout_ends_it(desk: Desk) -> None:
    client = await desk.client()
    page = await (await client.get("/login")).text()
    response = await client.post(
        "/login",
        data={"login": "operator", "password": PASSWORD, "csrf": csrf_of(page)},
        allow_redirects=False,
    )
    assert response.status == 303
    assert response.headers["Location"] == "/queue"
    cookie = response.cookies[COOKIE]
    assert cookie["httponly"]
    assert cookie["samesite"] == "Lax"
    assert PASSWORD not in cookie.value
    assert SECRET not in cookie.value
    queue = await client.get("/queue")
    assert queue.status == 200
    assert "Operator · оператор" in await queue.text()
    token = csrf_of(await queue.text())
    response = await client.post("/logout", data={"csrf": token}, allow_redirects=False)
    assert response.status == 303
    again = await client.get("/queue", allow_redirects=False)
    assert again.status == 303  # the old session no longer signs anyone in


async def test_login_only_redirects_within_the_site(desk: Desk) -> None:
    client = await desk.client()
    page = await (await client.get("/login?next=//evil.example/x")).text()
    response = await client.post(
        "/login",
        data={
            "login": "operator",
            "password": PASSWORD,
            "csrf": csrf_of(page),
            "next": "//evil.example/x",
        },
        allow_redirects=False,
    )
    assert response.headers["Location"] == "/queue"


async def test_a_forged_cookie_signs_nobody_in(desk: Desk) -> None:
    client = await desk.client("operator")
    value = client.session.cookie_jar.filter_cookies(client.make_url("/"))[COOKIE].value
    genuine = await desk.client()
    genuine.session.cookie_jar.update_cookies({COOKIE: value})
    assert (await genuine.get("/queue", allow_redirects=False)).status == 200
    forged = await desk.client()
    forged.session.cookie_jar.update_cookies({COOKIE: value[:-4] + "AAAA"})
    assert (await forged.get("/queue", allow_redirects=False)).status == 303


async def test_wrong_password_is_refused_and_logged_without_the_password(
    desk: Desk, caplog: pytest.LogCaptureFixture
) -> None:
    client = await desk.client()
    caplog.set_level(logging.DEBUG)
    response = await login_as(client, "operator", "не-тот-пароль-Секрет")
    assert response.status == 401
    assert "неверное имя пользователя или пароль" in await response.text()
    assert "failed login for 'operator'" in caplog.text
    assert "не-тот-пароль-Секрет" not in caplog.text
    response = await login_as(client, "нет-такого", "не-тот-пароль-Секрет")
    assert response.status == 401


async def test_login_is_throttled_per_login_with_retry_after(desk: Desk) -> None:
    client = await desk.client()
    for _ in range(5):
        response = await login_as(client, "supervisor", "wrong-password")
        assert response.status == 401
    locked = await login_as(client, "supervisor", PASSWORD)  # even the right password waits
    assert locked.status == 429
    assert int(locked.headers["Retry-After"]) >= 1
    assert "Слишком много попыток" in await locked.text()
    # The delay grows: one more failure after the lock doubles it.
    desk.w.clock.advance(timedelta(seconds=2))
    assert (await login_as(client, "supervisor", "wrong-password")).status == 401
    again = await login_as(client, "supervisor", PASSWORD)
    assert again.status == 429
    assert int(again.headers["Retry-After"]) == 2
    desk.w.clock.advance(timedelta(seconds=3))
    assert (await login_as(client, "supervisor", PASSWORD)).status == 200


async def test_login_is_throttled_per_address_across_logins(desk: Desk) -> None:
    client = await desk.client()
    for login in ("a1", "a2", "a3", "a4", "a5"):
        assert (await login_as(client, login, "wrong-password")).status == 401
    assert (await login_as(client, "operator", PASSWORD)).status == 429


async def test_cross_site_post_without_csrf_is_refused(desk: Desk) -> None:
    client = await desk.client("operator")
    water = desk.incidents["water"]
    response = await client.post(
        f"/incidents/{water.id}/actions/reject",
        data={"version": str(water.version), "reason": "спам"},
    )
    assert response.status == 403
    assert "чужого сайта" in await response.text()
    wrong = await client.post(
        f"/incidents/{water.id}/actions/reject",
        data={"version": str(water.version), "reason": "спам", "csrf": "forged"},
    )
    assert wrong.status == 403
    assert desk.incident("water").status.value == "triage"
    # The login form is protected too (no login CSRF).
    fresh = await desk.client()
    response = await fresh.post("/login", data={"login": "operator", "password": PASSWORD})
    assert response.status == 403


async def test_a_disabled_user_is_signed_out_at_once(desk: Desk) -> None:
    client = await desk.client("operator")
    assert (await client.get("/queue")).status == 200
    desk.workspace.accounts.disable("operator")  # type: ignore[attr-defined]
    response = await client.get("/queue", allow_redirects=False)
    assert response.status == 303
    water = desk.incidents["water"]
    refused = await client.post(
        f"/incidents/{water.id}/actions/reject",
        data={"version": "1", "reason": "спам", "csrf": "whatever"},
    )
    assert refused.status in (401, 403)
    assert desk.incident("water").status.value == "triage"
    assert (await login_as(await desk.client(), "operator")).status == 401


async def test_a_password_change_ends_the_sessions_issued_before(desk: Desk) -> None:
    client = await desk.client("zdrav")
    assert (await client.get("/queue")).status == 200
    desk.workspace.accounts.set_password("zdrav", "Новый-пароль-2026")  # type: ignore[attr-defined]
    assert (await client.get("/queue", allow_redirects=False)).status == 303
    assert (await login_as(await desk.client(), "zdrav", "Новый-пароль-2026")).status == 200


async def test_api_tokens_are_stored_hashed_and_stop_when_disabled_or_revoked(
    desk: Desk,
) -> None:
    accounts = desk.workspace.accounts
    token = accounts.new_token("trans")  # type: ignore[attr-defined]
    with desk.w.sm() as session:
        stored = list(session.scalars(sa.select(ApiToken.token_hash)))
    assert stored == [hashlib.sha256(token.encode()).hexdigest()]
    viewer = await accounts.by_token(token)
    assert viewer is not None
    assert viewer.executor_code == "mintrans"
    assert await accounts.by_token(token + "x") is None
    accounts.revoke_tokens("trans")  # type: ignore[attr-defined]
    assert await accounts.by_token(token) is None
    second = accounts.new_token("trans")  # type: ignore[attr-defined]
    assert await accounts.by_token(second) is not None
    accounts.disable("trans")  # type: ignore[attr-defined]
    assert await accounts.by_token(second) is None


async def test_security_headers_and_no_secrets_in_pages(desk: Desk) -> None:
    client = await desk.client("operator")
    clinic = desk.incidents["clinic"]
    for path in ("/queue", f"/incidents/{clinic.id}", "/login", "/"):
        response = await client.get(path)
        page = await response.text()
        csp = response.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp
        assert "unsafe-inline" not in csp
        assert response.headers["X-Frame-Options"] == "DENY"
        assert SECRET not in page
        assert PASSWORD not in page
        assert "<script>" not in page.replace('<script src="/static/app.js" defer></script>', "")


async def test_a_stale_form_shows_changed_by_someone_else(desk: Desk) -> None:
    first = await desk.client("operator")
    second = await desk.client("supervisor")
    water = desk.incidents["water"]
    page = await (await first.get(f"/incidents/{water.id}")).text()
    token = csrf_of(page)
    ok = await post_action(second, water.id, "assign", {"executor": "mintrans"})
    assert ok.status == 200
    stale = await first.post(
        f"/incidents/{water.id}/actions/reject",
        data={"csrf": token, "version": str(water.version), "reason": "спам"},
    )
    assert stale.status == 409
    text = await stale.text()
    assert "Изменено другим пользователем" in text
    assert "изменено другим пользователем" in text
    assert desk.incident("water").status.value == "assigned"
