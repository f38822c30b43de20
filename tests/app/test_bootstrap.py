"""Syncing executors and bootstrap users from the configuration into the database."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import sqlalchemy as sa

from app.bootstrap import bootstrap
from app.config import Config, load_config
from storage.db import create_engine_for, make_sessionmaker
from storage.enums import UserRole
from storage.migrate import upgrade
from storage.models import Executor, User

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def config(tmp_path: Path) -> Config:
    target = tmp_path / "config.yaml"
    shutil.copy(ROOT / "config.yaml", target)
    return load_config(target, {})


def _edited(config: Config, **changes: object) -> Config:
    return config.model_copy(update=changes)


def test_bootstrap_creates_syncs_and_deactivates(db_url: str, config: Config) -> None:
    upgrade(db_url)
    engine = create_engine_for(db_url)
    sessions = make_sessionmaker(engine)
    try:
        first = bootstrap(config, sessions)
        assert len(first.executors.added) == len(config.executors)
        assert {u.login for u in config.users} == set(first.users.added)

        again = bootstrap(config, sessions)
        assert again.executors.added == again.executors.updated == ()
        assert again.executors.deactivated == ()
        assert again.users.added == ()

        renamed = config.executors[0].model_copy(update={"name": "Министерство нового имени"})
        dropped = config.executors[-1].code
        changed = _edited(config, executors=(renamed, *config.executors[1:-1]))
        result = bootstrap(changed, sessions)
        assert result.executors.updated == (renamed.code,)
        assert result.executors.deactivated == (dropped,)

        with sessions() as session:
            rows = {row.code: row for row in session.scalars(sa.select(Executor))}
            assert rows[renamed.code].name == "Министерство нового имени"
            assert rows[dropped].active is False
            assert len(rows) == len(config.executors)  # kept, never deleted
            municipal = [row for row in rows.values() if row.kind == "municipal"]
            assert municipal
            assert all(row.municipality_oktmo for row in municipal)
            assert all(row.schedule for row in rows.values())
    finally:
        engine.dispose()


def test_bootstrap_leaves_existing_users_alone(db_url: str, config: Config) -> None:
    upgrade(db_url)
    engine = create_engine_for(db_url)
    sessions = make_sessionmaker(engine)
    try:
        bootstrap(config, sessions)
        login = next(u.login for u in config.users if u.role == "operator")
        with sessions.begin() as session:
            user = session.scalars(sa.select(User).where(User.login == login)).one()
            user.role = UserRole.SUPERVISOR  # an administrator promoted them
        assert bootstrap(config, sessions).users.added == ()
        with sessions() as session:
            user = session.scalars(sa.select(User).where(User.login == login)).one()
            assert user.role == UserRole.SUPERVISOR
    finally:
        engine.dispose()
