"""The JSON API's pydantic models: they validate requests and describe responses.

The OpenAPI document (web/api/openapi.py) is generated from these same models, so the
documentation cannot drift from what the API accepts and answers. Request models forbid unknown
fields, so a misspelt field is a 422 naming it rather than silently ignored.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from web.contracts import ActionName, QueueSort, SlaState

__all__ = [
    "ACTION_BODIES",
    "AcceptBody",
    "ActionBody",
    "ActionResultOut",
    "AnswerBody",
    "AnswerOut",
    "ApproveBody",
    "AssignBody",
    "AssignmentOut",
    "ClassificationOut",
    "CloseBody",
    "ConfirmRouteBody",
    "ErrorOut",
    "EventOut",
    "ExecutorList",
    "ExecutorOut",
    "ExportFormat",
    "ExportQuery",
    "IncidentDetailOut",
    "IncidentList",
    "IncidentQuery",
    "IncidentSummary",
    "LoginBody",
    "MeOut",
    "MergeBody",
    "MessageOut",
    "Network",
    "NoticeOut",
    "Priority",
    "ReclassifyBody",
    "RejectBody",
    "ReopenBody",
    "Resolution",
    "ReturnBody",
    "ReturnKind",
    "ReviewFlagOut",
    "ReworkBody",
    "SplitBody",
    "State",
    "SuggestionOut",
    "TokenOut",
    "TriageBody",
]

#: The longest free text an action takes (the action service refuses longer).
TEXT_MAX = 8000
#: Ids are PostgreSQL bigints.
ID_MAX = 2**63 - 1


class State(enum.StrEnum):
    """An incident's workflow state."""

    NEW = "new"
    TRIAGE = "triage"
    ASSIGNED = "assigned"
    IN_PROGRESS = "in_progress"
    ANSWERED = "answered"
    APPROVED = "approved"
    PUBLISHED = "published"
    CLOSED = "closed"
    RETURNED = "returned"
    REWORK = "rework"
    REJECTED = "rejected"
    MERGED = "merged"
    REOPENED = "reopened"


class Priority(enum.StrEnum):
    """An incident's priority."""

    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


class Network(enum.StrEnum):
    """Where a message was published."""

    VK = "vk"
    OK = "ok"
    TELEGRAM = "telegram"
    FILE = "file"


class Resolution(enum.StrEnum):
    """How a closed incident ended."""

    FIXED = "fixed"
    ANSWERED_ONLY = "answered_only"


class ReturnKind(enum.StrEnum):
    """Why an executor returns an incident: not its business, or it needs clarification."""

    NOT_OURS = "not_ours"
    CLARIFICATION = "clarification"


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    @field_validator("*")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        # PostgreSQL text cannot hold NUL: refused here as a 422 naming the field, not a 500.
        texts = value if isinstance(value, list) else [value]
        if any(isinstance(text, str) and "\x00" in text for text in texts):
            raise ValueError("NUL (\\u0000) is not allowed")
        return value


class _Response(BaseModel):
    model_config = ConfigDict(frozen=True, from_attributes=True)


# --------------------------------------------------------------------------- requests


class _QueueFilters(_Request):
    """The queue's filters and order (shared by the list and its export)."""

    state: list[State] = Field(
        default_factory=list, description="Workflow states (repeat the parameter for several)."
    )
    topic_group: str | None = Field(None, max_length=200, description="Topic group (exact).")
    topic: str | None = Field(None, max_length=200, description="Topic of the rubricator (exact).")
    municipality: str | None = Field(None, max_length=20, description="Municipality's OKTMO code.")
    executor: str | None = Field(None, max_length=64, description="Active executor's code.")
    sla: SlaState | None = Field(
        None,
        description="Where the running clock stands (ok, at_risk, overdue); late: an "
        "executor's final answer came after its deadline.",
    )
    network: Network | None = Field(None, description="A message of the incident came from it.")
    source: int | None = Field(None, ge=1, le=2**62, description="A message came from this source.")
    priority: Priority | None = None
    from_: date | None = Field(
        None, alias="from", description="Received on or after this day (in the region's zone)."
    )
    to: date | None = Field(None, description="Received on or before this day (region's zone).")
    q: str | None = Field(
        None, max_length=200, description="Words in the messages' text, or an incident number."
    )
    sort: QueueSort | None = Field(
        None, description="Order: priority (default) or deadline (default for executors), received."
    )


