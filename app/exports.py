"""Write an ``app.tabular.Table`` as CSV or XLSX, streaming its rows into a binary file.

Both writers read the table's rows once, one at a time, so a generator of 100 000 rows never
sits in memory: CSV goes out as it is made; XLSX rows go through openpyxl's write-only
workbook (which spools the sheet to a temporary file) and the zip is written to ``out`` when
the last row is in. ``out`` needs only ``write`` and ``flush`` (no ``seek``, no ``tell``): an
HTTP body works.

**The CSV dialect is Russian Excel's.** Excel opens a double-clicked ``.csv`` with the list
separator of the Windows regional settings, which in ru-RU is ``;`` (``,`` is the decimal
separator there), and reads the file as UTF-8 only when it starts with a byte-order mark. So:
UTF-8 with BOM, ``;`` between fields, CRLF line ends, RFC 4180 quoting (a field holding ``;``,
a quote or a line break is quoted, quotes doubled), decimal commas in numbers, and times as
``ГГГГ-ММ-ДД ЧЧ:ММ:СС`` in the region's zone (Excel recognises that form as a date in any
locale). A comma-separated file would open in Russian Excel as one column; a ``sep=,`` first
line fixes the columns but makes Excel ignore the BOM, garbling the Cyrillic. Texts are cut to
32 767 characters, the most an Excel cell holds, in both formats.

**Formula injection.** Citizens write the texts, and a cell beginning with ``=``, ``+``, ``-``,
``@`` (or a tab or carriage return) is a formula to Excel and LibreOffice. CSV text cells that
begin so get a leading apostrophe (the OWASP advice; Excel hides it and keeps the cell as text).
XLSX cells are written as strings, never formulas, and such cells also carry Excel's own
``quotePrefix`` mark, so the text is intact and stays text even when someone edits the cell.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import datetime as dt
import math
import re
from collections.abc import Callable, Iterator, Sequence
from typing import Any, BinaryIO, Literal
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ERROR_CODES, Cell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from app.tabular import Column, Table

__all__ = [
    "FORMATS",
    "MEDIA_TYPES",
    "ExportFormat",
    "defuse",
    "write_csv",
    "write_table",
    "write_xlsx",
]

ExportFormat = Literal["csv", "xlsx"]

#: The formats the writers make.
FORMATS: tuple[ExportFormat, ...] = ("csv", "xlsx")

#: The Content-Type of each format.
MEDIA_TYPES: dict[str, str] = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}

#: What starts a formula (or smuggles one in after a cell break) in Excel and LibreOffice.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

#: Control characters XML 1.0 cannot hold (openpyxl refuses them; Excel cuts the cell at NUL).
_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")

#: The longest text an Excel cell holds (longer texts are cut, in CSV too).
XLSX_CELL_MAX = 32_767

_DATETIME_FORMAT = "DD.MM.YYYY HH:MM"
_DATE_FORMAT = "DD.MM.YYYY"
_PERCENT_FORMAT = "0.0%"
_HOURS_FORMAT = "0.0"
_FLOAT_FORMAT = "0.00"

#: Column widths (in characters) by kind; text columns are wider.
_WIDTHS = {"text": 40, "url": 45, "datetime": 17, "date": 11, "int": 9}


def defuse(text: str) -> str:
    """Return CSV-safe text: a leading apostrophe when it would start a formula."""
    return "'" + text if text.startswith(_FORMULA_START) else text


def _clean(text: str) -> str:
    return _ILLEGAL.sub("", text)


def _local(moment: dt.datetime, zone: ZoneInfo) -> dt.datetime:
    if moment.tzinfo is None:
        raise ValueError(f"a naive datetime in an export: {moment!r} (times must be aware)")
    return moment.astimezone(zone).replace(tzinfo=None)


def _number(value: object) -> float | int | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"a number expected, got {type(value).__name__}")
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _decimal_comma(value: float | int, digits: int | None = None) -> str:
    text = str(value) if digits is None else f"{value:.{digits}f}"
    return text.replace(".", ",")


# --------------------------------------------------------------------------- CSV


def _csv_cell(column: Column, value: object, zone: ZoneInfo) -> str:
    if value is None:
        return ""
    kind = column.kind
    if kind == "datetime":
        if not isinstance(value, dt.datetime):
            raise TypeError(f"{column.key}: a datetime expected, got {type(value).__name__}")
        return _local(value, zone).isoformat(sep=" ", timespec="seconds")
    if kind == "date":
        if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
            raise TypeError(f"{column.key}: a date expected, got {type(value).__name__}")
        return value.isoformat()
    if kind in ("int", "float", "percent", "hours"):
        number = _number(value)
        if number is None:
            return ""
        if kind == "int":
            return str(int(number))
        if kind == "percent":
            # Russian Excel reads "12,5%" as the number 0.125 shown as a percent.
            return _decimal_comma(round(number * 100, 4)).removesuffix(",0") + "%"
        return _decimal_comma(number)
    return defuse(_clean(str(value))[:XLSX_CELL_MAX])


class _Encoder:
    """What ``csv.writer`` writes to: text gathered, sent on to ``out`` as UTF-8 in chunks."""

    def __init__(self, out: BinaryIO, chunk: int = 64 * 1024) -> None:
        self._out = out
        self._parts: list[str] = []
        self._size = 0
        self._chunk = chunk

    def write(self, text: str) -> int:
        self._parts.append(text)
        self._size += len(text)
        if self._size >= self._chunk:
            self.flush()
        return len(text)

    def flush(self) -> None:
        if self._parts:
            self._out.write("".join(self._parts).encode("utf-8"))
            self._parts.clear()
            self._size = 0


def write_csv(table: Table, out: BinaryIO, zone: ZoneInfo | str) -> int:
    """Write the table as CSV for Russian Excel (see the module's text); return the rows."""
    zone = ZoneInfo(zone) if isinstance(zone, str) else zone
    out.write(codecs.BOM_UTF8)
    sink = _Encoder(out)
    writer = csv.writer(sink, delimiter=";", lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow([defuse(_clean(c.title)) for c in table.columns])
    count = 0
    for row in _rows(table):
        cells = zip(table.columns, row, strict=True)
        writer.writerow([_csv_cell(c, v, zone) for c, v in cells])
        count += 1
    sink.flush()
    return count


# --------------------------------------------------------------------------- XLSX


def _string_cell(sheet: Any, text: str) -> Cell:
    """Return a cell that holds ``text`` as a string, whatever it looks like."""
    made = WriteOnlyCell(sheet, value=text)
    # openpyxl makes a formula of "=..." and an error of "#N/A"; a citizen's text is neither.
    made.data_type = "s"
    return made


def _xlsx_maker(column: Column, sheet: Any, zone: ZoneInfo) -> Callable[[object], object]:
    """Return the function that turns one value of this column into a write-only cell."""
    kind = column.kind

    def cell(value: float | dt.datetime, number_format: str) -> Cell:
        made = WriteOnlyCell(sheet, value=value)
        made.number_format = number_format
        return made

    def text(value: object) -> object:
        if value is None:
            return None
        cleaned = _clean(str(value))[:XLSX_CELL_MAX]
        if not cleaned.startswith(_FORMULA_START) and cleaned not in ERROR_CODES:
            return cleaned  # a plain value: openpyxl makes it a string cell (and reuses one)
        made = _string_cell(sheet, cleaned)
        if cleaned.startswith(_FORMULA_START):
            made.quotePrefix = True
        return made

    if kind == "datetime":

        def moment(value: object) -> object:
            if value is None:
                return None
            if not isinstance(value, dt.datetime):
                raise TypeError(f"{column.key}: a datetime expected, got {type(value).__name__}")
            return cell(_local(value, zone), _DATETIME_FORMAT)

        return moment
    if kind == "date":

        def day(value: object) -> object:
            if value is None:
                return None
            if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
                raise TypeError(f"{column.key}: a date expected, got {type(value).__name__}")
            return cell(dt.datetime.combine(value, dt.time()), _DATE_FORMAT)

        return day
    if kind in ("int", "float", "percent", "hours"):
        fmt = {"int": "0", "float": _FLOAT_FORMAT, "percent": _PERCENT_FORMAT}.get(
            kind, _HOURS_FORMAT
        )

        def number(value: object) -> object:
            if value is None:
                return None
            found = _number(value)
            return None if found is None else cell(found, fmt)

        return number
    return text


def write_xlsx(table: Table, out: BinaryIO, zone: ZoneInfo | str) -> int:
    """Write the table as one XLSX sheet (real dates, numbers, percents); return the rows."""
    zone = ZoneInfo(zone) if isinstance(zone, str) else zone
    book = Workbook(write_only=True)
    sheet = book.create_sheet(title=_sheet_title(table.title or table.name))
    for index, column in enumerate(table.columns, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = _WIDTHS.get(column.kind, 14)
    sheet.freeze_panes = "A2"
    bold = Font(bold=True)
    header = []
    for column in table.columns:
        head = _string_cell(sheet, _clean(column.title))
        head.font = bold
        header.append(head)
    sheet.append(header)
    makers = [_xlsx_maker(c, sheet, zone) for c in table.columns]
    count = 0
    try:
        for row in _rows(table):
            sheet.append([make(v) for make, v in zip(makers, row, strict=True)])
            count += 1
        book.save(out)  # zipfile needs only write() and flush(), seekable or not
    except BaseException:
        _discard_spool(sheet)
        raise
    return count


def _discard_spool(sheet: Any) -> None:
    """Remove the sheet's temporary file after a failed export (openpyxl leaves it till exit)."""
    spool = getattr(sheet, "_writer", None)
    if spool is None:
        return
    rows = getattr(sheet, "_rows", None)  # the generator writing <sheetData>: end it first
    with contextlib.suppress(Exception):
        if rows is not None:
            rows.close()
        spool.close()
    with contextlib.suppress(OSError, ValueError):
        spool.cleanup()


def _sheet_title(title: str) -> str:
    """Return a legal sheet name: at most 31 characters, none of []:*?/\\."""
    cleaned = re.sub(r"[\[\]:*?/\\]", " ", _clean(title)).strip().strip("'")
    return cleaned[:31] or "Sheet"


# --------------------------------------------------------------------------- both


def _rows(table: Table) -> Iterator[Sequence[object]]:
    width = len(table.columns)
    for row in table.rows:
        if len(row) != width:
            raise ValueError(f"{table.name}: a row of {len(row)} cells for {width} columns")
        yield row


_WRITERS: dict[str, Callable[[Table, BinaryIO, ZoneInfo | str], int]] = {
    "csv": write_csv,
    "xlsx": write_xlsx,
}


def write_table(table: Table, fmt: str, out: BinaryIO, zone: ZoneInfo | str) -> int:
    """Write the table in ``fmt`` (csv or xlsx); return the rows written."""
    writer = _WRITERS.get(fmt)
    if writer is None:
        raise ValueError(f"unknown export format {fmt!r} (csv or xlsx)")
    return writer(table, out, zone)
