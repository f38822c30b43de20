"""The ``notify`` job: queue notifications for new events in a durable outbox, then send them.

Each run reads the event log past its cursor (``job_state``): ``assign`` events (a new
assignment) and ``escalate`` events (a deadline at risk or overdue). For each recipient that
wants the event (``executors[].notify.events``, ``notifications.supervisors.events``) and each of
its channels it queues one outbox row keyed ``event:<id>:<recipient>:<channel>``, due when the
recipient's working hours next open. Then it claims what is due and delivers it; a failure is
retried with a doubling wait, a permanent one (a refused address, HTTP 4xx) is given up. Queueing
and the cursor move in one transaction, so a crash queues nothing twice and loses nothing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session, sessionmaker

from app.collect import process_owner_id
from app.config import NotificationsConfig, NotifyConfig, NotifyEvent
from app.daemon import JobSpec
from app.leases import owner_is_dead
from app.notify import Channel, DeliveryError, Destination
from app.routing import Routing
from router.calendar import CalendarYearMissing
from router.sla import WorkingHours, next_opening
from storage.repositories.events import ESCALATION_EVENT
from storage.repositories.outbox import (
    DROPPED,
    JobStateRepository,
    NewNotification,
    NotifiableEvent,
    OutboxItem,
    OutboxRepository,
)

__all__ = [
    "JOB_NAME",
    "SUPERVISORS",
    "NotifyReport",
    "NotifyService",
    "Recipients",
    "plan_notifications",
]

log = logging.getLogger(__name__)

JOB_NAME = "notify"
SUPERVISORS = "supervisors"
_ASSIGN_EVENT = "assign"
#: Events re-read behind the cursor on each run: PostgreSQL may commit ids out of order.
_OVERLAP = 500
#: On the very first run, events older than this are history, not news.
_FIRST_RUN_HORIZON = timedelta(hours=1)
_LEASE = timedelta(minutes=5)
_TITLES: Mapping[str, str] = {
    "assigned": "Новый инцидент",
    "at_risk": "Срок ответа под угрозой",
    "overdue": "Срок ответа истёк",
}


@dataclass(frozen=True, slots=True)
class Recipients:
    """Who is notified of what: each executor's settings and the supervisors'."""

    executors: Mapping[str, NotifyConfig]
    executor_names: Mapping[str, str]
    supervisors_email: tuple[str, ...] = ()
    supervisors_webhook: str | None = None
    supervisors_events: tuple[NotifyEvent, ...] = ("at_risk", "overdue")

    def destination(self, recipient: str) -> Destination | None:
        """Return where a recipient ("executor:<code>" or "supervisors") is reached now."""
        if recipient == SUPERVISORS:
            return Destination(self.supervisors_email, self.supervisors_webhook)
        code = recipient.removeprefix("executor:")
        notify = self.executors.get(code)
        if notify is None:
            return None
        return Destination(
            (notify.email,) if notify.email else (), notify.webhook, notify.telegram_chat
        )


def _event_name(event: NotifiableEvent) -> NotifyEvent | None:
    if event.kind == _ASSIGN_EVENT:
        return "assigned"
    if event.kind == ESCALATION_EVENT:
        level = event.payload.get("level")
        if level == "at_risk":
            return "at_risk"
        if level == "overdue":
            return "overdue"
    return None


def _deadline(event: NotifiableEvent) -> str | None:
    if event.kind == ESCALATION_EVENT:
        value = event.payload.get("deadline")
        return str(value) if value else None
    clocks = event.payload.get("clocks") or {}
    clock = clocks.get(str(event.payload.get("assignment_id"))) or {}
    value = clock.get("deadline")
    return str(value) if value else None


def _local(iso: str | None, zone: str) -> str:
    if iso is None:
        return "не установлен"
    when = datetime.fromisoformat(iso).astimezone(ZoneInfo(zone))
    return f"{when:%d.%m.%Y %H:%M} ({zone})"


def _texts(
    event: NotifiableEvent,
    name: NotifyEvent,
    executor: str,
    recipients: Recipients,
    *,
    zone: str,
    public_url: str | None,
) -> tuple[str, str, dict[str, object]]:
    number = event.public_number or f"#{event.incident_id}"
    title = event.title or ""
    deadline = _deadline(event)
    subject = f"[ЦУР] {_TITLES[name]}: {number} {title}".strip()[:500]
    lines = [
        f"{_TITLES[name]}: инцидент {number}" + (f" «{title}»" if title else ""),
        f"Исполнитель: {recipients.executor_names.get(executor, executor)}",
        f"Срок ответа: {_local(deadline, zone)}",
    ]
    reason = event.payload.get("reason")
    if reason:
        lines.append(f"Основание: {reason}")
    url = None
    if public_url and event.incident_id is not None:
        url = f"{public_url.rstrip('/')}/incidents/{event.incident_id}"
        lines.append(f"Открыть: {url}")
    payload: dict[str, object] = {
        "public_number": event.public_number,
        "title": title,
        "executor": executor,
        "deadline": deadline,
        "url": url,
        "event_id": event.id,
    }
    return subject, "\n".join(lines) + "\n", payload


def plan_notifications(
    events: Iterable[NotifiableEvent],
    recipients: Recipients,
    *,
    now: datetime,
    hours_of: Callable[[str], WorkingHours],
    supervisor_hours: WorkingHours,
    outside_hours: bool,
    zone: str,
    public_url: str | None = None,
) -> list[NewNotification]:
    """Return the notifications these events call for, each due at its recipient's opening."""
    planned: list[NewNotification] = []
    for event in events:
        name = _event_name(event)
        executor = str(event.payload.get("executor") or "")
        if name is None or not executor:
            continue
        subject, body, payload = _texts(
            event, name, executor, recipients, zone=zone, public_url=public_url
        )
        targets: list[tuple[str, Destination, WorkingHours]] = []
        notify = recipients.executors.get(executor)
        if notify is not None and name in notify.events:
            found = recipients.destination(f"executor:{executor}")
            if found is not None:
                targets.append((f"executor:{executor}", found, hours_of(executor)))
        if name in recipients.supervisors_events:
            targets.append(
                (
                    SUPERVISORS,
                    recipients.destination(SUPERVISORS) or Destination(),
                    supervisor_hours,
                )
            )
        for recipient, destination, hours in targets:
            try:
                due = now if outside_hours else next_opening(now, hours)
            except CalendarYearMissing:
                due = now  # their next opening is in a year the calendar lacks: do not hold it
            channels = [
                name
                for name, wanted in (
                    ("email", destination.emails),
                    ("webhook", destination.webhook),
                    ("telegram", destination.telegram_chat),
                )
                if wanted
            ]
            for channel in channels:
                planned.append(
                    NewNotification(
                        key=f"event:{event.id}:{recipient}:{channel}",
                        event=name,
                        channel=channel,
                        recipient=recipient,
                        incident_id=event.incident_id,
                        subject=subject,
                        body=body,
                        due_at=due,
                        payload=payload,
                    )
                )
    return planned


