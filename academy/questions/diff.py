"""What changed between two versions of a question, field by field, in words an expert reads.

Pure: two version payloads (``services.version_data``: the stored JSON) in, a list of
:class:`Change` out; no database, no request. Answers are matched by their text, so a
reordered option is "顺序调整", a renamed one "改为", and a changed mark or feedback is
named with the option it belongs to.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from academy.questions.excel import FORMAT_LABELS
from academy.questions.interchange import number_text, percent_text
from academy.questions.types import QUESTION_TYPES

SHORT = 40  # characters of a text quoted in a change


@dataclass(frozen=True)
class Change:
    field: str  # key of the version payload: text, answers, pairs …
    label: str  # 题干、选项、正确答案/分值、反馈 …
    detail: str  # what happened, e.g. "“邻居” 0% → 50%"

    def __str__(self) -> str:
        return f"{self.label}：{self.detail}"


def _short(text: str) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= SHORT else text[: SHORT - 1] + "…"


def _q(text: str) -> str:
    return f"“{_short(text)}”"


def _pct(fraction: float) -> str:
    return f"{percent_text(float(fraction))}%"


def _text_change(old: str, new: str) -> str:
    if not old:
        return f"新增 {_q(new)}"
    if not new:
        return f"删除（原为 {_q(old)}）"
    return f"{_q(old)} → {_q(new)}"


def _list_change(old: Sequence[str], new: Sequence[str]) -> list[str]:
    """Added, removed, renamed (same position, same count) and reordered entries."""
    parts = []
    removed = [x for x in old if x not in new]
    added = [x for x in new if x not in old]
    if removed and len(removed) == len(added):
        renamed = list(zip(removed, added, strict=True))
        parts += [f"{_q(a)} 改为 {_q(b)}" for a, b in renamed]
    else:
        parts += [f"新增 {_q(x)}" for x in added]
        parts += [f"删除 {_q(x)}" for x in removed]
    kept_old = [x for x in old if x in new]
    kept_new = [x for x in new if x in old]
    if kept_old != kept_new:
        parts.append("顺序调整")
    return parts


def _answers(qtype: str, old: Sequence[Mapping], new: Sequence[Mapping]) -> list[Change]:
    """Answers matched by their text: added, removed, renamed, reordered; their marks,
    tolerances and feedback."""
    changes: list[Change] = []
    kind = QUESTION_TYPES.get(qtype)
    label = kind.answers_label if kind else "答案"
    old_texts = [a["text"] for a in old]
    new_texts = [a["text"] for a in new]
    listed = _list_change(old_texts, new_texts)
    if listed:
        changes.append(Change("answers", label, "；".join(listed)))
    # Marks and feedback of answers that kept their text, or were renamed in place.
    by_text = {b["text"]: b for b in new}
    pairs = [(a, by_text[a["text"]]) for a in old if a["text"] in by_text]
    removed = [a for a in old if a["text"] not in by_text]
    added = [a for a in new if a["text"] not in old_texts]
    renamed = bool(removed) and len(removed) == len(added)
    if renamed:
        pairs += list(zip(removed, added, strict=True))
    marks, tolerances, feedback = [], [], []
    for a, b in pairs:
        name = _q(b["text"])
        if float(a.get("fraction", 0)) != float(b.get("fraction", 0)):
            marks.append(f"{name} {_pct(a.get('fraction', 0))} → {_pct(b.get('fraction', 0))}")
        if (a.get("tolerance") or 0) != (b.get("tolerance") or 0):
            old_tol = number_text(float(a.get("tolerance") or 0))
            new_tol = number_text(float(b.get("tolerance") or 0))
            tolerances.append(f"{name} ±{old_tol} → ±{new_tol}")
        if a.get("feedback", "") != b.get("feedback", ""):
            feedback.append(name)
    fresh = [] if renamed else added
    marks += [f"{_q(a['text'])} {_pct(a.get('fraction', 0))}" for a in fresh if a.get("fraction")]
    if marks:
        changes.append(Change("answers", "正确答案/分值", "；".join(marks)))
    if tolerances:
        changes.append(Change("answers", "误差", "；".join(tolerances)))
    if feedback:
        changes.append(Change("answers", "反馈", "、".join(feedback) + " 的反馈已修改"))
    return changes


class Helpers:
    """The toolkit of a type's ``diff_content``."""

    Change = Change
    answers = staticmethod(_answers)
    list_change = staticmethod(_list_change)
    quote = staticmethod(_q)


def diff_versions(
    old: Mapping[str, Any] | None, new: Mapping[str, Any], qtype: str
) -> list[Change]:
    """The changes from version payload ``old`` to ``new`` of a question of type ``qtype``
    (``old=None``: ``new`` is the first version)."""
    if old is None:
        return [Change("", "新建", "第一个版本")]

    def get_old(key: str, default: Any = "") -> Any:
        return old.get(key, default)

    def get_new(key: str, default: Any = "") -> Any:
        return new.get(key, default)

    changes: list[Change] = []
    if get_old("name") != get_new("name"):
        changes.append(Change("name", "题目名称", _text_change(get_old("name"), get_new("name"))))
    if get_old("text") != get_new("text"):
        changes.append(Change("text", "题干", _text_change(get_old("text"), get_new("text"))))
    if get_old("text_format", "moodle") != get_new("text_format", "moodle"):
        before = FORMAT_LABELS.get(get_old("text_format"), get_old("text_format"))
        after = FORMAT_LABELS.get(get_new("text_format"), get_new("text_format"))
        changes.append(Change("text_format", "文本格式", f"{before} → {after}"))
    if get_old("single", True) != get_new("single", True):
        kinds = {True: "单选", False: "多选"}
        detail = f"{kinds[bool(get_old('single', True))]} → {kinds[bool(get_new('single', True))]}"
        changes.append(Change("single", "单选/多选", detail))
    kind = QUESTION_TYPES.get(qtype)
    if kind is not None:
        changes += kind.diff_content(old, new, Helpers)
    for key, label in (
        ("general_feedback", "总体反馈"),
        ("other_feedback", "其他答案的反馈"),
        ("grader_info", "评分要点"),
    ):
        if get_old(key) != get_new(key):
            changes.append(Change(key, label, _text_change(get_old(key), get_new(key))))
    return changes
