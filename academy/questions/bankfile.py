"""Validation of question bank files, question_banks/*.yaml (format: question_banks/README.md).

Pure: parsed YAML in, (questions, problems) out; every problem names its field.
"""

from __future__ import annotations

import re
from typing import Any

from academy.content.problems import Problem
from academy.questions.interchange import fraction_of
from academy.questions.spec import DIMENSIONS, Answer, Question
from academy.questions.types import QUESTION_TYPES, check_question_fields
from academy.questions.types.base import is_number as _number
from academy.questions.types.base import is_text as _text

ID_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
DIMENSION_BY_LABEL = {label: key for key, label in DIMENSIONS.items()}
TOP_KEYS = {"slug", "title", "item", "items", "category", "questions"}
COMMON_KEYS = {"id", "type", "dimension", "difficulty", "text", "general_feedback", "item", "name"}


class _Context:
    """The toolkit of a type's ``bank_read``: problems named by field (of the question),
    answer lists."""

    def __init__(self, add) -> None:
        self.add = add

    def answers(self, q: dict, numeric: bool = False) -> list[Answer]:
        """``answers: [{text|value, fraction, feedback, tolerance}]`` (value and tolerance
        for ``numeric``)."""
        return _answers(q, "", self.add, numeric)


def _answers(q: dict, where: str, add, numeric: bool = False) -> list[Answer]:
    raw = q.get("answers")
    if not isinstance(raw, list) or not raw:
        add(f"{where}answers", "应为非空列表")
        return []
    out = []
    for i, a in enumerate(raw):
        here = f"{where}answers[{i}]"
        if not isinstance(a, dict):
            add(here, "应为映射，如 {text: …, fraction: 100}")
            continue
        fraction = a.get("fraction", 0)
        if not _number(fraction) or not -100 <= fraction <= 100:
            add(f"{here}.fraction", "得分比例应为 -100 到 100 之间的数（百分比）")
            continue
        if numeric:
            value, tol = a.get("value"), a.get("tolerance", 0)
            if not _number(value):
                add(f"{here}.value", "应为数字")
                continue
            if not _number(tol) or tol < 0:
                add(f"{here}.tolerance", "误差应为非负数")
                continue
            out.append(
                Answer(
                    repr(value) if isinstance(value, float) else str(value),
                    fraction_of(fraction),
                    str(a.get("feedback", "") or ""),
                    float(tol),
                )
            )
        else:
            if not _text(a.get("text")):
                add(f"{here}.text", "应为非空文本")
                continue
            out.append(
                Answer(a["text"].strip(), fraction_of(fraction), str(a.get("feedback", "") or ""))
            )
    return out


