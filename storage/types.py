"""Column types shared by the models: aware UTC datetimes, portable JSON and reusable columns."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Annotated, Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import mapped_column

__all__ = [
    "FAR_FUTURE",
    "JSON_DOCUMENT",
    "BigIntPK",
    "FittedString",
    "UTCDateTime",
    "big_id_pk",
    "bool_false",
    "bool_true",
    "far_future_default",
    "fit_id",
    "int_pk",
    "int_zero",
    "json_dict",
    "utc_now",
    "utcnow",
]


#: Stands in for "no deadline" where a deadline is a sort key: such rows come last.
FAR_FUTURE = dt.datetime(9999, 12, 31, tzinfo=dt.UTC)


class far_future_default(sa.sql.functions.FunctionElement[dt.datetime]):
    """A column's server default of :data:`FAR_FUTURE`, as each dialect stores a UTCDateTime.

    SQLite keeps the UTC wall time as text in SQLAlchemy's format, so the default must be that
    exact text (a row written by the server and one written by the ORM compare equal).
    """

    type = sa.DateTime(timezone=True)
    name = "far_future_default"
    inherit_cache = True


@compiles(far_future_default, "sqlite")
def _far_future_sqlite(element: far_future_default, compiler: Any, **kw: Any) -> str:
    return "'9999-12-31 00:00:00.000000'"


@compiles(far_future_default)
def _far_future_default(element: far_future_default, compiler: Any, **kw: Any) -> str:
    return "'9999-12-31 00:00:00+00'::timestamptz"


def utcnow() -> dt.datetime:
    """Return the current time as an aware UTC datetime."""
    return dt.datetime.now(dt.UTC)


def fit_id(value: str, limit: int) -> str:
    """Return ``value`` if it fits ``limit`` characters, else a deterministic stand-in of that
    length: its start, ``~`` and 32 hex digits of its SHA-256 (distinct ids stay distinct)."""
    if len(value) <= limit:
        return value
    digest = hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:32]
    return f"{value[: limit - 33]}~{digest}"


class FittedString(sa.types.TypeDecorator[str]):
    """A VARCHAR whose overlong values are fitted on the way in, never refused.

    A network stand-in sending an id or address longer than the column failed PostgreSQL's
    insert, and with it the storing of the source's whole poll, on every retry. Ids
    (``hashed=True``) get :func:`fit_id`, so the same long id always gives the same value
    (comparisons bind through this type too); other text (a URL) is cut at the limit.
    """

    impl = sa.String
    cache_ok = True

    def __init__(self, length: int, *, hashed: bool = True) -> None:
        super().__init__(length)
        self.length = length
        self.hashed = hashed

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        """Fit a string longer than the column; leave anything else alone."""
        if not isinstance(value, str) or len(value) <= self.length:
            return value
        return fit_id(value, self.length) if self.hashed else value[: self.length]


class UTCDateTime(sa.types.TypeDecorator[dt.datetime]):
    """A timestamp stored in UTC and always read back as an aware UTC datetime.

    Naive datetimes are refused on the way in: the code must say which zone it means.
    PostgreSQL stores ``timestamp with time zone``; SQLite stores the UTC wall time as text.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    @property
    def python_type(self) -> type[dt.datetime]:
        """Return the Python type of the column's values."""
        return dt.datetime

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        """Convert an aware datetime to UTC; refuse naive ones."""
        if value is None:
            return None
        if not isinstance(value, dt.datetime):
            raise TypeError(f"UTCDateTime expects a datetime, got {type(value).__name__}")
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(
                f"naive datetime {value.isoformat()} refused: pass an aware datetime (UTC)"
            )
        value = value.astimezone(dt.UTC)
        if dialect.name == "sqlite":
            # SQLite has no zone type: store the UTC wall time, attach UTC when reading.
            return value.replace(tzinfo=None)
        return value

    def process_result_value(
        self, value: dt.datetime | None, dialect: Dialect
    ) -> dt.datetime | None:
        """Return the stored value as an aware UTC datetime."""
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


#: JSON on every backend; JSONB (indexable, compact) on PostgreSQL.
JSON_DOCUMENT = sa.JSON().with_variant(JSONB(), "postgresql")

#: A 64-bit surrogate key; plain INTEGER on SQLite so that it aliases the rowid and autoincrements.
BigIntPK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

int_pk = Annotated[int, mapped_column(sa.Integer, primary_key=True)]
big_id_pk = Annotated[int, mapped_column(BigIntPK, primary_key=True)]
utc_now = Annotated[
    dt.datetime,
    mapped_column(UTCDateTime(), nullable=False, default=utcnow, server_default=sa.func.now()),
]
bool_false = Annotated[
    bool, mapped_column(sa.Boolean, nullable=False, default=False, server_default=sa.false())
]
bool_true = Annotated[
    bool, mapped_column(sa.Boolean, nullable=False, default=True, server_default=sa.true())
]
int_zero = Annotated[
    int, mapped_column(sa.Integer, nullable=False, default=0, server_default=sa.text("0"))
]
json_dict = Annotated[dict[str, Any], mapped_column(JSON_DOCUMENT, nullable=False, default=dict)]