class IncidentQuery(_QueueFilters):
    """The queue's filters, order and page: the query parameters of GET /api/v1/incidents."""

    cursor: str | None = Field(
        None, max_length=1000, description="next_cursor of the previous page (same filters)."
    )
    limit: int = Field(50, ge=1, le=200, description="Page size.")


class ExportFormat(enum.StrEnum):
    """A file format of the exports."""

    CSV = "csv"
    XLSX = "xlsx"


class ExportQuery(_QueueFilters):
    """The queue's filters and order, and the file's format: GET /api/v1/incidents/export."""

    format: ExportFormat = Field(
        description="csv (UTF-8 with BOM, `;`-separated, for Russian Excel) or xlsx."
    )


class LoginBody(_Request):
    """A login and password (the sign-in is throttled like the login form)."""

    login: str = Field(min_length=1, max_length=128)
    password: str = Field(min_length=1, max_length=1024)


class ActionBody(_Request):
    """Every action carries the incident's version it was decided on (optimistic locking)."""

    version: int = Field(ge=1, le=ID_MAX, description="The incident's version the client saw.")


class ConfirmRouteBody(ActionBody):
    """Route the incident by the jurisdiction rules."""


class TriageBody(ActionBody):
    """Send the incident (back) to the operators' triage."""

    reason: str = Field("", max_length=TEXT_MAX)


class ReclassifyBody(ActionBody):
    """Set the topic and municipality (stored as training labels)."""

    topic_group: str | None = Field(None, max_length=200)
    topic: str | None = Field(None, max_length=200)
    municipality: str | None = Field(None, max_length=20, description="OKTMO code.")


class RejectBody(ActionBody):
    """Reject as not an incident."""

    reason: str = Field(min_length=1, max_length=TEXT_MAX)


class AssignBody(ActionBody):
    """Assign or reassign to an executor (both clocks are kept)."""

    executor: str = Field(min_length=1, max_length=64, description="The executor's code.")
    reason: str = Field("", max_length=TEXT_MAX)


class MergeBody(ActionBody):
    """Merge into another incident."""

    into: str = Field(
        min_length=1, max_length=40, description="The incident to merge into: number or id."
    )


class SplitBody(ActionBody):
    """Split these messages off into a new incident."""

    message_ids: list[int] = Field(min_length=1, max_length=500)
    reason: str = Field(min_length=1, max_length=TEXT_MAX)


class ApproveBody(ActionBody):
    """Approve the executor's answer."""


class ReworkBody(ActionBody):
    """Send the answer back to the executor."""

    reason: str = Field(min_length=1, max_length=TEXT_MAX, description="What to rework.")


class CloseBody(ActionBody):
    """Close a published incident."""

    resolution: Resolution


class AcceptBody(ActionBody):
    """The executor accepts the incident."""


class ReturnBody(ActionBody):
    """The executor returns the incident."""

    return_kind: ReturnKind
    reason: str = Field(min_length=1, max_length=TEXT_MAX)


class AnswerBody(ActionBody):
    """The executor's interim or final answer."""

    text: str = Field(min_length=1, max_length=TEXT_MAX)
    interim: bool = False


class ReopenBody(ActionBody):
    """Reopen a published or closed incident."""

    reason: str = Field(min_length=1, max_length=TEXT_MAX)


#: Each action's body.
ACTION_BODIES: dict[ActionName, type[ActionBody]] = {
    ActionName.CONFIRM_ROUTE: ConfirmRouteBody,
    ActionName.TRIAGE: TriageBody,
    ActionName.RECLASSIFY: ReclassifyBody,
    ActionName.REJECT: RejectBody,
    ActionName.ASSIGN: AssignBody,
    ActionName.MERGE: MergeBody,
    ActionName.SPLIT: SplitBody,
    ActionName.APPROVE: ApproveBody,
    ActionName.REWORK: ReworkBody,
    ActionName.CLOSE: CloseBody,
    ActionName.ACCEPT: AcceptBody,
    ActionName.RETURN: ReturnBody,
    ActionName.ANSWER: AnswerBody,
    ActionName.REOPEN: ReopenBody,
}


# --------------------------------------------------------------------------- responses


class ErrorOut(_Response):
    """Every error: its HTTP status, a title, one line saying what is wrong, the bad field."""

    status: int
    error: str
    detail: str
    field: str | None = Field(None, description="The request's field that is wrong, if one is.")


