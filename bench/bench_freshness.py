"""Benchmark: freshness of 1 000 emulated communities over a simulated day under real quotas.

The VK emulator runs on a fake clock (no real day passes) with its activity model: a few busy
city publics and many nearly silent ones, quiet at night, busy in the evening. Three tokens
(one user token whose account follows every monitored community, two service tokens) under the
real limits: 3 requests a second each, ``wall.get`` 5 000 calls a day each. Our collector's real
code runs in process (``VkClient`` → ``VkClientPool`` → ``VkGroupPoller`` / ``FeedReader``, with
the emulator answering through ``VkEmulator.call``), and each mode simulates the same day:

- ``naive``: every community polled with ``wall.get`` at one fixed interval, the shortest the
  three tokens' ``wall.get`` quotas allow;
- ``planner``: ``wall.get`` only, intervals from :class:`collector.planner.QuotaPlanner`
  (observed activity ** -0.35, 80 % of the quota, re-planned every hour);
- ``feed``: the feed path (``newsfeed.get`` every minute, ``newsfeed.getComments`` every two)
  plus planned ``wall.get`` verification of every community (1–24 h);
- ``search`` (not run by default): as ``feed``, but every tenth community is not configured;
  ``newsfeed.search`` over the region's keywords, within its daily quota, looks for their posts.

For every post and comment published during the day it records the delay from publication to
collection, and prints p50/p95, what was never collected, and the calls each token made per
method against its quota. It also prints the delay from publication to the message's incident
in the queue: the collection times fed to the daemon's ``process`` job, modelled as a run every
``--process-interval`` seconds working through what was collected at ``--process-rate``
messages a second (the pipeline's wall rate, measured by bench/bench_process.py). Run:
``.venv/bin/python bench/bench_freshness.py [--groups 1000] [--process-rate 150]``.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import math
import random
import statistics
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, cast

import aiohttp

from collector.errors import VkError, VkRateLimited
from collector.feed import CommentMark, FeedCursor, FeedReader, KeywordSearch, SearchCursor
from collector.planner import ActivityMeter, PlannerSettings, PollSchedule, QuotaPlanner, SourceLoad
from collector.pool import VkClientPool
from collector.quotas import QuotaTracker
from collector.rate_limit import SlidingWindowLimiter
from collector.vk_client import Backoff, VkClient
from collector.vk_poller import PostState, VkGroupPoller, WallCursor
from emulator.vk import FakeClock, RegionSpec, TokenSpec, VkEmulator
from emulator.vk.world import COMPLAINT_TOPICS

START = 1_768_165_200.0  # 2026-01-12 00:00 Moscow time: one whole quota day
DAY = 86_400.0
USER, SERVICE_1, SERVICE_2 = "bench-user", "bench-service-1", "bench-service-2"
TOKENS = (USER, SERVICE_1, SERVICE_2)
WALL_QUOTA = 5000
#: The region's keywords for newsfeed.search (words of the usual complaints).
QUERIES = ("яма", "нет воды", "снег", "мусор", "отопление", "фонари", "свет", "автобус")


class DirectSession:
    """Stands in for ``aiohttp.ClientSession``: each POST is answered by ``VkEmulator.call``."""

    def __init__(self, emulator: VkEmulator) -> None:
        self.emulator = emulator

    def post(self, url: str, *, data: Mapping[str, str], timeout: object = None) -> _Answer:
        """Answer one API request."""
        method = url.rsplit("/", 1)[1]
        return _Answer(json.dumps(self.emulator.call(method, data), ensure_ascii=False).encode())


class _Answer:
    status = 200

    def __init__(self, body: bytes) -> None:
        self.body = body

    async def __aenter__(self) -> _Answer:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    async def read(self) -> bytes:
        return self.body


@dataclass
class Outcome:
    """What one mode achieved over the day."""

    mode: str
    post_delays: list[float] = field(default_factory=list)
    comment_delays: list[float] = field(default_factory=list)
    #: Publication to incident in the queue: collection, then the process job (see queue_times).
    post_queue_delays: list[float] = field(default_factory=list)
    comment_queue_delays: list[float] = field(default_factory=list)
    posts_missed: int = 0
    comments_missed: int = 0
    calls: dict[str, dict[str, int]] = field(default_factory=dict)
    errors: dict[str, dict[int, int]] = field(default_factory=dict)
    failures: int = 0
    waiting: list[tuple[str, int, int]] = field(default_factory=list)
    search_requests: int = 0
    outside: str = ""
    seconds: float = 0.0
    note: str = ""


def pct(values: list[float], q: float) -> float:
    """Return the q-quantile (0..1) of values, nan when empty."""
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[round(q * 100) - 1]


def human(seconds: float) -> str:
    """Return seconds as s, min or h."""
    if seconds != seconds:  # nan
        return "n/a"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def queue_times(
    arrivals: Mapping[tuple[str, int, int], float], *, interval: float, rate: float
) -> dict[tuple[str, int, int], float]:
    """Return when the daemon's ``process`` job has each collected message through the pipeline.

    The job starts every ``interval`` seconds unless a run is still going; a run works through
    every message collected so far, oldest first, at ``rate`` messages a second, and goes on
    with those collected meanwhile until none waits (the daemon's chunks of 50, back to back).
    """
    # The job's ticks are offset by half an interval from the collector's minute marks: the
    # daemon's jobs are not aligned, and half an interval is the mean wait over all offsets.
    first = START + interval / 2
    order = sorted(arrivals.items(), key=lambda item: item[1])
    done: dict[tuple[str, int, int], float] = {}
    busy_until, i = START, 0
    while i < len(order):
        ready = max(busy_until, order[i][1])
        clock = first + max(0, math.ceil((ready - first) / interval)) * interval
        while i < len(order) and order[i][1] <= clock:
            clock += 1.0 / rate
            done[order[i][0]] = clock
            i += 1
        busy_until = clock
    return done


async def simulate(
    mode: str,
    *,
    groups: int,
    seed: int,
    hours: float = 24.0,
    exponent: float = 0.35,
    process_interval: float = 30.0,
    process_rate: float = 150.0,
) -> Outcome:
    """Simulate one day of collection in ``mode`` and return its figures."""
    wall_started = time.perf_counter()
    clock = FakeClock(START)
    region = RegionSpec(seed=seed, groups=groups, history_days=1.0, max_posts_per_group=30)
    probe = VkEmulator(region=region, clock=clock)
    open_groups = sorted(
        g.id
        for g in probe.world.groups.values()
        if g.state == "open" and g.id != probe.world.official_group_id
    )
    # In "search" mode every tenth community is not configured: only keyword search finds it.
    outside = frozenset(open_groups[::10]) if mode == "search" else frozenset()
    monitored = frozenset(open_groups) - outside
    tokens = [
        TokenSpec(USER, "user", follows=monitored),
        TokenSpec(SERVICE_1, "service"),
        TokenSpec(SERVICE_2, "service"),
    ]
    emu = VkEmulator(region=region, clock=clock, tokens=tokens)

    def now() -> dt.datetime:
        return dt.datetime.fromtimestamp(clock(), tz=dt.UTC)

    async def sleep(seconds: float) -> None:
        clock.advance(max(0.0, seconds))

    quotas = QuotaTracker(clock=now)
    session = cast("aiohttp.ClientSession", DirectSession(emu))

    def client(token: str, kind: str) -> VkClient:
        return VkClient(
            session=session,
            token=token,
            api_url="http://emulator/method",
            limiter=SlidingWindowLimiter.for_kind(kind, clock=clock, sleep=sleep),
            quotas=quotas,
            backoff=Backoff(jitter=lambda: 0.5),
            sleep=sleep,
            name=token,
            kind=kind,
        )

    user = client(USER, "user")
    pool = VkClientPool([user, client(SERVICE_1, "service"), client(SERVICE_2, "service")])

    # The collector has been running: cursors and activity estimates from the walls as they are.
    cursors: dict[str, WallCursor] = {}
    pollers: dict[str, VkGroupPoller] = {}
    meter = ActivityMeter()
    marks: dict[str, CommentMark] = {}
    truth_posts = emu.visible_posts()
    truth_comments = emu.visible_comments()
    last_comment: dict[tuple[int, int], int] = {}
    for c in truth_comments:
        key = (c.owner_id, c.post_id)
        last_comment[key] = max(last_comment.get(key, 0), c.comment_id)
    by_owner: dict[int, list[Any]] = {}
    for p in truth_posts:
        by_owner.setdefault(p.owner_id, []).append(p)
        marks[f"{p.owner_id}_{p.post_id}"] = CommentMark(
            p.comments_count, last_comment.get((p.owner_id, p.post_id), p.post_id)
        )
    for gid in monitored:
        owner = -gid
        key = str(owner)
        posts = sorted(by_owner.get(owner, []), key=lambda p: p.post_id)
        plain = [p for p in posts if not p.is_pinned]
        watched = {p.post_id: PostState(p.comments_count, p.edited) for p in plain[-50:]}
        watched.update(
            {p.post_id: PostState(p.comments_count, p.edited) for p in posts if p.is_pinned}
        )
        cursors[key] = WallCursor(
            last_post_id=max((p.post_id for p in plain), default=None),
            watched=watched,
            polled_at=now(),
        )
        pollers[key] = VkGroupPoller(pool, owner, clock=now)
        recent = sum(1 for p in posts if p.date >= START - DAY) + sum(
            1 for c in truth_comments if c.owner_id == owner and c.date >= START - DAY
        )
        meter.start(key, now() - dt.timedelta(days=1))
        meter.observe(key, recent, now())

    feed = mode in ("feed", "search")
    planner = QuotaPlanner(
        PlannerSettings(comments_interval=120.0, exponent=exponent), tokens=len(TOKENS)
    )
    schedule = PollSchedule(rng=random.Random(seed))
    naive_interval = DAY * len(monitored) / (len(TOKENS) * WALL_QUOTA)

    def replan() -> None:
        if mode == "naive":
            loads = {k: naive_interval for k in cursors}
            plan = planner.plan([SourceLoad(k, 0.0) for k in cursors])
            plan = type(plan)(
                sources={
                    k: type(p)(k, loads[k], DAY / loads[k], 0.0, False, "fixed")
                    for k, p in plan.sources.items()
                },
                tokens=plan.tokens,
                quota_per_token=plan.quota_per_token,
                budget_per_day=plan.budget_per_day,
            )
        else:
            used = sum(quotas.used(t, "wall.get") for t in TOKENS)
            left = START + DAY - clock()
            plan = planner.plan(
                [SourceLoad(k, meter.rate(k, now()), feed_covered=feed) for k in cursors],
                used_today=used,
                seconds_left=left,
            )
        schedule.apply(plan, now())

    reader = FeedReader(
        user,
        comments=pool,
        followed={-g for g in monitored},
        keep_marks=100_000,
        clock=now,
    )
    feed_cursor = FeedCursor(posts_since=int(START), comments_since=int(START), marks=marks)

    search = KeywordSearch(
        pool.clients[1],
        QUERIES,
        exclude_owners={-g for g in monitored},
        lookback=3600,
        clock=now,
    )
    search_cursor = SearchCursor(since={q: int(START) for q in QUERIES})
    search_every = planner.feed_plan(len(QUERIES), 1).search_interval or DAY
    next_search = START + search_every if mode == "search" else START + 2 * DAY
    found_outside: dict[tuple[int, int], float] = {}
    published_outside: dict[tuple[int, int], int] = {}
    published: dict[tuple[str, int, int], int] = {}
    collected: dict[tuple[str, int, int], float] = {}
    out = Outcome(mode)

    def seen(kind: str, owner: int, item: int) -> None:
        collected.setdefault((kind, owner, item), clock())

    replan()
    end = START + hours * 3600.0
    next_replan = START + 3600.0
    next_feed = START + 60.0
    next_comments = START + 120.0
    while True:
        due = schedule.next_due()
        times = [next_replan, due.timestamp() if due else end]
        if feed:
            times += [next_feed, next_comments, next_search]
        t = min(times)
        if t >= end:
            break
        if t > clock():
            clock.set(t)
        for item in emu.advance_activity():
            if -item.owner_id in monitored:  # closed communities post too; they are not ours
                published[(item.kind, item.owner_id, item.item_id)] = item.date
            elif -item.owner_id in outside and item.kind == "post":
                published_outside[(item.owner_id, item.item_id)] = item.date
        if clock() >= next_replan:
            next_replan += 3600.0
            replan()
        if feed and clock() >= next_feed:
            with_comments = clock() >= next_comments
            next_feed += 60.0
            if with_comments:
                next_comments += 120.0
            try:
                result = await reader.poll(feed_cursor, comments=with_comments)
            except VkError:
                out.failures += 1
            else:
                feed_cursor = result.cursor
                for post in result.posts:
                    seen("post", post.owner_id, post.id)
                for comment in result.comments:
                    seen("comment", comment.owner_id, comment.id)
                for owner, items in result.activity.items():
                    meter.observe(str(owner), items, now())
                if result.truncated:
                    for key in cursors:
                        schedule.nudge(key, now())
        if clock() >= next_search:
            next_search += search_every
            found = await search.poll(search_cursor)
            search_cursor = found.cursor
            out.search_requests += found.requests
            for post in found.posts:
                found_outside.setdefault((post.owner_id, post.id), clock())
        for key in schedule.due(now()):
            try:
                poll = await pollers[key].poll(cursors[key])
            except VkRateLimited as err:
                out.failures += 1
                schedule.defer(key, now() + dt.timedelta(seconds=max(60.0, err.retry_after)))
                continue
            except VkError:
                out.failures += 1
                schedule.done(key, now())
                continue
            cursors[key] = poll.cursor
            schedule.done(key, now())
            for post in poll.posts:
                seen("post", post.owner_id, post.id)
            for comment in poll.comments:
                seen("comment", comment.owner_id, comment.id)
            if not feed:
                meter.observe(key, poll.new_posts + len(poll.comments), now())
    queued = queue_times(collected, interval=process_interval, rate=process_rate)
    for message, date in published.items():
        done = queued.get(message)
        waits = out.post_queue_delays if message[0] == "post" else out.comment_queue_delays
        waits.append(max(0.0, (done if done is not None and done <= end else end) - date))
    for key, date in published.items():
        got = collected.get(key)
        delays, kind = (out.post_delays, "post") if key[0] == "post" else (out.comment_delays, "c")
        if got is None:  # still waiting at the end: counted with its age then (a lower bound)
            out.waiting.append(key)
            if kind == "post":
                out.posts_missed += 1
            else:
                out.comments_missed += 1
            delays.append(max(0.0, end - date))
        else:
            delays.append(max(0.0, got - date))
    if outside:
        complaints = {
            key
            for key in published_outside
            if emu.world.groups[-key[0]].posts[key[1]].label in COMPLAINT_TOPICS
        }
        out.outside = (
            f"{len(outside)} communities not configured: {len(published_outside)} posts, "
            f"{len(complaints)} of them complaints; keyword search ({len(QUERIES)} queries "
            f"every {human(search_every)}, {out.search_requests} calls) found "
            f"{len(found_outside.keys() & published_outside.keys())} of the posts, "
            f"{len(found_outside.keys() & complaints)} of the complaints"
        )
        delays = [
            found_outside[k] - published_outside[k]
            for k in found_outside.keys() & published_outside.keys()
        ]
        out.outside += f"; delay p50 {human(pct(delays, 0.5))}, p95 {human(pct(delays, 0.95))}"
    for token in TOKENS:
        stats = emu.token_stats(token)
        out.calls[token] = dict(stats.calls)
        out.errors[token] = dict(stats.errors)
    out.seconds = time.perf_counter() - wall_started
    if mode == "naive":
        out.note = f"every community every {human(naive_interval)}"
    return out


def report(out: Outcome) -> None:
    """Print one mode's figures."""
    print(f"\n[{out.mode}] {out.note}  (simulated in {out.seconds:.0f} s)")
    print(
        f"  posts:    {len(out.post_delays):>5} published, {out.posts_missed} still waiting at "
        f"the end (counted with their age); delay p50 {human(pct(out.post_delays, 0.5))}, "
        f"p95 {human(pct(out.post_delays, 0.95))}"
    )
    print(
        f"  comments: {len(out.comment_delays):>5} published, {out.comments_missed} waiting; "
        f"delay p50 {human(pct(out.comment_delays, 0.5))}, "
        f"p95 {human(pct(out.comment_delays, 0.95))}"
    )
    print(
        f"  publication -> in the queue (collected, then processed): posts p50 "
        f"{human(pct(out.post_queue_delays, 0.5))}, p95 {human(pct(out.post_queue_delays, 0.95))}"
        f"; comments p50 {human(pct(out.comment_queue_delays, 0.5))}, "
        f"p95 {human(pct(out.comment_queue_delays, 0.95))}"
    )
    for token in TOKENS:
        calls = out.calls.get(token, {})
        wall = calls.get("wall.get", 0)
        shown = ", ".join(f"{m} {n}" for m, n in sorted(calls.items()))
        errors = out.errors.get(token) or {}
        print(
            f"  {token:<16} wall.get {wall:>5}/{WALL_QUOTA} ({wall / WALL_QUOTA:.0%});  {shown}"
            f";  errors {errors or 'none'}"
        )
    if out.failures:
        print(f"  failed polls: {out.failures}")
    if out.outside:
        print(f"  {out.outside}")


async def main_async(
    groups: int,
    seed: int,
    modes: list[str],
    exponent: float,
    process_interval: float = 30.0,
    process_rate: float = 150.0,
) -> None:
    """Simulate each mode and print the comparison."""
    print(
        f"{groups} emulated communities, one simulated day (fake clock), 3 tokens "
        f"(1 user following them, 2 service), wall.get {WALL_QUOTA}/day each"
    )
    print(
        f"the process job every {process_interval:.0f} s at {process_rate:.0f} messages/s "
        "(--process-rate: bench_process.py's wall figure on this machine)"
    )
    print(
        f"naive polling every 5 min would need {groups * 288:,} wall.get calls a day: "
        f"{groups * 288 / (3 * WALL_QUOTA):.0f}x the quota of 3 tokens"
    )
    outcomes = []
    for mode in modes:
        out = await simulate(
            mode,
            groups=groups,
            seed=seed,
            exponent=exponent,
            process_interval=process_interval,
            process_rate=process_rate,
        )
        report(out)
        outcomes.append(out)
    base = next((o for o in outcomes if o.mode == "naive"), None)
    if base is not None:
        for out in outcomes:
            if out is base:
                continue
            ratio50 = pct(base.post_delays, 0.5) / max(1.0, pct(out.post_delays, 0.5))
            ratio95 = pct(base.post_delays, 0.95) / max(1.0, pct(out.post_delays, 0.95))
            print(
                f"\n{out.mode} vs naive: posts p50 {ratio50:.1f}x fresher, "
                f"p95 {ratio95:.1f}x fresher (above 1: better than naive)"
            )


def main() -> None:
    """Parse arguments and run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--groups", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--modes", default="naive,planner,feed")
    parser.add_argument("--exponent", type=float, default=0.35, help="the planner's exponent")
    parser.add_argument(
        "--process-interval", type=float, default=30.0, help="scheduler.classify_interval, s"
    )
    parser.add_argument(
        "--process-rate", type=float, default=150.0, help="the pipeline's messages a second"
    )
    args = parser.parse_args()
    asyncio.run(
        main_async(
            args.groups,
            args.seed,
            args.modes.split(","),
            args.exponent,
            args.process_interval,
            args.process_rate,
        )
    )


if __name__ == "__main__":
    main()