def _valid_difficulty(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value in (1, 2, 3)


def tag_rules(q: Question, require_item: bool = False) -> list[tuple[str, str]]:
    """Every question but a description is tagged with a dimension and a difficulty (exams
    draw by them); ``require_item``: and with a service item (web editor, imports)."""
    kind = QUESTION_TYPES.get(q.type)
    if kind is not None and not kind.scored:
        return []
    problems = []
    if require_item and not q.item:
        problems.append(("item", "缺少事项（考试按事项抽题）"))
    if q.dimension not in DIMENSIONS:
        problems.append(("dimension", f"维度应为：{'、'.join(DIMENSIONS.values())}"))
    if not _valid_difficulty(q.difficulty):
        problems.append(("difficulty", "难度应为 1、2 或 3"))
    return problems


def bank_rules(
    q: Question, require_item: bool = False, answers: bool = True
) -> list[tuple[str, str]]:
    """The banks' own policy on top of what grading needs (``check_question``): tags, a
    grader's guide for essays, enough options for a fair choice question."""
    problems = tag_rules(q, require_item)
    kind = QUESTION_TYPES.get(q.type)
    return problems + (kind.bank_rules(q, answers) if kind is not None else [])


def question_problems(
    q: Question, require_item: bool = False, answers: bool = True
) -> list[tuple[str, str]]:
    """Every reason a question cannot go into a bank, as (field, reason): what grading
    needs (``interchange.check_question``) and the banks' policy (``bank_rules``). The bank
    files and the web editor share it. ``answers=False`` when the answers could not be
    read at all (their problems are reported already): then only tags and grader info."""
    found = check_question_fields(q) if answers else []
    found += bank_rules(q, require_item, answers)
    return list(dict.fromkeys(found))  # without saying the same thing twice


def parse_bank(data: Any, path: str, item_slugs: set[str]) -> tuple[list[Question], list[Problem]]:
    """The questions of a bank file's YAML data, and every problem (nothing is half-read:
    a question with a problem is left out)."""
    problems: list[Problem] = []

    def add(field: str, reason: str) -> None:
        problems.append(Problem(path, field, reason))

    if not isinstance(data, dict):
        return [], [Problem(path, "(文件)", "文件顶层应为映射（键: 值）")]
    _check_top(data, add, item_slugs)
    raw = data.get("questions")
    if not isinstance(raw, list) or not raw:
        if "questions" in data:
            add("questions", "应为非空列表")
        return [], problems
    questions: list[Question] = []
    seen: dict[str, int] = {}
    for index, q in enumerate(raw):
        before = len(problems)
        question = _read_question(q, index, data, seen, add, item_slugs)
        if question is not None and len(problems) == before:
            questions.append(question)
    return questions, problems


def _check_top(data: dict, add, item_slugs: set[str]) -> None:
    for key in ("slug", "title", "questions"):
        if key not in data:
            add(key, "缺少必填字段")
    for key in sorted(set(data) - TOP_KEYS, key=str):
        add(str(key), "未知字段")
    bank_item = data.get("item")
    if bank_item is not None and bank_item not in item_slugs:
        add("item", f"事项 “{bank_item}” 不在目录 courses/catalogue.yaml 中")
    items = data.get("items", [])
    if not isinstance(items, list):
        add("items", "应为目录中事项标识（slug）的列表")
        items = []
    for i, ref in enumerate(items):
        if not isinstance(ref, str):
            add(f"items[{i}]", "应为事项标识（slug）文本")
        elif ref not in item_slugs:
            add(f"items[{i}]", f"事项 “{ref}” 不在目录 courses/catalogue.yaml 中")
    category = data.get("category")
    if category is not None and not _text(category):
        add("category", "应为文本，如 证明证照/居民身份证")


def _read_question(q: Any, index: int, data: dict, seen: dict, add, item_slugs) -> Question | None:
    """One entry of ``questions``: the question (its type reads its own keys), problems
    through ``add``; None when it cannot be read at all."""
    where = f"questions[{index}]"
    if not isinstance(q, dict):
        add(where, "每道题应为一个映射")
        return None
    qid = q.get("id")
    if isinstance(qid, str):
        where = f"questions[{index}]({qid})"
    problems: list[tuple[str, str]] = []
    if not isinstance(qid, str) or not ID_RE.match(qid):
        problems.append(("id", "应为小写字母、数字、连字符组成的题号，如 q01"))
    elif qid in seen:
        problems.append(("id", f"题号与 questions[{seen[qid]}] 重复"))
    else:
        seen[qid] = index
    name = q.get("type")
    kind = QUESTION_TYPES.get(name) if isinstance(name, str) else None
    if kind is None:
        problems.append(("type", f"未知题型 “{name}”，可选：{'、'.join(QUESTION_TYPES)}"))
        for field, reason in problems:
            add(f"{where}.{field}", reason)
        return None
    problems += [(str(key), f"{kind.name} 题不使用此字段")
                 for key in sorted(set(q) - COMMON_KEYS - kind.bank_keys, key=str)]  # fmt: skip
    if not _text(q.get("text")):
        problems.append(("text", "题干应为非空文本"))
    item = q.get("item", data.get("item"))
    if item is not None and item not in item_slugs:
        problems.append(("item", f"事项 “{item}” 不在目录中"))
    question = Question(
        type=kind.name,
        name=str(q.get("name") or readable_name(str(q.get("text", "")))),
        text=str(q.get("text", "")).strip(),
        general_feedback=str(q.get("general_feedback", "") or ""),
        text_format="markdown",
        category=data.get("category"),
        item=item,
        dimension=DIMENSION_BY_LABEL.get(q.get("dimension")),
        difficulty=q.get("difficulty"),
    )
    kind.bank_read(q, question, _Context(lambda field, reason: problems.append((field, reason))))
    problems += question_problems(question, answers=not problems)
    for field, reason in problems:
        add(f"{where}.{field}", reason)
    return question


def readable_name(text: str, length: int = 40) -> str:
    """A question's title when its file gives none: the start of its text, as a person reads
    it (markdown and tags dropped), never an identifier like ``bank-slug-q01``."""
    plain = " ".join(re.sub(r"[*_`#>]", "", re.sub(r"<[^>]+>", " ", text)).split())
    return plain if len(plain) <= length else plain[: length - 1] + "…"


def dump_question(q: Question, qid: str, bank_slug: str | None = None) -> dict:
    """One question as a bank file's YAML mapping (``parse_bank`` reads it back)."""
    out: dict = {"id": qid, "type": q.type}
    if bank_slug is None or q.name not in (readable_name(q.text), f"{bank_slug}-{qid}"):
        out["name"] = q.name
    if q.dimension:
        out["dimension"] = DIMENSIONS[q.dimension]
    if q.difficulty is not None:
        out["difficulty"] = q.difficulty
    if q.item:
        out["item"] = q.item
    out["text"] = q.text
    out.update(QUESTION_TYPES[q.type].bank_dump(q))
    if q.general_feedback:
        out["general_feedback"] = q.general_feedback
    return out


def dump_bank(slug: str, title: str, questions: list[Question], **top: Any) -> dict:
    """A bank file's YAML data (``item``, ``items``, ``category`` in ``top`` if wanted);
    question ids are q01, q02 …"""
    data: dict = {"slug": slug, "title": title, **{k: v for k, v in top.items() if v}}
    data["questions"] = [
        dump_question(q, f"q{index:02d}", slug) for index, q in enumerate(questions, 1)
    ]
    return data
