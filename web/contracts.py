"""What the workspace's screens (and the JSON API) exchange with app/: plain frozen dataclasses.

app/ implements the three services (``Accounts``, ``Queries``, ``Actions``) and hands them to
``create_app``; web/ never sees storage or the workflow. Services raise the errors of
web/errors.py. Times are aware datetimes in UTC; pages show them in the region's zone.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, BinaryIO, Protocol, runtime_checkable

if TYPE_CHECKING:
    from app.tabular import Table
    from web.dashboard_contracts import Dashboards

__all__ = [
    "ACTION_LABELS",
    "ROLE_LABELS",
    "Accounts",
    "ActionName",
    "ActionRequest",
    "ActionResult",
    "Actions",
    "AnswerView",
    "AssignmentView",
    "BulkResult",
    "ClassificationView",
    "EventView",
    "Exports",
    "FilterChoices",
    "IncidentDetail",
    "MessageView",
    "Queries",
    "QueueFilter",
    "QueuePage",
    "QueueRow",
    "QueueSort",
    "SlaState",
    "TemplateView",
    "Viewer",
    "Workspace",
]


class QueueSort(enum.StrEnum):
    """The queue's orders."""

    PRIORITY = "priority"
    DEADLINE = "deadline"
    RECEIVED = "received"


class SlaState(enum.StrEnum):
    """Where an incident's running clock stands (the queue's SLA filter and marks)."""

    OK = "ok"
    AT_RISK = "at_risk"
    OVERDUE = "overdue"
    LATE = "late"  # a filter only: answered after the deadline (no running clock has it)


class ActionName(enum.StrEnum):
    """What a screen can ask for; app/ maps each to one workflow call."""

    CONFIRM_ROUTE = "confirm_route"
    TRIAGE = "triage"
    RECLASSIFY = "reclassify"
    REJECT = "reject"
    ASSIGN = "assign"
    MERGE = "merge"
    SPLIT = "split"
    APPROVE = "approve"
    REWORK = "rework"
    CLOSE = "close"
    ACCEPT = "accept"
    RETURN = "return"
    ANSWER = "answer"
    REOPEN = "reopen"


#: Button labels of the actions, as the screens show them.
ACTION_LABELS: Mapping[str, str] = {
    "confirm_route": "Подтвердить и направить по правилам",
    "triage": "Вернуть на разбор",
    "reclassify": "Изменить тему и муниципалитет",
    "reject": "Отклонить",
    "assign": "Назначить исполнителя",
    "merge": "Объединить",
    "split": "Выделить сообщения",
    "approve": "Одобрить ответ",
    "rework": "На доработку",
    "close": "Закрыть",
    "accept": "Принять в работу",
    "return": "Вернуть",
    "answer": "Ответить",
    "reopen": "Переоткрыть",
}

ROLE_LABELS: Mapping[str, str] = {
    "operator": "оператор",
    "supervisor": "руководитель",
    "executor": "исполнитель",
    "admin": "администратор",
}


@dataclass(frozen=True, slots=True)
class Viewer:
    """The signed-in user, checked again on every request."""

    user_id: int
    login: str
    name: str
    role: str
    executor_code: str | None = None
    executor_name: str | None = None

    @property
    def is_executor(self) -> bool:
        """Return whether the user is an executor's employee (sees only its incidents)."""
        return self.role == "executor"

    @property
    def triages(self) -> bool:
        """Return whether the user works the operators' queue (operator or supervisor)."""
        return self.role in ("operator", "supervisor")


@dataclass(frozen=True, slots=True)
class QueueFilter:
    """The queue's filters, order and page (``cursor`` from the previous page).

    No ``states``: every open incident (not closed, rejected or merged).
    """

    states: tuple[str, ...] = ()
    topic_group: str | None = None
    topic: str | None = None
    municipality: str | None = None  # OKTMO code
    executor: str | None = None  # executor code
    sla: SlaState | None = None
    network: str | None = None
    source: int | None = None
    priority: str | None = None
    received_from: datetime | None = None
    received_to: datetime | None = None
    text: str | None = None
    sort: QueueSort = QueueSort.PRIORITY
    cursor: str | None = None
    limit: int = 50


