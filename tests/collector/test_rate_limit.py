"""The sliding-window limiter: never above VK's per-second limits, and close to them."""

from __future__ import annotations

import asyncio

import pytest

from collector.rate_limit import SlidingWindowLimiter
from tests.fakes.clock import FakeClock


def max_in_window(stamps: list[float], window: float) -> int:
    return max(sum(1 for t in stamps if s <= t < s + window) for s in stamps)


async def run_calls(limiter: SlidingWindowLimiter, clock: FakeClock, n: int) -> list[float]:
    stamps: list[float] = []

    async def one() -> None:
        await limiter.acquire()
        stamps.append(clock.monotonic())

    await asyncio.gather(*(one() for _ in range(n)))
    return sorted(stamps)


@pytest.mark.parametrize(("kind", "limit"), [("service", 3), ("user", 3), ("community", 20)])
async def test_never_above_the_real_limit_and_close_to_it(kind: str, limit: int) -> None:
    clock = FakeClock()
    limiter = SlidingWindowLimiter.for_kind(kind, clock=clock.monotonic, sleep=clock.sleep)
    stamps = await run_calls(limiter, clock, limit * 20)
    assert max_in_window(stamps, 1.0) <= limit
    rate = (len(stamps) - 1) / (stamps[-1] - stamps[0])
    assert rate >= 0.9 * limit


async def test_configured_rate_above_the_real_limit_is_capped() -> None:
    clock = FakeClock()
    limiter = SlidingWindowLimiter.for_kind(
        "service", rate=50, clock=clock.monotonic, sleep=clock.sleep
    )
    stamps = await run_calls(limiter, clock, 30)
    assert max_in_window(stamps, 1.0) <= 3


async def test_fractional_rate_keeps_the_average() -> None:
    clock = FakeClock()
    limiter = SlidingWindowLimiter(rate=2.5, clock=clock.monotonic, sleep=clock.sleep)
    stamps = await run_calls(limiter, clock, 101)
    assert max_in_window(stamps, 1.0) <= 3
    assert max_in_window(stamps, 10.0) <= 25
    rate = (len(stamps) - 1) / (stamps[-1] - stamps[0])
    assert 2.2 <= rate <= 2.5


async def test_shared_by_many_pollers() -> None:
    clock = FakeClock()
    limiter = SlidingWindowLimiter(rate=3, clock=clock.monotonic, sleep=clock.sleep)
    stamps_a = run_calls(limiter, clock, 15)
    stamps_b = run_calls(limiter, clock, 15)
    a, b = await asyncio.gather(stamps_a, stamps_b)
    assert max_in_window(sorted(a + b), 1.0) <= 3
    assert limiter.calls == 30


async def test_pause_after_error_6() -> None:
    clock = FakeClock()
    limiter = SlidingWindowLimiter(rate=3, clock=clock.monotonic, sleep=clock.sleep)
    await limiter.acquire()
    limiter.pause(2.0)
    await limiter.acquire()
    assert clock.monotonic() == pytest.approx(2.0)


def test_rate_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        SlidingWindowLimiter(rate=0)
