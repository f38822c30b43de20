"""Benchmark the VK collector against the emulator: throughput under the real limits, freshness.

Run: ``.venv/bin/python bench/bench_collect.py [--part throughput|freshness|all]``.

1. Throughput (real time, the emulator enforcing 3 requests/s per service token and the daily
   quotas): an initial sync of the ``--groups`` busiest communities (posts, comments, replies)
   by our asyncio collector, then the same groups read with vk_api's own tools
   (``VkTools.get_all``, synchronous). Prints items a second for both, their ratio, the share
   of the token's rate limit used and the error-6 count.
2. Freshness (simulated time: an injected clock, no real waiting): ``--region`` emulated
   communities with uneven activity over ``--hours``, three service tokens under the real
   ``wall.get`` quota (5 000 a day each). Mode "wall": every community polled by ``wall.get``
   with intervals planned from observed activity (polls in proportion to sqrt(activity), 90 %
   of the quota). Mode "feed": a user token's ``newsfeed.get`` + ``newsfeed.getComments`` each
   minute, with ``wall.get`` kept at a tenth of the quota for verification. Prints p50/p95
   delay from publication to collection and the calls used against the quota.

Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import heapq
import statistics
import time
from collections.abc import Sequence
from typing import Any

import aiohttp
import vk_api
from aiohttp import web
from vk_api.tools import VkTools

from collector.pool import VkClientPool
from collector.quotas import QuotaTracker
from collector.rate_limit import SlidingWindowLimiter
from collector.resolve import _RebasedSession
from collector.vk_client import VkClient
from collector.vk_poller import PostState, VkGroupPoller, WallCursor
from emulator.vk import FakeClock, RegionSpec, VkEmulator

SERVICE = ("vk-demo-service-1", "vk-demo-service-2", "vk-demo-service-3")
USER = "vk-demo-user"


async def serve(emu: VkEmulator) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(emu.create_app())
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    return runner, f"http://127.0.0.1:{port}/method"


def open_groups(emu: VkEmulator) -> list[int]:
    groups = [
        g
        for g in emu.world.groups.values()
        if g.state == "open" and g.id != emu.world.official_group_id
    ]
    groups.sort(key=lambda g: -(len(g.posts) + len(g.comments)))
    return [g.id for g in groups]


# ---------------------------------------------------------------------------- throughput


def read_with_vk_api(url: str, groups: Sequence[int]) -> tuple[int, float, str]:
    """Read posts and comments of ``groups`` with vk_api's VkTools; return (items, s, tool)."""
    session = _RebasedSession(url, 10)
    vk = vk_api.VkApi(token=SERVICE[1], api_version="5.199", session=session)
    tools = VkTools(vk)
    items = 0
    get_all = tools.get_all
    try:
        get_all("wall.get", 100, {"owner_id": -groups[0]}, limit=1)
    except vk_api.exceptions.ApiError as err:  # the emulator's VKScript may lack a construct
        print(f"  (vk_api get_all's VKScript refused: {err}; using get_all_slow)")
        get_all = tools.get_all_slow
    start = time.perf_counter()
    for group in groups:
        posts = get_all("wall.get", 100, {"owner_id": -group})["items"]
        items += len(posts)
        for post in posts:
            if not post.get("comments", {}).get("count"):
                continue
            comments = get_all(
                "wall.getComments",
                100,
                {
                    "owner_id": -group,
                    "post_id": post["id"],
                    "thread_items_count": 10,
                    "preview_length": 0,
                },
            )["items"]
            items += len(comments)
            for comment in comments:
                thread = comment.get("thread") or {}
                items += len(thread.get("items") or [])
                if thread.get("count", 0) > len(thread.get("items") or []):
                    replies = get_all(
                        "wall.getComments",
                        100,
                        {
                            "owner_id": -group,
                            "post_id": post["id"],
                            "comment_id": comment["id"],
                            "preview_length": 0,
                        },
                    )["items"]
                    items += len(replies) - len(thread.get("items") or [])
    return items, time.perf_counter() - start, get_all.__name__


