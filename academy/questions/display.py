"""How a question is shown: its text in its format, safely, one-line answer summaries,
and the order of its options for a candidate (deterministic: the same key gives the same
order). Pure (no database, no request): used by the question pages, the import preview,
exams and practice, so that every page shows a question the same way."""

from __future__ import annotations

from markupsafe import Markup, escape

from academy.learning.markdown import clean_html, render_markdown
from academy.questions.spec import DIMENSIONS
from academy.questions.spec import Question as Spec
from academy.questions.types import QUESTION_TYPES, Presentation, get_type
from academy.questions.types.base import shuffled  # noqa: F401 (exams shuffle with it)

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
    kind = QUESTION_TYPES.get(spec.type)
    return kind.type_label(spec) if kind else spec.type


def tags_text(item_name: str | None, dimension: str | None, difficulty: int | None) -> str:
    parts = [item_name or "（未标事项）"]
    parts.append(DIMENSIONS.get(dimension or "", "（未标维度）"))
    parts.append(f"难度 {difficulty}" if difficulty else "（未标难度）")
    return " · ".join(parts)


def answer_summary(spec: Spec) -> str:
    """The right answer in one line, for tables (import preview, lists)."""
    return get_type(spec.type).summary(spec)


def presentation(qtype: str, data: dict, key: str, shuffle_answers: bool = True) -> Presentation:
    """The order of options and items a candidate sees (deterministic for ``key``)."""
    return get_type(qtype).presentation(data, key, shuffle_answers)
