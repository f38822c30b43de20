"""SQLAlchemy models: the tables of the service, with stable constraint names."""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from storage.enums import (
    AnswerKind,
    AnswerStatus,
    AssignmentStatus,
    ExecutorKind,
    IncidentStatus,
    LabelField,
    MessageKind,
    Network,
    Priority,
    Resolution,
    UserRole,
)
from storage.types import (
    FAR_FUTURE,
    JSON_DOCUMENT,
    FittedString,
    UTCDateTime,
    big_id_pk,
    bool_false,
    bool_true,
    far_future_default,
    int_pk,
    int_zero,
    json_dict,
    utc_now,
    utcnow,
)

__all__ = [
    "EVENTS_APPEND_ONLY_DDL",
    "INCIDENT_MESSAGES_SOURCE_DDL",
    "MESSAGES_TEXT_SEARCH_DDL",
    "NAMING_CONVENTION",
    "PRIORITY_RANK",
    "Answer",
    "ApiToken",
    "Assignment",
    "Base",
    "Classification",
    "Event",
    "Executor",
    "FollowupVerdict",
    "Incident",
    "IncidentFingerprint",
    "IncidentMessage",
    "JobLease",
    "JobState",
    "Message",
    "MessageVersion",
    "NotificationOutbox",
    "OutageNotice",
    "OutageNoticeLink",
    "ResponseTemplate",
    "Source",
    "Tombstone",
    "TrainingLabel",
    "User",
    "message_external_id",
    "metadata",
]

NAMING_CONVENTION: dict[str, str] = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)

E = TypeVar("E", bound=enum.StrEnum)


