"""Benchmark: posts and comments a second from the VK emulator, ours against vk_api's tools.

The emulator runs in its own thread on 127.0.0.1 with the real clock and VK's real limits
(3 requests a second per service token, error 6 above that). The same open communities are
collected in full (every post, every comment and reply) twice, each time with its own service
token:

1. ours: ``VkClient`` (aiohttp, the per-token sliding-window limiter) and one
   ``VkGroupPoller`` per wall, all walls at once over the one token: ``wall.get`` pages of 100,
   first comment pages batched 25 to an ``execute``, threads and further pages read as needed;
2. vk_api (synchronous, ``requests``): ``VkTools.get_all`` for each wall and for each post's
   comments (its own ``execute`` loop), then ``VkRequestsPool`` (25 calls an ``execute``) for
   the comments as a second, stronger baseline.

Prints items a second, requests a second against the token's limit (the share used), error-6
answers, and the ratios. Run: ``.venv/bin/python bench/bench_vk_collect.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
import requests
import vk_api
from aiohttp import web

from collector.rate_limit import SlidingWindowLimiter
from collector.vk_client import VkClient
from collector.vk_poller import VkGroupPoller, WallCursor
from emulator.vk import RegionSpec, VkEmulator

VK_API_URL = "https://api.vk.ru/method/"
LIMIT = 3.0  # requests a second of a service token


class EmulatorThread:
    """Serve the emulator from its own thread and event loop on 127.0.0.1."""

    def __init__(self, emulator: VkEmulator) -> None:
        self.emulator = emulator
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.url = ""
        self._runner: web.AppRunner | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self._start())
        self.ready.set()
        self.loop.run_forever()

    async def _start(self) -> None:
        self._runner = web.AppRunner(self.emulator.create_app(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}/method"

    def __enter__(self) -> EmulatorThread:
        self._thread.start()
        self.ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)


class RebasedSession(requests.Session):
    """Send vk_api's fixed ``https://api.vk.ru/method/`` requests to the emulator."""

    def __init__(self, base: str) -> None:
        super().__init__()
        self.base = base.rstrip("/") + "/"

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        """Rewrite the URL, then send."""
        if str(url).startswith(VK_API_URL):
            url = self.base + str(url)[len(VK_API_URL) :]
        kwargs.setdefault("timeout", 10)
        return super().request(method, url, *args, **kwargs)


@dataclass
class Run:
    """What one collector did."""

    name: str
    posts: int
    comments: int
    seconds: float
    requests: int
    error6: int

    @property
    def items_per_second(self) -> float:
        """Return posts and comments collected a second."""
        return (self.posts + self.comments) / self.seconds

    @property
    def rate_share(self) -> float:
        """Return the requests made as a share of those the limit allows in the same time.

        A one-second sliding window of ``LIMIT`` allows ``LIMIT`` requests at once and then
        ``LIMIT`` more each further second: ``LIMIT * (floor(seconds) + 1)`` in all.
        """
        return self.requests / (LIMIT * (math.floor(self.seconds) + 1))

    def line(self) -> str:
        """Return the run as one printed line."""
        return (
            f"{self.name:<28} {self.posts:>5} posts {self.comments:>6} comments "
            f"{self.seconds:>6.1f} s  {self.items_per_second:>7.1f} items/s  "
            f"{self.requests:>4} requests = {self.rate_share:>5.1%} of the limit  "
            f"error 6: {self.error6}"
        )


async def collect_ours(url: str, token: str, owners: list[int]) -> tuple[int, int, int]:
    """Collect every wall in full with our client and pollers; return posts, comments, requests."""
    async with aiohttp.ClientSession() as http:
        client = VkClient(
            session=http,
            token=token,
            api_url=url,
            limiter=SlidingWindowLimiter.for_kind("service"),
            name="ours",
            kind="service",
        )

        async def one(owner: int) -> tuple[int, int]:
            poller = VkGroupPoller(client, owner, initial_posts=100_000, watch_posts=100_000)
            result = await poller.poll(WallCursor())
            return len(result.posts), sum(1 for c in result.comments if not c.deleted)

        counts = await asyncio.gather(*(one(o) for o in owners))
        return sum(p for p, _ in counts), sum(c for _, c in counts), client.requests


def get_all(tools: Any, method: str, values: dict[str, Any]) -> list[dict[str, Any]]:
    """Return every item with vk_api's ``VkTools.get_all`` (its own ``execute`` VKScript loop).

    The script (``vk_api.tools.vk_get_all_items``) uses the ``?:`` operator, which the
    emulator's VKScript interpreter runs, so this is vk_api's real tool, not a fallback.
    """
    return list(tools.get_all(method, 100, values)["items"])


def _thread_items(tools: Any, owner: int, post: int, comment: dict[str, Any]) -> int:
    thread = comment.get("thread") or {}
    items = list(thread.get("items") or ())
    if thread.get("count", 0) > len(items):
        values = {
            "owner_id": owner,
            "post_id": post,
            "comment_id": comment["id"],
            "preview_length": 0,
        }
        items = get_all(tools, "wall.getComments", values)
    return live(items)


def live(comments: list[dict[str, Any]]) -> int:
    """Count comments that are not deleted stubs."""
    return sum(1 for c in comments if not c.get("deleted"))


