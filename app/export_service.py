"""The workspace's exports service: the filtered queue as a table, any table as CSV or XLSX."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import BinaryIO
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session, sessionmaker

from app.export_rows import CHUNK, queue_table
from app.exports import write_table
from app.tabular import Table
from web.contracts import QueueFilter, Viewer

__all__ = ["ExportService"]


class ExportService:
    """Implements ``web.contracts.Exports`` over the database and the region's zone."""

    def __init__(
        self,
        *,
        sessionmaker: sessionmaker[Session],
        clock: Callable[[], datetime],
        timezone: str,
        public_url: str | None = None,
        chunk: int = CHUNK,
    ) -> None:
        """Take the session factory, the clock, the region's zone and the site's address."""
        self._sessions = sessionmaker
        self._clock = clock
        self._zone = ZoneInfo(timezone)
        self._public_url = public_url
        self._chunk = chunk

    def incidents(self, viewer: Viewer, filters: QueueFilter) -> Table:
        """Return the viewer's filtered queue, every page of it, read lazily in chunks."""
        return queue_table(
            self._sessions,
            viewer,
            filters,
            now=self._clock(),
            public_url=self._public_url,
            chunk=self._chunk,
        )

    def write(self, table: Table, fmt: str, out: BinaryIO) -> int:
        """Write the table as CSV or XLSX, times in the region's zone; return the rows."""
        return write_table(table, fmt, out, self._zone)
