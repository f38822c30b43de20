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
import functools
from dataclasses import dataclass, field
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
    "read_queue",
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


def _like_pattern(words: str) -> str:
    """SQLite's search: the case-folded words anywhere in the case-folded text."""
    escaped = _fold(words).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


# The queue reads Core columns, not ORM attributes: its rows are plain tuples, never objects
# (an ORM-enabled select went through the ORM's loading machinery for every row).
_I = Incident.__table__.c
_E = Executor.__table__.c
_IM = IncidentMessage.__table__.c
_M = Message.__table__.c

_COLUMNS = (
    _I.id,
    _I.public_number,
    _I.status,
    _I.version,
    _I.priority,
    _I.title,
    _I.topic_group,
    _I.topic,
    _I.municipality,
    _I.message_count,
    _I.author_count,
    _I.created_at,
    _E.code,
    _E.name,
    _I.active_status,
    _I.active_deadline_at,
    _I.active_at_risk_at,
    _I.priority_rank,
    _I.queue_deadline_at,
)

_NUMBERED = sa.select(_I.id).where(_I.public_number == sa.bindparam("number", type_=sa.String))


@dataclass(frozen=True, slots=True)
class _Shape:
    """Which filters a queue request uses (not their values): one SQL statement per shape."""

    dialect: str
    scoped: bool
    executor_code: bool
    statuses: bool
    topic_group: bool
    topic: bool
    municipality: bool
    priority: bool
    received_from: bool
    received_to: bool
    sla: SlaFilter | None
    network: bool
    source: bool
    search: str  # "": none, "number": one incident by its number, "words": the messages' text
    sort: QueueSort
    after: bool

    @classmethod
    def of(cls, query: QueueQuery, dialect: str, *, scoped: bool, numbered: int | None) -> _Shape:
        """Return the shape of a request."""
        search = "" if not query.text or not query.text.strip() else "words"
        if search and numbered is not None:
            search = "number"
        return cls(
            dialect=dialect,
            scoped=scoped,
            executor_code=query.executor_code is not None,
            statuses=bool(query.statuses),
            topic_group=query.topic_group is not None,
            topic=query.topic is not None,
            municipality=query.municipality_oktmo is not None,
            priority=query.priority is not None,
            received_from=query.received_from is not None,
            received_to=query.received_to is not None,
            sla=query.sla,
            network=query.network is not None,
            source=query.source_id is not None,
            search=search,
            sort=query.sort,
            after=query.after is not None,
        )

    def needs_incident(self) -> bool:
        """Whether a filter other than the state and the source reads the incident's row."""
        return (
            self.scoped
            or self.executor_code
            or self.topic_group
            or self.topic
            or self.municipality
            or self.priority
            or self.received_from
            or self.received_to
            or self.sla is not None
            or self.network
            or bool(self.search)
        )

    def parameters(self) -> tuple[str, ...]:
        """Return the names of the statement's parameters."""
        flags = {
            "scope": self.scoped,
            "executor_code": self.executor_code,
            "statuses": self.statuses,
            "topic_group": self.topic_group,
            "topic": self.topic,
            "municipality": self.municipality,
            "priority": self.priority,
            "received_from": self.received_from,
            "received_to": self.received_to,
            "now": self.sla in (SlaFilter.OK, SlaFilter.AT_RISK, SlaFilter.OVERDUE),
            "network": self.network,
            "source": self.source,
            "numbered": self.search == "number",
            "words": self.search == "words",
            "limit": True,
        }
        keys = len(_SORT_KEYS[self.sort]) if self.after else 0
        return (
            *(name for name, used in flags.items() if used),
            *(f"after{i}" for i in range(keys)),
        )


_SORT_KEYS: dict[QueueSort, tuple[sa.ColumnElement[Any], ...]] = {
    QueueSort.PRIORITY: (_I.priority_rank, _I.created_at, _I.id),
    QueueSort.RECEIVED: (_I.created_at, _I.id),
    QueueSort.DEADLINE: (_I.queue_deadline_at, _I.id),
}


#: The same keys as copied onto a source's links (migration 0011): the source filter orders
#: the links by them from one index range. The deadline order has no copy (it changes with
#: every assignment); its source filter reads the incidents.
_LINK_SORT_KEYS: dict[QueueSort, tuple[sa.ColumnElement[Any], ...]] = {
    QueueSort.PRIORITY: (_IM.incident_priority_rank, _IM.incident_created_at, _IM.incident_id),
    QueueSort.RECEIVED: (_IM.incident_created_at, _IM.incident_id),
}


def _ordered(
    stmt: Any,
    sort: QueueSort,
    *,
    after: bool,
    keys: tuple[sa.ColumnElement[Any], ...] | None = None,
) -> Any:
    """Order by the sort's keys; with ``after``, start after the row with keys after0, ...

    ``keys``: the sort's keys as other columns hold them (the links' copies).
    """
    keys = _SORT_KEYS[sort] if keys is None else keys
    ascending = sort is QueueSort.DEADLINE
    if after:
        bounds = sa.tuple_(
            *(sa.bindparam(f"after{i}", type_=key.type) for i, key in enumerate(keys))
        )
        row = sa.tuple_(*keys)
        stmt = stmt.where(row > bounds if ascending else row < bounds)
    return stmt.order_by(*(k.asc() if ascending else k.desc() for k in keys))


