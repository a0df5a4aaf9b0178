"""The roster as an Excel sheet: template, export, and reading an uploaded roster.

Pure: bytes or values in, rows and problems out; no database, no request. Every problem
of an upload is collected as (row as Excel shows it, column header, reason) so that the
user sees them all at once; the importer (``importer.py``) then matches the valid rows
against the database.

A row describes one posting of one person:

- without 离岗日期: the person serves (from 到岗日期) at that village — a new agent, an
  unchanged one, new personal details, a transfer from another village, or a return;
- with 离岗日期 and 离岗原因: that posting ended — marks an active agent as left, or is
  history already recorded (an export of “全部记录” re-imports as unchanged).

Blank optional cells (身份证号, 出生年份, 性别, 文化程度) leave what the roster holds.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache

from academy.db import LabelledEnum
from academy.roster import rules
from academy.roster.models import AgentKind, Education, Gender, LeaveReason
from academy.xlsx import Book, XlsxError, read_rows

TOWNSHIP = "镇街"
VILLAGE = "村社"
NAME = "姓名"
PHONE = "联系电话"
ID_NUMBER = "身份证号"
BIRTH_YEAR = "出生年份"
GENDER = "性别"
EDUCATION = "文化程度"
KIND = "身份"
JOINED_ON = "到岗日期"
LEFT_ON = "离岗日期"
LEAVE_REASON = "离岗原因"

COLUMNS = (
    TOWNSHIP,
    VILLAGE,
    NAME,
    PHONE,
    ID_NUMBER,
    BIRTH_YEAR,
    GENDER,
    EDUCATION,
    KIND,
    JOINED_ON,
    LEFT_ON,
    LEAVE_REASON,
)
REQUIRED_COLUMNS = (TOWNSHIP, VILLAGE, NAME, PHONE, KIND, JOINED_ON)
# Headers people write instead of ours (after notes in brackets and spaces are dropped).
HEADER_ALIASES = {
    "镇街道": TOWNSHIP,
    "乡镇街道": TOWNSHIP,
    "乡镇": TOWNSHIP,
    "镇": TOWNSHIP,
    "村": VILLAGE,
    "村社区": VILLAGE,
    "村居": VILLAGE,
    "电话": PHONE,
    "手机": PHONE,
    "手机号": PHONE,
    "手机号码": PHONE,
    "联系方式": PHONE,
    "身份证": ID_NUMBER,
    "身份证号码": ID_NUMBER,
    "公民身份号码": ID_NUMBER,
    "学历": EDUCATION,
    "代办员身份": KIND,
    "类别": KIND,
}
SHEET_TITLE = "花名册"
MAX_ROWS = 60_000
MAX_TEXT = 40
DATE_EXAMPLE = "2026-03-01"

# Values people write for the enumerations, besides the labels themselves.
KIND_ALIASES = {
    "专职": AgentKind.FULL_TIME,
    "兜底": AgentKind.FALLBACK,
    "志愿": AgentKind.VOLUNTEER,
}
EDUCATION_ALIASES = {
    "高中": Education.SENIOR,
    "中专": Education.SENIOR,
    "职高": Education.SENIOR,
    "技校": Education.SENIOR,
    "本科": Education.BACHELOR,
    "研究生": Education.BACHELOR,
    "硕士": Education.BACHELOR,
    "博士": Education.BACHELOR,
    "专科": Education.COLLEGE,
    "大专及以下": Education.COLLEGE,
}
SCIENTIFIC = re.compile(r"^[0-9](?:\.[0-9]+)?E\+?[0-9]+$", re.IGNORECASE)
DATE_RE = re.compile(
    r"^([0-9]{4})\s*[-/.年]\s*([0-9]{1,2})\s*[-/.月]\s*([0-9]{1,2})\s*日?"
    r"(?:\s+[0-9]{1,2}:[0-9]{2}(?::[0-9]{2})?)?$"
)
COMPACT_DATE_RE = re.compile(r"^([0-9]{4})([0-9]{2})([0-9]{2})$")
YEAR_RE = re.compile(r"^([0-9]{4})(?:\.0+)?\s*年?$")
SPACES = re.compile(r"\s+")


class RosterFileError(ValueError):
    """The upload as a whole cannot be read (not a workbook, headers missing, too big)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True, order=True, slots=True)
