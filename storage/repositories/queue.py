"""The workspace's read side: the incident queue (filters, keyset pages) and the incident page.

Every query takes the viewer's scope explicitly (``executor``: the code of the executor whose
staff is looking, or None for roles that see every incident) and applies it inside SQL, so an
executor's list, filters, search and incident lookups never reach another executor's incident.

Pages are keyset pages: the caller passes the sort keys of the last row it showed, and the next
page starts after them (no OFFSET, no COUNT). See docs/web.md for the indexes each order uses.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass, field, replace
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from router.sla import SlaClock
from storage.db import SQLITE_CASEFOLD
from storage.enums import (
    AnswerKind,
    AnswerStatus,
    AssignmentStatus,
    IncidentStatus,
    MessageKind,
    Network,
    Priority,
)
from storage.models import (
    Answer,
    Assignment,
    Classification,
    Event,
    Executor,
    Incident,
    IncidentMessage,
    Message,
    ResponseTemplate,
    Source,
    User,
)
from storage.repositories.errors import NotFound
from storage.repositories.events import EventRepository
from storage.repositories.incidents import ACTIVE_ASSIGNMENT
from storage.types import FAR_FUTURE

__all__ = [
    "FAR_FUTURE",
    "AnswerRow",
    "AssignmentRow",
    "ClassificationRow",
    "EventRow",
    "IncidentPage",
    "MessageRow",
    "QueueQuery",
    "QueueRepository",
    "QueueResult",
    "QueueSort",
    "SlaFilter",
    "TemplateRow",
]


class QueueSort(enum.StrEnum):
    """The queue's orders: most urgent first, nearest deadline first, newest first."""

    PRIORITY = "priority"
    DEADLINE = "deadline"
    RECEIVED = "received"


class SlaFilter(enum.StrEnum):
    """Where a running clock stands: on track, past the at-risk share, or past its deadline."""

    OK = "ok"
    AT_RISK = "at_risk"
    OVERDUE = "overdue"
    #: An executor's final answer came after its deadline (the KPIs' "answered late").
    LATE = "late"


@dataclass(frozen=True, slots=True)
class QueueQuery:
    """One queue request: filters, order, where the page starts and how long it is."""

    now: dt.datetime
    statuses: tuple[IncidentStatus, ...] = ()
    topic_group: str | None = None
    topic: str | None = None
    municipality_oktmo: str | None = None
    executor_code: str | None = None
    sla: SlaFilter | None = None
    network: Network | None = None
    source_id: int | None = None
    priority: Priority | None = None
    received_from: dt.datetime | None = None
    received_to: dt.datetime | None = None
    text: str | None = None
    sort: QueueSort = QueueSort.PRIORITY
    after: tuple[Any, ...] | None = None
    limit: int = 50


@dataclass(frozen=True, slots=True)
class QueueResult:
    """One queue row: the incident, its active executor and that executor's clock."""

    id: int
    public_number: str
    status: IncidentStatus
    version: int
    priority: Priority
    title: str
    topic_group: str | None
    topic: str | None
    municipality: str | None
    message_count: int
    author_count: int
    created_at: dt.datetime
    executor_code: str | None
    executor_name: str | None
    assignment_status: AssignmentStatus | None
    deadline_at: dt.datetime | None
    at_risk_at: dt.datetime | None
    keys: tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class MessageRow:
    """A message of an incident as the incident page shows it, with why it was grouped."""

    id: int
    network: Network
    kind: MessageKind
    external_id: str
    author_id: str | None
    text: str
    posted_at: dt.datetime
    url: str | None
    source_title: str
    deleted: bool
    grouping_version: str
    grouping_evidence: dict[str, Any]
    attached_at: dt.datetime


@dataclass(frozen=True, slots=True)
class ClassificationRow:
    """The classifier's verdict on one message, with confidences and evidence."""

    message_id: int
    model_version: str
    is_complaint: bool
    complaint_confidence: float
    topic_group: str | None
    topic: str | None
    topic_confidence: float | None
    municipality: str | None
    municipality_confidence: float | None
    evidence: dict[str, Any]


