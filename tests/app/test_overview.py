"""The start screen's figures: counts by state and the latest incidents, from stored data."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from app.overview import make_overview_provider, read_overview
from tests.factories import new_incident, world
from web.views import render_overview


def test_overview_counts_states_and_lists_latest_with_executor_and_deadline(db_url: str) -> None:
    w = world(db_url)
    first = w.workflow.open_incident(new_incident())
    second = w.workflow.open_incident(new_incident("Дороги"))
    w.workflow.assign(first, "minzdrav", w.operator)
    w.workflow.triage(second, w.operator)

    overview = read_overview(w.sm)

    assert dict(overview.by_status) == {"assigned": 1, "triage": 1}
    assert [row.number for row in overview.latest] == [second.public_number, first.public_number]
    assigned = overview.latest[1]
    assert assigned.executor == "MINZDRAV"
    assert assigned.deadline is not None
    assert assigned.deadline > assigned.created_at
    assert overview.latest[0].executor is None
    assert overview.messages == 0


def test_overview_of_an_empty_database(db_url: str) -> None:
    w = world(db_url)
    overview = read_overview(w.sm)
    assert overview.by_status == ()
    assert overview.latest == ()
    assert "Инцидентов пока нет" in render_overview(overview, ZoneInfo("Europe/Kirov"))


async def test_provider_reads_in_a_thread(sqlite_url: str) -> None:
    w = world(sqlite_url)
    w.workflow.open_incident(new_incident())
    overview = await make_overview_provider(w.sm)()
    assert dict(overview.by_status) == {"new": 1}


def test_rendered_times_are_in_the_region_zone(sqlite_url: str) -> None:
    w = world(sqlite_url)  # the fake clock starts at 2025-10-14 10:00 Kirov time
    incident = w.workflow.open_incident(new_incident())
    w.workflow.assign(incident, "minzdrav", w.operator)
    html = render_overview(read_overview(w.sm), ZoneInfo("Europe/Kirov"))
    assert "14.10.2025 10:00" in html
    assert "назначен" in html
    assert "Нет записи к терапевту" in html
