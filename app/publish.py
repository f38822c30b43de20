"""Publishing approved answers into the citizen's VK thread, recorded and verified."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

import aiohttp
from sqlalchemy.orm import Session, sessionmaker

from app.collect import CollectService, build_vk_pool
from app.config import Config
from app.daemon import JobSpec
from app.workflow import SYSTEM, Workflow, WorkflowError
from collector.errors import (
    VkAccessDenied,
    VkApiError,
    VkAuthError,
    VkCaptchaNeeded,
    VkConnectionError,
    VkError,
    VkFloodControl,
    VkRateLimited,
    VkServerError,
)
from collector.pool import VkClientPool
from collector.reply import ReplyPublisher, reply_guid
from storage.enums import IncidentStatus, MessageKind, Network
from storage.repositories.answers import AnswerRepository, PendingReply
from storage.repositories.events import EventRepository

__all__ = [
    "PUBLISH_FAILED_EVENT",
    "AnswerPublisher",
    "PublishOutcome",
    "PublishReport",
    "answer_guid",
    "publish_jobs",
    "reply_target",
    "run_publish_once",
]

log = logging.getLogger(__name__)

#: The event kind written when an answer cannot be posted (the incident stays ``approved``).
PUBLISH_FAILED_EVENT = "publish_failed"
#: VK codes that mean this thread refuses the answer (213: comments closed, 212: unreadable).
_REFUSED_CODES = frozenset({15, 18, 19, 30, 203, 212, 213, 222, 223})

Status = Literal["published", "deferred", "failed"]


def answer_guid(answer_id: int) -> str:
    """Return the ``guid`` of an answer's reply: the same answer always gets the same key."""
    return reply_guid("answer", answer_id)


def reply_target(
    external_id: str | None, kind: MessageKind | None
) -> tuple[int, int, int | None] | None:
    """Return ``(owner_id, post_id, reply_to_comment)`` of a VK post or comment id, or None."""
    if external_id is None or kind is None:
        return None
    parts = external_id.split("_")
    try:
        numbers = [int(p) for p in parts]
    except ValueError:
        return None
    if kind is MessageKind.POST and len(numbers) == 2:
        return numbers[0], numbers[1], None
    if kind is MessageKind.COMMENT and len(numbers) == 3:
        return numbers[0], numbers[1], numbers[2]
    return None


@dataclass(frozen=True, slots=True)
class PublishOutcome:
    """What one approved answer came to: published, deferred to a later run, or failed."""

    incident_id: int
    answer_id: int
    status: Status
    reply_id: str | None = None
    verified: bool = False
    error: str | None = None

    def line(self) -> str:
        """Return a one-line description for logs and the CLI."""
        text = f"incident {self.incident_id} answer {self.answer_id}: {self.status}"
        if self.reply_id is not None:
            text += f" (reply {self.reply_id})"
        if self.error:
            text += f": {self.error}"
        return text


@dataclass
class PublishReport:
    """Every answer one run tried."""

    outcomes: list[PublishOutcome] = field(default_factory=list)

    def count(self, status: Status) -> int:
        """Return how many outcomes had ``status``."""
        return sum(1 for o in self.outcomes if o.status == status)

    @property
    def ok(self) -> bool:
        """Return True when every answer tried was published."""
        return all(o.status == "published" for o in self.outcomes)

    def summary(self) -> str:
        """Return the counts in one line."""
        return (
            f"published {self.count('published')}, deferred {self.count('deferred')}, "
            f"failed {self.count('failed')}"
        )


