"""Marking schemes in Excel: the template (and export) and the import with row errors.

Columns: 指标, 类型 (测量/评判), 分值, 维度 (业务知识/服务规范/应急处置), 0级描述 … 3级描述
(judgement only). The import reads every row, reports every problem as (row, column,
reason) and changes nothing unless the whole sheet is right.
"""

from __future__ import annotations

from academy.competition.models import Criterion, CriterionKind
from academy.competition.services import CriterionRow, SchemeInvalid, criterion_problems
from academy.questions.models import Dimension
from academy.xlsx import XlsxError, read_rows

HEADERS = ["指标", "类型", "分值", "维度", "0级描述", "1级描述", "2级描述", "3级描述"]
KIND_LABELS = {"测量": CriterionKind.MEASUREMENT, "评判": CriterionKind.JUDGEMENT}
MAX_ROWS = 200
MAX_CELL = 300


def export_rows(criteria: list[Criterion]) -> list[list]:
    out = []
    for c in criteria:
        kind = next(k for k, v in KIND_LABELS.items() if v == c.kind)
        descriptors = list(c.descriptors or []) + [""] * 4
        out.append([c.title, kind, c.max_points, c.dimension.label, *descriptors[:4]])
    return out


def parse(data: bytes) -> list[CriterionRow]:
    try:
        rows = list(read_rows(data, max_rows=MAX_ROWS + 2))
    except XlsxError as err:
        raise SchemeInvalid([(0, "文件", err.message)]) from err
    if not rows:
        raise SchemeInvalid([(0, "文件", "表格是空的")])
    header = [c.strip() for c in rows[0].cells]
    if header[:4] != HEADERS[:4]:
        raise SchemeInvalid([(rows[0].number, "表头", "第一行应为：" + "、".join(HEADERS))])
    if len(rows) - 1 > MAX_ROWS:
        raise SchemeInvalid([(0, "文件", f"指标不能超过 {MAX_ROWS} 项")])
    problems: list[tuple[int, str, str]] = []
    out: list[CriterionRow] = []
    numbers = []
    for row in rows[1:]:
        cells = [c.strip() for c in row.cells] + [""] * 8
        if any(len(c) > MAX_CELL for c in cells):
            problems.append((row.number, "单元格", f"内容过长（超过 {MAX_CELL} 字）"))
            continue
        title, kind_label, points, dim_label = cells[:4]
        kind = KIND_LABELS.get(kind_label)
        if kind is None:
            problems.append((row.number, "类型", f"应为“测量”或“评判”，收到“{kind_label[:20]}”"))
        dimension = Dimension.from_label(dim_label)
        if dimension is None:
            problems.append(
                (row.number, "维度", f"应为业务知识、服务规范或应急处置，收到“{dim_label[:20]}”")
            )
        try:
            max_points = float(points)
        except ValueError:
            problems.append((row.number, "分值", f"应为数字，收到“{points[:20]}”"))
            max_points = 0.0
        if kind and dimension:
            out.append(CriterionRow(title, kind, max_points, dimension, cells[4:8]))
            numbers.append(row.number)
    for n, field, reason in criterion_problems(out) if not problems else []:
        problems.append((numbers[n - 1] if n else 0, field, reason))
    if problems:
        raise SchemeInvalid(problems)
    return out
