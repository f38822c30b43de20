"""An asyncio client of the OK (Odnoklassniki) REST API: signed calls, retries, rests, limits."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import time
from collections import Counter
from collections.abc import Callable, Mapping, MutableMapping
from typing import Any

import aiohttp

from collector.json_text import loads_clean
from collector.ok_errors import (
    OkAuthError,
    OkConnectionError,
    OkRateLimited,
    OkServerError,
    ok_error_for_code,
)
from collector.ok_types import (
    MOSCOW,
    OkCommentsPage,
    OkGroup,
    OkTopicsPage,
    OkUrlInfo,
    parse_comments_page,
    parse_groups,
    parse_topics_page,
)
from collector.rate_limit import Sleep, SlidingWindowLimiter
from collector.vk_client import Backoff

__all__ = ["DEFAULT_GROUP_FIELDS", "OkClient", "ok_secret_key", "ok_signature"]

DEFAULT_GROUP_FIELDS = "uid,name,description,members_count,shortname,access_type"
Params = Mapping[str, str | int | None]


def _md5(text: str) -> str:
    return hashlib.md5(text.encode("utf-8"), usedforsecurity=False).hexdigest().lower()


def ok_secret_key(
    *,
    application_secret: str,
    access_token: str | None = None,
    session_secret_key: str | None = None,
) -> str:
    """Return the key a request is signed with (social-apis.md B2, step 1).

    Server-server (an access token): ``md5(access_token + application_secret)``; client-server:
    the session secret key; without a session: the application secret itself.
    """
    if session_secret_key:
        return session_secret_key
    if access_token:
        return _md5(access_token + application_secret)
    return application_secret


def ok_signature(params: Mapping[str, str], secret_key: str) -> str:
    """Return ``sig``: md5 of the sorted ``key=value`` pairs (raw values) and the secret key.

    ``access_token``, ``session_key`` and ``sig`` itself are left out; every other parameter
    (``method``, ``application_key`` and ``format`` included) is signed.
    """
    signed = "".join(
        f"{key}={params[key]}"
        for key in sorted(params)
        if key not in ("access_token", "session_key", "sig")
    )
    return _md5(signed + secret_key)


class OkClient:
    """An OK client bound to one application and one access token (server-server signing).

    Every call is a signed GET of ``<api_url>?method=...`` (``api_url`` is the ``fb.do``
    address), paced by ``limiter`` (OK publishes no numeric limit: about 1 request a second).
    Failures raise only :class:`collector.ok_errors` classes, which are the collector's VK
    classes: retryable ones (network errors, timeouts, HTTP 5xx, malformed JSON, codes 1, 2,
    30, 31, 704, 5000, 9999) are retried with backoff first; throttling codes rest the token
    (later calls fail at once until the rest is over); token errors disable it until restart.
    Neither the token nor the secret appear in logs or error messages.
    """

    def __init__(
        self,
        *,
        session: aiohttp.ClientSession,
        application_key: str,
        application_secret: str,
        access_token: str,
        api_url: str = "https://api.ok.ru/fb.do",
        request_timeout: float = 10,
        limiter: SlidingWindowLimiter | None = None,
        backoff: Backoff | None = None,
        sleep: Sleep = asyncio.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        date_zone: dt.tzinfo = MOSCOW,
        metrics: MutableMapping[str, int] | None = None,
    ) -> None:
        self._session = session
        self._app_key = application_key
        self._token = access_token
        self._secret = ok_secret_key(
            application_secret=application_secret, access_token=access_token
        )
        self._app_secret = application_secret
        self._api_url = api_url
        self._timeout = aiohttp.ClientTimeout(total=request_timeout)
        self.limiter = limiter
        self._backoff = backoff or Backoff()
        self._sleep = sleep
        self._monotonic = monotonic
        self.date_zone = date_zone
        self.metrics: MutableMapping[str, int] = metrics if metrics is not None else Counter()
        self.requests = 0
        self.retries = 0
        #: Monotonic time until which the token rests (after 7, 8, 9, 11, 26).
        self.resting_until = 0.0
        #: Why the token is disabled (after an auth error), or None.
        self.disabled: OkAuthError | None = None

    def __repr__(self) -> str:
        return f"OkClient(api_url={self._api_url!r})"

    def _bump(self, name: str) -> None:
        self.metrics[name] = self.metrics.get(name, 0) + 1

    def _redact(self, text: str) -> str:
        for secret in (self._token, self._app_secret, self._secret):
            if len(secret) >= 8:
                text = text.replace(secret, "***")
        return text

    def signed(self, method: str, params: Params) -> dict[str, str]:
        """Return the full query of a call: common parameters, ``sig`` and the token."""
        query = {k: str(v) for k, v in params.items() if v is not None}
        query.update(method=method, application_key=self._app_key, format="json")
        query["sig"] = ok_signature(query, self._secret)
        query["access_token"] = self._token
        return query

    async def _once(self, method: str, params: Params) -> Any:
        if self.limiter is not None:
            await self.limiter.acquire()
        self.requests += 1
        self._bump("collector.ok.requests")
        try:
            async with self._session.get(
                self._api_url, params=self.signed(method, params), timeout=self._timeout
            ) as resp:
                body = await resp.read()
                status = resp.status
        except TimeoutError as err:
            raise OkConnectionError(f"{method}: timed out", method=method) from err
        except aiohttp.ClientError as err:
            text = self._redact(f"{method}: {type(err).__name__}")
            raise OkConnectionError(text, method=method) from err
        try:
            payload = loads_clean(body)
        except ValueError as err:
            if status != 200:
                raise OkConnectionError(f"{method}: HTTP {status}", method=method) from err
            raise OkConnectionError(
                f"{method}: malformed JSON ({len(body)} bytes)", method=method
            ) from err
        if isinstance(payload, Mapping) and payload.get("error_code") is not None:
            try:
                code = int(payload["error_code"])
            except (TypeError, ValueError):
                code = 1
            message = self._redact(str(payload.get("error_msg") or ""))
            self._bump(f"collector.ok.error.{code}")
            raise ok_error_for_code(code, message, method=method)
        if status != 200:
            raise OkConnectionError(f"{method}: HTTP {status}", method=method)
        return payload

    async def call(self, method: str, params: Params | None = None) -> Any:
        """Call a method and return its decoded payload (OK has no ``response`` wrapper).

        Args:
            method: e.g. ``"mediatopic.getTopics"``.
            params: the method's parameters (None values are left out).

        Returns:
            The JSON payload.

        Raises:
            OkAuthError: the token is disabled (now or by an earlier call).
            OkRateLimited: the token rests; ``retry_after`` says for how long.
            OkAccessDenied: the object cannot be read.
            OkServerError, OkConnectionError: still failing after the retries.
            OkApiError: any other error code.
        """
        if self.disabled is not None:
            raise OkAuthError(self.disabled.code, self.disabled.error_msg, method=method)
        rest = self.resting_until - self._monotonic()
        if rest > 0:
            raise OkRateLimited(
                8, "token resting after throttling", retry_after=rest, method=method
            )
        attempt = 0
        while True:
            try:
                return await self._once(method, params or {})
            except OkAuthError as err:
                self.disabled = err
                raise
            except OkRateLimited as err:
                self.resting_until = self._monotonic() + err.retry_after
                raise
            except (OkConnectionError, OkServerError) as err:
                if attempt + 1 >= self._backoff.attempts:
                    raise
                cause = "connection" if isinstance(err, OkConnectionError) else "server"
                self._bump(f"collector.ok.retry.{cause}")
            self.retries += 1
            await self._sleep(self._backoff.delay(attempt))
            attempt += 1

    # ------------------------------------------------------------------ methods

    async def url_get_info(self, url: str) -> OkUrlInfo:
        """Resolve an ``https://ok.ru/group/<id or name>`` link to the object's id and type."""
        raw = await self.call("url.getInfo", {"url": url})
        if not isinstance(raw, Mapping) or raw.get("objectId") is None:
            raise OkConnectionError("url.getInfo: no objectId in the answer", method="url.getInfo")
        return OkUrlInfo(str(raw["objectId"]), str(raw.get("type") or ""))

    async def group_get_info(
        self, uids: str, *, fields: str = DEFAULT_GROUP_FIELDS
    ) -> tuple[OkGroup, ...]:
        """Describe groups by id (comma list); both answer shapes are accepted."""
        raw = await self.call("group.getInfo", {"uids": uids, "fields": fields})
        try:
            return parse_groups(raw)
        except ValueError as err:
            raise OkConnectionError(str(err), method="group.getInfo") from err

    async def get_topics(
        self, group_id: str, *, anchor: str | None = None, count: int = 50
    ) -> OkTopicsPage:
        """Read a page of the group's feed, newest first (``anchor`` from the previous page)."""
        # The anchor alone pages on in the first request's (default) direction.
        params: dict[str, str | int | None] = {"gid": group_id, "count": count, "anchor": anchor}
        raw = await self.call("mediatopic.getTopics", params)
        try:
            return parse_topics_page(raw, group_id=group_id, zone=self.date_zone)
        except (ValueError, KeyError, TypeError) as err:
            raise OkConnectionError(
                f"mediatopic.getTopics: {err}", method="mediatopic.getTopics"
            ) from err

    async def get_comments(
        self, group_id: str, topic_id: str, *, anchor: str | None = None, count: int = 100
    ) -> OkCommentsPage:
        """Read a page of a post's comments, oldest first (``anchor`` from the previous page)."""
        params: dict[str, str | int | None] = {
            "discussionId": topic_id,
            "discussionType": "GROUP_TOPIC",
            "count": count,
            "anchor": anchor,
        }
        raw = await self.call("discussions.getComments", params)
        try:
            return parse_comments_page(
                raw, group_id=group_id, topic_id=topic_id, zone=self.date_zone
            )
        except (ValueError, KeyError, TypeError) as err:
            raise OkConnectionError(
                f"discussions.getComments: {err}", method="discussions.getComments"
            ) from err