@dataclass(frozen=True, slots=True)
class QueueRow:
    """One incident in the queue."""

    id: int
    public_number: str
    status: str
    version: int
    priority: str
    title: str
    topic_group: str | None
    topic: str | None
    municipality: str | None
    message_count: int
    author_count: int
    created_at: datetime
    executor_code: str | None
    executor_name: str | None
    deadline_at: datetime | None
    sla: SlaState | None


@dataclass(frozen=True, slots=True)
class QueuePage:
    """One page of the queue and the cursor of the next one (None: the last page)."""

    rows: tuple[QueueRow, ...]
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class MessageView:
    """A message of an incident, with why grouping put it there."""

    id: int
    network: str
    kind: str
    author_id: str | None
    text: str
    posted_at: datetime
    url: str | None
    source_title: str
    deleted: bool
    grouping_version: str
    grouping_evidence: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class ClassificationView:
    """The classifier's verdict on one message, with its confidences and evidence."""

    message_id: int
    model_version: str
    is_complaint: bool
    complaint_confidence: float
    topic_group: str | None
    topic: str | None
    topic_confidence: float | None
    municipality: str | None
    municipality_confidence: float | None
    evidence: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class EventView:
    """One entry of the history."""

    id: int
    kind: str
    from_status: str | None
    to_status: str | None
    actor: str | None
    occurred_at: datetime
    details: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class AssignmentView:
    """One executor's share, its clock's state and the deadline's explanation."""

    id: int
    executor_code: str
    executor_name: str
    status: str
    received_at: datetime | None
    deadline_at: datetime | None
    sla: SlaState | None
    interim: bool
    rule_id: str | None
    explanation: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ReviewFlagView:
    """Why a region would send the answer back (advice to the reviewer, docs/answer-review.md)."""

    code: str
    reason: str  # in Russian, for the operator
    evidence: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class AnswerView:
    """An executor's answer and its review."""

    id: int
    kind: str
    status: str
    text: str
    author: str | None
    review_comment: str | None
    created_at: datetime
    published_at: datetime | None
    #: The review aid's flags for a final answer waiting for review (empty otherwise).
    review_flags: tuple[ReviewFlagView, ...] = ()


@dataclass(frozen=True, slots=True)
class SuggestionView:
    """A merge grouping suggested but did not make (accept it with the merge action)."""

    incident_id: int
    public_number: str
    entity: str
    shared: str  # «общий адрес Чапаева, 5»
    confidence: float | None
    text: str  # «возможно, то же: #N (общий адрес Чапаева, 5)»


@dataclass(frozen=True, slots=True)
class NoticeView:
    """A planned outage or closure the incident's complaints fall under."""

    label: str  # «плановое отключение: вода»
    service: str
    starts_at: datetime
    ends_at: datetime
    text: str
    message_key: str


@dataclass(frozen=True, slots=True)
class IncidentDetail:
    """Everything the incident page shows, and which actions the viewer may take now."""

    row: QueueRow
    summary: str
    municipality_oktmo: str | None
    reach: int
    resolution: str | None
    closed_at: datetime | None
    merged_into: str | None
    parent: str | None
    messages: tuple[MessageView, ...]
    classifications: tuple[ClassificationView, ...]
    events: tuple[EventView, ...]
    assignments: tuple[AssignmentView, ...]
    answers: tuple[AnswerView, ...]
    allowed_actions: tuple[str, ...]
    suggestions: tuple[SuggestionView, ...] = ()
    notices: tuple[NoticeView, ...] = ()
    supported: int = 0  # messages linked as support (reactions, advice): «поддержали: N»


@dataclass(frozen=True, slots=True)
class FilterChoices:
    """What the queue's filters and the action forms offer."""

    executors: tuple[tuple[str, str], ...]  # (code, name)
    topic_groups: tuple[tuple[str, tuple[str, ...]], ...]  # (group, topics)
    municipalities: tuple[tuple[str, str], ...]  # (OKTMO, name)
    sources: tuple[tuple[int, str, str], ...]  # (id, title, network)
    networks: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class TemplateView:
    """A reply template of the viewer's executor."""

    id: int
    title: str
    text: str
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class ActionRequest:
    """One action on one incident, with the version the page was rendered from."""

    action: ActionName
    version: int
    reason: str = ""
    executor: str | None = None
    into: str | None = None  # the incident merged into: its number or id
    message_ids: tuple[int, ...] = ()
    topic_group: str | None = None
    topic: str | None = None
    municipality: str | None = None  # OKTMO code
    resolution: str | None = None  # fixed | answered_only
    text: str = ""
    interim: bool = False
    return_kind: str | None = None  # not_ours | clarification


