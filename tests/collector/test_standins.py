"""The clients and pollers against minimal stand-ins written from the reference alone.

Not the project's emulator: numeric ids, no comment counters, a page without a channel
header, a signature checked by a second implementation of B2 written here.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web
from pytest_aiohttp.plugin import AiohttpServer

from collector.ok_client import OkClient
from collector.ok_poller import OkGroupPoller
from collector.telegram_client import TelegramClient, TelegramUnavailable
from collector.telegram_poller import TelegramChannelPoller

KEY, SECRET, TOKEN = "APPKEY", "app-secret-123456", "session-token-abcdef"


def md5(text: str) -> str:
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


class OkStandIn:
    def __init__(self) -> None:
        # topic id -> (created ms, text, comments [(id, "YYYY-MM-DD HH:MM:SS", text)])
        self.topics: dict[int, tuple[int, str, list[tuple[int, str, str]]]] = {
            101: (1_764_000_000_000, "Не вывозят мусор", [(9001, "2025-11-24 19:00:00", "Да!")]),
            102: (1_764_000_600_000, "Прорыв трубы", []),
        }

    async def handle(self, request: web.Request) -> web.Response:
        p = dict(request.query)
        signed = "".join(f"{k}={p[k]}" for k in sorted(p) if k not in ("sig", "access_token"))
        if p.get("sig") != md5(signed + md5(p.get("access_token", "") + SECRET)):
            body = {"error_code": 104, "error_msg": "PARAM_SIGNATURE : Invalid signature"}
            return web.json_response({**body, "error_data": None})
        if p["method"] == "mediatopic.getTopics":
            items = sorted(self.topics.items(), key=lambda kv: kv[1][0], reverse=True)
            return web.json_response(
                {
                    "media_topics": [
                        {"id": tid, "created_ms": ms, "media": [{"type": "text", "text": text}]}
                        for tid, (ms, text, _) in items
                    ],
                    "has_more": False,
                }
            )
        if p["method"] == "discussions.getComments":
            _, _, comments = self.topics[int(p["discussionId"])]
            return web.json_response(
                {
                    "comments": [
                        {"id": cid, "date": date, "text": text, "author_id": 5}
                        for cid, date, text in comments
                    ],
                    "has_more": False,
                }
            )
        return web.json_response({"error_code": 3, "error_msg": "METHOD : no", "error_data": None})


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def test_ok_against_a_stand_in(
    aiohttp_server: AiohttpServer, http: aiohttp.ClientSession
) -> None:
    stand_in = OkStandIn()
    app = web.Application()
    app.router.add_get("/fb.do", stand_in.handle)
    server = await aiohttp_server(app)
    client = OkClient(
        session=http,
        application_key=KEY,
        application_secret=SECRET,
        access_token=TOKEN,
        api_url=str(server.make_url("/fb.do")),
    )
    poller = OkGroupPoller(client, "77")
    first = await poller.poll({})
    got = {m.external_id: m for m in first.messages}
    assert set(got) == {"77_101", "77_102", "77_101_9001"}
    assert got["77_101_9001"].posted_at.isoformat() == "2025-11-24T16:00:00+00:00"
    # No counters in the answer: the newest threads are read again, so a new comment shows.
    stand_in.topics[102][2].append((9002, "2025-11-24 20:00:00", "Вода до сих пор течёт"))
    second = await poller.poll(first.cursor)
    assert "77_102_9002" in {m.external_id for m in second.messages}
    assert second.comment_sets["77_102"] == frozenset({"77_102_9002"})


PAGE = """<section class="tgme_channel_history">
<a href="/s/gorod43?before=7" class="tme_messages_more js-messages_more" data-before="7"></a>
<div class="tgme_widget_message_wrap"><div class="tgme_widget_message" data-post="gorod43/7">
<div class="tgme_widget_message_text js-message_text">Яма на Ленина&nbsp;5</div>
<span class="tgme_widget_message_views">2.5K</span><span class="tgme_widget_message_meta">
<a class="tgme_widget_message_date" href="https://t.me/gorod43/7">
<time datetime="2026-09-30T07:37:00+00:00">07:37</time></a></span></div></div>
<div class="tgme_widget_message_wrap"><div class="tgme_widget_message" data-post="gorod43/8">
<div class="tgme_widget_message_text js-message_text">Нет отопления</div>
<span class="tgme_widget_message_meta">edited <a class="tgme_widget_message_date"
href="https://t.me/gorod43/8"><time datetime="2026-09-30T08:00:00+00:00">08:00</time></a>
</span></div></div>
</section>"""


async def test_telegram_against_a_stand_in(
    aiohttp_server: AiohttpServer, http: aiohttp.ClientSession
) -> None:
    async def preview(request: web.Request) -> web.Response:
        if request.match_info["channel"] != "gorod43":
            raise web.HTTPFound(f"/{request.match_info['channel']}")
        if request.query.get("before") == "7":
            return web.Response(text="<section></section>", content_type="text/html")
        return web.Response(text=PAGE, content_type="text/html")

    async def plain(request: web.Request) -> web.Response:
        return web.Response(text="<html>channel</html>", content_type="text/html")

    app = web.Application()
    app.router.add_get("/s/{channel}", preview)
    app.router.add_get("/{channel}", plain)
    server = await aiohttp_server(app)
    client = TelegramClient(session=http, base_url=str(server.make_url("")), min_interval=0)
    harvest = await TelegramChannelPoller(client, "gorod43").poll({})
    got = {m.external_id: m for m in harvest.messages}
    assert set(got) == {"gorod43_7", "gorod43_8"}
    assert (got["gorod43_7"].text, got["gorod43_7"].views) == ("Яма на Ленина 5", 2500)
    assert got["gorod43_8"].edited
    with pytest.raises(TelegramUnavailable):
        await client.fetch("private_one")
