from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import IntegerField, StringField
from wtforms.validators import NumberRange, Regexp

from academy.forms import MultiCheckboxField, SelectField, max_length, optional, required
from academy.regions.models import StationTier, TownshipKind, VillageKind


class TownshipForm(FlaskForm):
    name = StringField("名称", validators=[required("请填写镇街名称。"), max_length(40)])
    kind = SelectField("类型", choices=TownshipKind.choices())
    code = StringField(
        "区划代码",
        validators=[optional(), Regexp(r"^\d{9,12}$", message="区划代码应为 9–12 位数字。")],
    )
    position = IntegerField(
        "排序", default=0, validators=[optional(), NumberRange(0, 999, message="排序应为 0–999。")]
    )


class VillageForm(FlaskForm):
    township_id = SelectField("所属镇街", coerce=int)
    name = StringField("名称", validators=[required("请填写村（社区）名称。"), max_length(40)])
    kind = SelectField("类型", choices=VillageKind.choices())
    tier = SelectField("便民服务站等级", choices=StationTier.choices())
    area = StringField("所属片区", validators=[optional(), max_length(40)])
    items = MultiCheckboxField("可办事项", coerce=int)
