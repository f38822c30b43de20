"""Channels and their preview pages as t.me serves them (social-apis.md E1 and F7).

``/s/<channel>`` lists about 20 messages oldest first, with a ``?before=`` anchor to older
ones; a private, missing or preview-less channel redirects to ``/<channel>``. Faults on
demand: HTTP statuses, 429 with ``Retry-After``, pages cut off mid-way, delays.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import html
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from aiohttp import web

from emulator.ok.world import random_comment, random_post
from emulator.vk import texts

__all__ = [
    "PAGE_SIZE",
    "TelegramEmulator",
    "TgChannel",
    "TgFault",
    "TgMessage",
    "format_views",
    "to_html",
]

PAGE_SIZE = 20
TgFaultKind = Literal["http", "rate_limit", "truncate", "delay"]


def format_views(n: int) -> str:
    """Format a view counter as t.me does: 401, 1.2K, 12.7K, 1.1M."""
    if n < 1000:
        return str(n)
    if n < 1_000_000:
        return f"{n / 1000:.1f}".rstrip("0").rstrip(".") + "K"
    return f"{n / 1_000_000:.1f}".rstrip("0").rstrip(".") + "M"


def to_html(text: str) -> str:
    """Return a plain text as message HTML: escaped, newlines as ``<br/>``."""
    return html.escape(text).replace("\n", "<br/>")


@dataclass
class TgMessage:
    """A channel message; an album takes ``album`` ids and shows under the first.

    ``text`` is the ground truth (what a reader sees); ``html`` the markup served.
    """

    id: int
    date: float
    text: str
    html: str
    views: int = 0
    edited: bool = False
    deleted: bool = False
    album: int = 1
    service: bool = False


@dataclass
class TgChannel:
    """A public channel (``preview`` off or ``private``: the preview redirects away)."""

    username: str
    title: str
    town: str
    preview: bool = True
    messages: dict[int, TgMessage] = field(default_factory=dict)
    next_id: int = 1


@dataclass
class TgFault:
    """Make the next ``count`` page requests (of ``channel``, or any) misbehave."""

    kind: TgFaultKind
    count: int = 1
    channel: str | None = None
    status: int = 502
    retry_after: int = 30
    delay: float = 0.0


class TelegramEmulator:
    """Serves channels' preview pages from a generated, mutable ground truth."""

    def __init__(
        self,
        *,
        seed: int = 1,
        channels: int = 4,
        posts: int = 45,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.clock = clock
        self.sleep = sleep
        self.rng = random.Random(seed)  # noqa: S311 - a simulation, not crypto
        self.channels: dict[str, TgChannel] = {}
        self.faults: list[TgFault] = []
        self.requests: list[tuple[str, str, str]] = []  # (channel, query, user agent)
        now = clock()
        for index in range(channels):
            town = texts.TOWNS[index % len(texts.TOWNS)]
            name = f"Vesti{town.slug.capitalize()}{index}"
            channel = TgChannel(name, f"Вести: {town.name}", town.name)
            self.channels[name.lower()] = channel
            self.post(name, "Channel created", at=now - 90 * 86400, service=True)
            count = self.rng.randint(posts // 2, posts)
            for n in range(count):
                album = 3 if self.rng.random() < 0.1 else 1
                self.post(
                    name,
                    random_post(self.rng, town),
                    at=now - (count - n) * self.rng.uniform(1800, 5400),
                    album=album,
                )

    # ---- the control API -------------------------------------------------------------------

    def channel(self, name: str) -> TgChannel:
        """Return a channel by username (any case)."""
        return self.channels[name.lower()]

    def post(
        self,
        name: str,
        text: str,
        *,
        body_html: str | None = None,
        at: float | None = None,
        album: int = 1,
        service: bool = False,
        views: int | None = None,
    ) -> TgMessage:
        """Publish a message now or at ``at``; ``body_html`` is its markup when not plain."""
        channel = self.channel(name)
        message = TgMessage(
            channel.next_id,
            self.clock() if at is None else at,
            text,
            body_html if body_html is not None else to_html(text),
            views=self.rng.randint(50, 25_000) if views is None else views,
            album=album,
            service=service,
        )
        channel.messages[message.id] = message
        channel.next_id += album
        return message

    def edit(self, name: str, message_id: int, text: str, *, body_html: str | None = None) -> None:
        """Edit a message: new text and the edited mark."""
        message = self.channel(name).messages[message_id]
        message.text = text
        message.html = body_html if body_html is not None else to_html(text)
        message.edited = True

    def delete(self, name: str, message_id: int) -> None:
        """Delete a message."""
        self.channel(name).messages[message_id].deleted = True

    def inject(self, kind: TgFaultKind, **options: Any) -> TgFault:
        """Queue a fault."""
        fault = TgFault(kind=kind, **options)
        self.faults.append(fault)
        return fault

    def truth(self, name: str) -> dict[str, str]:
        """Return ``external id -> text`` of the visible messages of a channel."""
        channel = self.channel(name)
        return {
            f"{channel.username}_{m.id}": m.text
            for m in channel.messages.values()
            if not m.deleted and not m.service
        }

    def step(self) -> None:
        """Publish a message in a random channel (the demo's live activity)."""
        open_channels = [c for c in self.channels.values() if c.preview]
        if open_channels:
            channel = self.rng.choice(open_channels)
            town = next((t for t in texts.TOWNS if t.name == channel.town), texts.TOWNS[0])
            text = (
                random_post(self.rng, town)
                if self.rng.random() < 0.8
                else random_comment(self.rng, town)
            )
            self.post(channel.username, text)

    # ---- rendering -------------------------------------------------------------------------

    def _message_html(self, channel: TgChannel, m: TgMessage) -> str:
        ref = f"{channel.username}/{m.id}"
        when = dt.datetime.fromtimestamp(m.date, tz=dt.UTC)
        if m.service:
            return (
                '<div class="tgme_widget_message_wrap js-widget_message_wrap">'
                f'<div class="tgme_widget_message service_message js-widget_message" '
                f'data-post="{ref}"><div class="tgme_widget_message_bubble">'
                f'<div class="message_media_not_supported_label">{m.html}</div>'
                "</div></div></div>"
            )
        media = ""
        if m.album > 1:
            media = (
                '<div class="tgme_widget_message_grouped_wrap js-message_grouped_wrap">'
                + "".join(
                    f'<a class="tgme_widget_message_photo_wrap grouped_media_wrap" '
                    f'href="https://t.me/{channel.username}/{m.id + i}" '
                    "style=\"background-image:url('https://cdn4.telesco.pe/file/x.jpg')\"></a>"
                    for i in range(m.album)
                )
                + "</div>"
            )
        edited = "edited " if m.edited else ""
        return (
            '<div class="tgme_widget_message_wrap js-widget_message_wrap">'
            f'<div class="tgme_widget_message text_not_supported_wrap js-widget_message" '
            f'data-post="{ref}" data-view="x"><div class="tgme_widget_message_bubble">'
            f"{media}"
            f'<div class="tgme_widget_message_text js-message_text" dir="auto">{m.html}</div>'
            '<div class="tgme_widget_message_footer compact js-message_footer">'
            '<div class="tgme_widget_message_info short js-message_info">'
            f'<span class="tgme_widget_message_views">{format_views(m.views)}</span>'
            '<span class="copyonly"> views</span>'
            f'<span class="tgme_widget_message_meta">{edited}'
            f'<a class="tgme_widget_message_date" href="https://t.me/{ref}">'
            f'<time datetime="{when.isoformat()}" class="time">{when:%H:%M}</time></a></span>'
            "</div></div></div></div></div>"
        )

    def page_html(self, channel: TgChannel, *, before: int | None, after: int | None) -> str:
        """Render one preview page."""
        visible = sorted(
            (m for m in channel.messages.values() if not m.deleted), key=lambda m: m.id
        )
        if before is not None:
            visible = [m for m in visible if m.id < before]
            page = visible[-PAGE_SIZE:]
        elif after is not None:
            page = [m for m in visible if m.id > after][:PAGE_SIZE]
        else:
            page = visible[-PAGE_SIZE:]
        older = bool(page) and any(m.id < page[0].id for m in visible)
        more = (
            f'<a href="/s/{channel.username}?before={page[0].id}" '
            f'class="tme_messages_more js-messages_more" data-before="{page[0].id}"></a>'
            if older
            else ""
        )
        body = "".join(self._message_html(channel, m) for m in page)
        return (
            '<!DOCTYPE html><html><head><meta charset="utf-8">'
            f"<title>{html.escape(channel.title)} – Telegram</title></head><body>"
            '<div class="tgme_channel_info"><div class="tgme_channel_info_header">'
            f'<div class="tgme_channel_info_header_title"><span dir="auto">'
            f"{html.escape(channel.title)}</span></div>"
            f'<div class="tgme_channel_info_header_username"><a href="https://t.me/'
            f'{channel.username}">@{channel.username}</a></div></div></div>'
            '<section class="tgme_channel_history js-message_history">'
            f"{more}{body}</section></body></html>"
        )

    # ---- HTTP ------------------------------------------------------------------------------

    def _fault(self, name: str) -> TgFault | None:
        for fault in self.faults:
            if fault.channel is None or fault.channel.lower() == name.lower():
                fault.count -= 1
                if fault.count <= 0:
                    self.faults.remove(fault)
                return fault
        return None

    async def preview(self, request: web.Request) -> web.StreamResponse:
        """``GET /s/<channel>``: the preview page, or a redirect to ``/<channel>``."""
        name = request.match_info["channel"]
        self.requests.append((name, request.query_string, request.headers.get("User-Agent", "")))
        fault = self._fault(name)
        if fault is not None:
            if fault.kind == "delay":
                await self.sleep(fault.delay)
            elif fault.kind == "http":
                return web.Response(status=fault.status, text="Bad Gateway")
            elif fault.kind == "rate_limit":
                return web.Response(
                    status=429,
                    text="Too Many Requests",
                    headers={"Retry-After": str(fault.retry_after)},
                )
        channel = self.channels.get(name.lower())
        if channel is None or not channel.preview:
            raise web.HTTPFound(f"/{name}")
        before = request.query.get("before")
        after = request.query.get("after")
        text = self.page_html(
            channel,
            before=int(before) if before and before.isdigit() else None,
            after=int(after) if after and after.isdigit() else None,
        )
        if fault is not None and fault.kind == "truncate":
            cut = text.rfind("tgme_widget_message_footer")
            text = text[: cut if cut > 0 else len(text) // 2]
        return web.Response(text=text, content_type="text/html")

    async def channel_page(self, request: web.Request) -> web.StreamResponse:
        """``GET /<channel>``: the plain channel page (no message list)."""
        name = request.match_info["channel"]
        return web.Response(
            text=f'<html><body><div class="tgme_page_title">{html.escape(name)}</div>'
            '<div class="tgme_page_extra">Private channel or no web preview</div></body></html>',
            content_type="text/html",
        )

    async def admin(self, request: web.Request) -> web.StreamResponse:
        """Describe the channels (the demo adds them as sources)."""
        return web.json_response(
            {
                "channels": [
                    {
                        "username": c.username,
                        "title": c.title,
                        "town": c.town,
                        "preview": c.preview,
                        "messages": len(c.messages),
                    }
                    for c in self.channels.values()
                ],
                "faults": [asdict(f) for f in self.faults],
            }
        )

    def add_routes(self, app: web.Application) -> None:
        """Serve the previews (and ``/_emulator/telegram``) on ``app``."""
        app.router.add_get("/_emulator/telegram", self.admin)
        app.router.add_get("/s/{channel}", self.preview)
        app.router.add_get("/{channel}", self.channel_page)

    def create_app(self) -> web.Application:
        """Return an aiohttp app serving only this emulator."""
        app = web.Application()
        self.add_routes(app)
        return app
