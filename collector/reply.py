"""Posting the official answer under the citizen's post or comment, then reading it back."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from collector.errors import VkError
from collector.types import VkCommentsPage

__all__ = ["CommentReader", "CommentWriter", "ReplyPublisher", "ReplyResult", "reply_guid"]

log = logging.getLogger(__name__)


@runtime_checkable
class CommentWriter(Protocol):
    """Something that can call ``wall.createComment`` (a community or admin user token)."""

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
        """Post a comment and return its id."""
        ...


@runtime_checkable
class CommentReader(Protocol):
    """Something that can call ``wall.getComments`` (a service or user token)."""

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
        """Read a page of comments."""
        ...


def reply_guid(*parts: object) -> str:
    """Return a stable idempotency key for an answer, e.g. from (incident id, answer id)."""
    digest = hashlib.sha256("|".join(str(p) for p in parts).encode()).hexdigest()
    return f"im-{digest[:32]}"


@dataclass(frozen=True, slots=True)
class ReplyResult:
    """The posted answer: its comment id, address, and whether reading back found it."""

    owner_id: int
    post_id: int
    comment_id: int
    verified: bool

    @property
    def url(self) -> str:
        """Return the answer's public address."""
        return f"https://vk.com/wall{self.owner_id}_{self.post_id}?reply={self.comment_id}"


class ReplyPublisher:
    """Post an answer with a ``guid`` (so a retry never posts twice) and verify delivery.

    ``writer`` holds the official community's token (``from_group`` makes the comment appear as
    the community); ``reader`` a token that can read comments (a community token cannot).
    """

    def __init__(self, *, writer: CommentWriter, reader: CommentReader) -> None:
        self.writer = writer
        self.reader = reader

    async def publish(
        self,
        *,
        owner_id: int,
        post_id: int,
        text: str,
        guid: str,
        from_group: int | None = None,
        reply_to_comment: int | None = None,
    ) -> ReplyResult:
        """Post the answer (a thread reply when ``reply_to_comment`` is given) and verify it.

        Args:
            owner_id: the citizen's wall owner.
            post_id: the post the answer goes under.
            text: the answer.
            guid: idempotency key; the same key returns the comment already posted.
            from_group: the official community's (positive) id.
            reply_to_comment: the citizen's comment to answer in its thread.

        Returns:
            The comment id and whether it was read back.

        Raises:
            VkError: posting failed (flood control 9, captcha 14, closed comments 212/213 ...);
                a failure of reading back only leaves ``verified`` False.
        """
        comment_id = await self.writer.wall_create_comment(
            owner_id,
            post_id,
            text,
            guid=guid,
            from_group=from_group,
            reply_to_comment=reply_to_comment,
        )
        try:
            verified = await self.verify(
                owner_id, post_id, comment_id, text=text, thread_of=reply_to_comment
            )
        except VkError as err:  # posted: the id must reach the caller; verify again later
            log.warning(
                "answer %s under wall%s_%s not read back: %s", comment_id, owner_id, post_id, err
            )
            verified = False
        if not verified:
            log.warning(
                "answer %s under wall%s_%s not found on reading back", comment_id, owner_id, post_id
            )
        return ReplyResult(owner_id, post_id, comment_id, verified)

    async def verify(
        self,
        owner_id: int,
        post_id: int,
        comment_id: int,
        *,
        text: str | None = None,
        thread_of: int | None = None,
    ) -> bool:
        """Return True when the comment is visible in its thread (with ``text``, if given)."""
        page = await self.reader.wall_get_comments(
            owner_id,
            post_id,
            count=10,
            comment_id=thread_of,
            start_comment_id=comment_id,
        )
        for comment in page.items:
            if comment.id == comment_id and not comment.deleted:
                return text is None or comment.text.strip() == text.strip()
        return False
