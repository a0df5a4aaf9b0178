"""The event log as an Excel workbook, written as the rows stream in (academy.xlsx,
~15 µs a row, so the 200,000-row cap is a few seconds, and no list of rows in memory)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from academy.activity import rules
from academy.activity.models import ObjectType, Verb
from academy.xlsx import write_xlsx

HEADERS = [
    ("时间（北京时间）", 20),
    ("镇街", 12),
    ("村社", 12),
    ("代办员", 10),
    ("代办员编号", 11),
    ("动作", 10),
    ("对象类型", 10),
    ("对象", 44),
    ("结果", 14),
    ("操作人", 16),
    ("记录编号", 10),
]


def _cells(rows: Iterable) -> Iterator[list]:
    for r in rows:
        yield [
            rules.to_local(r.at).replace(microsecond=0),
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


def events_workbook(rows: Iterable, sheet_title: str = "学习记录") -> bytes:
    return write_xlsx([h for h, _ in HEADERS], _cells(rows), [w for _, w in HEADERS], sheet_title)
