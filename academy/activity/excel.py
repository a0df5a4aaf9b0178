"""The event log as an Excel workbook (openpyxl write-only: rows go to the file as they
come, so a big export is never a list in memory)."""

from __future__ import annotations

import io
from collections.abc import Iterable

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter

from academy.activity import rules
from academy.activity.models import ObjectType, Verb

HEADERS = [
    ("时间（北京时间）", 18),
    ("镇街", 12),
    ("村社", 12),
    ("代办员", 10),
    ("代办员编号", 10),
    ("动作", 10),
    ("对象类型", 10),
    ("对象", 40),
    ("结果", 14),
    ("操作人", 14),
    ("记录编号", 10),
]
HEADER_FONT = Font(bold=True)
HEADER_FILL = PatternFill("solid", fgColor="E7EFE9")
DATETIME_FORMAT = "yyyy-mm-dd hh:mm:ss"


def events_workbook(rows: Iterable, sheet_title: str = "学习记录") -> bytes:
    book = Workbook(write_only=True)
    sheet = book.create_sheet(sheet_title[:31])
    sheet.freeze_panes = "A2"
    for index, (_, width) in enumerate(HEADERS, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    header = []
    for title, _ in HEADERS:
        cell = WriteOnlyCell(sheet, value=title)
        cell.font, cell.fill = HEADER_FONT, HEADER_FILL
        header.append(cell)
    sheet.append(header)
    for r in rows:
        when = WriteOnlyCell(sheet, value=rules.to_local(r.at).replace(microsecond=0))
        when.number_format = DATETIME_FORMAT
        sheet.append(
            [
                when,
                r.township_name,
                r.village_name,
                r.agent_name,
                r.agent_id,
                Verb(r.verb).label,
                ObjectType(r.object_type).label,
                r.object_name,
                rules.result_text(r.result),
                r.user_name,
                r.id,
            ]
        )
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