@dataclass(frozen=True, slots=True)
class EventRow:
    """One entry of the incident's history, with who did it."""

    id: int
    kind: str
    from_status: str | None
    to_status: str | None
    actor_name: str | None
    payload: dict[str, Any]
    occurred_at: dt.datetime


@dataclass(frozen=True, slots=True)
class AssignmentRow:
    """One executor's share of the incident and its clock (from the event log)."""

    id: int
    executor_code: str
    executor_name: str
    status: AssignmentStatus
    received_at: dt.datetime | None
    deadline_at: dt.datetime | None
    at_risk_at: dt.datetime | None
    interim: bool
    rule_id: str | None
    clock: SlaClock | None


@dataclass(frozen=True, slots=True)
class AnswerRow:
    """An executor's answer and its review."""

    id: int
    kind: AnswerKind
    status: AnswerStatus
    text: str
    author_name: str | None
    review_comment: str | None
    created_at: dt.datetime
    published_at: dt.datetime | None


@dataclass(frozen=True, slots=True)
class IncidentPage:
    """Everything the incident page shows."""

    incident: QueueResult
    summary: str
    municipality_oktmo: str | None
    reach: int
    resolution: str | None
    closed_at: dt.datetime | None
    merged_into_number: str | None
    parent_number: str | None
    messages: tuple[MessageRow, ...] = field(default_factory=tuple)
    classifications: tuple[ClassificationRow, ...] = field(default_factory=tuple)
    events: tuple[EventRow, ...] = field(default_factory=tuple)
    assignments: tuple[AssignmentRow, ...] = field(default_factory=tuple)
    answers: tuple[AnswerRow, ...] = field(default_factory=tuple)


@dataclass(frozen=True, slots=True)
class TemplateRow:
    """A reply template of an executor."""

    id: int
    executor_code: str
    title: str
    text: str
    updated_at: dt.datetime


def _fold(text: str) -> str:
    return text.casefold().replace("ё", "е")


