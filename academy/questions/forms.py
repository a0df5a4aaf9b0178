"""Forms of the question pages. The editor is one form for every type: a fixed number of
rows (blank rows are ignored, 「再加几行」 adds more), so it works on a phone without
JavaScript. It only converts input into a ``spec.Question``; whether that question is
valid is decided by the same checks as the bank files (``bankfile.question_problems``)."""

from __future__ import annotations

import wtforms
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import FieldList, FormField, HiddenField, StringField, TextAreaField

from academy.forms import RadioField, SelectField, max_length, optional
from academy.questions import formats
from academy.questions.excel import FORMAT_LABELS
from academy.questions.interchange import (
    default_name,
    fraction_of,
    number_text,
    parse_number,
    percent_text,
    php_trim,
)
from academy.questions.spec import DIMENSIONS, Answer
from academy.questions.spec import Question as Spec
from academy.questions.types import get_type

# Moodle's grade choices (question/type/edit_question_form.php, get_grade_options).
GRADES = [
    100, 90, 83.33333, 80, 75, 70, 66.66667, 60, 50, 40, 33.33333, 30, 25, 20,
    16.66667, 14.28571, 12.5, 11.11111, 10, 5, 0,
]  # fmt: skip
FRACTION_CHOICES = [(percent_text(g / 100), f"{percent_text(g / 100)}%") for g in GRADES] + [
    (percent_text(-g / 100), f"-{percent_text(g / 100)}%") for g in reversed(GRADES) if g
]
FRACTION_VALUES = {value for value, _ in FRACTION_CHOICES}
MORE_ROWS = 3
MAX_ROWS = 30
FORMAT_ORDER = ("markdown", "plain", "html", "moodle")
DIFFICULTY_CHOICES = [("", "— 请选择 —"), ("1", "1 易"), ("2", "2 中"), ("3", "3 难")]
DIMENSION_CHOICES = [("", "— 请选择 —"), *DIMENSIONS.items()]
TEXT_MAX = 20000
LINE_MAX = 2000


class AnswerRow(wtforms.Form):
    text = StringField("内容", [optional(), max_length(LINE_MAX)])
    fraction = SelectField("得分", choices=FRACTION_CHOICES, default="0", validate_choice=False)
    feedback = StringField("反馈", [optional(), max_length(LINE_MAX)])
    tolerance = StringField("误差 ±", [optional(), max_length(40)])


class PairRow(wtforms.Form):
    left = StringField("左边（题目）", [optional(), max_length(LINE_MAX)])
    right = StringField("右边（答案）", [optional(), max_length(LINE_MAX)])


class QuestionForm(FlaskForm):
    bank = SelectField("题库", choices=[], validate_choice=False)
    name = StringField("题目名称", [optional(), max_length(200)])
    text = TextAreaField("题干", [optional(), max_length(TEXT_MAX)])
    text_format = SelectField(
        "文本格式",
        choices=[(key, FORMAT_LABELS[key]) for key in FORMAT_ORDER],
        default="markdown",
        validate_choice=False,
    )
    single = RadioField(
        "单选还是多选",
        choices=[("single", "单选：只有一个正确选项"), ("multiple", "多选：可有多个正确选项")],
        default="single",
        validate_choice=False,
    )
    answers = FieldList(FormField(AnswerRow), min_entries=0, max_entries=MAX_ROWS)
    truth = RadioField("正确答案", choices=[("true", "对"), ("false", "错")], validate_choice=False)
    feedback_true = StringField("答“对”时的反馈", [optional(), max_length(LINE_MAX)])
    feedback_false = StringField("答“错”时的反馈", [optional(), max_length(LINE_MAX)])
    other_feedback = StringField("其他答案的反馈", [optional(), max_length(LINE_MAX)])
    pairs = FieldList(FormField(PairRow), min_entries=0, max_entries=MAX_ROWS)
    steps = FieldList(
        StringField("步骤", [optional(), max_length(LINE_MAX)]), min_entries=0, max_entries=MAX_ROWS
    )
    grader_info = TextAreaField("评分要点", [optional(), max_length(TEXT_MAX)])
    general_feedback = TextAreaField("总体反馈（答题后显示）", [optional(), max_length(TEXT_MAX)])
    item = SelectField("事项", choices=[("", "— 请选择 —")], validate_choice=False)
    dimension = SelectField("维度", choices=DIMENSION_CHOICES, default="")
    difficulty = SelectField("难度", choices=DIFFICULTY_CHOICES, default="")
    note = StringField("修改说明（选填）", [optional(), max_length(200)])

    def answer_rows(self, problems: list, numeric: bool = False) -> list[Answer]:
        """The filled answer rows (blank ones ignored) as answers; (field, reason) of
        what cannot be read. ``numeric``: the text is a value, each row its tolerance."""
        return _answer_rows(self, numeric, problems)


_FORMS: dict[str, type[QuestionForm]] = {}


def question_form(qtype: str) -> type[QuestionForm]:
    """The editor form of a type: the common one plus the type's own ``form_fields``."""
    kind = get_type(qtype)
    if not kind.form_fields:
        return QuestionForm
    if qtype not in _FORMS or _FORMS[qtype].kind is not kind:
        _FORMS[qtype] = type(
            f"{kind.__name__}Form", (QuestionForm,), {**kind.form_fields, "kind": kind}
        )
    return _FORMS[qtype]


