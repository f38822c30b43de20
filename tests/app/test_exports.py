"""The CSV and XLSX writers: Cyrillic round trips, real cell types, formula injection, streaming."""

from __future__ import annotations

import csv
import datetime as dt
import io
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
import pytest

from app.exports import XLSX_CELL_MAX, defuse, write_csv, write_table, write_xlsx
from app.tabular import Column, Table

KIROV = ZoneInfo("Europe/Kirov")
HTML = "<script>alert(1)</script><b>жирный</b> &amp;"
LONG = "Очень длинная жалоба на ямы. " * 5000  # ~145 000 characters

COLUMNS = (
    Column("id", "ID", "int"),
    Column("text", "Текст обращения"),
    Column("received", "Получено", "datetime"),
    Column("day", "День", "date"),
    Column("share", "Доля в срок", "percent"),
    Column("hours", "Часов до ответа", "hours"),
    Column("ratio", "Коэффициент", "float"),
    Column("link", "Ссылка", "url"),
)

#: 2026-01-15 09:30 UTC is 12:30 in Kirov (UTC+3).
MOMENT = dt.datetime(2026, 1, 15, 9, 30, tzinfo=dt.UTC)

ROWS: list[tuple[object, ...]] = [
    (
        1,
        'Яма на улице Ленина в Слободском 😡; «глубокая», "очень"\nвторая строка',
        MOMENT,
        dt.date(2026, 1, 15),
        0.125,
        3.5,
        1.25,
        "https://vk.com/wall-1_2",
    ),
    (2, HTML, None, None, None, None, None, None),
    (3, "", MOMENT, None, 1.0, 0.0, None, ""),
    (4, '=HYPERLINK("http://evil","жми")', None, None, None, None, None, None),
    (5, "+79991234567 звоните", None, None, None, None, None, None),
    (6, "-1+1", None, None, None, None, None, None),
    (7, "@SUM(A1:A2)", None, None, None, None, None, None),
    (8, "\t=1+1", None, None, None, None, None, None),
    (9, "#N/A", None, None, None, None, None, None),
    (10, "нулевой\x00символ\x07 и управляющие", None, None, None, None, None, None),
    (11, LONG, None, None, None, None, None, None),
]


def table(rows: Sequence[Sequence[object]] = ROWS, columns: tuple[Column, ...] = COLUMNS) -> Table:
    return Table("incidents", "Инциденты", columns, iter(rows))


