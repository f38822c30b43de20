"""Database URLs read without SQLAlchemy agree with SQLAlchemy's own reading."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from app.database_url import InvalidDatabaseUrl, parse_database_url

URLS = [
    "sqlite:///var/incident-management.db",
    "sqlite:////srv/im/im.db",
    "sqlite://",
    "sqlite:///:memory:",
    "sqlite:///file:im.db?mode=ro&uri=true",
    "sqlite+pysqlite:///данные/инциденты.db?timeout=5",
    "postgresql+psycopg://postgres@127.0.0.1:5432/test",
    "postgresql://im:p%40ss/w?rd@db.example.ru/im?sslmode=require",
    "postgresql://im:@db/im",
    "postgresql://[::1]:5432/im",
]


@pytest.mark.parametrize("text", URLS)
def test_parts_are_sqlalchemys(text: str) -> None:
    ours, theirs = parse_database_url(text), make_url(text)
    assert ours.backend == theirs.get_backend_name()
    assert ours.drivername == theirs.drivername
    assert (ours.database or None) == (theirs.database or None)
    hidden = make_url(ours.with_password_hidden())
    assert hidden.password == ("***" if theirs.password is not None else None)
    assert hidden.set(password=theirs.password) == theirs


REFUSED = ["", "sqlite", "/var/im.db", "postgresql://db:54x/im", "postgresql://db:/im", "://x"]


@pytest.mark.parametrize("text", REFUSED)
def test_what_sqlalchemy_refuses_is_refused(text: str) -> None:
    with pytest.raises((ArgumentError, ValueError)):
        make_url(text)
    with pytest.raises(InvalidDatabaseUrl):
        parse_database_url(text)


def test_a_relative_sqlite_file_is_made_absolute_as_sqlalchemy_reads_it(tmp_path: Path) -> None:
    for text in ("sqlite:///var/im.db", "sqlite:///данные/im.db?timeout=5"):
        url = make_url(text)
        made = make_url(parse_database_url(text).absolute_sqlite(tmp_path))
        assert made == url.set(database=str(tmp_path / str(url.database)))
    for kept in ("sqlite:////srv/im.db", "sqlite:///:memory:", "postgresql://db/im", "sqlite://"):
        assert parse_database_url(kept).absolute_sqlite(tmp_path) == kept


def test_the_password_is_hidden() -> None:
    url = parse_database_url("postgresql+psycopg://im:Секрет-42@db:5432/im")
    assert url.with_password_hidden() == "postgresql+psycopg://im:***@db:5432/im"
    assert parse_database_url("postgresql://im@db/im").with_password_hidden() == (
        "postgresql://im@db/im"
    )
