"""Alembic environment: runs migrations on the connection handed over by storage.migrate."""

from __future__ import annotations

from alembic import context
from alembic.util import CommandError
from sqlalchemy import Connection, text

from storage.db import create_engine_for
from storage.migrate import (
    ADVISORY_LOCK_KEY,
    DEFAULT_LOCK_TIMEOUT_MS,
    DEFAULT_STATEMENT_TIMEOUT_MS,
)
from storage.models import metadata


def _configure_and_run(connection: Connection) -> None:
    """Run the migrations in one transaction; on SQLite use batch mode for ALTERs."""
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _run_locked(connection: Connection) -> None:
    """Hold the PostgreSQL advisory lock and timeouts around the migration run."""
    attributes = context.config.attributes
    lock_timeout = int(attributes.get("lock_timeout_ms", DEFAULT_LOCK_TIMEOUT_MS))
    statement_timeout = int(attributes.get("statement_timeout_ms", DEFAULT_STATEMENT_TIMEOUT_MS))
    # Wait for any other migrating process first; then the timeouts apply to our own DDL.
    connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": ADVISORY_LOCK_KEY})
    connection.execute(text(f"SET lock_timeout = {lock_timeout}"))
    connection.execute(text(f"SET statement_timeout = {statement_timeout}"))
    connection.commit()
    try:
        _configure_and_run(connection)
    finally:
        if connection.in_transaction():
            connection.rollback()
        connection.execute(text("RESET lock_timeout"))
        connection.execute(text("RESET statement_timeout"))
        connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": ADVISORY_LOCK_KEY})
        connection.commit()


def _run_sqlite(connection: Connection) -> None:
    """Run with foreign keys off, as batch mode's table copies need, then check them."""
    if connection.in_transaction():
        connection.commit()
    # PRAGMA foreign_keys is a no-op inside a transaction: send it outside SQLAlchemy's BEGIN.
    raw = connection.connection.driver_connection
    if raw is None:
        raise CommandError("the SQLite connection is closed")
    raw.execute("PRAGMA foreign_keys = OFF")
    try:
        _configure_and_run(connection)
        violations = raw.execute("PRAGMA foreign_key_check").fetchall()
        if violations:
            raise CommandError(f"foreign key violations after migrating: {violations[:5]}")
    finally:
        raw.execute("PRAGMA foreign_keys = ON")


def run_migrations(connection: Connection) -> None:
    """Run the migrations on an open connection."""
    if connection.dialect.name == "postgresql":
        _run_locked(connection)
    elif connection.dialect.name == "sqlite":
        _run_sqlite(connection)
    else:
        _configure_and_run(connection)


def run_migrations_online() -> None:
    """Run on the connection from storage.migrate, or on one opened from the configured URL."""
    connection = context.config.attributes.get("connection")
    if connection is not None:
        run_migrations(connection)
        return
    url = context.get_x_argument(as_dictionary=True).get("url") or context.config.get_main_option(
        "sqlalchemy.url"
    )
    if not url:
        raise SystemExit("pass the database URL: alembic -c storage/alembic.ini -x url=... upgrade")
    engine = create_engine_for(url)
    try:
        with engine.connect() as conn:
            run_migrations(conn)
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported; run against a database")
run_migrations_online()