class QueueRepository:
    """Read queries of the workspace within one session."""

    def __init__(self, session: Session) -> None:
        """Work inside ``session``."""
        self._session = session
        self._dialect = session.get_bind().dialect.name

    # ------------------------------------------------------------------ the queue

    def _text_match(self, text: str) -> sa.ColumnElement[bool]:
        """Match messages whose text contains the words (Russian stemming on PostgreSQL)."""
        if self._dialect == "postgresql":
            # The configuration is a literal, as in the index's expression, so the GIN index
            # ix_messages_text_fts_ru serves the search (a bound parameter would not match it).
            russian: sa.ColumnElement[str] = sa.literal_column("'russian'::regconfig")
            return sa.func.to_tsvector(russian, Message.text).bool_op("@@")(
                sa.func.plainto_tsquery(russian, text)
            )
        pattern = "%" + _fold(text).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        folded: sa.ColumnElement[str] = getattr(sa.func, SQLITE_CASEFOLD)(Message.text)
        return folded.like(pattern + "%", escape="\\")

    def queue(self, query: QueueQuery, *, executor: str | None) -> list[QueueResult]:
        """Return up to ``query.limit + 1`` rows (one more tells that there is a next page).

        ``executor`` is the viewer's scope: only incidents actively assigned to it are seen.
        """
        # The active assignment's fields are copied onto the incident (active_assignment.py),
        # so every filter and order below reads incidents' own indexed columns.
        columns = (
            Incident.id,
            Incident.public_number,
            Incident.status,
            Incident.version,
            Incident.priority,
            Incident.title,
            Incident.topic_group,
            Incident.topic,
            Incident.municipality,
            Incident.message_count,
            Incident.author_count,
            Incident.created_at,
            Executor.code,
            Executor.name,
            Incident.active_status,
            Incident.active_deadline_at,
            Incident.active_at_risk_at,
            Incident.priority_rank,
            Incident.queue_deadline_at,
        )
        # sla=overdue|ok: the page's ids first, from ix_incidents_running_deadline_at_keys
        # alone on PostgreSQL (it carries the state and the priority order's keys), then only
        # those rows. Read as one statement, PostgreSQL fetched and joined every overdue
        # incident before its top-N sort (9 000 rows for 51: 60 ms at 1 000 000 incidents).
        deferred = query.sla in (SlaFilter.OVERDUE, SlaFilter.OK)
        stmt: Any = sa.select(Incident.id) if deferred else sa.select(*columns)
        if not deferred:
            stmt = stmt.select_from(Incident).outerjoin(
                Executor, Executor.id == Incident.active_executor_id
            )
        for code in (executor, query.executor_code):
            if code is not None:
                stmt = stmt.where(
                    Incident.active_executor_id
                    == sa.select(Executor.id).where(Executor.code == code).scalar_subquery()
                )
        if query.statuses:
            stmt = stmt.where(Incident.status.in_(query.statuses))
        if query.topic_group is not None:
            stmt = stmt.where(Incident.topic_group == query.topic_group)
        if query.topic is not None:
            stmt = stmt.where(Incident.topic == query.topic)
        if query.municipality_oktmo is not None:
            stmt = stmt.where(Incident.municipality_oktmo == query.municipality_oktmo)
        if query.priority is not None:
            stmt = stmt.where(Incident.priority == query.priority)
        if query.received_from is not None:
            stmt = stmt.where(Incident.created_at >= query.received_from)
        if query.received_to is not None:
            stmt = stmt.where(Incident.created_at < query.received_to)
        if query.sla is SlaFilter.LATE:
            answered = aliased(Assignment)
            stmt = stmt.where(
                sa.exists().where(
                    answered.incident_id == Incident.id,
                    answered.status.in_((AssignmentStatus.ANSWERED, AssignmentStatus.CLOSED)),
                    answered.closed_at > answered.deadline_at,
                )
            )
        elif query.sla is not None:
            # The literal matches the partial indexes' predicate (ix_incidents_running_*).
            running = Incident.active_status == sa.literal_column("'received'")
            deadline, at_risk = Incident.active_deadline_at, Incident.active_at_risk_at
            if query.sla is SlaFilter.OVERDUE:
                stmt = stmt.where(running, deadline <= query.now)
            elif query.sla is SlaFilter.AT_RISK:
                stmt = stmt.where(running, at_risk <= query.now, deadline > query.now)
            else:
                stmt = stmt.where(
                    running,
                    deadline > query.now,
                    sa.or_(at_risk.is_(None), at_risk > query.now),
                )
        message_filters: list[sa.ColumnElement[bool]] = []
        if query.network is not None:
            message_filters.append(Message.network == query.network)
        if query.source_id is not None:
            # Start from the source's messages (ix_messages_source_id_posted_at), not from the
            # incidents: a correlated EXISTS made PostgreSQL walk incidents in queue order and
            # probe each one's messages (878 ms at 1 000 000 incidents for a source holding
            # 1/300 of them, bench/bench_web_queue.py). The set is computed once (MATERIALIZED
            # on PostgreSQL) and the walk only looks it up.
            of_source = (
                sa.select(IncidentMessage.incident_id)
                .join(Message, Message.id == IncidentMessage.message_id)
                .where(Message.source_id == query.source_id)
                .cte("of_source")
                .prefix_with("MATERIALIZED", dialect="postgresql")
            )
            stmt = stmt.where(Incident.id.in_(sa.select(of_source.c.incident_id)))
        if message_filters:
            stmt = stmt.where(
                sa.select(IncidentMessage.id)
                .join(Message, Message.id == IncidentMessage.message_id)
                .where(IncidentMessage.incident_id == Incident.id, *message_filters)
                .exists()
            )
        if query.text:
            words = query.text.strip()
            # An incident's number finds that incident; anything else searches the messages.
            # Two separate conditions, not one OR: PostgreSQL cannot turn "EXISTS (...) OR
            # number = ..." into a semi-join, and evaluated every message matching the words
            # (28 s a page at 1 000 000 incidents, bench/bench_web_queue.py).
            numbered = self._session.scalar(
                sa.select(Incident.id).where(Incident.public_number == words)
            )
            if numbered is not None:
                stmt = stmt.where(Incident.id == numbered)
            else:
                stmt = stmt.where(
                    sa.select(IncidentMessage.id)
                    .join(Message, Message.id == IncidentMessage.message_id)
                    .where(IncidentMessage.incident_id == Incident.id, self._text_match(words))
                    .exists()
                )
        stmt = self._order(stmt, query).limit(query.limit + 1)
        if deferred:
            page = (
                sa.select(*columns)
                .select_from(Incident)
                .outerjoin(Executor, Executor.id == Incident.active_executor_id)
                .where(Incident.id.in_(stmt))
            )
            stmt = self._order(page, replace(query, after=None))
        rows = self._session.execute(stmt).all()
        return [self._result(row, query.sort) for row in rows]

    @staticmethod
    def _order(stmt: Any, query: QueueQuery) -> Any:
        after = query.after
        if query.sort is QueueSort.PRIORITY:
            keys = (Incident.priority_rank, Incident.created_at, Incident.id)
            if after is not None:
                stmt = stmt.where(
                    sa.tuple_(*keys)
                    < sa.tuple_(
                        sa.literal(int(after[0]), sa.SmallInteger()),
                        sa.literal(after[1], Incident.created_at.type),
                        sa.literal(int(after[2]), sa.BigInteger()),
                    )
                )
            return stmt.order_by(*(k.desc() for k in keys))
        if query.sort is QueueSort.RECEIVED:
            keys2 = (Incident.created_at, Incident.id)
            if after is not None:
                stmt = stmt.where(
                    sa.tuple_(*keys2)
                    < sa.tuple_(
                        sa.literal(after[0], Incident.created_at.type),
                        sa.literal(int(after[1]), sa.BigInteger()),
                    )
                )
            return stmt.order_by(*(k.desc() for k in keys2))
        keys3 = (Incident.queue_deadline_at, Incident.id)
        if after is not None:
            stmt = stmt.where(
                sa.tuple_(*keys3)
                > sa.tuple_(
                    sa.literal(after[0], Incident.queue_deadline_at.type),
                    sa.literal(int(after[1]), sa.BigInteger()),
                )
            )
        return stmt.order_by(*(k.asc() for k in keys3))

    @staticmethod
    def _result(row: Any, sort: QueueSort) -> QueueResult:
        (
            incident_id,
            number,
            status,
            version,
            priority,
            title,
            topic_group,
            topic,
            municipality,
            messages,
            authors,
            created_at,
            code,
            name,
            assignment_status,
            deadline_at,
            at_risk_at,
            rank,
            queue_deadline_at,
        ) = row
        keys: tuple[Any, ...]
        if sort is QueueSort.PRIORITY:
            keys = (rank, created_at, incident_id)
        elif sort is QueueSort.RECEIVED:
            keys = (created_at, incident_id)
        else:
            keys = (queue_deadline_at, incident_id)
        return QueueResult(
            id=incident_id,
            public_number=number,
            status=status,
            version=version,
            priority=priority,
            title=title,
            topic_group=topic_group,
            topic=topic,
            municipality=municipality,
            message_count=messages,
            author_count=authors,
            created_at=created_at,
            executor_code=code,
            executor_name=name,
            assignment_status=assignment_status,
            deadline_at=deadline_at,
            at_risk_at=at_risk_at,
            keys=keys,
        )

    # ------------------------------------------------------------------ one incident

    def incident(self, incident_id: int, *, executor: str | None) -> IncidentPage:
        """Return the incident page's content; NotFound when it is absent or out of scope."""
        row = self._session.get(Incident, incident_id, populate_existing=True)
        if row is None:
            raise NotFound(f"no incident with id {incident_id}")
        active = aliased(Assignment)
        found = self._session.execute(
            sa.select(
                Executor.code, Executor.name, active.status, active.deadline_at, active.at_risk_at
            )
            .select_from(active)
            .join(Executor, Executor.id == active.executor_id)
            .where(active.incident_id == incident_id, active.status.in_(ACTIVE_ASSIGNMENT))
            .order_by(active.id.desc())
            .limit(1)
        ).first()
        code, name, a_status, deadline_at, at_risk_at = found or (None, None, None, None, None)
        if executor is not None and code != executor:
            raise NotFound(f"no incident with id {incident_id}")
        summary = QueueResult(
            id=row.id,
            public_number=row.public_number,
            status=row.status,
            version=row.version,
            priority=row.priority,
            title=row.title,
            topic_group=row.topic_group,
            topic=row.topic,
            municipality=row.municipality,
            message_count=row.message_count,
            author_count=row.author_count,
            created_at=row.created_at,
            executor_code=code,
            executor_name=name,
            assignment_status=a_status,
            deadline_at=deadline_at,
            at_risk_at=at_risk_at,
            keys=(),
        )

        def number(other_id: int | None) -> str | None:
            if other_id is None:
                return None
            return self._session.scalar(
                sa.select(Incident.public_number).where(Incident.id == other_id)
            )

        return IncidentPage(
            incident=summary,
            summary=row.summary,
            municipality_oktmo=row.municipality_oktmo,
            reach=row.reach,
            resolution=row.resolution.value if row.resolution else None,
            closed_at=row.closed_at,
            merged_into_number=number(row.merged_into_id),
            parent_number=number(row.parent_incident_id),
            messages=tuple(self._messages(incident_id)),
            classifications=tuple(self._classifications(incident_id)),
            events=tuple(self._events(incident_id)),
            assignments=tuple(self._assignments(incident_id)),
            answers=tuple(self._answers(incident_id)),
        )

    def _messages(self, incident_id: int) -> list[MessageRow]:
        rows = self._session.execute(
            sa.select(Message, IncidentMessage, Source.title)
            .join(IncidentMessage, IncidentMessage.message_id == Message.id)
            .join(Source, Source.id == Message.source_id)
            .where(IncidentMessage.incident_id == incident_id)
            .order_by(Message.posted_at, Message.id)
        ).all()
        return [
            MessageRow(
                id=m.id,
                network=m.network,
                kind=m.kind,
                external_id=m.external_id,
                author_id=m.author_id,
                text=m.text,
                posted_at=m.posted_at,
                url=m.url,
                source_title=title or "",
                deleted=m.deleted_at is not None,
                grouping_version=link.grouping_version,
                grouping_evidence=dict(link.evidence or {}),
                attached_at=link.attached_at,
            )
            for m, link, title in rows
        ]

    def _classifications(self, incident_id: int) -> list[ClassificationRow]:
        rows = self._session.scalars(
            sa.select(Classification)
            .join(IncidentMessage, IncidentMessage.message_id == Classification.message_id)
            .where(IncidentMessage.incident_id == incident_id)
            .order_by(Classification.message_id, Classification.id)
        )
        return [
            ClassificationRow(
                message_id=c.message_id,
                model_version=c.model_version,
                is_complaint=c.is_complaint,
                complaint_confidence=c.complaint_confidence,
                topic_group=c.topic_group,
                topic=c.topic,
                topic_confidence=c.topic_confidence,
                municipality=c.municipality,
                municipality_confidence=c.municipality_confidence,
                evidence=dict(c.evidence or {}),
            )
            for c in rows
        ]

    def _events(self, incident_id: int) -> list[EventRow]:
        rows = self._session.execute(
            sa.select(Event, User.display_name)
            .outerjoin(User, User.id == Event.actor_user_id)
            .where(Event.incident_id == incident_id)
            .order_by(Event.id)
        ).all()
        return [
            EventRow(e.id, e.kind, e.from_status, e.to_status, name, dict(e.payload), e.occurred_at)
            for e, name in rows
        ]

    def _assignments(self, incident_id: int) -> list[AssignmentRow]:
        clocks = EventRepository(self._session).clocks([incident_id])
        rows = self._session.execute(
            sa.select(Assignment, Executor.code, Executor.name)
            .join(Executor, Executor.id == Assignment.executor_id)
            .where(Assignment.incident_id == incident_id)
            .order_by(Assignment.id)
        ).all()
        return [
            AssignmentRow(
                id=a.id,
                executor_code=code,
                executor_name=name,
                status=a.status,
                received_at=a.received_at,
                deadline_at=a.deadline_at,
                at_risk_at=a.at_risk_at,
                interim=a.interim,
                rule_id=a.rule_id,
                clock=clocks.get(a.id),
            )
            for a, code, name in rows
        ]

    def _answers(self, incident_id: int) -> list[AnswerRow]:
        rows = self._session.execute(
            sa.select(Answer, User.display_name)
            .outerjoin(User, User.id == Answer.author_user_id)
            .where(Answer.incident_id == incident_id)
            .order_by(Answer.id)
        ).all()
        return [
            AnswerRow(
                a.id,
                a.kind,
                a.status,
                a.text,
                name,
                a.review_comment,
                a.created_at,
                a.published_at,
            )
            for a, name in rows
        ]

    # ------------------------------------------------------------------ choices and templates

    def executors(self) -> list[tuple[str, str]]:
        """Return the active executors as (code, name), by name."""
        rows = self._session.execute(
            sa.select(Executor.code, Executor.name)
            .where(Executor.active.is_(True))
            .order_by(Executor.name)
        )
        return [(code, name) for code, name in rows]

    def sources(self) -> list[tuple[int, str, Network]]:
        """Return the sources as (id, title, network), by title."""
        rows = self._session.execute(
            sa.select(Source.id, Source.title, Source.network).order_by(Source.title, Source.id)
        )
        return [(i, title or str(i), network) for i, title, network in rows]

    def templates(self, executor: str) -> list[TemplateRow]:
        """Return an executor's reply templates, by title."""
        rows = self._session.execute(
            sa.select(ResponseTemplate, Executor.code)
            .join(Executor, Executor.id == ResponseTemplate.executor_id)
            .where(Executor.code == executor)
            .order_by(ResponseTemplate.title, ResponseTemplate.id)
        ).all()
        return [TemplateRow(t.id, code, t.title, t.text, t.updated_at) for t, code in rows]

    def save_template(
        self, executor: str, template_id: int | None, title: str, text: str, *, now: dt.datetime
    ) -> TemplateRow:
        """Add a template (``template_id`` None) or change one of this executor's templates."""
        executor_id = self._session.scalar(sa.select(Executor.id).where(Executor.code == executor))
        if executor_id is None:
            raise NotFound(f"no executor {executor!r}")
        if template_id is None:
            row = ResponseTemplate(
                executor_id=executor_id, title=title, text=text, created_at=now, updated_at=now
            )
            self._session.add(row)
        else:
            found = self._session.get(ResponseTemplate, template_id)
            if found is None or found.executor_id != executor_id:
                raise NotFound(f"no template {template_id}")
            row = found
            row.title, row.text, row.updated_at = title, text, now
        self._session.flush()
        return TemplateRow(row.id, executor, row.title, row.text, row.updated_at)

    def delete_template(self, executor: str, template_id: int) -> None:
        """Delete one of this executor's templates; NotFound for anyone else's."""
        found = self._session.get(ResponseTemplate, template_id)
        executor_id = self._session.scalar(sa.select(Executor.id).where(Executor.code == executor))
        if found is None or found.executor_id != executor_id:
            raise NotFound(f"no template {template_id}")
        self._session.delete(found)
        self._session.flush()
