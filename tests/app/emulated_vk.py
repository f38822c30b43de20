"""Shared set-up for collect-service tests against the in-process VK emulator."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Iterator, Sequence
from typing import Any

import aiohttp
from sqlalchemy.orm import Session, sessionmaker

from app.collect import CollectService
from collector.pool import VkClientPool
from collector.quotas import QuotaTracker
from collector.rate_limit import SlidingWindowLimiter
from collector.vk_client import Backoff, VkClient
from emulator.vk import FakeClock
from storage.db import create_engine_for, make_sessionmaker
from storage.migrate import upgrade


def migrated_sessions(url: str) -> Iterator[sessionmaker[Session]]:
    """Yield a session factory on a migrated database (one IMMEDIATE writer), then dispose."""
    upgrade(url)
    engine = create_engine_for(url, sqlite_begin="IMMEDIATE")
    yield make_sessionmaker(engine)
    engine.dispose()


def fake_now(clock: FakeClock) -> Callable[[], dt.datetime]:
    """Return the fake clock as aware UTC datetimes."""
    return lambda: dt.datetime.fromtimestamp(clock(), tz=dt.UTC)


def fake_sleep(clock: FakeClock) -> Callable[[float], Awaitable[None]]:
    """Return a sleep that moves the fake clock instead of waiting."""

    async def sleep(seconds: float) -> None:
        clock.advance(max(0.0, seconds))

    return sleep


def emulated_service(
    *,
    http: aiohttp.ClientSession,
    api_url: str,
    clock: FakeClock,
    sessions: sessionmaker[Session],
    tokens: Sequence[tuple[str, str]],
    **options: Any,
) -> CollectService:
    """Build a collect service whose pool talks to the emulator with the given (token, kind)."""
    now, sleep = fake_now(clock), fake_sleep(clock)
    quotas = QuotaTracker(clock=now)
    clients = [
        VkClient(
            session=http,
            token=token,
            api_url=api_url,
            name=token,
            kind=kind,
            quotas=quotas,
            sleep=sleep,
            backoff=Backoff(jitter=lambda: 0.5),
            limiter=SlidingWindowLimiter(rate=3, clock=clock, sleep=sleep),
        )
        for token, kind in tokens
    ]
    return CollectService(
        sessions=sessions,
        api=VkClientPool(clients, quotas=quotas, monotonic=clock),
        owner="test",
        clock=now,
        poller_options={"initial_posts": 10_000},
        # One poll at a time: the fake clock jumps while a concurrent poller sleeps, which
        # would stretch requests in flight over fake seconds that never pass on a network.
        concurrency=1,
        jitter=lambda: 0.5,
        **options,
    )
