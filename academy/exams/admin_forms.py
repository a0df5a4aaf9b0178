"""Forms of the staff exam pages. Times are entered and shown in Beijing time (UTC+8) and
stored as naive UTC, like every datetime of the app."""

from __future__ import annotations

from datetime import datetime, timedelta

import wtforms
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    FloatField,
    HiddenField,
    IntegerField,
    StringField,
    TextAreaField,
)
from wtforms.validators import NumberRange, ValidationError

from academy.catalogue.models import ItemCategory
from academy.exams.models import Layout, ReviewWhen, VersionPolicy
from academy.forms import (
    YEAR_MESSAGE,
    DateTimeLocalField,
    MultiCheckboxField,
    SelectField,
    _pair_choices,
    max_length,
    optional,
    required,
)
from academy.questions.models import Dimension

BEIJING = timedelta(hours=8)
TIME_FORMAT = "%Y-%m-%dT%H:%M"
TIME_MESSAGE = "请输入有效时间，如 2026-03-01 09:00。"


def to_utc(beijing: datetime | None) -> datetime | None:
    return None if beijing is None else beijing - BEIJING


def to_beijing(utc: datetime | None) -> datetime | None:
    return None if utc is None else utc + BEIJING


class BeijingTimeField(DateTimeLocalField):
    """A datetime-local input in Beijing time; ``utc`` gives the stored value."""

    def __init__(self, label=None, validators=None, **kwargs):
        kwargs.setdefault("format", TIME_FORMAT)
        super().__init__(label, validators or [optional()], **kwargs)

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError as err:
            if err.args and err.args[0] == YEAR_MESSAGE:
                raise
            raise ValueError(TIME_MESSAGE) from err

    @property
    def utc(self) -> datetime | None:
        return to_utc(self.data)

    def set_utc(self, value: datetime | None) -> None:
        self.data = to_beijing(value)


RadioField = _pair_choices(wtforms.RadioField)


def _optional_int(value):
    return int(value) if value not in (None, "", "None") else None


class ExamForm(FlaskForm):
    title = StringField("考试名称", validators=[required("请填写考试名称。"), max_length(120)])
    description = TextAreaField("考试说明（选填）", validators=[optional(), max_length(2000)])
    time_limit_minutes = IntegerField(
        "限时（分钟）",
        validators=[optional(), NumberRange(1, 600, message="限时应为 1–600 分钟；不限时请留空。")],
    )
    pass_percent = FloatField(
        "及格线（得分率 %）",
        default=60,
        validators=[
            required("请填写及格线。"),
            NumberRange(0, 100, message="及格线应在 0 到 100 之间。"),
        ],
    )
    attempts_allowed = IntegerField(
        "可作答次数",
        default=1,
        validators=[
            optional(),
            NumberRange(1, 100, message="可作答次数应为 1–100 次；不限次数请留空。"),
        ],
    )
    opens_at = BeijingTimeField("开放时间（北京时间，选填）")
    closes_at = BeijingTimeField("截止时间（北京时间，选填）")
    layout = SelectField("排版", choices=Layout.choices(), default=Layout.ONE_PER_PAGE.value)
    shuffle_questions = BooleanField("每位考生的题目顺序随机（部分内打乱）", default=True)
    shuffle_answers = BooleanField("选项顺序随机", default=True)
    review_when = SelectField(
        "交卷后回顾", choices=ReviewWhen.choices(), default=ReviewWhen.AFTER_SUBMIT.value
    )
    review_shows_answers = BooleanField("回顾时显示正确答案和解析", default=True)
    version_policy = SelectField(
        "题目版本", choices=VersionPolicy.choices(), default=VersionPolicy.LATEST.value
    )
    township_id = SelectField("考试范围", coerce=_optional_int, default=None)
    category = SelectField(
        "认证类别（选填）", choices=[("", "（不用于认证）"), *ItemCategory.choices()], default=""
    )
    item_id = SelectField("认证事项（选填）", coerce=_optional_int, default=None)

    def validate_closes_at(self, field) -> None:
        if field.data and self.opens_at.data and field.data <= self.opens_at.data:
            raise ValidationError("截止时间必须晚于开放时间。")


