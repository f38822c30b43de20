"""Several tokens used in turn: each call goes to a token allowed, awake and under its quota."""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TypeVar

from collector.errors import VkAuthError, VkCaptchaNeeded, VkRateLimited
from collector.quotas import QuotaTracker
from collector.types import (
    ExecuteCall,
    ExecuteResult,
    FeedPage,
    VkCommentsPage,
    VkGroup,
    VkPost,
    VkWallPage,
)
from collector.vk_client import VkClient

__all__ = ["METHOD_TOKEN_KINDS", "NoTokenAvailable", "VkClientPool"]

log = logging.getLogger(__name__)
T = TypeVar("T")

_READ = frozenset({"user", "service"})
#: Which token kinds may call which method (VKCOM/vk-api-schema, social-apis.md A2).
METHOD_TOKEN_KINDS: Mapping[str, frozenset[str]] = {
    "wall.get": _READ,
    "wall.getById": _READ,
    "wall.getComments": _READ,
    "newsfeed.search": _READ,
    "newsfeed.get": frozenset({"user"}),
    "newsfeed.getComments": frozenset({"user"}),
    "wall.createComment": frozenset({"user", "community"}),
    "groups.getById": frozenset({"user", "service", "community"}),
    "utils.resolveScreenName": frozenset({"user", "service", "community"}),
    "execute": frozenset({"user", "service", "community"}),
}

#: How long a token rests after a captcha request (error 14), seconds.
CAPTCHA_REST = 15 * 60.0


class NoTokenAvailable(VkRateLimited):
    """Every token allowed for the method is resting or disabled; ``retry_after`` says how long."""