async def throughput(groups_n: int, seed: int) -> None:
    emu = VkEmulator(seed=seed, groups=30)
    runner, url = await serve(emu)
    try:
        groups = open_groups(emu)[:groups_n]
        truth = sum(len(emu.visible_posts(g)) + len(emu.visible_comments(g)) for g in groups)
        async with aiohttp.ClientSession() as http:
            client = VkClient(
                session=http,
                token=SERVICE[0],
                api_url=url,
                limiter=SlidingWindowLimiter.for_kind("service"),
                quotas=QuotaTracker(),
                name="s1",
            )
            start = time.perf_counter()
            results = await asyncio.gather(
                *(
                    VkGroupPoller(client, -g, initial_posts=10_000).poll(WallCursor())
                    for g in groups
                )
            )
            ours_s = time.perf_counter() - start
        ours_items = sum(
            len(r.posts) + sum(1 for c in r.comments if not c.deleted) for r in results
        )
        stats = emu.token_stats(SERVICE[0])
        outer = [c.at for c in stats.log if not c.inner]
        span = outer[-1] - outer[0] if len(outer) > 1 else ours_s
        # Requests in any one-second window, and the long-run rate: n requests fill
        # span + one window of the limiter.
        busiest = max(sum(1 for t in outer if s <= t < s + 1.0) for s in outer)
        rate = len(outer) / (span + 1.05)
        print(f"throughput: {len(groups)} groups, {truth} visible posts+comments in the emulator")
        print(
            f"  ours (asyncio, execute-batched): {ours_items} items in {ours_s:.1f} s = "
            f"{ours_items / ours_s:.1f} items/s; {stats.requests} requests "
            f"({rate:.2f}/s = {100 * rate / 3:.0f} % of the 3/s limit, at most {busiest} in "
            f"any second), "
            f"{sum(stats.calls.values()) - stats.requests} calls inside execute, "
            f"error 6: {stats.errors[6]}, span {span:.1f} s"
        )
        theirs_items, theirs_s, tool = await asyncio.to_thread(read_with_vk_api, url, groups)
        other = emu.token_stats(SERVICE[1])
        print(
            f"  vk_api VkTools.{tool} (sync): {theirs_items} items in {theirs_s:.1f} s = "
            f"{theirs_items / theirs_s:.1f} items/s; {other.requests} requests, "
            f"error 6: {other.errors[6]}"
        )
        print(f"  ratio ours/vk_api: {(ours_items / ours_s) / (theirs_items / theirs_s):.1f}x")
    finally:
        await runner.cleanup()


# ---------------------------------------------------------------------------- freshness


def plan(activity: dict[int, float], budget: float, lo: float, hi: float) -> dict[int, float]:
    """Intervals with polls proportional to sqrt(activity), bounded, spending ``budget``/day."""
    weights = {k: max(a, 0.01) ** 0.5 for k, a in activity.items()}
    scale = budget / sum(weights.values())
    out = {}
    for _ in range(5):  # re-spend what the bounds free or take
        out = {k: min(hi, max(lo, 86400 / (scale * w))) for k, w in weights.items()}
        used = sum(86400 / v for v in out.values())
        if abs(used - budget) < budget * 0.01:
            break
        scale *= budget / used
    return out


