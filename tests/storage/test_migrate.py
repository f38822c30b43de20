"""Tests of storage.migrate: upgrades, revisions and agreement of migrations with the models."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.config import main as alembic_main

from storage.db import create_engine_for
from storage.errors import StorageError
from storage.migrate import (
    ADVISORY_LOCK_KEY,
    MIGRATIONS_DIR,
    check,
    current,
    current_revision,
    downgrade,
    head,
    upgrade,
)
from storage.models import metadata

SECRET = "s3cr3t-Pa55"
ALEMBIC_INI = Path(__file__).resolve().parents[2] / "storage" / "alembic.ini"


def _schema(url: str) -> dict[str, Any]:
    """Describe tables, columns, constraints, indexes and triggers as comparable data."""
    engine = create_engine_for(url)
    try:
        inspector = sa.inspect(engine)
        tables: dict[str, Any] = {}
        for table in sorted(inspector.get_table_names()):
            if table == "alembic_version":
                continue
            tables[table] = {
                "columns": [
                    (c["name"], str(c["type"]), c["nullable"], str(c.get("default")))
                    for c in inspector.get_columns(table)
                ],
                "pk": inspector.get_pk_constraint(table)["name"],
                "fks": sorted(
                    (
                        fk["name"],
                        tuple(fk["constrained_columns"]),
                        fk["referred_table"],
                        fk.get("options", {}).get("ondelete"),
                    )
                    for fk in inspector.get_foreign_keys(table)
                ),
                "uniques": sorted(
                    (u["name"], tuple(u["column_names"]))
                    for u in inspector.get_unique_constraints(table)
                ),
                "checks": sorted(
                    (c["name"], " ".join(c["sqltext"].split()))
                    for c in inspector.get_check_constraints(table)
                ),
                "indexes": sorted(
                    (i["name"], tuple(i["column_names"]), i["unique"])
                    for i in inspector.get_indexes(table)
                ),
            }
        with engine.connect() as conn:
            if engine.dialect.name == "sqlite":
                triggers = conn.exec_driver_sql(
                    "SELECT name FROM sqlite_master WHERE type = 'trigger' ORDER BY name"
                ).scalars()
            else:
                triggers = conn.exec_driver_sql(
                    "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal ORDER BY tgname"
                ).scalars()
            tables["<triggers>"] = list(triggers)
        return tables
    finally:
        engine.dispose()


def test_head_is_the_single_newest_revision() -> None:
    numbered = sorted(
        path.name.split("_", 1)[0] for path in (MIGRATIONS_DIR / "versions").glob("[0-9]*_*.py")
    )
    assert numbered, "no migration files found"
    assert head() == numbered[-1]
    assert (MIGRATIONS_DIR / "script.py.mako").is_file()
    assert (MIGRATIONS_DIR / "__init__.py").is_file()
    assert (MIGRATIONS_DIR / "versions" / "__init__.py").is_file()


def test_upgrade_empty_database_to_head(db_url: str) -> None:
    assert current(db_url) is None
    upgrade(db_url)
    assert current(db_url) == head()
    engine = create_engine_for(db_url)
    try:
        assert current_revision(engine) == head()
        names = set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert names == set(metadata.tables) | {"alembic_version"}


def test_upgrade_twice_is_a_no_op(migrated_url: str) -> None:
    before = _schema(migrated_url)
    upgrade(migrated_url)
    assert current(migrated_url) == head()
    assert _schema(migrated_url) == before


def test_models_and_migrations_agree(migrated_url: str) -> None:
    assert check(migrated_url) == []


def test_check_reports_differences(db_url: str) -> None:
    upgrade(db_url)
    engine = create_engine_for(db_url)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE stray (id INTEGER PRIMARY KEY)")
            conn.exec_driver_sql("DROP INDEX ix_messages_posted_at")
    finally:
        engine.dispose()
    differences = check(db_url)
    assert "remove_table: stray" in differences
    assert "add_index: messages.ix_messages_posted_at" in differences


def test_migrated_schema_matches_create_all(db_url: str) -> None:
    upgrade(db_url)
    migrated = _schema(db_url)
    downgrade(db_url, "base")
    assert current(db_url) is None
    assert set(_schema(db_url)) == {"<triggers>"}  # downgrade removed every table
    engine = create_engine_for(db_url)
    try:
        metadata.create_all(engine)
    finally:
        engine.dispose()
    assert _schema(db_url) == migrated
    assert migrated["<triggers>"]  # the append-only triggers exist on both paths


def test_current_of_unreachable_server_raises_storage_error() -> None:
    with pytest.raises(StorageError) as caught:
        current(f"postgresql://im:{SECRET}@127.0.0.1:1/im")
    assert SECRET not in str(caught.value)
    assert "***" in str(caught.value)


def test_upgrade_of_unreachable_server_raises_storage_error() -> None:
    with pytest.raises(StorageError, match="cannot connect") as caught:
        upgrade(f"postgresql://im:{SECRET}@127.0.0.1:1/im")
    assert SECRET not in str(caught.value)


def test_upgrade_to_unknown_revision_raises_storage_error(db_url: str) -> None:
    with pytest.raises(StorageError, match="cannot migrate"):
        upgrade(db_url, "9999")
    assert current(db_url) is None


def test_postgres_upgrade_waits_for_the_advisory_lock(postgres_url: str) -> None:
    holder = create_engine_for(postgres_url)
    errors: list[BaseException] = []

    def migrate() -> None:
        try:
            upgrade(postgres_url)
        except BaseException as err:  # reported to the test thread below
            errors.append(err)

    try:
        with holder.connect() as conn:
            conn.execute(sa.text("SELECT pg_advisory_lock(:k)"), {"k": ADVISORY_LOCK_KEY})
            worker = threading.Thread(target=migrate)
            worker.start()
            worker.join(timeout=1.0)
            assert worker.is_alive(), "upgrade did not wait for the advisory lock"
            assert current(postgres_url) is None
            conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": ADVISORY_LOCK_KEY})
            worker.join(timeout=60)
        assert not worker.is_alive()
        assert errors == []
        assert current(postgres_url) == head()
    finally:
        holder.dispose()


def test_postgres_upgrade_gives_up_on_a_held_table_lock(postgres_url: str) -> None:
    upgrade(postgres_url)
    holder = create_engine_for(postgres_url)
    try:
        with holder.connect() as conn:
            conn.execute(sa.text("LOCK TABLE alembic_version IN ACCESS EXCLUSIVE MODE"))
            with pytest.raises(StorageError, match="lock timeout"):
                upgrade(postgres_url, lock_timeout_ms=200)
            conn.rollback()
        # The failed run released its advisory lock: the next one goes through.
        upgrade(postgres_url, lock_timeout_ms=200)
    finally:
        holder.dispose()


def test_developer_alembic_ini_runs_the_same_migrations(sqlite_url: str) -> None:
    alembic_main(["-c", str(ALEMBIC_INI), "-x", f"url={sqlite_url}", "upgrade", "head"])
    assert current(sqlite_url) == head()
    assert check(sqlite_url) == []
