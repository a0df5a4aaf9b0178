"""Excel for the whole app: reading uploads, writing exports, one rule against formulas.

Reading (``read_rows``): python-calamine (Rust) reads the sheet; cells come back as the
text Excel shows, the way ``read_excel(dtype=str, keep_default_na=False)`` would, so that
ID numbers and phone numbers keep their leading zeros:

- strings as written (rich text joined, phonetic hints left out);
- numbers as the text Excel shows (``1980``, ``1.5``); a number of 15 digits or more
  in scientific notation (``3.30624198001011E+17``) so that callers can say Excel has
  cut the digits of an ID number;
- cells formatted as a date as ISO text, ``2026-03-01`` (``2026-03-01 08:30:00`` with a
  time), in both date systems; booleans as ``TRUE``/``FALSE``; empty cells, and error
  values such as ``#N/A``, as ``""``.

Before calamine sees a byte, the package is checked (``_check_package``), because a small
upload can otherwise take the server down: every part's declared *and* actual
uncompressed size is capped (read in chunks, stopping at the cap: a 390 MB cell in a
5 MB upload stops after 64 MB of inflating, in well under a second), DTDs are refused,
and the cell references of every worksheet bound the sheet's extent (rows, columns and
their product) — calamine lays a sheet out as a dense grid, so two cells at A1 and
XFD1048576 would ask for 500 GB and abort the process. A cell longer than Excel's own
limit (32,767 characters) is refused with a short excerpt, never the whole cell.

Writing (``Book``, ``write_xlsx``, ``table_xlsx``): XlsxWriter in constant-memory mode
(rows go to a temporary file as they come). Text is always written as text: a cell that
Excel would take for a formula — starting with ``=``, ``+``, ``-``, ``@``, tab or CR —
is stored as a string with Excel's quote prefix, so it shows as typed and stays text even
when edited (``formula_safe``; ``csv_cell`` applies the same rule to CSV).

Pure: bytes in, rows out (or rows in, bytes out); no database, no request. Anything that
is not a readable workbook raises :class:`XlsxError` with a message for the user.
"""

from __future__ import annotations

import io
import math
import re
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

MAX_PART_BYTES = 64 * 1024 * 1024  # uncompressed size of one part of the package
MAX_PACKAGE_BYTES = 160 * 1024 * 1024  # all parts together, uncompressed
MAX_CELL_CHARS = 32_767  # Excel's own limit for one cell
MAX_COLUMNS = 200
MAX_SHEET_ROWS = 100_000  # the furthest row a sheet may reach when the caller sets no cap
MAX_CELLS = 3_000_000  # rows × columns of a sheet's used range (calamine's dense grid)
EXCERPT_CHARS = 30
CHUNK = 1024 * 1024
NOT_A_WORKBOOK = "文件内容不是有效的 Excel 格式。"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class XlsxError(ValueError):
    """The file is not a workbook this reader can read; ``message`` is for the user."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True, slots=True)
class SheetRow:
    number: int  # the row number Excel shows
    cells: list[str]  # by column, "" where empty; trailing empty cells trimmed


def is_xlsx(data: bytes) -> bool:
    return data[:4] == b"PK\x03\x04"


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """At most ``limit`` characters of bad input, for a message (never the whole of it)."""
    text = str(text)
    return text if len(text) <= limit else text[:limit] + f"…（共 {len(text):,} 个字符）"


# -- reading ------------------------------------------------------------------------------

_REF = re.compile(rb"""\s(?:\w+:)?r\s*=\s*["']([A-Za-z]{1,3})([0-9]{1,7})["']""")
_DOCTYPE = re.compile(rb"<!DOCTYPE|<!ENTITY", re.IGNORECASE)


def _column_number(letters: bytes) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + (ch - 64)
    return n


@dataclass
class _Extent:
    rows: int = 0
    columns: int = 0


def _check_package(book: zipfile.ZipFile, row_cap: int) -> None:
    """Sizes, DTDs and the extent of every worksheet, before any parsing."""
    infos = book.infolist()
    if sum(i.file_size for i in infos) > MAX_PACKAGE_BYTES:
        raise XlsxError("文件解压后过大（超过 160 MB），请删除不需要的内容后再上传。")
    total = 0
    for info in infos:
        if info.file_size > MAX_PART_BYTES:
            raise _too_big(info.filename)
        sheet = info.filename.startswith("xl/worksheets/") and info.filename.endswith(".xml")
        extent = _Extent()
        size = 0
        tail = b""
        try:
            with book.open(info) as stream:
                while chunk := stream.read(CHUNK):
                    size += len(chunk)
                    total += len(chunk)
                    if size > MAX_PART_BYTES:  # the declared size was a lie
                        raise _too_big(info.filename)
                    if total > MAX_PACKAGE_BYTES:
                        raise XlsxError(
                            "文件解压后过大（超过 160 MB），请删除不需要的内容后再上传。"
                        )
                    window = tail + chunk
                    if _DOCTYPE.search(window):
                        raise XlsxError(NOT_A_WORKBOOK)
                    if sheet:
                        _scan_refs(window, extent, row_cap)
                    tail = chunk[-64:]
        except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError) as err:
            raise XlsxError("文件已损坏，无法读取。") from err


