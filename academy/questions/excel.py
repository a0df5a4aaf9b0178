"""Questions as an Excel sheet an expert can fill in: template, import and export.

One row per question on the sheet “题目” (the first sheet if there is none), headers in
row 1, problems reported as (row as Excel shows it, "column（letter 列）：reason"), all at
once; nothing is imported if anything is wrong. The sheet “说明” explains every column.

Columns (order does not matter; unknown columns such as 备注 are ignored):

- 题型 (required): 单选 多选 判断 填空 数值 配对 排序 简答 说明 (a trailing 题 is fine).
- 事项, 维度 (业务知识/服务规范/应急处置), 难度 (1–3): the academy's tags, optional.
- 题目名称: optional; empty → Moodle's rule (the first 80 characters of the 题干).
- 题干 (required).
- 选项A, 选项B, … (as many as needed; the template has A–F) and 反馈A, 反馈B, …:
  单选/多选: the options; 填空/数值: accepted answers (数值: ``60``, ``60±2``, ``60:2``
  or ``50..70``; ``*`` = any other answer, for its feedback); 配对: ``左 -> 右`` (also
  ``→``); 排序: the items in the right order.
- 正确答案: 单选 one letter (``B``); 多选 letters (``ACD``; the right options share
  100 %, the others 0); partial credit as ``A:100%, B:50%, D:-50%`` (options not named
  get 0). 判断: 对/错 (also 正确/错误, √/×, T/F); 反馈A is shown for the answer 对,
  反馈B for 错. 填空/数值: empty = every option is a full answer; or the answers
  themselves when no option is filled (``户口簿|户口本``; 数值 ``60`` with 误差).
  配对/排序: leave empty.
- 误差: 数值 tolerance for answers written without one. 总体反馈: general feedback.
  评分要点: 简答 grader info. 类别: Moodle-style category path. 文本格式: 纯文本
  (default), Markdown, HTML, Moodle自动格式.

Read and written through ``academy.xlsx`` (cells as the text Excel shows, leading zeros
kept, DTDs refused; text cells written as text, a leading ``=`` is never a formula).
Pure: bytes in, questions out.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from openpyxl.utils import get_column_letter

from academy.questions.interchange import (
    apply_tags,
    default_name,
    fraction_of,
    parse_number,
    percent_text,
)
from academy.questions.spec import DIMENSIONS, Answer, ExportError, ParseError, Question
from academy.questions.types import QUESTION_TYPES, check_question
from academy.xlsx import Book, XlsxError, read_rows

SHEET = "题目"
NOTES_SHEET = "说明"
MAX_ROWS = 10_000
TYPE = "题型"
ITEM = "事项"
DIMENSION = "维度"
DIFFICULTY = "难度"
NAME = "题目名称"
TEXT = "题干"
RIGHT = "正确答案"
TOLERANCE = "误差"
GENERAL = "总体反馈"
GRADER = "评分要点"
CATEGORY = "类别"
FORMAT = "文本格式"
OPTION, FEEDBACK = "选项", "反馈"
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
TEMPLATE_OPTIONS = 6


def kinds() -> dict[str, tuple]:
    """题型 cell → (question type, attributes it sets), from the registry."""
    return {
        label: (kind, attrs) for kind in QUESTION_TYPES.values()
        for label, attrs in kind.excel_labels.items()
    }  # fmt: skip


TRUE_WORDS = {"对", "正确", "是", "√", "✓", "T", "TRUE", "Y", "YES"}
FALSE_WORDS = {"错", "错误", "否", "×", "✗", "X", "F", "FALSE", "N", "NO"}
FORMAT_LABELS = {
    "plain": "纯文本",
    "markdown": "Markdown",
    "html": "HTML",
    "moodle": "Moodle自动格式",
}
FORMAT_BY_LABEL = {label.casefold(): key for key, label in FORMAT_LABELS.items()}
FORMAT_BY_LABEL |= {key: key for key in FORMAT_LABELS}
ARROW_RE = re.compile(r"\s*(?:->|→|=>)\s*")
WEIGHT_ITEM_RE = re.compile(r"^([A-Z])\s*:\s*(-?\d+(?:\.\d+)?)\s*%?$")
SEPARATORS_RE = re.compile(r"[,，、;；\s]+")
FEEDBACK_ALIAS_RE = re.compile(r"^(?:每项反馈([A-Z])|选项([A-Z])反馈)$")
NUMBER_CELL_RE = re.compile(r"^(.+?)\s*(?:±|\+-|:)\s*(.+)$")


def _column(letters_index: int) -> str:
    return get_column_letter(letters_index + 1)


def _normalise_header(value: str) -> str:
    name = re.sub(r"\s+", "", unicodedata.normalize("NFKC", value)).upper()
    m = FEEDBACK_ALIAS_RE.match(name)
    return FEEDBACK + (m.group(1) or m.group(2)) if m else name


class _Row:
    """One sheet row: the toolkit of a type's ``excel_read`` (cells by column name, problems
    named by column, the option columns, the 正确答案 letters, number cells)."""

    RIGHT, TOLERANCE, GRADER, OPTION, FEEDBACK = RIGHT, TOLERANCE, GRADER, OPTION, FEEDBACK
    ARROW_RE = ARROW_RE

    def __init__(self, number: int, cells: list[str], columns: dict[str, int], problems) -> None:
        self.number, self.cells, self.columns, self.problems = number, cells, columns, problems

    def normalised(self, column: str) -> str:
        return unicodedata.normalize("NFKC", self.get(column))

    def options(self, letters: list[str]) -> list[tuple[str, str, str]]:
        return _options(self, letters)

    def rights(self, q: Question, options, required: bool) -> None:
        _rights(self, q, options, required)

    def no_right(self, kind: str) -> None:
        _no_right(self, kind)

    def number_cell(self, column: str, cell: str, default_tolerance: float):
        return _number_cell(self, column, cell, default_tolerance)

    def truth(self) -> bool | None:
        """正确答案 of a true/false row (对/错 and their synonyms), or None after a problem."""
        value = self.normalised(RIGHT).strip().upper()
        if value in TRUE_WORDS:
            return True
        if value in FALSE_WORDS:
            return False
        self.problem(RIGHT, "判断题的正确答案应为 对 或 错")
        return None

    def get(self, column: str) -> str:
        index = self.columns.get(column)
        if index is None or index >= len(self.cells):
            return ""
        return self.cells[index].strip()

    def problem(self, column: str, reason: str) -> None:
        index = self.columns.get(column)
        where = f"{column}（{_column(index)} 列）" if index is not None else column
        self.problems.append((self.number, f"{where}：{reason}"))


def parse(data: bytes) -> list[Question]:
    """Every question row of the sheet; raise ParseError with every (row, reason)."""
    try:
        rows = list(read_rows(data, max_rows=MAX_ROWS + 2, prefer_sheet=SHEET))
    except XlsxError as err:
        raise ParseError([(1, err.message)]) from None
    if not rows:
        raise ParseError([(1, "工作表是空的：第 1 行应为表头（题型、题干…），其下每行一道题")])
    header, body = rows[0], rows[1:]
    columns: dict[str, int] = {}
    for index, cell in enumerate(header.cells):
        name = _normalise_header(cell)
        if name:
            columns.setdefault(name, index)
    missing = [c for c in (TYPE, TEXT) if c not in columns]
    if missing:
        raise ParseError(
            [
                (
                    header.number,
                    f"找不到表头 {'、'.join(missing)}：请使用本系统下载的模板，表头在第 1 行",
                )
            ]
        )
    if len(body) > MAX_ROWS:
        raise ParseError([(body[MAX_ROWS].number, f"一次最多导入 {MAX_ROWS} 道题")])
    letters = sorted(
        name[len(OPTION) :]
        for name in columns
        if name.startswith(OPTION) and name[len(OPTION) :] in LETTERS and len(name) == 3
    )
    problems: list[tuple[int | None, str]] = []
    questions = []
    for sheet_row in body:
        row = _Row(sheet_row.number, sheet_row.cells, columns, problems)
        before = len(problems)
        question = _question(row, letters)
        if question is not None and len(problems) == before:
            for reason in check_question(question):
                problems.append((row.number, reason))
        if question is not None:
            questions.append(question)
    if not body:
        problems.append((header.number + 1, "表头下面没有题目"))
    if problems:
        raise ParseError(problems)
    return questions


def _question(row: _Row, letters: list[str]) -> Question | None:
    label = row.get(TYPE).removesuffix("题")
    found = kinds().get(label)
    if found is None:
        row.problem(TYPE, f"“{row.get(TYPE)}” 不是可用的题型，应为：{'、'.join(kinds())}")
        return None
    kind, attrs = found
    text = row.get(TEXT)
    if not text:
        row.problem(TEXT, "题干不能为空")
    fmt_text = row.get(FORMAT)
    fmt = FORMAT_BY_LABEL.get(fmt_text.casefold(), None) if fmt_text else "plain"
    if fmt is None:
        row.problem(FORMAT, f"应为：{'、'.join(FORMAT_LABELS.values())}（留空为纯文本）")
        fmt = "plain"
    q = Question(
        type=kind.name,
        name=row.get(NAME) or default_name(text),
        text=text,
        general_feedback=row.get(GENERAL),
        text_format=fmt,
        category=row.get(CATEGORY) or None,
        line=row.number,
        **attrs,
    )
    for column, key in ((ITEM, "item"), (DIMENSION, "dimension"), (DIFFICULTY, "difficulty")):
        if row.get(column):
            for reason in apply_tags(q, {key: row.normalised(column)}):
                row.problem(column, reason)
    kind.excel_read(row, q, letters)
    return q


def _options(row: _Row, letters: list[str]) -> list[tuple[str, str, str]]:
    """(letter, text, feedback) of the filled options; a gap before a filled one is a problem."""
    filled = [(letter, row.get(OPTION + letter), row.get(FEEDBACK + letter)) for letter in letters]
    last = max((i for i, (_, text, _) in enumerate(filled) if text), default=-1)
    out = []
    for letter, text, feedback in filled[: last + 1]:
        if not text:
            row.problem(OPTION + letter, "选项为空，但后面还有选项：请按 A、B、C… 连续填写")
        else:
            out.append((letter, text, feedback))
    for letter, text, feedback in filled:
        if feedback and not text:
            row.problem(FEEDBACK + letter, f"有反馈却没有选项{letter}")
    return out


def _rights(row: _Row, q: Question, options, required: bool) -> None:
    value = unicodedata.normalize("NFKC", row.get(RIGHT)).upper()
    index = {letter: i for i, (letter, _, _) in enumerate(options)}
    if not value:
        if required:
            row.problem(RIGHT, "缺少正确答案：填选项字母，如 B（多选如 ACD）")
        return
    for answer in q.answers:
        answer.fraction = 0.0
    if ":" in value:
        value = re.sub(r"\s*%", "%", re.sub(r"\s*:\s*", ":", value))
        for item in (i for i in SEPARATORS_RE.split(value) if i):
            m = WEIGHT_ITEM_RE.match(item)
            if m is None or m.group(1) not in index:
                row.problem(RIGHT, f"“{item}” 应写成 选项字母:得分%，如 A:50%，且该选项不能为空")
                continue
            q.answers[index[m.group(1)]].fraction = fraction_of(float(m.group(2)))
        return
    chosen = list(SEPARATORS_RE.sub("", value))
    bad = [ch for ch in chosen if ch not in index]
    if bad:
        row.problem(RIGHT, f"“{row.get(RIGHT)}” 应为已填写的选项字母，如 B 或 ACD")
        return
    if len(set(chosen)) != len(chosen):
        row.problem(RIGHT, "选项字母重复")
        return
    if q.type == "multichoice" and q.single and len(chosen) != 1:
        row.problem(RIGHT, "单选题只能有一个正确答案（部分得分请写 A:100%, B:50%）")
        return
    share = 1.0 if q.type != "multichoice" or q.single else round(1 / len(chosen), 7)
    for letter in chosen:
        q.answers[index[letter]].fraction = share


def _no_right(row: _Row, kind: str) -> None:
    if row.get(RIGHT):
        row.problem(RIGHT, f"{kind}不填正确答案，请留空")


def _number_cell(row: _Row, column: str, cell: str, default_tolerance: float):
    """ "60", "60±2", "60:2" or "50..70" → (value, tolerance), or None after a problem."""
    cell = unicodedata.normalize("NFKC", cell).strip()
    if ".." in cell[1:]:
        low, high = (parse_number(part) for part in cell.split("..", 1))
        if low is None or high is None or low > high:
            row.problem(column, f"数值范围 “{cell}” 应写成 下限..上限，如 50..70")
            return None
        return (low + high) / 2, (high - low) / 2
    m = NUMBER_CELL_RE.match(cell)
    value_text, tolerance = cell, default_tolerance
    if m:
        value_text = m.group(1)
        tolerance = parse_number(m.group(2))
        if tolerance is None or tolerance < 0:
            row.problem(column, f"“{cell}” 的误差应为非负数")
            return None
    value = parse_number(value_text)
    if value is None:
        row.problem(column, f"“{cell}” 不是数字")
        return None
    return value, tolerance


# -- writing ----------------------------------------------------------------------------

TEMPLATE_ROWS = 1000
WIDTHS = {TYPE: 8, ITEM: 22, DIMENSION: 10, DIFFICULTY: 6, NAME: 18, TEXT: 40, RIGHT: 12}
WIDTHS |= {TOLERANCE: 8, GENERAL: 24, GRADER: 30, CATEGORY: 18, FORMAT: 12}


def _headers(option_count: int) -> list[str]:
    letters = LETTERS[:option_count]
    return [
        TYPE, ITEM, DIMENSION, DIFFICULTY, NAME, TEXT, RIGHT,
        *(OPTION + x for x in letters), *(FEEDBACK + x for x in letters),
        TOLERANCE, GENERAL, GRADER, CATEGORY, FORMAT,
    ]  # fmt: skip


def _right_letters(q: Question) -> str:
    """正确答案 for options: letters when the fractions are the plain ones (single: one
    100 %; multiple: equal shares; short answer/numerical: 100 % or 0), else weights."""
    fractions = [a.fraction for a in q.answers]
    rights = [i for i, f in enumerate(fractions) if f != 0]
    if q.type == "multichoice" and q.single:
        plain = len(rights) == 1 and fractions[rights[0]] == 1.0
    elif q.type == "multichoice":
        share = round(1 / len(rights), 7) if rights else None
        plain = all(fractions[i] == share for i in rights)
    else:
        if all(f == 1.0 for f in fractions):
            return ""
        plain = all(fractions[i] == 1.0 for i in rights)
    if plain:
        return "".join(LETTERS[i] for i in rights)
    return ", ".join(f"{LETTERS[i]}:{percent_text(fractions[i])}%" for i in rights)


class _Writer:
    """The toolkit of a type's ``excel_write``."""

    RIGHT, TOLERANCE, OPTION, FEEDBACK = RIGHT, TOLERANCE, OPTION, FEEDBACK
    ARROW_RE = ARROW_RE
    right_letters = staticmethod(_right_letters)


