"""The queue's source filter and text search served by stored columns and their indexes.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04 19:00:00

At 1 000 000 incidents the ``source`` filter cost PostgreSQL 16-20 ms a request
(bench/bench_web_queue.py): a source's messages from ``ix_messages_source_id_id``, then one
probe of ``incident_messages`` per message to find its incident (12 000 buffers for a source
holding 1/300 of the messages). ``incident_messages.source_id`` with
``ix_incident_messages_source_id_incident_id`` gives a source's incidents from one index range.

The column is the message's source, copied by the database when a link is written or moved to
another message (a trigger on PostgreSQL and on SQLite), so no writer has to know about it; a
message's source never changes. Existing links are filled in one UPDATE.

PostgreSQL only: ``messages.text_tsv``, the Russian tsvector of the text as a stored generated
column, with the GIN index ``ix_messages_text_tsv`` replacing ``ix_messages_text_fts_ru`` (the
same expression, indexed). The search's probes of an incident's messages computed
``to_tsvector`` of each message they looked at (6-7 ms of PostgreSQL CPU a request at
1 000 000 incidents); now they read it. Adding the column rewrites ``messages`` (about a
minute for 1 200 000 messages on the bench machine, under an exclusive lock).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_POSTGRESQL = (
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

_SQLITE = (
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


_TEXT_SEARCH = (
    """
    ALTER TABLE messages ADD COLUMN text_tsv tsvector
    GENERATED ALWAYS AS (to_tsvector('russian'::regconfig, text)) STORED
    """,
    "CREATE INDEX ix_messages_text_tsv ON messages USING gin (text_tsv)",
    "DROP INDEX IF EXISTS ix_messages_text_fts_ru",
)


def upgrade() -> None:
    """Add the columns, fill them, index them, and let the database keep them."""
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        for statement in _TEXT_SEARCH:
            op.execute(statement)
    with op.batch_alter_table("incident_messages") as batch:
        batch.add_column(sa.Column("source_id", sa.Integer(), nullable=True))
    if dialect == "postgresql":
        op.execute(
            "UPDATE incident_messages AS im SET source_id = m.source_id "
            "FROM messages AS m WHERE m.id = im.message_id"
        )
    else:
        op.execute(
            "UPDATE incident_messages SET source_id = "
            "(SELECT source_id FROM messages WHERE messages.id = incident_messages.message_id)"
        )
    op.create_index(
        "ix_incident_messages_source_id_incident_id",
        "incident_messages",
        ["source_id", "incident_id"],
    )
    for statement in _POSTGRESQL if dialect == "postgresql" else _SQLITE:
        op.execute(statement)


def downgrade() -> None:
    """Drop the triggers, the indexes and the columns; put back 0003's search index."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS incident_messages_source ON incident_messages")
        op.execute("DROP FUNCTION IF EXISTS incident_messages_source()")
        op.execute(
            "CREATE INDEX ix_messages_text_fts_ru ON messages "
            "USING gin (to_tsvector('russian', text))"
        )
        op.execute("DROP INDEX ix_messages_text_tsv")
        op.execute("ALTER TABLE messages DROP COLUMN text_tsv")
    else:
        op.execute("DROP TRIGGER IF EXISTS incident_messages_source_insert")
        op.execute("DROP TRIGGER IF EXISTS incident_messages_source_update")
    op.drop_index("ix_incident_messages_source_id_incident_id", table_name="incident_messages")
    with op.batch_alter_table("incident_messages") as batch:
        batch.drop_column("source_id")
