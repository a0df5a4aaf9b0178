"""How a stored question version is shown to a candidate: its text (by format, sanitised)
and the order of its options. Shared by exams, practice and previews so that every page
shows a question the same way. Deterministic: the same key gives the same order."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

import nh3
from markupsafe import Markup, escape

from academy.learning.markdown import ALLOWED_TAGS, render_markdown
from academy.questions.types import matching_options

HTML_TAGS = ALLOWED_TAGS | {"img", "span", "sub", "sup", "u", "s"}


def question_text(text: str | None, text_format: str = "moodle") -> Markup:
    """Markdown and Moodle's auto-format as Markdown; HTML sanitised; plain text escaped."""
    if not text:
        return Markup("")
    if text_format == "html":
        return Markup(
            nh3.clean(
                text,
                tags=HTML_TAGS,
                attributes={"a": {"href"}, "img": {"src", "alt"}},
                url_schemes={"http", "https", "mailto", "data"},
                link_rel="noopener noreferrer",
            )
        )
    if text_format == "plain":
        return Markup("<p>") + escape(text).replace("\n", Markup("<br>")) + Markup("</p>")
    return render_markdown(text)


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