def _row(q: Question) -> tuple[dict[str, object], list[str]]:
    kind = QUESTION_TYPES[q.type]
    cells: dict[str, object] = {
        TYPE: kind.excel_label(q),
        ITEM: q.item or "",
        DIMENSION: DIMENSIONS.get(q.dimension or "", ""),
        DIFFICULTY: q.difficulty if q.difficulty is not None else "",
        NAME: q.name,
        TEXT: q.text,
        GENERAL: q.general_feedback,
        GRADER: q.grader_info,
        CATEGORY: q.category or "",
        FORMAT: FORMAT_LABELS.get(q.text_format, q.text_format),
    }
    options, problems = kind.excel_write(q, cells, _Writer)
    if len(options) > len(LETTERS):
        problems.append(f"选项超过 {len(LETTERS)} 个")
        options = options[: len(LETTERS)]
    for letter, (text, feedback) in zip(LETTERS, options, strict=False):
        cells[OPTION + letter] = text
        cells[FEEDBACK + letter] = feedback
    return cells, problems


def _option_count(cells: list[dict]) -> int:
    used = [
        LETTERS.index(key[len(OPTION) :]) + 1
        for row in cells
        for key in row
        if key.startswith((OPTION, FEEDBACK))
    ]
    return max([TEMPLATE_OPTIONS, *used])


