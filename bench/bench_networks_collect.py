"""Benchmark: OK and Telegram collection against the emulators, and the preview parser.

1. Telegram preview pages: ``parse_channel_page`` (selectolax / Lexbor) against a same-run
   baseline, the standard library's ``html.parser`` walking the same page for ``data-post``
   ids and message texts (what a parser-based reader must do at least).
2. OK: one group's first poll (every post, every comment) and an incremental poll after a few
   new posts and comments, over HTTP on 127.0.0.1 (no pacing: the emulator's cost only), with
   the requests each needed.
3. Telegram: a channel's first poll and the poll after 30 new messages (a gap over a page),
   with the pages each needed.

Run: ``.venv/bin/python bench/bench_networks_collect.py``.
"""

from __future__ import annotations

import asyncio
import time
from html.parser import HTMLParser

import aiohttp
from aiohttp import web

from collector.ok_client import OkClient
from collector.ok_poller import OkGroupPoller
from collector.telegram_client import TelegramClient
from collector.telegram_page import parse_channel_page
from collector.telegram_poller import TelegramChannelPoller
from emulator.ok import DEMO_ACCESS_TOKEN, DEMO_APP_KEY, DEMO_APP_SECRET, OkEmulator
from emulator.telegram import TelegramEmulator


class StdlibReader(HTMLParser):
    """The baseline: ids and texts of a preview page with the standard library's parser."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: list[str] = []
        self.texts: list[str] = []
        self._depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if values.get("data-post"):
            self.ids.append(values["data-post"] or "")
        if self._depth:
            self._depth += tag != "br"
            if tag == "br":
                self.texts[-1] += "\n"
        elif "tgme_widget_message_text" in (values.get("class") or ""):
            self._depth = 1
            self.texts.append("")

    def handle_endtag(self, tag: str) -> None:
        if self._depth:
            self._depth -= 1

    def handle_data(self, data: str) -> None:
        if self._depth:
            self.texts[-1] += data


def bench_parser(rounds: int = 300) -> None:
    emu = TelegramEmulator(seed=1, channels=1, posts=40)
    channel = next(iter(emu.channels.values()))
    html = emu.page_html(channel, before=None, after=None)
    start = time.perf_counter()
    for _ in range(rounds):
        page = parse_channel_page(html)
    ours = (time.perf_counter() - start) / rounds
    start = time.perf_counter()
    for _ in range(rounds):
        reader = StdlibReader()
        reader.feed(html)
    base = (time.perf_counter() - start) / rounds
    print(
        f"preview page ({len(html) // 1024} KiB, {len(page.posts)} messages): "
        f"selectolax {ours * 1000:.2f} ms a page (every field), "
        f"stdlib html.parser baseline {base * 1000:.2f} ms (ids and texts only); "
        f"{base / ours:.1f}x"
    )


async def bench_collect() -> None:
    ok_emu = OkEmulator(seed=2, groups=1, posts=100)
    tg_emu = TelegramEmulator(seed=2, channels=1, posts=60)
    app = web.Application()
    ok_emu.add_routes(app)
    tg_emu.add_routes(app)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    base = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as http:
            ok = OkClient(
                session=http,
                application_key=DEMO_APP_KEY,
                application_secret=DEMO_APP_SECRET,
                access_token=DEMO_ACCESS_TOKEN,
                api_url=f"{base}/fb.do",
            )
            uid = next(iter(ok_emu.world.groups))
            poller = OkGroupPoller(ok, str(uid))
            start = time.perf_counter()
            first = await poller.poll({})
            took = time.perf_counter() - start
            print(
                f"OK first poll: {len(first.messages)} posts and comments in {first.requests} "
                f"requests, {took:.2f} s ({len(first.messages) / took:.0f} items/s unpaced; "
                f"at the default 1 request/s: ~{first.requests} s)"
            )
            for n in range(5):
                ok_emu.world.publish_topic(uid, f"Новая жалоба {n}")
            topic = ok_emu.world.live_topics(uid)[10]
            ok_emu.world.publish_comment(uid, topic.id, "И здесь то же самое")
            second = await poller.poll(first.cursor)
            print(
                f"OK incremental poll (5 new posts, 1 new comment): {second.requests} requests "
                f"for {len(second.messages)} items (baseline: the first poll's {first.requests})"
            )
            tg = TelegramClient(session=http, base_url=base, min_interval=0)
            channel = next(iter(tg_emu.channels.values()))
            tpoller = TelegramChannelPoller(tg, channel.username)
            t_first = await tpoller.poll({})
            for n in range(30):
                tg_emu.post(channel.username, f"Сообщение {n}")
            t_second = await tpoller.poll(t_first.cursor)
            total = len(tg_emu.truth(channel.username))
            print(
                f"Telegram: first poll {t_first.requests} page ({len(t_first.messages)} "
                f"messages); after 30 new, {t_second.requests} pages for "
                f"{len(t_second.messages)} messages (the whole channel: {total} messages, "
                f"~{-(-total // 20)} pages)"
            )
    finally:
        await runner.cleanup()


def main() -> None:
    """Print the figures."""
    bench_parser()
    asyncio.run(bench_collect())


if __name__ == "__main__":
    main()
