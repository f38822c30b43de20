"""Row builders and small doubles for workflow and repository tests."""

from __future__ import annotations

import contextlib
import itertools
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import MappingProxyType
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from app.permissions import Actor, Role
from app.routing import Routing
from app.workflow import Workflow
from router.calendar import load_calendar, load_shipped_calendar
from router.jurisdiction import MUNICIPAL, Jurisdiction, Rule
from router.sla import BudgetOverride, SlaPolicy, WorkingHours
from router.working_time import parse_schedule
from storage.db import create_engine_for, make_sessionmaker
from storage.enums import ExecutorKind, Priority, UserRole
from storage.migrate import upgrade
from storage.repositories import (
    EventRepository,
    ExecutorRecord,
    ExecutorRepository,
    NewIncident,
    UserRecord,
    UserRepository,
)

KIROV = "Europe/Kirov"
SCHEDULE_A = "mon-fri=09:00-13:00,14:00-18:00"
SLOBODSKOY = "33713000"
CALENDAR = load_shipped_calendar()
HOURS_A = WorkingHours(parse_schedule(SCHEDULE_A), CALENDAR, KIROV)
#: A 24/7 desk: used for supervisors in escalation tests.
DESK = WorkingHours(parse_schedule("mon-sun=00:00-24:00"), CALENDAR, KIROV)
POSTGRES_ENV = "IM_TEST_POSTGRES_URL"
_numbers = itertools.count(1)


def kirov(text: str) -> datetime:
    """Return an aware datetime for Kirov wall time."""
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(KIROV))


@dataclass
class FakeClock:
    """A clock the test moves by hand; never sleeps."""

    now: datetime

    def __call__(self) -> datetime:
        """Return the current fake time (aware UTC)."""
        return self.now.astimezone(UTC)

    def advance(self, delta: timedelta) -> None:
        """Move the clock forward."""
        self.now += delta

    def set(self, when: datetime) -> None:
        """Jump to an instant."""
        self.now = when


def database(url: str) -> sessionmaker[Session]:
    """Migrate the database and return a session factory (SQLite: one IMMEDIATE writer)."""
    upgrade(url)
    return make_sessionmaker(create_engine_for(url, sqlite_begin="IMMEDIATE"))


def routing(
    *,
    hours: WorkingHours = HOURS_A,
    region_hours: WorkingHours = HOURS_A,
    outside_hours: bool = False,
    at_risk_share: float = 0.75,
) -> Routing:
    """Routing for tests: two ministries, one municipality, schedule A in Kirov."""
    jurisdiction = Jurisdiction(
        (
            Rule(topic_group="Здравоохранение", executor="minzdrav"),
            Rule(topic_group="Дороги", executor=MUNICIPAL),
        ),
        min_confidence=0.8,
        municipal_executors=MappingProxyType({SLOBODSKOY: "adm-slobodskoy"}),
    )
    policy = SlaPolicy(
        overrides=(BudgetOverride(hours=4, priority="urgent"),), at_risk_share=at_risk_share
    )
    return Routing(
        jurisdiction=jurisdiction,
        policy=policy,
        calendar=CALENDAR,
        executor_hours=MappingProxyType(
            {code: hours for code in ("minzdrav", "mintrans", "adm-slobodskoy")}
        ),
        region_hours=region_hours,
        escalate_outside_hours=outside_hours,
    )


def routing_reloaded(calendar_file: Path) -> Routing:
    """The test routing with its calendar read again from ``calendar_file`` (a calendar change)."""
    hours = WorkingHours(HOURS_A.schedule, load_calendar([calendar_file]), KIROV)
    old = routing()
    return Routing(
        jurisdiction=old.jurisdiction,
        policy=old.policy,
        calendar=hours.calendar,
        executor_hours={code: hours for code in ("minzdrav", "mintrans", "adm-slobodskoy")},
        region_hours=hours,
        escalate_outside_hours=False,
    )