@dataclass
class NotifyReport:
    """What one run did."""

    queued: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """Return the counts in one line."""
        return (
            f"{self.queued} queued, {self.sent} sent, {self.retried} to retry, "
            f"{self.failed} given up"
        )


class NotifyService:
    """Queues notifications for new events and delivers the due ones through ``channels``."""

    def __init__(
        self,
        *,
        sessions: sessionmaker[Session],
        config: NotificationsConfig,
        recipients: Recipients,
        routing: Routing,
        channels: Sequence[Channel],
        clock: Callable[[], datetime],
        zone: str,
        public_url: str | None = None,
        owner: str | None = None,
        batch: int = 200,
    ) -> None:
        """Deliver through ``channels`` (one per name); the clock is aware UTC."""
        self._sessions = sessions
        self._config = config
        self._recipients = recipients
        self._routing = routing
        self._channels = {c.name: c for c in channels}
        self._clock = clock
        self._zone = zone
        self._public_url = public_url
        self._owner = owner or process_owner_id()
        self._batch = batch

    def queue_new(self) -> int:
        """Queue the notifications of events past the cursor; return how many were new."""
        now = self._clock()
        queued = 0
        with self._sessions.begin() as session:
            state = JobStateRepository(session)
            state.lock(JOB_NAME)  # two daemons queue one event's notifications once
            outbox = OutboxRepository(session)
            cursor, value = state.get(JOB_NAME)
            first = cursor is None
            if first:
                # History before the job's first run is not news, now or on later re-reads.
                value = {**value, "since": (now - _FIRST_RUN_HORIZON).isoformat()}
            after = 0 if cursor is None else max(0, cursor - _OVERLAP)
            events = outbox.events_after(
                after,
                (_ASSIGN_EVENT, ESCALATION_EVENT),
                since=datetime.fromisoformat(value["since"]) if value.get("since") else None,
                limit=self._batch * 10,
            )
            planned = plan_notifications(
                events,
                self._recipients,
                now=now,
                hours_of=self._routing.hours_of,
                supervisor_hours=self._routing.region_hours,
                outside_hours=self._config.deliver_outside_hours,
                zone=self._zone,
                public_url=self._public_url,
            )
            known = outbox.existing_keys([p.key for p in planned])
            for item in planned:
                if item.key not in known:
                    queued += outbox.enqueue(item, now=now)
            newest = max((e.id for e in events), default=None)
            if newest is None and first:
                newest = outbox.last_event_id()
            state.set(
                JOB_NAME,
                cursor=max(newest or 0, cursor or 0),
                value=value,
                now=now,
            )
        return queued

    def _claim(self) -> list[OutboxItem]:
        with self._sessions.begin() as session:
            return OutboxRepository(session).claim_due(
                now=self._clock(),
                owner=self._owner,
                lease=_LEASE,
                channels=sorted(self._channels),
                limit=self._batch,
                is_dead=lambda holder: owner_is_dead(holder, self._owner),
            )

    def _retry_at(self, attempts: int) -> datetime | None:
        """Return when to try again after ``attempts`` failed attempts (None: give up)."""
        if attempts >= self._config.max_attempts:
            return None
        wait = min(
            self._config.retry_base_seconds * 2 ** max(0, attempts - 1),
            self._config.retry_max_seconds,
        )
        return self._clock() + timedelta(seconds=wait)

    def _settle(
        self, item: OutboxItem, error: DeliveryError | None, *, dropped: bool = False
    ) -> str:
        with self._sessions.begin() as session:
            outbox = OutboxRepository(session)
            if error is None:
                outbox.mark_sent(item.id, self._owner, now=self._clock())
                return "sent"
            if dropped:
                outbox.mark_failed(
                    item.id, self._owner, error=str(error), retry_at=None, status=DROPPED
                )
                return "failed"
            retry_at = None if error.permanent else self._retry_at(item.attempts + 1)
            if retry_at is not None and error.retry_after is not None:
                retry_at = max(retry_at, self._clock() + timedelta(seconds=error.retry_after))
            outbox.mark_failed(item.id, self._owner, error=str(error), retry_at=retry_at)
            return "failed" if retry_at is None else "retried"

    async def deliver_due(self, report: NotifyReport) -> None:
        """Claim and deliver every due notification once."""
        for item in await asyncio.to_thread(self._claim):
            channel = self._channels[item.channel]
            destination = self._recipients.destination(item.recipient)
            error: DeliveryError | None = None
            dropped = False
            if destination is None:
                error, dropped = DeliveryError(f"{item.recipient} is no longer configured"), True
            else:
                try:
                    await channel.deliver(item, destination)
                except DeliveryError as err:
                    error = err
                except Exception as err:  # a channel's bug must not stop the batch or lose it
                    # Only the type: a channel's message may hold its URL, and the URL a token.
                    error = DeliveryError(
                        f"the {item.channel} channel failed: {type(err).__name__}"
                    )
                    log.error("notify: %s to %s: %s", item.event, item.recipient, error)
            outcome = await asyncio.to_thread(self._settle, item, error, dropped=dropped)
            if outcome == "sent":
                report.sent += 1
            elif outcome == "retried":
                report.retried += 1
                report.errors.append(f"{item.key}: {error}")
            else:
                report.failed += 1
                report.errors.append(f"{item.key}: {error} (given up)")
                log.error("notify: %s to %s given up: %s", item.event, item.recipient, error)

    async def run_once(self) -> NotifyReport:
        """Queue what is new, then deliver what is due."""
        report = NotifyReport()
        report.queued = await asyncio.to_thread(self.queue_new)
        await self.deliver_due(report)
        return report


def notify_jobs(service: NotifyService | None, config: NotificationsConfig) -> list[JobSpec]:
    """Return the ``notify`` job (none when notifications are off)."""
    if service is None or not config.enabled:
        return []
    failing: list[bool] = [False]

    async def run() -> None:
        report = await service.run_once()
        if report.errors:
            if not failing[0]:
                log.warning("notify: %s; %s", report.summary(), "; ".join(report.errors[:5]))
            failing[0] = True
        else:
            if failing[0]:
                log.info("notify: delivering again: %s", report.summary())
            elif report.sent or report.queued:
                log.info("notify: %s", report.summary())
            failing[0] = False

    job: Callable[[], Awaitable[None]] = run
    return [JobSpec(name=JOB_NAME, func=job, interval_seconds=config.interval)]
