"""The JSON API over the workspace of tests/web/conftest.py: clients by token or by session."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from app.accounts import AccountService
from storage.repositories import IncidentRecord, IncidentRepository
from tests.factories import World, world
from tests.web.conftest import INFO, PASSWORD, _healthy, build_workspace, populate
from web import create_app
from web.contracts import Workspace

ClientFactory = Callable[..., Awaitable[TestClient]]  # type: ignore[type-arg]
LOGINS = ("operator", "supervisor", "admin", "zdrav", "trans")


@dataclass
class Api:
    """The test world, its incidents by name, the server and clients of the API."""

    w: World
    workspace: Workspace
    accounts: AccountService
    incidents: dict[str, IncidentRecord]
    server: TestServer
    make_client: ClientFactory

    def incident(self, name: str) -> IncidentRecord:
        """Return an incident as it is now."""
        with self.w.sm() as s:
            return IncidentRepository(s).get(self.incidents[name].id)

    def token(self, login: str) -> str:
        """Issue an API token for a user (as ``users token`` does)."""
        return self.accounts.new_token(login)

    async def bearer(self, login: str) -> TestClient:  # type: ignore[type-arg]
        """Return a client that sends a fresh token of ``login`` on every call."""
        return await self.make_client(
            self.server, headers={"Authorization": f"Bearer {self.token(login)}"}
        )

    async def anonymous(self) -> TestClient:  # type: ignore[type-arg]
        """Return a client with no token and no session."""
        return await self.make_client(self.server)

    async def session(self, login: str) -> tuple[TestClient, str]:  # type: ignore[type-arg]
        """Return a client signed in through POST /api/v1/session, and its CSRF token."""
        client = await self.anonymous()
        response = await client.post("/api/v1/session", json={"login": login, "password": PASSWORD})
        assert response.status == 200, await response.text()
        body: dict[str, Any] = await response.json()
        return client, str(body["csrf_token"])


async def make_api(
    url: str, aiohttp_client: ClientFactory, aiohttp_server: Callable[..., Awaitable[TestServer]]
) -> Api:
    """A world with passwords for every user, three incidents, and the web app serving."""
    w = world(url)
    workspace = build_workspace(w)
    accounts = workspace.accounts
    assert isinstance(accounts, AccountService)
    for login in LOGINS:
        accounts.set_password(login, PASSWORD)
    incidents = populate(w)
    server = await aiohttp_server(
        create_app(site_info=INFO, health_probe=_healthy, workspace=workspace)
    )
    return Api(w, workspace, accounts, incidents, server, aiohttp_client)


@pytest.fixture
async def api(
    db_url: str, aiohttp_client: ClientFactory, aiohttp_server: Callable[..., Awaitable[TestServer]]
) -> Api:
    """The API on each backend in turn."""
    return await make_api(db_url, aiohttp_client, aiohttp_server)


@pytest.fixture
async def sqlite_api(
    sqlite_url: str,
    aiohttp_client: ClientFactory,
    aiohttp_server: Callable[..., Awaitable[TestServer]],
) -> Api:
    """The API on SQLite only (the role table: the services' logic, not SQL, decides it)."""
    return await make_api(sqlite_url, aiohttp_client, aiohttp_server)
