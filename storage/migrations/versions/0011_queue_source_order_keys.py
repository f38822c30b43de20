"""The queue's source filter ordered from one index range: links carry the incident's keys.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 22:30:00

At 1 000 000 incidents the ``source`` filter still cost PostgreSQL 13-18 ms a request after
0010 (bench/bench_web_queue.py): the source's links came from one index range, but each of
their incidents (3 334 for a source holding 1/300 of the messages) was read by primary key for
its state and sort keys before the top 51 were sorted. The links now carry the incident's
state, priority rank and creation time (``incident_status``, ``incident_priority_rank``,
``incident_created_at``), and two indexes over them give a source's page in the priority and
the received order from one range, the state checked in the index (0.5 ms).

The database keeps the copies, as 0010 does the source: the link's trigger fills them when a
link is written or moved to another incident, and a trigger on ``incidents`` rewrites an
incident's links when its state, priority rank or creation time changes. Existing links are
filled in one UPDATE (about a minute for 1 200 000 links on the bench machine).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_INDEXES = {
    "ix_incident_messages_source_id_priority_keys": [
        "source_id",
        "incident_priority_rank",
        "incident_created_at",
        "incident_id",
    ],
    "ix_incident_messages_source_id_received_keys": [
        "source_id",
        "incident_created_at",
        "incident_id",
    ],
}

# The triggers as of this revision (storage/models.py INCIDENT_MESSAGES_SOURCE_DDL).
_POSTGRESQL = (
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
)

_SQLITE = (
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
)

# 0010's triggers, put back by the downgrade.
_POSTGRESQL_0010 = (
    """
    CREATE OR REPLACE FUNCTION incident_messages_source() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        NEW.source_id := (SELECT source_id FROM messages WHERE id = NEW.message_id);
        RETURN NEW;
    END;
    $$
    """,
    """
    CREATE TRIGGER incident_messages_source
    BEFORE INSERT OR UPDATE OF message_id ON incident_messages
    FOR EACH ROW EXECUTE FUNCTION incident_messages_source()
    """,
)

_SQLITE_0010 = (
    """
    CREATE TRIGGER incident_messages_source_insert AFTER INSERT ON incident_messages
    BEGIN
        UPDATE incident_messages
        SET source_id = (SELECT source_id FROM messages WHERE id = NEW.message_id)
        WHERE id = NEW.id;
    END
    """,
    """
    CREATE TRIGGER incident_messages_source_update
    AFTER UPDATE OF message_id ON incident_messages
    BEGIN
        UPDATE incident_messages
        SET source_id = (SELECT source_id FROM messages WHERE id = NEW.message_id)
        WHERE id = NEW.id;
    END
    """,
)


def _drop_triggers(dialect: str) -> None:
    if dialect == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS incident_messages_source ON incident_messages")
        op.execute("DROP TRIGGER IF EXISTS incidents_queue_keys_to_links ON incidents")
        op.execute("DROP FUNCTION IF EXISTS incidents_queue_keys_to_links()")
    else:
        op.execute("DROP TRIGGER IF EXISTS incident_messages_source_insert")
        op.execute("DROP TRIGGER IF EXISTS incident_messages_source_update")
        op.execute("DROP TRIGGER IF EXISTS incidents_queue_keys_to_links")


def upgrade() -> None:
    """Add the copies, fill them, index them, and let the database keep them."""
    dialect = op.get_bind().dialect.name
    _drop_triggers(dialect)
    with op.batch_alter_table("incident_messages") as batch:
        batch.add_column(sa.Column("incident_status", sa.String(32), nullable=True))
        batch.add_column(sa.Column("incident_priority_rank", sa.SmallInteger(), nullable=True))
        batch.add_column(
            sa.Column("incident_created_at", sa.DateTime(timezone=True), nullable=True)
        )
    if dialect == "postgresql":
        op.execute(
            "UPDATE incident_messages AS im SET incident_status = i.status, "
            "incident_priority_rank = i.priority_rank, incident_created_at = i.created_at "
            "FROM incidents AS i WHERE i.id = im.incident_id"
        )
    else:
        op.execute(
            "UPDATE incident_messages SET "
            "incident_status = (SELECT status FROM incidents "
            "WHERE incidents.id = incident_messages.incident_id), "
            "incident_priority_rank = (SELECT priority_rank FROM incidents "
            "WHERE incidents.id = incident_messages.incident_id), "
            "incident_created_at = (SELECT created_at FROM incidents "
            "WHERE incidents.id = incident_messages.incident_id)"
        )
    for name, columns in _INDEXES.items():
        op.create_index(name, "incident_messages", columns, postgresql_include=["incident_status"])
    for statement in _POSTGRESQL if dialect == "postgresql" else _SQLITE:
        op.execute(statement)


def downgrade() -> None:
    """Drop the triggers, the indexes and the copies; put back 0010's triggers."""
    dialect = op.get_bind().dialect.name
    _drop_triggers(dialect)
    for name in _INDEXES:
        op.drop_index(name, table_name="incident_messages")
    with op.batch_alter_table("incident_messages") as batch:
        batch.drop_column("incident_created_at")
        batch.drop_column("incident_priority_rank")
        batch.drop_column("incident_status")
    for statement in _POSTGRESQL_0010 if dialect == "postgresql" else _SQLITE_0010:
        op.execute(statement)
