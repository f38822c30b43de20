"""The citizen's follow-up: watch a published answer's thread, reopen or close the incident.

For ``followup.watch_days`` after an answer is published, each run of the ``followup`` job
re-reads the thread from VK (stored like collected comments), then judges the comments written
after the answer (classifier/followup.py). A "не решено" from anyone reopens the incident with the
comment linked; thanks (from the citizen, unless configured otherwise) close it as fixed; a
window that passes quietly closes it as answered only. Every judged comment gets a row in
``followup_verdicts``, written in the same transaction as the workflow change it caused, so a
crash or a second daemon judges nothing twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy.orm import Session, sessionmaker

from app.collect import process_owner_id
from app.config import FollowupConfig
from app.daemon import JobSpec
from app.leases import owner_is_dead
from app.publish import reply_target
from app.workflow import SYSTEM, Workflow, WorkflowError
from classifier.followup import FollowupClassifier, FollowupKind, FollowupVerdict
from collector.errors import VkError
from collector.pool import VkClientPool
from collector.types import VkComment
from storage.enums import IncidentStatus, Network, Resolution
from storage.repositories import ConcurrentUpdate
from storage.repositories.followups import FollowupRepository, ThreadComment, WatchedThread
from storage.repositories.messages import MessageRepository
from storage.repositories.outbox import JobStateRepository

__all__ = [
    "FollowupReport",
    "FollowupService",
    "ThreadReader",
    "VkThreadReader",
    "followup_jobs",
]

log = logging.getLogger(__name__)

JOB_NAME = "followup"


class ThreadReader(Protocol):
    """Reads every comment of a post's thread (replies included) from the network."""

    async def read(self, owner_id: int, post_id: int) -> list[VkComment]:
        """Return the post's comments and their replies."""


class VkThreadReader:
    """Reads a VK thread with ``wall.getComments``: top-level pages, then long reply threads."""

    def __init__(self, pool: VkClientPool, *, max_pages: int = 10) -> None:
        """Read through ``pool`` (reading tokens), at most ``max_pages`` pages per level."""
        self._pool = pool
        self._max_pages = max_pages

    async def _level(self, owner_id: int, post_id: int, comment_id: int | None) -> list[VkComment]:
        items: list[VkComment] = []
        for page in range(self._max_pages):
            result = await self._pool.wall_get_comments(
                owner_id, post_id, offset=page * 100, count=100, comment_id=comment_id
            )
            items.extend(result.items)
            if not result.items or len(items) >= result.current_level_count:
                break
        return items

    async def read(self, owner_id: int, post_id: int) -> list[VkComment]:
        """Return the post's comments and their replies, oldest first per level."""
        found: list[VkComment] = []
        for comment in await self._level(owner_id, post_id, None):
            found.append(comment)
            if comment.thread_count > len(comment.thread):
                found.extend(await self._level(owner_id, post_id, comment.id))
            else:
                found.extend(comment.thread)
        return found


@dataclass
class FollowupReport:
    """What one run did: threads watched, comments judged, incidents reopened and closed."""

    watched: int = 0
    judged: int = 0
    reopened: list[int] = field(default_factory=list)
    closed_fixed: list[int] = field(default_factory=list)
    closed_quiet: list[int] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    skipped: bool = False

    def summary(self) -> str:
        """Return the counts in one line."""
        if self.skipped:
            return "another process is watching the threads"
        return (
            f"{self.watched} threads watched, {self.judged} comments judged, "
            f"{len(self.reopened)} reopened, {len(self.closed_fixed)} closed as fixed, "
            f"{len(self.closed_quiet)} closed after a quiet window"
            + (f", {len(self.errors)} errors" if self.errors else "")
        )


def _snippet(text: str, limit: int = 200) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _evidence(comment: ThreadComment, verdict: FollowupVerdict) -> dict[str, object]:
    return {
        "followup": verdict.kind.value,
        "score": verdict.score,
        "cues": list(verdict.cues),
        "classifier_version": verdict.version,
        "message_key": comment.external_id,
    }