def _too_big(name: str) -> XlsxError:
    return XlsxError(
        f"文件中的一部分（{name[:60]}）解压后超过 {MAX_PART_BYTES // (1024 * 1024)} MB，"
        "可能含有超长的单元格或大量多余内容；请删除后再上传。"
    )


def _scan_refs(window: bytes, extent: _Extent, row_cap: int) -> None:
    rows, columns = extent.rows, extent.columns
    for letters, digits in _REF.findall(window):
        row = int(digits)
        if row > rows:
            rows = row
        if len(letters) > 1 or letters > b"A":
            column = _column_number(letters)
            if column > columns:
                columns = column
    extent.rows, extent.columns = rows, columns
    if rows > row_cap:
        raise XlsxError(
            f"工作表的内容一直延伸到第 {rows:,} 行，超过了一次能读取的 {row_cap:,} 行；"
            "请删除多余的行（包括看似空白但设置过格式的行）后再上传。"
        )
    if columns > MAX_COLUMNS:
        raise XlsxError(
            f"工作表的内容延伸到第 {columns:,} 列，超过了 {MAX_COLUMNS} 列；"
            "请删除多余的列后再上传。"
        )
    if rows * max(columns, 1) > MAX_CELLS:
        raise XlsxError(
            f"工作表范围过大（{rows:,} 行 × {columns} 列）；请删除多余的行和列后再上传。"
        )


def read_rows(
    data: bytes, max_rows: int | None = None, prefer_sheet: str | None = None
) -> Iterator[SheetRow]:
    """Yield the non-empty rows of the sheet named ``prefer_sheet`` (else the first
    sheet), at most ``max_rows`` of them. A sheet reaching far beyond ``max_rows`` (or
    MAX_SHEET_ROWS) is refused before it is read."""
    from python_calamine import CalamineError, CalamineWorkbook

    if not is_xlsx(data):
        raise XlsxError("文件不是 Excel 工作簿（.xlsx）。")
    row_cap = MAX_SHEET_ROWS if max_rows is None else max_rows + 10_000
    try:
        book = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError) as err:
        raise XlsxError("文件已损坏，无法打开。") from err
    with book:
        if "xl/workbook.xml" not in book.namelist() and not any(
            n.endswith("workbook.xml") for n in book.namelist()
        ):
            raise XlsxError("文件缺少工作表内容，可能不是 Excel 工作簿。")
        _check_package(book, row_cap)
    try:
        workbook = CalamineWorkbook.from_filelike(io.BytesIO(data))
        names = workbook.sheet_names
        if not names:
            raise XlsxError("工作簿里没有工作表。")
        sheet = workbook.get_sheet_by_name(prefer_sheet if prefer_sheet in names else names[0])
        _, first_column = sheet.start or (0, 0)
        grid = sheet.iter_rows()
    except XlsxError:
        raise
    except (CalamineError, ValueError, OSError, RuntimeError) as err:
        raise XlsxError(NOT_A_WORKBOOK) from err
    count = 0
    pad = [""] * min(first_column, MAX_COLUMNS)
    for offset, values in enumerate(grid):
        cells = pad + [_text(v) for v in values[: max(0, MAX_COLUMNS - len(pad))]]
        while cells and not cells[-1]:
            cells.pop()
        if not cells:
            continue
        number = offset + 1  # calamine's rows start at the sheet's row 1
        for index, cell in enumerate(cells):
            if len(cell) > MAX_CELL_CHARS:
                raise XlsxError(
                    f"第 {number} 行第 {index + 1} 列的内容过长（超过 {MAX_CELL_CHARS:,} "
                    f"个字符）：{excerpt(cell)}"
                )
        yield SheetRow(number, cells)
        count += 1
        if max_rows is not None and count >= max_rows:
            return