class RowProblem:
    row: int  # as Excel shows it: the header is row 1, the first data row is row 2
    column: str
    reason: str


@dataclass(frozen=True, slots=True)
class RowSpec:
    """One valid row of an upload (or one posting of an export), values normalised."""

    row: int
    township: str
    village: str
    name: str
    phone: str
    kind: AgentKind
    joined_on: date
    id_number: str | None = None
    birth_year: int | None = None
    gender: Gender | None = None
    education: Education | None = None
    left_on: date | None = None
    leave_reason: LeaveReason | None = None

    @property
    def open(self) -> bool:
        """The row says the person serves there now (no 离岗日期)."""
        return self.left_on is None


@dataclass
class ParsedRoster:
    specs: list[RowSpec]
    problems: list[RowProblem]
    rows: int  # data rows read (blank rows are skipped)
    # (row, 镇街, 村社) of every row naming a place, valid or not, so that unknown or
    # out-of-scope places are reported together with the rows' other problems.
    places: list[tuple[int, str, str]] = field(default_factory=list)


# --- reading -----------------------------------------------------------------------------


def read_roster(data: bytes, today: date) -> ParsedRoster:
    """Read an uploaded workbook. File-level faults raise RosterFileError; row faults are
    returned, every one of them, with the rows that are valid."""
    try:
        sheet_rows = list(read_rows(data, max_rows=MAX_ROWS + 2, prefer_sheet=SHEET_TITLE))
    except XlsxError as err:
        raise RosterFileError(
            f"无法读取上传的文件：{err.message}请上传用本页模板填写的 .xlsx 文件。"
        ) from err
    if not sheet_rows:
        raise RosterFileError("文件是空的：请在模板的“花名册”工作表中填写，第 1 行为表头。")
    header, body = sheet_rows[0], sheet_rows[1:]
    columns = header_columns(header.cells, header.number)
    if not body:
        raise RosterFileError("文件中只有表头，没有要导入的人员。")
    if len(body) > MAX_ROWS:
        raise RosterFileError(
            f"文件超过 {MAX_ROWS:,} 行，无法一次导入；请按镇街拆分成几个文件分别导入。"
        )
    return parse_rows(((r.number, r.cells) for r in body), columns, today)


def header_columns(cells: list[str], row_number: int = 1) -> dict[str, int]:
    """Our column name -> index in the sheet. Raises RosterFileError naming every
    missing, unknown or repeated header."""
    found: dict[str, int] = {}
    unknown, repeated = [], []
    for index, raw in enumerate(cells):
        label = normalise_header(raw)
        if not label:
            continue
        name = label if label in COLUMNS else HEADER_ALIASES.get(label)
        if name is None:
            unknown.append(raw.strip())
        elif name in found:
            repeated.append(name)
        else:
            found[name] = index
    missing = [c for c in REQUIRED_COLUMNS if c not in found]
    if not missing and not unknown and not repeated:
        return found
    reasons = []
    if missing:
        reasons.append("缺少列：" + "、".join(missing))
    if unknown:
        reasons.append("无法识别的列：" + "、".join(f"“{u}”" for u in unknown))
    if repeated:
        reasons.append("重复的列：" + "、".join(repeated))
    raise RosterFileError(
        f"第 {row_number} 行的表头不符合模板（{'；'.join(reasons)}）。"
        f"表头应为：{'、'.join(COLUMNS)}；请下载模板，不需要的列请删除。"
    )


def normalise_header(value: str) -> str:
    text = SPACES.sub("", rules.normalise_text(value)).strip("*＊")
    # Notes in brackets, e.g. 身份（专职代办员/兜底代办员/志愿者） or 到岗日期(必填)
    return re.sub(r"[（(][^）)]*[）)]$", "", text).strip("*＊")


def parse_rows(
    rows: Iterable[tuple[int, list[str]]], columns: dict[str, int], today: date
) -> ParsedRoster:
    specs: list[RowSpec] = []
    problems: list[RowProblem] = []
    places: list[tuple[int, str, str]] = []
    seen = _Duplicates()
    count = 0
    for number, cells in rows:
        count += 1
        spec = _parse_row(number, cells, columns, today, problems, seen, places)
        if spec is not None:
            specs.append(spec)
    problems.sort(key=lambda p: (p.row, _column_order(p.column)))
    return ParsedRoster(specs, problems, count, places)


