"""File exports: the filtered queue as CSV or XLSX, and a helper that streams any table.

``stream_table`` is the one way a table leaves as a file: the workspace's exports service
writes it in a worker thread of its own (the rows are read from the database there, off the
event loop) into a pipe of bounded chunks, and the handler sends each chunk as it comes (a
chunked response), so neither a slow client nor 100 000 rows fill the memory. Everything that
can be refused (the session, the format, the filters) is checked before the response starts;
a failure after that cuts the response short (the client sees an incomplete body, never a
file that looks whole) and is logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import threading
from datetime import datetime
from typing import TYPE_CHECKING
from urllib.parse import quote
from zoneinfo import ZoneInfo

from aiohttp import web

from web.contracts import Exports, QueueSort, Viewer
from web.errors import BadRequest, NotFound
from web.forms import parse_filter
from web.keys import SITE_INFO, WORKSPACE
from web.middleware import CONTENT_SECURITY_POLICY
from web.workspace_views import require_viewer

if TYPE_CHECKING:
    from app.tabular import Table

__all__ = [
    "EXPORT_FORMATS",
    "content_disposition",
    "export_incidents",
    "filename_for",
    "parse_format",
    "stream_table",
]

log = logging.getLogger(__name__)

#: The formats offered, with their Content-Type.
EXPORT_FORMATS: dict[str, str] = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}

#: Bytes handed to the event loop at a time, and how many such chunks may wait in the pipe.
CHUNK_BYTES = 64 * 1024
PIPE_CHUNKS = 8


class _Cancelled(Exception):
    """The client went away: the writer thread stops at its next write."""


class _Pipe:
    """A write-only file for the writer thread whose chunks the event loop sends on.

    At most ``PIPE_CHUNKS`` chunks wait at once: the writer blocks until the loop has sent
    one (backpressure from a slow client). ``cancel`` makes the writer's next write raise.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._queue: asyncio.Queue[bytes | BaseException | None] = asyncio.Queue()
        self._slots = threading.BoundedSemaphore(PIPE_CHUNKS)
        self._cancelled = threading.Event()
        self._buffer = bytearray()

    # the writer thread's side

    def write(self, data: bytes | bytearray | memoryview) -> int:
        """Take bytes; hand a chunk over whenever enough have gathered."""
        if self._cancelled.is_set():
            raise _Cancelled
        self._buffer += data
        if len(self._buffer) >= CHUNK_BYTES:
            self._hand_over(bytes(self._buffer))
            self._buffer.clear()
        return len(data)

    def flush(self) -> None:
        """Nothing to do: chunks go when full, and the rest at the end."""

    def finish(self, error: BaseException | None) -> None:
        """Hand over what is left, then the end (or the error that stopped the writer)."""
        if error is None and self._buffer:
            with contextlib.suppress(_Cancelled):
                self._hand_over(bytes(self._buffer))
        self._buffer.clear()
        self._loop.call_soon_threadsafe(self._queue.put_nowait, error)

    def _hand_over(self, chunk: bytes) -> None:
        while not self._slots.acquire(timeout=0.5):
            if self._cancelled.is_set():
                raise _Cancelled
        if self._cancelled.is_set():
            raise _Cancelled
        self._loop.call_soon_threadsafe(self._queue.put_nowait, chunk)

    # the event loop's side

    async def next(self) -> bytes | BaseException | None:
        """Return the next chunk, the writer's error, or None at the end."""
        return await self._queue.get()

    def sent(self) -> None:
        """Free the slot of a chunk that went out."""
        self._slots.release()

    def cancel(self) -> None:
        """Make the writer stop at its next write."""
        self._cancelled.set()


def filename_for(table: Table, fmt: str, moment: datetime, zone: ZoneInfo) -> str:
    """Return the download's name: the table's name and the local time of the export."""
    stamp = moment.astimezone(zone).strftime("%Y-%m-%d_%H%M")
    return f"{table.name}-{stamp}.{fmt}"