class SectionForm(FlaskForm):
    title = StringField("部分名称", validators=[required("请填写部分名称。"), max_length(80)])
    points = FloatField(
        "每题分值",
        default=1,
        validators=[
            required("请填写每题分值。"),
            NumberRange(0.01, 100, message="每题分值应大于 0、不超过 100。"),
        ],
    )
    mode = RadioField(
        "出题方式",
        choices=[("random", "按条件随机抽题"), ("fixed", "指定题目（每位考生相同）")],
        default="random",
    )
    item_ids = MultiCheckboxField("限定事项（不选则不限）", coerce=int)
    category = SelectField("事项类别", choices=[("", "不限"), *ItemCategory.choices()], default="")
    dimension = SelectField("维度", choices=[("", "不限"), *Dimension.choices()], default="")
    qtypes = MultiCheckboxField("题型（不选则不限）")
    count_1 = IntegerField("容易", default=0, validators=[optional(), NumberRange(0, 200)])
    count_2 = IntegerField("中等", default=0, validators=[optional(), NumberRange(0, 200)])
    count_3 = IntegerField("较难", default=0, validators=[optional(), NumberRange(0, 200)])
    count_any = IntegerField("不限难度", default=0, validators=[optional(), NumberRange(0, 200)])
    question_ids = MultiCheckboxField("已选题目", coerce=int, validate_choice=False)
    q = StringField("搜索题库", validators=[optional(), max_length(60)])
    q_item = SelectField("事项", coerce=_optional_int, default=None)
    action = HiddenField(default="save")

    COUNT_FIELDS = (("1", "count_1"), ("2", "count_2"), ("3", "count_3"), ("any", "count_any"))

    def counts(self) -> dict[str, int]:
        return {key: getattr(self, name).data or 0 for key, name in self.COUNT_FIELDS}

    def validate_count_any(self, field) -> None:
        if self.mode.data == "random" and not any(self.counts().values()):
            raise ValidationError("请至少填写一种难度的题数。")

    def validate_question_ids(self, field) -> None:
        if self.mode.data == "fixed" and not field.data:
            raise ValidationError("请从题库中勾选至少一道题。")


class OverrideForm(FlaskForm):
    subject = RadioField(
        "调整对象",
        choices=[("agent", "一名代办员"), ("township", "一个镇街的考生")],
        default="agent",
    )
    agent_id = HiddenField()
    township_id = SelectField("镇街", coerce=_optional_int, default=None)
    extra_minutes = IntegerField(
        "延长时间（分钟）",
        validators=[optional(), NumberRange(1, 600, message="延长时间应为 1–600 分钟。")],
    )
    opens_at = BeijingTimeField("开放时间改为（北京时间）")
    closes_at = BeijingTimeField("截止时间改为（北京时间）")
    extra_attempts = IntegerField(
        "增加作答次数",
        validators=[optional(), NumberRange(1, 20, message="增加次数应为 1–20 次。")],
    )
    reason = StringField("原因", validators=[required("请填写调整原因。"), max_length(200)])

    def validate_closes_at(self, field) -> None:
        if field.data and self.opens_at.data and field.data <= self.opens_at.data:
            raise ValidationError("截止时间必须晚于开放时间。")

    def validate_agent_id(self, field) -> None:
        if self.subject.data == "agent" and not (field.data or "").isdigit():
            raise ValidationError("请先搜索并选择一名代办员。")

    def validate_township_id(self, field) -> None:
        if self.subject.data == "township" and not field.data:
            raise ValidationError("请选择镇街。")


class ReopenForm(FlaskForm):
    minutes = IntegerField(
        "再给多少分钟",
        default=15,
        validators=[
            required("请填写分钟数。"),
            NumberRange(1, 600, message="延长时间应为 1–600 分钟。"),
        ],
    )
    reason = StringField("原因", validators=[required("请填写重新开放的原因。"), max_length(200)])


class MarkForm(FlaskForm):
    score = FloatField("得分", validators=[required("请填写得分。")])
    comment = TextAreaField(
        "评语（考生回顾时可见，选填）", validators=[optional(), max_length(2000)]
    )
