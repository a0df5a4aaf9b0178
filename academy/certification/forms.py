from __future__ import annotations

from datetime import date

from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, StringField, TextAreaField, validators
from wtforms.validators import NumberRange, ValidationError

from academy.certification.models import CertSource
from academy.forms import DateField, SelectField, max_length, required

DATE_MESSAGE = "请输入有效日期，格式如 2026-03-01。"
MAX_DB_INT = 2**31 - 1


def _strip(value):
    return value.strip() if isinstance(value, str) else value


class RevokeForm(FlaskForm):
    reason = TextAreaField(
        "撤销原因",
        filters=[_strip],
        validators=[validators.DataRequired("请填写撤销原因。"), max_length(200)],
    )


# Certificates an admin enters by hand; EARNED and RENEWED come from learning and exams.
MANUAL_SOURCES = (CertSource.AWARD, CertSource.MANUAL)


class IssueForm(FlaskForm):
    agent_id = IntegerField(
        "代办员编号",
        validators=[
            required("请填写代办员编号。"),
            NumberRange(1, MAX_DB_INT, message="请填写有效的代办员编号。"),
        ],
    )
    scheme_id = SelectField("证书类别", coerce=int)
    source = SelectField("来源", choices=[(s.value, s.label) for s in MANUAL_SOURCES])
    issued_on = DateField("发证日期", default=date.today, validators=[required(DATE_MESSAGE)])
    note = StringField(
        "说明",
        filters=[_strip],
        validators=[
            validators.DataRequired("请填写说明，例如比武名次或登记依据。"),
            max_length(200),
        ],
    )

    def validate_issued_on(self, field) -> None:
        if field.data and field.data > date.today():
            raise ValidationError("发证日期不能晚于今天。")
        if field.data and field.data.year < 2000:
            raise ValidationError("发证日期不能早于 2000 年。")


class ArchiveForm(FlaskForm):
    """Which certificates go into a township's ZIP. Read from the query string to preview
    (without CSRF) and posted to download."""

    township_id = SelectField("镇街", coerce=int, validators=[required("请选择镇街。")])
    valid_only = BooleanField("只要有效的证书（不含已过期、已撤销）")
    issued_from = DateField("发证日期从", validators=[validators.Optional()])
    issued_to = DateField("发证日期到", validators=[validators.Optional()])

    def validate_issued_to(self, field) -> None:
        if field.data and self.issued_from.data and field.data < self.issued_from.data:
            raise ValidationError("结束日期不能早于开始日期。")