def add_executor(
    sm: sessionmaker[Session], code: str, kind: ExecutorKind = ExecutorKind.MINISTRY
) -> ExecutorRecord:
    """Insert an executor."""
    with sm.begin() as session:
        return ExecutorRepository(session).add(code, code.upper(), kind, timezone=KIROV)


def add_user(
    sm: sessionmaker[Session], login: str, role: UserRole, executor_id: int | None = None
) -> UserRecord:
    """Insert a user."""
    with sm.begin() as session:
        return UserRepository(session).add(login, login.title(), role, executor_id=executor_id)


def new_incident(
    topic_group: str = "Здравоохранение", priority: Priority = Priority.NORMAL
) -> NewIncident:
    """A new incident with a unique public number."""
    return NewIncident(
        public_number=f"T-{next(_numbers):06d}",
        title="Нет записи к терапевту",
        topic_group=topic_group,
        topic="Запись к врачу",
        municipality_oktmo=SLOBODSKOY,
        priority=priority,
    )


@dataclass
class World:
    """A migrated database with executors, one user per role, a fake clock and the workflow."""

    sm: sessionmaker[Session]
    clock: FakeClock
    workflow: Workflow
    operator: Actor
    supervisor: Actor
    admin: Actor
    minzdrav: Actor
    mintrans: Actor
    executors: dict[str, ExecutorRecord]

    def actor(self, role: Role) -> Actor:
        """Return the world's actor of a role (executors: minzdrav's)."""
        return {
            Role.OPERATOR: self.operator,
            Role.SUPERVISOR: self.supervisor,
            Role.ADMIN: self.admin,
            Role.EXECUTOR: self.minzdrav,
            Role.SYSTEM: Actor(Role.SYSTEM),
        }[role]


def world(
    url: str,
    *,
    start: datetime | None = None,
    routing_: Routing | None = None,
    event_log: type[EventRepository] = EventRepository,
) -> World:
    """Build a world on a fresh database at ``url``."""
    sm = database(url)
    executors = {
        code: add_executor(sm, code, kind)
        for code, kind in (
            ("minzdrav", ExecutorKind.MINISTRY),
            ("mintrans", ExecutorKind.MINISTRY),
            ("adm-slobodskoy", ExecutorKind.MUNICIPAL),
        )
    }
    users = {
        role: add_user(sm, role.value, role)
        for role in (UserRole.OPERATOR, UserRole.SUPERVISOR, UserRole.ADMIN)
    }
    zdrav = add_user(sm, "zdrav", UserRole.EXECUTOR, executors["minzdrav"].id)
    trans = add_user(sm, "trans", UserRole.EXECUTOR, executors["mintrans"].id)
    clock = FakeClock(start or kirov("2025-10-14T10:00"))
    workflow = Workflow(
        sessionmaker=sm, clock=clock, routing=routing_ or routing(), event_log=event_log
    )
    return World(
        sm=sm,
        clock=clock,
        workflow=workflow,
        operator=Actor(Role.OPERATOR, users[UserRole.OPERATOR].id),
        supervisor=Actor(Role.SUPERVISOR, users[UserRole.SUPERVISOR].id),
        admin=Actor(Role.ADMIN, users[UserRole.ADMIN].id),
        minzdrav=Actor(Role.EXECUTOR, zdrav.id, "minzdrav"),
        mintrans=Actor(Role.EXECUTOR, trans.id, "mintrans"),
        executors=executors,
    )


@contextlib.contextmanager
def scratch_database(backend: str, directory: Path) -> Iterator[str]:
    """Yield the URL of a fresh database on a backend, for module-scoped fixtures.

    PostgreSQL needs IM_TEST_POSTGRES_URL (skipped without it, as in tests/conftest.py; failed in
    CI); the database is dropped afterwards.
    """
    if backend == "sqlite":
        yield f"sqlite:///{directory / 'im.db'}"
        return
    admin_url = os.environ.get(POSTGRES_ENV)
    if not admin_url:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{POSTGRES_ENV} must be set in CI")
        pytest.skip(f"{POSTGRES_ENV} is not set: PostgreSQL variant not run")
    url = make_url(admin_url).set(drivername="postgresql+psycopg")
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
