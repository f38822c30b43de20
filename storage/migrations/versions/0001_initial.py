"""Initial schema: sources, messages, incidents, executors, assignments, answers, users, events.

Revision ID: 0001
Revises:
Create Date: 2026-11-23 12:20:00

Hand-checked against the models (tests/storage/test_migrate.py compares them on SQLite and
PostgreSQL). Timestamps are ``timestamp with time zone`` and hold UTC (storage.types.UTCDateTime
on the model side). The append-only triggers on ``events`` are written out here because
autogenerate does not see triggers; storage/models.py installs the same ones for create_all().
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Copied, not imported, from storage.models: a revision must not change when the models do.
_POSTGRESQL_APPEND_ONLY = (
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
)
_SQLITE_APPEND_ONLY = (
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
)


def _append_only_statements() -> tuple[str, ...]:
    """Return the trigger DDL for the current dialect."""
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        return _POSTGRESQL_APPEND_ONLY
    if dialect == "sqlite":
        return _SQLITE_APPEND_ONLY
    raise NotImplementedError(f"no append-only trigger for {dialect}")


# The allowed values of each string enum, frozen at this revision.
EXECUTOR_KIND = ("ministry", "municipal")
INCIDENT_STATUS = (
    "new",
    "triage",
    "assigned",
    "in_progress",
    "answered",
    "approved",
    "published",
    "closed",
    "returned",
    "rework",
    "rejected",
    "merged",
    "reopened",
)
PRIORITY = ("low", "normal", "high", "urgent")
RESOLUTION = ("fixed", "answered_only")
NETWORK = ("vk", "ok", "telegram", "file")
ASSIGNMENT_STATUS = ("assigned", "received", "paused", "answered", "returned", "rerouted", "closed")
MESSAGE_KIND = ("post", "comment")
USER_ROLE = ("operator", "executor", "supervisor", "admin")
ANSWER_KIND = ("interim", "final")
ANSWER_STATUS = ("draft", "submitted", "approved", "rework", "published")
LABEL_FIELD = ("complaint", "topic", "municipality")


def _choice(name: str, values: tuple[str, ...]) -> sa.Enum:
    """Return the column type of a string enum; its CHECK is added by _one_of."""
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=False, length=32)


def _one_of(table: str, column: str, name: str, values: tuple[str, ...]) -> sa.CheckConstraint:
    """Return the named CHECK constraint that a model's Enum(create_constraint=True) creates."""
    allowed = ", ".join(f"'{value}'" for value in values)
    return sa.CheckConstraint(f"{column} IN ({allowed})", name=op.f(f"ck_{table}_{name}"))


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "executors",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=500), nullable=False),
        sa.Column(
            "kind",
            _choice("executor_kind", EXECUTOR_KIND),
            nullable=False,
        ),
        sa.Column("municipality", sa.String(length=255), nullable=True),
        sa.Column("municipality_oktmo", sa.String(length=11), nullable=True),
        sa.Column("timezone", sa.String(length=64), server_default="Europe/Moscow", nullable=False),
        sa.Column(
            "schedule",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        _one_of("executors", "kind", "executor_kind", EXECUTOR_KIND),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_executors")),
        sa.UniqueConstraint("code", name=op.f("uq_executors_code")),
    )
    op.create_table(
        "incidents",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("public_number", sa.String(length=32), nullable=False),
        sa.Column(
            "status",
            _choice("incident_status", INCIDENT_STATUS),
            server_default="new",
            nullable=False,
        ),
        sa.Column("title", sa.String(length=500), server_default="", nullable=False),
        sa.Column("summary", sa.Text(), server_default="", nullable=False),
        sa.Column("topic_group", sa.String(length=255), nullable=True),
        sa.Column("topic", sa.String(length=255), nullable=True),
        sa.Column("municipality", sa.String(length=255), nullable=True),
        sa.Column("municipality_oktmo", sa.String(length=11), nullable=True),
        sa.Column(
            "priority",
            _choice("priority", PRIORITY),
            server_default="normal",
            nullable=False,
        ),
        sa.Column("message_count", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("author_count", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("reach", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("parent_incident_id", sa.BigInteger(), nullable=True),
        sa.Column("merged_into_id", sa.BigInteger(), nullable=True),
        sa.Column(
            "resolution",
            _choice("resolution", RESOLUTION),
            nullable=True,
        ),
        sa.Column("grouping_version", sa.String(length=64), nullable=True),
        sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["merged_into_id"],
            ["incidents.id"],
            name=op.f("fk_incidents_merged_into_id_incidents"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["parent_incident_id"],
            ["incidents.id"],
            name=op.f("fk_incidents_parent_incident_id_incidents"),
            ondelete="RESTRICT",
        ),
        _one_of("incidents", "status", "incident_status", INCIDENT_STATUS),
        _one_of("incidents", "priority", "priority", PRIORITY),
        _one_of("incidents", "resolution", "resolution", RESOLUTION),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incidents")),
        sa.UniqueConstraint("public_number", name=op.f("uq_incidents_public_number")),
    )
    op.create_index(
        op.f("ix_incidents_merged_into_id"), "incidents", ["merged_into_id"], unique=False
    )
    op.create_index(
        "ix_incidents_municipality_oktmo_topic",
        "incidents",
        ["municipality_oktmo", "topic"],
        unique=False,
    )
    op.create_index(
        op.f("ix_incidents_parent_incident_id"), "incidents", ["parent_incident_id"], unique=False
    )
    op.create_index(
        "ix_incidents_status_created_at", "incidents", ["status", "created_at"], unique=False
    )
    op.create_table(
        "sources",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "network",
            _choice("network", NETWORK),
            nullable=False,
        ),
        sa.Column("external_id", sa.String(length=128), nullable=False),
        sa.Column("screen_name", sa.String(length=255), nullable=True),
        sa.Column("title", sa.String(length=500), server_default="", nullable=False),
        sa.Column("municipality", sa.String(length=255), nullable=True),
        sa.Column("municipality_oktmo", sa.String(length=11), nullable=True),
        sa.Column("enabled", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column(
            "poll_interval_seconds", sa.Integer(), server_default=sa.text("300"), nullable=False
        ),
        sa.Column("last_seen_post_id", sa.String(length=128), nullable=True),
        sa.Column("comments_watermark_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "cursor",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("last_success_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lag_seconds", sa.Integer(), nullable=True),
        sa.Column(
            "consecutive_failures", sa.Integer(), server_default=sa.text("0"), nullable=False
        ),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("disabled_reason", sa.Text(), nullable=True),
        sa.Column("lease_owner", sa.String(length=128), nullable=True),
        sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint(
            "poll_interval_seconds > 0", name=op.f("ck_sources_poll_interval_positive")
        ),
        _one_of("sources", "network", "network", NETWORK),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sources")),
        sa.UniqueConstraint("network", "external_id", name=op.f("uq_sources_network_external_id")),
    )
    op.create_index(
        "ix_sources_enabled_lease_expires_at",
        "sources",
        ["enabled", "lease_expires_at"],
        unique=False,
    )
    op.create_table(
        "assignments",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("incident_id", sa.BigInteger(), nullable=False),
        sa.Column("executor_id", sa.Integer(), nullable=False),
        sa.Column(
            "assigned_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "status",
            _choice("assignment_status", ASSIGNMENT_STATUS),
            server_default="assigned",
            nullable=False,
        ),
        sa.Column("sla_budget_minutes", sa.Integer(), nullable=False),
        sa.Column("deadline_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("paused_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "paused_total_minutes", sa.Integer(), server_default=sa.text("0"), nullable=False
        ),
        sa.Column("remaining_budget_minutes", sa.Integer(), nullable=True),
        sa.Column("interim", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("rule_id", sa.String(length=128), nullable=True),
        sa.CheckConstraint(
            "sla_budget_minutes > 0", name=op.f("ck_assignments_sla_budget_positive")
        ),
        sa.ForeignKeyConstraint(
            ["executor_id"],
            ["executors.id"],
            name=op.f("fk_assignments_executor_id_executors"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
            name=op.f("fk_assignments_incident_id_incidents"),
            ondelete="CASCADE",
        ),
        _one_of("assignments", "status", "assignment_status", ASSIGNMENT_STATUS),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assignments")),
    )
    op.create_index(
        op.f("ix_assignments_deadline_at"), "assignments", ["deadline_at"], unique=False
    )
    op.create_index(
        "ix_assignments_executor_id_status", "assignments", ["executor_id", "status"], unique=False
    )
    op.create_index(
        op.f("ix_assignments_incident_id"), "assignments", ["incident_id"], unique=False
    )
    op.create_index(
        "ix_assignments_status_deadline_at", "assignments", ["status", "deadline_at"], unique=False
    )
    op.create_table(
        "incident_fingerprints",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("fingerprint", sa.String(length=128), nullable=False),
        sa.Column("incident_id", sa.BigInteger(), nullable=False),
        sa.Column("grouping_version", sa.String(length=64), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
            name=op.f("fk_incident_fingerprints_incident_id_incidents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incident_fingerprints")),
        sa.UniqueConstraint(
            "fingerprint",
            "incident_id",
            name=op.f("uq_incident_fingerprints_fingerprint_incident_id"),
        ),
    )
    op.create_index(
        "ix_incident_fingerprints_incident_id",
        "incident_fingerprints",
        ["incident_id"],
        unique=False,
    )
    op.create_table(
        "messages",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "network",
            _choice("network", NETWORK),
            nullable=False,
        ),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("external_id", sa.String(length=128), nullable=False),
        sa.Column(
            "kind",
            _choice("message_kind", MESSAGE_KIND),
            nullable=False,
        ),
        sa.Column("parent_message_id", sa.BigInteger(), nullable=True),
        sa.Column("external_parent_id", sa.String(length=128), nullable=True),
        sa.Column("author_id", sa.String(length=64), nullable=True),
        sa.Column("text", sa.Text(), server_default="", nullable=False),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("url", sa.String(length=1024), nullable=True),
        sa.Column("views", sa.Integer(), nullable=True),
        sa.Column("likes", sa.Integer(), nullable=True),
        sa.Column("comments", sa.Integer(), nullable=True),
        sa.Column("reposts", sa.Integer(), nullable=True),
        sa.Column("geo_lat", sa.Float(), nullable=True),
        sa.Column("geo_lon", sa.Float(), nullable=True),
        sa.Column("edited_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "collected_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["parent_message_id"],
            ["messages.id"],
            name=op.f("fk_messages_parent_message_id_messages"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["sources.id"],
            name=op.f("fk_messages_source_id_sources"),
            ondelete="RESTRICT",
        ),
        _one_of("messages", "network", "network", NETWORK),
        _one_of("messages", "kind", "message_kind", MESSAGE_KIND),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_messages")),
        sa.UniqueConstraint("network", "external_id", name=op.f("uq_messages_network_external_id")),
    )
    op.create_index(
        op.f("ix_messages_parent_message_id"), "messages", ["parent_message_id"], unique=False
    )
    op.create_index("ix_messages_posted_at", "messages", ["posted_at"], unique=False)
    op.create_index(
        "ix_messages_source_id_posted_at", "messages", ["source_id", "posted_at"], unique=False
    )
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("login", sa.String(length=128), nullable=False),
        sa.Column("display_name", sa.String(length=255), nullable=False),
        sa.Column(
            "role",
            _choice("user_role", USER_ROLE),
            nullable=False,
        ),
        sa.Column("executor_id", sa.Integer(), nullable=True),
        sa.Column("password_hash", sa.String(length=255), nullable=True),
        sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint(
            "role <> 'executor' OR executor_id IS NOT NULL",
            name=op.f("ck_users_executor_role_has_executor"),
        ),
        sa.ForeignKeyConstraint(
            ["executor_id"],
            ["executors.id"],
            name=op.f("fk_users_executor_id_executors"),
            ondelete="RESTRICT",
        ),
        _one_of("users", "role", "user_role", USER_ROLE),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("login", name=op.f("uq_users_login")),
    )
    op.create_index(op.f("ix_users_executor_id"), "users", ["executor_id"], unique=False)
    op.create_table(
        "answers",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("incident_id", sa.BigInteger(), nullable=False),
        sa.Column("assignment_id", sa.BigInteger(), nullable=True),
        sa.Column("author_user_id", sa.Integer(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column(
            "kind",
            _choice("answer_kind", ANSWER_KIND),
            nullable=False,
        ),
        sa.Column(
            "status",
            _choice("answer_status", ANSWER_STATUS),
            server_default="draft",
            nullable=False,
        ),
        sa.Column("review_comment", sa.Text(), nullable=True),
        sa.Column("external_reply_id", sa.String(length=128), nullable=True),
        sa.Column("guid", sa.String(length=64), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("delivery_verified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["assignment_id"],
            ["assignments.id"],
            name=op.f("fk_answers_assignment_id_assignments"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["author_user_id"],
            ["users.id"],
            name=op.f("fk_answers_author_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
            name=op.f("fk_answers_incident_id_incidents"),
            ondelete="CASCADE",
        ),
        _one_of("answers", "kind", "answer_kind", ANSWER_KIND),
        _one_of("answers", "status", "answer_status", ANSWER_STATUS),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_answers")),
        sa.UniqueConstraint("guid", name=op.f("uq_answers_guid")),
    )
    op.create_index("ix_answers_incident_id", "answers", ["incident_id"], unique=False)
    op.create_index("ix_answers_status", "answers", ["status"], unique=False)
    op.create_table(
        "classifications",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("message_id", sa.BigInteger(), nullable=False),
        sa.Column("is_complaint", sa.Boolean(), nullable=False),
        sa.Column("complaint_confidence", sa.Float(), nullable=False),
        sa.Column("topic_group", sa.String(length=255), nullable=True),
        sa.Column("topic", sa.String(length=255), nullable=True),
        sa.Column("topic_confidence", sa.Float(), nullable=True),
        sa.Column("municipality", sa.String(length=255), nullable=True),
        sa.Column("municipality_oktmo", sa.String(length=11), nullable=True),
        sa.Column("municipality_confidence", sa.Float(), nullable=True),
        sa.Column(
            "evidence",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("model_version", sa.String(length=64), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["messages.id"],
            name=op.f("fk_classifications_message_id_messages"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_classifications")),
        sa.UniqueConstraint(
            "message_id", "model_version", name=op.f("uq_classifications_message_id_model_version")
        ),
    )
    op.create_index(
        "ix_classifications_model_version", "classifications", ["model_version"], unique=False
    )
    op.create_table(
        "events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("incident_id", sa.BigInteger(), nullable=True),
        sa.Column("actor_user_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("from_status", sa.String(length=32), nullable=True),
        sa.Column("to_status", sa.String(length=32), nullable=True),
        sa.Column(
            "payload",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "occurred_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["actor_user_id"],
            ["users.id"],
            name=op.f("fk_events_actor_user_id_users"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
            name=op.f("fk_events_incident_id_incidents"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
    )
    op.create_index(
        "ix_events_incident_id_occurred_at", "events", ["incident_id", "occurred_at"], unique=False
    )
    op.create_index("ix_events_kind_occurred_at", "events", ["kind", "occurred_at"], unique=False)
    op.create_table(
        "incident_messages",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("incident_id", sa.BigInteger(), nullable=False),
        sa.Column("message_id", sa.BigInteger(), nullable=False),
        sa.Column("grouping_version", sa.String(length=64), nullable=False),
        sa.Column(
            "evidence",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "attached_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
            name=op.f("fk_incident_messages_incident_id_incidents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["messages.id"],
            name=op.f("fk_incident_messages_message_id_messages"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incident_messages")),
        sa.UniqueConstraint(
            "incident_id", "message_id", name=op.f("uq_incident_messages_incident_id_message_id")
        ),
    )
    op.create_index(
        op.f("ix_incident_messages_message_id"), "incident_messages", ["message_id"], unique=False
    )
    op.create_table(
        "message_versions",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("message_id", sa.BigInteger(), nullable=False),
        sa.Column("version_no", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column(
            "seen_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["messages.id"],
            name=op.f("fk_message_versions_message_id_messages"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_message_versions")),
        sa.UniqueConstraint(
            "message_id", "version_no", name=op.f("uq_message_versions_message_id_version_no")
        ),
    )
    op.create_table(
        "tombstones",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("fingerprint", sa.String(length=128), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("incident_id", sa.BigInteger(), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
            name=op.f("fk_tombstones_incident_id_incidents"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_tombstones_user_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tombstones")),
        sa.UniqueConstraint("fingerprint", name=op.f("uq_tombstones_fingerprint")),
    )
    op.create_table(
        "training_labels",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("message_id", sa.BigInteger(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column(
            "field",
            _choice("label_field", LABEL_FIELD),
            nullable=False,
        ),
        sa.Column("value", sa.String(length=255), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("used_in_model_version", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["messages.id"],
            name=op.f("fk_training_labels_message_id_messages"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_training_labels_user_id_users"),
            ondelete="SET NULL",
        ),
        _one_of("training_labels", "field", "label_field", LABEL_FIELD),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_training_labels")),
    )
    op.create_index(
        "ix_training_labels_field_used_in_model_version",
        "training_labels",
        ["field", "used_in_model_version"],
        unique=False,
    )
    op.create_index(
        op.f("ix_training_labels_message_id"), "training_labels", ["message_id"], unique=False
    )
    for statement in _append_only_statements():
        op.execute(statement)


def downgrade() -> None:
    """Revert this revision."""
    dialect = op.get_bind().dialect.name
    op.drop_index(op.f("ix_training_labels_message_id"), table_name="training_labels")
    op.drop_index("ix_training_labels_field_used_in_model_version", table_name="training_labels")
    op.drop_table("training_labels")
    op.drop_table("tombstones")
    op.drop_table("message_versions")
    op.drop_index(op.f("ix_incident_messages_message_id"), table_name="incident_messages")
    op.drop_table("incident_messages")
    op.drop_index("ix_events_kind_occurred_at", table_name="events")
    op.drop_index("ix_events_incident_id_occurred_at", table_name="events")
    op.drop_table("events")
    op.drop_index("ix_classifications_model_version", table_name="classifications")
    op.drop_table("classifications")
    op.drop_index("ix_answers_status", table_name="answers")
    op.drop_index("ix_answers_incident_id", table_name="answers")
    op.drop_table("answers")
    op.drop_index(op.f("ix_users_executor_id"), table_name="users")
    op.drop_table("users")
    op.drop_index("ix_messages_source_id_posted_at", table_name="messages")
    op.drop_index("ix_messages_posted_at", table_name="messages")
    op.drop_index(op.f("ix_messages_parent_message_id"), table_name="messages")
    op.drop_table("messages")
    op.drop_index("ix_incident_fingerprints_incident_id", table_name="incident_fingerprints")
    op.drop_table("incident_fingerprints")
    op.drop_index("ix_assignments_status_deadline_at", table_name="assignments")
    op.drop_index(op.f("ix_assignments_incident_id"), table_name="assignments")
    op.drop_index("ix_assignments_executor_id_status", table_name="assignments")
    op.drop_index(op.f("ix_assignments_deadline_at"), table_name="assignments")
    op.drop_table("assignments")
    op.drop_index("ix_sources_enabled_lease_expires_at", table_name="sources")
    op.drop_table("sources")
    op.drop_index("ix_incidents_status_created_at", table_name="incidents")
    op.drop_index(op.f("ix_incidents_parent_incident_id"), table_name="incidents")
    op.drop_index("ix_incidents_municipality_oktmo_topic", table_name="incidents")
    op.drop_index(op.f("ix_incidents_merged_into_id"), table_name="incidents")
    op.drop_table("incidents")
    op.drop_table("executors")
    if dialect == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS events_append_only()")