def _enum(cls: type[E], name: str) -> sa.Enum:
    """Return a portable string enum column type with a named CHECK constraint."""
    return sa.Enum(
        cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=32,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


# Short string columns. Lengths are generous and portable (PostgreSQL VARCHAR, SQLite TEXT).
EXTERNAL_ID_LENGTH = 128
AUTHOR_ID_LENGTH = 64
_EXTERNAL_ID = FittedString(EXTERNAL_ID_LENGTH)  # an overlong id is stored as its fit_id stand-in
_NAME = sa.String(255)
_OKTMO = sa.String(11)
_VERSION = sa.String(64)


def message_external_id(
    owner_id: int | str, post_id: int | str, comment_id: int | str | None = None
) -> str:
    """Return the network-unique external id of a post or of a comment under it.

    A post is ``"{owner_id}_{post_id}"`` (VK: ``"-123_456"``, the owner of a community wall is
    negative); a comment is ``"{owner_id}_{post_id}_{comment_id}"``, because comment ids are
    unique only within one wall (VK) or one topic (OK). Telegram uses the chat id as owner and the
    message id as post id; a comment in a linked discussion chat uses the channel post as post id.
    """
    if comment_id is None:
        return f"{owner_id}_{post_id}"
    return f"{owner_id}_{post_id}_{comment_id}"


#: Priorities as sortable numbers (``incidents.priority_rank``): the queue's "by priority" order.
PRIORITY_RANK: dict[Priority, int] = {
    Priority.LOW: 0,
    Priority.NORMAL: 1,
    Priority.HIGH: 2,
    Priority.URGENT: 3,
}


class Base(DeclarativeBase):
    """Declarative base of every model; its metadata carries the naming convention."""

    metadata = metadata


class Source(Base):
    """A group or channel the collector polls, with its cursor, health and lease."""

    __tablename__ = "sources"
    __table_args__ = (
        sa.UniqueConstraint("network", "external_id"),
        sa.CheckConstraint("poll_interval_seconds > 0", name="poll_interval_positive"),
        sa.Index("ix_sources_enabled_lease_expires_at", "enabled", "lease_expires_at"),
    )

    id: Mapped[int_pk]
    network: Mapped[Network] = mapped_column(_enum(Network, "network"))
    external_id: Mapped[str] = mapped_column(_EXTERNAL_ID)
    screen_name: Mapped[str | None] = mapped_column(_NAME)
    title: Mapped[str] = mapped_column(sa.String(500), default="", server_default="")
    municipality: Mapped[str | None] = mapped_column(_NAME)
    municipality_oktmo: Mapped[str | None] = mapped_column(_OKTMO)
    enabled: Mapped[bool_true]
    poll_interval_seconds: Mapped[int] = mapped_column(
        sa.Integer, default=300, server_default=sa.text("300")
    )
    # Cursor: the last post id seen on the wall and the time up to which comments were read;
    # `cursor` holds anything else a network needs (paging offsets, per-post comment counts).
    last_seen_post_id: Mapped[str | None] = mapped_column(_EXTERNAL_ID)
    comments_watermark_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    cursor: Mapped[json_dict]
    # Health, shown on the admin page.
    last_success_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    last_attempt_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    lag_seconds: Mapped[int | None] = mapped_column(sa.Integer)
    consecutive_failures: Mapped[int_zero]
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    disabled_reason: Mapped[str | None] = mapped_column(sa.Text)
    # Row lease: the process that polls this source until lease_expires_at.
    lease_owner: Mapped[str | None] = mapped_column(sa.String(128))
    lease_expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[utc_now]


class Message(Base):
    """A post or comment as collected; edits are kept in message_versions, deletions only marked.

    ``external_id`` is unique per network; see :func:`message_external_id` for its format.
    """

    __tablename__ = "messages"
    __table_args__ = (
        sa.UniqueConstraint("network", "external_id"),
        sa.Index("ix_messages_source_id_posted_at", "source_id", "posted_at"),
        # The queue's source filter reads a source's message ids from the index alone (0009).
        sa.Index("ix_messages_source_id_id", "source_id", "id"),
        sa.Index("ix_messages_posted_at", "posted_at"),
        # The queue's full-text search on PostgreSQL is the stored column text_tsv and its GIN
        # index (MESSAGES_TEXT_SEARCH_DDL, migration 0010), which the models do not map.
        # SQLite has none; its search scans case-folded text (storage/repositories/queue.py).
    )

    id: Mapped[big_id_pk]
    network: Mapped[Network] = mapped_column(_enum(Network, "network"))
    source_id: Mapped[int] = mapped_column(sa.ForeignKey("sources.id", ondelete="RESTRICT"))
    external_id: Mapped[str] = mapped_column(_EXTERNAL_ID)
    kind: Mapped[MessageKind] = mapped_column(_enum(MessageKind, "message_kind"))
    parent_message_id: Mapped[int | None] = mapped_column(
        sa.BigInteger, sa.ForeignKey("messages.id", ondelete="SET NULL"), index=True
    )
    external_parent_id: Mapped[str | None] = mapped_column(_EXTERNAL_ID)
    author_id: Mapped[str | None] = mapped_column(FittedString(AUTHOR_ID_LENGTH))
    text: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    posted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    url: Mapped[str | None] = mapped_column(FittedString(1024, hashed=False))
    views: Mapped[int | None] = mapped_column(sa.Integer)
    likes: Mapped[int | None] = mapped_column(sa.Integer)
    comments: Mapped[int | None] = mapped_column(sa.Integer)
    reposts: Mapped[int | None] = mapped_column(sa.Integer)
    geo_lat: Mapped[float | None] = mapped_column(sa.Float)
    geo_lon: Mapped[float | None] = mapped_column(sa.Float)
    edited_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    deleted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    collected_at: Mapped[utc_now]
    # Set when retention removed the author and the text (the row and its links stay).
    anonymised_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class MessageVersion(Base):
    """An earlier text of an edited message, numbered from 1."""

    __tablename__ = "message_versions"
    __table_args__ = (sa.UniqueConstraint("message_id", "version_no"),)

    id: Mapped[big_id_pk]
    message_id: Mapped[int] = mapped_column(
        sa.BigInteger, sa.ForeignKey("messages.id", ondelete="CASCADE")
    )
    version_no: Mapped[int] = mapped_column(sa.Integer)
    text: Mapped[str] = mapped_column(sa.Text)
    seen_at: Mapped[utc_now]


class Classification(Base):
    """The classifier's verdict on one message by one model version."""

    __tablename__ = "classifications"
    __table_args__ = (
        sa.UniqueConstraint("message_id", "model_version"),
        sa.Index("ix_classifications_model_version", "model_version"),
    )

    id: Mapped[big_id_pk]
    message_id: Mapped[int] = mapped_column(
        sa.BigInteger, sa.ForeignKey("messages.id", ondelete="CASCADE")
    )
    is_complaint: Mapped[bool] = mapped_column(sa.Boolean)
    complaint_confidence: Mapped[float] = mapped_column(sa.Float)
    topic_group: Mapped[str | None] = mapped_column(_NAME)
    topic: Mapped[str | None] = mapped_column(_NAME)
    topic_confidence: Mapped[float | None] = mapped_column(sa.Float)
    municipality: Mapped[str | None] = mapped_column(_NAME)
    municipality_oktmo: Mapped[str | None] = mapped_column(_OKTMO)
    municipality_confidence: Mapped[float | None] = mapped_column(sa.Float)
    evidence: Mapped[json_dict]
    model_version: Mapped[str] = mapped_column(_VERSION)
    created_at: Mapped[utc_now]


class Incident(Base):
    """A problem reported by one or more messages, moved through the workflow in app/.

    ``version`` is the optimistic-locking counter: an UPDATE of a stale row raises
    ``sqlalchemy.orm.exc.StaleDataError``.
    """

    __tablename__ = "incidents"
    __table_args__ = (
        sa.Index("ix_incidents_status_created_at", "status", "created_at"),
        sa.Index("ix_incidents_municipality_oktmo_topic", "municipality_oktmo", "topic"),
        # The queue's keyset orders (see storage/repositories/queue.py).
        sa.Index("ix_incidents_priority_rank_created_at_id", "priority_rank", "created_at", "id"),
        sa.Index(
            "ix_incidents_status_priority_rank_created_at",
            "status",
            "priority_rank",
            "created_at",
            "id",
        ),
        sa.Index("ix_incidents_created_at_id", "created_at", "id"),
        sa.Index("ix_incidents_topic_group_topic", "topic_group", "topic"),
        # The deadline order, and the SLA filters over running clocks (0006).
        sa.Index("ix_incidents_queue_deadline_at_id", "queue_deadline_at", "id"),
        # On PostgreSQL it also carries what sla=overdue|ok needs to pick its page from the
        # index alone (0009): the state and the priority order's keys.
        sa.Index(
            "ix_incidents_running_deadline_at_keys",
            "active_deadline_at",
            postgresql_include=["status", "priority_rank", "created_at", "id"],
            postgresql_where=sa.text("active_status = 'received'"),
            sqlite_where=sa.text("active_status = 'received'"),
        ),
        sa.Index(
            "ix_incidents_running_at_risk_at",
            "active_at_risk_at",
            postgresql_where=sa.text("active_status = 'received'"),
            sqlite_where=sa.text("active_status = 'received'"),
        ),
    )

    id: Mapped[big_id_pk]
    public_number: Mapped[str] = mapped_column(sa.String(32), unique=True)
    status: Mapped[IncidentStatus] = mapped_column(
        _enum(IncidentStatus, "incident_status"),
        default=IncidentStatus.NEW,
        server_default=IncidentStatus.NEW.value,
    )
    title: Mapped[str] = mapped_column(sa.String(500), default="", server_default="")
    summary: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    topic_group: Mapped[str | None] = mapped_column(_NAME)
    topic: Mapped[str | None] = mapped_column(_NAME)
    municipality: Mapped[str | None] = mapped_column(_NAME)
    municipality_oktmo: Mapped[str | None] = mapped_column(_OKTMO)
    priority: Mapped[Priority] = mapped_column(
        _enum(Priority, "priority"),
        default=Priority.NORMAL,
        server_default=Priority.NORMAL.value,
    )
    # Aggregates kept up to date when messages are attached; they set the priority.
    message_count: Mapped[int_zero]
    author_count: Mapped[int_zero]
    reach: Mapped[int_zero]
    parent_incident_id: Mapped[int | None] = mapped_column(
        sa.BigInteger, sa.ForeignKey("incidents.id", ondelete="RESTRICT"), index=True
    )
    merged_into_id: Mapped[int | None] = mapped_column(
        sa.BigInteger, sa.ForeignKey("incidents.id", ondelete="RESTRICT"), index=True
    )
    resolution: Mapped[Resolution | None] = mapped_column(_enum(Resolution, "resolution"))
    grouping_version: Mapped[str | None] = mapped_column(_VERSION)
    version: Mapped[int] = mapped_column(sa.Integer, server_default=sa.text("1"))
    created_at: Mapped[utc_now]
    updated_at: Mapped[dt.datetime] = mapped_column(
        UTCDateTime(), default=utcnow, onupdate=utcnow, server_default=sa.func.now()
    )
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # PRIORITY_RANK[priority], written beside it by every writer of the priority.
    priority_rank: Mapped[int] = mapped_column(
        sa.SmallInteger, default=1, server_default=sa.text("1")
    )
    # The active assignment (the newest one in ACTIVE_ASSIGNMENT) copied onto its incident, so
    # the queue's executor and SLA filters and its deadline order read one table through an
    # index. Written only by storage/repositories/active_assignment.py, which every writer of
    # assignments calls; NULL (and the far-future key) when no assignment is active.
    active_assignment_id: Mapped[int | None] = mapped_column(sa.BigInteger)
    active_executor_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("executors.id", ondelete="RESTRICT"), index=True
    )
    active_status: Mapped[AssignmentStatus | None] = mapped_column(
        sa.Enum(
            AssignmentStatus,
            native_enum=False,
            create_constraint=False,
            length=32,
            values_callable=lambda members: [m.value for m in members],
        )
    )
    active_deadline_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    active_at_risk_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # active_deadline_at, or FAR_FUTURE without one: the deadline order's keyset key.
    queue_deadline_at: Mapped[dt.datetime] = mapped_column(
        UTCDateTime(), default=FAR_FUTURE, server_default=far_future_default()
    )

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012