@dataclass(frozen=True, slots=True)
class ActionResult:
    """The incident after the action, and what to tell the user."""

    incident_id: int
    public_number: str
    status: str
    version: int
    message: str
    created_incident_id: int | None = None


@dataclass(frozen=True, slots=True)
class BulkResult:
    """A bulk action: the incidents done and those refused (with why)."""

    done: tuple[ActionResult, ...]
    failed: tuple[tuple[int, str], ...] = field(default_factory=tuple)


@runtime_checkable
class Accounts(Protocol):
    """Signing in and recognising the signed-in user on each request."""

    async def authenticate(self, login: str, password: str) -> Viewer:
        """Return the user if the password is right and the account active; else Unauthorized."""
        ...

    async def by_session(self, user_id: int, epoch: int) -> Viewer | None:
        """Return the active user of a session cookie (None: disabled, or the epoch moved)."""
        ...

    async def by_token(self, token: str) -> Viewer | None:
        """Return the active user owning a live API token, or None."""
        ...

    async def issue_token(self, viewer: Viewer) -> str:
        """Make a new API token for the user and return it (only its hash is kept)."""
        ...

    async def session_epoch(self, user_id: int) -> int:
        """Return the user's current session epoch (written into a new session cookie)."""
        ...


@runtime_checkable
class Queries(Protocol):
    """The read side, scoped to the viewer inside every query."""

    async def queue(self, viewer: Viewer, filters: QueueFilter) -> QueuePage:
        """Return one page of the incidents the viewer may see; BadRequest for a bad cursor."""
        ...

    async def incident(self, viewer: Viewer, incident_id: int) -> IncidentDetail:
        """Return the incident page's content; NotFound when absent or out of scope."""
        ...

    async def choices(self, viewer: Viewer) -> FilterChoices:
        """Return what the filters and forms offer."""
        ...

    async def templates(self, viewer: Viewer) -> tuple[TemplateView, ...]:
        """Return the reply templates of the viewer's executor (none for other roles)."""
        ...


@runtime_checkable
class Actions(Protocol):
    """The write side: every change goes through the workflow, under optimistic locking."""

    async def perform(
        self, viewer: Viewer, incident_id: int, request: ActionRequest
    ) -> ActionResult:
        """Take one action; Conflict when the version is stale, Forbidden, NotFound, ..."""
        ...

    async def bulk(
        self, viewer: Viewer, items: Sequence[tuple[int, int]], request: ActionRequest
    ) -> BulkResult:
        """Take the same action on several (incident id, version) pairs, each on its own."""
        ...

    async def save_template(
        self, viewer: Viewer, template_id: int | None, title: str, text: str
    ) -> TemplateView:
        """Add or change a reply template of the viewer's executor."""
        ...

    async def delete_template(self, viewer: Viewer, template_id: int) -> None:
        """Delete a reply template of the viewer's executor."""
        ...


@runtime_checkable
class Exports(Protocol):
    """Lists and tables as files (blocking calls: web/ runs them in a worker thread)."""

    def incidents(self, viewer: Viewer, filters: QueueFilter) -> Table:
        """Return the viewer's filtered queue as a lazily read table; BadRequest for bad filters."""
        ...

    def write(self, table: Table, fmt: str, out: BinaryIO) -> int:
        """Write the table as ``fmt`` (csv or xlsx) into ``out``; return the rows written."""
        ...


@dataclass(frozen=True, slots=True)
class Workspace:
    """The services and settings of the operators' and executors' workspace."""

    accounts: Accounts
    queries: Queries
    actions: Actions
    session_secret: str
    clock: Callable[[], datetime]
    secure_cookies: bool = False
    session_max_age: int = 12 * 3600
    dashboards: Dashboards | None = None  # the KPIs and dashboards (web/dashboard_views.py)
    #: CSV and XLSX exports (None: the export routes answer 404).
    exports: Exports | None = None
