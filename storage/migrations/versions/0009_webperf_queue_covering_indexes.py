"""Indexes from which the queue's slow filters read their rows without visiting the tables.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04 15:00:00

Measured at 1 000 000 incidents (bench/bench_web_queue.py, bench/README.md):

- ``ix_incidents_running_deadline_at_keys`` replaces ``ix_incidents_running_deadline_at``: the
  same partial index over running clocks, which on PostgreSQL also carries the incident's
  state and the priority order's keys (INCLUDE), so ``sla=overdue`` sorts every overdue clock
  from the index alone and reads only the page's rows from the table
  (storage/repositories/queue.py).
- ``ix_messages_source_id_id``: a source's message ids without reading the messages.
- ``ix_incident_messages_message_id_incident_id`` replaces ``ix_incident_messages_message_id``:
  a message's incidents without reading the links.

Only indexes: nothing to backfill, each is built in one pass over its table (seconds at this
size).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_RUNNING = sa.text("active_status = 'received'")


def upgrade() -> None:
    """Create the covering indexes, then drop the ones they replace."""
    op.create_index(
        "ix_incidents_running_deadline_at_keys",
        "incidents",
        ["active_deadline_at"],
        postgresql_include=["status", "priority_rank", "created_at", "id"],
        postgresql_where=_RUNNING,
        sqlite_where=_RUNNING,
    )
    op.drop_index("ix_incidents_running_deadline_at", table_name="incidents")
    op.create_index("ix_messages_source_id_id", "messages", ["source_id", "id"])
    op.create_index(
        "ix_incident_messages_message_id_incident_id",
        "incident_messages",
        ["message_id", "incident_id"],
    )
    op.drop_index(op.f("ix_incident_messages_message_id"), table_name="incident_messages")


def downgrade() -> None:
    """Put back the indexes of 0008."""
    op.create_index(
        op.f("ix_incident_messages_message_id"), "incident_messages", ["message_id"], unique=False
    )
    op.drop_index("ix_incident_messages_message_id_incident_id", table_name="incident_messages")
    op.drop_index("ix_messages_source_id_id", table_name="messages")
    op.create_index(
        "ix_incidents_running_deadline_at",
        "incidents",
        ["active_deadline_at"],
        postgresql_where=_RUNNING,
        sqlite_where=_RUNNING,
    )
    op.drop_index("ix_incidents_running_deadline_at_keys", table_name="incidents")
