"""The operator's and the executor's day in a real browser (Debian's headless Chromium).

An operator logs in, filters the queue, opens an incident and assigns it; the executor logs
in, sees only that incident, accepts it and answers; the operator approves the answer and the
page shows «одобрен». Screenshots go to var/screenshots/ (docs/operators.md shows them).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.web.conftest import PASSWORD, Desk

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"

if not CHROMIUM.exists():  # pragma: no cover - .ci/run installs it
    if os.environ.get("CI") == "true":
        raise RuntimeError("CI must have /usr/bin/chromium (apt-get install chromium)")
    pytest.skip("no /usr/bin/chromium: apt-get install chromium", allow_module_level=True)

async_api = pytest.importorskip("playwright.async_api")


async def test_operator_assigns_executor_answers_operator_approves(sqlite_desk: Desk) -> None:
    desk = sqlite_desk
    assert desk.server is not None
    base = str(desk.server.make_url("/")).rstrip("/")
    water = desk.incidents["water"]
    clinic = desk.incidents["clinic"]
    SHOTS.mkdir(parents=True, exist_ok=True)
    async with async_api.async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox", "--lang=ru-RU"]
        )
        try:
            viewport = {"width": 1440, "height": 900}
            operator = await (
                await browser.new_context(viewport=viewport, locale="ru-RU")
            ).new_page()
            errors: list[str] = []
            operator.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)

            # The operator logs in and filters the triage queue.
            await operator.goto(base + "/queue")
            assert "/login" in operator.url
            await operator.fill("input[name=login]", "operator")
            await operator.fill("input[name=password]", PASSWORD)
            await operator.screenshot(path=str(SHOTS / "01-login.png"))
            await operator.click("button[type=submit].primary")
            await operator.wait_for_url("**/queue")
            await operator.screenshot(path=str(SHOTS / "02-queue.png"), full_page=True)
            await operator.select_option("select[name=state]", "triage")
            await operator.click("#filters button[type=submit]")
            await operator.wait_for_url("**/queue?*state=triage*")
            rows = operator.locator("#queue tbody tr")
            assert await rows.count() == 1
            await operator.screenshot(path=str(SHOTS / "03-queue-filtered.png"), full_page=True)

            # Keyboard: j selects the first row, Enter opens it.
            await operator.keyboard.press("j")
            await operator.keyboard.press("Enter")
            await operator.wait_for_url(f"**/incidents/{water.id}")
            assert "<script>alert(1)</script>" in await operator.locator("h1").inner_text()
            await operator.screenshot(path=str(SHOTS / "04-incident.png"), full_page=True)
            await operator.select_option("#assign-executor", "mintrans")
            await operator.click("#do-assign")
            await operator.wait_for_url(f"**/incidents/{water.id}?done=assign")
            assert await operator.locator("#state").inner_text() == "назначен"

            # The executor sees only its own incident, accepts it and answers.
            executor = await (
                await browser.new_context(viewport=viewport, locale="ru-RU")
            ).new_page()
            await executor.goto(base + "/login")
            await executor.fill("input[name=login]", "trans")
            await executor.fill("input[name=password]", PASSWORD)
            await executor.click("button[type=submit].primary")
            await executor.wait_for_url("**/queue")
            listed = await executor.locator("#queue tbody").inner_text()
            assert water.public_number in listed
            assert clinic.public_number not in listed
            await executor.screenshot(path=str(SHOTS / "05-executor-queue.png"), full_page=True)
            await executor.click(f"a[href='/incidents/{water.id}']")
            await executor.click("#do-accept")
            await executor.wait_for_url(f"**/incidents/{water.id}?done=accept")
            await executor.fill(
                "#answer-text",
                "Здравствуйте! Авария на водопроводе устранена 14 октября в 16:00, "
                "подача воды восстановлена. Приносим извинения.",
            )
            await executor.screenshot(path=str(SHOTS / "06-executor-answer.png"), full_page=True)
            await executor.click("#do-answer")
            await executor.wait_for_url("**/queue?done=answer")

            # The operator reviews and approves the answer.
            await operator.goto(f"{base}/incidents/{water.id}")
            assert "подача воды восстановлена" in await operator.locator("#answers").inner_text()
            await operator.click("#do-approve")
            await operator.wait_for_url(f"**/incidents/{water.id}?done=approve")
            state = await operator.locator("#state").inner_text()
            assert "одобрен" in state
            await operator.screenshot(path=str(SHOTS / "07-approved.png"), full_page=True)
            assert errors == []  # no script errors (and nothing blocked by the CSP)
        finally:
            await browser.close()
    assert desk.incident("water").status.value == "approved"
