"""Fixtures for storage tests: migrated databases and engines on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from storage.db import create_engine_for
from storage.migrate import upgrade


@pytest.fixture
def migrated_url(db_url: str) -> str:
    """A database on each backend, upgraded to the newest revision."""
    upgrade(db_url)
    return db_url


@pytest.fixture
def engine(migrated_url: str) -> Iterator[Engine]:
    """An engine on a migrated database, disposed after the test."""
    eng = create_engine_for(migrated_url)
    yield eng
    eng.dispose()
