"""How a question is shown: its text in its format, safely, one-line answer summaries,
and the order of its options for a candidate (deterministic: the same key gives the same
order). Pure (no database, no request): used by the question pages, the import preview,
exams and practice, so that every page shows a question the same way."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from markupsafe import Markup, escape

from academy.learning.markdown import clean_html, render_markdown
from academy.questions.interchange import TYPE_LABELS, number_text, percent_text
from academy.questions.spec import DIMENSIONS
from academy.questions.spec import Question as Spec
from academy.questions.types import matching_options

DIFFICULTY_LABELS = {1: "易", 2: "中", 3: "难"}


def render_text(text: str | None, text_format: str) -> Markup:
    """Question text as a candidate sees it. Markdown and Moodle's auto-format go through
    the Markdown renderer (raw HTML is never passed through); HTML is sanitised; plain text
    is escaped with its line breaks kept."""
    if not text:
        return Markup("")
    if text_format == "html":
        return clean_html(text)
    if text_format == "plain":
        return Markup("<p>") + escape(text).replace("\n", Markup("<br>")) + Markup("</p>")
    return render_markdown(text)


def type_label(spec: Spec) -> str:
    if spec.type == "multichoice":
        return "单选题" if spec.single else "多选题"
    return TYPE_LABELS.get(spec.type, spec.type)


def tags_text(item_name: str | None, dimension: str | None, difficulty: int | None) -> str:
    parts = [item_name or "（未标事项）"]
    parts.append(DIMENSIONS.get(dimension or "", "（未标维度）"))
    parts.append(f"难度 {difficulty}" if difficulty else "（未标难度）")
    return " · ".join(parts)


def _pct(fraction: float) -> str:
    return f"{percent_text(fraction)}%"


def answer_summary(spec: Spec) -> str:
    """The right answer in one line, for tables (import preview, lists)."""
    if spec.type == "multichoice":
        rights = [a for a in spec.answers if a.fraction > 0]
        if spec.single:
            rights = [a for a in spec.answers if a.fraction == 1.0] or rights
            return "正确：" + "；".join(a.text for a in rights) + f"（共 {len(spec.answers)} 项）"
        return (
            "正确："
            + "；".join(f"{a.text}（{_pct(a.fraction)}）" for a in rights)
            + f"（共 {len(spec.answers)} 项）"
        )
    if spec.type == "truefalse":
        right = next((a.text for a in spec.answers if a.fraction == 1.0), "")
        return "正确：" + {"true": "对", "false": "错"}.get(right, "？")
    if spec.type == "shortanswer":
        return " | ".join(
            a.text if a.fraction == 1.0 else f"{a.text}（{_pct(a.fraction)}）" for a in spec.answers
        )
    if spec.type == "numerical":
        return " | ".join(
            f"{a.text} ± {number_text(float(a.tolerance or 0))}"
            + ("" if a.fraction == 1.0 else f"（{_pct(a.fraction)}）")
            for a in spec.answers
        )
    if spec.type == "matching":
        return "；".join(f"{left} → {right}" for left, right in spec.pairs)
    if spec.type == "ordering":
        return " → ".join(spec.order)
    if spec.type == "essay":
        return "人工评分"
    return "不计分"


def shuffled(count: int, key: str) -> list[int]:
    """A stable shuffle of range(count) for ``key`` (never the identity when count > 1, so a
    shuffled list does not give away an ordering question)."""
    order = list(range(count))
    if count < 2:
        return order
    rng = random.Random(key)
    for _ in range(10):
        rng.shuffle(order)
        if order != sorted(order):
            break
    return order


@dataclass
class Presentation:
    """What the answer template needs besides the version data."""

    answer_order: list[int] = field(default_factory=list)  # multichoice: indexes into answers
    item_order: list[int] = field(default_factory=list)  # ordering: indexes into order
    options: list[str] = field(default_factory=list)  # matching: right-hand choices


def presentation(qtype: str, data: dict, key: str, shuffle_answers: bool = True) -> Presentation:
    if qtype == "multichoice":
        n = len(data["answers"])
        return Presentation(answer_order=shuffled(n, key) if shuffle_answers else list(range(n)))
    if qtype == "ordering":
        return Presentation(item_order=shuffled(len(data["order"]), key))
    if qtype == "matching":
        return Presentation(options=matching_options(data))
    return Presentation()
