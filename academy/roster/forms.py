from __future__ import annotations

from datetime import date

from flask_wtf import FlaskForm
from wtforms import IntegerField, StringField
from wtforms.validators import NumberRange

from academy.forms import (
    DateField,
    SelectField,
    id_number,
    max_length,
    optional,
    phone_number,
    required,
)
from academy.roster.models import AgentKind, Education, Gender, LeaveReason

DATE_MESSAGE = "请输入有效日期，格式如 2026-03-01。"


class PersonForm(FlaskForm):
    name = StringField("姓名", validators=[required("请填写姓名。"), max_length(40)])
    phone = StringField(
        "联系电话", validators=[required("请填写联系电话。"), max_length(20), phone_number]
    )
    id_number = StringField("身份证号（选填）", validators=[optional(), max_length(18), id_number])
    birth_year = IntegerField(
        "出生年份（选填）",
        validators=[optional(), NumberRange(1900, 2100, message="请输入四位数的出生年份。")],
    )
    gender = SelectField("性别", choices=[("", "（不填）"), *Gender.choices()], default="")
    education = SelectField(
        "文化程度", choices=[("", "（不填）"), *Education.choices()], default=""
    )


class EnrolForm(PersonForm):
    village_id = SelectField("所在村社", coerce=int)
    kind = SelectField("身份", choices=AgentKind.choices())
    joined_on = DateField(
        "到岗日期", default=date.today, validators=[required(DATE_MESSAGE)], format="%Y-%m-%d"
    )


class DepartureForm(FlaskForm):
    left_on = DateField("离岗日期", default=date.today, validators=[required(DATE_MESSAGE)])
    reason = SelectField(
        "离岗原因", choices=[c for c in LeaveReason.choices() if c[0] != LeaveReason.TRANSFERRED]
    )
    note = StringField("说明（选填）", validators=[optional(), max_length(200)])


class TransferForm(FlaskForm):
    village_id = SelectField("调入村社", coerce=int)
    on = DateField("调动日期", default=date.today, validators=[required(DATE_MESSAGE)])
    kind = SelectField("在新村社的身份", choices=AgentKind.choices())


class RejoinForm(FlaskForm):
    village_id = SelectField("到岗村社", coerce=int)
    kind = SelectField("身份", choices=AgentKind.choices())
    joined_on = DateField("到岗日期", default=date.today, validators=[required(DATE_MESSAGE)])
