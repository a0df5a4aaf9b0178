"""Forms of the competition pages."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import DateField, FloatField, HiddenField, IntegerField, StringField, TextAreaField
from wtforms.validators import NumberRange, ValidationError

from academy.competition.models import CriterionKind, RoundKind
from academy.forms import SelectField, max_length, optional, required
from academy.questions.models import Dimension


def _sane_date(form, field) -> None:
    if field.data and not 2000 <= field.data.year <= 2100:
        raise ValidationError("请输入 2000 至 2100 年之间的日期。")


class CompetitionForm(FlaskForm):
    year = IntegerField(
        "年度",
        validators=[required(), NumberRange(2020, 2100, message="年度应在 2020 至 2100 之间。")],
    )
    title = StringField("名称", validators=[required(), max_length(120)])
    joined_before = DateField("到岗日期不晚于", validators=[required("请填写日期。"), _sane_date])
    registration_closes_on = DateField(
        "报名截止日", validators=[required("请填写日期。"), _sane_date]
    )
    quota_per_township = IntegerField(
        "每个镇街名额",
        default=3,
        validators=[required(), NumberRange(1, 100, message="名额应在 1 到 100 之间。")],
    )


class RoundForm(FlaskForm):
    kind = SelectField("轮次类型", choices=RoundKind.choices(), validators=[required()])
    title = StringField("名称", validators=[required(), max_length(80)])
    weight = FloatField(
        "权重（%）",
        validators=[required(), NumberRange(0, 100, message="权重应在 0 到 100 之间。")],
    )
    exam_id = SelectField("笔试使用的考试", choices=[], validators=[optional()], coerce=str)
    case_slugs = StringField(
        "实操使用的情景案例（多个用逗号分隔）", validators=[optional(), max_length(400)]
    )
    judges_per_candidate = IntegerField(
        "每名选手的评委人数",
        default=3,
        validators=[required(), NumberRange(1, 9, message="评委人数应在 1 到 9 之间。")],
    )


class CriterionForm(FlaskForm):
    title = StringField("指标", validators=[required(), max_length(120)])
    kind = SelectField("类型", choices=CriterionKind.choices(), validators=[required()])
    max_points = FloatField(
        "分值", validators=[required(), NumberRange(0.5, 100, message="分值应在 0.5 到 100 之间。")]
    )
    dimension = SelectField("维度", choices=Dimension.choices(), validators=[required()])
    level0 = StringField("0 级描述", validators=[optional(), max_length(300)])
    level1 = StringField("1 级描述", validators=[optional(), max_length(300)])
    level2 = StringField("2 级描述", validators=[optional(), max_length(300)])
    level3 = StringField("3 级描述", validators=[optional(), max_length(300)])


class NoteForm(FlaskForm):
    note = TextAreaField("说明", validators=[required("请写明理由。"), max_length(300)])


class AppealForm(FlaskForm):
    entry_id = SelectField("选手", choices=[], validators=[required()], coerce=str)
    round_id = SelectField("轮次", choices=[], validators=[required()], coerce=str)
    reason = TextAreaField("申诉理由", validators=[required("请写明申诉理由。"), max_length(2000)])


class DecideAppealForm(FlaskForm):
    decision = TextAreaField(
        "裁决意见", validators=[required("请写明裁决意见。"), max_length(2000)]
    )
    outcome = SelectField(
        "结果",
        choices=[("rejected", "申诉不成立"), ("upheld", "申诉成立并更正")],
        validators=[required()],
    )
    new_value = FloatField("更正后的分值", validators=[optional()])


class CorrectionForm(FlaskForm):
    mark_id = HiddenField()
    entry_id = HiddenField()
    new_value = FloatField("更正为", validators=[required("请填写更正后的分值。")])
    reason = StringField("原因", validators=[required("请写明更正原因。"), max_length(300)])
