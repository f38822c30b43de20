"""app.kpi.DayCache counts working time exactly as router.sla.WorkingHours.between does."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from app.kpi import DayCache
from router.sla import WorkingHours
from router.working_time import parse_schedule
from tests.factories import CALENDAR, DESK, HOURS_A, KIROV

NIGHT = WorkingHours(parse_schedule("mon-sun=20:00-08:00"), CALENDAR, KIROV)
MOSCOW_SHORT = WorkingHours(
    parse_schedule("mon-thu=08:00-17:00;fri=08:00-15:45"), CALENDAR, "Europe/Moscow"
)


@pytest.mark.parametrize(
    "hours", [HOURS_A, DESK, NIGHT, MOSCOW_SHORT], ids=["A", "desk", "night", "moscow-short"]
)
def test_same_as_working_hours_between(hours: WorkingHours) -> None:
    rng = random.Random(7)
    cache = DayCache(hours)
    start = datetime(2025, 1, 1, tzinfo=UTC)
    for _ in range(300):
        a = start + timedelta(minutes=rng.randrange(0, 365 * 24 * 60))
        b = a + timedelta(minutes=rng.choice([0, 1, 59, 600, 3000, 20000, 90000]))
        assert cache.between(a, b) == hours.between(a, b), (a, b)


def test_end_before_start_is_refused() -> None:
    a = datetime(2025, 3, 3, 9, tzinfo=UTC)
    with pytest.raises(ValueError, match="before the start"):
        DayCache(HOURS_A).between(a, a - timedelta(seconds=1))
