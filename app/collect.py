"""Collection wiring: lease due sources, poll each, store messages and cursor in one transaction."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import os
import random
import socket
import uuid
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Mapping,
    MutableMapping,
    Sequence,
)
from dataclasses import dataclass, field
from typing import Any, TypeVar

import aiohttp
from sqlalchemy.orm import Session, sessionmaker

from app.config import Config, VkConfig
from collector.batching import first_pages
from collector.errors import VkError
from collector.health import SourceHealth, classify_failure, log_transition
from collector.pool import VkClientPool
from collector.quotas import QuotaTracker, utcnow
from collector.rate_limit import SlidingWindowLimiter
from collector.types import VkWallPage
from collector.vk_client import VkClient
from collector.vk_poller import PollResult, VkGroupPoller, WallApi, WallCursor, next_interval
from storage.enums import Network
from storage.repositories.messages import MessageRepository, StoreStats
from storage.repositories.sources import LeaseLost, SourceRecord, SourceRepository

__all__ = [
    "CollectOutcome",
    "CollectService",
    "build_vk_pool",
    "collect_job",
    "process_owner_id",
    "summary_line",
    "vk_collect_service",
]

log = logging.getLogger(__name__)

Clock = Callable[[], dt.datetime]
T = TypeVar("T")
AfterStore = Callable[[Session, SourceRecord, StoreStats], None]


def process_owner_id() -> str:
    """Return a lease owner id unique to this process: host, pid and a random suffix."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def build_vk_pool(
    config: VkConfig,
    *,
    session: aiohttp.ClientSession,
    quotas: QuotaTracker | None = None,
    request_timeout: float = 10,
    metrics: MutableMapping[str, int] | None = None,
) -> VkClientPool | None:
    """Build one client per configured VK token, each with its own shared limiter.

    ``metrics`` (one mapping for all tokens) receives the clients' named counters.

    Returns None when no token has a value (VK not configured).
    """
    quotas = quotas or QuotaTracker()
    rates = config.requests_per_second
    clients = []
    for token in config.tokens:
        if token.token is None or not token.token.get_secret_value():
            continue
        limiter = SlidingWindowLimiter.for_kind(token.kind, rate=getattr(rates, token.kind))
        clients.append(
            VkClient(
                session=session,
                token=token.token.get_secret_value(),
                api_url=config.api_url,
                api_version=config.api_version,
                request_timeout=request_timeout,
                limiter=limiter,
                quotas=quotas,
                name=token.name,
                kind=token.kind,
                metrics=metrics,
            )
        )
    return VkClientPool(clients, quotas=quotas) if clients else None


@dataclass(frozen=True, slots=True)
class CollectOutcome:
    """What one poll of one source did."""

    source_id: int
    source: str
    ok: bool
    new_posts: int = 0
    inserted: int = 0
    updated: int = 0
    deleted: int = 0
    requests: int = 0
    error: str | None = None
    notes: tuple[str, ...] = ()


