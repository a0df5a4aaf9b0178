"""The Excel writer (XlsxWriter, constant memory): what readers (openpyxl, ours) get back."""

import io
from datetime import date, datetime

import openpyxl

from academy.xlsx import read_rows, write_xlsx

ROWS = [
    [datetime(2026, 3, 1, 8, 30, 5), "东镇 <一> & “二”", 7, 0.5, True, date(2026, 3, 2)],
    [datetime(2026, 3, 1, 23, 59, 59), "控制\x01字符\x1f被去掉", None, -3, False, None],
]


def test_openpyxl_reads_back_types_header_style_and_frozen_row():
    data = write_xlsx(["时间", "名称", "数", "小数", "是否", "日期"], ROWS, [20, 30], "学习记录")
    book = openpyxl.load_workbook(io.BytesIO(data))
    sheet = book["学习记录"]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == ("时间", "名称", "数", "小数", "是否", "日期")
    assert rows[1] == (
        datetime(2026, 3, 1, 8, 30, 5),
        "东镇 <一> & “二”",
        7,
        0.5,
        True,
        datetime(2026, 3, 2),
    )
    assert rows[2] == (datetime(2026, 3, 1, 23, 59, 59), "控制字符被去掉", None, -3, False, None)
    assert sheet["A1"].font.b and sheet.freeze_panes == "A2"
    assert round(sheet.column_dimensions["B"].width) in (30, 31)  # XlsxWriter adds padding


def test_our_reader_reads_it_as_text():
    data = write_xlsx(["时间", "名称", "数"], [r[:3] for r in ROWS])
    rows = [r.cells for r in read_rows(data)]
    assert rows == [
        ["时间", "名称", "数"],
        ["2026-03-01 08:30:05", "东镇 <一> & “二”", "7"],
        ["2026-03-01 23:59:59", "控制字符被去掉"],
    ]


def test_an_empty_export_is_a_header_row():
    book = openpyxl.load_workbook(io.BytesIO(write_xlsx(["甲", "乙"], [])))
    assert list(book.active.iter_rows(values_only=True)) == [("甲", "乙")]
