"""Collection of OK groups, Telegram channels and replay files, on VK's contract.

Each source is leased (row lease), polled by its network's poller, and its harvest stored with
the new cursor and health in one transaction under the lease: a crash or a lost lease stores
nothing of that poll, a repeated poll stores nothing twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import random
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import aiohttp
from sqlalchemy.orm import Session, sessionmaker

from app.collect import AfterStore, CollectOutcome, process_owner_id
from app.config import Config
from app.leases import owner_is_dead
from collector.errors import VkError
from collector.health import SourceHealth, classify_failure, log_transition
from collector.messages import Harvest
from collector.ok_client import OkClient
from collector.ok_poller import OkGroupPoller
from collector.quotas import utcnow
from collector.rate_limit import SlidingWindowLimiter
from collector.replay import ReplayPoller
from collector.telegram_client import TelegramClient
from collector.telegram_poller import TelegramChannelPoller
from storage.enums import Network
from storage.repositories.harvests import HarvestRepository
from storage.repositories.messages import StoreStats
from storage.repositories.sources import LeaseLost, SourceRecord, SourceRepository

__all__ = [
    "FILE_PREFIX",
    "HarvestPoller",
    "NetworkCollectService",
    "PollerFactory",
    "build_pollers",
    "network_collect_service",
    "network_intervals",
    "ok_credentials",
]

log = logging.getLogger(__name__)

#: How a replay source is written on the command line: ``file:PATH``.
FILE_PREFIX = "file:"
Clock = Callable[[], dt.datetime]


class HarvestPoller(Protocol):
    """A poller of one source: cursor in, harvest out (it never touches storage)."""

    requests: int

    async def poll(self, cursor: Mapping[str, Any] | None) -> Harvest:
        """Read what is new since ``cursor``."""
        ...


PollerFactory = Callable[[SourceRecord], HarvestPoller]


@dataclass
class NetworkCollectService:
    """Poll the OK, Telegram and file sources under row leases; store each poll atomically.

    ``pollers`` maps a network to the factory of a source's poller; networks without one are
    not claimed. ``intervals`` is the rest after a successful poll, per network (seconds).
    """

    sessions: sessionmaker[Session]
    pollers: Mapping[Network, PollerFactory]
    owner: str = field(default_factory=process_owner_id)
    clock: Clock = utcnow
    lease_seconds: float = 600.0
    intervals: Mapping[Network, float] = field(default_factory=dict)
    max_interval: float = 3600.0
    concurrency: int = 4
    after_store: AfterStore | None = None
    phase_jitter: float = 0.1
    jitter: Callable[[], float] = random.random
    is_dead: Callable[[str, str], bool] = owner_is_dead
    _writer: contextlib.AbstractAsyncContextManager[Any] | None = field(
        default=None, init=False, repr=False
    )

    @property
    def networks(self) -> tuple[Network, ...]:
        """Return the networks this service polls."""
        return tuple(self.pollers)

    async def _write(self, fn: Callable[..., Any], *args: Any) -> Any:
        if self._writer is None:
            bind = self.sessions.kw.get("bind")
            single = bind is not None and bind.dialect.name == "sqlite"
            self._writer = asyncio.Lock() if single else contextlib.nullcontext()
        async with self._writer:
            return await asyncio.to_thread(fn, *args)

    def _claim(self, due_only: bool, limit: int) -> list[SourceRecord]:
        out: list[SourceRecord] = []
        with self.sessions.begin() as s:
            repo = SourceRepository(s)
            # A killed process's leases (same host, pid gone) are taken over now, not after
            # lease_seconds (600 s here); VK's collection does it too, but VK may be off.
            dead = [o for o in repo.lease_owners() if self.is_dead(o, self.owner)]
            if dead:
                repo.release_owned(dead)
                log.info("collect: gave back the leases of %s (process gone)", ", ".join(dead))
            for network in self.pollers:
                out += repo.claim_due(
                    self.owner,
                    self.clock(),
                    lease_seconds=self.lease_seconds,
                    limit=limit,
                    network=network,
                    due_only=due_only,
                )
        return out

    def _interval(self, source: SourceRecord) -> float:
        base = self.intervals.get(source.network, float(source.poll_interval_seconds))
        return max(base, float(source.poll_interval_seconds))

    def _spread(self, seconds: float) -> float:
        return seconds * (1 + self.phase_jitter * (2 * self.jitter() - 1))

    def _store_success(
        self, source: SourceRecord, harvest: Harvest, health: SourceHealth
    ) -> StoreStats:
        now = self.clock()
        with self.sessions.begin() as s:
            # The source row first: it checks the lease (and locks the row) before any write.
            SourceRepository(s).finish(
                source.id,
                self.owner,
                health=health,
                next_due=now + dt.timedelta(seconds=self._spread(self._interval(source))),
                cursor=dict(harvest.cursor),
                last_seen_post_id=harvest.last_seen,
            )
            stats = HarvestRepository(s).store(source.id, harvest, now)
            if self.after_store is not None:
                self.after_store(s, source, stats)
            return stats

    def _store_failure(self, source: SourceRecord, health: SourceHealth, delay: float) -> None:
        with self.sessions.begin() as s:
            SourceRepository(s).finish(
                source.id,
                self.owner,
                health=health,
                next_due=self.clock() + dt.timedelta(seconds=delay),
            )

    def _release(self, source: SourceRecord) -> None:
        with self.sessions.begin() as s:
            SourceRepository(s).release(source.id, self.owner)

    def _failure_delay(
        self, source: SourceRecord, failures: int, retry_after: float | None
    ) -> float:
        if retry_after is not None:
            return max(retry_after, 1.0)
        base = self._interval(source)
        return float(min(self.max_interval, base * 2 ** min(failures - 1, 6)))

    async def poll_source(self, source: SourceRecord) -> CollectOutcome:
        """Poll one leased source and store the outcome (only its health when it failed)."""
        before = source.health
        poller: HarvestPoller | None = None
        try:
            poller = self.pollers[source.network](source)
            harvest = await poller.poll(source.cursor)
        except asyncio.CancelledError:
            await asyncio.shield(self._write(self._release, source))
            raise
        except Exception as err:
            if not isinstance(err, VkError):
                log.exception("source %s: unexpected error while polling", source.name)
            failure = classify_failure(err)
            after = before.failed(self.clock(), failure)
            delay = self._failure_delay(source, after.consecutive_failures, failure.retry_after)
            try:
                await self._write(self._store_failure, source, after, delay)
            except LeaseLost:
                log.warning("source %s: lease lost while failing", source.name)
            log_transition(source.name, before, after)
            if failure.alert:
                log.error("ALERT source %s: %s", source.name, failure.message)
            requests = poller.requests if poller is not None else 0
            return CollectOutcome(
                source.id,
                source.name,
                ok=False,
                requests=requests,
                error=failure.message,
                network=source.network.value,
            )
        after = before.succeeded(self.clock(), harvest.lag_seconds)
        try:
            stats: StoreStats = await self._write(self._store_success, source, harvest, after)
        except LeaseLost as err:
            log.warning("source %s: %s; this poll is discarded", source.name, err)
            return CollectOutcome(
                source.id, source.name, ok=False, error=str(err), network=source.network.value
            )
        log_transition(source.name, before, after)
        return CollectOutcome(
            source.id,
            source.name,
            ok=True,
            new_posts=harvest.new_posts,
            inserted=stats.inserted,
            updated=stats.updated,
            deleted=stats.deleted,
            requests=harvest.requests,
            notes=harvest.notes,
            network=source.network.value,
        )

    async def collect(self, *, due_only: bool = True, limit: int = 1000) -> list[CollectOutcome]:
        """Lease the sources to poll now (``due_only=False``: every enabled one) and poll them."""
        if not self.pollers:
            return []
        claimed = await self._write(self._claim, due_only, limit)
        gate = asyncio.Semaphore(self.concurrency)

        async def bounded(source: SourceRecord) -> CollectOutcome:
            async with gate:
                return await self.poll_source(source)

        return list(await asyncio.gather(*(bounded(s) for s in claimed)))


def ok_credentials(config: Config) -> tuple[str, str, str] | None:
    """Return OK's application key, secret and access token (None: OK off or incomplete)."""
    ok = config.networks.ok
    values = tuple(
        v.get_secret_value() if v is not None else ""
        for v in (ok.application_key, ok.application_secret, ok.access_token)
    )
    if not ok.enabled or not all(values):
        return None
    return values[0], values[1], values[2]


