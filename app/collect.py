"""Collection wiring: lease due sources, poll each, store messages and cursor in one transaction."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import random
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
from app.leases import owner_is_dead, process_owner_id
from collector.batching import first_pages
from collector.errors import VkError, VkRateLimited
from collector.feed import (
    FeedApi,
    FeedCursor,
    FeedReader,
    FeedResult,
    KeywordSearch,
    SearchApi,
    SearchCursor,
    SearchResult,
)
from collector.health import SourceHealth, classify_failure, log_transition
from collector.planner import ActivityMeter, Plan, QuotaPlanner, SourceLoad
from collector.pool import METHOD_TOKEN_KINDS, VkClientPool
from collector.quotas import QuotaTracker, utcnow
from collector.rate_limit import SlidingWindowLimiter
from collector.types import VkWallPage
from collector.vk_client import VkClient
from collector.vk_poller import PollResult, VkGroupPoller, WallApi, WallCursor, next_interval
from storage.enums import Network
from storage.repositories.messages import MessageRepository, StoreStats
from storage.repositories.sources import LeaseLost, SourceRecord, SourceRepository

__all__ = [
    "FEED_SOURCE_ID",
    "FEED_STATE_KEY",
    "SEARCH_SOURCE_ID",
    "SEARCH_SOURCE_NAME",
    "SEARCH_STATE_KEY",
    "CollectOutcome",
    "CollectService",
    "build_vk_pool",
    "collect_job",
    "plan_sources",
    "poller_options",
    "process_owner_id",
    "summary_line",
    "vk_collect_service",
]

log = logging.getLogger(__name__)

Clock = Callable[[], dt.datetime]
T = TypeVar("T")
AfterStore = Callable[[Session, SourceRecord, StoreStats], None]

#: The key of the feed cursor among the collector's state rows (``SourceRepository.*_state``).
FEED_STATE_KEY = "vk-feed"
#: ``CollectOutcome.source_id`` of the feed path's outcome (no source has id 0).
FEED_SOURCE_ID = 0
#: The key of the keyword search's row: its cursor, and the source its posts are stored under.
SEARCH_STATE_KEY = "vk-search"
#: The screen name of that row (how exports and the pipeline name the search's posts).
SEARCH_SOURCE_NAME = "Поиск по ключевым словам"
#: ``CollectOutcome.source_id`` of the keyword search's outcome.
SEARCH_SOURCE_ID = -1
DAY = 86_400.0
#: A source with posts whose comments are pending is polled again within ``min_interval`` for
#: this many tries of each; then at its planned interval (a post that keeps failing waits).
PENDING_HURRY = 3


def source_key(source: SourceRecord) -> str:
    """Return the key a source has in the plan and the activity meter (its id)."""
    return str(source.id)


def pollable(source: SourceRecord) -> bool:
    """Return True when the source is enabled and not disabled by an error (closed, deleted)."""
    return source.enabled and source.health.disabled_reason is None


def plan_sources(
    sources: Sequence[SourceRecord],
    *,
    planner: QuotaPlanner,
    feed: bool,
    now: dt.datetime,
    meter: ActivityMeter | None = None,
    used_today: float = 0.0,
    seconds_left: float = DAY,
) -> Plan:
    """Plan every pollable source's ``wall.get`` interval within the tokens' daily quota.

    A source's activity is the meter's (when it has observed the source) or else the smoothed
    activity its wall cursor remembers (None when never polled: the planner's prior). With
    ``feed`` (a user token follows the communities) every pollable source is feed-covered.
    """
    loads = []
    for source in sources:
        if not pollable(source):
            continue
        key = source_key(source)
        rate: float | None
        if meter is not None and key in meter:
            rate = meter.rate(key, now)
        else:
            cursor = WallCursor.from_json(source.cursor)
            rate = cursor.activity if cursor.polled_at is not None else None
        loads.append(SourceLoad(key, rate, feed_covered=feed))
    return planner.plan(loads, used_today=used_today, seconds_left=seconds_left)


def _reader_names(pool: VkClientPool) -> tuple[str, ...]:
    return tuple(c.name for c in pool.clients if c.kind in METHOD_TOKEN_KINDS["wall.get"])


def _has_feed(pool: VkClientPool) -> bool:
    return any(c.kind in METHOD_TOKEN_KINDS["newsfeed.get"] for c in pool.clients)


def _has_search(pool: VkClientPool) -> bool:
    return any(c.kind in METHOD_TOKEN_KINDS["newsfeed.search"] for c in pool.clients)


def _owner_ids(sources: Sequence[SourceRecord]) -> frozenset[int]:
    """Return the wall owner ids of the configured sources (any state, enabled or not)."""
    out = set()
    for source in sources:
        with contextlib.suppress(ValueError):
            out.add(int(source.external_id))
    return frozenset(out)


def poller_options(config: Config) -> dict[str, Any]:
    """Return the wall pollers' options from the configuration (the first poll's backfill)."""
    return {
        "backfill_days": config.collector.backfill_days,
        "backfill_max_posts": config.collector.backfill_max_posts,
    }


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
    #: The source's network (``storage.enums.Network`` value), for the metrics' labels.
    network: str = "vk"


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
    #: How long a lease lasts without renewal; a running collection renews its leases every
    #: third of it (the heartbeat), so a process that died frees its sources this soon.
    lease_seconds: float = 60.0
    #: Tells whether another owner is gone (same host, pid no longer there): its leases are
    #: given back at the start of a collection instead of running out.
    is_dead: Callable[[str, str], bool] = owner_is_dead
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
    #: Choose each source's ``wall.get`` interval with the quota planner (``planner``, built
    #: from the pool's reading tokens when None) instead of ``next_interval``'s fixed bounds.
    plan_intervals: bool = True
    planner: QuotaPlanner | None = None
    meter: ActivityMeter = field(default_factory=ActivityMeter)
    #: Re-plan at least this often (and whenever a source is not in the plan).
    replan_seconds: float = 3600.0
    #: Quota counters and the names of the tokens that read walls (``used_today``); taken
    #: from the pool when ``api`` is a :class:`VkClientPool`.
    quotas: QuotaTracker | None = None
    wall_tokens: Sequence[str] = ()
    #: The feed path: ``newsfeed.get``/``newsfeed.getComments`` on a user token. With
    #: ``feed="auto"`` the pool is used when it has a user token; None switches it off.
    feed: FeedApi | str | None = "auto"
    feed_options: Mapping[str, Any] = field(default_factory=dict)
    #: Keyword search (``newsfeed.search``) for posts outside the configured communities,
    #: at most every ``search_interval`` seconds; off when ``search_keywords`` is empty. With
    #: ``search="auto"`` the pool is used when it has a token allowed to search (user or
    #: service); None switches it off.
    search_keywords: Sequence[str] = ()
    search_interval: float = 600.0
    search: SearchApi | str | None = "auto"
    search_options: Mapping[str, Any] = field(default_factory=dict)
    _writer: contextlib.AbstractAsyncContextManager[Any] | None = field(
        default=None, init=False, repr=False
    )
    _plan: Plan | None = field(default=None, init=False, repr=False)
    _planned_at: dt.datetime | None = field(default=None, init=False, repr=False)
    _feed_due: dt.datetime | None = field(default=None, init=False, repr=False)
    _feed_down: bool = field(default=False, init=False, repr=False)
    _search_due: dt.datetime | None = field(default=None, init=False, repr=False)
    _search_down: bool = field(default=False, init=False, repr=False)

    def __post_init__(self) -> None:
        """Take the quota counters, the reading tokens and the feed token from the pool."""
        pool = self.api if isinstance(self.api, VkClientPool) else None
        if pool is not None:
            if self.feed == "auto":
                self.feed = pool if _has_feed(pool) else None
            if self.search == "auto":
                # The whole pool: every user and service token has its own search quota.
                self.search = pool if _has_search(pool) else None
            if any(c.kind == "service" for c in pool.clients):
                # Walls are read by service tokens only: a closed community the user account
                # belongs to must not be readable on some polls and refused on others. The
                # user token is kept for the feed.
                pool = pool.subset(["service"])
                self.api = pool
            self.quotas = self.quotas or pool.quotas
            self.wall_tokens = self.wall_tokens or _reader_names(pool)
        if self.feed == "auto":
            self.feed = None
        if self.search == "auto":
            self.search = None
        self.search_keywords = tuple(
            dict.fromkeys(k.strip() for k in self.search_keywords if k.strip())
        )
        if self.plan_intervals and self.planner is None:
            self.planner = QuotaPlanner(tokens=max(1, len(self.wall_tokens)))

    @property
    def feed_api(self) -> FeedApi | None:
        """Return the feed path's API (None: the feed path is off)."""
        return None if isinstance(self.feed, str) else self.feed

    @property
    def search_api(self) -> SearchApi | None:
        """Return the keyword search's API (None: no keywords, or no token may search)."""
        if isinstance(self.search, str) or not self.search_keywords:
            return None
        return self.search

    @property
    def plan(self) -> Plan | None:
        """Return the current plan (None before the first collection or without a planner)."""
        return self._plan

    # ------------------------------------------------------------------ database steps

    def _recover(self) -> int:
        """Give back this process's leftover leases and those of owners known to be dead."""
        with self.sessions.begin() as s:
            repo = SourceRepository(s)
            gone = [
                o for o in repo.lease_owners() if o == self.owner or self.is_dead(o, self.owner)
            ]
            freed = repo.release_owned(gone)
        dead = [o for o in gone if o != self.owner]
        if dead:
            log.info("collect: gave back the leases of %s (process gone)", ", ".join(dead))
        return freed

    def _renew(self) -> None:
        with self.sessions.begin() as s:
            SourceRepository(s).renew(self.owner, self.clock(), lease_seconds=self.lease_seconds)

    async def _heartbeat(self) -> None:
        """Renew this process's leases every third of ``lease_seconds`` until cancelled."""
        while True:
            await asyncio.sleep(self.lease_seconds / 3)
            try:
                await self._write(self._renew)
            except Exception as err:  # the collection itself reports a database outage
                log.debug("collect: lease heartbeat failed: %s", err)

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
        if isinstance(prefetched, VkError) and (
            prefetched.retryable
            or (isinstance(prefetched, VkRateLimited) and prefetched.quota_exhausted)
        ):
            # A transient failure in the batch, or the batch's token out of quota (error 29
            # inside execute, which the pool does not rotate): the poller reads the wall itself,
            # through the pool, on a token that still has quota (or rests until the reset).
            prefetched = None
        try:
            if isinstance(prefetched, VkError):
                raise prefetched
            # After failed polls the gap is long: re-read the watched posts' comments, since a
            # deleted comment and a new one keep a post's comment count.
            poll = await poller.poll(
                WallCursor.from_json(source.cursor),
                first_page=prefetched,
                recheck=before.consecutive_failures > 0,
            )
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
        interval = self.interval_for(source, poll)
        if any(tries <= PENDING_HURRY for tries in poll.cursor.pending.values()):
            # Comments left unread by a failure: read them again soon, not in an hour.
            interval = min(interval, self.min_interval)
        if poll.unread:
            log.warning(
                "source %s: comments of %d posts not read in full; read again next poll",
                source.name,
                len(poll.unread),
            )
        try:
            stats = await self._write(self._store_success, source, poll, after, interval)
        except LeaseLost as err:
            log.warning("source %s: %s; this poll is discarded", source.name, err)
            return CollectOutcome(source.id, source.name, ok=False, error=str(err))
        if source.cursor:  # the first poll's backlog is not activity
            self._observe(source, stats.inserted, self.clock())
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
        """Run the feed path when due, then lease the sources to poll now and poll them.

        ``due_only=False`` polls every enabled source (and reads the feed) whatever is due.
        The feed's outcome, when it ran, comes first with ``source_id == FEED_SOURCE_ID``.
        Walls due are read before the feed. The keyword search runs last, when due (at most
        every ``search_interval``, ``due_only=False`` included); its outcome, when it ran,
        comes last with ``source_id == SEARCH_SOURCE_ID``.
        """
        # Nothing of this service is in flight between two collections: whatever it still
        # holds was left by a run that could not give it back (e.g. the database went away).
        await self._write(self._recover)
        beat = asyncio.create_task(self._heartbeat())
        try:
            return await self._collect(due_only=due_only, limit=limit)
        finally:
            beat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await beat

    async def _collect(self, *, due_only: bool, limit: int) -> list[CollectOutcome]:
        await self.replan_if_stale()
        # Walls first: a community whose wall the service tokens cannot read (closed) is then
        # disabled before the feed runs, and so left out of ``followed``.
        out = await self._collect_walls(due_only=due_only, limit=limit)
        if self.feed_api is not None:
            now = self.clock()
            if not due_only or self._feed_due is None or now >= self._feed_due:
                feed = await self.poll_feed()
                if feed is not None:
                    out = [feed, *out]
        due = self._search_due
        if self.search_api is not None and (due is None or self.clock() >= due):
            searched = await self.run_search()
            if searched is not None:
                out.append(searched)
        return out

    async def _collect_walls(self, *, due_only: bool, limit: int) -> list[CollectOutcome]:
        claimed = await self._write(self._claim, due_only=due_only, limit=limit)
        plan = self._plan
        if plan is not None and any(source_key(s) not in plan.sources for s in claimed):
            await self.replan()  # a source added since: plan it with the others
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

        # Every poll ends (and stores or gives back its lease) before a failure goes up.
        results = await asyncio.gather(*(bounded(s) for s in claimed), return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                raise result
        return [r for r in results if isinstance(r, CollectOutcome)]

    # ------------------------------------------------------------------ the plan

    def _observe(self, source: SourceRecord, items: int, at: dt.datetime) -> None:
        """Count a source's new items; a source first seen is observed since its last poll."""
        key = source_key(source)
        if key not in self.meter:
            self.meter.start(key, WallCursor.from_json(source.cursor).polled_at or at)
        self.meter.observe(key, items, at)

    def interval_for(self, source: SourceRecord, poll: PollResult) -> float:
        """Return the seconds to the source's next wall poll: its planned interval if any."""
        plan = self._plan
        key = source_key(source)
        if plan is not None and key in plan.sources:
            return plan.sources[key].interval_seconds
        return next_interval(
            poll.cursor.activity, minimum=self.min_interval, maximum=self.max_interval
        )

    def _sources(self) -> list[SourceRecord]:
        with self.sessions() as s:
            return SourceRepository(s).all(network=Network.VK)

    async def replan(self) -> Plan | None:
        """Plan every source's interval from its activity, the tokens and today's quota use."""
        if self.planner is None:
            return None
        sources = await asyncio.to_thread(self._sources)
        now = self.clock()
        used = 0.0
        left = DAY
        if self.quotas is not None:
            used = float(sum(self.quotas.used(t, "wall.get") for t in self.wall_tokens))
            left = (self.quotas.next_reset(now) - now).total_seconds()
        self._plan = plan_sources(
            sources,
            planner=self.planner,
            feed=self.feed_api is not None,
            now=now,
            meter=self.meter,
            used_today=used,
            seconds_left=left,
        )
        self._planned_at = now
        p = self._plan
        log.debug(
            "collect: planned %d sources, ~%.0f wall.get a day (%.0f%% of %d)%s",
            len(p.sources),
            p.calls_per_day,
            100 * p.share_of_quota,
            p.quota_per_day,
            "" if p.fits else "; the quota cannot carry them all",
        )
        return p

    async def replan_if_stale(self) -> None:
        """Re-plan when there is no plan yet or it is older than ``replan_seconds``."""
        if self.planner is None:
            return
        at = self._planned_at
        if at is None or (self.clock() - at).total_seconds() >= self.replan_seconds:
            await self.replan()

    # ------------------------------------------------------------------ the feed path

    def _claim_feed(
        self, now: dt.datetime
    ) -> tuple[dict[str, Any], dict[int, SourceRecord]] | None:
        with self.sessions.begin() as s:
            repo = SourceRepository(s)
            state = repo.claim_state(
                FEED_STATE_KEY, self.owner, now, lease_seconds=self.lease_seconds
            )
            if state is None:
                return None
            sources = {int(r.external_id): r for r in repo.all(network=Network.VK) if pollable(r)}
            return state, sources

    def _claim_for_feed(self, ids: Sequence[int], now: dt.datetime) -> list[SourceRecord]:
        with self.sessions.begin() as s:
            repo = SourceRepository(s)
            got = (
                repo.claim_for_update(i, self.owner, now, lease_seconds=self.lease_seconds)
                for i in ids
            )
            return [r for r in got if r is not None]

    def _store_feed(
        self,
        result: FeedResult,
        polls: Sequence[tuple[SourceRecord, PollResult]],
        failed: Sequence[tuple[SourceRecord, WallCursor]],
    ) -> StoreStats:
        """Store every source's messages and cursor and the feed cursor in one transaction."""
        now = self.clock()
        total = StoreStats()
        with self.sessions.begin() as s:
            repo = SourceRepository(s)
            for source, poll in polls:
                health = source.health
                if not health.down:
                    health = health.succeeded(now, poll.lag_seconds)
                repo.finish(
                    source.id,
                    self.owner,
                    health=health,
                    next_due=source.lease_expires_at or now,
                    cursor=poll.cursor.to_json(),
                )
                stats = MessageRepository(s).store_poll(source.id, poll, now)
                if self.after_store is not None:
                    self.after_store(s, source, stats)
                total.inserted += stats.inserted
                total.updated += stats.updated
                total.deleted += stats.deleted
            for source, cursor in failed:  # read its wall soon: only the wall poll settles it
                repo.finish(
                    source.id,
                    self.owner,
                    health=source.health,
                    next_due=now,
                    cursor=cursor.to_json(),
                )
            repo.save_state(FEED_STATE_KEY, self.owner, {"cursor": result.cursor.to_json()})
        return total

    def _abandon_feed(self, claimed: Sequence[SourceRecord]) -> None:
        now = self.clock()
        with self.sessions.begin() as s:
            repo = SourceRepository(s)
            for source in claimed:
                with contextlib.suppress(LeaseLost):
                    repo.finish(
                        source.id,
                        self.owner,
                        health=source.health,
                        next_due=source.lease_expires_at or now,
                    )
            repo.release_state(FEED_STATE_KEY, self.owner)

    async def poll_feed(self) -> CollectOutcome | None:
        """Read the feed once and store its new posts and comments with every cursor, atomically.

        The new and commented posts of each followed source go through that source's
        ``VkGroupPoller.poll_posts`` (its wall cursor keeps watching them) under the source's
        lease; the sources and the feed cursor are written in one transaction, so a crash
        neither loses nor doubles anything. A source another process is polling right now is
        left to that wall poll. Returns None when another process holds the feed.
        """
        api = self.feed_api
        if api is None:
            return None
        now = self.clock()
        interval = self._plan.feed.feed_interval if self._plan and self._plan.feed else 60.0
        claimed_state = await self._write(self._claim_feed, now)
        if claimed_state is None:
            self._feed_due = now + dt.timedelta(seconds=interval)
            return None
        state, sources = claimed_state
        reader = FeedReader(
            api,
            comments=self.api,
            followed=frozenset(sources),
            clock=self.clock,
            **dict(self.feed_options),
        )
        claimed: list[SourceRecord] = []
        try:
            result = await reader.poll(FeedCursor.from_json(state.get("cursor")))
            by_owner = result.by_owner()
            ids = [sources[o].id for o in sorted(by_owner) if o in sources]
            claimed = await self._write(self._claim_for_feed, ids, now) if ids else []
            polls: list[tuple[SourceRecord, PollResult]] = []
            failed: list[tuple[SourceRecord, WallCursor]] = []
            requests = result.requests
            for source in claimed:
                owner_id = int(source.external_id)
                poller = VkGroupPoller(
                    self.api, owner_id, clock=self.clock, **dict(self.poller_options)
                )
                try:
                    polls.append(
                        (
                            source,
                            await poller.poll_posts(
                                WallCursor.from_json(source.cursor), by_owner[owner_id]
                            ),
                        )
                    )
                except VkError as err:
                    log.warning(
                        "feed: comments of %s not read (%s); its wall is next", source.name, err
                    )
                    # The feed cursor moves on: the wall cursor keeps these posts to re-read.
                    cursor = WallCursor.from_json(source.cursor).with_pending(
                        p.id for p in by_owner[owner_id]
                    )
                    failed.append((source, cursor))
                requests += poller.requests
            stats = await self._write(self._store_feed, result, polls, failed)
        except asyncio.CancelledError:
            await asyncio.shield(self._write(self._abandon_feed, claimed))
            raise
        except Exception as err:
            if not isinstance(err, VkError | LeaseLost):
                log.exception("feed: unexpected error")
            elif not self._feed_down:  # once when it goes down, once when it recovers
                log.warning("feed unavailable: %s", err)
            self._feed_down = True
            with contextlib.suppress(LeaseLost):
                await self._write(self._abandon_feed, claimed)
            self._feed_due = self.clock() + dt.timedelta(seconds=interval)
            return CollectOutcome(FEED_SOURCE_ID, "vk feed", ok=False, error=str(err))
        self._feed_due = now + dt.timedelta(seconds=interval)
        if self._feed_down:
            log.info("feed recovered")
            self._feed_down = False
        at = self.clock()
        for owner_id, count in result.activity.items():
            if owner_id in sources:
                self._observe(sources[owner_id], count, at)
        return CollectOutcome(
            FEED_SOURCE_ID,
            "vk feed",
            ok=True,
            new_posts=len(result.posts),
            inserted=stats.inserted,
            updated=stats.updated,
            deleted=stats.deleted,
            requests=requests,
            notes=result.notes,
        )

    # ------------------------------------------------------------------ keyword search

    def _claim_search(
        self, now: dt.datetime
    ) -> tuple[dict[str, Any], SourceRecord, frozenset[int]] | None:
        with self.sessions.begin() as s:
            repo = SourceRepository(s)
            row = repo.state_source(
                SEARCH_STATE_KEY,
                screen_name=SEARCH_SOURCE_NAME,
                title=f"{SEARCH_SOURCE_NAME} (newsfeed.search)",
                reason="keyword search results, not a polled source",
            )
            state = repo.claim_state(
                SEARCH_STATE_KEY, self.owner, now, lease_seconds=self.lease_seconds
            )
            if state is None:
                return None
            searched = state.get("searched_at")
            if searched is not None and now < dt.datetime.fromisoformat(searched) + dt.timedelta(
                seconds=self.search_interval
            ):  # another process searched lately
                repo.release_state(SEARCH_STATE_KEY, self.owner)
                return None
            return state, row, _owner_ids(repo.all(network=Network.VK))

    def _store_search(
        self, row: SourceRecord, result: SearchResult, now: dt.datetime
    ) -> StoreStats:
        """Store the posts found under the search row, with its cursor, in one transaction."""
        poll = PollResult(
            owner_id=0,
            posts=result.posts,
            comments=(),
            comment_sets={},
            deleted_posts=(),
            cursor=WallCursor(),
            new_posts=len(result.posts),
            requests=result.requests,
            lag_seconds=None,
        )
        with self.sessions.begin() as s:
            # The state first: it checks the lease before any message is written.
            SourceRepository(s).save_state(
                SEARCH_STATE_KEY,
                self.owner,
                {"cursor": result.cursor.to_json(), "searched_at": now.isoformat()},
            )
            stats = MessageRepository(s).store_poll(row.id, poll, self.clock())
            if self.after_store is not None:
                self.after_store(s, row, stats)
            return stats

    def _release_search(self) -> None:
        with self.sessions.begin() as s:
            SourceRepository(s).release_state(SEARCH_STATE_KEY, self.owner)

    async def run_search(self) -> CollectOutcome | None:
        """Search the keywords once; store the posts found outside the configured sources.

        The posts are stored under the search's pseudo-source (a disabled row no poller
        claims, with no municipality) together with the search cursor, in one transaction.
        Returns None when the search is off, another process holds it, or another process
        searched less than ``search_interval`` ago.
        """
        api = self.search_api
        if api is None:
            return None
        now = self.clock()
        self._search_due = now + dt.timedelta(seconds=self.search_interval)
        claimed = await self._write(self._claim_search, now)
        if claimed is None:
            return None
        state, row, configured = claimed
        search = KeywordSearch(
            api,
            self.search_keywords,
            exclude_owners=configured,
            clock=self.clock,
            **dict(self.search_options),
        )
        try:
            result = await search.poll(SearchCursor.from_json(state.get("cursor")))
            stats = await self._write(self._store_search, row, result, now)
        except asyncio.CancelledError:
            await asyncio.shield(self._write(self._release_search))
            raise
        except Exception as err:
            if not isinstance(err, VkError | LeaseLost):
                log.exception("search: unexpected error")
            elif not self._search_down:  # once when it goes down, once when it recovers
                log.warning("keyword search unavailable: %s", err)
            self._search_down = True
            with contextlib.suppress(LeaseLost):
                await self._write(self._release_search)
            return CollectOutcome(SEARCH_SOURCE_ID, SEARCH_SOURCE_NAME, ok=False, error=str(err))
        if result.retry_after is not None:  # the daily quota ran out: the rest waits for it
            later = now + dt.timedelta(seconds=result.retry_after)
            self._search_due = max(self._search_due, later)
        if self._search_down:
            log.info("keyword search recovered")
            self._search_down = False
        notes = tuple(f"query {q!r} has more matches than VK pages to" for q in result.capped)
        return CollectOutcome(
            SEARCH_SOURCE_ID,
            SEARCH_SOURCE_NAME,
            ok=True,
            new_posts=len(result.posts),
            inserted=stats.inserted,
            updated=stats.updated,
            deleted=stats.deleted,
            requests=result.requests,
            notes=notes,
        )


def summary_line(outcomes: Sequence[CollectOutcome], skipped: int = 0) -> str:
    """Return one line summing up a collection run (the feed's and the search's included)."""
    feed = [o for o in outcomes if o.source_id == FEED_SOURCE_ID]
    search = [o for o in outcomes if o.source_id == SEARCH_SOURCE_ID]
    walls = [o for o in outcomes if o.source_id not in (FEED_SOURCE_ID, SEARCH_SOURCE_ID)]
    failed = [o for o in outcomes if not o.ok]
    text = (
        f"{len(walls)} sources polled, {len([o for o in walls if not o.ok])} failed; "
        f"{sum(o.inserted for o in outcomes)} messages stored, "
        f"{sum(o.updated for o in outcomes)} updated, {sum(o.deleted for o in outcomes)} deleted"
    )
    for o in feed:
        text += (
            f"; feed: {o.new_posts} new posts, {o.inserted} stored, {o.requests} requests"
            if o.ok
            else "; feed failed"
        )
    for o in search:
        text += (
            f"; search: {o.new_posts} found, {o.inserted} stored, {o.requests} requests"
            if o.ok
            else "; search failed"
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
    vk = config.networks.vk
    options = {
        "search_keywords": vk.search_keywords,
        "search_interval": float(vk.search_interval),
        "poller_options": poller_options(config),
        **options,
    }
    async with aiohttp.ClientSession() as http:
        pool = build_vk_pool(vk, session=http)
        yield None if pool is None else CollectService(sessions=sessions, api=pool, **options)