def content_disposition(filename: str) -> str:
    """Return an attachment header with an ASCII fallback and the RFC 5987 UTF-8 name."""
    fallback = re.sub(r"[^A-Za-z0-9._-]+", "_", filename).lstrip(".")
    stem, dot, extension = fallback.rpartition(".")
    if not (stem if dot else fallback).strip("_"):  # nothing ASCII worth keeping in the name
        fallback = "export" + (dot + extension if dot else "")
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def parse_format(value: str | None) -> str:
    """Return a known format; BadRequest naming ``format`` otherwise."""
    fmt = (value or "").strip().lower()
    if fmt not in EXPORT_FORMATS:
        raise BadRequest("format: csv или xlsx", field="format")
    return fmt


def _exports(request: web.Request) -> Exports:
    workspace = request.app[WORKSPACE]
    if workspace is None or workspace.exports is None:
        raise NotFound("выгрузка не настроена")
    return workspace.exports


async def stream_table(
    request: web.Request, table: Table, fmt: str, *, filename: str | None = None
) -> web.StreamResponse:
    """Send ``table`` as a CSV or XLSX download, written in a worker thread and streamed.

    The rows (a generator, possibly reading the database) are consumed in that thread. For
    the KPI tables: ``return await stream_table(request, table, parse_format(...))``.
    """
    exports = _exports(request)
    fmt = parse_format(fmt)
    workspace = request.app[WORKSPACE]
    zone = ZoneInfo(request.app[SITE_INFO].timezone)
    moment = workspace.clock() if workspace is not None else datetime.now(zone)
    name = filename or filename_for(table, fmt, moment, zone)
    response = web.StreamResponse(
        headers={
            "Content-Type": EXPORT_FORMATS[fmt],
            "Content-Disposition": content_disposition(name),
            # The security middleware adds these after the handler, too late for a stream.
            "Content-Security-Policy": CONTENT_SECURITY_POLICY,
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "same-origin",
            "X-Frame-Options": "DENY",
            "Cache-Control": "no-store",
        }
    )
    response.enable_chunked_encoding()
    await response.prepare(request)
    pipe = _Pipe(asyncio.get_running_loop())

    def work() -> None:
        error: BaseException | None = None
        try:
            exports.write(table, fmt, pipe)  # type: ignore[arg-type]  # write() is all it needs
        except _Cancelled:
            pass
        except BaseException as err:  # handed to the loop, which logs it and cuts the body
            error = err
        with contextlib.suppress(RuntimeError):  # the loop closed (shutdown): nobody to tell
            pipe.finish(error)

    writer = threading.Thread(target=work, name=f"export-{table.name}", daemon=True)
    writer.start()
    try:
        while True:
            item = await pipe.next()
            if item is None:
                break
            if isinstance(item, BaseException):
                log.error(
                    "export %s.%s failed after the response started; the body is cut short",
                    table.name,
                    fmt,
                    exc_info=item,
                )
                if request.transport is not None:
                    request.transport.close()
                return response
            await response.write(item)
            pipe.sent()
        await response.write_eof()
    except ConnectionError:
        log.info("export %s.%s: the client went away", table.name, fmt)
    finally:
        pipe.cancel()
    return response


async def export_incidents(request: web.Request, viewer: Viewer, fmt: str) -> web.StreamResponse:
    """Stream the viewer's queue, with the filters of the query string, as a file."""
    exports = _exports(request)
    fmt = parse_format(fmt)
    info = request.app[SITE_INFO]
    default_sort = QueueSort.DEADLINE if viewer.is_executor else QueueSort.PRIORITY
    filters = parse_filter(request.query, timezone=info.timezone, default_sort=default_sort)
    table = await asyncio.to_thread(exports.incidents, viewer, filters)
    return await stream_table(request, table, fmt)


async def queue_export(request: web.Request) -> web.StreamResponse:
    """The queue page's export buttons: ``/queue/export.csv`` and ``/queue/export.xlsx``."""
    viewer = require_viewer(request)
    return await export_incidents(request, viewer, request.match_info["fmt"])


def add_routes(app: web.Application) -> None:
    """Register the queue page's export routes (the API's is in web/api/views.py)."""
    app.router.add_get(r"/queue/export.{fmt:[a-z]+}", queue_export, name="queue_export")
