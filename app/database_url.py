"""Database URLs read without SQLAlchemy, so that reading the configuration stays quick.

Importing SQLAlchemy costs about 0.2 CPU-seconds, which every command paid to check one
setting. The configuration only needs a URL's shape (``dialect[+driver]://[user[:password]@]
[host][:port][/database][?query]``, what ``sqlalchemy.engine.make_url`` accepts), its backend,
and its database part; storage/ still hands the string to SQLAlchemy itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

__all__ = ["DatabaseUrl", "InvalidDatabaseUrl", "parse_database_url"]

# dialect[+driver]:// then the authority (up to the first "/" or "?"), the database (up to the
# first "?") and the query. The password may hold "/" and "?" (SQLAlchemy's reading): the
# authority ends at the last "@" before the database, if any.
_SCHEME = re.compile(r"(?P<name>[\w+]+)://")
_USERINFO = re.compile(r"(?P<user>[^:/]*)(?::(?P<password>[^@]*))?@")
_HOST_PORT = re.compile(r"(?:\[[^/?\]]+\]|[^/:?]*)(?::(?P<port>[^/?]*))?")


class InvalidDatabaseUrl(ValueError):
    """The text is not a database URL."""


@dataclass(frozen=True, slots=True)
class DatabaseUrl:
    """A database URL as written, with the spans of the parts the configuration reads."""

    text: str
    drivername: str
    password_span: tuple[int, int] | None
    database_span: tuple[int, int] | None  # after the "/" that opens it

    @property
    def backend(self) -> str:
        """Return the dialect without its driver ("sqlite", "postgresql")."""
        return self.drivername.split("+", 1)[0]

    @property
    def database(self) -> str | None:
        """Return the database part (a file for SQLite), None when there is none."""
        if self.database_span is None:
            return None
        start, end = self.database_span
        return self.text[start:end]

    def with_database(self, database: str) -> str:
        """Return the URL's text with its database part replaced."""
        if self.database_span is None:
            raise InvalidDatabaseUrl("the URL has no database part to replace")
        start, end = self.database_span
        return self.text[:start] + database + self.text[end:]

    def with_password_hidden(self) -> str:
        """Return the URL's text with "***" for its password, if it has one."""
        if self.password_span is None:
            return self.text
        start, end = self.password_span
        return self.text[:start] + "***" + self.text[end:]

    def absolute_sqlite(self, base_dir: Path) -> str:
        """Return the URL with a relative SQLite file made absolute under ``base_dir``."""
        database = self.database
        if self.backend != "sqlite" or not database or database == ":memory:":
            return self.text
        if database.startswith("file:") or Path(database).is_absolute():
            return self.text
        return self.with_database(str(base_dir / database))


def parse_database_url(text: str) -> DatabaseUrl:
    """Read a database URL's parts.

    Raises:
        InvalidDatabaseUrl: when it has no ``dialect://`` or its port is not a number.
    """
    scheme = _SCHEME.match(text)
    if scheme is None:
        raise InvalidDatabaseUrl(f"not a database URL: no dialect:// in {text[:20]!r}")
    position = scheme.end()
    password_span: tuple[int, int] | None = None
    userinfo = _USERINFO.match(text, position)
    if userinfo is not None:
        if userinfo.group("password") is not None:
            password_span = userinfo.span("password")
        position = userinfo.end()
    host = _HOST_PORT.match(text, position)
    if host is not None:
        port = host.group("port")
        if port is not None and not (port.isascii() and port.isdigit()):
            raise InvalidDatabaseUrl(f"the port {port!r} is not a number")
        position = host.end()
    database_span: tuple[int, int] | None = None
    if text.startswith("/", position):
        end = text.find("?", position + 1)
        database_span = (position + 1, len(text) if end < 0 else end)
        position = database_span[1]
    if position < len(text) and text[position] != "?":
        raise InvalidDatabaseUrl(f"unexpected {text[position : position + 10]!r} in the URL")
    return DatabaseUrl(text, scheme.group("name"), password_span, database_span)
