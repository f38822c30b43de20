"""Faults injected on demand: API errors, slow answers, dropped connections, bad bodies, 5xx."""

from __future__ import annotations

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
