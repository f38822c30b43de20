"""Shared fixtures: clean databases on SQLite and, when configured, PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

POSTGRES_ENV = "IM_TEST_POSTGRES_URL"


def _postgres_admin_url() -> str | None:
    return os.environ.get(POSTGRES_ENV) or None


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A URL of a fresh, empty SQLite database file."""
    return f"sqlite:///{tmp_path / 'im.db'}"


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A URL of a fresh, empty PostgreSQL database, dropped after the test.

    Skipped with a visible reason when IM_TEST_POSTGRES_URL is unset; fails (does not skip)
    when it is set but the server cannot be reached.
    """
    admin_url = _postgres_admin_url()
    if admin_url is None and os.environ.get("CI") == "true":
        pytest.fail(f"{POSTGRES_ENV} must be set in CI: PostgreSQL tests may not be skipped there")
    if admin_url is None:
        pytest.skip(f"{POSTGRES_ENV} is not set: PostgreSQL variant not run")
    url = make_url(admin_url)
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
    name = f"im_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        yield url.set(database=name).render_as_string(hide_password=False)
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest) -> str:
    """A fresh empty database on each backend in turn."""
    if request.param == "postgres":
        request.applymarker(pytest.mark.postgres)
        return str(request.getfixturevalue("postgres_url"))
    return str(request.getfixturevalue("sqlite_url"))
