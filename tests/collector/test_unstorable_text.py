"""Text no database can hold (a lone surrogate, NUL) is cleaned where network JSON is decoded.

Before the fix one such post failed the transaction storing its poll on every retry (UTF-8
cannot encode ``\\ud83d``; PostgreSQL text refuses NUL), so its source never advanced and the
rest of that poll was never stored; an OK topic failed the poller itself (it hashes the text).
The stand-ins here are written for the test, not the project's emulator.
"""

from __future__ import annotations

import datetime as dt

import aiohttp
import pytest
from aiohttp import web
from pytest_aiohttp.plugin import AiohttpServer
from sqlalchemy.orm import Session, sessionmaker

from collector.json_text import clean_text, loads_clean
from collector.messages import Harvest
from collector.ok_client import OkClient
from collector.ok_poller import OkGroupPoller
from collector.replay import parse_line
from collector.vk_client import VkClient
from collector.vk_poller import VkGroupPoller, WallCursor
from storage.db import create_engine_for, make_sessionmaker
from storage.enums import Network
from storage.migrate import upgrade
from storage.repositories.harvests import HarvestRepository
from storage.repositories.messages import MessageRepository
from storage.repositories.sources import SourceRepository

OWNER = -4242
NOW = dt.datetime(2026, 12, 4, 9, 0, tzinfo=dt.UTC)

# Raw JSON as a service sends it: the escapes are in the body, not in Python.
WALL = (
    '{"response": {"count": 2, "items": ['
    '{"id": 2, "owner_id": -4242, "from_id": 7, "date": 1764838800, '
    '"text": "\\u042f\\u043c\\u0430 \\u043d\\u0430 \\u041b\\u0435\\u043d\\u0438\\u043d\\u0430 '
    '\\ud83d", "comments": {"count": 0}},'
    '{"id": 1, "owner_id": -4242, "from_id": 8, "date": 1764835200, '
    '"text": "\\u041d\\u0435\\u0442 \\u0432\\u043e\\u0434\\u044b\\u0000 \\ud83d\\ude21", '
    '"comments": {"count": 0}}]}}'
)


def test_clean_text_keeps_real_text_and_replaces_what_cannot_be_stored() -> None:
    assert clean_text("Яма 😡 <b>ул. Ленина</b>\n") == "Яма 😡 <b>ул. Ленина</b>\n"
    assert clean_text("") == ""
    assert clean_text("а\x00б\ud83d") == "аб\ufffd"
    assert loads_clean(b'{"t": "\\ud83d\\ude21 ok"}') == {"t": "😡 ok"}
    assert loads_clean(b'["\\udc00", {"\\u0000k": "\\u0000"}]') == ["\ufffd", {"k": ""}]


@pytest.fixture
def sessions(db_url: str) -> sessionmaker[Session]:
    upgrade(db_url)
    return make_sessionmaker(create_engine_for(db_url))


async def test_a_vk_post_with_a_cut_emoji_and_nul_is_stored_with_its_poll(
    aiohttp_server: AiohttpServer, sessions: sessionmaker[Session]
) -> None:
    async def wall_get(request: web.Request) -> web.Response:
        return web.Response(text=WALL, content_type="application/json")

    app = web.Application()
    app.router.add_post("/method/wall.get", wall_get)
    server = await aiohttp_server(app)
    async with aiohttp.ClientSession() as http:
        client = VkClient(
            session=http, token="standin-token-1", api_url=str(server.make_url("/method"))
        )
        poller = VkGroupPoller(client, OWNER, clock=lambda: NOW)
        result = await poller.poll(WallCursor())
    texts = {p.id: p.text for p in result.posts}
    assert texts == {2: "Яма на Ленина \ufffd", 1: "Нет воды 😡"}

    with sessions.begin() as s:
        source = SourceRepository(s).add(Network.VK, str(OWNER), screen_name="standin").id
        stats = MessageRepository(s).store_poll(source, result, NOW)
    assert stats.inserted == 2
    with sessions() as s:
        stored = {r.external_id: r.text for r in MessageRepository(s).iter_records()}
    assert stored == {f"{OWNER}_2": "Яма на Ленина \ufffd", f"{OWNER}_1": "Нет воды 😡"}