class IncidentMessage(Base):
    """The link of a message to an incident, with the grouping version that made it."""

    __tablename__ = "incident_messages"
    __table_args__ = (
        sa.UniqueConstraint("incident_id", "message_id"),
        # A message's incidents from the index alone (0009).
        sa.Index("ix_incident_messages_message_id_incident_id", "message_id", "incident_id"),
        # The queue's source filter: a source's incidents from the index alone (0010); in
        # the deadline order, which the copies below do not carry.
        sa.Index("ix_incident_messages_source_id_incident_id", "source_id", "incident_id"),
        # A source's page in the priority and received orders from one index range, the
        # state checked in the index (0011).
        sa.Index(
            "ix_incident_messages_source_id_priority_keys",
            "source_id",
            "incident_priority_rank",
            "incident_created_at",
            "incident_id",
            postgresql_include=["incident_status"],
        ),
        sa.Index(
            "ix_incident_messages_source_id_received_keys",
            "source_id",
            "incident_created_at",
            "incident_id",
            postgresql_include=["incident_status"],
        ),
    )

    id: Mapped[big_id_pk]
    incident_id: Mapped[int] = mapped_column(
        sa.BigInteger, sa.ForeignKey("incidents.id", ondelete="CASCADE")
    )
    message_id: Mapped[int] = mapped_column(
        sa.BigInteger, sa.ForeignKey("messages.id", ondelete="RESTRICT")
    )
    grouping_version: Mapped[str] = mapped_column(_VERSION)
    evidence: Mapped[json_dict]
    attached_at: Mapped[utc_now]
    #: The message's source, copied by the database (INCIDENT_MESSAGES_SOURCE_DDL) when the
    #: link is written: writers never set it, and a message's source never changes.
    source_id: Mapped[int | None] = mapped_column(sa.Integer)
    #: The incident's state and queue order keys, copied by the database
    #: (INCIDENT_MESSAGES_SOURCE_DDL) when the link is written and whenever the incident's
    #: change, so the queue's source filter orders a source's links without reading each
    #: incident (0011). Writers never set them.
    incident_status: Mapped[str | None] = mapped_column(sa.String(32))
    incident_priority_rank: Mapped[int | None] = mapped_column(sa.SmallInteger)
    incident_created_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class IncidentFingerprint(Base):
    """A grouping fingerprint pointing at the incident it collects messages for."""

    __tablename__ = "incident_fingerprints"
    __table_args__ = (
        sa.UniqueConstraint("fingerprint", "incident_id"),
        sa.Index("ix_incident_fingerprints_incident_id", "incident_id"),
    )

    id: Mapped[big_id_pk]
    fingerprint: Mapped[str] = mapped_column(sa.String(128))
    incident_id: Mapped[int] = mapped_column(
        sa.BigInteger, sa.ForeignKey("incidents.id", ondelete="CASCADE")
    )
    grouping_version: Mapped[str] = mapped_column(_VERSION)
    created_at: Mapped[utc_now]


