"""The in-memory form of a question, shared by every importer/exporter and the bank files.

It mirrors Moodle's question model closely enough that GIFT and Moodle XML round-trip:
answers carry a fraction (Moodle's grade, 1.0 = 100 %) and per-answer feedback.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

TYPES = (
    "multichoice",
    "truefalse",
    "shortanswer",
    "numerical",
    "matching",
    "ordering",
    "essay",
    "description",
)
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
        """The shape printed by ``flask questions parse`` (see the question-bank issue).

        True/false: one answer, "true" or "false", the right one (fraction 1).
        Numerical: each answer's text is the value. Ordering: the items in the right order,
        as answers with fraction 1.
        """
        if self.type == "truefalse":
            answers = [a for a in self.answers if a.fraction == 1.0][:1]
        elif self.type == "ordering":
            answers = [Answer(item, 1.0) for item in self.order]
        else:
            answers = self.answers
        return {
            "type": self.type,
            "name": self.name,
            "text": self.text,
            "single": self.single,
            "answers": [
                {"text": a.text, "fraction": float(a.fraction), "feedback": a.feedback}
                for a in answers
            ],
            "tolerance": self.tolerance,
            "pairs": [list(p) for p in self.pairs],
            "category": self.category,
        }

    def as_dict(self) -> dict:
        data = asdict(self)
        data.pop("line")
        return data


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
