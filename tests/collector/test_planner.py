"""The quota planner: intervals follow activity, the plan fits the quota, the schedule follows."""

from __future__ import annotations

import datetime as dt
import math
import random

import pytest

from collector.planner import (
    ActivityMeter,
    PlannerSettings,
    PollSchedule,
    QuotaPlanner,
    SourceLoad,
)

T0 = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)


def region(n: int, seed: int = 3) -> list[SourceLoad]:
    """Heavy-tailed activity: a few busy publics, many quiet ones."""
    rng = random.Random(seed)
    return [SourceLoad(f"g{i}", rng.paretovariate(1.2) * 0.2) for i in range(n)]


def test_busy_sources_are_polled_more_often_than_quiet_ones() -> None:
    planner = QuotaPlanner(PlannerSettings(quota_per_token=300), tokens=1)
    plan = planner.plan(
        [SourceLoad("busy", 30.0), SourceLoad("mid", 3.0), SourceLoad("quiet", 0.1)]
    )
    busy, mid, quiet = (plan.sources[k].interval_seconds for k in ("busy", "mid", "quiet"))
    assert busy < mid < quiet
    assert plan.fits


def test_intervals_follow_the_square_root_rule_between_the_bounds() -> None:
    settings = PlannerSettings(
        min_interval=1.0, max_interval=10 * 86_400.0, share=1.0, exponent=0.5
    )
    planner = QuotaPlanner(settings, tokens=1)
    plan = planner.plan([SourceLoad("a", 4.0), SourceLoad("b", 1.0)])
    a, b = plan.sources["a"], plan.sources["b"]
    assert a.bound == b.bound == "budget"
    assert b.interval_seconds / a.interval_seconds == pytest.approx(2.0, rel=1e-3)
    assert plan.calls_per_day == pytest.approx(plan.budget_per_day, rel=1e-3)


def test_a_region_of_a_thousand_groups_fits_three_tokens() -> None:
    planner = QuotaPlanner(tokens=3)
    plan = planner.plan(region(1000))
    assert plan.fits
    assert plan.calls_per_day <= 0.8 * 3 * 5000 + 1e-6
    assert plan.calls_per_token <= 5000
    assert {p.bound for p in plan.sources.values()} >= {"budget"}
    # Naive fixed polling with the same calls gives every source the same interval.
    assert min(p.interval_seconds for p in plan.sources.values()) >= 60


def test_feed_covered_sources_are_only_verified() -> None:
    planner = QuotaPlanner(tokens=3)
    loads = [SourceLoad(f"g{i}", 5.0, feed_covered=i % 2 == 0) for i in range(200)]
    plan = planner.plan(loads)
    covered = [p for p in plan.sources.values() if p.feed_covered]
    direct = [p for p in plan.sources.values() if not p.feed_covered]
    assert all(3600 <= p.interval_seconds <= 86_400 for p in covered)
    assert max(p.interval_seconds for p in direct) < min(p.interval_seconds for p in covered)
    assert plan.feed is not None
    assert plan.feed.calls_per_day["newsfeed.get"] == pytest.approx(1440)
    assert "feed + wall.get every" in plan.describe("g0")
    assert "% of 15000 a day" in plan.describe("g1")


def test_when_even_the_longest_intervals_do_not_fit_everything_stretches() -> None:
    settings = PlannerSettings(quota_per_token=100, max_interval=3600.0)
    plan = QuotaPlanner(settings, tokens=1).plan(region(50))
    assert {p.bound for p in plan.sources.values()} == {"over"}
    assert plan.calls_per_day <= plan.budget_per_day * 1.0001
    assert plan.fits


def test_the_budget_shrinks_with_what_today_already_used() -> None:
    planner = QuotaPlanner(tokens=2)
    assert planner.budget() == pytest.approx(0.8 * 10_000)
    half = planner.budget(used_today=4000, seconds_left=43_200)
    assert half == pytest.approx(4000 / 43_200 * 86_400)
    assert planner.budget(used_today=9000, seconds_left=100) == 0
    loads = region(300)
    relaxed = planner.plan(loads)
    tight = planner.plan(loads, used_today=7000, seconds_left=43_200)
    assert tight.calls_per_day <= tight.budget_per_day * 1.0001
    assert sum(p.interval_seconds for p in tight.sources.values()) > sum(
        p.interval_seconds for p in relaxed.sources.values()
    )


def test_busy_sources_cost_more_than_one_page_per_poll() -> None:
    planner = QuotaPlanner(PlannerSettings(page_size=10))
    assert planner.calls_a_day(0.0, 3600) == pytest.approx(24)
    assert planner.calls_a_day(25.0, 3600) == pytest.approx(72)


