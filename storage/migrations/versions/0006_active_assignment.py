"""The active assignment copied onto its incident, for the queue's SLA filters and deadline order.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 12:30:00

- ``incidents.active_assignment_id``, ``active_executor_id``, ``active_status``,
  ``active_deadline_at``, ``active_at_risk_at``: the newest active assignment's fields (NULL
  without one), kept by ``storage/repositories/active_assignment.py``;
  ``incidents.queue_deadline_at``: ``active_deadline_at`` or 9999-12-31, the deadline order's key.
- Backfilled here from ``assignments`` in one statement.
- Indexes: ``(queue_deadline_at, id)`` for the deadline order; ``active_deadline_at`` and
  ``active_at_risk_at`` over running clocks only (partial) for ``sla=overdue|at_risk|ok``;
  ``active_executor_id`` for the executor filter and scope.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.types import far_future_default

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ACTIVE = "('assigned', 'received', 'paused', 'answered')"
_RUNNING = sa.text("active_status = 'received'")

# The newest active assignment of each incident (the same choice as AssignmentRepository.active).
_NEWEST = f"""
    SELECT a.* FROM assignments a
    WHERE a.status IN {_ACTIVE} AND NOT EXISTS (
        SELECT 1 FROM assignments b
        WHERE b.incident_id = a.incident_id AND b.status IN {_ACTIVE} AND b.id > a.id
    )
"""  # noqa: S608 (constants only)


def _backfill() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"""
            UPDATE incidents AS i SET
                active_assignment_id = n.id,
                active_executor_id = n.executor_id,
                active_status = n.status,
                active_deadline_at = n.deadline_at,
                active_at_risk_at = n.at_risk_at,
                queue_deadline_at = coalesce(n.deadline_at, '9999-12-31 00:00:00+00')
            FROM ({_NEWEST}) AS n
            WHERE n.incident_id = i.id
            """  # noqa: S608
        )
        return

    # SQLite (embedded installations, small): a correlated lookup per column.
    def newest(column: str) -> str:
        return f"(SELECT n.{column} FROM ({_NEWEST}) AS n WHERE n.incident_id = incidents.id)"  # noqa: S608

    op.execute(
        f"""
        UPDATE incidents SET
            active_assignment_id = {newest("id")},
            active_executor_id = {newest("executor_id")},
            active_status = {newest("status")},
            active_deadline_at = {newest("deadline_at")},
            active_at_risk_at = {newest("at_risk_at")},
            queue_deadline_at = coalesce({newest("deadline_at")}, '9999-12-31 00:00:00.000000')
        WHERE id IN (SELECT incident_id FROM assignments WHERE status IN {_ACTIVE})
        """  # noqa: S608
    )


def upgrade() -> None:
    """Add the copied columns, fill them, and index them."""
    with op.batch_alter_table("incidents") as batch:
        batch.add_column(sa.Column("active_assignment_id", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("active_executor_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("active_status", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("active_deadline_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("active_at_risk_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(
            sa.Column(
                "queue_deadline_at",
                sa.DateTime(timezone=True),
                server_default=far_future_default(),
                nullable=False,
            )
        )
        batch.create_foreign_key(
            op.f("fk_incidents_active_executor_id_executors"),
            "executors",
            ["active_executor_id"],
            ["id"],
            ondelete="RESTRICT",
        )
    _backfill()
    op.create_index(op.f("ix_incidents_active_executor_id"), "incidents", ["active_executor_id"])
    op.create_index("ix_incidents_queue_deadline_at_id", "incidents", ["queue_deadline_at", "id"])
    op.create_index(
        "ix_incidents_running_deadline_at",
        "incidents",
        ["active_deadline_at"],
        postgresql_where=_RUNNING,
        sqlite_where=_RUNNING,
    )
    op.create_index(
        "ix_incidents_running_at_risk_at",
        "incidents",
        ["active_at_risk_at"],
        postgresql_where=_RUNNING,
        sqlite_where=_RUNNING,
    )


def downgrade() -> None:
    """Drop the copied columns and their indexes."""
    op.drop_index("ix_incidents_running_at_risk_at", table_name="incidents")
    op.drop_index("ix_incidents_running_deadline_at", table_name="incidents")
    op.drop_index("ix_incidents_queue_deadline_at_id", table_name="incidents")
    op.drop_index(op.f("ix_incidents_active_executor_id"), table_name="incidents")
    with op.batch_alter_table("incidents") as batch:
        batch.drop_constraint(op.f("fk_incidents_active_executor_id_executors"), type_="foreignkey")
        batch.drop_column("queue_deadline_at")
        batch.drop_column("active_at_risk_at")
        batch.drop_column("active_deadline_at")
        batch.drop_column("active_status")
        batch.drop_column("active_executor_id")
        batch.drop_column("active_assignment_id")
