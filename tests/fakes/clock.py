"""A fake clock whose sleep only moves time forward, for tests that must not wait."""

from __future__ import annotations

import asyncio
import datetime as dt


class FakeClock:
    """Monotonic and wall time that advance only when slept on or told to."""

    def __init__(self, start: dt.datetime | None = None) -> None:
        self.start = start or dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)
        self.elapsed = 0.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        """Return seconds since the start."""
        return self.elapsed

    def now(self) -> dt.datetime:
        """Return the aware UTC wall time."""
        return self.start + dt.timedelta(seconds=self.elapsed)

    def advance(self, seconds: float) -> None:
        """Move time forward."""
        self.elapsed += seconds

    async def sleep(self, seconds: float) -> None:
        """Record the sleep, move time forward and yield to the loop once."""
        self.sleeps.append(seconds)
        self.elapsed += max(0.0, seconds)
        await asyncio.sleep(0)
