"""Validation of question bank files, question_banks/*.yaml (format: question_banks/README.md).

Pure: parsed YAML in, (questions, problems) out; every problem names its field.
"""

from __future__ import annotations

import re
from typing import Any

from academy.content.problems import Problem
from academy.questions.interchange import check_question_fields
from academy.questions.spec import DIMENSIONS, Answer, Question

ID_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
DIMENSION_BY_LABEL = {label: key for key, label in DIMENSIONS.items()}
TOP_KEYS = {"slug", "title", "item", "items", "category", "questions"}
TYPE_KEYS = {
    "multichoice": {"single", "answers"},
    "truefalse": {"answer", "feedback_true", "feedback_false"},
    "shortanswer": {"answers"},
    "numerical": {"answers"},
    "matching": {"pairs"},
    "ordering": {"order"},
    "essay": {"grader_info"},
    "description": set(),
}
COMMON_KEYS = {"id", "type", "dimension", "difficulty", "text", "general_feedback", "item", "name"}


def _text(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _answers(q: dict, where: str, add, numeric: bool = False) -> list[Answer]:
    raw = q.get("answers")
    if not isinstance(raw, list) or not raw:
        add(f"{where}.answers", "应为非空列表")
        return []
    out = []
    for i, a in enumerate(raw):
        here = f"{where}.answers[{i}]"
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
                    fraction / 100,
                    str(a.get("feedback", "") or ""),
                    float(tol),
                )
            )
        else:
            if not _text(a.get("text")):
                add(f"{here}.text", "应为非空文本")
                continue
            out.append(Answer(a["text"].strip(), fraction / 100, str(a.get("feedback", "") or "")))
    return out


def _valid_difficulty(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value in (1, 2, 3)


def tag_rules(q: Question, require_item: bool = False) -> list[tuple[str, str]]:
    """Every question but a description is tagged with a dimension and a difficulty (exams
    draw by them); ``require_item``: and with a service item (web editor, imports)."""
    if q.type == "description":
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
    if q.type == "essay" and not q.grader_info.strip():
        problems.append(("grader_info", "简答（人工评分）题需要写明评分要点"))
    if not answers or q.type != "multichoice":
        return problems
    if q.single and len(q.answers) < 3:
        problems.append(("answers", "单选题至少需要 3 个选项"))
    elif not q.single:
        if len([a for a in q.answers if a.fraction > 0]) < 2:
            problems.append(("answers", "多选题至少需要 2 个得分为正的正确选项"))
        if len(q.answers) < 4:
            problems.append(("answers", "多选题至少需要 4 个选项"))
    return problems


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
    problems: list[Problem] = []

    def add(field: str, reason: str) -> None:
        problems.append(Problem(path, field, reason))

    if not isinstance(data, dict):
        return [], [Problem(path, "(文件)", "文件顶层应为映射（键: 值）")]
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
    else:
        for i, ref in enumerate(items):
            if not isinstance(ref, str):
                add(f"items[{i}]", "应为事项标识（slug）文本")
            elif ref not in item_slugs:
                add(f"items[{i}]", f"事项 “{ref}” 不在目录 courses/catalogue.yaml 中")
    category = data.get("category")
    if category is not None and not _text(category):
        add("category", "应为文本，如 证明证照/居民身份证")
    raw = data.get("questions")
    if not isinstance(raw, list) or not raw:
        if "questions" in data:
            add("questions", "应为非空列表")
        return [], problems
    questions: list[Question] = []
    seen: dict[str, int] = {}
    for index, q in enumerate(raw):
        where = f"questions[{index}]"
        if not isinstance(q, dict):
            add(where, "每道题应为一个映射")
            continue
        qid = q.get("id")
        if isinstance(qid, str):
            where = f"questions[{index}]({qid})"
        before = len(problems)
        if not isinstance(qid, str) or not ID_RE.match(qid):
            add(f"{where}.id", "应为小写字母、数字、连字符组成的题号，如 q01")
        elif qid in seen:
            add(f"{where}.id", f"题号与 questions[{seen[qid]}] 重复")
        else:
            seen[qid] = index
        kind = q.get("type")
        if kind not in TYPE_KEYS:
            add(f"{where}.type", f"未知题型 “{kind}”，可选：{'、'.join(TYPE_KEYS)}")
            continue
        for key in sorted(set(q) - COMMON_KEYS - TYPE_KEYS[kind], key=str):
            add(f"{where}.{key}", f"{kind} 题不使用此字段")
        if not _text(q.get("text")):
            add(f"{where}.text", "题干应为非空文本")
        dimension = DIMENSION_BY_LABEL.get(q.get("dimension"))
        difficulty = q.get("difficulty")
        item = q.get("item", bank_item)
        if item is not None and item not in item_slugs:
            add(f"{where}.item", f"事项 “{item}” 不在目录中")
        question = Question(
            type=kind,
            name=str(q.get("name") or f"{data.get('slug')}-{qid}"),
            text=str(q.get("text", "")).strip(),
            general_feedback=str(q.get("general_feedback", "") or ""),
            text_format="markdown",
            category=category,
            item=item,
            dimension=dimension,
            difficulty=difficulty,
        )
        if kind == "multichoice":
            single = q.get("single", True)
            if not isinstance(single, bool):
                add(f"{where}.single", "应为 true 或 false")
            question.single = single is not False
            question.answers = _answers(q, where, add)
        elif kind == "truefalse":
            if not isinstance(q.get("answer"), bool):
                add(f"{where}.answer", "判断题的 answer 应为 true 或 false")
            else:
                truth = q["answer"]
                question.answers = [
                    Answer("true", 1.0 if truth else 0.0, str(q.get("feedback_true", "") or "")),
                    Answer("false", 0.0 if truth else 1.0, str(q.get("feedback_false", "") or "")),
                ]
        elif kind == "shortanswer":
            question.answers = _answers(q, where, add)
        elif kind == "numerical":
            question.answers = _answers(q, where, add, numeric=True)
        elif kind == "matching":
            pairs = q.get("pairs")
            if (
                not isinstance(pairs, list)
                or len(pairs) < 3
                or not all(
                    isinstance(p, list) and len(p) == 2 and all(_text(x) for x in p) for p in pairs
                )
            ):
                add(f"{where}.pairs", "配对题至少需要 3 组 [题, 答] 文本对")
            elif len({p[0] for p in pairs}) != len(pairs):
                add(f"{where}.pairs", "配对题左侧的题目不能重复")
            else:
                question.pairs = [(p[0].strip(), p[1].strip()) for p in pairs]
        elif kind == "ordering":
            order = q.get("order")
            if not isinstance(order, list) or len(order) < 3 or not all(_text(x) for x in order):
                add(f"{where}.order", "排序题至少需要 3 个步骤文本（按正确顺序列出）")
            elif len(set(order)) != len(order):
                add(f"{where}.order", "排序题的步骤不能重复")
            else:
                question.order = [x.strip() for x in order]
        elif kind == "essay" and _text(q.get("grader_info")):
            question.grader_info = q["grader_info"].strip()
        for field, reason in question_problems(question, answers=len(problems) == before):
            add(f"{where}.{field}", reason)
        if len(problems) == before:
            questions.append(question)
    return questions, problems
