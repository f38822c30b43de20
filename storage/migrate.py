"""Schema migrations: upgrade a database, read its revision, compare it with the models."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy.engine import Engine

from storage.db import create_engine_for, redact
from storage.errors import StorageError
from storage.models import metadata

__all__ = [
    "ADVISORY_LOCK_KEY",
    "DEFAULT_LOCK_TIMEOUT_MS",
    "DEFAULT_STATEMENT_TIMEOUT_MS",
    "MIGRATIONS_DIR",
    "alembic_config",
    "check",
    "current",
    "current_revision",
    "diff",
    "downgrade",
    "head",
    "upgrade",
]

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

#: Key of the PostgreSQL advisory lock held while migrating ("im-migr" as a number).
ADVISORY_LOCK_KEY = 0x696D2D6D696772
#: How long one DDL statement may wait for a table lock before the migration gives up.
DEFAULT_LOCK_TIMEOUT_MS = 5_000
#: How long one migration statement may run.
DEFAULT_STATEMENT_TIMEOUT_MS = 300_000


def alembic_config(url: str | None = None) -> Config:
    """Return an Alembic configuration for the shipped migrations, without an ini file."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("path_separator", "os")
    config.set_main_option("file_template", "%%(rev)s_%%(slug)s")
    if url is not None:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def head() -> str:
    """Return the newest revision of the shipped migrations."""
    heads = ScriptDirectory.from_config(alembic_config()).get_heads()
    if len(heads) != 1:
        raise StorageError(f"the migrations must have exactly one head, found {sorted(heads)}")
    return heads[0]


def upgrade(
    url: str,
    revision: str = "head",
    *,
    lock_timeout_ms: int | None = None,
    statement_timeout_ms: int | None = None,
) -> None:
    """Upgrade the database at the URL to the revision (PostgreSQL: under an advisory lock)."""
    _run_command(
        command.upgrade,
        url,
        revision,
        lock_timeout_ms=lock_timeout_ms,
        statement_timeout_ms=statement_timeout_ms,
    )


def downgrade(url: str, revision: str) -> None:
    """Downgrade the database at the URL to the revision ("base" drops every table)."""
    _run_command(command.downgrade, url, revision)


def _run_command(
    run: Callable[[Config, str], None],
    url: str,
    revision: str,
    *,
    lock_timeout_ms: int | None = None,
    statement_timeout_ms: int | None = None,
) -> None:
    """Run an Alembic command on one connection and turn its failures into StorageError."""
    engine = create_engine_for(url, poolclass=sa.pool.NullPool)
    config = alembic_config()
    if lock_timeout_ms is not None:
        config.attributes["lock_timeout_ms"] = lock_timeout_ms
    if statement_timeout_ms is not None:
        config.attributes["statement_timeout_ms"] = statement_timeout_ms
    try:
        with engine.connect() as connection:
            config.attributes["connection"] = connection
            run(config, revision)
    except StorageError:
        raise
    except CommandError as err:
        raise StorageError(f"cannot migrate {redact(engine.url)}: {_first_line(err)}") from err
    except sa.exc.SQLAlchemyError as err:
        raise StorageError(f"migration of {redact(engine.url)} failed: {_first_line(err)}") from err
    finally:
        engine.dispose()


def current_revision(engine: Engine) -> str | None:
    """Return the database's schema revision, or None when it was never migrated."""
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    except StorageError:
        raise
    except (sa.exc.SQLAlchemyError, CommandError) as err:
        raise StorageError(
            f"cannot read the schema revision of {redact(engine.url)}: {_first_line(err)}"
        ) from err


def current(url: str) -> str | None:
    """Return the schema revision of the database at the URL, or None when never migrated."""
    engine = create_engine_for(url, poolclass=sa.pool.NullPool)
    try:
        return current_revision(engine)
    finally:
        engine.dispose()


def diff(url: str) -> list[Any]:
    """Return Alembic's raw autogenerate differences between the models and the database."""
    engine = create_engine_for(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection,
                opts={
                    "compare_type": True,
                    "include_name": _comparable,
                    "include_object": _comparable_object,
                },
            )
            with warnings.catch_warnings():
                # The unmapped search index is left out on purpose (UNMAPPED_INDEXES).
                warnings.filterwarnings("ignore", "autogenerate skipping", UserWarning)
                return list(compare_metadata(context, metadata))
    except sa.exc.SQLAlchemyError as err:
        raise StorageError(f"cannot compare {redact(engine.url)}: {_first_line(err)}") from err
    finally:
        engine.dispose()


#: PostgreSQL's search column and its index (storage.models.MESSAGES_TEXT_SEARCH_DDL): not
#: mapped by the models, built by create_all's DDL and by migration 0010.
UNMAPPED_INDEXES = frozenset({"ix_messages_text_tsv"})
UNMAPPED_COLUMNS = frozenset({("messages", "text_tsv")})


def _comparable(name: str | None, kind: str, _parents: Any) -> bool:
    return not (kind == "index" and name in UNMAPPED_INDEXES)


def _comparable_object(
    obj: Any, name: str | None, kind: str, _reflected: bool, _other: Any
) -> bool:
    if kind == "column":
        return (getattr(obj.table, "name", None), name) not in UNMAPPED_COLUMNS
    return _comparable(name, kind, None)


def check(url: str) -> list[str]:
    """Return the differences between the models and the migrated database, one per line."""
    return [_describe(item) for item in diff(url)]


def _describe(item: Any) -> str:
    """Render one autogenerate difference as a readable line."""
    if isinstance(item, list):  # column modifications come grouped
        return "; ".join(_describe(sub) for sub in item)
    if isinstance(item, tuple) and item:
        kind, *rest = item
        return f"{kind}: " + ", ".join(_name_of(part) for part in rest)
    return repr(item)


def _name_of(part: Any) -> str:
    """Name a table, column, index or constraint in an autogenerate difference."""
    table = getattr(part, "table", None)
    name = getattr(part, "name", None)
    if name is not None and table is not None and getattr(table, "name", None):
        return f"{table.name}.{name}"
    if name is not None:
        return str(name)
    return repr(part)


def _first_line(err: BaseException) -> str:
    """Return the first line of an error's message (driver errors are multi-line)."""
    source = err.orig if isinstance(err, sa.exc.DBAPIError) and err.orig is not None else err
    text = str(source).strip()
    return text.splitlines()[0] if text else type(source).__name__
