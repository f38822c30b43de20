"""The daemon's jobs: follow-up verdicts, the notification outbox, job state, anonymised messages.

Revision ID: 0005
Revises: 0001
Create Date: 2026-12-03 09:00:00

- ``followup_verdicts``: one row per comment the follow-up job judged under a published answer.
- ``notification_outbox``: durable notifications (one row per idempotency key), sent by the
  notify job with retries.
- ``job_state``: a cursor and a small JSON document per scheduled job.
- ``messages.anonymised_at``: when retention removed the author and the text.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def _now_column(name: str) -> sa.Column[sa.DateTime]:
    return sa.Column(name, sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False)


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("anonymised_at", sa.DateTime(timezone=True), nullable=True))

    op.create_table(
        "followup_verdicts",
        sa.Column("id", _BIG_ID, nullable=False),
        sa.Column("message_id", sa.BigInteger(), nullable=False),
        sa.Column("incident_id", sa.BigInteger(), nullable=False),
        sa.Column("verdict", sa.String(length=16), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("classifier_version", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=True),
        _now_column("created_at"),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
            name=op.f("fk_followup_verdicts_incident_id_incidents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["messages.id"],
            name=op.f("fk_followup_verdicts_message_id_messages"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_followup_verdicts")),
        sa.UniqueConstraint("message_id", name=op.f("uq_followup_verdicts_message_id")),
    )
    op.create_index(
        op.f("ix_followup_verdicts_incident_id"),
        "followup_verdicts",
        ["incident_id"],
        unique=False,
    )

    op.create_table(
        "notification_outbox",
        sa.Column("id", _BIG_ID, nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("event", sa.String(length=32), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("recipient", sa.String(length=128), nullable=False),
        sa.Column("incident_id", sa.BigInteger(), nullable=True),
        sa.Column("subject", sa.String(length=500), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("payload", _JSON, nullable=False),
        sa.Column("status", sa.String(length=16), server_default="pending", nullable=False),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_by", sa.String(length=128), nullable=True),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        _now_column("created_at"),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_outbox")),
        sa.UniqueConstraint("key", name=op.f("uq_notification_outbox_key")),
    )
    op.create_index(
        "ix_notification_outbox_status_due_at",
        "notification_outbox",
        ["status", "due_at"],
        unique=False,
    )

    op.create_table(
        "job_state",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("cursor", sa.BigInteger(), nullable=True),
        sa.Column("value", _JSON, nullable=False),
        _now_column("updated_at"),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_job_state")),
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_table("job_state")
    op.drop_index("ix_notification_outbox_status_due_at", table_name="notification_outbox")
    op.drop_table("notification_outbox")
    op.drop_index(op.f("ix_followup_verdicts_incident_id"), table_name="followup_verdicts")
    op.drop_table("followup_verdicts")
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("anonymised_at")