def read_csv(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf"), "no UTF-8 byte-order mark: Excel would garble"
    return list(csv.reader(io.StringIO(data[3:].decode("utf-8"), newline=""), delimiter=";"))


# --------------------------------------------------------------------------- CSV


def test_csv_round_trip_keeps_cyrillic_emoji_html_and_line_breaks() -> None:
    out = io.BytesIO()
    assert write_csv(table(), out, KIROV) == len(ROWS)
    rows = read_csv(out.getvalue())
    assert rows[0] == [c.title for c in COLUMNS]
    assert rows[1] == [
        "1",
        'Яма на улице Ленина в Слободском 😡; «глубокая», "очень"\nвторая строка',
        "2026-01-15 12:30:00",  # the region's wall time
        "2026-01-15",
        "12,5%",
        "3,5",
        "1,25",
        "https://vk.com/wall-1_2",
    ]
    assert rows[2] == ["2", HTML, "", "", "", "", "", ""]
    assert rows[3] == ["3", "", "2026-01-15 12:30:00", "", "100%", "0,0", "", ""]
    assert rows[11][1] == LONG[:XLSX_CELL_MAX]  # what an Excel cell holds
    assert len(rows) == len(ROWS) + 1


def test_csv_lines_end_with_crlf_and_fields_are_quoted_only_when_needed() -> None:
    out = io.BytesIO()
    write_csv(table(ROWS[:1]), out, KIROV)
    text = out.getvalue()[3:].decode("utf-8")
    assert text.startswith("ID;Текст обращения;Получено;")
    assert text.endswith("\r\n")
    assert '"Яма на улице Ленина в Слободском 😡; «глубокая», ""очень""\nвторая строка"' in text


@pytest.mark.parametrize(
    ("text", "written"),
    [
        ('=HYPERLINK("http://evil","жми")', '\'=HYPERLINK("http://evil","жми")'),
        ("+79991234567 звоните", "'+79991234567 звоните"),
        ("-1+1", "'-1+1"),
        ("@SUM(A1:A2)", "'@SUM(A1:A2)"),
        ("\t=1+1", "'\t=1+1"),
        ("\r=1+1", "'\r=1+1"),
        ("Яма = беда", "Яма = беда"),
        ("", ""),
    ],
)
def test_csv_text_that_would_be_a_formula_gets_an_apostrophe(text: str, written: str) -> None:
    assert defuse(text) == written
    out = io.BytesIO()
    write_csv(table([(1, text, None, None, None, None, None, None)]), out, KIROV)
    assert read_csv(out.getvalue())[1][1] == written


def test_csv_headers_are_defused_and_control_characters_dropped() -> None:
    columns = (Column("a", "=опасный заголовок"), Column("b", "Текст"))
    out = io.BytesIO()
    write_csv(table([("нулевой\x00символ", "ок")], columns), out, KIROV)
    rows = read_csv(out.getvalue())
    assert rows == [["'=опасный заголовок", "Текст"], ["нулевойсимвол", "ок"]]


def test_csv_of_an_empty_table_is_the_header_alone() -> None:
    out = io.BytesIO()
    assert write_csv(table([]), out, "Europe/Kirov") == 0
    assert read_csv(out.getvalue()) == [[c.title for c in COLUMNS]]


class Recorder:
    """A write-only sink that notes how many rows the generator had given at each write."""

    def __init__(self) -> None:
        self.produced = 0
        self.seen_at_writes: list[int] = []
        self.size = 0

    def write(self, data: bytes) -> int:
        self.seen_at_writes.append(self.produced)
        self.size += len(data)
        return len(data)

    def rows(self, count: int) -> Iterator[tuple[object, ...]]:
        for i in range(count):
            self.produced += 1
            yield (
                i,
                f"Жалоба номер {i} на отсутствие воды в доме",
                MOMENT,
                None,
                0.5,
                2.0,
                1.0,
                "",
            )


def test_csv_streams_rows_as_they_come() -> None:
    sink = Recorder()
    count = 20_000
    assert write_csv(table(sink.rows(count)), sink, KIROV) == count  # type: ignore[arg-type]
    assert sink.seen_at_writes[0] < count // 10, "the first bytes waited for all rows"
    assert len(sink.seen_at_writes) > 10


# --------------------------------------------------------------------------- XLSX


def load(data: bytes) -> openpyxl.worksheet.worksheet.Worksheet:
    book = openpyxl.load_workbook(io.BytesIO(data))
    sheet = book.active
    assert sheet is not None
    return sheet  # type: ignore[return-value]


def test_xlsx_cells_are_real_dates_numbers_and_percents_in_the_region_zone() -> None:
    out = io.BytesIO()
    assert write_xlsx(table(), out, KIROV) == len(ROWS)
    sheet = load(out.getvalue())
    assert sheet.title == "Инциденты"
    assert sheet.freeze_panes == "A2"
    header = [c.value for c in sheet[1]]
    assert header == [c.title for c in COLUMNS]
    assert all(c.font.b for c in sheet[1])
    first = sheet[2]
    assert first[0].value == 1
    assert first[0].data_type == "n"
    assert first[1].value == ROWS[0][1]
    assert first[2].is_date
    assert first[2].value == dt.datetime(2026, 1, 15, 12, 30)
    assert first[2].number_format == "DD.MM.YYYY HH:MM"
    assert first[3].is_date
    assert first[3].value == dt.datetime(2026, 1, 15)
    assert first[3].number_format == "DD.MM.YYYY"
    assert first[4].value == 0.125
    assert first[4].data_type == "n"
    assert first[4].number_format.endswith("%")
    assert first[5].value == 3.5
    assert first[5].data_type == "n"
    assert first[6].value == 1.25
    assert first[7].value == "https://vk.com/wall-1_2"
    assert [c.value for c in sheet[3]] == [2, HTML, None, None, None, None, None, None]
    assert sheet[4][1].value is None  # an empty text is an empty cell
    assert sheet[4][4].value == 1.0
    assert sheet[4][5].value == 0.0


@pytest.mark.parametrize(
    ("row", "text"),
    [
        (5, '=HYPERLINK("http://evil","жми")'),
        (6, "+79991234567 звоните"),
        (7, "-1+1"),
        (8, "@SUM(A1:A2)"),
        (9, "\t=1+1"),
    ],
)
def test_xlsx_formula_text_stays_text_with_quote_prefix(row: int, text: str) -> None:
    out = io.BytesIO()
    write_xlsx(table(), out, KIROV)
    cell = load(out.getvalue())[row][1]
    assert cell.value == text
    assert cell.data_type == "s"
    assert cell.quotePrefix is True


def test_xlsx_error_lookalikes_control_characters_and_long_texts() -> None:
    out = io.BytesIO()
    write_xlsx(table(), out, KIROV)
    sheet = load(out.getvalue())
    assert sheet[10][1].value == "#N/A"
    assert sheet[10][1].data_type == "s"
    assert sheet[11][1].value == "нулевойсимвол и управляющие"
    assert sheet[12][1].value == LONG[:XLSX_CELL_MAX]


def test_xlsx_of_an_empty_table_has_the_header_alone() -> None:
    out = io.BytesIO()
    assert write_xlsx(table([]), out, "Europe/Kirov") == 0
    sheet = load(out.getvalue())
    assert [[c.value for c in r] for r in sheet.iter_rows()] == [[c.title for c in COLUMNS]]


def test_xlsx_writes_to_an_unseekable_stream() -> None:
    class Sink:
        def __init__(self) -> None:
            self.parts: list[bytes] = []

        def write(self, data: bytes) -> int:
            self.parts.append(bytes(data))
            return len(data)

        def flush(self) -> None:
            pass

    sink = Sink()
    rows = Recorder().rows(3000)
    assert write_xlsx(table(rows), sink, KIROV) == 3000  # type: ignore[arg-type]
    sheet = load(b"".join(sink.parts))
    assert sheet.max_row == 3001
    assert sheet["A3001"].value == 2999


def test_a_failed_xlsx_export_leaves_no_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))

    def failing() -> Iterator[tuple[object, ...]]:
        yield from Recorder().rows(100)
        raise RuntimeError("база данных недоступна")

    with pytest.raises(RuntimeError, match="недоступна"):
        write_xlsx(table(failing()), io.BytesIO(), KIROV)
    assert list(tmp_path.iterdir()) == []
    write_xlsx(table(Recorder().rows(10)), io.BytesIO(), KIROV)
    assert list(tmp_path.iterdir()) == []  # a finished export cleans up too


