"""Read public Telegram channels through their web preview, ``<base>/s/<channel>``.

No API key: only channels with a public preview can be read (social-apis.md E1). A channel
whose preview redirects away from ``/s/`` (private, missing, preview switched off) is
unavailable; HTTP 429 rests every channel for ``Retry-After``; each channel is fetched at most
once per ``min_interval`` (a minute by default), with a browser-like User-Agent.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable, MutableMapping
from urllib.parse import quote

import aiohttp
from yarl import URL

from collector.errors import VkAccessDenied, VkConnectionError, VkError, VkRateLimited
from collector.rate_limit import Sleep
from collector.telegram_page import TgPage, parse_channel_page

__all__ = [
    "BROWSER_USER_AGENT",
    "TelegramClient",
    "TelegramConnectionError",
    "TelegramRateLimited",
    "TelegramUnavailable",
]

#: A current desktop Chrome's User-Agent: the preview pages are meant for browsers.
BROWSER_USER_AGENT = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
#: Seconds to rest after a 429 that names no Retry-After.
DEFAULT_RETRY_AFTER = 60.0


class TelegramUnavailable(VkAccessDenied):
    """The channel has no public preview: the source is marked unavailable with the reason."""

    def __init__(self, channel: str, detail: str) -> None:
        VkError.__init__(self, f"Telegram channel {channel}: {detail}", method="preview")
        self.code = 0
        self.error_msg = detail
        self.reason = "no_preview"


class TelegramRateLimited(VkRateLimited):
    """HTTP 429: every channel rests for ``retry_after`` seconds."""

    def __init__(self, retry_after: float, detail: str = "HTTP 429 Too Many Requests") -> None:
        VkError.__init__(self, f"Telegram: {detail}, retry after {retry_after:.0f} s")
        self.code = 429
        self.error_msg = detail
        self.retry_after = retry_after
        self.retryable = False


class TelegramConnectionError(VkConnectionError):
    """The preview could not be read: network error, timeout, 5xx, a cut-off page."""


def _retry_after(value: str | None) -> float:
    if not value:
        return DEFAULT_RETRY_AFTER
    try:
        return max(0.0, float(value))
    except ValueError:
        return DEFAULT_RETRY_AFTER


class TelegramClient:
    """Fetch and parse channel preview pages; one instance is shared by every channel's poller."""

    def __init__(
        self,
        *,
        session: aiohttp.ClientSession,
        base_url: str = "https://t.me",
        user_agent: str = BROWSER_USER_AGENT,
        request_timeout: float = 15,
        min_interval: float = 60.0,
        sleep: Sleep = asyncio.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        metrics: MutableMapping[str, int] | None = None,
    ) -> None:
        self._session = session
        self.base_url = base_url.rstrip("/")
        self.user_agent = user_agent
        self._timeout = aiohttp.ClientTimeout(total=request_timeout)
        self.min_interval = min_interval
        self._sleep = sleep
        self._monotonic = monotonic
        self.metrics: MutableMapping[str, int] = metrics if metrics is not None else Counter()
        self._last_fetch: dict[str, float] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self.resting_until = 0.0
        self.requests = 0

    def __repr__(self) -> str:
        return f"TelegramClient(base_url={self.base_url!r})"

    def _bump(self, name: str) -> None:
        self.metrics[name] = self.metrics.get(name, 0) + 1

    async def _pace(self, channel: str) -> None:
        last = self._last_fetch.get(channel)
        if last is not None:
            wait = last + self.min_interval - self._monotonic()
            if wait > 0:
                self._bump("collector.telegram.paced")
                await self._sleep(wait)
        self._last_fetch[channel] = self._monotonic()

    async def fetch(
        self, channel: str, *, before: int | None = None, after: int | None = None
    ) -> TgPage:
        """Fetch one preview page of ``channel``: the newest, or older than ``before``.

        Args:
            channel: the channel's username (no ``@``).
            before: return messages with smaller ids (paging back).
            after: return messages with larger ids.

        Returns:
            The parsed page.

        Raises:
            TelegramUnavailable: the preview redirects away from ``/s/`` (such a redirect is
                never followed, nor one to another host) or is gone (404).
            TelegramRateLimited: HTTP 429 now or during an earlier rest.
            TelegramConnectionError: network error, timeout, 5xx or a cut-off page.
        """
        rest = self.resting_until - self._monotonic()
        if rest > 0:
            raise TelegramRateLimited(rest, "resting after HTTP 429")
        key = channel.lower()
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            await self._pace(key)
            return await self._get(channel, before=before, after=after)

    async def _request(
        self, channel: str, url: str, params: dict[str, str], headers: dict[str, str]
    ) -> tuple[int, str | None, str | None, bytes]:
        """Make one request without following redirects (they may point off the preview host).

        Returns:
            The status, the ``Location`` and ``Retry-After`` headers, and the body (of a 200).
        """
        self.requests += 1
        self._bump("collector.telegram.requests")
        try:
            async with self._session.get(
                url, params=params, headers=headers, timeout=self._timeout, allow_redirects=False
            ) as resp:
                body = await resp.read() if resp.status == 200 else b""
                return (
                    resp.status,
                    resp.headers.get("Location"),
                    resp.headers.get("Retry-After"),
                    body,
                )
        except TimeoutError as err:
            raise TelegramConnectionError(f"{channel}: timed out") from err
        except aiohttp.ClientError as err:
            raise TelegramConnectionError(f"{channel}: {type(err).__name__}: {err}") from err

    async def _get(self, channel: str, *, before: int | None, after: int | None) -> TgPage:
        url = f"{self.base_url}/s/{quote(channel, safe='')}"
        params = {}
        if before is not None:
            params["before"] = str(before)
        if after is not None:
            params["after"] = str(after)
        headers = {
            "User-Agent": self.user_agent,
            "Accept": "text/html,application/xhtml+xml",
            "Accept-Language": "ru-RU,ru;q=0.9,en;q=0.8",
        }
        status, location, retry_after, body = await self._request(channel, url, params, headers)
        hops = 0
        while status in (301, 302, 303, 307, 308):
            target = URL(url).join(URL(location or ""))
            if target.host == URL(url).host and target.path.startswith("/s/") and hops >= 3:
                # Still within the preview: a loop on Telegram's side, not a missing channel.
                raise TelegramConnectionError(f"{channel}: the preview redirects in a loop")
            if target.host != URL(url).host or not target.path.startswith("/s/"):
                raise TelegramUnavailable(
                    channel,
                    f"the preview redirects to {target.path or location} (no public preview: the "
                    "channel is private, missing, or has its web preview switched off)",
                )
            hops += 1  # a redirect within /s/ (the channel's canonical spelling): follow it
            url = str(target.with_query(None))
            params = dict(target.query) or params
            status, location, retry_after, body = await self._request(channel, url, params, headers)
        if status == 429:
            wait = _retry_after(retry_after)
            self.resting_until = self._monotonic() + wait
            self._bump("collector.telegram.rate_limited")
            raise TelegramRateLimited(wait)
        if status == 404:
            raise TelegramUnavailable(channel, "no such channel (HTTP 404)")
        if status != 200:
            raise TelegramConnectionError(f"{channel}: HTTP {status}")
        try:
            page = parse_channel_page(body)
        except ValueError as err:
            raise TelegramConnectionError(f"{channel}: unreadable page: {err}") from err
        if page.cut_off:
            raise TelegramConnectionError(f"{channel}: the page is cut off ({len(body)} bytes)")
        return page
