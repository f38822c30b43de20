"""Notifiers: how escalations reach supervisors (log today; e-mail and Telegram later)."""

from __future__ import annotations

import logging
from typing import Protocol, runtime_checkable

from router.escalation import Escalation

log = logging.getLogger(__name__)


@runtime_checkable
class Notifier(Protocol):
    """Delivers an escalation to the supervisors."""

    def escalation(self, item: Escalation) -> None:
        """Deliver one escalation."""


class NullNotifier:
    """Delivers nothing (tests of callers, development)."""

    def escalation(self, item: Escalation) -> None:
        """Drop the escalation."""


class LoggingNotifier:
    """Writes each escalation to the log at WARNING, where monitoring picks it up."""

    def escalation(self, item: Escalation) -> None:
        """Log the escalation with the incident, executor, level and reason."""
        log.warning(
            "escalation %s: incident %d, executor %s, deadline %s: %s",
            item.level.value,
            item.incident_id,
            item.executor,
            item.deadline.isoformat() if item.deadline else "none",
            item.reason,
        )
