"""The workspace's read side for web/: the queue and the incident page, scoped to the viewer.

Implements ``web.contracts.Queries`` over storage's ``QueueRepository``. The viewer's scope (an
executor's staff see only incidents actively assigned to their executor) is passed into every
query, so lists, filters, search and incident ids all obey it. Cursors are opaque to clients
(base64 of the sort keys) and checked when they come back.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from app.answer_review import AnswerDraft, ComplaintContext, review_answer
from app.deadline_text import explanation_lines
from app.permissions import Actor, Role
from app.routing import Routing
from app.suggestions import pending_suggestions
from app.workflow import SPLITTABLE, SPLITTERS, Action, allowed_actions
from classifier.regions import Region
from classifier.rubricator import Rubricator
from router.sla import ClockState, explain_clock, status
from storage.enums import AnswerKind, AnswerStatus, IncidentStatus, Network, Priority
from storage.repositories.errors import NotFound as RowNotFound
from storage.repositories.incidents import IncidentRepository
from storage.repositories.notices import NoticeRepository
from storage.repositories.overview import OverviewRepository
from storage.repositories.queue import (
    AssignmentRow,
    IncidentPage,
    QueueQuery,
    QueueRepository,
    QueueResult,
    SlaFilter,
    read_queue,
)
from storage.repositories.queue import QueueSort as StorageSort
from web.contracts import (
    ActionName,
    AnswerView,
    AssignmentView,
    ClassificationView,
    EventView,
    FilterChoices,
    IncidentDetail,
    MessageView,
    NoticeView,
    QueueFilter,
    QueuePage,
    QueueRow,
    ReviewFlagView,
    SlaState,
    TemplateView,
    Viewer,
)
from web.errors import BadRequest, NotFound

__all__ = [
    "CHOICES_TTL",
    "MAX_PAGE",
    "OPEN_STATES",
    "QueryService",
    "actor_of",
    "decode_cursor",
    "encode_cursor",
    "queue_query",
    "viewer_scope",
]

#: The longest page a client may ask for.
MAX_PAGE = 200

#: How long a process keeps the filter choices (executors, sources, topics, municipalities).
CHOICES_TTL = timedelta(seconds=60)

_ENDED = frozenset({IncidentStatus.CLOSED, IncidentStatus.REJECTED, IncidentStatus.MERGED})

#: The queue without a state filter: every incident not closed, rejected or merged.
OPEN_STATES = tuple(s for s in IncidentStatus if s not in _ENDED)


def actor_of(viewer: Viewer) -> Actor:
    """Return the workflow's actor for a signed-in user."""
    role = Role(viewer.role)
    return Actor(
        role,
        user_id=viewer.user_id,
        executor_code=viewer.executor_code if role is Role.EXECUTOR else None,
    )


def viewer_scope(viewer: Viewer) -> str | None:
    """Return the executor whose incidents alone the viewer sees (None: every incident)."""
    if viewer.role == Role.EXECUTOR.value:
        if not viewer.executor_code:
            raise NotFound("нет исполнителя у пользователя")
        return viewer.executor_code
    return None


