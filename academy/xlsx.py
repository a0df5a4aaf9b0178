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

Writing: ``write_xlsx`` (and ``table_xlsx`` on it) streams one sheet as text straight
into a deflate stream — kept hand-written because XlsxWriter, measured on the 200,000-row
event export, is ~4–9× slower (tests/bench/excel_libs.py); ``Book`` (XlsxWriter in
constant-memory mode) writes the workbooks that need several sheets, column formats and
drop-down lists (roster and question templates and exports). Either way text is always
written as text: a cell that Excel would take for a formula — starting with ``=``, ``+``,
``-``, ``@``, tab or CR — is stored as a string with Excel's quote prefix, so it shows as
typed and stays text even when edited (``formula_like``; ``csv_cell`` applies the same
rule to CSV).

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
from xml.sax.saxutils import escape

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


def _letters(index: int) -> str:
    """Column letters of a 0-based index: 0 → A, 26 → AA."""
    out = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        out = chr(65 + rest) + out
    return out


def _clean(text: str) -> str:
    return _BAD_XML.sub("", text)


# The streaming writer: one sheet, written as text straight into a deflate stream.

EPOCH = datetime(1899, 12, 30)
# style ids in STYLES: 0 plain, 1 header, 2 date-time, 3 date, 4 text with a quote prefix
HEADER, DATETIME, DATE, QUOTED = 1, 2, 3, 4

XML = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
PKG = "http://schemas.openxmlformats.org/package/2006"
DOC = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
OOXML = "application/vnd.openxmlformats-officedocument.spreadsheetml"

CONTENT_TYPES = (
    f'{XML}<Types xmlns="{PKG}/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
    'relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    f'<Override PartName="/xl/workbook.xml" ContentType="{OOXML}.sheet.main+xml"/>'
    f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{OOXML}.worksheet+xml"/>'
    f'<Override PartName="/xl/styles.xml" ContentType="{OOXML}.styles+xml"/>'
    "</Types>"
)
ROOT_RELS = (
    f'{XML}<Relationships xmlns="{PKG}/relationships">'
    f'<Relationship Id="rId1" Type="{DOC}/officeDocument" Target="xl/workbook.xml"/>'
    "</Relationships>"
)
WORKBOOK = (
    f'{XML}<workbook xmlns="{MAIN}" xmlns:r="{DOC}">'
    '<sheets><sheet name="{name}" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
WORKBOOK_RELS = (
    f'{XML}<Relationships xmlns="{PKG}/relationships">'
    f'<Relationship Id="rId1" Type="{DOC}/worksheet" Target="worksheets/sheet1.xml"/>'
    f'<Relationship Id="rId2" Type="{DOC}/styles" Target="styles.xml"/>'
    "</Relationships>"
)
_XF = '<xf numFmtId="{fmt}" fontId="{font}" fillId="{fill}" borderId="0" xfId="0"{extra}/>'
STYLES = (
    f'{XML}<styleSheet xmlns="{MAIN}">'
    '<numFmts count="2"><numFmt numFmtId="164" formatCode="yyyy-mm-dd hh:mm:ss"/>'
    '<numFmt numFmtId="165" formatCode="yyyy-mm-dd"/></numFmts>'
    '<fonts count="2"><font><sz val="11"/><name val="Calibri"/></font>'
    '<font><b/><sz val="11"/><name val="Calibri"/></font></fonts>'
    '<fills count="3"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill>'
    '<fill><patternFill patternType="solid"><fgColor rgb="FFE7EFE9"/>'
    '<bgColor indexed="64"/></patternFill></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="5">'
    + _XF.format(fmt=0, font=0, fill=0, extra="")
    + _XF.format(fmt=0, font=1, fill=2, extra=' applyFont="1" applyFill="1"')
    + _XF.format(fmt=164, font=0, fill=0, extra=' applyNumberFormat="1"')
    + _XF.format(fmt=165, font=0, fill=0, extra=' applyNumberFormat="1"')
    + _XF.format(fmt=0, font=0, fill=0, extra=' quotePrefix="1"')
    + "</cellXfs>"
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    "</styleSheet>"
)


def _xml_text(value: str) -> str:
    # A CR written as is would come back as LF (XML normalises line ends): keep it.
    return escape(_BAD_XML.sub("", value), {"\r": "&#13;"})


def _cell(ref: str, value, style: int = 0) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return f'<c r="{ref}" t="b"><v>{int(value)}</v></c>'
    if isinstance(value, int) or (isinstance(value, float) and math.isfinite(value)):
        return f'<c r="{ref}"><v>{value!r}</v></c>'
    if isinstance(value, datetime):
        serial = (value.replace(tzinfo=None) - EPOCH).total_seconds() / 86400
        return f'<c r="{ref}" s="{DATETIME}"><v>{serial:.8f}</v></c>'
    if isinstance(value, date):
        return f'<c r="{ref}" s="{DATE}"><v>{(value - EPOCH.date()).days}</v></c>'
    raw = str(value)
    if not style and formula_like(raw):
        style = QUOTED
    text = _xml_text(raw)
    s = f' s="{style}"' if style else ""
    return f'<c r="{ref}" t="inlineStr"{s}><is><t xml:space="preserve">{text}</t></is></c>'


def write_xlsx(
    headers: Sequence[str],
    rows: Iterable[Sequence],
    widths: Sequence[float] | None = None,
    sheet: str = "Sheet1",
) -> bytes:
    """A workbook of one sheet: ``headers`` in a frozen bold header row, then ``rows``,
    streamed (nothing but the current rows in memory; ~5 µs a cell, XlsxWriter ~20 µs:
    tests/bench/excel_libs.py). Text that starts like a formula gets the quote prefix."""
    letters = [_letters(i) for i in range(len(headers))]
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as book:
        book.writestr("[Content_Types].xml", CONTENT_TYPES)
        book.writestr("_rels/.rels", ROOT_RELS)
        book.writestr("xl/workbook.xml", WORKBOOK.format(name=escape(sheet[:31], {'"': "&quot;"})))
        book.writestr("xl/_rels/workbook.xml.rels", WORKBOOK_RELS)
        book.writestr("xl/styles.xml", STYLES)
        with book.open("xl/worksheets/sheet1.xml", "w") as raw:
            stream = io.TextIOWrapper(raw, encoding="utf-8", newline="")
            stream.write(
                f'{XML}<worksheet xmlns="{MAIN}">'
                '<sheetViews><sheetView workbookViewId="0"><pane ySplit="1" topLeftCell="A2" '
                'activePane="bottomLeft" state="frozen"/></sheetView></sheetViews>'
            )
            if widths:
                stream.write("<cols>")
                for i, width in enumerate(widths, start=1):
                    stream.write(f'<col min="{i}" max="{i}" width="{width}" customWidth="1"/>')
                stream.write("</cols>")
            stream.write("<sheetData>")
            header = "".join(
                _cell(f"{c}1", h, HEADER) for c, h in zip(letters, headers, strict=True)
            )
            stream.write(f'<row r="1">{header}</row>')
            buffer = []
            for number, row in enumerate(rows, start=2):
                cells = "".join(
                    _cell(f"{c}{number}", v) for c, v in zip(letters, row, strict=False)
                )
                buffer.append(f'<row r="{number}">{cells}</row>')
                if len(buffer) >= 1000:
                    stream.write("".join(buffer))
                    buffer = []
            stream.write("".join(buffer))
            stream.write("</sheetData></worksheet>")
            stream.flush()
            stream.detach()
    return out.getvalue()


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