def pct(values: Sequence[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def freshness(region: int, hours: float, mode: str, seed: int) -> None:
    clock = FakeClock()
    emu = VkEmulator(
        region=RegionSpec(seed=seed, groups=region, history_days=1, max_posts_per_group=30),
        clock=clock,
    )
    runner, url = await serve(emu)

    def now() -> dt.datetime:
        return dt.datetime.fromtimestamp(clock(), tz=dt.UTC)

    async def sleep(seconds: float) -> None:
        clock.advance(max(0.0, seconds))

    quotas = QuotaTracker(clock=now)
    groups = open_groups(emu)
    start = clock()
    end = start + hours * 3600
    delays: list[float] = []
    seen: set[tuple[int, int]] = set()
    try:
        async with aiohttp.ClientSession() as http:
            clients = [
                VkClient(
                    session=http,
                    token=t,
                    api_url=url,
                    name=t,
                    quotas=quotas,
                    limiter=SlidingWindowLimiter(rate=3, clock=clock, sleep=sleep),
                    sleep=sleep,
                )
                for t in SERVICE
            ]
            pool = VkClientPool(clients, quotas=quotas, monotonic=clock)
            user = VkClient(
                session=http,
                token=USER,
                api_url=url,
                name="user",
                kind="user",
                limiter=SlidingWindowLimiter(rate=3, clock=clock, sleep=sleep),
                sleep=sleep,
            )
            cursors: dict[int, WallCursor] = {}
            pollers: dict[int, VkGroupPoller] = {}
            for g in groups:  # start from a synced state (the first day's backfill is done)
                posts = emu.visible_posts(g)
                for p in posts:
                    seen.add((p.owner_id, p.post_id))
                for c in emu.visible_comments(g):
                    seen.add((c.owner_id, c.comment_id))
                recent = sorted(posts, key=lambda p: -p.post_id)[:50]
                cursors[g] = WallCursor(
                    last_post_id=max((p.post_id for p in posts if not p.is_pinned), default=None),
                    watched={p.post_id: PostState(p.comments_count, p.edited) for p in recent},
                    activity=emu.world.groups[g].activity * 3 / 24,
                    polled_at=now(),
                )
                pollers[g] = VkGroupPoller(pool, -g, clock=now)
            share = 0.9 if mode == "wall" else 0.1
            budget = share * 5000 * len(SERVICE)
            intervals = plan({g: cursors[g].activity for g in groups}, budget, 60, 12 * 3600)
            heap = [(start + intervals[g] * ((i * 0.618) % 1), g) for i, g in enumerate(groups)]
            heapq.heapify(heap)
            feed_at = start + 60 if mode == "feed" else float("inf")
            feed_since = int(start)
            replanned = start
            failures = 0

            def record(owner: int, item_id: int, date: dt.datetime) -> None:
                if (owner, item_id) in seen:
                    return
                seen.add((owner, item_id))
                delays.append(clock() - date.timestamp())

            async def poll(g: int, posts: Sequence[Any] | None = None) -> None:
                nonlocal failures
                emu.advance_activity()
                try:
                    if posts is None:
                        result = await pollers[g].poll(cursors[g])
                    else:
                        result = await pollers[g].poll_posts(cursors[g], posts)
                except Exception:
                    failures += 1
                    return
                cursors[g] = result.cursor
                for p in result.posts:
                    record(p.owner_id, p.id, p.date)
                for c in result.comments:
                    if not c.deleted:
                        record(c.owner_id, c.id, c.date)

            while heap or feed_at < end:
                due, g = heap[0] if heap else (float("inf"), 0)
                if min(due, feed_at) >= end:
                    break
                if feed_at <= due:
                    clock.set(max(clock(), feed_at))
                    emu.advance_activity()
                    page = await user.newsfeed_get(start_time=feed_since - 120)
                    more = await user.newsfeed_get_comments(start_time=feed_since - 120)
                    feed_since = int(clock())
                    by_owner: dict[int, list[Any]] = {}
                    for p in [*page.items, *more.items]:
                        by_owner.setdefault(-p.owner_id, []).append(p)
                    for owner, posts in by_owner.items():
                        if owner in pollers:
                            await poll(owner, posts)
                    feed_at = clock() + 60
                    continue
                heapq.heappop(heap)
                clock.set(max(clock(), due))
                await poll(g)
                if clock() - replanned > 3600:
                    intervals = plan(
                        {k: cursors[k].activity for k in groups}, budget, 60, 12 * 3600
                    )
                    replanned = clock()
                heapq.heappush(heap, (clock() + intervals[g], g))
            clock.set(max(clock(), end))
            emu.advance_activity()
        published = [(p.owner_id, p.post_id, p.date) for g in groups for p in emu.visible_posts(g)]
        published += [
            (c.owner_id, c.comment_id, c.date) for g in groups for c in emu.visible_comments(g)
        ]
        missing = [end - d for o, i, d in published if (o, i) not in seen and d >= start]
        used = {t: emu.token_stats(t).calls["wall.get"] for t in SERVICE}
        wall_calls = sum(used.values())
        errors6 = sum(emu.token_stats(t).errors[6] for t in SERVICE)
        errors29 = sum(emu.token_stats(t).errors[29] for t in SERVICE)
        print(
            f"freshness, mode {mode}: {len(groups)} open communities, {hours:g} simulated hours, "
            f"{len(delays)} new items collected, {len(missing)} not yet collected at the end"
        )
        print(
            f"  delay publication -> collection: p50 {pct(delays, 0.5) / 60:.1f} min, "
            f"p95 {pct(delays, 0.95) / 60:.1f} min, mean {statistics.fmean(delays) / 60:.1f} min"
            if delays
            else "  no items"
        )
        print(
            f"  wall.get calls: {wall_calls} ({wall_calls / (hours / 24):.0f}/day of the "
            f"{5000 * len(SERVICE)} quota); per token {used}; error 6: {errors6}, "
            f"error 29: {errors29}; failed polls: {failures}"
        )
    finally:
        await runner.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=["throughput", "freshness", "all"], default="all")
    parser.add_argument("--groups", type=int, default=4, help="groups for the throughput part")
    parser.add_argument("--region", type=int, default=1000, help="communities for freshness")
    parser.add_argument("--hours", type=float, default=24.0, help="simulated hours")
    parser.add_argument("--mode", choices=["wall", "feed", "both"], default="both")
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args()
    if args.part in ("throughput", "all"):
        asyncio.run(throughput(args.groups, args.seed))
    if args.part in ("freshness", "all"):
        for mode in ("wall", "feed") if args.mode == "both" else (args.mode,):
            asyncio.run(freshness(args.region, args.hours, mode, args.seed))


if __name__ == "__main__":
    main()