def test_search_runs_within_its_own_quota() -> None:
    planner = QuotaPlanner(tokens=3)
    plan = planner.plan([SourceLoad("g", 1.0)], search_queries=40)
    assert plan.feed is not None
    assert plan.feed.search_interval is not None
    assert plan.feed.calls_per_day["newsfeed.search"] <= 0.8 * 3 * 1000 + 1e-6
    few = planner.feed_plan(2, 1)
    assert few.search_interval == 300.0


def test_unknown_activity_takes_the_prior_and_nothing_gives_an_empty_plan() -> None:
    planner = QuotaPlanner(PlannerSettings(prior_activity=2.0))
    plan = planner.plan([SourceLoad("new")])
    assert plan.sources["new"].activity_per_hour == 2.0
    empty = planner.plan([])
    assert empty.sources == {}
    assert empty.feed is None
    assert empty.calls_per_day == 0


@pytest.mark.parametrize(
    "options",
    [{"share": 0.0}, {"min_interval": 10.0, "max_interval": 5.0}, {"covered_min": 0.0}],
)
def test_settings_are_checked(options: dict[str, float]) -> None:
    with pytest.raises(ValueError, match=r"need|share"):
        PlannerSettings(**options)


def test_at_least_one_token() -> None:
    with pytest.raises(ValueError, match="token"):
        QuotaPlanner(tokens=0)


def test_activity_meter_starts_at_the_prior_and_learns_the_rate() -> None:
    meter = ActivityMeter(half_life=6 * 3600, prior=0.5)
    assert meter.rate("g", T0) == 0.5
    meter.start("g", T0)
    for minute in range(1, 24 * 60 + 1):
        meter.observe("g", 0.2, T0 + dt.timedelta(minutes=minute))  # 12 an hour
    now = T0 + dt.timedelta(days=1)
    assert meter.rate("g", now) == pytest.approx(12.0, rel=0.1)
    later = now + dt.timedelta(hours=12)
    assert meter.rate("g", later) < 4.0  # quiet since: it decays
    assert meter.keys() == ["g"]


def test_schedule_spreads_starts_and_follows_polls() -> None:
    planner = QuotaPlanner(PlannerSettings(min_interval=60.0, share=1.0), tokens=1)
    plan = planner.plan([SourceLoad(f"g{i}", 1.0) for i in range(20)])
    interval = plan.sources["g0"].interval_seconds
    schedule = PollSchedule(rng=random.Random(1))
    schedule.apply(plan, T0)
    first = schedule.next_due()
    assert first is not None
    assert T0 <= first <= T0 + dt.timedelta(seconds=interval)
    assert schedule.due(T0 - dt.timedelta(seconds=1)) == []
    due = schedule.due(T0 + dt.timedelta(seconds=interval))
    assert sorted(due) == sorted(plan.sources)
    now = T0 + dt.timedelta(seconds=interval)
    for key in due:
        schedule.done(key, now)
    assert schedule.due(now) == []
    assert schedule.next_due() == now + dt.timedelta(seconds=interval)
    assert schedule.interval("g0") == interval

    schedule.nudge("g3", now)
    assert schedule.due(now) == ["g3"]
    schedule.defer("g3", now + dt.timedelta(hours=5))
    assert "g3" not in schedule.due(now + dt.timedelta(hours=4))


def test_schedule_adopts_a_new_plan() -> None:
    planner = QuotaPlanner(tokens=1)
    schedule = PollSchedule(rng=random.Random(2))
    schedule.apply(planner.plan([SourceLoad("a", 1.0), SourceLoad("b", 1.0)]), T0)
    for key in schedule.due(T0 + dt.timedelta(days=1)):
        schedule.done(key, T0)
    longer = PlannerSettings(min_interval=7200.0, max_interval=7200.0)
    plan = QuotaPlanner(longer).plan([SourceLoad("a", 1.0)])
    schedule.apply(plan, T0 + dt.timedelta(minutes=1))
    assert schedule.next_due() == T0 + dt.timedelta(hours=2)
    assert math.isclose(schedule.interval("a"), 7200.0)
    with pytest.raises(KeyError):
        schedule.interval("b")


def test_exponent_zero_polls_every_source_alike() -> None:
    settings = PlannerSettings(exponent=0.0, quota_per_token=500)
    plan = QuotaPlanner(settings, tokens=1).plan(region(40))
    intervals = {round(p.interval_seconds, 3) for p in plan.sources.values()}
    assert len(intervals) == 1
    with pytest.raises(ValueError, match="exponent"):
        PlannerSettings(exponent=2.0)
