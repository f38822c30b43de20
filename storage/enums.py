"""Closed sets of values stored as strings, each guarded by a CHECK constraint."""

from __future__ import annotations

import enum

__all__ = [
    "AnswerKind",
    "AnswerStatus",
    "AssignmentStatus",
    "ExecutorKind",
    "IncidentStatus",
    "LabelField",
    "MessageKind",
    "Network",
    "Priority",
    "Resolution",
    "UserRole",
]


class Network(enum.StrEnum):
    """Where a source publishes: a social network or a file replay."""

    VK = "vk"
    OK = "ok"
    TELEGRAM = "telegram"
    FILE = "file"


class MessageKind(enum.StrEnum):
    """A wall post (or channel message) or a comment under one."""

    POST = "post"
    COMMENT = "comment"


class IncidentStatus(enum.StrEnum):
    """The states of the incident workflow (the transitions live in app/)."""

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
    """How urgently an incident must be handled."""

    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


class Resolution(enum.StrEnum):
    """How a closed incident ended: the problem was fixed, or it was only answered."""

    FIXED = "fixed"
    ANSWERED_ONLY = "answered_only"


class ExecutorKind(enum.StrEnum):
    """A regional ministry or a municipal administration."""

    MINISTRY = "ministry"
    MUNICIPAL = "municipal"


class AssignmentStatus(enum.StrEnum):
    """Where one executor's share of an incident stands."""

    ASSIGNED = "assigned"
    RECEIVED = "received"
    PAUSED = "paused"
    ANSWERED = "answered"
    RETURNED = "returned"
    REROUTED = "rerouted"
    CLOSED = "closed"


class AnswerKind(enum.StrEnum):
    """An interim answer (extends the deadline) or the final one."""

    INTERIM = "interim"
    FINAL = "final"


class AnswerStatus(enum.StrEnum):
    """The review state of an executor's answer."""

    DRAFT = "draft"
    SUBMITTED = "submitted"
    APPROVED = "approved"
    REWORK = "rework"
    PUBLISHED = "published"


class UserRole(enum.StrEnum):
    """What a user may do (the permission table lives in app/)."""

    OPERATOR = "operator"
    EXECUTOR = "executor"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


class LabelField(enum.StrEnum):
    """Which classifier output an operator's correction is about."""

    COMPLAINT = "complaint"
    TOPIC = "topic"
    MUNICIPALITY = "municipality"
