"""Forms of practice mode. The answer fields themselves are rendered by
templates/questions/_answer.html and read by the question type's from_form."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import IntegerField, validators

from academy.forms import optional, required
from academy.practice import rules


class StartForm(FlaskForm):
    size = IntegerField(
        "题数",
        validators=[
            optional(),
            validators.NumberRange(
                1, rules.MAX_SESSION_SIZE, message=f"每次练习 1 到 {rules.MAX_SESSION_SIZE} 题。"
            ),
        ],
    )
    item = IntegerField("事项", validators=[optional()])


class AnswerForm(FlaskForm):
    question_id = IntegerField("题目", validators=[required("缺少题目编号。")])