def _workbook(rows: list[dict[str, object]], template_rows: int) -> bytes:
    book = Book()
    headers = _headers(_option_count(rows))
    widths = [WIDTHS.get(c, 16 if c.startswith(OPTION) else 14) for c in headers]
    sheet = book.sheet(SHEET, headers, widths, wrap_columns=range(len(headers)), header="dark")
    for row in rows:
        sheet.append([row.get(column, "") for column in headers])
    last = max(template_rows, len(rows)) + 1
    for column, choices in (
        (TYPE, list(kinds())),
        (DIMENSION, list(DIMENSIONS.values())),
        (DIFFICULTY, ["1", "2", "3"]),
        (FORMAT, list(FORMAT_LABELS.values())),
    ):
        sheet.choices(headers.index(column), last, choices, title=column)
    notes = book.sheet(NOTES_SHEET, list(NOTES[0]), [12, 100], wrap_columns={1}, freeze=False)
    for line in NOTES[1:]:
        notes.append(list(line))
    return book.close()


def export(questions: Iterable[Question]) -> bytes:
    """An .xlsx with one row per question (and the 说明 sheet); raise ExportError listing
    every question the sheet cannot carry."""
    problems: list[tuple[int, str]] = []
    rows = []
    for position, q in enumerate(questions, 1):
        reasons = check_question(q)
        if not reasons:
            cells, more = _row(q)
            reasons += more
            rows.append(cells)
        problems.extend((position, f"“{q.name}”：{reason}") for reason in reasons)
    if problems:
        raise ExportError(problems)
    return _workbook(rows, template_rows=0)


