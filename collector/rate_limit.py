"""A per-token sliding-window limiter that keeps calls under VK's requests-per-second limits."""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable

__all__ = ["VK_RATE_LIMITS", "MonotonicClock", "Sleep", "SlidingWindowLimiter"]

MonotonicClock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]

#: VK's real limits per token, requests per second (social-apis.md A3).
VK_RATE_LIMITS: dict[str, float] = {"user": 3.0, "service": 3.0, "community": 20.0}


class SlidingWindowLimiter:
    """Let at most ``ceil(rate)`` calls start in any window of one second (plus a margin).

    For a fractional rate (2.5/s) a second, ten-second window keeps the long-run average at the
    rate while single seconds may use ``ceil(rate)`` calls, which is still within VK's integer
    limit. ``margin`` widens every window a little so that network jitter between our clock and
    VK's never packs ``n + 1`` calls into VK's own second. One limiter is shared by every poller
    that uses the token: it serialises waiters in arrival order.
    """

    def __init__(
        self,
        *,
        rate: float,
        clock: MonotonicClock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        margin: float = 0.05,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self._clock = clock
        self._sleep = sleep
        self._windows: list[tuple[int, float]] = [(math.ceil(rate), 1.0 + margin)]
        if not float(rate).is_integer():
            self._windows.append((max(1, math.floor(rate * 10)), 10.0 + margin))
        self._stamps: deque[float] = deque(maxlen=max(n for n, _ in self._windows))
        self._blocked_until = 0.0
        self._lock = asyncio.Lock()
        self.calls = 0
        self.waited = 0.0

    def _wait_needed(self, now: float) -> float:
        wait = self._blocked_until - now
        for limit, period in self._windows:
            if len(self._stamps) >= limit:
                wait = max(wait, self._stamps[-limit] + period - now)
        return wait

    async def acquire(self) -> None:
        """Wait until a call may start without breaking the limit, and count it."""
        async with self._lock:
            while True:
                now = self._clock()
                wait = self._wait_needed(now)
                if wait <= 0:
                    self._stamps.append(now)
                    self.calls += 1
                    return
                self.waited += wait
                await self._sleep(wait)

    def pause(self, seconds: float) -> None:
        """Start no call for ``seconds`` (after VK answered error 6 despite the limiter)."""
        self._blocked_until = max(self._blocked_until, self._clock() + seconds)

    @classmethod
    def for_kind(
        cls,
        kind: str,
        *,
        rate: float | None = None,
        clock: MonotonicClock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> SlidingWindowLimiter:
        """Return a limiter for a token kind, capped at VK's real limit for that kind."""
        limit = VK_RATE_LIMITS[kind]
        return cls(rate=min(rate or limit, limit), clock=clock, sleep=sleep)