def build_pollers(
    config: Config,
    *,
    http: aiohttp.ClientSession,
    clock: Clock = utcnow,
    ok_options: Mapping[str, Any] | None = None,
    telegram_options: Mapping[str, Any] | None = None,
) -> dict[Network, PollerFactory]:
    """Build the poller factories of every network the configuration switches on.

    OK needs its three credentials; Telegram needs nothing; file replay is always on. One OK
    client (one token, one limiter) and one Telegram client (per-channel pacing, a shared rest
    after 429) serve every source of their network.
    """
    out: dict[Network, PollerFactory] = {}
    ok = config.networks.ok
    credentials = ok_credentials(config)
    if credentials is not None:
        key, secret, token = credentials
        client = OkClient(
            session=http,
            application_key=key,
            application_secret=secret,
            access_token=token,
            api_url=str(ok.api_url),
            limiter=SlidingWindowLimiter(rate=float(ok.requests_per_second)),
            date_zone=ZoneInfo(ok.date_zone),
            **dict(ok_options or {}),
        )
        out[Network.OK] = lambda s: OkGroupPoller(client, s.external_id, clock=clock)
    tg = config.networks.telegram
    if tg.enabled:
        pages = TelegramClient(
            session=http,
            base_url=str(tg.api_url),
            user_agent=tg.user_agent,
            min_interval=float(tg.page_interval),
            **dict(telegram_options or {}),
        )
        out[Network.TELEGRAM] = lambda s: TelegramChannelPoller(pages, s.external_id, clock=clock)
    out[Network.FILE] = lambda s: ReplayPoller(Path(s.external_id), clock=clock)
    return out


def network_intervals(config: Config) -> dict[Network, float]:
    """Return the least rest between two polls of a source, per network."""
    return {Network.TELEGRAM: float(config.networks.telegram.page_interval)}


@contextlib.asynccontextmanager
async def network_collect_service(
    config: Config, sessions: sessionmaker[Session], **options: Any
) -> AsyncIterator[NetworkCollectService]:
    """Build the OK/Telegram/file collection service with its HTTP session; close it after."""
    async with aiohttp.ClientSession() as http:
        yield NetworkCollectService(
            sessions=sessions,
            pollers=build_pollers(config, http=http),
            intervals=network_intervals(config),
            **options,
        )