def collect_vk_api(url: str, token: str, owners: list[int], *, pool: bool) -> tuple[int, int]:
    """Collect every wall in full with vk_api (synchronous); return posts and comments."""
    session = RebasedSession(url)
    api = vk_api.VkApi(token=token, api_version="5.199", session=session)
    tools = vk_api.VkTools(api)
    posts = comments = 0
    params = {"thread_items_count": 10, "preview_length": 0, "need_likes": 1, "count": 100}
    for owner in owners:
        wall = get_all(tools, "wall.get", {"owner_id": owner})
        posts += len(wall)
        with_comments = [p for p in wall if p.get("comments", {}).get("count")]
        if not pool:
            for post in with_comments:
                values = {"owner_id": owner, "post_id": post["id"], **params}
                got = get_all(tools, "wall.getComments", values)
                comments += live(got)
                comments += sum(_thread_items(tools, owner, post["id"], c) for c in got)
            continue
        results = []
        with vk_api.VkRequestsPool(api) as requests_pool:
            for post in with_comments:
                results.append(
                    (
                        post,
                        requests_pool.method(
                            "wall.getComments", {"owner_id": owner, "post_id": post["id"], **params}
                        ),
                    )
                )
        for post, result in results:
            got = result.result["items"]
            if len(got) >= 100:  # further pages: as get_all would
                values = {"owner_id": owner, "post_id": post["id"], **params}
                got = get_all(tools, "wall.getComments", values)
            comments += live(got)
            comments += sum(_thread_items(tools, owner, post["id"], c) for c in got)
    session.close()
    return posts, comments


def timed(name: str, emu: VkEmulator, token: str, fn: Callable[[], tuple[int, ...]]) -> Run:
    """Run one collector and read its requests and error-6 answers from the emulator."""
    before = emu.token_stats(token).requests
    errors_before = emu.token_stats(token).errors[6]
    start = time.perf_counter()
    out = fn()
    seconds = time.perf_counter() - start
    stats = emu.token_stats(token)
    return Run(
        name,
        out[0],
        out[1],
        seconds,
        stats.requests - before,
        stats.errors[6] - errors_before,
    )


def region(seed: int, groups: int, posts: int) -> tuple[VkEmulator, list[int], int, int]:
    """Return an emulator (real clock), its open walls and the ground-truth counts."""
    emu = VkEmulator(region=RegionSpec(seed=seed, groups=groups, max_posts_per_group=posts))
    owners = sorted(
        -g.id
        for g in emu.world.groups.values()
        if g.state == "open" and g.id != emu.world.official_group_id
    )
    truth_posts = len([p for p in emu.visible_posts() if p.owner_id in owners])
    truth_comments = len([c for c in emu.visible_comments() if c.owner_id in owners])
    return emu, owners, truth_posts, truth_comments


def main() -> None:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--groups", type=int, default=8)
    parser.add_argument("--posts-per-group", type=int, default=25)
    parser.add_argument("--load-groups", type=int, default=24)
    parser.add_argument("--load-posts-per-group", type=int, default=50)
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args()

    emu, owners, truth_posts, truth_comments = region(args.seed, args.groups, args.posts_per_group)
    print(
        f"A. same walls, three collectors: {len(owners)} open communities, {truth_posts} posts, "
        f"{truth_comments} comments (ground truth); {LIMIT:.0f} requests/s per service token"
    )
    with EmulatorThread(emu) as server:
        ours = timed(
            "ours (aiohttp, execute)",
            emu,
            "vk-demo-service-1",
            lambda: asyncio.run(collect_ours(server.url, "vk-demo-service-1", owners))[:2],
        )
        print(ours.line())
        get_all = timed(
            "vk_api VkTools.get_all",
            emu,
            "vk-demo-service-2",
            lambda: collect_vk_api(server.url, "vk-demo-service-2", owners, pool=False),
        )
        print(get_all.line())
        pooled = timed(
            "vk_api get_all + pool",
            emu,
            "vk-demo-service-3",
            lambda: collect_vk_api(server.url, "vk-demo-service-3", owners, pool=True),
        )
        print(pooled.line())
    for run in (ours, get_all, pooled):
        ok = run.posts == truth_posts and run.comments == truth_comments
        print(f"   {run.name}: {'complete' if ok else 'INCOMPLETE'} against the ground truth")
    for run in (get_all, pooled):
        print(
            f"   ours / {run.name}: {ours.items_per_second / run.items_per_second:.1f}x the "
            f"items a second"
        )

    emu, owners, truth_posts, truth_comments = region(
        args.seed + 1, args.load_groups, args.load_posts_per_group
    )
    print(
        f"B. a longer load for the limiter: {len(owners)} communities, {truth_posts} posts, "
        f"{truth_comments} comments"
    )
    with EmulatorThread(emu) as server:
        load = timed(
            "ours (aiohttp, execute)",
            emu,
            "vk-demo-service-1",
            lambda: asyncio.run(collect_ours(server.url, "vk-demo-service-1", owners))[:2],
        )
        print(load.line())
        load_pool = timed(
            "vk_api get_all + pool",
            emu,
            "vk-demo-service-2",
            lambda: collect_vk_api(server.url, "vk-demo-service-2", owners, pool=True),
        )
        print(load_pool.line())
    ratio = load.items_per_second / load_pool.items_per_second
    print(
        f"   ours / vk_api get_all + pool: {ratio:.2f}x the items a second; "
        f"share of the limit used {load.rate_share:.1%} "
        f"(goal >= 90 %), error 6: {load.error6}"
    )


if __name__ == "__main__":
    main()
