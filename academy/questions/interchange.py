"""What the interchange formats (GIFT, Moodle XML, Excel) share: Moodle's naming rule,
numbers and percentages, category paths, the academy's tags, and the checks every
imported question must pass before it can be graded here.

Pure: no database, no request. The checks are the ones Moodle itself applies when it
saves an imported question (a single-choice question needs a 100 % answer, the positive
grades of a multiple-choice question add up to 100 %, short-answer and numerical
questions need a 100 % answer) plus what this academy's grading needs (matching ≥ 3
pairs, ordering ≥ 3 distinct items, numbers that are numbers). The bank's own policy
(e.g. at least 3 options for a single-choice question) stays in ``bankfile``.
"""

from __future__ import annotations

import re
from pathlib import Path

from academy.questions.spec import DIMENSIONS, FORMATS, TYPES, Question

PHP_TRIM = " \t\n\r\0\x0b"  # what PHP's trim() strips: Moodle trims with it, not \u3000
DEFAULT_NAME = "未命名题目"
NAME_MAX = 200  # question.name is String(200)
COURSE_PREFIX = "$course$/"
DIMENSION_BY_LABEL = {label: key for key, label in DIMENSIONS.items()}
SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")  # as in content/catalogue.py
NUMBER_RE = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$")
FORMAT_BY_SUFFIX = {".gift": "gift", ".txt": "gift", ".xml": "xml", ".xlsx": "xlsx"}
TYPE_LABELS = {
    "multichoice": "选择题",
    "truefalse": "判断题",
    "shortanswer": "填空题",
    "numerical": "数值题",
    "matching": "配对题",
    "ordering": "排序题",
    "essay": "简答题",
    "description": "说明",
}


def php_trim(text: str) -> str:
    return text.strip(PHP_TRIM)


def strip_tags(text: str) -> str:
    return re.sub(r"<[^>]*>", "", text)


def default_name(text: str) -> str:
    """Moodle's ``create_default_question_name``: ``shorten_text(questiontext, 80)`` then
    ``clean_question_name`` (tags stripped, trimmed). shorten_text keeps 77 characters and
    adds "..."; it breaks after the last space or full stop, but anywhere in CJK text."""
    plain = php_trim(strip_tags(text))
    ideal, ending = 80, "..."
    if len(plain) > ideal:
        left = ideal - len(ending)
        cut = left
        while cut > 0:
            char = plain[cut] if cut < len(plain) else ""
            if char and char != "0" and (char in ". " or len(char.encode()) > 2):
                cut += 1
                break
            cut -= 1
        if cut == 0 or cut > left:
            cut = left
        plain = plain[:cut] + ending
    return php_trim(plain) or DEFAULT_NAME


def parse_number(text: str) -> float | None:
    """A number as PHP's is_numeric reads it (no inf, nan, hex or digit separators)."""
    text = php_trim(text)
    return float(text) if NUMBER_RE.match(text) else None


def number_text(value: float) -> str:
    """60.0 → "60", 60.5 → "60.5" (the way bank files write numerical answers)."""
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def percent_text(fraction: float) -> str:
    """0.5 → "50", 0.3333333 → "33.33333" (Moodle keeps 7 decimals of a fraction)."""
    text = f"{fraction * 100:.5f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def fraction_of(percent: float) -> float:
    return round(percent / 100, 7)


def category_from_moodle(path: str) -> str | None:
    """``$course$/top/证明证照`` → ``top/证明证照``; other contexts are kept as written."""
    path = php_trim(path)
    if path.startswith(COURSE_PREFIX):
        path = path[len(COURSE_PREFIX) :]
    elif path == COURSE_PREFIX.rstrip("/"):
        path = ""
    return php_trim(path) or None


def category_to_moodle(category: str) -> str:
    return category if category.startswith("$") else COURSE_PREFIX + category


def apply_tags(question: Question, tags: dict[str, str]) -> list[str]:
    """Set item/dimension/difficulty from ``{"item": …, "dimension": …, "difficulty": …}``;
    return the reasons for any bad value (the field is then left unset)."""
    problems = []
    for key, value in tags.items():
        value = value.strip()
        if key == "item":
            if SLUG_RE.match(value) and len(value) <= 80:
                question.item = value
            else:
                problems.append(
                    f"事项标识 “{value}” 应为小写字母、数字和连字符，如 id-card-renewal"
                )
        elif key == "dimension":
            dimension = value if value in DIMENSIONS else DIMENSION_BY_LABEL.get(value)
            if dimension is None:
                choices = "、".join(f"{k}（{v}）" for k, v in DIMENSIONS.items())
                problems.append(f"维度 “{value}” 不正确，应为 {choices}")
            else:
                question.dimension = dimension
        elif key == "difficulty":
            if value in ("1", "2", "3"):
                question.difficulty = int(value)
            else:
                problems.append(f"难度 “{value}” 不正确，应为 1、2 或 3")
        else:
            problems.append(f"未知的标注 “{key}”，可用：item、dimension、difficulty")
    return problems


