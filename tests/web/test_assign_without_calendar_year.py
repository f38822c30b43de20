"""An operator's assignment whose deadline needs a year the calendar lacks: 422 naming the year.

Before, ``CalendarYearMissing`` escaped the action as a 500 (see
tests/app/test_calendar_year_missing.py for the routing side).
"""

from __future__ import annotations

from tests.factories import kirov
from tests.web.conftest import Desk, post_action


async def test_an_operator_assigning_is_told_the_year(sqlite_desk: Desk) -> None:
    client = await sqlite_desk.client("operator")
    water = sqlite_desk.incident("water")
    sqlite_desk.w.clock.set(kirov("2027-12-31T10:00"))
    response = await post_action(client, water.id, "assign", {"executor": "minzdrav"})
    assert response.status == 422
    assert "2028" in await response.text()
    after = sqlite_desk.incident("water")
    assert (after.status, after.version) == (water.status, water.version)