class Tombstone(Base):
    """A discarded fingerprint: messages matching it are dropped before any incident lookup."""

    __tablename__ = "tombstones"

    id: Mapped[big_id_pk]
    fingerprint: Mapped[str] = mapped_column(sa.String(128), unique=True)
    reason: Mapped[str] = mapped_column(sa.Text)
    incident_id: Mapped[int | None] = mapped_column(
        sa.BigInteger, sa.ForeignKey("incidents.id", ondelete="SET NULL")
    )
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[utc_now]


class Executor(Base):
    """A ministry or municipal administration that answers incidents, with its working hours."""

    __tablename__ = "executors"

    id: Mapped[int_pk]
    code: Mapped[str] = mapped_column(sa.String(64), unique=True)
    name: Mapped[str] = mapped_column(sa.String(500))
    kind: Mapped[ExecutorKind] = mapped_column(_enum(ExecutorKind, "executor_kind"))
    municipality: Mapped[str | None] = mapped_column(_NAME)
    municipality_oktmo: Mapped[str | None] = mapped_column(_OKTMO)
    timezone: Mapped[str] = mapped_column(
        sa.String(64), default="Europe/Moscow", server_default="Europe/Moscow"
    )
    # Working hours, e.g. {"mon": ["09:00", "18:00"], "lunch": ["13:00", "14:00"]}; NULL means
    # the region's default schedule.
    schedule: Mapped[dict[str, Any] | None] = mapped_column(JSON_DOCUMENT)
    active: Mapped[bool_true]
    created_at: Mapped[utc_now]