class AnswerPublisher:
    """Post approved answers with the community token and move their incidents to published.

    The reply's ``guid`` is derived from the answer id, so a run that crashed after VK took the
    comment but before it was stored posts nothing new on the next run: VK returns the same id.
    """

    def __init__(
        self,
        *,
        sessions: sessionmaker[Session],
        workflow: Workflow,
        replies: ReplyPublisher,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        from_group: int | None = None,
    ) -> None:
        """Publish through ``replies`` (writer: community token; reader: a reading token)."""
        self._sessions = sessions
        self._workflow = workflow
        self._replies = replies
        self._clock = clock
        self._from_group = from_group

    def _pending(self, limit: int | None) -> list[PendingReply]:
        with self._sessions() as session:
            return AnswerRepository(session).awaiting_publication(limit=limit)

    async def run_once(self, *, limit: int | None = None) -> PublishReport:
        """Publish every approved answer not yet published (one at a time)."""
        report = PublishReport()
        for pending in await asyncio.to_thread(self._pending, limit):
            outcome = await self.publish(pending)
            report.outcomes.append(outcome)
            level = logging.INFO if outcome.status == "published" else logging.WARNING
            log.log(level, "publish: %s", outcome.line())
        return report

    async def publish(self, pending: PendingReply) -> PublishOutcome:
        """Post one answer (or verify the one already posted), store it and publish."""
        target = (
            reply_target(pending.message_external_id, pending.message_kind)
            if pending.network is Network.VK
            else None
        )
        if target is None:
            reason = "no_thread"
            detail = "the incident has no VK post or comment to answer under"
            await asyncio.to_thread(self._record_failure, pending, reason, detail)
            return PublishOutcome(pending.incident_id, pending.answer_id, "failed", error=detail)
        owner_id, post_id, reply_to = target
        guid = answer_guid(pending.answer_id)
        reply_id = pending.external_reply_id
        if reply_id is None:
            try:
                result = await self._replies.publish(
                    owner_id=owner_id,
                    post_id=post_id,
                    text=pending.text,
                    guid=guid,
                    from_group=self._from_group,
                    reply_to_comment=reply_to,
                )
            except VkError as err:
                return await self._failed(pending, err)
            reply_id = str(result.comment_id)
            verified = result.verified
        else:
            try:
                verified = await self._replies.verify(
                    owner_id, post_id, int(reply_id), text=pending.text, thread_of=reply_to
                )
            except VkError as err:
                return await self._failed(pending, err, reply_id=reply_id)
        now = self._clock()
        await asyncio.to_thread(
            self._store, pending.answer_id, reply_id, guid, now if verified else None, now
        )
        if not verified:
            return PublishOutcome(
                pending.incident_id,
                pending.answer_id,
                "deferred",
                reply_id=reply_id,
                error="posted, not found on reading the thread back; checked again next run",
            )
        try:
            await asyncio.to_thread(self._publish_incident, pending.incident_id, reply_id)
        except WorkflowError as err:
            return PublishOutcome(
                pending.incident_id, pending.answer_id, "failed", reply_id, True, str(err)
            )
        return PublishOutcome(pending.incident_id, pending.answer_id, "published", reply_id, True)

    def _store(
        self, answer_id: int, reply_id: str, guid: str, verified_at: datetime | None, now: datetime
    ) -> None:
        with self._sessions.begin() as session:
            AnswerRepository(session).record_reply(
                answer_id, external_reply_id=reply_id, guid=guid, verified_at=verified_at, now=now
            )

    def _publish_incident(self, incident_id: int, reply_id: str) -> None:
        incident = self._workflow.get(incident_id, SYSTEM)
        if incident.status is IncidentStatus.APPROVED:
            self._workflow.publish(incident, SYSTEM, external_reply_id=reply_id)

    async def _failed(
        self, pending: PendingReply, err: VkError, *, reply_id: str | None = None
    ) -> PublishOutcome:
        """Defer on transient errors (flood control, limits, network); record refusals."""
        transient = (
            VkFloodControl,
            VkRateLimited,
            VkCaptchaNeeded,
            VkConnectionError,
            VkServerError,
            VkAuthError,
        )
        if isinstance(err, transient):
            return PublishOutcome(
                pending.incident_id, pending.answer_id, "deferred", reply_id, error=str(err)
            )
        if isinstance(err, VkAccessDenied):
            reason = err.reason
        elif isinstance(err, VkApiError) and err.code == 213:
            reason = "comments_closed"
        elif isinstance(err, VkApiError) and err.code in _REFUSED_CODES:
            reason = "denied"
        else:
            reason = "vk_error"
        await asyncio.to_thread(self._record_failure, pending, reason, str(err))
        return PublishOutcome(
            pending.incident_id, pending.answer_id, "failed", reply_id, error=f"{reason}: {err}"
        )

    def _record_failure(self, pending: PendingReply, reason: str, detail: str) -> None:
        """Write a ``publish_failed`` event, once per reason in a row (the operator sees it)."""
        with self._sessions.begin() as session:
            events = EventRepository(session)
            history = events.for_incident(pending.incident_id)
            last = history[-1] if history else None
            if (
                last is not None
                and last.kind == PUBLISH_FAILED_EVENT
                and last.payload.get("reason") == reason
                and last.payload.get("answer_id") == pending.answer_id
            ):
                return
            state = IncidentStatus.APPROVED.value
            events.append(
                incident_id=pending.incident_id,
                actor_user_id=None,
                kind=PUBLISH_FAILED_EVENT,
                from_status=state,
                to_status=state,
                payload={"answer_id": pending.answer_id, "reason": reason, "error": detail},
                occurred_at=self._clock(),
            )


def replies_of(pool: VkClientPool) -> ReplyPublisher | None:
    """Return a publisher writing with the community token(s) and reading with the others."""
    writer = [c for c in pool.clients if c.kind == "community"]
    readers: Sequence[str] = ("service", "user")
    if not writer or not any(c.kind in readers for c in pool.clients):
        return None
    return ReplyPublisher(writer=pool.subset(["community"]), reader=pool.subset(readers))


async def run_publish_once(
    config: Config,
    *,
    sessions: sessionmaker[Session],
    workflow: Workflow,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    limit: int | None = None,
) -> PublishReport | None:
    """Publish what is approved with the configured VK tokens; None when VK cannot post."""
    if not config.networks.vk.enabled:
        return None
    async with aiohttp.ClientSession() as http:
        pool = build_vk_pool(config.networks.vk, session=http)
        replies = None if pool is None else replies_of(pool)
        if replies is None:
            return None
        publisher = AnswerPublisher(
            sessions=sessions, workflow=workflow, replies=replies, clock=clock
        )
        return await publisher.run_once(limit=limit)


def publish_jobs(
    config: Config, *, workflow: Workflow, collector: CollectService | None
) -> list[JobSpec]:
    """Return the ``publish`` job (none while VK collection is off), every collect interval."""
    if collector is None:
        return []
    sessions = collector.sessions

    async def run() -> None:
        report = await run_publish_once(config, sessions=sessions, workflow=workflow)
        if report is None:
            log.debug("publish: VK has no community and reading tokens; nothing posted")
        elif report.outcomes:
            level = logging.INFO if report.ok else logging.WARNING
            log.log(level, "publish: %s", report.summary())

    job: Callable[[], Awaitable[None]] = run
    return [JobSpec(name="publish", func=job, interval_seconds=config.scheduler.collect_interval)]
