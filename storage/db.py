"""Engines and sessions: SQLite tuned for one writer, PostgreSQL through psycopg 3."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import URL, Engine, ExceptionContext, make_url
from sqlalchemy.orm import Session, sessionmaker

from storage.errors import StorageError

__all__ = [
    "SQLITE_BUSY_TIMEOUT_MS",
    "SQLITE_CASEFOLD",
    "create_engine_for",
    "make_read_sessionmaker",
    "make_sessionmaker",
    "normalize_url",
    "postgres_pool_size",
    "redact",
]

SQLITE_BUSY_TIMEOUT_MS = 5000
POSTGRES_CONNECT_TIMEOUT_S = 10

SqliteBegin = Literal["DEFERRED", "IMMEDIATE", "EXCLUSIVE"]


def redact(url: str | URL) -> str:
    """Return the URL as text with its password hidden."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (sa.exc.ArgumentError, ValueError):
        return "<unparsable database URL>"


def normalize_url(url: str | URL) -> URL:
    """Parse a database URL and pick the project's drivers (psycopg 3 for PostgreSQL)."""
    try:
        parsed = make_url(url)
    except (sa.exc.ArgumentError, ValueError) as err:
        raise StorageError(f"invalid database URL {redact(url)}") from err
    if parsed.drivername in ("postgresql", "postgres", "postgresql+psycopg2"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.drivername == "sqlite+pysqlite":
        parsed = parsed.set(drivername="sqlite")
    return parsed


def _scrub(message: str, parsed: URL) -> str:
    """Return the first line of a driver message with any password removed."""
    line = message.strip().splitlines()[0] if message.strip() else "unknown error"
    if parsed.password:
        line = line.replace(str(parsed.password), "***")
    return line


def _is_memory(parsed: URL) -> bool:
    database = parsed.database or ""
    return database in ("", ":memory:") or database.startswith("file::memory:")


#: The SQL function (SQLite only) that case-folds text the way Python does, Cyrillic included.
SQLITE_CASEFOLD = "im_casefold"


def _casefold(value: object) -> str | None:
    return None if value is None else str(value).casefold().replace("ё", "е")


def _setup_sqlite(engine: Engine, begin: SqliteBegin) -> None:
    """Install the per-connection pragmas and explicit transaction control on a SQLite engine."""
    memory = _is_memory(engine.url)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide where transactions begin; this makes
        # SAVEPOINT and transactional DDL work and lets writers take the lock up front.
        dbapi_connection.isolation_level = None
        # SQLite's lower() and LIKE fold ASCII only: the queue's search folds Cyrillic with this.
        dbapi_connection.create_function(SQLITE_CASEFOLD, 1, _casefold, deterministic=True)
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA foreign_keys = ON")
            if not memory:
                cursor.execute("PRAGMA journal_mode = WAL")
                cursor.execute("PRAGMA synchronous = NORMAL")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: sa.Connection) -> None:
        connection.exec_driver_sql(f"BEGIN {begin}")


def postgres_pool_size(cpus: int | None = None) -> int:
    """Return the connections a PostgreSQL pool keeps: one per thread of asyncio's default
    executor (where the web's and the daemon's reads run), plus a few for jobs and probes.

    SQLAlchemy's default of 5 is below that executor's min(32, CPUs + 4) threads even on two
    cores: the sixth concurrent read opened an overflow connection and closed it on return, a
    new PostgreSQL backend (a fork and a sign-in) every few requests under load.
    """
    count = (os.cpu_count() or 1) if cpus is None else cpus
    return min(32, count + 4) + 4


#: Seconds a pooled PostgreSQL connection may sit idle before its next checkout pings it.
POSTGRES_PING_AFTER_IDLE_S = 1.0

_CHECKED_IN_AT = "im_checked_in_at"


