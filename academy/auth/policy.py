"""The one place that decides who may see and do what.

Views declare the roles they admit with ``@roles_required``; queries are narrowed
to what the user may see with the ``scope_*`` helpers, so a township head never
receives another township's rows (the filter is in SQL, not in a template).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

import sqlalchemy as sa
from flask import abort
from flask_login import current_user, login_required

from academy.auth.models import Role, User
from academy.extensions import db
from academy.regions.models import Township, Village

ALL_STAFF = (Role.ADMIN, Role.TOWNSHIP_HEAD, Role.EXPERT)
ROSTER_MANAGERS = (Role.ADMIN, Role.TOWNSHIP_HEAD)
QUESTION_AUTHORS = (Role.EXPERT, Role.ADMIN)  # question banks: county-wide, no township scope


def roles_required(*roles: Role) -> Callable:
    def decorator(view: Callable) -> Callable:
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


def township_limit(user: User) -> int | None:
    """The township a user is confined to, or None for county-wide roles."""
    if user.role == Role.TOWNSHIP_HEAD:
        return user.township_id
    if user.role in (Role.ADMIN, Role.EXPERT):
        return None
    # Agents see nothing of the roster through these helpers.
    return -1


def scope_by_township(stmt: sa.Select, user: User, township_column) -> sa.Select:
    limit = township_limit(user)
    return stmt if limit is None else stmt.where(township_column == limit)


def scope_villages(stmt: sa.Select, user: User) -> sa.Select:
    return scope_by_township(stmt, user, Village.township_id)


def visible_townships(user: User) -> list[Township]:
    stmt = scope_by_township(sa.select(Township), user, Township.id)
    return list(db.session.scalars(stmt.order_by(Township.position, Township.id)))


def village_or_404(user: User, village_id: int) -> Village:
    stmt = scope_villages(sa.select(Village).where(Village.id == village_id), user)
    village = db.session.scalar(stmt)
    if village is None:
        abort(404)
    return village


def township_or_404(user: User, township_id: int) -> Township:
    stmt = scope_by_township(
        sa.select(Township).where(Township.id == township_id), user, Township.id
    )
    township = db.session.scalar(stmt)
    if township is None:
        abort(404)
    return township