def _column_order(column: str) -> int:
    return COLUMNS.index(column) if column in COLUMNS else len(COLUMNS)


def _parse_row(
    number: int,
    cells: list[str],
    columns: dict[str, int],
    today: date,
    problems: list[RowProblem],
    seen: _Duplicates,
    places: list[tuple[int, str, str]],
) -> RowSpec | None:
    before = len(problems)

    def cell(column: str) -> str:
        index = columns.get(column)
        if index is None or index >= len(cells):
            return ""
        return rules.normalise_text(cells[index])

    def problem(column: str, reason: str) -> None:
        problems.append(RowProblem(number, column, reason))

    def required_text(column: str) -> str:
        value = SPACES.sub(" ", cell(column))
        if not value:
            problem(column, f"请填写{column}。")
        elif len(value) > MAX_TEXT:
            problem(column, f"{column}不能超过 {MAX_TEXT} 个字。")
        return value

    township = required_text(TOWNSHIP)
    village = required_text(VILLAGE)
    if township and village and len(problems) == before:
        places.append((number, township, village))
    name = required_text(NAME)

    phone = rules.normalise_phone(cell(PHONE))
    if not phone:
        problem(PHONE, "请填写联系电话。")
    elif (reason := rules.phone_problem(phone)) is not None:
        problem(PHONE, _with_value(phone, reason))
        phone = ""

    id_number = rules.normalise_id_number(cell(ID_NUMBER)) or None
    if id_number is not None:
        if SCIENTIFIC.match(id_number):
            problem(
                ID_NUMBER,
                f"身份证号被 Excel 存成了数字（{id_number}），末几位已经丢失；"
                "请把这一列设为“文本”格式后重新输入。",
            )
            id_number = None
        elif (reason := rules.id_number_problem(id_number, today)) is not None:
            problem(ID_NUMBER, _with_value(id_number, reason))
            id_number = None

    birth_year = None
    raw_year = cell(BIRTH_YEAR)
    if raw_year:
        match = YEAR_RE.match(raw_year)
        if match is None:
            problem(BIRTH_YEAR, f"“{raw_year}”不是四位数的年份，如 1975。")
        else:
            birth_year = int(match.group(1))
            reason = rules.birth_year_problem(birth_year, today)
            if reason is not None:
                problem(BIRTH_YEAR, reason)
            elif id_number and rules.birth_year_from_id(id_number) != birth_year:
                problem(
                    BIRTH_YEAR,
                    f"出生年份与身份证号中的出生年份（{rules.birth_year_from_id(id_number)}）不一致。",
                )

    gender = _choice(cell(GENDER), GENDER, problem)
    if gender is not None and id_number and _gender_from_id(id_number) != gender:
        problem(GENDER, "性别与身份证号不一致（身份证号第 17 位单数为男，双数为女）。")
    education = _choice(cell(EDUCATION), EDUCATION, problem)
    kind = _choice(cell(KIND), KIND, problem, required=True)

    joined_on = _date(cell(JOINED_ON), JOINED_ON, problem, required=True)
    if joined_on is not None and joined_on > today:
        problem(JOINED_ON, "到岗日期不能晚于今天。")
        joined_on = None
    left_on = _date(cell(LEFT_ON), LEFT_ON, problem, required=False)
    raw_reason = cell(LEAVE_REASON)
    reason_value = _choice(raw_reason, LEAVE_REASON, problem)
    if left_on is not None and not raw_reason:
        problem(LEAVE_REASON, "填写了离岗日期，请同时填写离岗原因。")
    if raw_reason and not cell(LEFT_ON):
        problem(LEFT_ON, "填写了离岗原因，请同时填写离岗日期。")
    if left_on is not None and joined_on is not None:
        reason = rules.departure_problem(joined_on, left_on, today)
        if reason is not None:
            problem(LEFT_ON, reason)

    seen.check(number, name, phone, id_number, not cell(LEFT_ON), village, joined_on, problem)
    if len(problems) > before:
        return None
    return RowSpec(
        row=number,
        township=township,
        village=village,
        name=name,
        phone=phone,
        kind=kind,
        joined_on=joined_on,
        id_number=id_number,
        birth_year=birth_year,
        gender=gender,
        education=education,
        left_on=left_on,
        leave_reason=reason_value,
    )


