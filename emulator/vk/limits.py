"""Tokens, the per-token per-second limit, daily per-method quotas and per-token statistics."""

from __future__ import annotations

import math
from collections import Counter, deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

TokenKind = Literal["user", "service", "community"]

#: Requests per second per token kind (social-apis.md A3).
RATE_LIMITS: dict[str, int] = {"user": 3, "service": 3, "community": 20}

#: Calls per day per (token, method) (social-apis.md A3: the published "количественные
#: ограничения"). Other methods have no published figure and are unlimited here.
DEFAULT_QUOTAS: dict[str, int] = {"wall.get": 5000, "newsfeed.search": 1000, "wall.search": 1000}

#: Which token kinds may call which method (social-apis.md A2, from the official schema).
METHOD_ACCESS: dict[str, frozenset[str]] = {
    "wall.get": frozenset({"user", "service"}),
    "wall.getById": frozenset({"user", "service"}),
    "wall.getComments": frozenset({"user", "service"}),
    "wall.getComment": frozenset({"user"}),
    "wall.createComment": frozenset({"user", "community"}),
    "groups.getById": frozenset({"user", "service", "community"}),
    "utils.resolveScreenName": frozenset({"user", "service", "community"}),
    "newsfeed.get": frozenset({"user"}),
    "newsfeed.getComments": frozenset({"user"}),
    "newsfeed.search": frozenset({"user", "service"}),
    "execute": frozenset({"user", "service", "community"}),
}


@dataclass(frozen=True, slots=True)
class TokenSpec:
    """An access token the emulator accepts.

    ``follows`` lists the community ids (positive) a user token's account is subscribed to: the
    sources of its ``newsfeed.get`` and the closed communities it may read as a member.
    ``group_id`` is the community a community token belongs to.
    """

    token: str
    kind: TokenKind
    follows: frozenset[int] = frozenset()
    group_id: int | None = None


@dataclass(frozen=True, slots=True)
class CallRecord:
    """One API call as the emulator saw it (an ``execute`` and each call inside it)."""

    at: float
    method: str
    error_code: int | None
    inner: bool = False


@dataclass
class TokenStats:
    """What one token did: calls per method, errors per code, and every call with its time."""

    calls: Counter[str] = field(default_factory=Counter)
    errors: Counter[int] = field(default_factory=Counter)
    method_errors: Counter[tuple[str, int]] = field(default_factory=Counter)
    requests: int = 0
    log: list[CallRecord] = field(default_factory=list)

    def record(self, at: float, method: str, error_code: int | None, *, inner: bool) -> None:
        """Count one call."""
        self.calls[method] += 1
        if error_code is not None:
            self.errors[error_code] += 1
            self.method_errors[(method, error_code)] += 1
        if not inner:
            self.requests += 1
        self.log.append(CallRecord(at, method, error_code, inner))

    def as_json(self) -> dict[str, object]:
        """Return a JSON-ready summary (the log is summarised by its first and last time)."""
        return {
            "requests": self.requests,
            "calls": dict(self.calls),
            "errors": {str(code): n for code, n in self.errors.items()},
            "method_errors": {f"{m}:{c}": n for (m, c), n in self.method_errors.items()},
            "first_at": self.log[0].at if self.log else None,
            "last_at": self.log[-1].at if self.log else None,
        }


class SlidingWindowLimiter:
    """At most ``limit`` accepted requests in any window of ``window`` seconds, per token.

    Rejected requests are not counted, so a client that backs off gets through again as soon
    as the oldest accepted request leaves the window.
    """

    def __init__(self, window: float = 1.0) -> None:
        self.window = window
        self._accepted: dict[str, deque[float]] = {}

    def try_acquire(self, token: str, limit: int, now: float) -> bool:
        """Return True and count the request when the token is under its limit."""
        times = self._accepted.setdefault(token, deque())
        while times and times[0] <= now - self.window + 1e-6:  # float clocks: 3 x 1/3 s
            times.popleft()
        if len(times) >= limit:
            return False
        times.append(now)
        return True


@dataclass(frozen=True, slots=True)
class QuotaPolicy:
    """Daily per-method limits and when they reset.

    ``reset="daily"`` resets every counter at local midnight of ``utc_offset_hours`` (Moscow by
    default); ``reset="rolling"`` counts the calls of the last 24 hours. VK publishes neither
    (social-apis.md A3 marks the window as unknown), so both are offered.
    """

    limits: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_QUOTAS))
    reset: Literal["daily", "rolling"] = "daily"
    utc_offset_hours: float = 3.0

    def day_of(self, now: float) -> int:
        """Return the number of the quota day ``now`` falls in."""
        return math.floor((now + self.utc_offset_hours * 3600) / 86_400)

    def next_reset(self, now: float) -> float:
        """Return the Unix time when the current quota day ends."""
        return (self.day_of(now) + 1) * 86_400 - self.utc_offset_hours * 3600


class QuotaBook:
    """Counts calls per (token, method) against a :class:`QuotaPolicy`."""

    def __init__(self, policy: QuotaPolicy) -> None:
        self.policy = policy
        self._daily: dict[tuple[str, str], tuple[int, int]] = {}
        self._rolling: dict[tuple[str, str], deque[float]] = {}

    def used(self, token: str, method: str, now: float) -> int:
        """Return how many calls of the method the token has made in the current window."""
        key = (token, method)
        if self.policy.reset == "rolling":
            times = self._rolling.get(key)
            if not times:
                return 0
            while times and times[0] <= now - 86_400:
                times.popleft()
            return len(times)
        day, count = self._daily.get(key, (self.policy.day_of(now), 0))
        return count if day == self.policy.day_of(now) else 0

    def try_consume(self, token: str, method: str, now: float) -> bool:
        """Count one call and return True, or return False when the quota is exhausted."""
        limit = self.policy.limits.get(method)
        used = self.used(token, method, now)
        if limit is not None and used >= limit:
            return False
        key = (token, method)
        if self.policy.reset == "rolling":
            self._rolling.setdefault(key, deque()).append(now)
        else:
            self._daily[key] = (self.policy.day_of(now), used + 1)
        return True

    def reset_at(self, token: str, method: str, now: float) -> float:
        """Return when the token's quota of the method frees up again."""
        if self.policy.reset == "rolling":
            times = self._rolling.get((token, method))
            return times[0] + 86_400 if times else now
        return self.policy.next_reset(now)
