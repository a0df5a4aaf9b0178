"""What the interchange formats (GIFT, Moodle XML, Excel) and the question types share:
Moodle's naming rule, numbers and percentages, category paths and the academy's tags.

Pure and low-level: no database, no request, no question type (the checks every question
must pass are the types' own, ``types.check_question``).
"""

from __future__ import annotations

import re

from academy.questions.spec import DIMENSIONS, Question

PHP_TRIM = " \t\n\r\0\x0b"  # what PHP's trim() strips: Moodle trims with it, not \u3000
DEFAULT_NAME = "未命名题目"
NAME_MAX = 200  # question.name is String(200)
COURSE_PREFIX = "$course$/"
DIMENSION_BY_LABEL = {label: key for key, label in DIMENSIONS.items()}
SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")  # as in content/catalogue.py
NUMBER_RE = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$")


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


def pct(fraction: float) -> str:
    """0.5 → "50%"."""
    return f"{percent_text(float(fraction))}%"
