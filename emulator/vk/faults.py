"""Faults injected on demand or at random: API errors, slow answers, resets, bad bodies, 5xx."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, Literal

FaultKind = Literal["error", "delay", "drop", "truncate", "http"]
FAULT_KINDS: tuple[FaultKind, ...] = ("error", "delay", "drop", "truncate", "http")


@dataclass
class Fault:
    """Make the next ``count`` matching calls misbehave.

    ``method``/``token`` narrow which calls match (``None`` matches any). An ``error`` fault
    naming a method also hits that method's calls inside ``execute`` (they come back ``false``
    with an ``execute_errors`` entry); every other kind acts on whole HTTP requests.
    """

    kind: FaultKind
    count: int = 1
    method: str | None = None
    token: str | None = None
    error_code: int = 1
    error_msg: str | None = None
    delay: float = 0.0
    status: int = 500

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; one of {FAULT_KINDS}")
        if self.count < 1:
            raise ValueError("count must be at least 1")

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Fault:
        """Build a fault from the admin endpoint's JSON body, rejecting unknown keys."""
        allowed = set(cls.__dataclass_fields__)
        unknown = set(data) - allowed
        if unknown:
            raise ValueError(f"unknown fault keys: {sorted(unknown)}")
        return cls(**dict(data))

    def as_json(self) -> dict[str, Any]:
        """Return the fault as JSON-ready data."""
        return asdict(self)


class FaultBook:
    """A queue of pending faults, consumed in the order they were added."""

    def __init__(self) -> None:
        self._pending: list[Fault] = []
        self.fired: list[tuple[str, str, FaultKind]] = []

    def add(self, fault: Fault) -> Fault:
        """Queue a fault."""
        self._pending.append(fault)
        return fault

    def clear(self) -> None:
        """Drop every pending fault."""
        self._pending.clear()

    def pending(self) -> list[Fault]:
        """Return the pending faults."""
        return list(self._pending)

    def take(self, method: str, token: str, *, inner: bool = False) -> Fault | None:
        """Consume and return the first fault matching a call, if any."""
        for fault in self._pending:
            if fault.method is not None and fault.method != method:
                continue
            if fault.token is not None and fault.token != token:
                continue
            if inner and (fault.kind != "error" or fault.method is None):
                continue
            fault.count -= 1
            if fault.count <= 0:
                self._pending.remove(fault)
            self.fired.append((method, token, fault.kind))
            return fault
        return None


#: The methods a random fault may hit by default: the reads a collector makes (writes are left
#: alone, so a share of faults never posts an answer twice or not at all).
READ_METHODS = frozenset(
    {
        "wall.get",
        "wall.getById",
        "wall.getComments",
        "groups.getById",
        "utils.resolveScreenName",
        "newsfeed.get",
        "newsfeed.getComments",
        "newsfeed.search",
        "execute",
    }
)


@dataclass(frozen=True)
class FaultRates:
    """A share of calls that fail at random, the same way for the same seed and call order.

    ``error`` is the share of API calls answered with ``error_code`` (10, "Internal server
    error", by default): a plain call gets ``{"error": ...}``; a call inside ``execute`` comes
    back ``false`` with an ``execute_errors`` entry while the batch's other calls succeed (an
    ``execute`` request is itself a plain call). ``http`` is the share of HTTP requests answered
    with ``status`` (an nginx 502 page), ``truncate`` the share whose JSON body is cut in half,
    ``drop`` the share whose connection is reset without an answer. ``methods`` limits which
    methods are hit (the reads by default).
    """

    error: float = 0.0
    error_code: int = 10
    http: float = 0.0
    status: int = 502
    truncate: float = 0.0
    drop: float = 0.0
    seed: int = 0
    methods: frozenset[str] = READ_METHODS

    def __post_init__(self) -> None:
        for name in ("error", "http", "truncate", "drop"):
            share = getattr(self, name)
            if isinstance(share, bool) or not isinstance(share, int | float) or not 0 <= share <= 1:
                raise ValueError(f"{name} must be a share between 0 and 1, got {share!r}")
        if self.http + self.truncate + self.drop > 1:
            raise ValueError("http + truncate + drop must not exceed 1")
        if not 400 <= self.status <= 599:
            raise ValueError(f"status must be an HTTP error status, got {self.status}")
        object.__setattr__(self, "methods", frozenset(self.methods))

    @property
    def active(self) -> bool:
        """Return True when any share is above zero."""
        return any((self.error, self.http, self.truncate, self.drop))

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> FaultRates:
        """Build the rates from the admin endpoint's JSON body, rejecting unknown keys."""
        unknown = set(data) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown fault rate keys: {sorted(unknown)}")
        values = dict(data)
        if "methods" in values:
            methods = values["methods"]
            if not isinstance(methods, list) or not all(isinstance(m, str) for m in methods):
                raise ValueError("methods must be a list of method names")
            values["methods"] = frozenset(methods)
        return cls(**values)

    def as_json(self) -> dict[str, Any]:
        """Return the rates as JSON-ready data."""
        data = asdict(self)
        data["methods"] = sorted(self.methods)
        return data


class RandomFaults:
    """Draw the faults of :class:`FaultRates` from one seeded generator, and count them."""

    def __init__(self, rates: FaultRates | None = None) -> None:
        self.rates = rates or FaultRates()
        self._rng = random.Random(self.rates.seed)  # noqa: S311 - reproducible faults
        self.fired: Counter[str] = Counter()

    def set(self, rates: FaultRates) -> None:
        """Switch to new rates (the generator restarts from their seed)."""
        self.rates = rates
        self._rng = random.Random(rates.seed)  # noqa: S311 - reproducible faults

    def transport(self, method: str) -> FaultKind | None:
        """Return ``http``, ``truncate`` or ``drop`` for an HTTP request, or None."""
        rates = self.rates
        if method not in rates.methods or not (rates.http or rates.truncate or rates.drop):
            return None
        draw = self._rng.random()
        shares: tuple[tuple[FaultKind, float], ...] = (
            ("http", rates.http),
            ("truncate", rates.truncate),
            ("drop", rates.drop),
        )
        for kind, share in shares:
            if draw < share:
                self.fired[kind] += 1
                return kind
            draw -= share
        return None

    def error(self, method: str, *, inner: bool) -> int | None:
        """Return the error code a call fails with, or None."""
        rates = self.rates
        if method not in rates.methods or not rates.error:
            return None
        if self._rng.random() < rates.error:
            self.fired["inner_error" if inner else "error"] += 1
            return rates.error_code
        return None
