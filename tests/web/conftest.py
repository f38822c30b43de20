"""A workspace over a real migrated database: users with passwords, incidents from the pipeline."""

from __future__ import annotations

import re
import shutil
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer
from argon2 import PasswordHasher

from app.accounts import AccountService
from app.actions import ActionService
from app.dashboards import KpiService
from app.export_service import ExportService
from app.pipeline import Pipeline
from app.queries import QueryService
from classifier.regions import load_region
from classifier.rubricator import load_rubricator
from storage.db import make_read_sessionmaker
from storage.enums import IncidentStatus
from storage.migrate import upgrade
from storage.repositories import IncidentRecord, IncidentRepository
from tests.app.test_pipeline_support import LEMMATIZER, KeywordClassifier, add_source, post
from tests.factories import World, world
from web import create_app
from web.contracts import Workspace
from web.keys import HealthReport, SiteInfo

ClientFactory = Callable[..., Awaitable[TestClient]]  # type: ignore[type-arg]

PASSWORD = "Пароль-для-теста-1"
SECRET = "test-session-secret-" + "x" * 40
#: Cheap Argon2 parameters: the tests log in many times.
HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
XSS = "<script>alert(1)</script><img src=x onerror=alert(1)>"

INFO = SiteInfo(
    region_name="Кировская область",
    timezone="Europe/Kirov",
    version="test",
    sources=1,
    executors=3,
    rules=2,
)

CLINIC = "В поликлинике Слободского третью неделю невозможно записаться к терапевту 😡"
POTHOLE = "Огромная яма на улице Ленина в Слободском, машины бьют колёса. Когда починят?"
WATER = XSS + " В Котельниче третий день нет воды в доме на Октябрьской, 12"


async def _healthy() -> HealthReport:
    return HealthReport(ok=True, database_ok=True, schema_revision="x", schema_head="x")


@dataclass
class Desk:
    """The test world, its incidents by name and a factory of signed-in clients."""

    w: World
    workspace: Workspace
    incidents: dict[str, IncidentRecord]
    make_client: Callable[[], Awaitable[TestClient]]  # type: ignore[type-arg]
    server: TestServer | None = None

    def incident(self, name: str) -> IncidentRecord:
        """Return an incident as it is now."""
        with self.w.sm() as s:
            return IncidentRepository(s).get(self.incidents[name].id)

    async def client(self, login: str | None = None) -> TestClient:  # type: ignore[type-arg]
        """Return a client, signed in as ``login`` when given."""
        client = await self.make_client()
        if login is not None:
            response = await login_as(client, login)
            assert response.status == 200, await response.text()
            assert "/login" not in str(response.url)
        return client


def csrf_of(page: str) -> str:
    """Return the CSRF token of a rendered page."""
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found, "no CSRF field on the page"
    return found.group(1)


async def login_as(client: TestClient, login: str, password: str = PASSWORD):  # type: ignore[no-untyped-def,type-arg]
    """Post the login form (with the CSRF token of the login page)."""
    page = await (await client.get("/login")).text()
    return await client.post(
        "/login", data={"login": login, "password": password, "csrf": csrf_of(page)}
    )


async def post_action(  # type: ignore[no-untyped-def]
    client: TestClient,  # type: ignore[type-arg]
    incident_id: int,
    action: str,
    data: dict[str, str] | None = None,
    *,
    version: int | None = None,
):
    """Post an action form from the incident page (its CSRF token and version)."""
    page_response = await client.get(f"/incidents/{incident_id}")
    page = await page_response.text()
    token = csrf_of(page)
    if version is None:
        found = re.search(r'name="version" value="(\d+)"', page)
        version = int(found.group(1)) if found else 1
    form = {"csrf": token, "version": str(version), **(data or {})}
    return await client.post(f"/incidents/{incident_id}/actions/{action}", data=form)


