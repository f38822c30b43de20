"""Detect surges: far more messages than usual about one topic group in one municipality."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

__all__ = ["Surge", "SurgeConfig", "SurgeDetector", "SurgeEvent", "SurgeKey", "SurgeUpdate"]


@dataclass(frozen=True, slots=True)
class SurgeConfig:
    """When a burst counts as a surge (docs/grouping.md, "Surges").

    A surge starts when the messages of one topic group x municipality within ``window`` reach
    both ``min_messages`` and ``ratio`` times the baseline (the average count per window over the
    ``baseline`` period before it), and involve at least ``min_incidents`` incidents. It ends
    when the window count falls under ``end_fraction`` of the count that started it.

    The baseline needs history: while the detector has seen less than ``min_history`` (since
    ``history_start``), a burst must reach ``ratio * min_messages`` to count, so that a normal
    busy afternoon right after a restart is not taken for a surge.
    """

    window: timedelta = timedelta(hours=3)
    baseline: timedelta = timedelta(days=14)
    min_messages: int = 15
    min_incidents: int = 3
    ratio: float = 4.0
    end_fraction: float = 0.25
    min_history: timedelta = timedelta(days=1)

    def __post_init__(self) -> None:
        if self.window <= timedelta(0) or self.baseline < self.window:
            raise ValueError("SurgeConfig needs 0 < window <= baseline")
        if self.min_messages < 1 or self.min_incidents < 1 or self.ratio < 1.0:
            raise ValueError("SurgeConfig needs min_messages, min_incidents >= 1 and ratio >= 1")


@dataclass(frozen=True, slots=True, order=True)
class SurgeKey:
    """Where a surge is counted: a topic group in a municipality."""

    topic_group: str
    municipality_oktmo: str


@dataclass(frozen=True, slots=True)
class SurgeEvent:
    """One message attached to an incident (what the detector counts; replayable from storage)."""

    at: datetime
    incident_id: int
    topic_group: str | None
    municipality_oktmo: str | None


@dataclass(frozen=True, slots=True)
class Surge:
    """One detected surge: the incidents that belong under one parent."""

    id: str
    key: SurgeKey
    started_at: datetime
    window_count: int
    baseline_per_window: float
    incident_ids: tuple[int, ...]
    parent_incident_id: int | None = None

    @property
    def explanation(self) -> str:
        """Say why this is a surge, for operators."""
        return (
            f"{self.window_count} messages about {self.key.topic_group} in "
            f"{self.key.municipality_oktmo} within the window, against a baseline of "
            f"{self.baseline_per_window:.1f} per window; {len(self.incident_ids)} incidents"
        )


@dataclass(frozen=True, slots=True)
class SurgeUpdate:
    """What one observation changed: a surge started, or new children joined one."""

    surge: Surge
    started: bool
    new_children: tuple[int, ...]


@dataclass(slots=True)
class _KeyState:
    events: deque[tuple[datetime, int]] = field(default_factory=deque)
    surge: Surge | None = None
    children: dict[int, None] = field(default_factory=dict)


class SurgeDetector:
    """Count messages per topic group x municipality over a sliding window against a baseline.

    Feed it every attached message in time order (:meth:`observe`); rebuild it after a restart
    by replaying the stored links of the last ``window + baseline`` (:meth:`replay`).
    """

    def __init__(
        self, config: SurgeConfig | None = None, *, history_start: datetime | None = None
    ) -> None:
        """Start counting; ``history_start`` is where the replayed or stored history begins."""
        if history_start is not None and history_start.tzinfo is None:
            raise ValueError("history_start must be timezone-aware")
        self.config = config or SurgeConfig()
        self._states: dict[SurgeKey, _KeyState] = {}
        self._history_start = history_start

    def observe(self, event: SurgeEvent) -> SurgeUpdate | None:
        """Count one message; return what changed if a surge started or grew, else None."""
        if event.at.tzinfo is None:
            raise ValueError("SurgeEvent.at must be timezone-aware")
        if self._history_start is None or event.at < self._history_start:
            self._history_start = event.at
        if event.topic_group is None or event.municipality_oktmo is None:
            return None
        key = SurgeKey(event.topic_group, event.municipality_oktmo)
        state = self._states.setdefault(key, _KeyState())
        state.events.append((event.at, event.incident_id))
        cfg = self.config
        horizon = event.at - cfg.window - cfg.baseline
        while state.events and state.events[0][0] < horizon:
            state.events.popleft()
        window_start = event.at - cfg.window
        in_window = [(at, i) for at, i in state.events if window_start < at <= event.at]
        before = sum(1 for at, _ in state.events if at <= window_start)
        history = min(cfg.baseline, window_start - self._history_start)
        warm = history >= cfg.min_history
        baseline = before * (cfg.window / history) if warm else 0.0
        count = len(in_window)
        incidents = list(dict.fromkeys(i for _, i in in_window))
        surge = state.surge
        if surge is not None and count < max(1, surge.window_count * cfg.end_fraction):
            state.surge = None
            state.children = {}
            surge = None
        if surge is None:
            floor = cfg.min_messages if warm else cfg.ratio * cfg.min_messages
            threshold = max(floor, cfg.ratio * baseline)
            if count < threshold or len(incidents) < cfg.min_incidents:
                return None
            state.children = dict.fromkeys(incidents)
            surge = Surge(
                id=f"surge:{key.topic_group}:{key.municipality_oktmo}:{event.at.isoformat()}",
                key=key,
                started_at=min(at for at, _ in in_window),
                window_count=count,
                baseline_per_window=baseline,
                incident_ids=tuple(incidents),
            )
            state.surge = surge
            return SurgeUpdate(surge, started=True, new_children=tuple(incidents))
        new = [i for i in incidents if i not in state.children and i != surge.parent_incident_id]
        if not new:
            return None
        state.children.update(dict.fromkeys(new))
        surge = Surge(
            id=surge.id,
            key=surge.key,
            started_at=surge.started_at,
            window_count=max(surge.window_count, count),
            baseline_per_window=surge.baseline_per_window,
            incident_ids=(*surge.incident_ids, *new),
            parent_incident_id=surge.parent_incident_id,
        )
        state.surge = surge
        return SurgeUpdate(surge, started=False, new_children=tuple(new))

    def replay(self, events: Iterable[SurgeEvent]) -> None:
        """Rebuild the counts from stored events (sorted here by time)."""
        for event in sorted(events, key=lambda e: e.at):
            self.observe(event)

    def set_parent(self, key: SurgeKey, parent_incident_id: int) -> Surge:
        """Record the parent incident created for the active surge of a key."""
        state = self._states.get(key)
        if state is None or state.surge is None:
            raise KeyError(f"no active surge for {key}")
        old = state.surge
        state.surge = Surge(
            id=old.id,
            key=old.key,
            started_at=old.started_at,
            window_count=old.window_count,
            baseline_per_window=old.baseline_per_window,
            incident_ids=tuple(i for i in old.incident_ids if i != parent_incident_id),
            parent_incident_id=parent_incident_id,
        )
        state.children.pop(parent_incident_id, None)
        return state.surge

    def active(self) -> tuple[Surge, ...]:
        """Return the surges in progress, by key."""
        return tuple(s.surge for _, s in sorted(self._states.items()) if s.surge is not None)