def _with_value(value: str, reason: str) -> str:
    return f"“{value}”：{reason}"


def _gender_from_id(id_number: str) -> Gender:
    return Gender.MALE if int(id_number[16]) % 2 else Gender.FEMALE


def _choice_map(enum_cls: type[LabelledEnum], aliases: dict) -> dict[str, LabelledEnum]:
    return {**{m.value: m for m in enum_cls}, **aliases, **{m.label: m for m in enum_cls}}


CHOICES = {
    GENDER: (Gender, _choice_map(Gender, {"男性": Gender.MALE, "女性": Gender.FEMALE})),
    EDUCATION: (Education, _choice_map(Education, EDUCATION_ALIASES)),
    KIND: (AgentKind, _choice_map(AgentKind, KIND_ALIASES)),
    LEAVE_REASON: (LeaveReason, _choice_map(LeaveReason, {})),
}


def _choice(value: str, column: str, problem: Callable[[str, str], None], required: bool = False):
    """The enum member a cell names (by its label, a common alias or its code)."""
    if not value:
        if required:
            problem(column, f"请填写{column}。")
        return None
    enum_cls, choices = CHOICES[column]
    member = choices.get(SPACES.sub("", value))
    if member is None:
        allowed = "、".join(m.label for m in enum_cls)
        problem(column, f"“{value}”不是有效的{column}，应为：{allowed}。")
    return member


@lru_cache(maxsize=4096)
def parse_date(value: str) -> date | None:
    """2026-03-01, 2026/3/1, 2026.3.1, 2026年3月1日, 20260301 (and an Excel date cell,
    which the reader gives as 2026-03-01). None if it is not a real date."""
    match = DATE_RE.match(value) or COMPACT_DATE_RE.match(value)
    if match is None:
        return None
    try:
        return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError:
        return None


def _date(value: str, column: str, problem, required: bool) -> date | None:
    if not value:
        if required:
            problem(column, f"请填写{column}，如 {DATE_EXAMPLE}。")
        return None
    parsed = parse_date(SPACES.sub(" ", value))
    if parsed is None or parsed.year < 1950:
        problem(column, f"“{value}”不是有效日期，请写成 {DATE_EXAMPLE} 或 2026/3/1。")
        return None
    return parsed


class _Duplicates:
    """One person may have one row without 离岗日期 (where they serve now) and any number
    of rows of postings that ended — but never the same row twice."""

    def __init__(self) -> None:
        self.open: dict[tuple, int] = {}
        self.closed: dict[tuple, int] = {}

    def check(self, number, name, phone, id_number, is_open, village, joined_on, problem):
        keys = []
        if id_number:
            keys.append((ID_NUMBER, ("id", id_number)))
        if name and phone:
            keys.append((NAME, ("person", name, phone)))
        for column, key in keys:
            if is_open:
                first = self.open.setdefault(key, number)
                what = "身份证号相同" if column == ID_NUMBER else "姓名和联系电话相同"
                if first != number:
                    problem(
                        column,
                        f"与第 {first} 行是同一人（{what}）："
                        "每人只能有一行不填离岗日期的在岗记录。",
                    )
                    return
            elif village and joined_on:
                first = self.closed.setdefault((key, village, joined_on), number)
                if first != number:
                    problem(column, f"与第 {first} 行重复（同一人、同一村社、同一到岗日期）。")
                    return


# --- writing -----------------------------------------------------------------------------

WIDTHS = {
    TOWNSHIP: 12,
    VILLAGE: 14,
    NAME: 10,
    PHONE: 16,
    ID_NUMBER: 22,
    BIRTH_YEAR: 10,
    GENDER: 6,
    EDUCATION: 12,
    KIND: 14,
    JOINED_ON: 12,
    LEFT_ON: 12,
    LEAVE_REASON: 12,
}
TEXT_COLUMNS = (PHONE, ID_NUMBER)
DATE_COLUMNS = (JOINED_ON, LEFT_ON)
DATE_FORMAT = "yyyy-mm-dd"
TEMPLATE_ROWS = 2000  # rows prepared with formats and drop-down lists