def test_xlsx_sheet_names_are_made_legal() -> None:
    out = io.BytesIO()
    long_title = "Рейтинг исполнителей: [министерства] / муниципалитеты и другие органы"
    write_xlsx(Table("kpi", long_title, COLUMNS[:1], iter([(1,)])), out, KIROV)
    title = load(out.getvalue()).title
    assert len(title) <= 31
    assert not set("[]:*?/\\") & set(title)
    assert title.startswith("Рейтинг исполнителей")


# --------------------------------------------------------------------------- both


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_bad_rows_are_refused(fmt: str) -> None:
    with pytest.raises(ValueError, match="2 cells for 8 columns"):
        write_table(table([(1, "короткая строка")]), fmt, io.BytesIO(), KIROV)
    naive = [(1, "", dt.datetime(2026, 1, 1, 12), None, None, None, None, None)]
    with pytest.raises(ValueError, match="naive"):
        write_table(table(naive), fmt, io.BytesIO(), KIROV)
    wrong = [(1, "", "вчера", None, None, None, None, None)]
    with pytest.raises(TypeError, match="received: a datetime expected"):
        write_table(table(wrong), fmt, io.BytesIO(), KIROV)
    with pytest.raises(TypeError, match="a number expected"):
        write_table(table([("один", *ROWS[1][1:])]), fmt, io.BytesIO(), KIROV)


def test_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown export format 'pdf'"):
        write_table(table(), "pdf", io.BytesIO(), KIROV)


def test_infinite_floats_are_empty_cells() -> None:
    rows = [(1, "", None, None, float("nan"), float("inf"), None, None)]
    out = io.BytesIO()
    write_csv(table(rows), out, KIROV)
    assert read_csv(out.getvalue())[1][4:6] == ["", ""]
    out = io.BytesIO()
    write_xlsx(table(rows), out, KIROV)
    assert [c.value for c in load(out.getvalue())[2]][4:6] == [None, None]
