"""Telegram previews: the page parser on real-looking markup, and the client on loopback."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from pytest_aiohttp.plugin import AiohttpServer

from collector.errors import VkAccessDenied
from collector.health import classify_failure
from collector.telegram_client import (
    TelegramClient,
    TelegramConnectionError,
    TelegramRateLimited,
    TelegramUnavailable,
)
from collector.telegram_page import parse_channel_page, parse_views
from emulator.telegram import TelegramEmulator
from emulator.telegram.server import format_views
from emulator.vk import FakeClock

#: A preview page written after the real markup (social-apis.md E1): a service message, a
#: forwarded album with a reply quote, entities, emoji, an edited mark and a plain message.
PAGE = (Path(__file__).parents[1] / "fixtures" / "telegram" / "channel_page.html").read_text(
    encoding="utf-8"
)


def test_page_markup() -> None:
    page = parse_channel_page(PAGE)
    assert page.channel == "VestiKirov"
    assert page.title == "Вести «Киров»"
    assert page.before == 101
    assert [p.id for p in page.posts] == [114, 117]  # the service message is skipped
    album, plain = page.posts
    assert album.external_id == "VestiKirov_114"
    assert album.date == dt.datetime(2026, 9, 30, 7, 37, tzinfo=dt.UTC)
    assert album.text == (
        "Отключение воды на ул. Ленина, 5 — до 18:00\n"
        "Подробности: сайт администрации 💧\n\n<без воды> & без света"
    )
    assert album.views == 12_700
    assert album.edited
    assert "album" in album.media
    assert album.url == "https://t.me/VestiKirov/114"
    assert (plain.text, plain.views, plain.edited, plain.media) == (
        "Ямы на дороге 🚧",
        401,
        False,
        (),
    )
    assert not page.cut_off


def test_a_page_cut_mid_message_is_noticed() -> None:
    cut = PAGE[: PAGE.rindex("tgme_widget_message_footer")]
    page = parse_channel_page(cut)
    assert page.cut_off
    assert [p.id for p in page.posts] == [114]


def test_empty_and_odd_pages() -> None:
    page = parse_channel_page("<html><body></body></html>")
    assert (page.posts, page.before, page.cut_off) == ((), None, False)
    long_text = "Очень длинный текст. " * 500
    html = PAGE.replace("Ямы на дороге 🚧", long_text)
    assert parse_channel_page(html).posts[-1].text == long_text.strip()


@pytest.mark.parametrize(
    ("shown", "value"),
    [("401", 401), ("1.2K", 1200), ("12.7K", 12_700), ("1.1M", 1_100_000), ("", None), ("x", None)],
)
def test_views(shown: str, value: int | None) -> None:
    assert parse_views(shown) == value


@pytest.mark.parametrize("n", [0, 401, 1234, 12_700, 1_100_000])
def test_emulator_view_format_round_trips(n: int) -> None:
    shown = parse_views(format_views(n))
    assert shown is not None
    assert abs(shown - n) <= max(50, n // 20)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def emu(clock: FakeClock) -> TelegramEmulator:
    return TelegramEmulator(seed=2, channels=2, posts=50, clock=clock)


@pytest.fixture
async def base_url(aiohttp_server: AiohttpServer, emu: TelegramEmulator) -> str:
    server = await aiohttp_server(emu.create_app())
    return str(server.make_url("")).rstrip("/")


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def make_client(
    http: aiohttp.ClientSession, base: str, clock: FakeClock, **kw: Any
) -> TelegramClient:
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        clock.advance(seconds)

    client = TelegramClient(session=http, base_url=base, sleep=sleep, monotonic=clock, **kw)
    client.waits = waits  # type: ignore[attr-defined]
    return client


async def test_pages_paging_and_pacing(
    http: aiohttp.ClientSession, base_url: str, emu: TelegramEmulator, clock: FakeClock
) -> None:
    client = make_client(http, base_url, clock)
    channel = next(iter(emu.channels.values()))
    newest = await client.fetch(channel.username)
    assert newest.before is not None
    older = await client.fetch(channel.username, before=newest.before)
    assert max(p.id for p in older.posts) < min(p.id for p in newest.posts)
    # One page per channel per minute: the second request waited for the rest of it.
    assert client.waits == [pytest.approx(60.0)]  # type: ignore[attr-defined]
    _, query, agent = emu.requests[-1]
    assert query == f"before={newest.before}"
    assert agent.startswith("Mozilla/5.0")
    assert "Chrome/" in agent


async def test_a_channel_without_preview_is_unavailable(
    http: aiohttp.ClientSession, base_url: str, emu: TelegramEmulator, clock: FakeClock
) -> None:
    client = make_client(http, base_url, clock)
    next(iter(emu.channels.values())).preview = False
    for name in (next(iter(emu.channels.values())).username, "no_such_channel"):
        with pytest.raises(TelegramUnavailable, match="redirects to /") as caught:
            await client.fetch(name)
        failure = classify_failure(caught.value)
        assert isinstance(caught.value, VkAccessDenied)
        assert failure.disable_reason is not None
        assert "no public preview" in failure.disable_reason


async def test_429_rests_every_channel_for_retry_after(
    http: aiohttp.ClientSession, base_url: str, emu: TelegramEmulator, clock: FakeClock
) -> None:
    client = make_client(http, base_url, clock)
    first, second = (c.username for c in emu.channels.values())
    emu.inject("rate_limit", retry_after=120)
    with pytest.raises(TelegramRateLimited) as caught:
        await client.fetch(first)
    assert caught.value.retry_after == 120
    assert classify_failure(caught.value).retry_after == 120
    asked = len(emu.requests)
    with pytest.raises(TelegramRateLimited):
        await client.fetch(second)  # no request during the rest
    assert len(emu.requests) == asked
    clock.advance(121)
    assert (await client.fetch(second)).posts


@pytest.mark.parametrize(("kind", "status"), [("http", 502), ("http", 500), ("truncate", 200)])
async def test_transient_faults_are_connection_errors(
    kind: str,
    status: int,
    http: aiohttp.ClientSession,
    base_url: str,
    emu: TelegramEmulator,
    clock: FakeClock,
) -> None:
    client = make_client(http, base_url, clock)
    emu.inject(kind, status=status)  # type: ignore[arg-type]
    with pytest.raises(TelegramConnectionError):
        await client.fetch(next(iter(emu.channels.values())).username)
    failure = classify_failure(TelegramConnectionError("x"))
    assert failure.disable_reason is None
    assert failure.retry_after is None


async def test_404_is_unavailable(
    aiohttp_server: AiohttpServer, http: aiohttp.ClientSession, clock: FakeClock
) -> None:
    async def gone(request: web.Request) -> web.Response:
        return web.Response(status=404)

    app = web.Application()
    app.router.add_get("/s/{channel}", gone)
    server = await aiohttp_server(app)
    client = make_client(http, str(server.make_url("")).rstrip("/"), clock)
    with pytest.raises(TelegramUnavailable, match="404"):
        await client.fetch("gone")


async def test_redirects_are_never_followed_off_the_preview(
    aiohttp_server: AiohttpServer, http: aiohttp.ClientSession, clock: FakeClock
) -> None:
    page = PAGE

    async def preview(request: web.Request) -> web.Response:
        name = request.match_info["channel"]
        if name == "vestikirov":  # the canonical spelling, as t.me redirects to it
            raise web.HTTPFound("/s/VestiKirov")
        if name == "elsewhere":  # the real site: must not be fetched from a test
            raise web.HTTPFound("https://t.me/elsewhere")
        return web.Response(text=page, content_type="text/html")

    app = web.Application()
    app.router.add_get("/s/{channel}", preview)
    server = await aiohttp_server(app)
    client = make_client(http, str(server.make_url("")).rstrip("/"), clock, min_interval=0)
    assert (await client.fetch("vestikirov")).channel == "VestiKirov"
    with pytest.raises(TelegramUnavailable, match="redirects to /elsewhere"):
        await client.fetch("elsewhere")


def test_a_poll_keeps_its_question_and_options_as_its_text() -> None:
    poll = (
        '<div class="tgme_widget_message_poll js-poll">'
        '<div class="tgme_widget_message_poll_question">Как убирают снег во дворах Кирова? ❄️</div>'
        '<div class="tgme_widget_message_poll_type">Anonymous poll</div>'
        '<div class="tgme_widget_message_poll_options">'
        '<div class="tgme_widget_message_poll_option"><div class="tgme_widget_message_poll_option'
        '_percent">61%</div><div class="tgme_widget_message_poll_option_text">Плохо: '
        "не чистят неделю</div></div>"
        '<div class="tgme_widget_message_poll_option"><div class="tgme_widget_message_poll_option'
        '_text">Нормально &amp; вовремя</div></div></div></div>'
    )
    html = PAGE.replace(
        '<div class="tgme_widget_message_text js-message_text" dir="auto">Ямы на дороге 🚧</div>',
        poll,
    )
    assert html != PAGE

    *_, last = parse_channel_page(html).posts

    assert last.text == (
        "Как убирают снег во дворах Кирова? ❄️\nПлохо: не чистят неделю\nНормально & вовремя"
    )
    assert last.media == ("poll",)


async def test_a_redirect_loop_within_the_preview_fails_the_poll_not_the_channel(
    aiohttp_server: AiohttpServer, http: aiohttp.ClientSession, clock: FakeClock
) -> None:
    async def preview(request: web.Request) -> web.Response:
        name = request.match_info["channel"]
        raise web.HTTPFound("/s/" + (name.upper() if name.islower() else name.lower()))

    app = web.Application()
    app.router.add_get("/s/{channel}", preview)
    server = await aiohttp_server(app)
    client = make_client(http, str(server.make_url("")).rstrip("/"), clock, min_interval=0)

    with pytest.raises(TelegramConnectionError, match="redirects in a loop") as caught:
        await client.fetch("kirovnews")

    assert classify_failure(caught.value).disable_reason is None  # retried later, not disabled


@pytest.mark.parametrize(
    "stamp", ["вчера", "", "2026-02-30T10:00:00+03:00", "9999-12-31T23:00:00-05:00"]
)
def test_one_message_with_a_broken_time_is_left_out_not_the_whole_page(stamp: str) -> None:
    # A time fromisoformat() refused (or astimezone() overflowed on) made the whole page
    # unreadable, so the channel's poll failed on every retry while that message was on it.
    html = PAGE.replace('datetime="2026-09-30T10:37:00+03:00"', f'datetime="{stamp}"')
    page = parse_channel_page(html)
    assert [p.id for p in page.posts] == [117]
    assert not page.cut_off


def test_a_view_counter_too_large_for_a_number_is_none() -> None:
    assert parse_views("1e400") is None
    assert parse_views("nanK") is None
