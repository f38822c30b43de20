"""Quota-aware polling plan: per-source wall.get intervals that fit the tokens' daily quotas."""

from __future__ import annotations

import datetime as dt
import heapq
import math
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from collector.quotas import DAILY_QUOTAS

__all__ = [
    "ActivityMeter",
    "FeedPlan",
    "Plan",
    "PlannerSettings",
    "PollSchedule",
    "QuotaPlanner",
    "SourceLoad",
    "SourcePlan",
]

DAY = 86_400.0


@dataclass(frozen=True, slots=True)
class SourceLoad:
    """What the planner knows of one source: its observed activity and whether the feed sees it.

    ``activity_per_hour`` is new posts and comments an hour (None: nothing observed yet, the
    planner's prior is used). ``feed_covered`` means the feed path (``newsfeed.get`` and
    ``newsfeed.getComments`` of an account following the community) already brings its new
    posts and comments, so ``wall.get`` only verifies and backfills it.
    """

    key: str
    activity_per_hour: float | None = None
    feed_covered: bool = False


@dataclass(frozen=True, slots=True)
class SourcePlan:
    """One source's polling interval and the ``wall.get`` calls a day it is expected to use.

    ``bound`` says what set the interval: ``"min"`` (as often as allowed), ``"max"`` (as rarely
    as allowed), ``"budget"`` (the share of the quota its activity earns) or ``"over"`` (even
    the longest intervals did not fit, so every interval was stretched).
    """

    key: str
    interval_seconds: float
    calls_per_day: float
    activity_per_hour: float
    feed_covered: bool
    bound: str


@dataclass(frozen=True, slots=True)
class FeedPlan:
    """How often the feed path runs and what it costs a day (per method)."""

    feed_interval: float
    comments_interval: float
    search_interval: float | None
    search_queries: int
    calls_per_day: Mapping[str, float]


@dataclass(frozen=True, slots=True)
class Plan:
    """The intervals of every source against the quota of the tokens that poll them."""

    sources: Mapping[str, SourcePlan]
    tokens: int
    quota_per_token: int
    budget_per_day: float
    feed: FeedPlan | None = None

    @property
    def quota_per_day(self) -> int:
        """Return the ``wall.get`` calls every token together may make a day."""
        return self.tokens * self.quota_per_token

    @property
    def calls_per_day(self) -> float:
        """Return the ``wall.get`` calls a day the plan expects (all tokens)."""
        return sum(p.calls_per_day for p in self.sources.values())

    @property
    def calls_per_token(self) -> float:
        """Return the expected ``wall.get`` calls a day per token (the pool rotates evenly)."""
        return self.calls_per_day / max(1, self.tokens)

    @property
    def share_of_quota(self) -> float:
        """Return the expected calls as a share of the whole quota (0.8 = 80 %)."""
        return self.calls_per_day / self.quota_per_day if self.quota_per_day else math.inf

    @property
    def fits(self) -> bool:
        """Return True when no token is expected to run out of ``wall.get`` calls."""
        return self.calls_per_token <= self.quota_per_token

    def describe(self, key: str) -> str:
        """Return one line for ``sources list``: interval and calls a day against the quota."""
        p = self.sources[key]
        share = 100.0 * p.calls_per_day / self.quota_per_day if self.quota_per_day else 0.0
        via = "feed + " if p.feed_covered else ""
        return (
            f"{via}wall.get every {_human(p.interval_seconds)} "
            f"(~{p.calls_per_day:.0f}/day, {share:.2f}% of {self.quota_per_day} a day, "
            f"{p.bound})"
        )


