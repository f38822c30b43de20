"""Official notices of planned outages and closures, and the incidents they explain.

Revision ID: 0008
Revises: 0006
Create Date: 2026-12-03 13:00:00

- ``outage_notices``: one row per notice message (what is off, which streets, the window), so a
  restarted daemon still explains complaints by it and the incident page shows it.
- ``outage_notice_links``: an incident whose complaint fell under a notice.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0008"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "outage_notices",
        sa.Column("id", _BIG_ID, nullable=False),
        sa.Column("message_key", sa.String(length=255), nullable=False),
        sa.Column("service", sa.String(length=32), nullable=False),
        sa.Column("topic_group", sa.String(length=255), nullable=False),
        sa.Column("streets", _JSON, nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outage_notices")),
        sa.UniqueConstraint("message_key", name=op.f("uq_outage_notices_message_key")),
    )
    op.create_index("ix_outage_notices_ends_at", "outage_notices", ["ends_at"], unique=False)
    op.create_table(
        "outage_notice_links",
        sa.Column("incident_id", sa.BigInteger(), nullable=False),
        sa.Column("notice_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "linked_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
            name=op.f("fk_outage_notice_links_incident_id_incidents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["notice_id"],
            ["outage_notices.id"],
            name=op.f("fk_outage_notice_links_notice_id_outage_notices"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("incident_id", "notice_id", name=op.f("pk_outage_notice_links")),
    )
    op.create_index(
        op.f("ix_outage_notice_links_notice_id"),
        "outage_notice_links",
        ["notice_id"],
        unique=False,
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index(op.f("ix_outage_notice_links_notice_id"), table_name="outage_notice_links")
    op.drop_table("outage_notice_links")
    op.drop_index("ix_outage_notices_ends_at", table_name="outage_notices")
    op.drop_table("outage_notices")