def _text(value) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _number_text(value)
    if isinstance(value, datetime):
        value = (value + timedelta(microseconds=500_000)).replace(microsecond=0)
        if value.hour == value.minute == value.second == 0:
            return value.strftime("%Y-%m-%d")
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        return value.strftime("%H:%M:%S")
    if isinstance(value, timedelta):
        return str(value)
    return str(value)


def _number_text(number: float) -> str:
    if not math.isfinite(number):
        return str(number)
    if abs(number) >= 1e15:
        # Excel keeps 15 significant digits: show what it shows, so that a caller can
        # tell that the digits of an ID number are gone.
        return f"{number:.14E}".replace("E+0", "E+").replace(".00000000000000E", "E")
    if number.is_integer():
        return str(int(number))
    return repr(number)


# -- writing ------------------------------------------------------------------------------

_BAD_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
HEADER_FILL = "#E7EFE9"
DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm:ss"


def formula_like(text: str) -> bool:
    """Would a spreadsheet take this text for a formula (or a DDE command)?"""
    return text[:1] in FORMULA_STARTS


def csv_cell(value) -> str:
    """A value for a CSV cell: text that a spreadsheet would run as a formula is quoted
    with a leading apostrophe (the same rule as the Excel writer)."""
    if value is None:
        return ""
    text = str(value)
    return "'" + text if formula_like(text) else text


class Book:
    """An .xlsx being written, sheet after sheet, row after row (constant memory)::

    book = Book()
    sheet = book.sheet("花名册", headers, widths, text_columns={3, 4})
    for row in rows:
        sheet.append(row)
    data = book.close()
    """

    def __init__(self) -> None:
        import xlsxwriter

        self._out = io.BytesIO()
        self._book = xlsxwriter.Workbook(
            self._out,
            {
                "constant_memory": True,
                "strings_to_formulas": False,
                "strings_to_urls": False,
                "strings_to_numbers": False,
            },
        )
        add = self._book.add_format
        self.header = add({"bold": True, "bg_color": HEADER_FILL, "valign": "top"})
        self.dark_header = add({"bold": True, "font_color": "#FFFFFF", "bg_color": "#0B6B4F"})
        self.date = add({"num_format": DATE_FORMAT})
        self.datetime = add({"num_format": DATETIME_FORMAT})
        self.text = add({"num_format": "@"})
        self.wrap = add({"text_wrap": True, "valign": "top"})
        self.quoted = add({"quote_prefix": True})
        self.quoted_text = add({"quote_prefix": True, "num_format": "@"})
        self.quoted_wrap = add({"quote_prefix": True, "text_wrap": True, "valign": "top"})

    def sheet(
        self,
        name: str,
        headers: Sequence[str] | None = None,
        widths: Sequence[float] | None = None,
        *,
        text_columns: Iterable[int] = (),
        wrap_columns: Iterable[int] = (),
        freeze: bool = True,
        header: str = "light",
    ) -> Sheet:
        """``header``: "light" (bold on pale green) or "dark" (white on dark green)."""
        return Sheet(
            self,
            self._book.add_worksheet(name[:31]),
            headers,
            widths,
            set(text_columns),
            set(wrap_columns),
            freeze,
            self.dark_header if header == "dark" else self.header,
        )

    def close(self) -> bytes:
        self._book.close()
        return self._out.getvalue()


