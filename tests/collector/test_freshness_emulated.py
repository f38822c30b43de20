"""Freshness under quotas, simulated: feed + planner against the emulator on a fake clock."""

from __future__ import annotations

from bench.bench_freshness import WALL_QUOTA, simulate


async def test_the_feed_path_collects_everything_within_minutes_under_quota() -> None:
    out = await simulate("feed", groups=60, seed=4, hours=6.0)
    assert out.post_delays, "the activity model published posts"
    # Everything published before the last feed poll is collected; at most the last minutes'
    # items are still waiting when the simulated time ends.
    assert out.posts_missed <= max(2, len(out.post_delays) // 50)
    # The feed polls every minute: no post waits for a wall poll of its community.
    assert max(out.post_delays) <= 60 + 120
    assert max(out.comment_delays) <= 2 * 120 + 60
    for token, calls in out.calls.items():
        assert calls.get("wall.get", 0) <= WALL_QUOTA, token
        assert not out.errors[token], (token, out.errors[token])
    assert out.calls["bench-user"]["newsfeed.get"] >= 6 * 60 - 2
    assert out.failures == 0


async def test_the_planner_alone_stays_within_its_share_of_the_quota() -> None:
    out = await simulate("planner", groups=40, seed=5, hours=3.0)
    total = sum(calls.get("wall.get", 0) for calls in out.calls.values())
    # 80 % of three tokens' daily quota, over three hours of the day.
    assert total <= 0.8 * 3 * WALL_QUOTA * 3 / 24 * 1.05
    assert all(not errors for errors in out.errors.values())
    assert out.post_delays
    assert out.failures == 0


async def test_naive_polling_is_slower_than_the_feed() -> None:
    naive = await simulate("naive", groups=40, seed=6, hours=2.0)
    fed = await simulate("feed", groups=40, seed=6, hours=2.0)
    # 40 communities on 15 000 calls a day: naive polling comes every 230 s.
    assert max(fed.post_delays) < max(naive.post_delays)
    assert (
        sorted(fed.post_delays)[len(fed.post_delays) // 2]
        < sorted(naive.post_delays)[len(naive.post_delays) // 2]
    )


async def test_keyword_search_looks_outside_within_its_quota() -> None:
    out = await simulate("search", groups=80, seed=7, hours=4.0)
    assert "communities not configured" in out.outside
    searches = out.calls["bench-service-1"].get("newsfeed.search", 0)
    assert 0 < searches <= 1000 * 0.8 * 4 / 24 * 1.1
    assert out.search_requests == searches
    assert all(not errors for errors in out.errors.values())