class VkClientPool:
    """Rotate calls over several :class:`VkClient` (one per token).

    A token that answers 5/27/28 is disabled for good (the operator must replace it); one that
    answers 29 rests for that method until the quota resets (the tracker knows), one that asks
    for a captcha rests ``CAPTCHA_REST``; the call is then retried on the next token. Other
    errors are returned to the caller as they are.
    """

    def __init__(
        self,
        clients: Sequence[VkClient],
        *,
        quotas: QuotaTracker | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if not clients:
            raise ValueError("at least one client is needed")
        self.clients = tuple(clients)
        self.quotas = quotas
        self.disabled: dict[str, str] = {}
        self._resting: dict[str, float] = {}
        self._monotonic = monotonic
        self._turn = itertools.count()

    def _now(self) -> float:
        return self._monotonic()

    def _wait_for(self, client: VkClient, methods: Sequence[str]) -> float:
        wait = max(0.0, self._resting.get(client.name, 0.0) - self._now())
        if client.quotas is not None:
            for method in methods:
                wait = max(wait, client.quotas.available_in(client.name, method))
        return wait

    def candidates(self, methods: Sequence[str]) -> list[VkClient]:
        """Return the clients allowed to call all ``methods``, starting with the next in turn."""
        allowed = [
            c
            for c in self.clients
            if c.name not in self.disabled
            and all(c.kind in METHOD_TOKEN_KINDS.get(m, _READ) for m in methods)
        ]
        if not allowed:
            return []
        start = next(self._turn) % len(allowed)
        return allowed[start:] + allowed[:start]

    async def run(self, methods: Sequence[str], fn: Callable[[VkClient], Awaitable[T]]) -> T:
        """Run ``fn`` with the first token allowed for ``methods`` that is awake.

        Raises:
            VkAuthError: no token of a suitable kind is left.
            NoTokenAvailable: every suitable token is resting; ``retry_after`` is the shortest rest.
            VkError: the call's own failure.
        """
        shortest: float | None = None
        tried = False
        for client in self.candidates(methods):
            wait = self._wait_for(client, methods)
            if wait > 0:
                shortest = wait if shortest is None else min(shortest, wait)
                continue
            tried = True
            try:
                return await fn(client)
            except VkAuthError as err:
                self.disabled[client.name] = str(err)
                log.error("VK token %s disabled: %s", client.name, err)
            except VkCaptchaNeeded as err:
                self._resting[client.name] = self._now() + CAPTCHA_REST
                log.error("VK token %s asked for a captcha; resting it: %s", client.name, err)
                shortest = CAPTCHA_REST if shortest is None else min(shortest, CAPTCHA_REST)
            except VkRateLimited as err:
                if not err.quota_exhausted:
                    raise
                log.warning("VK token %s: %s quota spent; rotating", client.name, err.method)
                shortest = err.retry_after if shortest is None else min(shortest, err.retry_after)
        if shortest is not None:
            raise NoTokenAvailable(
                29, "every token is resting", retry_after=shortest, method=",".join(methods)
            )
        what = "left" if tried or self.disabled else "configured"
        raise VkAuthError(
            5, f"no usable token {what} for {', '.join(methods)}", method=",".join(methods)
        )

    # The same typed methods as VkClient, each on the next suitable token.

    async def wall_get(self, owner_id: int, *, offset: int = 0, count: int = 100) -> VkWallPage:
        """Read one page of a wall (see :meth:`VkClient.wall_get`)."""
        return await self.run(
            ["wall.get"], lambda c: c.wall_get(owner_id, offset=offset, count=count)
        )

    async def wall_get_by_id(self, posts: Sequence[str]) -> tuple[VkPost, ...]:
        """Read posts by id (see :meth:`VkClient.wall_get_by_id`)."""
        return await self.run(["wall.getById"], lambda c: c.wall_get_by_id(posts))

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
        """Read a page of comments (see :meth:`VkClient.wall_get_comments`)."""
        return await self.run(
            ["wall.getComments"],
            lambda c: c.wall_get_comments(
                owner_id,
                post_id,
                offset=offset,
                count=count,
                sort=sort,
                comment_id=comment_id,
                start_comment_id=start_comment_id,
                thread_items_count=thread_items_count,
                need_likes=need_likes,
            ),
        )

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
        """Post a comment (see :meth:`VkClient.wall_create_comment`) with a user or community
        token; thanks to ``guid`` a retry on another token still posts it once."""
        return await self.run(
            ["wall.createComment"],
            lambda c: c.wall_create_comment(
                owner_id,
                post_id,
                message,
                guid=guid,
                from_group=from_group,
                reply_to_comment=reply_to_comment,
            ),
        )

    async def groups_get_by_id(self, group_ids: Sequence[str | int]) -> tuple[VkGroup, ...]:
        """Describe communities (see :meth:`VkClient.groups_get_by_id`)."""
        return await self.run(["groups.getById"], lambda c: c.groups_get_by_id(group_ids))

    async def newsfeed_get(
        self,
        *,
        source_ids: Sequence[int] = (),
        start_time: int | None = None,
        end_time: int | None = None,
        start_from: str | None = None,
        count: int = 100,
    ) -> FeedPage:
        """Read the news feed on a user token (see :meth:`VkClient.newsfeed_get`)."""
        return await self.run(
            ["newsfeed.get"],
            lambda c: c.newsfeed_get(
                source_ids=source_ids,
                start_time=start_time,
                end_time=end_time,
                start_from=start_from,
                count=count,
            ),
        )

    async def newsfeed_get_comments(
        self,
        *,
        source_ids: Sequence[int] = (),
        start_time: int | None = None,
        start_from: str | None = None,
        last_comments_count: int = 10,
        count: int = 100,
    ) -> FeedPage:
        """Read which feed posts got new comments, on a user token (see
        :meth:`VkClient.newsfeed_get_comments`)."""
        return await self.run(
            ["newsfeed.getComments"],
            lambda c: c.newsfeed_get_comments(
                source_ids=source_ids,
                start_time=start_time,
                start_from=start_from,
                last_comments_count=last_comments_count,
                count=count,
            ),
        )

    async def newsfeed_search(
        self,
        q: str,
        *,
        start_time: int | None = None,
        end_time: int | None = None,
        start_from: str | None = None,
        count: int = 200,
    ) -> FeedPage:
        """Search public posts on the next token under its ``newsfeed.search`` quota (see
        :meth:`VkClient.newsfeed_search`)."""
        return await self.run(
            ["newsfeed.search"],
            lambda c: c.newsfeed_search(
                q, start_time=start_time, end_time=end_time, start_from=start_from, count=count
            ),
        )

    def subset(self, kinds: Sequence[str]) -> VkClientPool:
        """Return a pool of this one's tokens of ``kinds``, sharing its quotas, rests and
        disabled tokens (so a token spent or disabled through one is so through both)."""
        sub = VkClientPool(
            [c for c in self.clients if c.kind in kinds],
            quotas=self.quotas,
            monotonic=self._monotonic,
        )
        sub.disabled = self.disabled
        sub._resting = self._resting
        return sub

    def kinds(self) -> dict[str, str]:
        """Return each usable (not disabled) token's kind by its name."""
        return {c.name: c.kind for c in self.clients if c.name not in self.disabled}

    async def execute(self, calls: Sequence[ExecuteCall]) -> list[ExecuteResult]:
        """Run a batch (see :meth:`VkClient.execute`) on a token allowed for all its methods."""
        methods = ["execute", *sorted({c.method for c in calls})]
        return await self.run(methods, lambda c: c.execute(calls))