def template() -> bytes:
    """The template: one example row per type, drop-down lists and the 说明 sheet."""
    return _workbook([_row(q)[0] for q in EXAMPLES], template_rows=TEMPLATE_ROWS)


ITEM_EXAMPLE = "id-card-renewal-home-service"
EXAMPLES = [
    Question(
        type="multichoice",
        name="身份证补领-本人到场",
        text="村民补领居民身份证，下列哪项说法正确？",
        answers=[
            Answer("必须本人到场采集人像和指纹", 1.0, "对，人证合一。"),
            Answer("可由子女拿户口簿代办", 0.0, "不对，需要本人到场。"),
            Answer("代办员可以代为签名领取", 0.0, "不对，不能代签。"),
        ],
        general_feedback="身份证须本人到场；行动不便的可以预约上门办证（以当地办事指南为准）。",
        text_format="plain",
        category="证明证照/居民身份证换领补领",
        item=ITEM_EXAMPLE,
        dimension="knowledge",
        difficulty=1,
    ),
    Question(
        type="multichoice",
        name="上门代办-规范做法",
        text="代办员上门为老人办理业务时，下列做法正确的有哪些？",
        single=False,
        answers=[
            Answer("出示工作证件，说明来意", 0.5),
            Answer("当面核对材料，一次性告知办理时限", 0.5),
            Answer("替老人保管身份证原件", 0.0, "原件应当面交还。"),
            Answer("收取上门服务费", 0.0, "代办服务不收费。"),
        ],
        text_format="plain",
        dimension="etiquette",
        difficulty=2,
    ),
    Question(
        type="truefalse",
        name="不得代签名",
        text="代办员可以替村民在申请表上代签名。",
        answers=[
            Answer("true", 0.0, "不对：签名须由本人或持委托书的受托人完成。"),
            Answer("false", 1.0, "正确。"),
        ],
        text_format="plain",
        dimension="etiquette",
        difficulty=1,
    ),
    Question(
        type="shortanswer",
        name="户籍证件",
        text="办理居民身份证时需要携带的户籍证件是____。",
        answers=[Answer("户口簿", 1.0), Answer("户口本", 1.0)],
        text_format="plain",
        item=ITEM_EXAMPLE,
        dimension="knowledge",
        difficulty=1,
    ),
    Question(
        type="numerical",
        name="换领工本费",
        text="换领居民身份证的工本费是每证多少元？（以当地办事指南为准）",
        answers=[Answer("20", 1.0, "", 0.0)],
        text_format="plain",
        item=ITEM_EXAMPLE,
        dimension="knowledge",
        difficulty=2,
    ),
    Question(
        type="matching",
        name="事项分类",
        text="把事项和它所属的类别配对。",
        pairs=[
            ("居民身份证补领", "证明证照"),
            ("电费缴纳", "充值缴费"),
            ("出生登记", "登记申领"),
        ],
        text_format="plain",
        dimension="knowledge",
        difficulty=2,
    ),
    Question(
        type="ordering",
        name="代办流程",
        text="按先后顺序排列代办的步骤。",
        order=[
            "接收村民申请，核对材料",
            "登记代办台账",
            "提交到镇（街道）便民服务中心",
            "领回办理结果，交还村民并签收",
        ],
        text_format="plain",
        dimension="knowledge",
        difficulty=2,
    ),
    Question(
        type="essay",
        name="材料不齐怎么办",
        text="村民带来的材料不齐，你会怎样向他一次性告知？",
        grader_info="说明缺哪些材料、去哪里开、办理时限；语气耐心；提出可以上门或预约办理。",
        text_format="plain",
        dimension="emergency",
        difficulty=3,
    ),
    Question(
        type="description",
        name="说明",
        text="以下题目根据本县办事指南编写，具体以当地办事指南为准。",
        text_format="plain",
    ),
]