class Assignment(Base):
    """One executor's share of an incident, with its own SLA clock."""

    __tablename__ = "assignments"
    __table_args__ = (
        sa.CheckConstraint("sla_budget_minutes > 0", name="sla_budget_positive"),
        sa.Index("ix_assignments_status_deadline_at", "status", "deadline_at"),
        sa.Index("ix_assignments_executor_id_status", "executor_id", "status"),
        sa.Index("ix_assignments_status_at_risk_at", "status", "at_risk_at"),
    )

    id: Mapped[big_id_pk]
    incident_id: Mapped[int] = mapped_column(
        sa.BigInteger, sa.ForeignKey("incidents.id", ondelete="CASCADE"), index=True
    )
    executor_id: Mapped[int] = mapped_column(sa.ForeignKey("executors.id", ondelete="RESTRICT"))
    assigned_at: Mapped[utc_now]
    # The clock starts when the executor receives the incident.
    received_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    status: Mapped[AssignmentStatus] = mapped_column(
        _enum(AssignmentStatus, "assignment_status"),
        default=AssignmentStatus.ASSIGNED,
        server_default=AssignmentStatus.ASSIGNED.value,
    )
    sla_budget_minutes: Mapped[int] = mapped_column(sa.Integer)
    deadline_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), index=True)
    paused_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    paused_total_minutes: Mapped[int_zero]
    # Working minutes left when the clock was paused; the deadline is recomputed on resume.
    remaining_budget_minutes: Mapped[int | None] = mapped_column(sa.Integer)
    interim: Mapped[bool_false]
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    rule_id: Mapped[str | None] = mapped_column(sa.String(128))
    # When the running clock reaches the at-risk share of its budget (the queue's SLA filter).
    at_risk_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class Event(Base):
    """A record of something that happened; a trigger refuses UPDATE and DELETE."""

    __tablename__ = "events"
    __table_args__ = (
        sa.Index("ix_events_incident_id_occurred_at", "incident_id", "occurred_at"),
        sa.Index("ix_events_kind_occurred_at", "kind", "occurred_at"),
    )

    id: Mapped[big_id_pk]
    incident_id: Mapped[int | None] = mapped_column(
        sa.BigInteger, sa.ForeignKey("incidents.id", ondelete="RESTRICT")
    )
    actor_user_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="RESTRICT")
    )
    kind: Mapped[str] = mapped_column(sa.String(64))
    from_status: Mapped[str | None] = mapped_column(sa.String(32))
    to_status: Mapped[str | None] = mapped_column(sa.String(32))
    payload: Mapped[json_dict]
    occurred_at: Mapped[utc_now]


class Answer(Base):
    """An executor's answer to an incident, reviewed by an operator and posted into the thread."""

    __tablename__ = "answers"
    __table_args__ = (
        sa.Index("ix_answers_incident_id", "incident_id"),
        sa.Index("ix_answers_status", "status"),
    )

    id: Mapped[big_id_pk]
    incident_id: Mapped[int] = mapped_column(
        sa.BigInteger, sa.ForeignKey("incidents.id", ondelete="CASCADE")
    )
    assignment_id: Mapped[int | None] = mapped_column(
        sa.BigInteger, sa.ForeignKey("assignments.id", ondelete="SET NULL")
    )
    author_user_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    text: Mapped[str] = mapped_column(sa.Text)
    kind: Mapped[AnswerKind] = mapped_column(_enum(AnswerKind, "answer_kind"))
    status: Mapped[AnswerStatus] = mapped_column(
        _enum(AnswerStatus, "answer_status"),
        default=AnswerStatus.DRAFT,
        server_default=AnswerStatus.DRAFT.value,
    )
    review_comment: Mapped[str | None] = mapped_column(sa.Text)
    external_reply_id: Mapped[str | None] = mapped_column(_EXTERNAL_ID)
    # Sent with the reply (VK `guid`) so that a retried post is not published twice.
    guid: Mapped[str] = mapped_column(sa.String(64), unique=True, default=lambda: uuid.uuid4().hex)
    published_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    delivery_verified_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[utc_now]
    updated_at: Mapped[dt.datetime] = mapped_column(
        UTCDateTime(), default=utcnow, onupdate=utcnow, server_default=sa.func.now()
    )


