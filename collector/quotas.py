"""Daily per-method quotas of each token, and the rest a token takes after error 29."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping

__all__ = ["DAILY_QUOTAS", "MOSCOW", "QuotaTracker", "WallClock", "utcnow"]

WallClock = Callable[[], dt.datetime]

#: Published daily limits per token and method (social-apis.md A3, "количественные ограничения").
DAILY_QUOTAS: Mapping[str, int] = {"wall.get": 5000, "newsfeed.search": 1000, "wall.search": 1000}
#: VK counts days in Moscow time; the exact reset moment is not published (social-apis.md A3
#: reports rests of 30 minutes to 24 hours), so it is a parameter: midnight in this zone.
MOSCOW = dt.timezone(dt.timedelta(hours=3), "MSK")


def utcnow() -> dt.datetime:
    """Return the current time, aware, in UTC."""
    return dt.datetime.now(dt.UTC)


class QuotaTracker:
    """Count calls per (token, method) per day; rest a token+method after error 29.

    Calls made inside ``execute`` count one by one, as VK counts them. A method without a
    known limit is counted but never refused until VK itself answers 29.
    """

    def __init__(
        self,
        *,
        limits: Mapping[str, int] = DAILY_QUOTAS,
        clock: WallClock = utcnow,
        reset_zone: dt.tzinfo = MOSCOW,
        reset_time: dt.time = dt.time(0, 0),
    ) -> None:
        self.limits = dict(limits)
        self._clock = clock
        self._zone = reset_zone
        self._reset_time = reset_time
        self._day: dt.date | None = None
        self._used: dict[tuple[str, str], int] = {}
        self._resting: dict[tuple[str, str], dt.datetime] = {}

    def _quota_day(self, now: dt.datetime) -> dt.date:
        local = now.astimezone(self._zone)
        day = local.date()
        if local.timetz().replace(tzinfo=None) < self._reset_time:
            day -= dt.timedelta(days=1)
        return day

    def next_reset(self, now: dt.datetime | None = None) -> dt.datetime:
        """Return when the current quota day ends (aware UTC)."""
        now = now or self._clock()
        day = self._quota_day(now) + dt.timedelta(days=1)
        return dt.datetime.combine(day, self._reset_time, tzinfo=self._zone).astimezone(dt.UTC)

    def _roll(self, now: dt.datetime) -> None:
        day = self._quota_day(now)
        if day != self._day:
            self._day = day
            self._used.clear()
        for key, until in list(self._resting.items()):
            if until <= now:
                del self._resting[key]

    def used(self, token: str, method: str) -> int:
        """Return how many calls of ``method`` the token made today."""
        self._roll(self._clock())
        return self._used.get((token, method), 0)

    def remaining(self, token: str, method: str) -> int | None:
        """Return calls left today, or None when the method has no known limit."""
        limit = self.limits.get(method)
        if limit is None:
            return None
        return max(0, limit - self.used(token, method))

    def available_in(self, token: str, method: str) -> float:
        """Return seconds until the token may call the method again (0 when it may now)."""
        now = self._clock()
        self._roll(now)
        until = self._resting.get((token, method))
        if until is not None:
            return max(0.0, (until - now).total_seconds())
        limit = self.limits.get(method)
        if limit is not None and self._used.get((token, method), 0) >= limit:
            return max(0.0, (self.next_reset(now) - now).total_seconds())
        return 0.0

    def count(self, token: str, method: str, calls: int = 1) -> None:
        """Record ``calls`` calls of ``method`` by the token."""
        self._roll(self._clock())
        key = (token, method)
        self._used[key] = self._used.get(key, 0) + calls

    def exhausted(self, token: str, method: str) -> float:
        """Record error 29 for the token and method; return seconds until the reset."""
        now = self._clock()
        self._roll(now)
        until = self.next_reset(now)
        self._resting[(token, method)] = until
        return max(0.0, (until - now).total_seconds())

    def snapshot(self) -> dict[str, dict[str, int]]:
        """Return today's counts as ``{token: {method: calls}}``."""
        self._roll(self._clock())
        out: dict[str, dict[str, int]] = {}
        for (token, method), calls in sorted(self._used.items()):
            out.setdefault(token, {})[method] = calls
        return out
