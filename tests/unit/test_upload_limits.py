"""Hostile workbooks and oversized sources stop early, with a short clear message: a huge
cell, a part whose size lies, cells far apart (calamine would lay out a 500 GB grid and
abort the process), a sheet of 400,000 empty rows, too many questions, a huge module."""

from __future__ import annotations

import io
import time
import zipfile

import pytest

from academy import xlsx
from academy.content.yamlio import parse_yaml
from academy.xlsx import XlsxError, read_rows
from tests.unit.test_xlsx import build


def _rows(data: bytes, **kw):
    return list(read_rows(data, **kw))


def _deflated(data: bytes, replace: dict[str, bytes] | None = None) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for item in src.infolist():
            body = (replace or {}).get(item.filename, src.read(item))
            dst.writestr(item.filename, body, zipfile.ZIP_DEFLATED)
    return out.getvalue()


def test_a_huge_cell_in_a_small_upload_stops_before_it_is_read(monkeypatch):
    monkeypatch.setattr(xlsx, "MAX_PART_BYTES", 2 * 1024 * 1024)
    huge = "长" * (3 * 1024 * 1024)
    data = _deflated(
        build('<row r="1"><c r="A1" t="s"><v>0</v></c></row>', strings=[f"<t>{huge}</t>"])
    )
    assert len(data) < 200_000  # deflate: megabytes of one character are tiny
    started = time.perf_counter()
    with pytest.raises(XlsxError) as err:
        _rows(data)
    assert time.perf_counter() - started < 2
    assert "sharedStrings" in err.value.message and "超过 2 MB" in err.value.message
    assert len(err.value.message) < 200


def test_a_part_whose_declared_size_lies_is_refused(monkeypatch):
    monkeypatch.setattr(xlsx, "MAX_PART_BYTES", 1024 * 1024)
    big = b"<sst><si><t>" + b"a" * (3 * 1024 * 1024) + b"</t></si></sst>"
    data = bytearray(
        _deflated(
            build('<row r="1"><c r="A1" t="s"><v>0</v></c></row>', strings=["<t>x</t>"]),
            {"xl/sharedStrings.xml": big},
        )
    )
    # Say, in the central directory and the local header, that the part is 100 bytes.
    name = b"xl/sharedStrings.xml"
    for sig, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        at = data.find(sig)
        while at != -1:
            name_at = at + (30 if sig == b"PK\x03\x04" else 46)
            if data[name_at : name_at + len(name)] == name:
                data[at + offset : at + offset + 4] = (100).to_bytes(4, "little")
            at = data.find(sig, at + 4)
    with pytest.raises(XlsxError):
        _rows(bytes(data))


def test_a_cell_longer_than_excel_allows_is_refused_with_an_excerpt():
    long = "名" * (xlsx.MAX_CELL_CHARS + 5)
    data = build(f'<row r="2"><c r="B2" t="inlineStr"><is><t>{long}</t></is></c></row>')
    with pytest.raises(XlsxError) as err:
        _rows(data)
    message = err.value.message
    assert "第 2 行第 2 列的内容过长" in message and len(message) < 150


def test_cells_far_apart_are_refused_not_laid_out():
    data = build(
        '<row r="1"><c r="A1"><v>1</v></c></row>'
        '<row r="1048576"><c r="XFD1048576"><v>2</v></c></row>'
    )
    with pytest.raises(XlsxError, match="延伸到第 1,048,576 行"):
        _rows(data, max_rows=100)
    wide = build('<row r="1"><c r="A1"><v>1</v></c><c r="ZZ1"><v>2</v></c></row>')
    with pytest.raises(XlsxError, match="超过了 200 列"):
        _rows(wide)


def test_a_sheet_of_empty_rows_is_quick():
    empty = "".join(f'<row r="{n}"/>' for n in range(1, 400_001))
    data = build(empty + '<row r="400001"><c r="A400001"><v>1</v></c></row>')
    started = time.perf_counter()
    with pytest.raises(XlsxError, match="延伸到第 400,001 行"):
        _rows(data, max_rows=60_002)
    assert time.perf_counter() - started < 10
    rows_only = build(empty)
    started = time.perf_counter()
    assert _rows(rows_only) == []
    assert time.perf_counter() - started < 10


def test_module_and_case_sources_are_capped():
    text = "title: 长\nbody: |\n" + ("  很长的一行内容。\n" * 40_000)
    data, problems = parse_yaml(text, "courses/id-card.yaml")
    assert data is None and "一个模块最多 256 KB" in problems[0].reason
    data, problems = parse_yaml(text, "simulations/case-1.yaml")
    assert data is None and "一个案例最多 256 KB" in problems[0].reason