class FollowupService:
    """Judges new comments under published answers and moves incidents through the workflow."""

    def __init__(
        self,
        *,
        sessions: sessionmaker[Session],
        workflow: Workflow,
        classifier: FollowupClassifier,
        clock: Callable[[], datetime],
        config: FollowupConfig,
        reader: ThreadReader | None = None,
        owner: str | None = None,
    ) -> None:
        """Watch with ``config``; re-read threads through ``reader`` when one is given.

        One process at a time runs it (a lease in ``job_state`` named ``followup``).
        """
        self._sessions = sessions
        self._workflow = workflow
        self._classifier = classifier
        self._clock = clock
        self._config = config
        self._reader = reader
        self._owner = owner or process_owner_id()

    def _claim(self) -> bool:
        now = self._clock()
        until = now + timedelta(seconds=max(self._config.interval, 60) * 2)
        with self._sessions.begin() as session:
            return JobStateRepository(session).claim_lease(
                JOB_NAME,
                owner=self._owner,
                until=until,
                now=now,
                is_dead=lambda holder: owner_is_dead(holder, self._owner),
            )

    def _release(self) -> None:
        with self._sessions.begin() as session:
            JobStateRepository(session).release_lease(
                JOB_NAME, owner=self._owner, now=self._clock()
            )

    def _threads(self) -> list[WatchedThread]:
        with self._sessions() as session:
            return FollowupRepository(session).published()

    async def run_once(self) -> FollowupReport:
        """Judge every watched thread once (nothing while another process is at it)."""
        if not await asyncio.to_thread(self._claim):
            return FollowupReport(skipped=True)
        try:
            return await self._run()
        finally:
            await asyncio.to_thread(self._release)

    async def _run(self) -> FollowupReport:
        report = FollowupReport()
        window = timedelta(days=self._config.watch_days)
        for thread in await asyncio.to_thread(self._threads):
            now = self._clock()
            try:
                if now - thread.published_at > window:
                    if self._config.close_after_window:
                        await asyncio.to_thread(self._close_quiet, thread)
                        report.closed_quiet.append(thread.incident_id)
                    continue
                report.watched += 1
                await self._refresh(thread)
                await asyncio.to_thread(self._judge, thread, report)
            except (WorkflowError, ConcurrentUpdate) as err:
                # Someone else moved the incident meanwhile: the next run looks again.
                report.errors.append(f"incident {thread.incident_id}: {err}")
        return report

    async def _refresh(self, thread: WatchedThread) -> None:
        """Store the thread's comments as read from VK now (nothing when it cannot be read)."""
        if self._reader is None or thread.network is not Network.VK:
            return
        target = reply_target(thread.message_external_id, thread.message_kind)
        if target is None:
            return
        owner_id, post_id, _ = target
        try:
            comments = await self._reader.read(owner_id, post_id)
        except VkError as err:
            log.warning(
                "followup: cannot read the thread %s_%s of incident %d: %s",
                owner_id,
                post_id,
                thread.incident_id,
                err,
            )
            return
        if comments:
            await asyncio.to_thread(self._store, thread.source_id, comments)

    def _store(self, source_id: int, comments: Sequence[VkComment]) -> None:
        now = self._clock()
        with self._sessions.begin() as session:
            messages = MessageRepository(session)
            for comment in comments:
                messages.upsert_comment(source_id, comment, now)

    def _new_comments(self, thread: WatchedThread) -> list[ThreadComment]:
        target = reply_target(thread.message_external_id, thread.message_kind)
        if target is None:
            return []
        owner_id, post_id, _ = target
        post = f"{owner_id}_{post_id}"
        exclude = [f"{post}_{thread.external_reply_id}"] if thread.external_reply_id else []
        with self._sessions() as session:
            return FollowupRepository(session).new_comments(
                thread.network, post, since=thread.published_at, exclude_external_ids=exclude
            )

    def _judge(self, thread: WatchedThread, report: FollowupReport) -> None:
        comments = self._new_comments(thread)
        if not comments:
            return
        judged = [(c, self._classifier.classify(c.text)) for c in comments]
        report.judged += len(judged)
        unresolved = next(((c, v) for c, v in judged if v.kind is FollowupKind.NOT_RESOLVED), None)
        resolved = next(
            (
                (c, v)
                for c, v in judged
                if v.kind is FollowupKind.RESOLVED
                and (
                    not self._config.thanks_from_citizen_only
                    or (c.author_id is not None and c.author_id in thread.citizen_ids)
                )
            ),
            None,
        )
        decisive = unresolved or resolved
        action = None
        if decisive is not None:
            action = "reopen" if decisive is unresolved else "close"

        def record(session: Session) -> None:
            repo = FollowupRepository(session)
            now = self._clock()
            for comment, verdict in judged:
                repo.record(
                    message_id=comment.message_id,
                    incident_id=thread.incident_id,
                    verdict=verdict.kind.value,
                    score=verdict.score,
                    classifier_version=verdict.version,
                    action=action if decisive is not None and comment is decisive[0] else None,
                    now=now,
                )

        if decisive is None:
            with self._sessions.begin() as session:
                record(session)
            return
        comment, verdict = decisive
        incident = self._workflow.get(thread.incident_id, SYSTEM)
        if incident.status is not IncidentStatus.PUBLISHED:
            return
        if action == "reopen":
            self._workflow.reopen(
                incident,
                SYSTEM,
                f"the citizen's follow-up: «{_snippet(comment.text)}»",
                message_id=comment.message_id,
                evidence=_evidence(comment, verdict),
                also=record,
            )
            report.reopened.append(thread.incident_id)
            log.info(
                "followup: incident %s reopened by comment %s (%s)",
                incident.public_number,
                comment.external_id,
                ", ".join(verdict.cues),
            )
        else:
            self._workflow.close(
                incident,
                SYSTEM,
                Resolution.FIXED,
                message_id=comment.message_id,
                evidence=_evidence(comment, verdict),
                also=record,
            )
            report.closed_fixed.append(thread.incident_id)
            log.info(
                "followup: incident %s closed as fixed by comment %s",
                incident.public_number,
                comment.external_id,
            )

    def _close_quiet(self, thread: WatchedThread) -> None:
        incident = self._workflow.get(thread.incident_id, SYSTEM)
        if incident.status is IncidentStatus.PUBLISHED:
            self._workflow.close(
                incident,
                SYSTEM,
                Resolution.ANSWERED_ONLY,
                evidence={"followup": "quiet", "watch_days": self._config.watch_days},
            )


def followup_jobs(
    config: FollowupConfig,
    *,
    sessions: sessionmaker[Session],
    workflow: Workflow,
    clock: Callable[[], datetime],
    lemma: Callable[[str], str],
    reader: ThreadReader | None = None,
) -> list[JobSpec]:
    """Return the ``followup`` job (none when ``followup.enabled`` is off)."""
    if not config.enabled:
        return []
    service = FollowupService(
        sessions=sessions,
        workflow=workflow,
        classifier=FollowupClassifier(lemma),
        clock=clock,
        config=config,
        reader=reader,
    )

    async def run() -> None:
        report = await service.run_once()
        if report.errors:
            log.warning("followup: %s; %s", report.summary(), "; ".join(report.errors))
        elif report.judged or report.closed_quiet:
            log.info("followup: %s", report.summary())

    job: Callable[[], Awaitable[None]] = run
    return [JobSpec(name="followup", func=job, interval_seconds=config.interval)]
