"""A backlog that reports itself: how far the pipeline is behind, logged once each way.

Under a backlog, APScheduler used to log "skipped: maximum number of running instances
reached" at every interval. Instead the process job measures, before and after each run, how
many stored messages wait for a verdict of the current model and how long ago the oldest was
stored; it logs one WARNING when the stage falls behind and one INFO when it catches up, and
keeps the last figures for ``/health`` (``sources list`` reads the same query).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from storage.repositories.classifications import ClassificationRepository

__all__ = ["Backlog", "BacklogMonitor", "SkippedRunFilter", "measure_backlog"]

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


@dataclass(frozen=True, slots=True)
class Backlog:
    """Messages waiting for the pipeline and the age of the oldest one, at one moment."""

    messages: int
    oldest_collected_at: datetime | None
    measured_at: datetime

    @property
    def oldest_age(self) -> timedelta | None:
        """Return how long the oldest waiting message has waited (None when none waits)."""
        if self.oldest_collected_at is None:
            return None
        return max(timedelta(0), self.measured_at - self.oldest_collected_at)

    def describe(self) -> str:
        """Return the backlog as a phrase: "1 250 messages waiting, the oldest for 12 min"."""
        if not self.messages:
            return "no message waiting"
        age = self.oldest_age
        return f"{self.messages} messages waiting, the oldest for {_duration(age)}"

    def to_json(self) -> dict[str, object]:
        """Return the figures for ``/health``."""
        age = self.oldest_age
        return {
            "messages": self.messages,
            "oldest_age_seconds": round(age.total_seconds()) if age is not None else None,
            "measured_at": self.measured_at.isoformat(timespec="seconds"),
        }


def _duration(age: timedelta | None) -> str:
    if age is None:
        return "-"
    seconds = int(age.total_seconds())
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds / 3600:.1f} h"


def measure_backlog(session: Session, model_version: str, now: datetime) -> Backlog:
    """Count the messages without a verdict of ``model_version`` (one grouped query)."""
    per_source = ClassificationRepository(session).backlog(model_version)
    oldest = [b.oldest_collected_at for b in per_source.values() if b.oldest_collected_at]
    return Backlog(
        messages=sum(b.messages for b in per_source.values()),
        oldest_collected_at=min(oldest) if oldest else None,
        measured_at=now.astimezone(UTC),
    )


class BacklogMonitor:
    """Tells when the process stage falls behind and when it catches up, once each.

    Behind: more than ``max_messages`` wait, or the oldest has waited longer than ``max_age``.
    Caught up: nothing waits any more (or what waits is within both limits again).
    """

    def __init__(
        self,
        *,
        sessions: sessionmaker[Session],
        clock: Clock,
        max_messages: int,
        max_age: timedelta,
    ) -> None:
        """Measure through ``sessions`` at ``clock()``; behind beyond either limit."""
        self.sessions = sessions
        self.clock = clock
        self.max_messages = max_messages
        self.max_age = max_age
        self.behind = False
        self.last: Backlog | None = None

    def check(self, model_version: str) -> Backlog:
        """Measure the backlog, log a change of state, and keep the figures."""
        with self.sessions() as session:
            backlog = measure_backlog(session, model_version, self.clock())
        self.last = backlog
        age = backlog.oldest_age
        behind = backlog.messages > self.max_messages or (age is not None and age > self.max_age)
        if behind and not self.behind:
            log.warning("process is behind: %s", backlog.describe())
        elif self.behind and not behind:
            log.info("process caught up: %s", backlog.describe())
        self.behind = behind
        return backlog


class SkippedRunFilter(logging.Filter):
    """Drops APScheduler's "skipped: maximum number of running instances reached" lines.

    For the jobs named here the backlog monitor says, once, that the stage is behind and by
    how much; the scheduler's line at every interval said only that a run was still going.
    """

    def __init__(self, job_names: tuple[str, ...]) -> None:
        """Quieten the skipped-run lines of these jobs."""
        super().__init__()
        self.job_names = job_names

    def filter(self, record: logging.LogRecord) -> bool:
        """Return False for a skipped-run line of one of the jobs."""
        message = record.getMessage()
        if "maximum number of running instances reached" not in message:
            return True
        return not any(f'"{name} (' in message or f'"{name}"' in message for name in self.job_names)