def build_workspace(w: World) -> Workspace:
    """The workspace services over the test world."""
    rubricator = load_rubricator(None)
    region = load_region("kirov")
    reads = make_read_sessionmaker(w.sm)  # as app/workspace.py: autocommit reads on PostgreSQL
    return Workspace(
        accounts=AccountService(sessionmaker=w.sm, clock=w.clock, hasher=HASHER, reads=reads),
        queries=QueryService(
            sessionmaker=reads,
            routing=lambda: w.workflow.routing,
            clock=w.clock,
            rubricator=rubricator,
            region=region,
        ),
        actions=ActionService(
            workflow=w.workflow,
            sessionmaker=w.sm,
            clock=w.clock,
            rubricator=rubricator,
            region=region,
        ),
        session_secret=SECRET,
        clock=w.clock,
        dashboards=KpiService(
            sessionmaker=w.sm,
            routing=lambda: w.workflow.routing,
            clock=w.clock,
            timezone=INFO.timezone,
        ),
        exports=ExportService(sessionmaker=w.sm, clock=w.clock, timezone=INFO.timezone),
    )


def populate(w: World) -> dict[str, IncidentRecord]:
    """Three complaints through the pipeline: two routed to executors, one left in triage."""
    source = add_source(w.sm)
    now = w.clock()
    post(w.sm, source, CLINIC, now - timedelta(hours=3), author=11, views=500)
    post(w.sm, source, POTHOLE, now - timedelta(hours=2), author=12, views=300)
    post(w.sm, source, WATER, now - timedelta(hours=1), author=13, views=40)
    Pipeline(
        sessionmaker=w.sm,
        workflow=w.workflow,
        classifier=KeywordClassifier(),
        lemmatizer=LEMMATIZER,
        clock=w.clock,
    ).run_once()
    with w.sm() as s:
        found = IncidentRepository(s).by_status(list(IncidentStatus))
    by_topic = {r.topic_group: r for r in found}
    return {
        "clinic": by_topic["Здравоохранение"],
        "pothole": by_topic["Дороги"],
        "water": by_topic["ЖКХ"],
    }


async def make_desk(
    url: str, aiohttp_client: ClientFactory, aiohttp_server: Callable[..., Awaitable[TestServer]]
) -> Desk:
    """A world with passwords for every user, three incidents and the web app."""
    w = world(url)
    workspace = build_workspace(w)
    accounts = workspace.accounts
    assert isinstance(accounts, AccountService)
    for login in ("operator", "supervisor", "admin", "zdrav", "trans"):
        accounts.set_password(login, PASSWORD)
    incidents = populate(w)
    app = create_app(site_info=INFO, health_probe=_healthy, workspace=workspace)
    server = await aiohttp_server(app)

    async def make() -> TestClient:  # type: ignore[type-arg]
        return await aiohttp_client(server)  # each client has its own cookies

    desk = Desk(w, workspace, incidents, make)
    desk.server = server
    return desk


@pytest.fixture(params=["sqlite", "postgres"])
async def desk(
    request: pytest.FixtureRequest,
    aiohttp_client: ClientFactory,
    aiohttp_server: Callable[..., Awaitable[TestServer]],
) -> Desk:
    """The workspace on each backend in turn (SQLite from the migrated template)."""
    if request.param == "postgres":
        request.applymarker(pytest.mark.postgres)
        url = str(request.getfixturevalue("postgres_url"))
        return await make_desk(url, aiohttp_client, aiohttp_server)
    return await make_desk(
        _copy_of(request.getfixturevalue("migrated_sqlite"), request.getfixturevalue("tmp_path")),
        aiohttp_client,
        aiohttp_server,
    )


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty SQLite database migrated to head once per session (copied for each test)."""
    path = tmp_path_factory.mktemp("template") / "im.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture
async def sqlite_desk(
    migrated_sqlite: Path,
    tmp_path: Path,
    aiohttp_client: ClientFactory,
    aiohttp_server: Callable[..., Awaitable[TestServer]],
) -> Desk:
    """The workspace on SQLite only, from a copy of the migrated template."""
    return await make_desk(_copy_of(migrated_sqlite, tmp_path), aiohttp_client, aiohttp_server)


def _copy_of(template: Path, directory: Path) -> str:
    target = directory / "desk.db"
    shutil.copyfile(template, target)
    return f"sqlite:///{target}"
