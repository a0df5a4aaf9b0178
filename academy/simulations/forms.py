"""Forms of the authoring and marking pages (the player posts plain fields, checked by the
step kinds themselves)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import DecimalField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, NumberRange, Optional


class CaseTextForm(FlaskForm):
    file = FileField("上传案例文件（.yaml）")
    text = TextAreaField("或直接编辑案例内容（YAML）", validators=[Optional(), Length(max=200_000)])

    def validate(self, extra_validators=None) -> bool:
        if not super().validate(extra_validators):
            return False
        if not self.file.data and not (self.text.data or "").strip():
            self.text.errors = ["请上传文件或填写案例内容。"]
            return False
        return True

    def text_value(self) -> str:
        if self.file.data:
            raw = self.file.data.read(400_000)
            try:
                return raw.decode("utf-8-sig")
            except UnicodeDecodeError:
                return "\ufffd"  # reported by the YAML parser as not UTF-8 text
        return self.text.data or ""


class MarkForm(FlaskForm):
    points = DecimalField("得分", validators=[InputRequired(), NumberRange(min=0)])
    note = StringField("评语（可选）", validators=[Optional(), Length(max=500)])
