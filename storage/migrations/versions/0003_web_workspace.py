"""The web workspace: API tokens, response templates, queue indexes, sessions, at-risk times.

Revision ID: 0003
Revises: 0001
Create Date: 2026-12-03 08:40:00

- ``users.session_epoch``: bumped by a password change or a disable, so signed session cookies
  issued before stop working at once.
- ``api_tokens``: integration tokens, only their SHA-256 hashes.
- ``response_templates``: each executor's reply templates.
- ``incidents.priority_rank``: the priority as a number, filled from ``priority`` here, so the
  queue sorts "by priority" on an index (keyset pagination, no OFFSET).
- ``assignments.at_risk_at``: when a running clock reaches the at-risk share (the SLA filter).
- Indexes for the queue's orders and filters; on PostgreSQL a GIN index over the Russian
  full-text vector of ``messages.text`` for the queue's search.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_FTS_INDEX = "ix_messages_text_fts_ru"


def upgrade() -> None:
    """Add the tables, columns and indexes of the web workspace."""
    with op.batch_alter_table("users") as batch:
        batch.add_column(
            sa.Column("session_epoch", sa.Integer(), server_default=sa.text("1"), nullable=False)
        )
    with op.batch_alter_table("incidents") as batch:
        batch.add_column(
            sa.Column(
                "priority_rank", sa.SmallInteger(), server_default=sa.text("1"), nullable=False
            )
        )
    op.execute(
        "UPDATE incidents SET priority_rank = CASE priority WHEN 'low' THEN 0 "
        "WHEN 'high' THEN 2 WHEN 'urgent' THEN 3 ELSE 1 END"
    )
    with op.batch_alter_table("assignments") as batch:
        batch.add_column(sa.Column("at_risk_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index(
        "ix_incidents_priority_rank_created_at_id",
        "incidents",
        ["priority_rank", "created_at", "id"],
    )
    op.create_index(
        "ix_incidents_status_priority_rank_created_at",
        "incidents",
        ["status", "priority_rank", "created_at", "id"],
    )
    op.create_index("ix_incidents_created_at_id", "incidents", ["created_at", "id"])
    op.create_index("ix_incidents_topic_group_topic", "incidents", ["topic_group", "topic"])
    op.create_index("ix_assignments_status_at_risk_at", "assignments", ["status", "at_risk_at"])
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_api_tokens_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_tokens_token_hash")),
    )
    op.create_index(op.f("ix_api_tokens_user_id"), "api_tokens", ["user_id"])
    op.create_table(
        "response_templates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("executor_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=255), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["executor_id"],
            ["executors.id"],
            name=op.f("fk_response_templates_executor_id_executors"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_response_templates")),
    )
    op.create_index(
        "ix_response_templates_executor_id_title", "response_templates", ["executor_id", "title"]
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"CREATE INDEX {_FTS_INDEX} ON messages USING gin (to_tsvector('russian', text))"
        )


def downgrade() -> None:
    """Drop what upgrade() added."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP INDEX IF EXISTS {_FTS_INDEX}")
    op.drop_index("ix_response_templates_executor_id_title", table_name="response_templates")
    op.drop_table("response_templates")
    op.drop_index(op.f("ix_api_tokens_user_id"), table_name="api_tokens")
    op.drop_table("api_tokens")
    op.drop_index("ix_assignments_status_at_risk_at", table_name="assignments")
    op.drop_index("ix_incidents_topic_group_topic", table_name="incidents")
    op.drop_index("ix_incidents_created_at_id", table_name="incidents")
    op.drop_index("ix_incidents_status_priority_rank_created_at", table_name="incidents")
    op.drop_index("ix_incidents_priority_rank_created_at_id", table_name="incidents")
    with op.batch_alter_table("assignments") as batch:
        batch.drop_column("at_risk_at")
    with op.batch_alter_table("incidents") as batch:
        batch.drop_column("priority_rank")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("session_epoch")
