"""Daily per-method quotas per token, reset at midnight Moscow time."""

from __future__ import annotations

import datetime as dt

from collector.quotas import DAILY_QUOTAS, QuotaTracker
from tests.fakes.clock import FakeClock


def test_published_limits() -> None:
    assert DAILY_QUOTAS["wall.get"] == 5000
    assert DAILY_QUOTAS["newsfeed.search"] == 1000


def test_counts_per_token_and_method_and_resets_at_moscow_midnight() -> None:
    clock = FakeClock(dt.datetime(2026, 11, 23, 20, 30, tzinfo=dt.UTC))  # 23:30 MSK
    quotas = QuotaTracker(clock=clock.now)
    quotas.count("a", "wall.get", 4999)
    quotas.count("b", "wall.get")
    assert quotas.remaining("a", "wall.get") == 1
    assert quotas.remaining("a", "groups.getById") is None
    quotas.count("a", "wall.get")
    assert quotas.available_in("a", "wall.get") == 30 * 60
    assert quotas.available_in("b", "wall.get") == 0
    assert quotas.next_reset() == dt.datetime(2026, 11, 23, 21, 0, tzinfo=dt.UTC)
    clock.advance(30 * 60)
    assert quotas.used("a", "wall.get") == 0
    assert quotas.available_in("a", "wall.get") == 0


def test_error_29_rests_until_reset_even_for_unlisted_methods() -> None:
    clock = FakeClock(dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC))
    quotas = QuotaTracker(clock=clock.now)
    assert quotas.exhausted("a", "photos.get") == 12 * 3600
    assert quotas.available_in("a", "photos.get") == 12 * 3600
    assert quotas.available_in("a", "wall.get") == 0
    clock.advance(12 * 3600)
    assert quotas.available_in("a", "photos.get") == 0
    assert quotas.snapshot() == {}
