"""An asyncio client of the VK API: typed methods, retries, rate limits and quotas."""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections import Counter
from collections.abc import Callable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp

from collector.errors import (
    VkApiError,
    VkConnectionError,
    VkError,
    VkRateLimited,
    VkServerError,
    error_for_code,
)
from collector.json_text import loads_clean
from collector.quotas import QuotaTracker
from collector.rate_limit import Sleep, SlidingWindowLimiter
from collector.types import (
    ExecuteCall,
    ExecuteResult,
    FeedPage,
    VkCommentsPage,
    VkGroup,
    VkPost,
    VkWallPage,
    parse_comments_page,
    parse_feed_page,
    parse_group,
    parse_post,
    parse_wall_page,
)

__all__ = ["EXECUTE_MAX_CALLS", "Backoff", "VkClient", "build_execute_code"]

log = logging.getLogger(__name__)

#: VK allows at most 25 API calls inside one ``execute`` (social-apis.md A5).
EXECUTE_MAX_CALLS = 25
DEFAULT_GROUP_FIELDS = ("fixed_post", "members_count", "is_closed", "deactivated", "type")

Params = Mapping[str, str | int | None]


@dataclass(frozen=True, slots=True)
class Backoff:
    """Jittered exponential backoff: attempt ``n`` waits ``base * 2**n`` (capped), jittered.

    The jitter is "equal jitter": half the delay fixed, half random, so pollers that failed
    together do not retry together, yet each waits at least half the nominal delay.
    """

    attempts: int = 4
    base: float = 0.5
    cap: float = 30.0
    jitter: Callable[[], float] = random.random

    def delay(self, attempt: int) -> float:
        """Return the delay before retry number ``attempt`` (counted from 0)."""
        nominal = min(self.cap, self.base * (2.0**attempt))
        return nominal / 2 + self.jitter() * nominal / 2


def build_execute_code(calls: Sequence[ExecuteCall]) -> str:
    """Return the VKScript that makes ``calls`` and returns their results as one array.

    Args:
        calls: at most 25 calls.

    Returns:
        ``return [API.m1({...}),API.m2({...})];`` with parameters as JSON object literals.

    Raises:
        ValueError: more than 25 calls, or a method name that is not ``section.name``.
    """
    if len(calls) > EXECUTE_MAX_CALLS:
        raise ValueError(f"execute takes at most {EXECUTE_MAX_CALLS} calls, got {len(calls)}")
    parts = []
    for call in calls:
        section, _, name = call.method.partition(".")
        if not (section.isidentifier() and name.isidentifier()):
            raise ValueError(f"not an API method name: {call.method!r}")
        args = json.dumps(dict(call.params), ensure_ascii=False, separators=(",", ":"))
        parts.append(f"API.{section}.{name}({args})")
    return f"return [{','.join(parts)}];"