class Sheet:
    def __init__(
        self, book: Book, ws, headers, widths, text_columns, wrap_columns, freeze, header_format
    ) -> None:
        self.book, self.ws = book, ws
        self.text_columns, self.wrap_columns = text_columns, wrap_columns
        self.row = 0
        for index, width in enumerate(widths or []):
            fmt = book.text if index in text_columns else None
            ws.set_column(index, index, width, fmt)
        if headers is not None:
            for index, header in enumerate(headers):
                ws.write_string(0, index, _clean(str(header)), header_format)
            self.row = 1
            if freeze:
                ws.freeze_panes(1, 0)

    def append(self, values: Iterable) -> None:
        ws, book, row = self.ws, self.book, self.row
        for col, value in enumerate(values):
            if value is None or value == "":
                continue
            if isinstance(value, bool):
                ws.write_boolean(row, col, value)
            elif isinstance(value, int | float) and math.isfinite(value):
                ws.write_number(row, col, value)
            elif isinstance(value, datetime):
                ws.write_datetime(row, col, value.replace(tzinfo=None), book.datetime)
            elif isinstance(value, date):
                ws.write_datetime(row, col, value, book.date)
            else:
                self._text(row, col, _clean(str(value)))
        self.row += 1

    def _text(self, row: int, col: int, text: str) -> None:
        book = self.book
        text_col, wrap = col in self.text_columns, col in self.wrap_columns
        if formula_like(text):
            fmt = book.quoted_text if text_col else book.quoted_wrap if wrap else book.quoted
        else:
            fmt = book.text if text_col else book.wrap if wrap else None
        self.ws.write_string(row, col, text, fmt)

    def choices(self, col: int, last_row: int, source, title: str | None = None) -> None:
        """A drop-down list on rows 2..last_row of column ``col``: ``source`` is a list of
        values or a range like ``'村社名单'!$A$2:$A$9``."""
        options = {"validate": "list", "source": source, "ignore_blank": True}
        if title:
            options |= {
                "error_title": f"{title}不正确"[:32],
                "error_message": "请从下拉列表中选择。",
            }
        else:
            options["show_error"] = False
        self.ws.data_validation(1, col, last_row - 1, col, options)


def _clean(text: str) -> str:
    return _BAD_XML.sub("", text)


def write_xlsx(
    headers: Sequence[str],
    rows: Iterable[Sequence],
    widths: Sequence[float] | None = None,
    sheet: str = "Sheet1",
) -> bytes:
    """A workbook of one sheet: ``headers`` in a frozen bold header row, then ``rows``
    (streamed: nothing but the current row is kept in memory)."""
    book = Book()
    out = book.sheet(sheet, headers, widths)
    for row in rows:
        out.append(row)
    return book.close()


def table_xlsx(headers: Sequence[str], rows: Iterable[Sequence], sheet: str = "Sheet1") -> bytes:
    """A small table (dashboards, results, indexes) with column widths fitted to it."""
    rows = [list(r) for r in rows]
    widths = []
    for i, header in enumerate(headers):
        longest = max([len(str(header)) * 2 + 2] + [len(str(r[i])) + 2 for r in rows if i < len(r)])
        widths.append(min(longest, 50))
    return write_xlsx(headers, rows, widths, sheet)


XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def xlsx_download(data: bytes, filename: str):
    """A workbook as a download (UTF-8 file name), never cached: exports hold personal data."""
    from flask import send_file

    response = send_file(
        io.BytesIO(data), mimetype=XLSX_MIMETYPE, as_attachment=True, download_name=filename
    )
    response.headers["Cache-Control"] = "private, no-store"
    return response


def xlsx_response(filename: str, headers: Sequence[str], rows: Iterable[Sequence], sheet="Sheet1"):
    return xlsx_download(table_xlsx(headers, rows, sheet), filename)