def tags_of(question: Question) -> dict[str, str]:
    tags = {}
    if question.item:
        tags["item"] = question.item
    if question.dimension:
        tags["dimension"] = question.dimension
    if question.difficulty is not None:
        tags["difficulty"] = str(question.difficulty)
    return tags


def _pct(fraction: float) -> str:
    return f"{percent_text(fraction)}%"


def check_question(q: Question) -> list[str]:
    """Why this question cannot be imported (empty list = fine)."""
    return [reason for _, reason in check_question_fields(q)]


def check_question_fields(q: Question) -> list[tuple[str, str]]:
    """``check_question`` with the field each problem is about: name, text, text_format,
    difficulty, dimension, answers, pairs or order (the web editor shows it there)."""
    problems: list[tuple[str, str]] = []

    def on(field: str):
        return lambda reason: problems.append((field, reason))

    if q.type not in TYPES:
        return [("type", f"未知题型 “{q.type}”")]
    if not php_trim(q.name):
        on("name")("题目名称不能为空")
    elif len(q.name) > NAME_MAX:
        on("name")(f"题目名称不能超过 {NAME_MAX} 个字（现为 {len(q.name)} 个）")
    if not php_trim(q.text):
        on("text")("题干不能为空")
    if q.text_format not in FORMATS:
        on("text_format")(f"文本格式 “{q.text_format}” 不正确，应为 {'、'.join(FORMATS)}")
    if q.difficulty is not None and q.difficulty not in (1, 2, 3):
        on("difficulty")("难度应为 1、2 或 3")
    if q.dimension is not None and q.dimension not in DIMENSIONS:
        on("dimension")(f"维度应为 {'、'.join(DIMENSIONS)}")
    add = on("answers")
    for a in q.answers:
        if not -1.0 <= a.fraction <= 1.0:
            add(f"答案 “{a.text}” 的得分 {_pct(a.fraction)} 超出 -100% 到 100% 的范围")
        if not php_trim(a.text):
            add("答案不能为空")
    if q.type == "multichoice":
        _check_multichoice(q, add)
    elif q.type == "truefalse":
        texts = sorted(a.text for a in q.answers)
        rights = [a for a in q.answers if a.fraction == 1.0]
        if texts != ["false", "true"] or len(rights) != 1:
            add("判断题应有 true 和 false 两个答案，其中一个得分 100%")
    elif q.type in ("shortanswer", "numerical"):
        if not q.answers:
            add("至少需要一个答案")
        elif not any(a.fraction == 1.0 for a in q.answers):
            add("至少需要一个得分 100% 的答案")
        if q.type == "numerical":
            for a in q.answers:
                if parse_number(a.text) is None:
                    add(f"数值题的答案 “{a.text}” 不是数字")
                if a.tolerance is not None and a.tolerance < 0:
                    add(f"答案 {a.text} 的误差不能为负数")
    elif q.type == "matching":
        add = on("pairs")
        if len(q.pairs) < 3:
            add(f"配对题至少需要 3 组配对（现有 {len(q.pairs)} 组）")
        if any(not php_trim(left) or not php_trim(right) for left, right in q.pairs):
            add("配对题每组的左右两边都不能为空")
        lefts = [left for left, _ in q.pairs]
        if len(set(lefts)) != len(lefts):
            add("配对题左边的题目不能重复")
    elif q.type == "ordering":
        add = on("order")
        if len(q.order) < 3:
            add(f"排序题至少需要 3 项（现有 {len(q.order)} 项）")
        if any(not php_trim(item) for item in q.order):
            add("排序题的项目不能为空")
        if len(set(q.order)) != len(q.order):
            add("排序题的项目不能重复")
    return problems


def _check_multichoice(q: Question, add) -> None:
    if len(q.answers) < 2:
        add(f"选择题至少需要 2 个选项（现有 {len(q.answers)} 个）")
        return
    if q.single:
        if max(a.fraction for a in q.answers) != 1.0:
            add("单选题需要一个得分 100% 的正确选项")
    else:
        total = sum(a.fraction for a in q.answers if a.fraction > 0)
        if round(total, 2) != 1.0:
            add(f"多选题正确选项的得分之和应为 100%，现为 {percent_text(total)}%")


def guess_format(filename: str) -> str | None:
    return FORMAT_BY_SUFFIX.get(Path(filename).suffix.lower())


def parse_file(data: bytes, fmt: str) -> list[Question]:
    """Parse a GIFT, Moodle XML or Excel file; raise ``ParseError`` with every problem."""
    if fmt == "gift":
        from academy.questions import gift

        return gift.parse(data)
    if fmt == "xml":
        from academy.questions import moodlexml

        return moodlexml.parse(data)
    if fmt == "xlsx":
        from academy.questions import excel

        return excel.parse(data)
    raise ValueError(f"unknown format {fmt!r}")
