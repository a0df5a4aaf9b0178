"""Accounts: loading, authenticating with throttling, password and account changes."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import joinedload

from academy import ratelimit
from academy.audit.services import record
from academy.auth.models import Role, User
from academy.auth.rules import password_problems
from academy.db import utcnow
from academy.errors_domain import DomainError
from academy.extensions import db


def load_user(user_id: str) -> User | None:
    try:
        uid, version = (int(part) for part in user_id.split(":", 1))
    except ValueError:
        return None
    # The agent (most users are agents) in the same query: nearly every page of theirs uses it.
    user = db.session.get(User, uid, options=[joinedload(User.agent)])
    if user is None or user.session_version != version or not user.active:
        return None
    return user


@dataclass
class LoginResult:
    user: User | None
    error: str | None = None
    locked: bool = False


def _minutes(wait: int) -> int:
    return max(1, (wait + 59) // 60)


def authenticate(username: str, password: str, remote_addr: str) -> LoginResult:
    """Check a login, throttling failures (not addresses) so that a village office or any
    NAT, where everyone shares one address, is never locked out by someone else's typos:

    - per account and address: ``LOGIN_MAX_FAILURES`` failures lock that account *from
      that address* for ``LOGIN_WINDOW_SECONDS``;
    - per account: ``LOGIN_MAX_FAILURES_PER_ACCOUNT`` failures from anywhere lock the
      account itself (guessing spread over many addresses);
    - per address: past ``LOGIN_MAX_FAILURES_PER_IP`` failures (clearly abusive volume,
      e.g. one address trying many accounts) an account that already failed from that
      address in the window is refused there at once. The right password of an account
      that is not itself locked still gets in from an address that is over the cap.
    """
    cfg = current_app.config
    window = cfg["LOGIN_WINDOW_SECONDS"]
    name = username.strip().lower()
    addr = remote_addr or "?"
    account = ("login:account:" + name, cfg["LOGIN_MAX_FAILURES_PER_ACCOUNT"], window)
    pair = (f"login:pair:{addr}:{name}", cfg["LOGIN_MAX_FAILURES"], window)
    per_ip = ("login:ip:" + addr, cfg["LOGIN_MAX_FAILURES_PER_IP"], window)
    wait = ratelimit.wait_seconds(*account)
    if wait:
        return LoginResult(
            None,
            f"该账号登录失败次数过多，已暂时锁定，请 {_minutes(wait)} 分钟后再试。",
            locked=True,
        )
    wait = ratelimit.wait_seconds(*pair)
    if not wait and ratelimit.wait_seconds(*per_ip) and ratelimit.failures(*pair):
        wait = ratelimit.wait_seconds(*per_ip)
    if wait:
        return LoginResult(
            None,
            f"登录失败次数过多，账号已暂时锁定，请 {_minutes(wait)} 分钟后再试。",
            locked=True,
        )
    user = db.session.scalar(sa.select(User).where(sa.func.lower(User.username) == name))
    if user is None or not user.check_password(password):
        for key in (account, pair, per_ip):
            ratelimit.hit(*key)
        return LoginResult(None, "用户名或密码不正确。")
    if not user.active:
        return LoginResult(None, "该账号已停用，请联系县级管理员。")
    ratelimit.reset(*pair)
    user.last_login_at = utcnow()
    return LoginResult(user)


def change_password(user: User, current: str, new: str) -> None:
    """The current password is checked under the same throttle as a login (per account)."""
    cfg = current_app.config
    check = (f"password-check:{user.id}", cfg["LOGIN_MAX_FAILURES"], cfg["LOGIN_WINDOW_SECONDS"])
    wait = ratelimit.wait_seconds(*check)
    if wait:
        raise DomainError(
            f"当前密码输错次数过多，请 {_minutes(wait)} 分钟后再试。", field="current"
        )
    if not user.check_password(current):
        ratelimit.hit(*check)
        raise DomainError("当前密码不正确。", field="current")
    ratelimit.reset(*check)
    problems = password_problems(new, user.username)
    if problems:
        raise DomainError(problems[0], field="new")
    user.set_password(new)
    user.session_version += 1
    record(user, "user.password_changed", user, "修改了自己的密码")
    db.session.flush()


def end_session(user: User) -> None:
    """Logging out ends every session of the account: a cookie copied before (and the
    remember-me cookie) carries the old session version and no longer loads the user."""
    user.session_version += 1
    db.session.flush()


def username_taken(username: str, exclude_id: int | None = None) -> bool:
    stmt = sa.select(User.id).where(sa.func.lower(User.username) == username.strip().lower())
    if exclude_id:
        stmt = stmt.where(User.id != exclude_id)
    return db.session.scalar(stmt) is not None


def create_user(
    actor: User | None,
    *,
    username: str,
    display_name: str,
    password: str,
    role: Role,
    township_id: int | None = None,
    agent_id: int | None = None,
) -> User:
    if username_taken(username):
        raise DomainError("该用户名已被使用。", field="username")
    problems = password_problems(password, username)
    if problems:
        raise DomainError(problems[0], field="password")
    _check_role_links(role, township_id, agent_id)
    user = User(
        username=username.strip(),
        display_name=display_name.strip(),
        role=role,
        township_id=township_id if role == Role.TOWNSHIP_HEAD else None,
        agent_id=agent_id if role == Role.AGENT else None,
    )
    user.set_password(password)
    db.session.add(user)
    db.session.flush()
    record(actor, "user.created", user, f"创建账号 {user.username}（{role.label}）")
    return user


def _check_role_links(role: Role, township_id: int | None, agent_id: int | None) -> None:
    if role == Role.TOWNSHIP_HEAD and not township_id:
        raise DomainError("镇街负责人必须指定所属镇街。", field="township_id")
    if role == Role.AGENT:
        if not agent_id:
            raise DomainError("代办员账号必须关联花名册中的人员。", field="agent_id")
        clash = db.session.scalar(sa.select(User.id).where(User.agent_id == agent_id))
        if clash:
            raise DomainError("该代办员已有账号。", field="agent_id")


def update_user(
    actor: User,
    user: User,
    *,
    display_name: str,
    role: Role,
    township_id: int | None,
    agent_id: int | None,
) -> None:
    if user.id == actor.id and role != user.role:
        raise DomainError("不能修改自己的角色。", field="role")
    if role == Role.AGENT and agent_id != user.agent_id:
        _check_role_links(role, township_id, agent_id)
    elif role == Role.TOWNSHIP_HEAD:
        _check_role_links(role, township_id, None)
    changes = {}
    for field, value in (
        ("display_name", display_name.strip()),
        ("role", role),
        ("township_id", township_id if role == Role.TOWNSHIP_HEAD else None),
        ("agent_id", agent_id if role == Role.AGENT else None),
    ):
        if getattr(user, field) != value:
            changes[field] = [str(getattr(user, field)), str(value)]
            setattr(user, field, value)
    if changes:
        user.session_version += 1
        record(actor, "user.updated", user, f"修改账号 {user.username}", changes)
    db.session.flush()


def set_active(actor: User, user: User, active: bool) -> None:
    if user.id == actor.id and not active:
        raise DomainError("不能停用自己的账号。")
    if user.active == active:
        return
    user.active = active
    user.session_version += 1
    record(
        actor,
        "user.activated" if active else "user.deactivated",
        user,
        f"{'启用' if active else '停用'}账号 {user.username}",
    )
    db.session.flush()


def reset_password(actor: User, user: User, new_password: str) -> None:
    problems = password_problems(new_password, user.username)
    if problems:
        raise DomainError(problems[0], field="password")
    user.set_password(new_password)
    user.session_version += 1
    record(actor, "user.password_reset", user, f"重置账号 {user.username} 的密码")
    db.session.flush()
