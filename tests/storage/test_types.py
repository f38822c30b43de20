"""Tests of storage.types: UTC datetimes on both backends."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from storage.db import create_engine_for
from storage.types import UTCDateTime, utcnow

KIROV = ZoneInfo("Europe/Kirov")

_meta = sa.MetaData()
_stamps = sa.Table(
    "stamps",
    _meta,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("at", UTCDateTime(), nullable=True),
    sa.Column("server_at", UTCDateTime(), server_default=sa.func.now()),
)


@pytest.fixture
def stamp_engine(db_url: str) -> Iterator[sa.Engine]:
    """An engine on a fresh database holding one table with UTCDateTime columns."""
    engine = create_engine_for(db_url)
    _meta.create_all(engine)
    yield engine
    engine.dispose()


def test_aware_datetime_round_trips_as_utc(stamp_engine: sa.Engine) -> None:
    local = dt.datetime(2026, 3, 2, 9, 30, 15, 123456, tzinfo=KIROV)
    with stamp_engine.begin() as conn:
        conn.execute(_stamps.insert().values(id=1, at=local))
    with stamp_engine.connect() as conn:
        back = conn.execute(sa.select(_stamps.c.at).where(_stamps.c.id == 1)).scalar_one()
    assert back == local
    assert back.tzinfo is dt.UTC
    assert back == dt.datetime(2026, 3, 2, 6, 30, 15, 123456, tzinfo=dt.UTC)


def test_server_default_now_is_read_back_aware_utc(stamp_engine: sa.Engine) -> None:
    before = utcnow().replace(microsecond=0) - dt.timedelta(seconds=1)
    with stamp_engine.begin() as conn:
        conn.execute(_stamps.insert().values(id=2))
    with stamp_engine.connect() as conn:
        back = conn.execute(sa.select(_stamps.c.server_at)).scalar_one()
    assert back.tzinfo is dt.UTC
    assert before <= back <= utcnow() + dt.timedelta(seconds=1)


def test_comparison_with_aware_parameter_filters_in_utc(stamp_engine: sa.Engine) -> None:
    base = dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.UTC)
    with stamp_engine.begin() as conn:
        conn.execute(
            _stamps.insert(),
            [{"id": i, "at": base + dt.timedelta(hours=i)} for i in range(1, 5)],
        )
    # 17:00 in Kirov (UTC+3) is 14:00 UTC: rows at 15:00 and 16:00 UTC are later.
    cutoff = dt.datetime(2026, 1, 1, 17, 0, tzinfo=KIROV)
    with stamp_engine.connect() as conn:
        ids = conn.execute(
            sa.select(_stamps.c.id).where(_stamps.c.at > cutoff).order_by(_stamps.c.id)
        ).scalars()
        assert list(ids) == [3, 4]


def test_sqlite_stores_the_utc_wall_time(sqlite_url: str) -> None:
    engine = create_engine_for(sqlite_url)
    try:
        _meta.create_all(engine)
        with engine.begin() as conn:
            conn.execute(
                _stamps.insert().values(id=1, at=dt.datetime(2026, 5, 1, 3, 0, tzinfo=KIROV))
            )
        with engine.connect() as conn:
            raw = conn.exec_driver_sql("SELECT at FROM stamps").scalar_one()
    finally:
        engine.dispose()
    assert raw.startswith("2026-05-01 00:00:00")


def test_naive_datetime_is_refused_by_the_database_layer(stamp_engine: sa.Engine) -> None:
    with stamp_engine.begin() as conn, pytest.raises(sa.exc.StatementError) as caught:
        conn.execute(_stamps.insert().values(id=3, at=dt.datetime(2026, 1, 1, 12, 0)))
    assert isinstance(caught.value.orig, ValueError)
    assert "naive datetime" in str(caught.value.orig)
    with stamp_engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(_stamps)).scalar_one() == 0


def test_bind_refuses_naive_and_non_datetime_values() -> None:
    column_type = UTCDateTime()
    dialect = sa.create_engine("sqlite://").dialect
    with pytest.raises(ValueError, match="naive datetime 2026-01-01T00:00:00 refused"):
        column_type.process_bind_param(dt.datetime(2026, 1, 1), dialect)
    with pytest.raises(TypeError, match="expects a datetime"):
        column_type.process_bind_param("2026-01-01", dialect)  # type: ignore[arg-type]
    assert column_type.process_bind_param(None, dialect) is None


def test_utcnow_is_aware_utc() -> None:
    now = utcnow()
    assert now.tzinfo is dt.UTC
    assert abs(now - dt.datetime.now(dt.UTC)) < dt.timedelta(seconds=5)