NOTES = [
    ("列", "说明"),
    (TOWNSHIP, "必填。镇街全称，如“澄潭街道”，见“村社名单”工作表。"),
    (VILLAGE, "必填。村（社区）全称，须属于所填镇街。镇街负责人只能导入本镇街的村社。"),
    (NAME, "必填。"),
    (PHONE, "必填。手机号 11 位，或座机如 0575-86012345。本列为文本格式，请勿改为数字。"),
    (
        ID_NUMBER,
        "选填但建议填写：18 位，末位可为 X。系统按身份证号识别同一人，未填时按姓名+联系电话识别。",
    ),
    (BIRTH_YEAR, "选填。四位数，如 1975；填了身份证号可不填。"),
    (GENDER, "选填：男、女。"),
    (EDUCATION, "选填：" + "、".join(e.label for e in Education) + "。"),
    (KIND, "必填：" + "、".join(k.label for k in AgentKind) + "。"),
    (JOINED_ON, f"必填。如 {DATE_EXAMPLE} 或 2026/3/1。"),
    (LEFT_ON, "仅在登记离岗时填写；新增人员请留空。"),
    (LEAVE_REASON, "填写离岗日期时必填：" + "、".join(r.label for r in LeaveReason) + "。"),
    ("", ""),
    ("规则", "每人一行在岗记录：不填离岗日期表示此人在该村社在岗。"),
    ("", "花名册中没有的人将新增；已有的人按此行更新联系电话等信息；村社不同即办理调动。"),
    ("", "填写离岗日期和原因即登记离岗；历史记录保留，不会删除。"),
    ("", "选填项留空表示不修改花名册中的原有信息。"),
    ("", "上传后先校验并预览，确认后才一次性全部导入；有任何错误则不导入任何一行。"),
    ("", "调动请在新村社的行中填写（到岗日期即调动日期），不要用离岗原因“调动”。"),
    ("", f"一次最多 {MAX_ROWS:,} 行，文件不超过 20 MB。"),
]


def _roster_sheet(book: Book):
    text = [COLUMNS.index(c) for c in TEXT_COLUMNS]
    sheet = book.sheet(
        SHEET_TITLE,
        list(COLUMNS),
        [WIDTHS[c] for c in COLUMNS],
        text_columns=text,
        header="dark",
    )
    for column in DATE_COLUMNS:
        index = COLUMNS.index(column)
        sheet.ws.set_column(index, index, WIDTHS[column], book.date)
    return sheet


def template_workbook(villages: list[tuple[str, str]]) -> bytes:
    """The empty roster template, with drop-down lists and the user's villages."""
    book = Book()
    sheet = _roster_sheet(book)
    last = TEMPLATE_ROWS + 1
    for index, column in enumerate(COLUMNS):
        choices = {
            GENDER: [g.label for g in Gender],
            EDUCATION: [e.label for e in Education],
            KIND: [k.label for k in AgentKind],
            LEAVE_REASON: [r.label for r in LeaveReason if r != LeaveReason.TRANSFERRED],
        }.get(column)
        if choices:
            sheet.choices(index, last, choices, title=column)
    if villages:
        for column, source in ((TOWNSHIP, "A"), (VILLAGE, "B")):
            sheet.choices(
                COLUMNS.index(column),
                last,
                f"='村社名单'!${source}$2:${source}${len(villages) + 1}",
            )

    names = book.sheet("村社名单", [TOWNSHIP, VILLAGE], [14, 18], freeze=False)
    for township, village in villages:
        names.append([township, village])

    notes = book.sheet("填写说明", list(NOTES[0]), [12, 90], wrap_columns={1}, freeze=False)
    for line in NOTES[1:]:
        notes.append(list(line))
    return book.close()


def export_workbook(specs: Iterable[RowSpec]) -> bytes:
    """Postings as rows under the template's headers, so that an export re-imports."""
    book = Book()
    sheet = _roster_sheet(book)
    for s in specs:
        sheet.append(
            [
                s.township,
                s.village,
                s.name,
                s.phone,
                s.id_number,
                s.birth_year,
                s.gender.label if s.gender else None,
                s.education.label if s.education else None,
                s.kind.label,
                s.joined_on,
                s.left_on,
                s.leave_reason.label if s.leave_reason else None,
            ]
        )
    return book.close()