class User(Base):
    """A person who signs in: operator, executor's employee, supervisor or administrator."""

    __tablename__ = "users"
    __table_args__ = (
        sa.CheckConstraint(
            "role <> 'executor' OR executor_id IS NOT NULL", name="executor_role_has_executor"
        ),
    )

    id: Mapped[int_pk]
    login: Mapped[str] = mapped_column(sa.String(128), unique=True)
    display_name: Mapped[str] = mapped_column(_NAME)
    role: Mapped[UserRole] = mapped_column(_enum(UserRole, "user_role"))
    executor_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("executors.id", ondelete="RESTRICT"), index=True
    )
    password_hash: Mapped[str | None] = mapped_column(sa.String(255))
    active: Mapped[bool_true]
    created_at: Mapped[utc_now]
    # Bumped by a password change or a disable: session cookies carry it and stop working.
    session_epoch: Mapped[int] = mapped_column(sa.Integer, default=1, server_default=sa.text("1"))


class ApiToken(Base):
    """An API token for integrations: only its SHA-256 hash is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int_pk]
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[utc_now]
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class ResponseTemplate(Base):
    """A reply template of one executor, kept and edited by its staff."""

    __tablename__ = "response_templates"
    __table_args__ = (sa.Index("ix_response_templates_executor_id_title", "executor_id", "title"),)

    id: Mapped[int_pk]
    executor_id: Mapped[int] = mapped_column(sa.ForeignKey("executors.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(_NAME)
    text: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[utc_now]
    updated_at: Mapped[dt.datetime] = mapped_column(
        UTCDateTime(), default=utcnow, onupdate=utcnow, server_default=sa.func.now()
    )


class TrainingLabel(Base):
    """An operator's correction of one classifier output, used to retrain the model."""

    __tablename__ = "training_labels"
    __table_args__ = (
        sa.Index(
            "ix_training_labels_field_used_in_model_version", "field", "used_in_model_version"
        ),
    )

    id: Mapped[big_id_pk]
    message_id: Mapped[int | None] = mapped_column(
        sa.BigInteger, sa.ForeignKey("messages.id", ondelete="SET NULL"), index=True
    )
    text: Mapped[str] = mapped_column(sa.Text)
    field: Mapped[LabelField] = mapped_column(_enum(LabelField, "label_field"))
    value: Mapped[str] = mapped_column(_NAME)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[utc_now]
    used_in_model_version: Mapped[str | None] = mapped_column(_VERSION)


class FollowupVerdict(Base):
    """What the follow-up job made of one comment under a published answer's thread."""

    __tablename__ = "followup_verdicts"

    id: Mapped[big_id_pk]
    message_id: Mapped[int] = mapped_column(
        sa.BigInteger, sa.ForeignKey("messages.id", ondelete="CASCADE"), unique=True
    )
    incident_id: Mapped[int] = mapped_column(
        sa.BigInteger, sa.ForeignKey("incidents.id", ondelete="CASCADE"), index=True
    )
    verdict: Mapped[str] = mapped_column(sa.String(16))
    score: Mapped[float] = mapped_column(sa.Float)
    classifier_version: Mapped[str] = mapped_column(_VERSION)
    # The workflow action it led to (reopen, close), or NULL when it changed nothing.
    action: Mapped[str | None] = mapped_column(sa.String(16))
    created_at: Mapped[utc_now]


class NotificationOutbox(Base):
    """A notification to deliver: written once per key, sent by the notify job, kept as sent."""

    __tablename__ = "notification_outbox"
    __table_args__ = (sa.Index("ix_notification_outbox_status_due_at", "status", "due_at"),)

    id: Mapped[big_id_pk]
    # Idempotency key: "event:<event id>:<recipient>:<channel>"; one row per delivery.
    key: Mapped[str] = mapped_column(sa.String(255), unique=True)
    event: Mapped[str] = mapped_column(sa.String(32))
    channel: Mapped[str] = mapped_column(sa.String(16))
    # "executor:<code>" or "supervisors"; the address is looked up in the configuration.
    recipient: Mapped[str] = mapped_column(sa.String(128))
    incident_id: Mapped[int | None] = mapped_column(sa.BigInteger)
    subject: Mapped[str] = mapped_column(sa.String(500))
    body: Mapped[str] = mapped_column(sa.Text)
    payload: Mapped[json_dict]
    # pending, sending (claimed), sent, failed (gave up), dropped (no address any more).
    status: Mapped[str] = mapped_column(sa.String(16), default="pending", server_default="pending")
    attempts: Mapped[int_zero]
    # Not before the recipient's working hours open; then each retry waits next_attempt_at.
    due_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    claimed_by: Mapped[str | None] = mapped_column(sa.String(128))
    claimed_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[utc_now]
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class OutageNotice(Base):
    """A planned outage or closure an official community announced (router/notices.py).

    Kept so that a restarted daemon still links complaints to it, and the incident page shows
    it; ``streets`` holds the street stems (a JSON list), empty when the notice names none.
    """

    __tablename__ = "outage_notices"
    __table_args__ = (sa.Index("ix_outage_notices_ends_at", "ends_at"),)

    id: Mapped[big_id_pk]
    message_key: Mapped[str] = mapped_column(sa.String(255), unique=True)
    service: Mapped[str] = mapped_column(sa.String(32))
    topic_group: Mapped[str] = mapped_column(_NAME)
    streets: Mapped[list[str]] = mapped_column(JSON_DOCUMENT, default=list)
    starts_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    text: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[utc_now]


