"""Notifiers and delivery channels: how escalations and notifications reach people.

``Notifier`` is what the deadlines job hands each escalation to (the log today). ``Channel`` is
how one queued notification (storage's outbox) is delivered: ``NullChannel`` in development and
in tests of callers, ``SmtpChannel`` and ``WebhookChannel`` (app/notify_channels.py) in service.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from router.escalation import Escalation
from storage.repositories.outbox import OutboxItem

__all__ = [
    "Channel",
    "DeliveryError",
    "Destination",
    "LoggingNotifier",
    "Notifier",
    "NullChannel",
    "NullNotifier",
]

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


class DeliveryError(Exception):
    """A notification was not delivered; ``permanent`` ones are not retried.

    ``retry_after``: the seconds the other side asked us to wait (Telegram's 429
    ``parameters.retry_after``, a webhook's ``Retry-After``); the retry is not sooner.
    """

    def __init__(
        self, message: str, *, permanent: bool = False, retry_after: float | None = None
    ) -> None:
        """Describe the failure in one line (no secrets)."""
        super().__init__(message)
        self.permanent = permanent
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class Destination:
    """Where a recipient is reached, as configured now: e-mail, a webhook, a Telegram chat."""

    emails: tuple[str, ...] = ()
    webhook: str | None = None
    telegram_chat: str | None = None


@runtime_checkable
class Channel(Protocol):
    """Delivers queued notifications one way (``name``: ``email``, ``webhook``, ``telegram``)."""

    name: str

    async def deliver(self, item: OutboxItem, destination: Destination) -> None:
        """Deliver one notification; raise DeliveryError when it did not go out."""


class NullChannel:
    """Accepts every notification and sends nothing (development, tests of callers)."""

    def __init__(self, name: str) -> None:
        """Stand in for the channel called ``name``."""
        self.name = name

    async def deliver(self, item: OutboxItem, destination: Destination) -> None:
        """Drop the notification."""
