"""The attempt page's questions as HTML blocks, blank ones kept per process (issue 17).

On an exam day every candidate opens a freshly drawn paper within the same minute, and
rendering its 50 questions is most of what a start costs. A blank question (nothing
answered, flagged or saved yet) looks the same on every paper that draws it with the same
option order and points — only its number differs. So a blank block is rendered once, with
a placeholder where the number goes, kept (keyed by the question version, which never
changes: an edit is a new version), and the page fills in the number. A question with an
answer is rendered each time (a page reloaded mid-exam).

The placeholder cannot come out of a question's content: every text on the page is escaped
or sanitised, which turns its ``<`` into ``&lt;``.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import get_template_attribute
from markupsafe import Markup

NUMBER = Markup("<@n@>")  # where the question's number goes in a kept block
KEPT = 4096  # blocks per process (~1.5 KB each); the least recently used go first

_blank: OrderedDict[tuple, str] = OrderedDict()


@dataclass(frozen=True)
class _Blank:
    """A blank answer at a placeholder position (what a freshly drawn question shows)."""

    position: Any
    qtype: str
    points: float
    response: Any = None
    seq: int = 0
    flagged: bool = False
    saved_at: datetime | None = None


def is_blank(answer) -> bool:
    return (
        answer.response is None
        and not answer.flagged
        and answer.saved_at is None
        and answer.seq == 0
    )


def blocks(views: list[dict]) -> list[Markup]:
    """Each view's block (``views``: dicts with answer, data, text, pres, version_id and
    version_at — the version's creation time, so that a database rebuilt with the same ids
    is never answered from an older one's blocks)."""
    render = get_template_attribute("exams/_question.html", "question_block")
    out = []
    for v in views:
        a = v["answer"]
        if not is_blank(a):
            out.append(render(a, v))
            continue
        key = (v["version_id"], v["version_at"], a.qtype, a.points, v["pres"].key())
        html = _blank.get(key)
        if html is None:
            html = str(render(_Blank(NUMBER, a.qtype, a.points), v))
            if len(_blank) >= KEPT:
                _blank.popitem(last=False)
        else:
            _blank.move_to_end(key)
        _blank[key] = html
        out.append(Markup(html.replace(NUMBER, str(a.position))))
    return out
