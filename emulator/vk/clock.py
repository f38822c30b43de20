"""Clocks: the emulator reads time only through ``Callable[[], float]``; this one is movable."""

from __future__ import annotations


class FakeClock:
    """A clock that stands still until told to move: ``clock()`` returns Unix seconds."""

    def __init__(self, start: float = 1_767_261_600.0) -> None:  # 2026-01-01 10:00 UTC
        self.now = float(start)

    def __call__(self) -> float:
        """Return the current fake time."""
        return self.now

    def advance(self, seconds: float) -> float:
        """Move forward by ``seconds`` and return the new time."""
        if seconds < 0:
            raise ValueError("a clock does not go back")
        self.now += seconds
        return self.now

    def set(self, when: float) -> None:
        """Jump to ``when`` (forward only)."""
        if when < self.now:
            raise ValueError("a clock does not go back")
        self.now = float(when)
