"""The in-memory form of a question, shared by every importer/exporter and the bank files.

It mirrors Moodle's question model closely enough that GIFT and Moodle XML round-trip:
answers carry a fraction (Moodle's grade, 1.0 = 100 %) and per-answer feedback. What each
``type`` means is up to its class in ``academy.questions.types`` (the registry).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

DIMENSIONS = {"knowledge": "业务知识", "etiquette": "服务规范", "emergency": "应急处置"}
FORMATS = ("moodle", "html", "markdown", "plain")


@dataclass
class Answer:
    text: str
    fraction: float = 0.0
    feedback: str = ""
    tolerance: float | None = None  # numerical answers only


@dataclass
class Question:
    type: str
    name: str
    text: str
    answers: list[Answer] = field(default_factory=list)
    single: bool = True  # multichoice: one answer (radio) or several (checkboxes)
    pairs: list[tuple[str, str]] = field(default_factory=list)  # matching
    order: list[str] = field(default_factory=list)  # ordering: items in the right order
    general_feedback: str = ""
    grader_info: str = ""  # essay: what the marker looks for
    other_feedback: str = ""  # numerical: feedback for any other answer (Moodle's "*" answer)
    text_format: str = "moodle"
    category: str | None = None
    # Tags of the academy: service item slug, dimension key, difficulty 1–3.
    item: str | None = None
    dimension: str | None = None
    difficulty: int | None = None
    line: int | None = None  # where it came from in the source file (for error messages)

    @property
    def tolerance(self) -> float | None:
        if self.type == "numerical" and self.answers:
            return self.answers[0].tolerance
        return None

    def as_json(self) -> dict:
        """The shape printed by ``flask questions parse``: everything the question carries.

        Each answer: text, fraction (1.0 = 100 %), feedback, and for numerical answers its
        tolerance. True/false: two answers "true" and "false", each with its fraction and
        feedback. Numerical: the feedback for any other number (Moodle's ``*`` answer) is
        the answer "*" (fraction 0). Ordering: the items in the right order, as answers
        with fraction 1. Matching: ``pairs`` [left, right]; an empty left side is an extra
        wrong answer. ``tolerance`` is the first answer's (kept for older readers).
        """
        answers = [Answer(item, 1.0) for item in self.order] + self.answers
        if self.other_feedback:
            answers.append(Answer("*", 0.0, self.other_feedback))
        out = []
        for a in answers:
            entry: dict = {"text": a.text, "fraction": float(a.fraction), "feedback": a.feedback}
            if a.tolerance is not None or (a.text == "*" and self.other_feedback):
                entry["tolerance"] = a.tolerance
            out.append(entry)
        return {
            "type": self.type,
            "name": self.name,
            "text": self.text,
            "text_format": self.text_format,
            "single": self.single,
            "answers": out,
            "tolerance": self.tolerance,
            "pairs": [list(p) for p in self.pairs],
            "general_feedback": self.general_feedback,
            "grader_info": self.grader_info,
            "category": self.category,
            "item": self.item,
            "dimension": self.dimension,
            "difficulty": self.difficulty,
        }

    def as_dict(self) -> dict:
        data = asdict(self)
        data.pop("line")
        return data


@dataclass(frozen=True)
class Skipped:
    """A question of a file left out on import (a type the academy does not have)."""

    position: int  # its position among the file's questions, from 1
    line: int | None
    name: str
    qtype: str
    reason: str


class ParseError(ValueError):
    """Every problem found in an interchange file: ``problems`` = [(line or row, reason)]."""

    def __init__(self, problems: list[tuple[int | None, str]]) -> None:
        super().__init__("; ".join(f"{where}: {reason}" for where, reason in problems))
        self.problems = problems


class ExportError(ValueError):
    """Questions that a format cannot carry: ``problems`` = [(position from 1, reason)]."""

    def __init__(self, problems: list[tuple[int, str]]) -> None:
        super().__init__("; ".join(f"第 {where} 题: {reason}" for where, reason in problems))
        self.problems = problems
