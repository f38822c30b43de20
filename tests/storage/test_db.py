"""Tests of storage.db: engine settings per backend and connection errors."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa

from storage.db import (
    create_engine_for,
    make_read_sessionmaker,
    make_sessionmaker,
    normalize_url,
    postgres_pool_size,
    redact,
)
from storage.errors import StorageError

SECRET = "s3cr3t-Pa55"


def test_sqlite_connections_use_wal_foreign_keys_and_busy_timeout(sqlite_url: str) -> None:
    engine = create_engine_for(sqlite_url)
    try:
        for _ in range(2):  # every pooled connection, not only the first
            with engine.connect() as conn:
                assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
                assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
                assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 5000
            engine.dispose()
    finally:
        engine.dispose()


def test_sqlite_parent_directory_is_created(tmp_path: Path) -> None:
    target = tmp_path / "var" / "data" / "im.db"
    engine = create_engine_for(f"sqlite:///{target}")
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
    finally:
        engine.dispose()
    assert target.is_file()


def test_sqlite_in_memory_needs_no_file(tmp_path: Path) -> None:
    engine = create_engine_for("sqlite://")
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        engine.dispose()


def test_sqlite_immediate_begin_takes_the_write_lock(sqlite_url: str) -> None:
    engine = create_engine_for(sqlite_url, sqlite_begin="IMMEDIATE")
    path = sa.make_url(sqlite_url).database
    assert path is not None
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
        other = sqlite3.connect(path, timeout=0, isolation_level=None)
        try:
            with engine.begin() as conn:
                conn.exec_driver_sql("SELECT 1")  # only reads, yet the write lock is held
                with pytest.raises(sqlite3.OperationalError, match="locked"):
                    other.execute("BEGIN IMMEDIATE")
            other.execute("BEGIN IMMEDIATE")  # free again after commit
            other.execute("ROLLBACK")
        finally:
            other.close()
    finally:
        engine.dispose()


def test_savepoints_roll_back_only_the_nested_part(db_url: str) -> None:
    engine = create_engine_for(db_url)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
        with engine.begin() as conn:
            conn.exec_driver_sql("INSERT INTO t VALUES (1)")
            nested = conn.begin_nested()
            conn.exec_driver_sql("INSERT INTO t VALUES (2)")
            nested.rollback()
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT x FROM t").scalars().all() == [1]
    finally:
        engine.dispose()


def test_postgresql_urls_use_psycopg(postgres_url: str) -> None:
    plain = sa.make_url(postgres_url).set(drivername="postgresql")
    engine = create_engine_for(plain.render_as_string(hide_password=False))
    try:
        assert engine.dialect.driver == "psycopg"
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT 1")).scalar() == 1
    finally:
        engine.dispose()


def _backend_pid(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.text("SELECT pg_backend_pid()")).scalar_one())


def test_postgresql_connection_killed_while_idle_is_replaced_unseen(postgres_url: str) -> None:
    now = [0.0]
    engine = create_engine_for(postgres_url, ping_clock=lambda: now[0])
    admin = create_engine_for(postgres_url)
    try:
        first = _backend_pid(engine)
        with admin.connect() as conn:
            conn.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": first})
        now[0] += 5  # idle longer than the second after which checkout pings
        second = _backend_pid(engine)  # no error: the dead connection was replaced
        assert second != first
    finally:
        engine.dispose()
        admin.dispose()


def test_postgresql_pool_keeps_a_connection_per_executor_thread(postgres_url: str) -> None:
    # asyncio's default executor has min(32, CPUs + 4) threads: 6 on two cores.
    assert postgres_pool_size(2) >= 6
    assert postgres_pool_size(64) >= 32
    engine = create_engine_for(postgres_url)
    try:
        held = [engine.connect() for _ in range(postgres_pool_size())]
        pids = {int(c.execute(sa.text("SELECT pg_backend_pid()")).scalar_one()) for c in held}
        for conn in held:
            conn.close()
        again = [engine.connect() for _ in range(len(held))]
        same = {int(c.execute(sa.text("SELECT pg_backend_pid()")).scalar_one()) for c in again}
        for conn in again:
            conn.close()
        assert same == pids  # every one was kept: none closed and opened anew
    finally:
        engine.dispose()


def test_postgresql_busy_connections_are_not_pinged(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = [0.0]
    engine = create_engine_for(postgres_url, ping_clock=lambda: now[0])
    pings: list[object] = []
    real_ping = engine.dialect.do_ping
    monkeypatch.setattr(engine.dialect, "do_ping", lambda c: pings.append(c) or real_ping(c))
    try:
        pid = _backend_pid(engine)
        for _ in range(5):  # handed back and taken again at once: no round trip spent
            assert _backend_pid(engine) == pid
        assert pings == []
        now[0] += 5
        assert _backend_pid(engine) == pid
        assert len(pings) == 1
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    ("given", "driver"),
    [
        ("postgresql://u@h/db", "postgresql+psycopg"),
        ("postgres://u@h/db", "postgresql+psycopg"),
        ("postgresql+psycopg2://u@h/db", "postgresql+psycopg"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg"),
        ("sqlite:///x.db", "sqlite"),
    ],
)
def test_normalize_url_picks_the_project_drivers(given: str, driver: str) -> None:
    assert normalize_url(given).drivername == driver


def test_redact_hides_the_password() -> None:
    assert redact(f"postgresql://im:{SECRET}@db/im") == "postgresql://im:***@db/im"
    assert SECRET not in redact(f"garbage {SECRET}")


def test_unreachable_server_raises_storage_error_without_password() -> None:
    engine = create_engine_for(
        f"postgresql://im:{SECRET}@127.0.0.1:1/im", connect_args={"connect_timeout": 2}
    )
    try:
        with pytest.raises(StorageError) as caught, engine.connect():
            pass
    finally:
        engine.dispose()
    message = str(caught.value)
    assert message.startswith(
        "cannot connect to database postgresql+psycopg://im:***@127.0.0.1:1/im"
    )
    assert SECRET not in message
    assert "\n" not in message


def test_wrong_credentials_raise_storage_error_without_password(postgres_url: str) -> None:
    bad = sa.make_url(postgres_url).set(username="no_such_role_im", password=SECRET)
    engine = create_engine_for(bad.render_as_string(hide_password=False))
    try:
        with pytest.raises(StorageError, match="cannot connect") as caught, engine.connect():
            pass
    finally:
        engine.dispose()
    assert SECRET not in str(caught.value)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        (f"mysql://root:{SECRET}@localhost/im", "unsupported database mysql://root:***@"),
        (f"::not a url {SECRET}", "invalid database URL"),
        (f"postgresql+nosuchdriver://u:{SECRET}@h/db", "cannot create an engine"),
    ],
)
def test_bad_urls_raise_storage_error_without_password(url: str, fragment: str) -> None:
    with pytest.raises(StorageError) as caught:
        create_engine_for(url)
    assert str(caught.value).startswith(fragment)
    assert SECRET not in str(caught.value)


def test_unopenable_sqlite_file_raises_storage_error(tmp_path: Path) -> None:
    directory = tmp_path / "a-directory.db"
    directory.mkdir()
    engine = create_engine_for(f"sqlite:///{directory}")
    try:
        with (
            pytest.raises(StorageError, match="cannot connect to database sqlite"),
            engine.connect(),
        ):
            pass
    finally:
        engine.dispose()


def test_statement_errors_are_not_turned_into_storage_errors(sqlite_url: str) -> None:
    engine = create_engine_for(sqlite_url)
    try:
        with engine.connect() as conn, pytest.raises(sa.exc.OperationalError):
            conn.exec_driver_sql("SELECT * FROM no_such_table")
    finally:
        engine.dispose()


def test_sessionmaker_keeps_objects_usable_after_commit(sqlite_url: str) -> None:
    engine = create_engine_for(sqlite_url)
    try:
        factory = make_sessionmaker(engine)
        assert factory.kw["expire_on_commit"] is False
        with factory() as session:
            assert session.execute(sa.text("SELECT 41 + 1")).scalar() == 42
    finally:
        engine.dispose()


def test_read_sessions_skip_the_transaction_on_postgresql(postgres_url: str) -> None:
    engine = create_engine_for(postgres_url)
    sessions = make_sessionmaker(engine)
    reads = make_read_sessionmaker(sessions)
    # now() is when the transaction began; without BEGIN every statement is its own one.
    same_start = "SELECT statement_timestamp() = now()"
    try:
        with reads() as session:
            session.execute(sa.text("SELECT pg_sleep(0.01)"))
            assert session.scalar(sa.text(same_start)) is True
        with sessions() as session:
            session.execute(sa.text("SELECT pg_sleep(0.01)"))
            assert session.scalar(sa.text(same_start)) is False
    finally:
        engine.dispose()


def test_read_sessions_are_the_same_on_sqlite(sqlite_url: str) -> None:
    engine = create_engine_for(sqlite_url)
    sessions = make_sessionmaker(engine)
    try:
        assert make_read_sessionmaker(sessions) is sessions
    finally:
        engine.dispose()