class MeOut(_Response):
    """The signed-in user."""

    id: int
    login: str
    name: str
    role: str
    executor_code: str | None
    executor_name: str | None
    auth: str = Field(description="How this request was authenticated: session or token.")
    csrf_token: str | None = Field(
        description="Send as X-CSRF-Token on unsafe calls made with the session cookie "
        "(null for token calls, which need none)."
    )


class TokenOut(_Response):
    """A new API token: shown once, only its hash is kept."""

    token: str
    token_type: str = "bearer"  # noqa: S105 - the scheme's name, not a secret


class ExecutorOut(_Response):
    """An executor (ministry or municipal administration)."""

    code: str
    name: str


class ExecutorList(_Response):
    """The active executors, by name."""

    items: list[ExecutorOut]


class IncidentSummary(_Response):
    """One incident in the queue."""

    id: int
    public_number: str
    status: State
    version: int
    priority: Priority
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


class IncidentList(_Response):
    """One page of the queue; pass next_cursor back (with the same filters) for the next."""

    items: list[IncidentSummary]
    next_cursor: str | None


class MessageOut(_Response):
    """A message of the incident, with why grouping put it there."""

    id: int
    network: Network
    kind: str
    author_id: str | None
    text: str
    posted_at: datetime
    url: str | None
    source_title: str
    deleted: bool
    grouping_version: str
    grouping_evidence: dict[str, Any]


class ClassificationOut(_Response):
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


class EventOut(_Response):
    """One entry of the history (the event log)."""

    id: int
    kind: str
    from_status: str | None
    to_status: str | None
    actor: str | None
    occurred_at: datetime
    details: dict[str, Any]


class AssignmentOut(_Response):
    """One executor's share: its clock's state and the deadline's explanation."""

    id: int
    executor_code: str
    executor_name: str
    status: str
    received_at: datetime | None
    deadline_at: datetime | None
    sla: SlaState | None
    interim: bool
    rule_id: str | None
    explanation: list[str]


class ReviewFlagOut(_Response):
    """Why a region's rules would send the answer back: advice, it never blocks approval."""

    code: Literal[
        "no_term",
        "no_evidence",
        "only_law",
        "brush_off",
        "other_topic",
        "other_address",
        "unrelated",
    ]
    reason: str = Field(description="The reason in Russian, as the incident page shows it.")
    evidence: list[str] = Field(description="The words of the answer that raised the flag.")


class AnswerOut(_Response):
    """An executor's answer and its review."""

    id: int
    kind: str
    status: str
    text: str
    author: str | None
    review_comment: str | None
    created_at: datetime
    published_at: datetime | None
    review_flags: list[ReviewFlagOut] = Field(
        default_factory=list,
        description="The answer review aid's flags for a final answer waiting for review.",
    )


class SuggestionOut(_Response):
    """A merge grouping suggested: accept it with the ``merge`` action into ``incident_id``."""

    incident_id: int
    public_number: str
    entity: str = Field(description="The shared grouping key, e.g. addr:чапаев:5.")
    shared: str = Field(description="What the incidents share, in Russian.")
    confidence: float | None
    text: str


class NoticeOut(_Response):
    """A planned outage or closure (an official notice) the incident's complaints fall under."""

    label: str = Field(description="What the operator sees, e.g. «плановое отключение: вода».")
    service: str
    starts_at: datetime
    ends_at: datetime
    text: str
    message_key: str


class IncidentDetailOut(IncidentSummary):
    """The incident page's content, and the actions the caller may take now."""

    summary: str
    municipality_oktmo: str | None
    reach: int
    resolution: str | None
    closed_at: datetime | None
    merged_into: str | None
    parent: str | None
    messages: list[MessageOut]
    classifications: list[ClassificationOut]
    events: list[EventOut]
    assignments: list[AssignmentOut]
    answers: list[AnswerOut]
    allowed_actions: list[ActionName]
    suggestions: list[SuggestionOut] = Field(
        default_factory=list, description="Merges grouping suggested and did not make."
    )
    notices: list[NoticeOut] = Field(default_factory=list)
    supported: int = Field(0, description="Messages linked as support: «поддержали: N».")


class ActionResultOut(_Response):
    """The incident after the action (its new version), and what to tell the user."""

    incident_id: int
    public_number: str
    status: State
    version: int
    message: str
    created_incident_id: int | None = Field(None, description="The new incident of a split.")
