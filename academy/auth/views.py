from __future__ import annotations

from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user

from academy.auth import services
from academy.auth.forms import (
    ChangePasswordForm,
    EditUserForm,
    LoginForm,
    ResetPasswordForm,
    UserForm,
    agent_label,
)
from academy.auth.models import Role, User
from academy.auth.policy import Permission, requires
from academy.errors_domain import DomainError
from academy.extensions import db
from academy.forms import apply_domain_error, service_call
from academy.pagination import paginate
from academy.regions.models import Township

bp = Blueprint("auth", __name__)


def _safe_next(target: str | None) -> str:
    if (
        target
        and not urlsplit(target).netloc
        and target.startswith("/")
        and not target.startswith("//")
    ):
        return target
    return url_for("main.home")


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        result = services.authenticate(form.username.data, form.password.data, request.remote_addr)
        if result.user:
            login_user(result.user, remember=form.remember.data)
            return redirect(_safe_next(request.args.get("next")))
        form.password.errors = [result.error]
        status = 429 if result.locked else 200
    return render_template("auth/login.html", form=form), status


@bp.post("/logout")
@login_required
def logout():
    services.end_session(current_user._get_current_object())
    logout_user()
    flash("您已安全退出。", "info")
    return redirect(url_for("auth.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            services.change_password(current_user, form.current.data, form.new.data)
        except DomainError as err:
            apply_domain_error(form, err)
        else:
            # Keep this session valid under the new session version.
            login_user(current_user._get_current_object())
            flash("密码已修改。", "success")
            return redirect(url_for("main.home"))
    return render_template("auth/change_password.html", form=form)


# --- county admin: user accounts ------------------------------------------------------


def _township_choices(form) -> None:
    townships = db.session.scalars(sa.select(Township).order_by(Township.position, Township.id))
    form.township_id.choices = [(None, "（不适用）")] + [(t.id, t.name) for t in townships]


@bp.get("/admin/users")
@requires(Permission.MANAGE_USERS)
def users():
    q = request.args.get("q", "").strip()
    role = request.args.get("role", "")
    status = request.args.get("status", "")
    stmt = sa.select(User).order_by(User.role, User.username)
    if q:
        like = f"%{q}%"
        stmt = stmt.where(sa.or_(User.username.like(like), User.display_name.like(like)))
    if role in {r.value for r in Role}:
        stmt = stmt.where(User.role == Role(role))
    if status == "inactive":
        stmt = stmt.where(User.active.is_(False))
    elif status == "active":
        stmt = stmt.where(User.active.is_(True))
    page = paginate(stmt, per_page=20)
    return render_template(
        "auth/users.html", page=page, roles=list(Role), q=q, role=role, status=status
    )


@bp.route("/admin/users/new", methods=["GET", "POST"])
@requires(Permission.MANAGE_USERS)
def user_new():
    form = UserForm()
    _township_choices(form)
    if request.method == "GET" and request.args.get("agent"):  # from the roster's agent page
        form.role.data = Role.AGENT.value
        form.agent_id.data = request.args["agent"][:60]
        form.display_name.data = request.args.get("name", "")[:40]
    if form.validate_on_submit():
        ok, user = service_call(
            form,
            services.create_user,
            current_user,
            username=form.username.data,
            display_name=form.display_name.data,
            password=form.password.data,
            role=Role(form.role.data),
            township_id=form.township_id.data,
            agent_id=form.agent_id_value(),
        )
        if ok:
            flash(f"已创建账号 {user.username}。", "success")
            return redirect(url_for("auth.users"))
    return render_template("auth/user_form.html", form=form, user=None)


def _user_or_404(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    return user


@bp.route("/admin/users/<id:user_id>", methods=["GET", "POST"])
@requires(Permission.MANAGE_USERS)
def user_edit(user_id: int):
    user = _user_or_404(user_id)
    form = EditUserForm(obj=user) if request.method == "GET" else EditUserForm()
    if request.method == "GET":
        form.role.data = user.role.value
        form.agent_id.data = agent_label(user.agent)
    _township_choices(form)
    if form.validate_on_submit():
        ok, _ = service_call(
            form,
            services.update_user,
            current_user,
            user,
            display_name=form.display_name.data,
            role=Role(form.role.data),
            township_id=form.township_id.data,
            agent_id=form.agent_id_value(),
        )
        if ok:
            flash("账号已保存。", "success")
            return redirect(url_for("auth.users"))
    return render_template(
        "auth/user_form.html", form=form, user=user, reset_form=ResetPasswordForm()
    )


@bp.post("/admin/users/<id:user_id>/active")
@requires(Permission.MANAGE_USERS)
def user_set_active(user_id: int):
    user = _user_or_404(user_id)
    active = request.form.get("active") == "1"
    try:
        services.set_active(current_user, user, active)
    except DomainError as err:
        flash(err.message, "error")
        return redirect(url_for("auth.user_edit", user_id=user.id))
    flash(f"账号 {user.username} 已{'启用' if active else '停用'}。", "success")
    return redirect(url_for("auth.user_edit", user_id=user.id))


@bp.post("/admin/users/<id:user_id>/password")
@requires(Permission.MANAGE_USERS)
def user_reset_password(user_id: int):
    user = _user_or_404(user_id)
    form = ResetPasswordForm()
    if form.validate_on_submit():
        try:
            services.reset_password(current_user, user, form.password.data)
        except DomainError as err:
            form.password.errors = [err.message]
        else:
            flash(f"账号 {user.username} 的密码已重置，请告知本人登录后修改。", "success")
            return redirect(url_for("auth.user_edit", user_id=user.id))
    edit_form = EditUserForm(obj=user)
    edit_form.role.data = user.role.value
    edit_form.agent_id.data = agent_label(user.agent)
    _township_choices(edit_form)
    return render_template("auth/user_form.html", form=edit_form, user=user, reset_form=form), 400
