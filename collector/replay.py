"""File replay: import messages from a JSON Lines file (an archive, another system's export).

One JSON object per line::

    {"network": "vk", "external_id": "-1_10", "kind": "post", "parent": null,
     "author": "123", "time": "2026-11-30T09:15:00+03:00", "text": "...",
     "url": "https://vk.com/wall-1_10"}

``network`` is one of vk, ok, telegram, file; ``kind`` post or comment (a comment names its
post's external id in ``parent``); ``time`` is ISO 8601 with a zone offset. ``author``,
``parent`` and ``url`` may be null or absent; optional ``edited`` and ``deleted`` are booleans.
The keys of ``export messages`` (``author_id``, ``posted_at``) are accepted too, so an export
can be replayed. A bad line is reported with its number and skipped; the rest is imported.
Messages are keyed by network and external id, so importing a file twice stores nothing twice.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from collector.errors import VkAccessDenied, VkError
from collector.json_text import loads_clean
from collector.messages import NETWORKS, CollectedMessage, Harvest
from collector.quotas import WallClock, utcnow

__all__ = ["ReplayError", "ReplayPoller", "parse_line", "read_lines"]

log = logging.getLogger(__name__)

_KEYS = frozenset(
    {
        "network",
        "external_id",
        "kind",
        "parent",
        "author",
        "author_id",
        "time",
        "posted_at",
        "text",
        "url",
        "edited",
        "deleted",
    }
)
#: The longest external id, author id and address storage keeps.
MAX_ID, MAX_AUTHOR, MAX_URL = 128, 64, 1024
#: Keys ``export messages`` writes that carry nothing to import.
_EXPORT_ONLY = frozenset({"source", "edited_at", "versions"})


class ReplayError(VkAccessDenied):
    """The file cannot be read at all (missing, a directory, unreadable): the source is off."""

    def __init__(self, path: str, detail: str) -> None:
        VkError.__init__(self, f"replay file {path}: {detail}", method="file")
        self.code = 0
        self.error_msg = detail
        self.reason = "file_unreadable"


def _text_or_none(data: Mapping[str, Any], *keys: str) -> str | None:
    for key in keys:
        value = data.get(key)
        if value is not None:
            if not isinstance(value, str | int):
                raise ValueError(f"{key} must be a string")
            return str(value)
    return None


def parse_line(line: str) -> CollectedMessage:
    """Parse one line of a replay file.

    Raises:
        ValueError: the line is not a valid message (the message says what is wrong).
    """
    try:
        data = loads_clean(line)
    except ValueError as err:
        raise ValueError(f"not JSON ({err.args[0].split(':')[0]})") from None
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    unknown = set(data) - _KEYS - _EXPORT_ONLY
    if unknown:
        raise ValueError(f"unknown keys {sorted(unknown)}")
    network = data.get("network")
    if network not in NETWORKS:
        raise ValueError(f"network must be one of {sorted(NETWORKS)}, not {network!r}")
    external_id = _text_or_none(data, "external_id")
    if not external_id:
        raise ValueError("external_id is missing")
    kind = data.get("kind")
    if kind not in ("post", "comment"):
        raise ValueError(f"kind must be post or comment, not {kind!r}")
    parent = _text_or_none(data, "parent")
    if kind == "comment" and not parent:
        raise ValueError("a comment needs the external id of its post in parent")
    when = _text_or_none(data, "time", "posted_at")
    if not when:
        raise ValueError("time is missing")
    try:
        posted = dt.datetime.fromisoformat(when)
    except ValueError:
        raise ValueError(f"time {when!r} is not ISO 8601") from None
    if posted.tzinfo is None:
        raise ValueError(f"time {when!r} has no zone offset")
    try:
        posted = posted.astimezone(dt.UTC)
    except OverflowError:  # 0001-01-01 east of UTC, 9999-12-31 west of it
        raise ValueError(f"time {when!r} is out of range") from None
    text = data.get("text", "")
    if not isinstance(text, str):
        raise ValueError("text must be a string")
    for flag in ("edited", "deleted"):
        if not isinstance(data.get(flag, False), bool):
            raise ValueError(f"{flag} must be true or false")
    author = _text_or_none(data, "author", "author_id")
    url = _text_or_none(data, "url")
    for key, value, limit in (
        ("external_id", external_id, MAX_ID),
        ("parent", parent, MAX_ID),
        ("author", author, MAX_AUTHOR),
        ("url", url, MAX_URL),
    ):
        if value is not None and len(value) > limit:
            raise ValueError(f"{key} is longer than {limit} characters")
    return CollectedMessage(
        network=str(network),
        external_id=external_id,
        kind="post" if kind == "post" else "comment",
        text=text,
        posted_at=posted,
        parent=parent if kind == "comment" else None,
        author_id=author,
        url=url,
        edited=bool(data.get("edited", False)),
        deleted=bool(data.get("deleted", False)),
    )


@dataclass(frozen=True, slots=True)
class ReadResult:
    """The messages of a file from a byte offset, the bad lines, and where reading ended."""

    messages: tuple[CollectedMessage, ...]
    errors: tuple[tuple[int, str], ...]
    offset: int
    lines: int


def read_lines(path: Path, *, offset: int = 0, first_line: int = 1) -> ReadResult:
    """Read the lines of ``path`` from byte ``offset``, numbering them from ``first_line``.

    Raises:
        ReplayError: the file cannot be opened.
    """
    try:
        with path.open("rb") as handle:
            handle.seek(offset)
            data = handle.read()
    except OSError as err:
        raise ReplayError(str(path), err.strerror or type(err).__name__) from err
    messages: list[CollectedMessage] = []
    errors: list[tuple[int, str]] = []
    number = first_line - 1
    # A last line without its newline may still be being written: it is taken when it parses
    # (a file that just lacks the final newline), else left for the next poll, not skipped.
    end = data.rfind(b"\n") + 1
    complete, tail = data[:end], data[end:]
    for raw in complete.splitlines():
        number += 1
        line = raw.decode("utf-8", "replace").strip()
        if not line:
            continue
        try:
            messages.append(parse_line(line))
        except ValueError as err:
            errors.append((number, str(err)))
    if tail.strip():
        try:
            messages.append(parse_line(tail.decode("utf-8").strip()))
        except ValueError:  # also a UTF-8 character cut in two
            return ReadResult(tuple(messages), tuple(errors), offset + end, number)
        number += 1
    return ReadResult(tuple(messages), tuple(errors), offset + len(data), number)


class ReplayPoller:
    """Import a replay file: each poll reads what was appended since the last one.

    The cursor keeps the byte offset and line count read; a file that shrank (replaced) is
    read again from the start, which stores nothing twice.
    """

    def __init__(self, path: Path, *, clock: WallClock = utcnow) -> None:
        self.path = path
        self.clock = clock
        self.requests = 0

    async def poll(self, cursor: Mapping[str, Any] | None) -> Harvest:
        """Read the new lines and return them with the new cursor; bad lines become notes."""
        cursor = dict(cursor or {})
        offset = int(cursor.get("offset") or 0)
        lines = int(cursor.get("lines") or 0)
        try:
            size = self.path.stat().st_size
        except OSError as err:
            raise ReplayError(str(self.path), err.strerror or type(err).__name__) from err
        if size < offset:
            offset, lines = 0, 0
        self.requests = 1
        got = read_lines(self.path, offset=offset, first_line=lines + 1)
        notes = tuple(f"{self.path.name} line {n}: {why}; skipped" for n, why in got.errors)
        for note in notes:
            log.warning("replay %s", note)
        posts = sum(1 for m in got.messages if m.kind == "post")
        return Harvest(
            network="file",
            messages=got.messages,
            cursor={
                "v": 1,
                "offset": got.offset,
                "lines": got.lines,
                "bad_lines": int(cursor.get("bad_lines") or 0) + len(got.errors),
                "polled_at": self.clock().isoformat(),
            },
            new_posts=posts,
            requests=1,
            notes=notes,
        )
