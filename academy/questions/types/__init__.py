"""The question types: one class each, registered by name (see ``base`` for what a type
owns and how to add one). ``check_registry`` runs at start-up and by ``content check``.

Also the checks every question passes before it can be graded here, whatever its source
(a bank file, the web editor, an imported file): Moodle's own checks when it saves a
question (a single-choice question needs a 100 % answer, the positive grades of a
multiple-choice question add up to 100 %, …) plus what this academy's grading needs.
"""

from __future__ import annotations

import inspect

from academy.questions.interchange import NAME_MAX, pct, php_trim
from academy.questions.spec import DIMENSIONS, FORMATS, Question

# The built-in types, registered in the order lists and menus show them.
# isort: off
from academy.questions.types import choice, textual, matching, ordering, essay  # noqa: F401

# isort: on
from academy.questions.types.base import (
    QUESTION_TYPES,
    REQUIRED_HOOKS,
    Presentation,
    QuestionType,
    ResponseError,
    get_type,
    question_type,
    unregister,
)
from academy.questions.types.matching import items as matching_items
from academy.questions.types.matching import matching_options

__all__ = [
    "QUESTION_TYPES",
    "Presentation",
    "QuestionType",
    "ResponseError",
    "check_question",
    "check_question_fields",
    "check_registry",
    "expert_marked",
    "get_type",
    "matching_items",
    "matching_options",
    "names",
    "question_type",
    "unregister",
    "unscored",
]


def names() -> tuple[str, ...]:
    """Every registered type, in registration order (the order lists and menus show)."""
    return tuple(QUESTION_TYPES)


def expert_marked() -> tuple[str, ...]:
    """Types an expert marks (essay): graded after the attempt, never in practice."""
    return tuple(name for name, kind in QUESTION_TYPES.items() if not kind.auto_marked)


def unscored() -> tuple[str, ...]:
    """Types that are never marked (description): not drawn at random, not practised."""
    return tuple(name for name, kind in QUESTION_TYPES.items() if not kind.scored)


def label(name: str) -> str:
    kind = QUESTION_TYPES.get(name)
    return kind.label if kind else name


def check_registry(used: set[str] | None = None, templates=None) -> list[str]:
    """What is wrong with the registry (empty list = all good): the names of types that
    something uses but nobody registered, then "type: problem" for hooks a type left to
    the base class, a missing template (``templates``: the names the app's Jinja loader
    knows), an XML or Excel name two types claim."""
    problems = sorted((used or set()) - set(QUESTION_TYPES))  # by name: nobody registered it
    seen: dict[str, str] = {}
    for name, kind in QUESTION_TYPES.items():
        for hook in REQUIRED_HOOKS:
            if inspect.getattr_static(kind, hook).__func__ is getattr(QuestionType, hook).__func__:
                problems.append(f"{name}: {hook} not defined")
        if not getattr(kind, "label", None):
            problems.append(f"{name}: label not defined")
        if templates is not None and kind.template() not in templates:
            problems.append(f"{name}: template {kind.template()} missing")
        for alias in (*kind.xml_names, *kind.excel_labels):
            if seen.setdefault(alias, name) != name:
                problems.append(f"{name}: {alias} is claimed by {seen[alias]} too")
    return problems


def check_question(q: Question) -> list[str]:
    """Why this question cannot be imported (empty list = fine)."""
    return [reason for _, reason in check_question_fields(q)]


def check_question_fields(q: Question) -> list[tuple[str, str]]:
    """``check_question`` with the field each problem is about: name, text, text_format,
    difficulty, dimension, answers, pairs or order (the web editor shows it there)."""
    problems: list[tuple[str, str]] = []

    def add(field: str, reason: str) -> None:
        problems.append((field, reason))

    kind = QUESTION_TYPES.get(q.type)
    if kind is None:
        return [("type", f"未知题型 “{q.type}”")]
    if not php_trim(q.name):
        add("name", "题目名称不能为空")
    elif len(q.name) > NAME_MAX:
        add("name", f"题目名称不能超过 {NAME_MAX} 个字（现为 {len(q.name)} 个）")
    if not php_trim(q.text):
        add("text", "题干不能为空")
    if q.text_format not in FORMATS:
        add("text_format", f"文本格式 “{q.text_format}” 不正确，应为 {'、'.join(FORMATS)}")
    if q.difficulty is not None and q.difficulty not in (1, 2, 3):
        add("difficulty", "难度应为 1、2 或 3")
    if q.dimension is not None and q.dimension not in DIMENSIONS:
        add("dimension", f"维度应为 {'、'.join(DIMENSIONS)}")
    for a in q.answers:
        if not -1.0 <= a.fraction <= 1.0:
            add("answers", f"答案 “{a.text}” 的得分 {pct(a.fraction)} 超出 -100% 到 100% 的范围")
        if not php_trim(a.text):
            add("answers", "答案不能为空")
    kind.problems(q, add)
    return problems
