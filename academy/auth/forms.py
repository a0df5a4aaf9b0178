from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, StringField
from wtforms.validators import EqualTo, Regexp

from academy.auth.models import Role
from academy.forms import SelectField, length_between, max_length, optional, required


class LoginForm(FlaskForm):
    username = StringField("用户名", validators=[required("请输入用户名。"), max_length(40)])
    password = PasswordField("密码", validators=[required("请输入密码。"), max_length(128)])
    remember = BooleanField("在这台设备上保持登录")


class ChangePasswordForm(FlaskForm):
    current = PasswordField("当前密码", validators=[required("请输入当前密码。")])
    new = PasswordField("新密码", validators=[required("请输入新密码。"), length_between(8, 128)])
    confirm = PasswordField(
        "再次输入新密码",
        validators=[
            required("请再次输入新密码。"),
            EqualTo("new", message="两次输入的新密码不一致。"),
        ],
    )


USERNAME = Regexp(r"^[A-Za-z0-9_.-]+$", message="用户名只能包含字母、数字、下划线、点和连字符。")


def _int_or_none(value):
    try:
        return int(value) if value not in (None, "", "None") else None
    except (TypeError, ValueError):
        return None


class UserForm(FlaskForm):
    username = StringField(
        "用户名", validators=[required("请输入用户名。"), length_between(3, 40), USERNAME]
    )
    display_name = StringField("姓名", validators=[required("请输入姓名。"), max_length(40)])
    role = SelectField("角色", choices=Role.choices(), validators=[required("请选择角色。")])
    township_id = SelectField(
        "所属镇街（镇街负责人必填）", coerce=_int_or_none, validate_choice=True
    )
    agent_id = StringField(
        "关联代办员（代办员必填，填姓名或手机号）", validators=[optional(), max_length(60)]
    )
    password = PasswordField(
        "初始密码", validators=[required("请设置初始密码。"), length_between(8, 128)]
    )

    def agent_id_value(self) -> int | None:
        found, _ = find_agent(self.agent_id.data or "")
        return found

    def validate_agent_id(self, field):
        from wtforms.validators import ValidationError

        if field.data and field.data.strip():
            found, problem = find_agent(field.data)
            if found is None:
                raise ValidationError(problem)


def agent_label(agent) -> str:
    """How the account form shows a linked agent (and reads it back: by the phone)."""
    return f"{agent.name} {agent.phone}" if agent else ""


def find_agent(text: str) -> tuple[int | None, str]:
    """The roster agent an admin means by a name, a phone number or "name phone"."""
    import sqlalchemy as sa

    from academy.extensions import db
    from academy.roster.models import Agent

    words = text.split()
    if not words:
        return None, ""
    phones = [w for w in words if w.isdigit() and len(w) == 11]
    if phones:
        rows = db.session.scalars(sa.select(Agent.id).where(Agent.phone == phones[0])).all()
        what = f"手机号为 {phones[0]} 的代办员"
    elif len(words) == 1 and words[0].isdigit() and len(words[0]) < 10:
        rows = db.session.scalars(sa.select(Agent.id).where(Agent.id == int(words[0]))).all()
        what = f"编号为 {words[0]} 的代办员"
    else:
        name = "".join(words)
        rows = db.session.scalars(sa.select(Agent.id).where(Agent.name == name)).all()
        what = f"名为“{name}”的代办员"
        if len(rows) > 1:
            return None, f"花名册中有 {len(rows)} 位叫“{name}”的代办员，请改填手机号。"
    if not rows:
        return None, f"花名册中没有{what}，请核对姓名或手机号。"
    return rows[0], ""


class EditUserForm(UserForm):
    username = None  # not editable
    password = None


class ResetPasswordForm(FlaskForm):
    password = PasswordField(
        "新密码", validators=[required("请输入新密码。"), length_between(8, 128)]
    )