class OutageNoticeLink(Base):
    """An incident whose complaint falls under a notice: «плановое отключение» beside it."""

    __tablename__ = "outage_notice_links"

    incident_id: Mapped[int] = mapped_column(
        sa.BigInteger, sa.ForeignKey("incidents.id", ondelete="CASCADE"), primary_key=True
    )
    notice_id: Mapped[int] = mapped_column(
        sa.BigInteger,
        sa.ForeignKey("outage_notices.id", ondelete="CASCADE"),
        primary_key=True,
        index=True,
    )
    linked_at: Mapped[utc_now]


class JobState(Base):
    """Where a scheduled job stands between runs: a cursor and a small JSON document."""

    __tablename__ = "job_state"

    name: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    cursor: Mapped[int | None] = mapped_column(sa.BigInteger)
    value: Mapped[json_dict]
    updated_at: Mapped[utc_now]


class JobLease(Base):
    """Which process runs a scheduled job now: at most one at a time across all processes.

    The owner renews ``expires_at`` while the job runs (a heartbeat) and clears the owner when
    it ends; a process that died leaves a lease that runs out, or that a process on the same
    host gives back at once when it sees the owner's pid is gone.
    """

    __tablename__ = "job_leases"

    name: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    owner: Mapped[str | None] = mapped_column(sa.String(128))
    expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    acquired_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


# --- The event log is append-only, enforced by the database. ---------------------------------
# The same statements are written out in the initial migration; create_all() runs these so
# that a schema built from the models behaves like a migrated one.

EVENTS_APPEND_ONLY_DDL: dict[str, tuple[str, ...]] = {
    "postgresql": (
        """
        CREATE OR REPLACE FUNCTION events_append_only() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'events is append-only: % is not allowed', TG_OP
                USING ERRCODE = 'restrict_violation';
        END;
        $$
        """,
        """
        CREATE TRIGGER events_append_only_row
        BEFORE UPDATE OR DELETE ON events
        FOR EACH ROW EXECUTE FUNCTION events_append_only()
        """,
        """
        CREATE TRIGGER events_append_only_truncate
        BEFORE TRUNCATE ON events
        FOR EACH STATEMENT EXECUTE FUNCTION events_append_only()
        """,
    ),
    "sqlite": (
        """
        CREATE TRIGGER events_no_update BEFORE UPDATE ON events
        BEGIN
            SELECT RAISE(ABORT, 'events is append-only: UPDATE is not allowed');
        END
        """,
        """
        CREATE TRIGGER events_no_delete BEFORE DELETE ON events
        BEGIN
            SELECT RAISE(ABORT, 'events is append-only: DELETE is not allowed');
        END
        """,
    ),
}


# --- incident_messages.source_id is the message's, copied by the database. --------------------
# With the incident's state and queue order keys (0011). The same statements are in migration
# 0011 (0010 without the incident's copies); create_all() runs these too.