def _human(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


@dataclass(frozen=True, slots=True)
class PlannerSettings:
    """Bounds and shares of the plan (defaults follow social-apis.md A3 and the feed path).

    Sources the feed covers are polled between ``covered_min`` and ``covered_max`` and weigh
    ``covered_weight`` of their activity (the poll only catches edits, deletions and what the
    feed missed); the others between ``min_interval`` and ``max_interval``. ``share`` of the
    daily quota is planned; the rest is headroom for backfill, retries and new sources.
    ``exponent`` shapes intervals as ``activity ** -exponent``: 0.5 minimises the mean delay,
    smaller values move polls from busy to quiet sources (a shorter tail), 0 polls all alike.
    The default 0.35 is the measured compromise (docs/freshness.md): most of the median gain
    of 0.5, a tail close to uniform polling.
    """

    min_interval: float = 60.0
    max_interval: float = 6 * 3600.0
    covered_min: float = 3600.0
    covered_max: float = DAY
    covered_weight: float = 0.05
    share: float = 0.8
    prior_activity: float = 0.5
    page_size: int = 100
    quota_per_token: int = DAILY_QUOTAS["wall.get"]
    search_quota_per_token: int = DAILY_QUOTAS["newsfeed.search"]
    feed_interval: float = 60.0
    comments_interval: float = 60.0
    min_search_interval: float = 300.0
    exponent: float = 0.35

    def __post_init__(self) -> None:
        if not 0 < self.share <= 1:
            raise ValueError("share must be in (0, 1]")
        if not 0 < self.min_interval <= self.max_interval:
            raise ValueError("need 0 < min_interval <= max_interval")
        if not 0 < self.covered_min <= self.covered_max:
            raise ValueError("need 0 < covered_min <= covered_max")
        if not 0 <= self.exponent <= 1:
            raise ValueError("need 0 <= exponent <= 1")


class QuotaPlanner:
    """Choose each source's ``wall.get`` interval so the whole set fits the daily quota.

    Polling a source every ``T`` seconds delays its items by ``T / 2`` on average, so the total
    delay is ``sum(rate_i * T_i) / 2`` while the calls are ``sum(DAY / T_i)``. Minimising the
    first under a cap on the second gives ``T_i = c / sqrt(rate_i)``: busy sources often, quiet
    ones rarely, each clamped to its bounds; ``c`` is the smallest value whose calls fit the
    budget (found by bisection, since the calls fall as ``c`` grows). The exponent is a setting
    (:class:`PlannerSettings`): 0.5 is that optimum for the mean, a smaller one shortens the tail.
    """

    def __init__(self, settings: PlannerSettings | None = None, *, tokens: int = 1) -> None:
        if tokens < 1:
            raise ValueError("at least one token is needed")
        self.settings = settings or PlannerSettings()
        self.tokens = tokens

    def _bounds(self, load: SourceLoad) -> tuple[float, float]:
        s = self.settings
        return (
            (s.covered_min, s.covered_max)
            if load.feed_covered
            else (s.min_interval, s.max_interval)
        )

    def _rate(self, load: SourceLoad) -> float:
        rate = (
            self.settings.prior_activity
            if load.activity_per_hour is None
            else load.activity_per_hour
        )
        return max(0.0, rate)

    def calls_a_day(self, rate_per_hour: float, interval: float) -> float:
        """Return the ``wall.get`` calls a day of one source: one page per poll, more when busy."""
        per_poll = rate_per_hour * interval / 3600.0
        return DAY / interval * (1 + math.floor(per_poll / self.settings.page_size))

    def budget(self, *, used_today: float = 0.0, seconds_left: float = DAY) -> float:
        """Return the ``wall.get`` calls a day the plan may use from now to the quota's reset.

        Args:
            used_today: calls every token together already made in this quota day.
            seconds_left: seconds until the quotas reset.

        Returns:
            The planned share of the quota still unspent, as a rate of calls a day.
        """
        total = self.tokens * self.settings.quota_per_token
        left = max(0.0, self.settings.share * total - used_today)
        return left / max(seconds_left, 1.0) * DAY

    def plan(
        self,
        loads: Iterable[SourceLoad],
        *,
        used_today: float = 0.0,
        seconds_left: float = DAY,
        search_queries: int = 0,
        search_tokens: int | None = None,
    ) -> Plan:
        """Return every source's interval and calls a day within the budget.

        Args:
            loads: the sources with their activity and feed coverage.
            used_today: ``wall.get`` calls already made today (all tokens).
            seconds_left: seconds until the quota resets.
            search_queries: keyword queries ``newsfeed.search`` runs (0: no search).
            search_tokens: tokens that may search (default: all).

        Returns:
            The plan; ``plan.fits`` is False only when the quota cannot carry every source even
            at the longest intervals stretched.
        """
        items = list(loads)
        budget = self.budget(used_today=used_today, seconds_left=seconds_left)
        rates = [self._rate(load) for load in items]
        bounds = [self._bounds(load) for load in items]
        s = self.settings
        weights = [
            rate * (s.covered_weight if load.feed_covered else 1.0)
            for rate, load in zip(rates, items, strict=True)
        ]

        def intervals(c: float) -> list[float]:
            out = []
            for w, (lo, hi) in zip(weights, bounds, strict=True):
                t = hi if w <= 0 else c / w**s.exponent
                out.append(min(hi, max(lo, t)))
            return out

        def total(ts: Sequence[float]) -> float:
            return sum(self.calls_a_day(r, t) for r, t in zip(rates, ts, strict=True))

        longest = [hi for _, hi in bounds]
        stretch = 1.0
        if not items:
            chosen: list[float] = []
        elif total(longest) > budget:
            # Even the rarest polling does not fit: stretch everything alike.
            chosen = longest
            for _ in range(100):  # busy sources need more pages per longer poll: iterate
                ratio = total(chosen) / max(budget, 1e-9)
                if ratio <= 1.0:
                    break
                stretch *= ratio * 1.001
                chosen = [t * stretch for t in longest]
        else:
            lo_c, hi_c = 1e-6, 1.0
            while total(intervals(hi_c)) > budget:
                hi_c *= 4
            for _ in range(60):
                mid = math.sqrt(lo_c * hi_c)
                if total(intervals(mid)) > budget:
                    lo_c = mid
                else:
                    hi_c = mid
            chosen = intervals(hi_c)
        plans: dict[str, SourcePlan] = {}
        for load, rate, t, (lo, hi) in zip(items, rates, chosen, bounds, strict=True):
            if stretch > 1.0:
                bound = "over"
            elif t <= lo * (1 + 1e-9):
                bound = "min"
            elif t >= hi * (1 - 1e-9):
                bound = "max"
            else:
                bound = "budget"
            plans[load.key] = SourcePlan(
                key=load.key,
                interval_seconds=t,
                calls_per_day=self.calls_a_day(rate, t),
                activity_per_hour=rate,
                feed_covered=load.feed_covered,
                bound=bound,
            )
        return Plan(
            sources=plans,
            tokens=self.tokens,
            quota_per_token=s.quota_per_token,
            budget_per_day=budget,
            feed=self.feed_plan(search_queries, search_tokens or self.tokens)
            if any(load.feed_covered for load in items) or search_queries
            else None,
        )

    def feed_plan(self, search_queries: int, search_tokens: int) -> FeedPlan:
        """Return the feed path's intervals; searches share ``share`` of their daily quota."""
        s = self.settings
        search_interval: float | None = None
        calls = {
            "newsfeed.get": DAY / s.feed_interval,
            "newsfeed.getComments": DAY / s.comments_interval,
        }
        if search_queries:
            allowed = s.share * s.search_quota_per_token * max(1, search_tokens)
            search_interval = max(s.min_search_interval, search_queries * DAY / allowed)
            calls["newsfeed.search"] = search_queries * DAY / search_interval
        return FeedPlan(
            feed_interval=s.feed_interval,
            comments_interval=s.comments_interval,
            search_interval=search_interval,
            search_queries=search_queries,
            calls_per_day=calls,
        )


def _halving(seconds: float, half_life: float) -> float:
    """Return the weight left after ``seconds`` with the given half-life."""
    return math.exp(-math.log(2) * max(0.0, seconds) / half_life)


class ActivityMeter:
    """Smoothed new items an hour per source, from counts observed at irregular times.

    Counts decay with ``half_life`` seconds; the rate is the decayed count over the decayed
    observation time, plus ``prior`` items an hour weighted as ``prior_hours`` of observation
    (so one busy minute does not make a quiet source look busy).
    """

    def __init__(
        self, *, half_life: float = 6 * 3600.0, prior: float = 0.5, prior_hours: float = 0.5
    ) -> None:
        self.half_life = half_life
        self.prior = prior
        self.prior_hours = prior_hours
        self._state: dict[str, tuple[float, dt.datetime, dt.datetime]] = {}

    def start(self, key: str, at: dt.datetime) -> None:
        """Begin observing a source at ``at`` (no items yet)."""
        self._state.setdefault(key, (0.0, at, at))

    def observe(self, key: str, items: float, at: dt.datetime) -> None:
        """Record ``items`` new posts and comments of a source seen at ``at``."""
        count, first, last = self._state.get(key, (0.0, at, at))
        decay = _halving((at - last).total_seconds(), self.half_life)
        self._state[key] = (count * decay + items, first, max(last, at))

    def rate(self, key: str, now: dt.datetime) -> float:
        """Return the source's items an hour as of ``now``."""
        state = self._state.get(key)
        if state is None:
            return self.prior
        count, first, last = state
        count *= _halving((now - last).total_seconds(), self.half_life)
        span = max(0.0, (now - first).total_seconds())
        observed = self.half_life / math.log(2) * (1 - _halving(span, self.half_life)) / 3600.0
        return (count + self.prior * self.prior_hours) / (observed + self.prior_hours)

    def keys(self) -> list[str]:
        """Return the sources observed."""
        return list(self._state)

    def __contains__(self, key: object) -> bool:
        """Return True when the source has been observed (or started)."""
        return key in self._state


@dataclass(order=True)
class _Due:
    at: dt.datetime
    key: str = field(compare=True)


class PollSchedule:
    """When each source is due next, following a :class:`Plan` (in memory).

    New sources start at a random phase within their first interval, so polls spread out.
    ``nudge`` brings a source forward (the feed saw something only a wall read can settle);
    ``defer`` pushes it back (a quota rest).
    """

    def __init__(self, *, rng: random.Random | None = None) -> None:
        self._rng = rng or random.Random()  # noqa: S311 - phases, not secrets
        self._interval: dict[str, float] = {}
        self._next: dict[str, dt.datetime] = {}
        self._last: dict[str, dt.datetime] = {}
        self._heap: list[_Due] = []

    def _push(self, key: str, at: dt.datetime) -> None:
        self._next[key] = at
        heapq.heappush(self._heap, _Due(at, key))

    def apply(self, plan: Plan, now: dt.datetime) -> None:
        """Adopt the plan's intervals; sources left out of the plan are dropped."""
        for key in list(self._interval):
            if key not in plan.sources:
                del self._interval[key]
                self._next.pop(key, None)
                self._last.pop(key, None)
        for key, source in plan.sources.items():
            interval = source.interval_seconds
            self._interval[key] = interval
            if key not in self._next:
                phase = self._rng.random() * interval
                self._push(key, now + dt.timedelta(seconds=phase))
                continue
            last = self._last.get(key)
            if last is not None:
                at = max(now, last + dt.timedelta(seconds=interval))
                if at != self._next[key]:
                    self._push(key, at)

    def interval(self, key: str) -> float:
        """Return the source's current interval in seconds."""
        return self._interval[key]

    def next_due(self) -> dt.datetime | None:
        """Return when the earliest source is due, None with no sources."""
        while self._heap:
            head = self._heap[0]
            if self._next.get(head.key) == head.at:
                return head.at
            heapq.heappop(self._heap)
        return None

    def due(self, now: dt.datetime) -> list[str]:
        """Take the sources due at ``now``, earliest first; each waits for ``done`` or ``defer``."""
        out: list[str] = []
        while self._heap and self._heap[0].at <= now:
            item = heapq.heappop(self._heap)
            if self._next.get(item.key) == item.at and item.key not in out:
                out.append(item.key)
        return out

    def done(self, key: str, now: dt.datetime) -> None:
        """Record a poll of the source at ``now``; it is next due one interval later."""
        self._last[key] = now
        self._push(key, now + dt.timedelta(seconds=self._interval[key]))

    def defer(self, key: str, until: dt.datetime) -> None:
        """Do not poll the source before ``until``."""
        if self._next.get(key, until) < until:
            self._push(key, until)

    def nudge(self, key: str, now: dt.datetime) -> None:
        """Make the source due now, unless it is already."""
        if key in self._interval and self._next.get(key, now) > now:
            self._push(key, now)
