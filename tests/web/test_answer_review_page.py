"""The answer review aid on the incident page and in the API's incident detail."""

from __future__ import annotations

import html

import pytest

from storage.repositories import IncidentRecord
from tests.web.conftest import Desk, login_as

BRUSH_OFF = "Ваше обращение рассмотрено. Информация принята к сведению."
GOOD = (
    "С 4 декабря в поликлинике Слободского открыта запись к терапевту на две недели вперёд, "
    "добавлено 40 талонов в день на Госуслугах."
)


@pytest.fixture
async def desk(sqlite_desk: Desk) -> Desk:
    """The page's content comes from the services, not from SQL: SQLite suffices."""
    return sqlite_desk


def _answered(d: Desk, text: str) -> IncidentRecord:
    clinic = d.w.workflow.accept(d.incident("clinic"), d.w.minzdrav)
    return d.w.workflow.answer(clinic, d.w.minzdrav, text)


async def test_the_page_shows_the_flags_next_to_the_answer_under_review(desk: Desk) -> None:
    clinic = _answered(desk, BRUSH_OFF)
    client = await desk.client()
    await login_as(client, "operator")
    page = html.unescape(await (await client.get(f"/incidents/{clinic.id}")).text())
    assert "Проверка ответа: регион может вернуть его на доработку" in page
    assert "Формальная отписка («обращение рассмотрено»)" in page
    assert 'class="review-flag flag-brush_off"' in page
    # Advice only: the operator may still approve, and then the flags are gone.
    assert 'id="do-approve"' in page
    desk.w.workflow.approve(desk.incident("clinic"), desk.w.operator)
    page = await (await client.get(f"/incidents/{clinic.id}")).text()
    assert "Проверка ответа" not in page


async def test_a_good_answer_shows_no_flags(desk: Desk) -> None:
    clinic = _answered(desk, GOOD)
    client = await desk.client()
    await login_as(client, "operator")
    page = await (await client.get(f"/incidents/{clinic.id}")).text()
    assert "Проверка ответа" not in page
