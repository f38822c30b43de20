"""A table of figures or rows, as KPI computations and lists hand it to the exporters.

The shape between the stages that make tables (``app.kpi``, the filtered queue) and those that
write them (CSV, XLSX, HTML): columns with a kind, so a writer knows a date from a count, and rows
that may be a generator, read once, so 100 000 rows never sit in memory together.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

__all__ = ["Column", "ColumnKind", "Table"]

#: How a cell is written: ``datetime`` cells are timezone-aware (UTC) and are shown in the
#: region's zone; ``percent`` cells are shares in 0..1; ``hours`` cells are durations in hours.
ColumnKind = Literal["text", "int", "float", "percent", "hours", "datetime", "date", "url"]


@dataclass(frozen=True, slots=True)
class Column:
    """One column: its stable key, its header as users read it, and its kind."""

    key: str
    title: str
    kind: ColumnKind = "text"


@dataclass(frozen=True, slots=True)
class Table:
    """Columns and rows (each row a sequence of cells in column order; ``None`` is empty).

    ``name`` is a file-name stem (ASCII, e.g. ``"queue"``, ``"kpi-executors"``); ``title`` is
    the table's heading for people.
    """

    name: str
    title: str
    columns: tuple[Column, ...]
    rows: Iterable[Sequence[object]]
