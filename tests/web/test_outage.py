"""Pages answer 503 with the reason while the database is unreachable; /health is left alone."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import sqlalchemy as sa
from aiohttp.test_utils import TestClient

from tests.web.test_app import BROKEN, HEALTHY, INFO, probe_returning
from web import create_app
from web.keys import Overview

ClientFactory = Callable[..., Awaitable[TestClient]]  # type: ignore[type-arg]
REASON = "database unreachable: connection refused"


class SwitchableDatabase:
    """An availability double the test turns off and on; classifies dropped connections."""

    def __init__(self) -> None:
        self.reason: str | None = None
        self.asked = 0

    async def unavailable(self) -> str | None:
        self.asked += 1
        return self.reason

    def classify(self, err: BaseException) -> str | None:
        if isinstance(err, sa.exc.OperationalError):
            return "database unreachable: server closed the connection"
        return None


async def test_pages_answer_503_while_the_database_is_gone(aiohttp_client: ClientFactory) -> None:
    db = SwitchableDatabase()
    app = create_app(site_info=INFO, health_probe=probe_returning(HEALTHY), availability=db)
    client = await aiohttp_client(app)
    assert (await client.get("/")).status == 200
    db.reason = REASON
    page = await client.get("/")
    assert page.status == 503
    assert page.headers["Retry-After"] == "10"
    text = await page.text()
    assert "Нет связи с базой данных" in text
    assert "connection refused" in text
    api = await client.get("/", headers={"Accept": "application/json"})
    assert api.status == 503
    assert await api.json() == {"status": "unavailable", "detail": REASON}
    db.reason = None
    assert (await client.get("/")).status == 200


async def test_health_is_not_hidden_behind_the_503_page(aiohttp_client: ClientFactory) -> None:
    db = SwitchableDatabase()
    db.reason = REASON
    app = create_app(site_info=INFO, health_probe=probe_returning(BROKEN), availability=db)
    client = await aiohttp_client(app)
    health = await client.get("/health")
    assert health.status == 503
    assert (await health.json())["detail"] == BROKEN.detail
    assert db.asked == 0


async def test_a_connection_dropped_inside_a_handler_gives_503(
    aiohttp_client: ClientFactory,
) -> None:
    async def overview() -> Overview:
        raise sa.exc.OperationalError("SELECT", {}, Exception("server closed the connection"))

    db = SwitchableDatabase()
    app = create_app(
        site_info=INFO, health_probe=probe_returning(HEALTHY), overview=overview, availability=db
    )
    client = await aiohttp_client(app)
    page = await client.get("/")
    assert page.status == 503
    assert "server closed the connection" in await page.text()