class VkClient:
    """A VK API client bound to one token.

    Every call is a form-encoded POST to ``<api_url>/<method>`` with a timeout, paced by the
    token's shared limiter and counted against its daily quotas. Failures raise only
    :class:`collector.errors.VkError` subclasses; retryable ones (network errors, timeouts, 5xx,
    malformed JSON, errors 1, 6 and 10) are retried with jittered exponential backoff first.
    The token is sent in the request body and never appears in logs or error messages.
    """

    def __init__(
        self,
        *,
        session: aiohttp.ClientSession,
        token: str,
        api_url: str,
        api_version: str = "5.199",
        request_timeout: float = 10,
        limiter: SlidingWindowLimiter | None = None,
        quotas: QuotaTracker | None = None,
        name: str = "vk",
        kind: str = "service",
        backoff: Backoff | None = None,
        sleep: Sleep = asyncio.sleep,
        lang: str = "ru",
        metrics: MutableMapping[str, int] | None = None,
    ) -> None:
        self._session = session
        self._token = token
        self._api_url = api_url.rstrip("/")
        self.api_version = api_version
        self._timeout = aiohttp.ClientTimeout(total=request_timeout)
        self.limiter = limiter
        self.quotas = quotas
        self.name = name
        self.kind = kind
        self._backoff = backoff or Backoff()
        self._sleep = sleep
        self._lang = lang
        #: Named counters (shared with the status page when passed in): requests, retries by
        #: cause and errors by code, e.g. ``collector.vk.retry.rate_limited``.
        self.metrics: MutableMapping[str, int] = metrics if metrics is not None else Counter()
        self.requests = 0
        self.retries = 0

    def __repr__(self) -> str:
        return f"VkClient(name={self.name!r}, kind={self.kind!r}, api_url={self._api_url!r})"

    # ------------------------------------------------------------------ transport

    def _redact(self, text: str) -> str:
        """Hide the token should a message ever echo it."""
        return text.replace(self._token, "***") if len(self._token) >= 8 else text

    def _bump(self, name: str) -> None:
        self.metrics[name] = self.metrics.get(name, 0) + 1

    def _check_quota(self, method: str) -> None:
        if self.quotas is None:
            return
        wait = self.quotas.available_in(self.name, method)
        if wait > 0:
            self._bump(f"collector.vk.quota_refused.{method}")
            raise VkRateLimited(
                29, "Rate limit reached (daily quota)", retry_after=wait, method=method
            )

    async def _post(self, method: str, params: Params) -> dict[str, Any]:
        """Make one HTTP request and return the decoded envelope, errors raised."""
        data = {k: str(v) for k, v in params.items() if v is not None}
        data["v"] = self.api_version
        data["lang"] = self._lang
        data["access_token"] = self._token
        if self.limiter is not None:
            await self.limiter.acquire()
        self.requests += 1
        self._bump("collector.vk.requests")
        try:
            async with self._session.post(
                f"{self._api_url}/{method}", data=data, timeout=self._timeout
            ) as resp:
                body = await resp.read()
                status = resp.status
        except TimeoutError as err:
            raise VkConnectionError(f"{method}: timed out", method=method) from err
        except aiohttp.ClientError as err:
            raise VkConnectionError(
                self._redact(f"{method}: {type(err).__name__}: {err}"),
                method=method,
            ) from err
        if status != 200:
            raise VkConnectionError(f"{method}: HTTP {status}", method=method)
        try:
            payload = loads_clean(body)
        except ValueError as err:
            raise VkConnectionError(
                f"{method}: malformed JSON ({len(body)} bytes)", method=method
            ) from err
        if not isinstance(payload, dict):
            raise VkConnectionError(f"{method}: unexpected JSON envelope", method=method)
        error = payload.get("error")
        if isinstance(error, dict):
            raise self._api_error(method, error)
        if "response" not in payload:
            raise VkConnectionError(f"{method}: no response in envelope", method=method)
        return payload

    def _api_error(self, method: str, error: Mapping[str, Any]) -> VkApiError:
        try:
            code = int(error.get("error_code") or 0)
        except (TypeError, ValueError):
            code = 0  # not VK's shape: an unknown error, raised as VkApiError
        message = self._redact(str(error.get("error_msg") or ""))
        retry_after = 3600.0
        if code == 29 and self.quotas is not None:
            retry_after = self.quotas.exhausted(self.name, method)
        if code == 6 and self.limiter is not None:
            self.limiter.pause(1.0)
        sid = error.get("captcha_sid")
        return error_for_code(
            code,
            message,
            method=method,
            captcha_sid=str(sid) if sid is not None else None,
            quota_retry_after=retry_after,
        )

    async def _request(
        self, method: str, params: Params, *, count: Mapping[str, int] | None = None
    ) -> dict[str, Any]:
        """Call a method with retries; ``count`` says which quota counters the call uses."""
        attempt = 0
        while True:
            for quota_method in count or {method: 1}:
                self._check_quota(quota_method)
            try:
                payload = await self._post(method, params)
            except VkError as err:
                if isinstance(err, VkApiError):
                    self._bump(f"collector.vk.error.{err.code}")
                else:
                    self._bump("collector.vk.error.connection")
                if not err.retryable or attempt + 1 >= self._backoff.attempts:
                    raise
                delay = self._backoff.delay(attempt)
                if isinstance(err, VkRateLimited):
                    delay = max(delay, err.retry_after)
                attempt += 1
                self.retries += 1
                self._bump(f"collector.vk.retry.{_retry_cause(err)}")
                log.info("VK %s failed (%s); retry %d in %.1f s", method, err, attempt, delay)
                await self._sleep(delay)
                continue
            finally:
                if self.quotas is not None:
                    for quota_method, calls in (count or {method: 1}).items():
                        self.quotas.count(self.name, quota_method, calls)
            return payload

    async def call(self, method: str, params: Params | None = None) -> Any:
        """Call any API method and return its ``response``.

        Args:
            method: the method name, e.g. ``"utils.resolveScreenName"``.
            params: the method's parameters; None values are left out.

        Returns:
            The decoded ``response`` member.

        Raises:
            VkError: any failure, after retries for the retryable ones.
        """
        return (await self._request(method, params or {}))["response"]

    # ------------------------------------------------------------------ typed methods

    async def wall_get(
        self,
        owner_id: int,
        *,
        offset: int = 0,
        count: int = 100,
        filter: str = "all",
    ) -> VkWallPage:
        """Read one page of a wall, newest first (the pinned post, if any, comes first).

        Args:
            owner_id: the wall owner (negative for a community).
            offset: how many posts to skip.
            count: page size, at most 100.
            filter: ``all``, ``owner`` or ``others``.

        Returns:
            The wall's total count and the page's posts.

        Raises:
            VkError: any failure; ``VkAccessDenied`` for closed, deleted or blocked walls.
        """
        params = {"owner_id": owner_id, "offset": offset, "count": min(count, 100)}
        params_f: dict[str, str | int | None] = {**params, "filter": filter}
        response = await self.call("wall.get", params_f)
        return parse_wall_page(_mapping(response, "wall.get"), owner_id=owner_id)

    async def wall_get_by_id(self, posts: Sequence[str]) -> tuple[VkPost, ...]:
        """Read posts by their ``"<owner_id>_<post_id>"`` ids; deleted posts are left out.

        Args:
            posts: up to 100 post ids.

        Returns:
            The posts VK still shows.

        Raises:
            VkError: any failure.
        """
        response = await self.call("wall.getById", {"posts": ",".join(posts)})
        items = response.get("items", ()) if isinstance(response, Mapping) else response
        if not isinstance(items, list):
            raise VkConnectionError("wall.getById: unexpected response", method="wall.getById")
        return tuple(parse_post(item) for item in items if isinstance(item, Mapping))

    async def wall_get_comments(
        self,
        owner_id: int,
        post_id: int,
        *,
        offset: int = 0,
        count: int = 100,
        sort: str = "asc",
        comment_id: int | None = None,
        start_comment_id: int | None = None,
        thread_items_count: int = 10,
        need_likes: bool = True,
    ) -> VkCommentsPage:
        """Read one page of a post's comments (or of one comment's thread), full text.

        Args:
            owner_id: the wall owner.
            post_id: the post.
            offset: how many comments of this level to skip.
            count: page size, at most 100.
            sort: ``asc`` (oldest first) or ``desc``.
            comment_id: read the replies of this comment instead of top-level comments.
            start_comment_id: start from this comment.
            thread_items_count: replies inlined per comment, at most 10.
            need_likes: include like counts.

        Returns:
            The page, with inline thread replies.

        Raises:
            VkError: any failure; ``VkAccessDenied`` (212) when comments are closed.
        """
        params: dict[str, str | int | None] = {
            "owner_id": owner_id,
            "post_id": post_id,
            "offset": offset,
            "count": min(count, 100),
            "sort": sort,
            "comment_id": comment_id,
            "start_comment_id": start_comment_id,
            "thread_items_count": min(thread_items_count, 10) if comment_id is None else None,
            "need_likes": int(need_likes),
            "preview_length": 0,
        }
        response = await self.call("wall.getComments", params)
        return parse_comments_page(
            _mapping(response, "wall.getComments"), owner_id=owner_id, post_id=post_id
        )

    async def groups_get_by_id(
        self, group_ids: Sequence[str | int], *, fields: Sequence[str] = DEFAULT_GROUP_FIELDS
    ) -> tuple[VkGroup, ...]:
        """Describe communities by id or screen name (both the 5.199 and the older shape).

        Args:
            group_ids: positive ids or screen names.
            fields: extra group fields to return.

        Returns:
            The groups, in VK's order.

        Raises:
            VkError: any failure (100 or 125 for an unknown group).
        """
        response = await self.call(
            "groups.getById",
            {"group_ids": ",".join(str(g) for g in group_ids), "fields": ",".join(fields)},
        )
        items = response.get("groups", ()) if isinstance(response, Mapping) else response
        if not isinstance(items, list):
            raise VkConnectionError("groups.getById: unexpected response", method="groups.getById")
        return tuple(parse_group(item) for item in items if isinstance(item, Mapping))

    async def newsfeed_get(
        self,
        *,
        source_ids: Sequence[int] = (),
        start_time: int | None = None,
        end_time: int | None = None,
        start_from: str | None = None,
        count: int = 100,
    ) -> FeedPage:
        """Read new posts of many sources at once (user token; the freshness path).

        Args:
            source_ids: wall owners (communities negative); empty means everything followed.
            start_time: Unix time of the oldest post wanted.
            end_time: Unix time of the newest post wanted.
            start_from: the previous page's ``next_from``.
            count: page size, at most 100.

        Returns:
            Posts newest first and the next page's cursor.

        Raises:
            VkError: any failure.
        """
        params: dict[str, str | int | None] = {
            "filters": "post",
            "source_ids": ",".join(str(s) for s in source_ids) or None,
            "start_time": start_time,
            "end_time": end_time,
            "start_from": start_from,
            "count": min(count, 100),
        }
        response = await self.call("newsfeed.get", params)
        return parse_feed_page(_mapping(response, "newsfeed.get"))

    async def newsfeed_get_comments(
        self,
        *,
        source_ids: Sequence[int] = (),
        start_time: int | None = None,
        start_from: str | None = None,
        last_comments_count: int = 10,
        count: int = 100,
    ) -> FeedPage:
        """Read which feed posts got new comments since ``start_time`` (user token).

        Args:
            source_ids: wall owners to limit the feed to.
            start_time: Unix time since which comments are wanted.
            start_from: the previous page's ``next_from``.
            last_comments_count: comments inlined per post, at most 10.
            count: page size, at most 100.

        Returns:
            The posts, with their last comments in ``comments``.

        Raises:
            VkError: any failure.
        """
        params: dict[str, str | int | None] = {
            "filters": "post",
            "source_ids": ",".join(str(s) for s in source_ids) or None,
            "start_time": start_time,
            "start_from": start_from,
            "last_comments_count": min(last_comments_count, 10),
            "count": min(count, 100),
        }
        response = await self.call("newsfeed.getComments", params)
        return parse_feed_page(_mapping(response, "newsfeed.getComments"))

    async def newsfeed_search(
        self,
        q: str,
        *,
        start_time: int | None = None,
        end_time: int | None = None,
        start_from: str | None = None,
        count: int = 200,
    ) -> FeedPage:
        """Search public posts by keywords (1 000 calls a day; only the first 1 000 hits).

        Args:
            q: the query, hashtags allowed.
            start_time: Unix time; VK's default is 24 hours ago.
            end_time: Unix time; VK's default is now.
            start_from: the previous page's ``next_from``.
            count: page size, at most 200.

        Returns:
            Posts newest first, ``total_count`` and the next page's cursor.

        Raises:
            VkError: any failure (29 when the day's searches are spent).
        """
        params: dict[str, str | int | None] = {
            "q": q,
            "start_time": start_time,
            "end_time": end_time,
            "start_from": start_from,
            "count": min(count, 200),
        }
        response = await self.call("newsfeed.search", params)
        return parse_feed_page(_mapping(response, "newsfeed.search"))

    async def wall_create_comment(
        self,
        owner_id: int,
        post_id: int,
        message: str,
        *,
        guid: str,
        from_group: int | None = None,
        reply_to_comment: int | None = None,
    ) -> int:
        """Post a comment; with the same ``guid`` VK never posts it twice, so retries are safe.

        Args:
            owner_id: the wall owner.
            post_id: the post to comment under.
            message: the text.
            guid: the idempotency key.
            from_group: post as this community (positive id).
            reply_to_comment: answer this comment inside its thread.

        Returns:
            The new (or already posted) comment's id.

        Raises:
            VkError: any failure; ``VkFloodControl`` (9), ``VkCaptchaNeeded`` (14).
        """
        response = await self.call(
            "wall.createComment",
            {
                "owner_id": owner_id,
                "post_id": post_id,
                "message": message,
                "guid": guid,
                "from_group": from_group,
                "reply_to_comment": reply_to_comment,
            },
        )
        data = _mapping(response, "wall.createComment")
        try:
            return int(data["comment_id"])
        except (KeyError, TypeError, ValueError) as err:
            raise VkConnectionError(
                "wall.createComment: no comment_id", method="wall.createComment"
            ) from err

    async def execute(self, calls: Sequence[ExecuteCall]) -> list[ExecuteResult]:
        """Make up to 25 calls in one request; a failed call fails alone and is retried alone.

        A failing inner call comes back as ``false`` with an entry in ``execute_errors``; the
        entries of inner calls are matched to the ``false`` results in call order, as VK appends
        them (its trailing entry for ``execute`` itself is skipped). An inner call that failed
        transiently (errors 1 and 10) is made again, with the other such calls of the batch, in
        a smaller ``execute`` after a jittered exponential backoff, up to the client's attempts;
        the calls that succeeded keep their results. Each inner call counts against its own
        method's daily quota.

        Args:
            calls: at most 25 calls.

        Returns:
            One result per call, in order, each with its payload or its ``VkError``.

        Raises:
            VkError: when the whole request fails (network, auth, script error) after retries.
        """
        results = await self._execute_once(calls)
        attempt = 0
        while True:
            again = [i for i, r in enumerate(results) if _transient(r.error)]
            if not again or attempt + 1 >= self._backoff.attempts:
                return results
            delay = self._backoff.delay(attempt)
            attempt += 1
            self.retries += 1
            self._bump("collector.vk.retry.execute_call")
            log.info(
                "VK execute: %d of %d calls failed (%s); retry %d in %.1f s",
                len(again),
                len(calls),
                results[again[0]].error,
                attempt,
                delay,
            )
            await self._sleep(delay)
            try:
                retried = await self._execute_once([calls[i] for i in again])
            except VkError as err:
                if not err.retryable:
                    raise
                continue  # the retry request itself failed: the calls keep their errors
            for i, result in zip(again, retried, strict=True):
                results[i] = result

    async def _execute_once(self, calls: Sequence[ExecuteCall]) -> list[ExecuteResult]:
        """Make one ``execute`` request (with the transport's retries) and map its results."""
        counts: dict[str, int] = {}
        for call in calls:
            counts[call.method] = counts.get(call.method, 0) + 1
        payload = await self._request(
            "execute", {"code": build_execute_code(calls)}, count={"execute": 1, **counts}
        )
        response = payload["response"]
        if not isinstance(response, list) or len(response) != len(calls):
            raise VkConnectionError("execute: unexpected response", method="execute")
        errors = iter(
            e
            for e in payload.get("execute_errors") or ()
            if isinstance(e, Mapping) and not str(e.get("method") or "").startswith("execute")
        )
        results: list[ExecuteResult] = []
        for call, value in zip(calls, response, strict=True):
            if value is False:
                # No entry to explain it: VK failed the call without saying why (transient).
                raw = next(errors, {"error_code": 1, "error_msg": "failed inside execute"})
                err = self._api_error(call.method, raw)
                self._bump(f"collector.vk.error.{err.code}")
                results.append(ExecuteResult(call=call, error=err))
            else:
                results.append(ExecuteResult(call=call, response=value))
        return results


def _transient(err: Exception | None) -> bool:
    """Return True for an inner call's failure worth making again: errors 1 and 10."""
    return isinstance(err, VkServerError)


def _retry_cause(err: VkError) -> str:
    if isinstance(err, VkRateLimited):
        return "rate_limited"
    if isinstance(err, VkApiError):
        return "server_error"
    return "connection"


def _mapping(response: object, method: str) -> Mapping[str, Any]:
    if not isinstance(response, Mapping):
        raise VkConnectionError(f"{method}: unexpected response", method=method)
    return response