NOTES = [
    ("列", "说明"),
    (TYPE, "必填：" + "、".join(kinds()) + "。每行一道题。"),
    (ITEM, "选填：题目对应的事项标识（英文小写和连字符），如 id-card-renewal-home-service。"),
    (DIMENSION, "选填：" + "、".join(DIMENSIONS.values()) + "。"),
    (DIFFICULTY, "选填：1（易）、2（中）、3（难）。"),
    (NAME, "选填：题目的简短名称；不填时取题干前 80 个字。"),
    (TEXT, "必填：题目正文。填空题可用 ____ 表示空格。"),
    (
        RIGHT,
        "单选：一个选项字母，如 B。多选：几个字母，如 ACD（正确选项平分 100%，其余 0 分）。"
        "部分得分写 A:100%, B:50%, D:-50%（未写的选项 0 分）。判断：对 或 错。"
        "填空：可接受的答案，多个用 | 分隔，如 户口簿|户口本"
        "（也可写在选项列，此列留空表示都算对）。"
        "数值：正确的数值，如 20（误差写在“误差”列）。配对、排序、简答、说明：留空。",
    ),
    (
        "选项A…",
        "单选、多选：各个选项，从 A 起连续填写，可增加 选项G、选项H… 列。"
        "填空、数值（需要多个答案或部分得分时）：每格一个答案；数值可写 60、60±2、50..70，"
        "* 表示“其他答案”（只为它写反馈）。"
        "配对：每格一组，写成 左 -> 右；只写 -> 右 的一格是干扰项（多出来的错误答案）。"
        "排序：按正确顺序每格一项。",
    ),
    (
        "反馈A…",
        "选填：学员选择该选项（或答出该答案）后看到的反馈。"
        "判断题：反馈A 为答“对”时的反馈，反馈B 为答“错”时的反馈。",
    ),
    (TOLERANCE, "数值题选填：允许的误差，如 0.5（默认 0）。"),
    (GENERAL, "选填：答题后所有人都能看到的解析。"),
    (GRADER, "简答题填写：专家评分时参考的要点。"),
    (CATEGORY, "选填：题目类别路径，用 / 分隔，如 证明证照/居民身份证换领补领。"),
    (FORMAT, "选填：" + "、".join(FORMAT_LABELS.values()) + "（默认纯文本）。"),
    ("", ""),
    ("规则", "第 1 行是表头，不要修改；从第 2 行起每行一道题。示例行可以删除或改写。"),
    ("", "导入时先检查全部题目：有任何错误都会列出行号和列名，且不导入任何一道题。"),
    ("", "内容不确定或各地不同时，请在题干中注明“以当地办事指南为准”。"),
    ("", f"一次最多导入 {MAX_ROWS} 道题。"),
]