@dataclass
class CollectService:
    """Poll VK sources under row leases and store each poll atomically.

    ``api`` is shared by every poll (one limiter per token). Database work runs in worker
    threads. ``after_store`` runs inside the storing transaction (the pipeline hook: whatever it
    writes commits or rolls back with the messages).
    """

    sessions: sessionmaker[Session]
    api: WallApi
    owner: str = field(default_factory=process_owner_id)
    clock: Clock = utcnow
    lease_seconds: float = 600.0
    min_interval: float = 60.0
    max_interval: float = 3600.0
    concurrency: int = 4
    poller_options: Mapping[str, Any] = field(default_factory=dict)
    after_store: AfterStore | None = None
    #: Read the first page of up to 25 walls in one ``execute`` (one request, not 25).
    batch_walls: bool = True
    #: Spread of the next due time (0.1: +-10 %), so sources added together drift apart.
    phase_jitter: float = 0.1
    jitter: Callable[[], float] = random.random
    _writer: contextlib.AbstractAsyncContextManager[Any] | None = field(
        default=None, init=False, repr=False
    )

    # ------------------------------------------------------------------ database steps

    def _claim(self, *, due_only: bool, limit: int) -> list[SourceRecord]:
        with self.sessions.begin() as s:
            return SourceRepository(s).claim_due(
                self.owner,
                self.clock(),
                lease_seconds=self.lease_seconds,
                limit=limit,
                network=Network.VK,
                due_only=due_only,
            )

    def _store_success(
        self,
        source: SourceRecord,
        poll: PollResult,
        health: SourceHealth,
        interval: float,
    ) -> StoreStats:
        now = self.clock()
        with self.sessions.begin() as s:
            # The source row first: it checks the lease (and locks the row) before any write.
            SourceRepository(s).finish(
                source.id,
                self.owner,
                health=health,
                next_due=now + dt.timedelta(seconds=self._spread(interval)),
                cursor=poll.cursor.to_json(),
                last_seen_post_id=(
                    str(poll.cursor.last_post_id) if poll.cursor.last_post_id else None
                ),
                poll_interval_seconds=round(interval),
            )
            stats = MessageRepository(s).store_poll(source.id, poll, now)
            if self.after_store is not None:
                self.after_store(s, source, stats)
            return stats

    async def _write(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a database write in a worker thread; on SQLite one at a time (one writer)."""
        if self._writer is None:
            bind = self.sessions.kw.get("bind")
            single = bind is not None and bind.dialect.name == "sqlite"
            self._writer = asyncio.Lock() if single else contextlib.nullcontext()
        async with self._writer:
            return await asyncio.to_thread(fn, *args, **kwargs)

    def _spread(self, seconds: float) -> float:
        return seconds * (1 + self.phase_jitter * (2 * self.jitter() - 1))

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

    # ------------------------------------------------------------------ polling

    def _failure_delay(
        self, source: SourceRecord, failures: int, retry_after: float | None
    ) -> float:
        if retry_after is not None:
            return max(retry_after, self.min_interval)
        base = max(float(source.poll_interval_seconds), self.min_interval)
        return float(min(self.max_interval, base * 2 ** min(failures - 1, 6)))

    async def poll_source(
        self, source: SourceRecord, prefetched: VkWallPage | VkError | None = None
    ) -> CollectOutcome:
        """Poll one source this process has leased, and store the outcome.

        ``prefetched`` is the wall's first page (or the error reading it) from a batch. A failed
        poll stores nothing but the source's health (and when to try again); a poll whose lease
        was taken over meanwhile stores nothing at all.
        """
        before = source.health
        poller = VkGroupPoller(
            self.api, int(source.external_id), clock=self.clock, **dict(self.poller_options)
        )
        try:
            if isinstance(prefetched, VkError):
                raise prefetched
            poll = await poller.poll(WallCursor.from_json(source.cursor), first_page=prefetched)
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
            return CollectOutcome(
                source.id, source.name, ok=False, requests=poller.requests, error=failure.message
            )
        after = before.succeeded(self.clock(), poll.lag_seconds)
        interval = next_interval(
            poll.cursor.activity, minimum=self.min_interval, maximum=self.max_interval
        )
        try:
            stats = await self._write(self._store_success, source, poll, after, interval)
        except LeaseLost as err:
            log.warning("source %s: %s; this poll is discarded", source.name, err)
            return CollectOutcome(source.id, source.name, ok=False, error=str(err))
        log_transition(source.name, before, after)
        return CollectOutcome(
            source.id,
            source.name,
            ok=True,
            new_posts=poll.new_posts,
            inserted=stats.inserted,
            updated=stats.updated,
            deleted=stats.deleted,
            requests=poll.requests,
            notes=poll.notes,
        )

    async def collect(self, *, due_only: bool = True, limit: int = 1000) -> list[CollectOutcome]:
        """Lease the sources to poll now (all enabled ones unless ``due_only``) and poll them."""
        claimed = await self._write(self._claim, due_only=due_only, limit=limit)
        prefetched: dict[int, VkWallPage | VkError] = {}
        if self.batch_walls and len(claimed) > 1:
            try:
                prefetched = await first_pages(
                    self.api,
                    [int(s.external_id) for s in claimed],
                    count=int(self.poller_options.get("page_size", 100)),
                )
            except VkError as err:  # the batch as a whole failed: poll one by one
                log.warning("batched wall.get failed (%s); polling sources one by one", err)
        gate = asyncio.Semaphore(self.concurrency)

        async def bounded(source: SourceRecord) -> CollectOutcome:
            async with gate:
                return await self.poll_source(source, prefetched.get(int(source.external_id)))

        return list(await asyncio.gather(*(bounded(s) for s in claimed)))


def summary_line(outcomes: Sequence[CollectOutcome], skipped: int = 0) -> str:
    """Return one line summing up a collection run."""
    failed = [o for o in outcomes if not o.ok]
    text = (
        f"{len(outcomes)} sources polled, {len(failed)} failed; "
        f"{sum(o.inserted for o in outcomes)} messages stored, "
        f"{sum(o.updated for o in outcomes)} updated, {sum(o.deleted for o in outcomes)} deleted"
    )
    if skipped:
        text += f"; {skipped} skipped (leased by another process)"
    if failed:
        text += "; failed: " + ", ".join(f"{o.source} ({o.error})" for o in failed[:5])
    return text


def collect_job(service: CollectService) -> Callable[[], Awaitable[None]]:
    """Return the periodic job polling the due sources (for ``app.daemon.JobSpec``)."""

    async def run() -> None:
        outcomes = await service.collect(due_only=True)
        if outcomes:
            failed = any(not o.ok for o in outcomes)
            log.log(logging.WARNING if failed else logging.INFO, "%s", summary_line(outcomes))

    return run


@contextlib.asynccontextmanager
async def vk_collect_service(
    config: Config, sessions: sessionmaker[Session], **options: Any
) -> AsyncIterator[CollectService | None]:
    """Build the VK collection service with its HTTP session and token pool; close them after.

    Yields None when VK is switched off or has no token.
    """
    if not config.networks.vk.enabled:
        yield None
        return
    async with aiohttp.ClientSession() as http:
        pool = build_vk_pool(config.networks.vk, session=http)
        yield None if pool is None else CollectService(sessions=sessions, api=pool, **options)