def prepare_rows(form: QuestionForm, qtype: str, more: bool = False) -> None:
    """Enough blank rows for the type (two spare), more on 「再加几行」, and each row's own
    grade among the choices (an imported 45 % stays selectable)."""
    kind = get_type(qtype)
    if kind.rows is not None:
        rows = getattr(form, kind.rows)
        filled = sum(1 for entry in rows if _filled(entry))
        target = max(kind.blank_rows, filled + 2, len(rows)) + (MORE_ROWS if more else 0)
        while len(rows) < min(target, MAX_ROWS):
            rows.append_entry(kind.row_default)
    for entry in form.answers:
        value = entry.form.fraction.data
        if value and value not in FRACTION_VALUES:
            entry.form.fraction.choices = [*FRACTION_CHOICES, (value, f"{value}%")]


def _filled(entry) -> bool:
    data = entry.data
    if isinstance(data, dict):
        return any(php_trim(str(v or "")) for k, v in data.items() if k != "fraction")
    return bool(php_trim(data or ""))


def _fraction(value: str | None, row: int, problems: list) -> float:
    number = parse_number(value or "0")
    if number is None or not -100 <= number <= 100:
        problems.append(("answers", f"第 {row} 行的得分 “{value}” 不正确，应为 -100 到 100"))
        return 0.0
    return fraction_of(number)


def _answer_rows(form: QuestionForm, numeric: bool, problems: list) -> list[Answer]:
    answers = []
    for row, entry in enumerate(form.answers, 1):
        sub = entry.form
        text = php_trim(sub.text.data or "")
        feedback = php_trim(sub.feedback.data or "")
        tolerance = php_trim(sub.tolerance.data or "")
        if not text:
            if feedback or (tolerance and numeric):
                problems.append(("answers", f"第 {row} 行填写了反馈或误差，但没有填写内容"))
            continue
        answer = Answer(text, _fraction(sub.fraction.data, row, problems), feedback)
        if numeric:
            value = parse_number(text)
            answer.text = number_text(value) if value is not None else text
            tol = parse_number(tolerance or "0")
            if tol is None:
                problems.append(("answers", f"第 {row} 行的误差 “{tolerance}” 不是数字"))
                tol = 0.0
            answer.tolerance = tol
        answers.append(answer)
    return answers


def build_spec(form: QuestionForm, qtype: str, item_slugs: dict[str, str]) -> tuple[Spec, list]:
    """The question the form describes, and what the form itself could not read, as
    (field, reason). ``item_slugs`` maps the item select's values to item slugs."""
    problems: list[tuple[str, str]] = []
    text = (form.text.data or "").strip()
    name = php_trim(form.name.data or "") or (default_name(text) if text else "")
    spec = Spec(
        type=qtype,
        name=name,
        text=text,
        text_format=form.text_format.data or "markdown",
        general_feedback=(form.general_feedback.data or "").strip(),
        item=item_slugs.get(form.item.data or ""),
        dimension=form.dimension.data or None,
        difficulty=int(form.difficulty.data) if form.difficulty.data else None,
    )
    get_type(qtype).from_editor(form, spec, problems)
    return spec, problems


def form_data(spec: Spec, item_id: int | None) -> dict:
    """Initial data of the editor for a stored question."""
    data = {
        "name": spec.name,
        "text": spec.text,
        "text_format": spec.text_format,
        "general_feedback": spec.general_feedback,
        "item": str(item_id) if item_id else "",
        "dimension": spec.dimension or "",
        "difficulty": str(spec.difficulty) if spec.difficulty else "",
        "single": "single" if spec.single else "multiple",
        "other_feedback": spec.other_feedback,
    }
    return data | get_type(spec.type).editor_data(spec)


class BankForm(FlaskForm):
    title = StringField("题库名称", [optional(), max_length(120)])
    item = SelectField("事项（选填）", choices=[("", "— 不限 —")], validate_choice=False)
    category = StringField("类别路径（选填）", [optional(), max_length(200)])


class ReasonForm(FlaskForm):
    reason = StringField("原因", [optional(), max_length(200)])


class CopyForm(FlaskForm):
    bank = SelectField("复制到题库", choices=[], validate_choice=False)


IMPORT_FORMATS = [("", "按扩展名判断")] + [
    (f.name, f.choice_label) for f in formats.FORMATS.values()
]


class ImportForm(FlaskForm):
    file = FileField("题目文件")
    fmt = SelectField("文件格式", choices=IMPORT_FORMATS, default="")
    bank = SelectField("导入到题库", choices=[], validate_choice=False)
    new_title = StringField("新题库名称", [optional(), max_length(120)])
    item = SelectField("默认事项", choices=[("", "— 不设 —")], validate_choice=False)
    dimension = SelectField("默认维度", choices=[("", "— 不设 —"), *DIMENSIONS.items()], default="")
    difficulty = SelectField(
        "默认难度", choices=[("", "— 不设 —"), *DIFFICULTY_CHOICES[1:]], default=""
    )


class ConfirmForm(FlaskForm):
    token = HiddenField()