def encode_cursor(sort: str, keys: Sequence[Any]) -> str:
    """Return the opaque cursor of a page that ends at a row with these sort keys."""
    values = [k.isoformat() if isinstance(k, datetime) else k for k in keys]
    raw = json.dumps([sort, *values], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, sort: str) -> tuple[Any, ...]:
    """Read a cursor back; BadRequest when it is damaged or from another order."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = json.loads(raw)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise BadRequest("испорченный курсор страницы", field="cursor") from None
    if not isinstance(data, list) or not data or data[0] != sort:
        raise BadRequest("курсор от другой сортировки", field="cursor")
    shapes = {
        "priority": (int, datetime, int),
        "received": (datetime, int),
        "deadline": (datetime, int),
    }
    shape = shapes.get(sort)
    if shape is None or len(data) != len(shape) + 1:
        raise BadRequest("испорченный курсор страницы", field="cursor")
    keys: list[Any] = []
    for kind, value in zip(shape, data[1:], strict=True):
        try:
            if kind is datetime:
                moment = datetime.fromisoformat(str(value))
                if moment.tzinfo is None:
                    raise ValueError("naive")
                keys.append(moment)
            elif isinstance(value, int) and not isinstance(value, bool):
                keys.append(value)
            else:
                raise ValueError("not an integer")
        except ValueError:
            raise BadRequest("испорченный курсор страницы", field="cursor") from None
    return tuple(keys)


def _sla(
    assignment_status: str | None,
    deadline: datetime | None,
    at_risk: datetime | None,
    now: datetime,
) -> SlaState | None:
    if assignment_status != "received" or deadline is None:
        return None
    if deadline <= now:
        return SlaState.OVERDUE
    if at_risk is not None and at_risk <= now:
        return SlaState.AT_RISK
    return SlaState.OK


def _row(result: QueueResult, now: datetime) -> QueueRow:
    return QueueRow(
        id=result.id,
        public_number=result.public_number,
        status=result.status.value,
        version=result.version,
        priority=result.priority.value,
        title=result.title,
        topic_group=result.topic_group,
        topic=result.topic,
        municipality=result.municipality,
        message_count=result.message_count,
        author_count=result.author_count,
        created_at=result.created_at,
        executor_code=result.executor_code,
        executor_name=result.executor_name,
        deadline_at=result.deadline_at,
        sla=_sla(
            result.assignment_status.value if result.assignment_status else None,
            result.deadline_at,
            result.at_risk_at,
            now,
        ),
    )


def queue_query(filters: QueueFilter, now: datetime) -> QueueQuery:
    """Turn the screens' filters into storage's query; BadRequest naming a bad value."""
    try:
        statuses = tuple(IncidentStatus(s) for s in filters.states) or OPEN_STATES
        network = Network(filters.network) if filters.network else None
        priority = Priority(filters.priority) if filters.priority else None
        sort = StorageSort(filters.sort.value)
    except ValueError as err:
        raise BadRequest(f"неизвестное значение фильтра: {err}") from None
    if not 1 <= filters.limit <= MAX_PAGE:
        raise BadRequest(f"размер страницы от 1 до {MAX_PAGE}", field="limit")
    after = decode_cursor(filters.cursor, sort.value) if filters.cursor else None
    text = (filters.text or "").strip()[:200] or None
    return QueueQuery(
        now=now,
        statuses=statuses,
        topic_group=filters.topic_group or None,
        topic=filters.topic or None,
        municipality_oktmo=filters.municipality or None,
        executor_code=filters.executor or None,
        sla=SlaFilter(filters.sla.value) if filters.sla else None,
        network=network,
        source_id=filters.source,
        priority=priority,
        received_from=filters.received_from,
        received_to=filters.received_to,
        text=text,
        sort=sort,
        after=after,
        limit=filters.limit,
    )


#: The workflow's actions as the screens' actions.
_SCREEN: dict[Action, tuple[ActionName, ...]] = {
    Action.TRIAGE: (ActionName.TRIAGE,),
    Action.ASSIGN: (ActionName.ASSIGN,),
    Action.ACCEPT: (ActionName.ACCEPT,),
    Action.ANSWER_INTERIM: (ActionName.ANSWER,),
    Action.ANSWER_FINAL: (ActionName.ANSWER,),
    Action.APPROVE: (ActionName.APPROVE,),
    Action.SEND_FOR_REWORK: (ActionName.REWORK,),
    Action.CLOSE: (ActionName.CLOSE,),
    Action.RETURN: (ActionName.RETURN,),
    Action.REJECT: (ActionName.REJECT,),
    Action.MERGE: (ActionName.MERGE,),
    Action.REOPEN: (ActionName.REOPEN,),
}

_ROUTABLE = frozenset(
    {IncidentStatus.NEW, IncidentStatus.TRIAGE, IncidentStatus.REOPENED, IncidentStatus.RETURNED}
)


class QueryService:
    """The read side the web application awaits (each read in a worker thread)."""

    def __init__(
        self,
        *,
        sessionmaker: sessionmaker[Session],
        routing: Callable[[], Routing],
        clock: Callable[[], datetime],
        rubricator: Rubricator | None = None,
        region: Region | None = None,
        choices_ttl: timedelta = CHOICES_TTL,
    ) -> None:
        """Take the session factory, the routing in force, the clock and the reference data."""
        self._sessions = sessionmaker
        self._routing = routing
        self._clock = clock
        self._rubricator = rubricator
        self._region = region
        self._choices_ttl = choices_ttl
        self._choices: tuple[datetime, FilterChoices] | None = None

    # ------------------------------------------------------------------ the queue

    def queue_sync(self, viewer: Viewer, filters: QueueFilter) -> QueuePage:
        """Return one page of the queue for the viewer."""
        now = self._clock()
        query = queue_query(filters, now)
        scope = viewer_scope(viewer)
        # A plain connection of the same engine: a Session around one read costs more CPU.
        with self._sessions.kw["bind"].connect() as conn:
            results = read_queue(conn, query, executor=scope)
        page = results[: query.limit]
        more = len(results) > query.limit
        cursor = encode_cursor(query.sort.value, page[-1].keys) if more and page else None
        return QueuePage(tuple(_row(r, now) for r in page), cursor)

    async def queue(self, viewer: Viewer, filters: QueueFilter) -> QueuePage:
        """Return one page of the queue for the viewer."""
        return await asyncio.to_thread(self.queue_sync, viewer, filters)

    # ------------------------------------------------------------------ one incident

    def _assignment(self, row: AssignmentRow, now: datetime) -> AssignmentView:
        routing = self._routing()
        explanation: tuple[str, ...] = ()
        sla = None
        if row.clock is not None:
            hours = routing.hours_of(row.executor_code)
            explanation = tuple(explanation_lines(explain_clock(row.clock, hours)))
            state = status(row.clock, now, hours, routing.policy.at_risk_share).state
            sla = {
                ClockState.OVERDUE: SlaState.OVERDUE,
                ClockState.AT_RISK: SlaState.AT_RISK,
                ClockState.ON_TRACK: SlaState.OK,
            }.get(state)
        return AssignmentView(
            id=row.id,
            executor_code=row.executor_code,
            executor_name=row.executor_name,
            status=row.status.value,
            received_at=row.received_at,
            deadline_at=row.deadline_at,
            sla=sla,
            interim=row.interim,
            rule_id=row.rule_id,
            explanation=explanation,
        )

    def _allowed(self, session: Session, viewer: Viewer, page: IncidentPage) -> tuple[str, ...]:
        actor = actor_of(viewer)
        record = IncidentRepository(session).get(page.incident.id)
        names: list[str] = []
        for action in allowed_actions(record, actor):
            names.extend(n.value for n in _SCREEN.get(action, ()))
        if actor.role in SPLITTERS:
            if record.status in _ROUTABLE:
                names.insert(0, ActionName.CONFIRM_ROUTE.value)
            if record.status not in _ENDED:
                names.append(ActionName.RECLASSIFY.value)
            if record.status in SPLITTABLE and page.incident.message_count > 1:
                names.append(ActionName.SPLIT.value)
        return tuple(dict.fromkeys(names))

    def _review_flags(
        self, page: IncidentPage, text: str, kind: AnswerKind, state: AnswerStatus
    ) -> tuple[ReviewFlagView, ...]:
        """The review aid's flags for a final answer waiting for review (app/answer_review.py)."""
        if kind is not AnswerKind.FINAL or state is not AnswerStatus.SUBMITTED:
            return ()
        head = page.incident
        complaint = ComplaintContext(
            texts=tuple(m.text for m in page.messages if m.text and not m.deleted),
            topic_group=head.topic_group,
            topic=head.topic,
            municipality=head.municipality,
            region_municipalities=(
                tuple(m.name for m in self._region.municipalities) if self._region else ()
            ),
        )
        # Answers carry no files yet: evidence is what the text says (a photo, an act).
        flags = review_answer(AnswerDraft(text, has_attachments=False), complaint)
        return tuple(ReviewFlagView(f.code.value, f.reason_ru, f.evidence) for f in flags)

    def incident_sync(self, viewer: Viewer, incident_id: int) -> IncidentDetail:
        """Return the incident page's content; NotFound when absent or out of scope."""
        now = self._clock()
        with self._sessions() as session:
            try:
                page = QueueRepository(session).incident(incident_id, executor=viewer_scope(viewer))
            except RowNotFound:
                raise NotFound(f"инцидент {incident_id} не найден") from None
            allowed = self._allowed(session, viewer, page)
            suggestions = (
                ()
                if page.incident.status in _ENDED
                else pending_suggestions(
                    session,
                    page.incident.id,
                    (m.grouping_evidence for m in page.messages),
                    ((e.kind, e.payload) for e in page.events),
                )
            )
            notices = NoticeRepository(session).of_incidents([incident_id]).get(incident_id, [])
            supported = OverviewRepository(session).support_counts([incident_id])
        head = page.incident
        row = _row(head, now)
        return IncidentDetail(
            row=row,
            summary=page.summary,
            municipality_oktmo=page.municipality_oktmo,
            reach=page.reach,
            resolution=page.resolution,
            closed_at=page.closed_at,
            merged_into=page.merged_into_number,
            parent=page.parent_number,
            messages=tuple(
                MessageView(
                    id=m.id,
                    network=m.network.value,
                    kind=m.kind.value,
                    author_id=m.author_id,
                    text=m.text,
                    posted_at=m.posted_at,
                    url=m.url,
                    source_title=m.source_title,
                    deleted=m.deleted,
                    grouping_version=m.grouping_version,
                    grouping_evidence=m.grouping_evidence,
                )
                for m in page.messages
            ),
            classifications=tuple(
                ClassificationView(
                    message_id=c.message_id,
                    model_version=c.model_version,
                    is_complaint=c.is_complaint,
                    complaint_confidence=c.complaint_confidence,
                    topic_group=c.topic_group,
                    topic=c.topic,
                    topic_confidence=c.topic_confidence,
                    municipality=c.municipality,
                    municipality_confidence=c.municipality_confidence,
                    evidence=c.evidence,
                )
                for c in page.classifications
            ),
            events=tuple(
                EventView(
                    id=e.id,
                    kind=e.kind,
                    from_status=e.from_status,
                    to_status=e.to_status,
                    actor=e.actor_name,
                    occurred_at=e.occurred_at,
                    details=_event_details(e.payload),
                )
                for e in page.events
            ),
            assignments=tuple(self._assignment(a, now) for a in page.assignments),
            answers=tuple(
                AnswerView(
                    id=a.id,
                    kind=a.kind.value,
                    status=a.status.value,
                    text=a.text,
                    author=a.author_name,
                    review_comment=a.review_comment,
                    created_at=a.created_at,
                    published_at=a.published_at,
                    review_flags=self._review_flags(page, a.text, a.kind, a.status),
                )
                for a in page.answers
            ),
            allowed_actions=allowed,
            suggestions=suggestions,
            notices=tuple(
                NoticeView(
                    label=n.label,
                    service=n.service,
                    starts_at=n.starts_at,
                    ends_at=n.ends_at,
                    text=n.text,
                    message_key=n.key,
                )
                for n in notices
            ),
            supported=supported.get(incident_id, 0),
        )

    async def incident(self, viewer: Viewer, incident_id: int) -> IncidentDetail:
        """Return the incident page's content for the viewer."""
        return await asyncio.to_thread(self.incident_sync, viewer, incident_id)

    # ------------------------------------------------------------------ choices, templates

    def choices_sync(self, viewer: Viewer) -> FilterChoices:
        """Return what the queue's filters and the forms offer (the same for every viewer).

        Kept for ``choices_ttl`` seconds in this process: the queue page asked the database for
        the executors and sources on every view. A new executor or source shows up in the lists
        within that time; :meth:`forget_choices` drops the copy at once.
        """
        now = self._clock()
        cached = self._choices
        if cached is not None and now < cached[0]:
            return cached[1]
        fresh = self._read_choices()
        self._choices = (now + self._choices_ttl, fresh)
        return fresh

    def forget_choices(self) -> None:
        """Drop the kept filter choices (the next page reads them again)."""
        self._choices = None

    def _read_choices(self) -> FilterChoices:
        with self._sessions() as session:
            repo = QueueRepository(session)
            executors = tuple(repo.executors())
            sources = tuple((i, t, n.value) for i, t, n in repo.sources())
        groups: tuple[tuple[str, tuple[str, ...]], ...] = ()
        if self._rubricator is not None:
            rubricator = self._rubricator
            groups = tuple(
                (g, tuple(t.name for t in rubricator.topics_of(g))) for g in rubricator.groups
            )
        municipalities: tuple[tuple[str, str], ...] = ()
        if self._region is not None:
            municipalities = tuple(
                sorted(((m.oktmo, m.name) for m in self._region.municipalities), key=lambda x: x[1])
            )
        return FilterChoices(
            executors=executors,
            topic_groups=groups,
            municipalities=municipalities,
            sources=sources,
            networks=tuple(n.value for n in Network),
        )

    async def choices(self, viewer: Viewer) -> FilterChoices:
        """Return what the filters and forms offer."""
        return await asyncio.to_thread(self.choices_sync, viewer)

    def templates_sync(self, viewer: Viewer) -> tuple[TemplateView, ...]:
        """Return the reply templates of the viewer's executor."""
        if not viewer.is_executor or not viewer.executor_code:
            return ()
        with self._sessions() as session:
            rows = QueueRepository(session).templates(viewer.executor_code)
        return tuple(TemplateView(r.id, r.title, r.text, r.updated_at) for r in rows)

    async def templates(self, viewer: Viewer) -> tuple[TemplateView, ...]:
        """Return the reply templates of the viewer's executor."""
        return await asyncio.to_thread(self.templates_sync, viewer)


#: Payload keys shown in the history (clocks are shown with the assignments instead).
_SHOWN = (
    "reason",
    "comment",
    "executor",
    "rule_id",
    "return_kind",
    "resolution",
    "into_number",
    "new_number",
    "split_from_number",
    "parent_number",
    "message_key",
    "evidence",
    "topic",
    "municipality",
    "level",
    "deadline",
    "external_reply_id",
)


def _event_details(payload: dict[str, Any]) -> dict[str, Any]:
    return {k: payload[k] for k in _SHOWN if payload.get(k) not in (None, "", [], {})}