def _text_match(dialect: str) -> sa.ColumnElement[bool]:
    """Match messages whose text contains :words (Russian stemming on PostgreSQL)."""
    words = sa.bindparam("words", type_=sa.String)
    if dialect == "postgresql":
        # messages.text_tsv: the stored to_tsvector('russian', text) (migration 0010, GIN index
        # ix_messages_text_tsv), so a probe reads each message's vector instead of computing it.
        russian: sa.ColumnElement[str] = sa.literal_column("'russian'::regconfig")
        stored: sa.ColumnElement[Any] = sa.literal_column("messages.text_tsv")
        return stored.bool_op("@@")(sa.func.plainto_tsquery(russian, words))
    folded: sa.ColumnElement[str] = getattr(sa.func, SQLITE_CASEFOLD)(_M.text)
    return folded.like(words, escape="\\")


@functools.lru_cache(maxsize=256)
def _statement(shape: _Shape) -> Any:
    """Build the queue's statement for a shape once (its values are bound parameters).

    Building a select of some fifty elements and its cache key cost more CPU a request than
    running it; a kept statement keeps its cache key, so SQLAlchemy finds its compiled form.
    """
    # The active assignment's fields are copied onto the incident (active_assignment.py),
    # so every filter and order below reads incidents' own indexed columns.
    # sla=overdue|ok: the page's ids first, from ix_incidents_running_deadline_at_keys
    # alone on PostgreSQL (it carries the state and the priority order's keys), then only
    # those rows. Read as one statement, PostgreSQL fetched and joined every overdue
    # incident before its top-N sort (9 000 rows for 51: 60 ms at 1 000 000 incidents).
    # source, in the priority or received order: the page's ids from the source's links, which
    # carry the incident's state and sort keys (migration 0011; one range of
    # ix_incident_messages_source_id_*_keys, the state checked in the index), then only those
    # incidents; an incident is joined for each link walked only when another filter needs
    # it. Read from the incidents, each of the source's incidents was fetched by primary key
    # before the top-N sort (3 334 for 51: 13-18 ms at 1 000 000 incidents).
    link_keys = _LINK_SORT_KEYS.get(shape.sort) if shape.source else None
    deferred = shape.sla in (SlaFilter.OVERDUE, SlaFilter.OK) or link_keys is not None
    stmt: Any
    if link_keys is not None:
        links: Any = IncidentMessage.__table__
        if shape.needs_incident():
            links = links.join(Incident.__table__, _I.id == _IM.incident_id)
        stmt = (
            sa.select(_IM.incident_id)
            .select_from(links)
            .where(_IM.source_id == sa.bindparam("source", type_=_IM.source_id.type))
        )
        if shape.statuses:
            stmt = stmt.where(_IM.incident_status.in_(sa.bindparam("statuses", expanding=True)))
    else:
        stmt = sa.select(_I.id) if deferred else sa.select(*_COLUMNS)
        if not deferred:
            stmt = stmt.select_from(Incident.__table__).outerjoin(
                Executor.__table__, _E.id == _I.active_executor_id
            )
        if shape.statuses:
            stmt = stmt.where(_I.status.in_(sa.bindparam("statuses", expanding=True)))
    for name, used in (("scope", shape.scoped), ("executor_code", shape.executor_code)):
        if used:
            code = sa.bindparam(name, type_=_E.code.type)
            stmt = stmt.where(
                _I.active_executor_id == sa.select(_E.id).where(_E.code == code).scalar_subquery()
            )
    for name, column, used in (
        ("topic_group", _I.topic_group, shape.topic_group),
        ("topic", _I.topic, shape.topic),
        ("municipality", _I.municipality_oktmo, shape.municipality),
        ("priority", _I.priority, shape.priority),
    ):
        if used:
            stmt = stmt.where(column == sa.bindparam(name, type_=column.type))
    if shape.received_from:
        stmt = stmt.where(_I.created_at >= sa.bindparam("received_from", type_=_I.created_at.type))
    if shape.received_to:
        stmt = stmt.where(_I.created_at < sa.bindparam("received_to", type_=_I.created_at.type))
    if shape.sla is SlaFilter.LATE:
        answered = Assignment.__table__.alias("answered")
        stmt = stmt.where(
            sa.exists().where(
                answered.c.incident_id == _I.id,
                answered.c.status.in_((AssignmentStatus.ANSWERED, AssignmentStatus.CLOSED)),
                answered.c.closed_at > answered.c.deadline_at,
            )
        )
    elif shape.sla is not None:
        # The literal matches the partial indexes' predicate (ix_incidents_running_*).
        running = _I.active_status == sa.literal_column("'received'")
        deadline, at_risk = _I.active_deadline_at, _I.active_at_risk_at
        now = sa.bindparam("now", type_=deadline.type)
        if shape.sla is SlaFilter.OVERDUE:
            stmt = stmt.where(running, deadline <= now)
        elif shape.sla is SlaFilter.AT_RISK:
            stmt = stmt.where(running, at_risk <= now, deadline > now)
        else:
            stmt = stmt.where(running, deadline > now, sa.or_(at_risk.is_(None), at_risk > now))
    if shape.source and link_keys is None:
        # The deadline order: start from the source's links
        # (ix_incident_messages_source_id_incident_id, index only; migration 0010), not from
        # the incidents: a correlated EXISTS made PostgreSQL walk incidents in queue order and
        # probe each one's messages (878 ms at 1 000 000 incidents for a source holding 1/300
        # of them, bench/bench_web_queue.py). The set is computed once (MATERIALIZED on
        # PostgreSQL) and the walk only looks it up.
        of_source = (
            sa.select(_IM.incident_id)
            .where(_IM.source_id == sa.bindparam("source", type_=_IM.source_id.type))
            .cte("of_source")
            .prefix_with("MATERIALIZED", dialect="postgresql")
        )
        stmt = stmt.where(_I.id.in_(sa.select(of_source.c.incident_id)))
    message_filters: list[sa.ColumnElement[bool]] = []
    if shape.network:
        message_filters.append(_M.network == sa.bindparam("network", type_=_M.network.type))
    if shape.search == "words":
        # Two separate conditions, not one OR with the number: PostgreSQL cannot turn
        # "EXISTS (...) OR number = ..." into a semi-join, and evaluated every message matching
        # the words (28 s a page at 1 000 000 incidents, bench/bench_web_queue.py).
        message_filters.append(_text_match(shape.dialect))
    for condition in message_filters:
        stmt = stmt.where(
            sa.select(_IM.id)
            .join(Message.__table__, _M.id == _IM.message_id)
            .where(_IM.incident_id == _I.id, condition)
            .exists()
        )
    if shape.search == "number":
        stmt = stmt.where(_I.id == sa.bindparam("numbered", type_=_I.id.type))
    if link_keys is not None:
        # One row an incident (its links from one source share the keys: the group is a run).
        stmt = _ordered(stmt, shape.sort, after=shape.after, keys=link_keys).group_by(*link_keys)
    else:
        stmt = _ordered(stmt, shape.sort, after=shape.after)
    stmt = stmt.limit(sa.bindparam("limit", type_=sa.Integer))
    if deferred:
        page = (
            sa.select(*_COLUMNS)
            .select_from(Incident.__table__)
            .outerjoin(Executor.__table__, _E.id == _I.active_executor_id)
            .where(_I.id.in_(stmt))
        )
        stmt = _ordered(page, shape.sort, after=False)
    return stmt