def _ping_when_idle(engine: Engine, after_idle: float, clock: Callable[[], float]) -> None:
    """Ping a pooled connection on checkout only when it was idle longer than ``after_idle``.

    ``pool_pre_ping`` pings on every checkout: one extra round trip each, half of a web
    request's four (bench/README.md). A connection handed back and taken again within the
    second is as alive as the one that just worked; one that sat idle (a database restart may
    have passed) is pinged, and a dead one is replaced before anyone uses it (raising
    DisconnectionError makes the pool retry with a fresh connection).
    """

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info[_CHECKED_IN_AT] = clock()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        checked_in = record.info.get(_CHECKED_IN_AT)
        if checked_in is None or clock() - checked_in <= after_idle:
            return  # new, or back from work a moment ago
        try:
            alive = engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as err:
            raise sa.exc.DisconnectionError(str(err)) from err
        if not alive:
            raise sa.exc.DisconnectionError("the connection failed its ping")


def _raise_storage_error_on_connect(engine: Engine) -> None:
    """Turn failures to open a connection into StorageError (statement errors pass through)."""
    parsed = engine.url

    @event.listens_for(engine, "handle_error")
    def _on_error(context: ExceptionContext) -> None:
        if context.is_pre_ping or context.connection is not None:
            return
        detail = _scrub(str(context.original_exception), parsed)
        raise StorageError(f"cannot connect to database {redact(parsed)}: {detail}")


def create_engine_for(
    url: str | URL, *, sqlite_begin: SqliteBegin = "DEFERRED", **kw: Any
) -> Engine:
    """Create an engine for a SQLite or PostgreSQL URL with the project's connection settings.

    SQLite: the file's directory is created, WAL mode, foreign keys and a busy timeout are set
    on every connection, and transactions start with ``BEGIN {sqlite_begin}`` (use
    ``"IMMEDIATE"`` for the single writer). PostgreSQL: psycopg 3; a pooled connection idle
    longer than ``ping_after_idle`` seconds (default 1) is pinged on checkout and replaced when
    dead (``pool_pre_ping=True`` pings every checkout instead).
    Failing to connect raises StorageError; the engine itself connects lazily.
    """
    parsed = normalize_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if not _is_memory(parsed) and not (parsed.database or "").startswith("file:"):
            directory = Path(parsed.database or "").expanduser().resolve().parent
            try:
                directory.mkdir(parents=True, exist_ok=True)
            except OSError as err:
                raise StorageError(
                    f"cannot create the directory of {redact(parsed)}: {err.strerror}"
                ) from err
    elif backend == "postgresql":
        if "poolclass" not in kw:  # NullPool and StaticPool take no size
            kw.setdefault("pool_size", postgres_pool_size())
        ping_after_idle = kw.pop("ping_after_idle", POSTGRES_PING_AFTER_IDLE_S)
        clock = kw.pop("ping_clock", time.monotonic)
        connect_args = dict(kw.pop("connect_args", {}))
        connect_args.setdefault("connect_timeout", POSTGRES_CONNECT_TIMEOUT_S)
        kw["connect_args"] = connect_args
    else:
        raise StorageError(f"unsupported database {redact(parsed)}: use sqlite or postgresql")
    try:
        engine = sa.create_engine(parsed, **kw)
    except (sa.exc.ArgumentError, ImportError, TypeError) as err:
        raise StorageError(
            f"cannot create an engine for {redact(parsed)}: {_scrub(str(err), parsed)}"
        ) from err
    if backend == "sqlite":
        _setup_sqlite(engine, sqlite_begin)
    elif not kw.get("pool_pre_ping"):
        _ping_when_idle(engine, ping_after_idle, clock)
    _raise_storage_error_on_connect(engine)
    return engine


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    """Return a session factory bound to the engine; objects stay usable after commit."""
    return sessionmaker(bind=engine, expire_on_commit=False)


def make_read_sessionmaker(sessions: sessionmaker[Session]) -> sessionmaker[Session]:
    """Return a factory of sessions for reads only, sharing the pool of ``sessions``.

    On PostgreSQL they run in autocommit: no BEGIN and ROLLBACK round trips around each read
    (two of the four a web request's lookup cost, bench/README.md). Every statement still sees
    its own snapshot, exactly as under the default READ COMMITTED. SQLite keeps ``sessions``
    (its transactions are local calls, and its writer takes the lock at BEGIN).
    """
    engine = sessions.kw["bind"]
    if not isinstance(engine, Engine) or engine.dialect.name != "postgresql":
        return sessions
    return sessionmaker(
        bind=engine.execution_options(isolation_level="AUTOCOMMIT"), expire_on_commit=False
    )
