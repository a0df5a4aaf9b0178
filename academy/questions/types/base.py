"""The question type base class and its registry (as CTFd registers challenge types).

A question type is one class that owns everything that differs from type to type:

- answering: ``from_form`` (what the answer template posted), ``check`` (reject malformed
  responses), ``grade`` (the pure rules), ``demo_fields`` (what a simulated candidate posts);
- checking: ``problems`` (what grading needs, Moodle's own save-time checks) and
  ``bank_rules`` (the banks' policy on top);
- display: ``type_label``, ``summary`` (one line for tables), ``presentation`` (option order
  for a candidate), and a template ``questions/types/<name>.html`` with the macros
  ``answer`` (exams and practice), ``candidate`` and ``answers`` (preview for authors) and
  ``editor`` (the type's part of the question editor);
- the editor: ``rows`` (which repeated rows it uses), ``form_fields`` (extra fields, if the
  common form lacks one), ``from_editor`` and ``editor_data``;
- files: ``bank_keys``/``bank_read``/``bank_dump`` (question_banks/*.yaml),
  ``gift_claims``/``gift_read``/``gift_block``/``gift_unsupported`` (GIFT),
  ``xml_names``/``xml_read``/``xml_body`` (Moodle XML), ``excel_labels``/``excel_read``/
  ``excel_write`` (the Excel sheet);
- ``diff_content`` (what changed between two versions, beyond the fields every type has).

Each hook receives the *toolkit* of the concern it serves (the GIFT reader, the XML writer,
the Excel row, the bank-file context, the editor form, the diff helpers), so a type never
imports the format modules: they import the registry, not the other way round.

Adding a type: write one class here (a module of this package, imported in
``__init__``) decorated with ``@question_type("name")`` and its template
``templates/questions/types/<name>.html``; ``check_registry`` (run at start-up) names any
hook or template it lacks. See question_banks/README.md, "Adding a question type".
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any, ClassVar

from academy.questions.interchange import pct  # noqa: F401 (the types use it)
from academy.questions.spec import Question


class ResponseError(ValueError):
    """A response no honest page could send (wrong shape, unknown option)."""


QUESTION_TYPES: dict[str, type[QuestionType]] = {}

# Hooks every type must define itself (the others have a sensible default).
REQUIRED_HOOKS = ("check", "grade", "summary", "bank_read", "bank_dump", "xml_read", "xml_body")


def question_type(name: str):
    """Class decorator: register ``cls`` under ``name`` (its ``type`` in every file)."""

    def register(cls):
        cls.name = name
        QUESTION_TYPES[name] = cls
        return cls

    return register


def unregister(name: str) -> None:
    """Remove a type (tests that register a throw-away type call it when done)."""
    QUESTION_TYPES.pop(name, None)


@dataclass
class Presentation:
    """What the answer template needs besides the version data."""

    answer_order: list[int] = field(default_factory=list)  # multichoice: indexes into answers
    item_order: list[int] = field(default_factory=list)  # ordering: indexes into order
    options: list[str] = field(default_factory=list)  # matching: right-hand choices

    def key(self) -> tuple:
        """What tells two presentations apart (they draw the same fields when equal)."""
        return (tuple(self.answer_order), tuple(self.item_order), tuple(self.options))


class QuestionType:
    name: ClassVar[str]
    label: ClassVar[str]  # 选择题, 判断题 …: lists, filters, the import preview
    long_label: ClassVar[str | None] = None  # exam set-up (e.g. 简答题（人工评分）)
    candidate_label: ClassVar[str | None] = None  # what a candidate reads in an exam
    help: ClassVar[str] = ""  # one sentence on the "new question" page
    answers_label: ClassVar[str] = "答案"  # what its answers are called in version changes
    auto_marked: ClassVar[bool] = True  # False: an expert marks it (essay)
    scored: ClassVar[bool] = True  # False: never marked (description): not drawn, not practised
    # The editor: which repeated rows the type uses ("answers", "pairs", "steps" or None),
    # how many blank rows a new question starts with, and a default for a new row.
    rows: ClassVar[str | None] = None
    blank_rows: ClassVar[int] = 0
    row_default: ClassVar[dict | None] = None
    form_fields: ClassVar[dict[str, Any]] = {}  # extra WTForms fields (name → unbound field)
    # Files.
    bank_keys: ClassVar[frozenset[str]] = frozenset()  # YAML keys besides the common ones
    gift_order: ClassVar[int] = 100  # claims are tried in this order (< 0: before ####)
    xml_names: ClassVar[tuple[str, ...]] = ()  # <question type="…"> values read as this type
    excel_labels: ClassVar[dict[str, dict]] = {}  # 题型 cell → attributes it sets (single…)

    # -- answering -------------------------------------------------------------------

    @classmethod
    def check(cls, data: dict, response: Any) -> Any:
        """Validate and normalise a response; raise ResponseError."""
        raise NotImplementedError

    @classmethod
    def from_form(cls, data: dict, form, name: str) -> Any:
        """The response as posted by the type's ``answer`` macro (a form or the autosave
        script, which posts the same fields): ``form`` is a MultiDict, ``name`` the field
        prefix of this question. Returns the raw response (None = not answered); ``check``
        validates it. Raises ResponseError for input no honest page sends."""
        value = form.get(name, "")
        return value if value.strip() else None

    @classmethod
    def grade(cls, data: dict, response: Any) -> float | None:
        raise NotImplementedError

    @classmethod
    def incomplete(cls, response: Any) -> str | None:
        """Why a response read from the form is not finished yet (practice shows the
        question again), or None."""
        return None

    @classmethod
    def demo_fields(cls, data: dict, name: str, right: bool, rng: random.Random) -> dict:
        """The form fields the answer template would post for a right or a wrong answer
        (the demo's simulated candidates)."""
        return {}

    # -- checking ----------------------------------------------------------------------

    @classmethod
    def problems(cls, q: Question, add) -> None:
        """What grading needs of this type, as ``add(field, reason)`` calls (the common
        checks — name, text, fractions — are made by ``types.check_question_fields``)."""

    @classmethod
    def bank_rules(cls, q: Question, answers: bool = True) -> list[tuple[str, str]]:
        """The banks' own policy for this type on top of ``problems`` (``answers``: False
        when the answers could not be read at all)."""
        return []

    # -- display -----------------------------------------------------------------------

    @classmethod
    def type_label(cls, q: Question) -> str:
        return cls.label

    @classmethod
    def candidate_text(cls, data: dict) -> str:
        """The type as a candidate reads it above a question of an exam."""
        return cls.candidate_label or cls.label

    @classmethod
    def summary(cls, q: Question) -> str:
        """The right answer in one line, for tables (import preview, lists)."""
        raise NotImplementedError

    @classmethod
    def presentation(cls, data: dict, key: str, shuffle_answers: bool = True) -> Presentation:
        return Presentation()

    @classmethod
    def preview(cls, q: Question, seed: str) -> dict:
        """Extra values the ``candidate`` macro needs (e.g. the shuffled order)."""
        return {}

    @classmethod
    def template(cls) -> str:
        return f"questions/types/{cls.name}.html"

    # -- the editor --------------------------------------------------------------------

    @classmethod
    def from_editor(cls, form, q: Question, problems: list) -> None:
        """Fill ``q`` from the editor form; (field, reason) of what it cannot read."""

    @classmethod
    def editor_data(cls, q: Question) -> dict:
        """The editor's initial data for a stored question (beyond the common fields)."""
        return {}

    # -- bank files (question_banks/*.yaml) ----------------------------------------------

    @classmethod
    def bank_read(cls, raw: dict, q: Question, ctx) -> None:
        """Fill ``q`` from the YAML mapping ``raw``; ``ctx.add(field, reason)`` a problem."""
        raise NotImplementedError

    @classmethod
    def bank_dump(cls, q: Question) -> dict:
        """The type's keys of the YAML mapping (``bank_read`` reads them back)."""
        raise NotImplementedError

    # -- GIFT --------------------------------------------------------------------------

    @classmethod
    def gift_claims(cls, answers: str | None) -> bool:
        """Whether an answer block (``None``: there is none) is of this type."""
        return False

    @classmethod
    def gift_read(cls, q: Question, answers: str, at: int, reader) -> None:
        """Read the answer block (protected text, ``at`` its offset) into ``q``."""

    @classmethod
    def gift_block(cls, q: Question, w) -> str:
        """The answer block as GIFT writes it (``w``: the writer's helpers)."""
        return ""

    @classmethod
    def gift_unsupported(cls, q: Question) -> list[str]:
        """Why GIFT cannot carry this question (empty: it can)."""
        return []

    # -- Moodle XML ----------------------------------------------------------------------

    @classmethod
    def xml_read(cls, el, q: Question, x) -> None:
        """Fill ``q`` from the ``<question>`` element; ``x.reasons`` collects problems."""
        raise NotImplementedError

    @classmethod
    def xml_body(cls, q: Question, w) -> str:
        raise NotImplementedError

    # -- Excel -------------------------------------------------------------------------

    @classmethod
    def excel_read(cls, row, q: Question, letters: list[str]) -> None:
        """Fill ``q`` from a sheet row (``row``: cells, problems and helpers)."""

    @classmethod
    def excel_write(cls, q: Question, cells: dict, w) -> tuple[list[tuple[str, str]], list[str]]:
        """Set the type's cells; return the (text, feedback) options and any problems."""
        return [], []

    @classmethod
    def excel_label(cls, q: Question) -> str:
        return next(iter(cls.excel_labels))

    # -- versions ------------------------------------------------------------------------

    @classmethod
    def diff_content(cls, old: dict, new: dict, d) -> list:
        """Changes of the type's own content (answers, pairs …); ``d``: the diff helpers."""
        return d.answers(cls.name, old.get("answers", []), new.get("answers", []))


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


def is_text(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def get_type(name: str) -> type[QuestionType]:
    try:
        return QUESTION_TYPES[name]
    except KeyError:
        raise ResponseError(f"未注册的题型：{name}") from None