class QueueRepository:
    """Read queries of the workspace within one session."""

    def __init__(self, session: Session) -> None:
        """Work inside ``session``."""
        self._session = session
        self._dialect = session.get_bind().dialect.name

    # ------------------------------------------------------------------ the queue

    def queue(self, query: QueueQuery, *, executor: str | None) -> list[QueueResult]:
        """Return up to ``query.limit + 1`` rows (one more tells that there is a next page).

        ``executor`` is the viewer's scope: only incidents actively assigned to it are seen.
        """
        return read_queue(self._session, query, executor=executor)

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


def read_queue(
    db: Session | sa.Connection, query: QueueQuery, *, executor: str | None
) -> list[QueueResult]:
    """Return up to ``query.limit + 1`` rows (one more tells that there is a next page).

    ``executor`` is the viewer's scope: only incidents actively assigned to it are seen.
    ``db``: a session, or (cheaper for a web request) a plain connection.
    """
    dialect = (db.get_bind() if isinstance(db, Session) else db).dialect.name
    words = query.text.strip() if query.text else None
    numbered = None
    if words:
        # An incident's number finds that incident; anything else searches the messages.
        numbered = db.execute(_NUMBERED, {"number": words}).scalar()
    shape = _Shape.of(query, dialect, scoped=executor is not None, numbered=numbered)
    values: dict[str, Any] = {
        "scope": executor,
        "executor_code": query.executor_code,
        "statuses": list(query.statuses),
        "topic_group": query.topic_group,
        "topic": query.topic,
        "municipality": query.municipality_oktmo,
        "priority": query.priority,
        "received_from": query.received_from,
        "received_to": query.received_to,
        "now": query.now,
        "network": query.network,
        "source": query.source_id,
        "numbered": numbered,
        "words": words if dialect == "postgresql" else _like_pattern(words or ""),
        "limit": query.limit + 1,
    }
    for i, key in enumerate(query.after or ()):
        values[f"after{i}"] = key
    params = {name: values[name] for name in shape.parameters()}
    rows = db.execute(_statement(shape), params).all()
    return [QueueRepository._result(row, query.sort) for row in rows]