INCIDENT_MESSAGES_SOURCE_DDL: dict[str, tuple[str, ...]] = {
    "postgresql": (
        """
        CREATE OR REPLACE FUNCTION incident_messages_source() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            NEW.source_id := (SELECT source_id FROM messages WHERE id = NEW.message_id);
            SELECT status, priority_rank, created_at
            INTO NEW.incident_status, NEW.incident_priority_rank, NEW.incident_created_at
            FROM incidents WHERE id = NEW.incident_id;
            RETURN NEW;
        END;
        $$
        """,
        """
        CREATE TRIGGER incident_messages_source
        BEFORE INSERT OR UPDATE OF message_id, incident_id ON incident_messages
        FOR EACH ROW EXECUTE FUNCTION incident_messages_source()
        """,
        """
        CREATE OR REPLACE FUNCTION incidents_queue_keys_to_links() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            UPDATE incident_messages
            SET incident_status = NEW.status, incident_priority_rank = NEW.priority_rank,
                incident_created_at = NEW.created_at
            WHERE incident_id = NEW.id;
            RETURN NULL;
        END;
        $$
        """,
        """
        CREATE TRIGGER incidents_queue_keys_to_links
        AFTER UPDATE OF status, priority_rank, created_at ON incidents
        FOR EACH ROW
        WHEN (OLD.status IS DISTINCT FROM NEW.status
              OR OLD.priority_rank IS DISTINCT FROM NEW.priority_rank
              OR OLD.created_at IS DISTINCT FROM NEW.created_at)
        EXECUTE FUNCTION incidents_queue_keys_to_links()
        """,
    ),
    "sqlite": (
        """
        CREATE TRIGGER incident_messages_source_insert AFTER INSERT ON incident_messages
        BEGIN
            UPDATE incident_messages
            SET source_id = (SELECT source_id FROM messages WHERE id = NEW.message_id),
                incident_status = (SELECT status FROM incidents WHERE id = NEW.incident_id),
                incident_priority_rank =
                    (SELECT priority_rank FROM incidents WHERE id = NEW.incident_id),
                incident_created_at =
                    (SELECT created_at FROM incidents WHERE id = NEW.incident_id)
            WHERE id = NEW.id;
        END
        """,
        """
        CREATE TRIGGER incident_messages_source_update
        AFTER UPDATE OF message_id, incident_id ON incident_messages
        BEGIN
            UPDATE incident_messages
            SET source_id = (SELECT source_id FROM messages WHERE id = NEW.message_id),
                incident_status = (SELECT status FROM incidents WHERE id = NEW.incident_id),
                incident_priority_rank =
                    (SELECT priority_rank FROM incidents WHERE id = NEW.incident_id),
                incident_created_at =
                    (SELECT created_at FROM incidents WHERE id = NEW.incident_id)
            WHERE id = NEW.id;
        END
        """,
        """
        CREATE TRIGGER incidents_queue_keys_to_links
        AFTER UPDATE OF status, priority_rank, created_at ON incidents
        WHEN OLD.status IS NOT NEW.status OR OLD.priority_rank IS NOT NEW.priority_rank
             OR OLD.created_at IS NOT NEW.created_at
        BEGIN
            UPDATE incident_messages
            SET incident_status = NEW.status, incident_priority_rank = NEW.priority_rank,
                incident_created_at = NEW.created_at
            WHERE incident_id = NEW.id;
        END
        """,
    ),
}


# --- PostgreSQL's full-text search: the Russian tsvector of messages.text, stored. ----------
# Computed once per message when it is written (a generated column: no writer sets it), not for
# every message the search looks at (migration 0010). Not mapped: only SQL reads it.

MESSAGES_TEXT_SEARCH_DDL: dict[str, tuple[str, ...]] = {
    "postgresql": (
        """
        ALTER TABLE messages ADD COLUMN text_tsv tsvector
        GENERATED ALWAYS AS (to_tsvector('russian'::regconfig, text)) STORED
        """,
        "CREATE INDEX ix_messages_text_tsv ON messages USING gin (text_tsv)",
    ),
}


def _ddl(statement: str, dialect: str) -> sa.ExecutableDDLElement:
    """Return a DDL statement that runs only on the given dialect."""
    # DDL text is %-formatted by SQLAlchemy; the trigger's own % placeholders must survive.
    ddl = sa.DDL(statement.replace("%", "%%"))  # type: ignore[no-untyped-call]
    return ddl.execute_if(dialect=dialect)


for _dialect, _statements in EVENTS_APPEND_ONLY_DDL.items():
    for _statement in _statements:
        sa.event.listen(Event.__table__, "after_create", _ddl(_statement, _dialect))
sa.event.listen(
    Event.__table__,
    "after_drop",
    _ddl("DROP FUNCTION IF EXISTS events_append_only()", "postgresql"),
)
for _dialect, _statements in MESSAGES_TEXT_SEARCH_DDL.items():
    for _statement in _statements:
        sa.event.listen(Message.__table__, "after_create", _ddl(_statement, _dialect))
for _dialect, _statements in INCIDENT_MESSAGES_SOURCE_DDL.items():
    for _statement in _statements:
        sa.event.listen(IncidentMessage.__table__, "after_create", _ddl(_statement, _dialect))
sa.event.listen(
    IncidentMessage.__table__,
    "after_drop",
    _ddl("DROP FUNCTION IF EXISTS incident_messages_source()", "postgresql"),
)
sa.event.listen(
    IncidentMessage.__table__,
    "after_drop",
    _ddl("DROP TRIGGER IF EXISTS incidents_queue_keys_to_links ON incidents", "postgresql"),
)
sa.event.listen(
    IncidentMessage.__table__,
    "after_drop",
    _ddl("DROP FUNCTION IF EXISTS incidents_queue_keys_to_links()", "postgresql"),
)