async def _poll_ok_group(aiohttp_server: AiohttpServer, topics: str) -> Harvest:
    """Poll OK group 77 once from a stand-in that answers ``topics`` (raw JSON) and no comments."""

    async def fb_do(request: web.Request) -> web.Response:
        if request.query["method"] == "mediatopic.getTopics":
            return web.Response(text=topics, content_type="application/json")
        return web.json_response({"comments": [], "has_more": False})

    app = web.Application()
    app.router.add_get("/fb.do", fb_do)
    server = await aiohttp_server(app)
    async with aiohttp.ClientSession() as http:
        client = OkClient(
            session=http,
            application_key="KEY",
            application_secret="standin-secret",
            access_token="standin-token-2",
            api_url=str(server.make_url("/fb.do")),
        )
        return await OkGroupPoller(client, "77").poll({})


async def test_an_ok_topic_with_a_lone_surrogate_is_collected(
    aiohttp_server: AiohttpServer,
) -> None:
    topics = (
        '{"media_topics": [{"id": 5, "created_ms": 1764838800000, "media": '
        '[{"type": "text", "text": "\\u0422\\u0440\\u0443\\u0431\\u0430 \\ud83d\\u0000"}]}],'
        ' "has_more": false}'
    )

    harvest = await _poll_ok_group(aiohttp_server, topics)
    assert {m.external_id: m.text for m in harvest.messages if m.kind == "post"} == {
        "77_5": "Труба \ufffd"
    }


def test_a_replay_line_with_nul_is_cleaned() -> None:
    line = (
        '{"network": "file", "external_id": "f-1", "kind": "post", '
        '"time": "2026-12-04T09:15:00+03:00", '
        '"text": "\\u0000\\u0414\\u0432\\u043e\\u0440 \\udc00"}'
    )
    assert parse_line(line).text == "Двор \ufffd"


async def test_a_vk_post_with_absurd_counters_and_a_bad_geotag_is_stored_with_its_poll(
    aiohttp_server: AiohttpServer, sessions: sessionmaker[Session]
) -> None:
    # A count past PostgreSQL's integer (views 3e9) failed the storing transaction on every
    # retry, and a place with a non-numeric latitude failed the parser: either way the wall's
    # poll never stored anything again.
    wall = (
        '{"response": {"count": 2, "items": ['
        '{"id": 2, "owner_id": -4242, "from_id": 7, "date": 1764838800, "text": "Яма", '
        '"views": {"count": 3000000000}, "likes": {"count": -5}, '
        '"reposts": {"count": 1e30}, "comments": {"count": 0}},'
        '{"id": 1, "owner_id": -4242, "from_id": 8, "date": 1764835200, "text": "Нет воды", '
        '"geo": {"place": {"title": "Киров", "latitude": "север", "longitude": null}}, '
        '"comments": {"count": 0}}]}}'
    )

    async def wall_get(request: web.Request) -> web.Response:
        return web.Response(text=wall, content_type="application/json")

    app = web.Application()
    app.router.add_post("/method/wall.get", wall_get)
    server = await aiohttp_server(app)
    async with aiohttp.ClientSession() as http:
        client = VkClient(
            session=http, token="standin-token-1", api_url=str(server.make_url("/method"))
        )
        result = await VkGroupPoller(client, OWNER, clock=lambda: NOW).poll(WallCursor())
    with sessions.begin() as s:
        source = SourceRepository(s).add(Network.VK, str(OWNER), screen_name="standin").id
        stats = MessageRepository(s).store_poll(source, result, NOW)
    assert stats.inserted == 2
    with sessions() as s:
        stored = {r.external_id: r.text for r in MessageRepository(s).iter_records()}
    assert stored == {f"{OWNER}_2": "Яма", f"{OWNER}_1": "Нет воды"}


async def test_an_ok_topic_with_absurd_counters_is_stored_with_its_poll(
    aiohttp_server: AiohttpServer, sessions: sessionmaker[Session]
) -> None:
    topics = (
        '{"media_topics": [{"id": 6, "created_ms": 1764838800000, '
        '"like_summary": {"count": 10000000000}, "reshare_summary": {"count": -3}, '
        '"discussion_summary": {"comments_count": 0}, '
        '"media": [{"type": "text", "text": "Не работает светофор на Октябрьском"}]}],'
        ' "has_more": false}'
    )

    harvest = await _poll_ok_group(aiohttp_server, topics)
    with sessions.begin() as s:
        source = SourceRepository(s).add(Network.OK, "77", screen_name="standin").id
        stats = HarvestRepository(s).store(source, harvest, NOW)
    assert stats.inserted == 1
    with sessions() as s:
        records = list(MessageRepository(s, network=Network.OK).iter_records())
    assert {r.external_id: r.text for r in records} == {
        "77_6": "Не работает светофор на Октябрьском"
    }
