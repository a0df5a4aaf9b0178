"""The one place that decides who may see and do what.

Two questions, answered here and nowhere else:

*What may a role do?* — ``ROLE_PERMISSIONS`` maps every role to its named permissions, and
views declare the one they need with ``@requires(Permission.X)`` (login first, then 403).
Code that needs a role list (a query, a template) asks ``roles_with(Permission.X)`` or
``can(user, Permission.X)`` instead of spelling roles out.

*Which rows may it see?* — a ``Scope`` value: the whole county, one township, every township
but one (judges kept away from their own township), one agent, or nothing. ``Scope.of(user)``
is a web user's scope; a job builds one directly (``Scope.everything()``). The ``scope_*``
helpers narrow a SELECT in SQL, so a township head never receives another township's rows.
Access to an *agent* (their record, certificates, attempts) follows the agent's current
posting — the latest one, if they have left — not every posting they ever had
(``agent_in_scope``): an old township keeps its history rows, not the person.

A page that is asked about one township reads it with ``requested_township()``: the
``township_id`` argument (a 404 when malformed or outside the scope), or a township-scoped
user's own township.

A new feature declares its permissions by adding members to ``Permission`` and the roles
that hold them to ``ROLE_PERMISSIONS`` below (one line each), then decorates its views with
``@requires(Permission.NEW_THING)`` and scopes its queries with a ``Scope``; the route-matrix
test (tests/web/test_route_matrix.py) then wants one row per new route.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import wraps

import sqlalchemy as sa
from flask import abort, request
from flask_login import current_user, login_required
from sqlalchemy.orm import aliased

from academy.auth.models import Role, User
from academy.extensions import db
from academy.regions.models import Township, Village


class Permission(enum.StrEnum):
    # people and places
    MANAGE_USERS = "manage_users"  # accounts and roles
    MANAGE_REGIONS = "manage_regions"  # create and edit townships and villages
    MANAGE_ROSTER = "manage_roster"  # register, edit, move agents; villages of the scope
    VIEW_AUDIT = "view_audit"
    VIEW_ACTIVITY = "view_activity"  # the learning-event log
    VIEW_DASHBOARD = "view_dashboard"  # coverage dashboards and their exports
    VIEW_PLANS = "view_plans"  # onboarding plans of the agents in scope
    PRINT_HANDBOOKS = "print_handbooks"  # a township's or village's printable handbook
    VIEW_HANDBOOK = "view_handbook"  # a village handbook (an agent: their own village)
    # content
    AUTHOR_QUESTIONS = "author_questions"  # question banks (county-wide)
    EDIT_MODULES = "edit_modules"  # course modules
    # exams
    MANAGE_EXAMS = "manage_exams"  # settings, blueprints, publish, overrides, reopen
    VIEW_EXAM_RESULTS = "view_exam_results"  # results, attempts, statistics (read-only)
    MARK_ESSAYS = "mark_essays"
    # certificates
    VIEW_CERTIFICATES = "view_certificates"  # those in scope (an agent: their own)
    MANAGE_CERTIFICATES = "manage_certificates"  # issue and revoke
    DOWNLOAD_ARCHIVES = "download_archives"  # a township's certificates as one ZIP
    # learning
    LEARN = "learn"  # modules, practice, exams as a candidate
    # the skills competition
    MANAGE_COMPETITIONS = "manage_competitions"  # set-up, judges, assignment, publication
    MANAGE_ENTRIES = "manage_entries"  # nominate, withdraw, export results (own scope)
    JUDGE = "judge"  # mark assigned candidates (by number only)
    CHIEF_JUDGE = "chief_judge"  # moderate, lock, corrections, rater analysis (when chief)
    COMPETITION_APPEALS = "competition_appeals"  # file (heads) or decide (chief judge)
    # simulated cases
    AUTHOR_CASES = "author_cases"  # upload, edit, preview, retire cases; mark free-text replies
    VIEW_CASE_RESULTS = "view_case_results"  # finished runs of the agents in scope


P = Permission

ROLE_PERMISSIONS: Mapping[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset(Permission) - {P.LEARN, P.JUDGE},
    Role.EXPERT: frozenset(
        {
            P.AUTHOR_QUESTIONS,
            P.EDIT_MODULES,
            P.MANAGE_EXAMS,
            P.VIEW_EXAM_RESULTS,
            P.MARK_ESSAYS,
            P.VIEW_HANDBOOK,
            P.AUTHOR_CASES,
            P.VIEW_CASE_RESULTS,
            P.JUDGE,
            P.CHIEF_JUDGE,  # of a competition that names them chief (checked per competition)
            P.COMPETITION_APPEALS,
        }
    ),
    Role.TOWNSHIP_HEAD: frozenset(
        {
            P.MANAGE_ROSTER,
            P.VIEW_AUDIT,
            P.VIEW_ACTIVITY,
            P.VIEW_DASHBOARD,
            P.VIEW_PLANS,
            P.PRINT_HANDBOOKS,
            P.VIEW_HANDBOOK,
            P.VIEW_EXAM_RESULTS,  # read-only: no settings, overrides or reopening
            P.VIEW_CERTIFICATES,
            P.DOWNLOAD_ARCHIVES,
            P.MANAGE_ENTRIES,
            P.COMPETITION_APPEALS,
            P.VIEW_CASE_RESULTS,
        }
    ),
    Role.AGENT: frozenset({P.LEARN, P.VIEW_HANDBOOK, P.VIEW_CERTIFICATES}),
}


def can(user, permission: Permission) -> bool:
    """Whether ``user`` (a logged-in user, or anonymous) holds ``permission``."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    return permission in ROLE_PERMISSIONS.get(user.role, frozenset())


def roles_with(permission: Permission) -> tuple[Role, ...]:
    return tuple(r for r in Role if permission in ROLE_PERMISSIONS.get(r, frozenset()))


@dataclass(frozen=True)
class SessionIdentity:
    """Who the session says is signed in — not yet checked against the account — and the
    permission the view needs. For hot endpoints (an exam save, a simulation step) that
    check the account inside their own one SELECT instead of loading the user first: the
    SELECT adds ``account_matches()`` and returns the account's role, and the view asks
    ``permitted(role)``. An account deactivated, or signed out everywhere (its session
    version moved on), matches no row, exactly as ``load_user`` refuses it."""

    user_id: int
    version: int
    permission: Permission | None  # None: any signed-in account (the view checks ownership)

    @staticmethod
    def account_matches() -> sa.ColumnElement[bool]:
        """The SQL condition on ``User``, with bind parameters (``params()`` fills them), so
        that a statement using it can be built once."""
        return sa.and_(
            User.id == sa.bindparam("identity_user"),
            User.session_version == sa.bindparam("identity_version"),
            User.active.is_(True),
        )

    def params(self) -> dict[str, int]:
        return {"identity_user": self.user_id, "identity_version": self.version}

    def permitted(self, role: Role | str) -> bool:
        if self.permission is None:
            return True
        return self.permission in ROLE_PERMISSIONS.get(Role(role), frozenset())


class NotSignedIn(Exception):
    """The session names no valid account (a hot endpoint's SELECT found none)."""


def session_identity(permission: Permission | None) -> SessionIdentity | None:
    """The identity the session cookie carries (``"<user id>:<session version>"``, as
    ``User.get_id`` writes it); with no session but a remember-me cookie, Flask-Login's own
    path restores it. None when nobody is signed in."""
    from flask import session

    raw = session.get("_user_id")
    if raw is None:
        if not current_user.is_authenticated:
            return None
        raw = current_user.get_id()
    try:
        uid, version = (int(part) for part in str(raw).split(":", 1))
    except ValueError:
        return None
    return SessionIdentity(uid, version, permission)


def signed_out(json: bool):
    """The answer to a request without a valid session: for a JSON endpoint a 401 naming
    where to sign in again (the page keeps what it could not send); for a page, Flask-Login's
    own (to the login page, as ``login_required`` does)."""
    from flask import current_app, jsonify, url_for

    if json:
        return jsonify(error="登录已失效，请重新登录后继续。", login=url_for("auth.login")), 401
    return current_app.login_manager.unauthorized()


def requires_identity(permission: Permission | None, *, json: bool = False) -> Callable:
    """View decorator for hot endpoints (an exam save, a simulation step): the view receives
    ``identity`` (a SessionIdentity) and must check it in its own SELECT (``account_matches``)
    and answer 403 unless ``identity.permitted(role)`` (it raises NotSignedIn when the
    SELECT finds no account, PermissionError when the role may not); without a session the
    answer is ``signed_out(json)``."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(*args, **kwargs):
            identity = session_identity(permission)
            if identity is None:
                return signed_out(json)
            try:
                return view(*args, identity=identity, **kwargs)
            except NotSignedIn:
                return signed_out(json)
            except PermissionError:
                abort(403)

        return wrapped

    return decorator


def requires(permission: Permission, *, post: Permission | None = None) -> Callable:
    """View decorator: log in first, then 403 unless the user's role holds ``permission``;
    with ``post``, a request that changes something (any method but GET/HEAD) needs that
    permission too (a page some may read and fewer may submit)."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if not can(current_user, permission):
                abort(403)
            changing = request.method not in ("GET", "HEAD")
            if post is not None and changing and not can(current_user, post):
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


# --- scopes ----------------------------------------------------------------------------------


class ScopeKind(enum.StrEnum):
    ALL = "all"
    TOWNSHIP = "township"
    EXCEPT_TOWNSHIP = "except_township"
    AGENT = "agent"
    NOTHING = "nothing"


@dataclass(frozen=True)
class Scope:
    """Which rows a reader may see. Build one with the class methods, never by hand."""

    kind: ScopeKind
    township_id: int | None = None
    agent_id: int | None = None

    @classmethod
    def everything(cls) -> Scope:
        return cls(ScopeKind.ALL)

    @classmethod
    def township(cls, township_id: int) -> Scope:
        return cls(ScopeKind.TOWNSHIP, township_id=township_id)

    @classmethod
    def except_township(cls, township_id: int) -> Scope:
        return cls(ScopeKind.EXCEPT_TOWNSHIP, township_id=township_id)

    @classmethod
    def agent(cls, agent_id: int | None) -> Scope:
        return cls(ScopeKind.AGENT, agent_id=agent_id) if agent_id else cls.nothing()

    @classmethod
    def nothing(cls) -> Scope:
        return cls(ScopeKind.NOTHING)

    @classmethod
    def of(cls, user) -> Scope:
        """A web user's scope: admins and experts the county, a township head their
        township, an agent themselves, anybody else nothing."""
        if user is None or not getattr(user, "is_authenticated", False):
            return cls.nothing()
        if user.role in (Role.ADMIN, Role.EXPERT):
            return cls.everything()
        if user.role == Role.TOWNSHIP_HEAD:
            return cls.township(user.township_id) if user.township_id else cls.nothing()
        if user.role == Role.AGENT:
            return cls.agent(user.agent_id)
        return cls.nothing()

    @property
    def county_wide(self) -> bool:
        return self.kind == ScopeKind.ALL

    @property
    def single_township(self) -> int | None:
        """The one township this scope is confined to, if it is."""
        return self.township_id if self.kind == ScopeKind.TOWNSHIP else None

    def township_clause(self, column) -> sa.ColumnElement | None:
        """WHERE clause on a township-id column (None: no filter). An agent's scope holds
        no township rows: agents see nothing of the roster through these helpers."""
        if self.kind == ScopeKind.ALL:
            return None
        if self.kind == ScopeKind.TOWNSHIP:
            return column == self.township_id
        if self.kind == ScopeKind.EXCEPT_TOWNSHIP:
            return sa.or_(column != self.township_id, column.is_(None))
        return sa.false()

    def covers_township(self, township_id: int | None) -> bool:
        if self.kind == ScopeKind.ALL:
            return True
        if self.kind == ScopeKind.TOWNSHIP:
            return township_id == self.township_id
        if self.kind == ScopeKind.EXCEPT_TOWNSHIP:
            return township_id != self.township_id
        return False


def current_scope() -> Scope:
    return Scope.of(current_user)


def scope_by_township(stmt: sa.Select, scope: Scope, township_column) -> sa.Select:
    clause = scope.township_clause(township_column)
    return stmt if clause is None else stmt.where(clause)


def scope_villages(stmt: sa.Select, scope: Scope) -> sa.Select:
    return scope_by_township(stmt, scope, Village.township_id)


def visible_townships(scope: Scope) -> list[Township]:
    stmt = scope_by_township(sa.select(Township), scope, Township.id)
    return list(db.session.scalars(stmt.order_by(Township.position, Township.id)))


def village_or_404(scope: Scope, village_id: int) -> Village:
    stmt = scope_villages(sa.select(Village).where(Village.id == village_id), scope)
    village = db.session.scalar(stmt)
    if village is None:
        abort(404)
    return village


def township_or_404(scope: Scope, township_id: int) -> Township:
    stmt = scope_by_township(
        sa.select(Township).where(Township.id == township_id), scope, Township.id
    )
    township = db.session.scalar(stmt)
    if township is None:
        abort(404)
    return township


def requested_township(scope: Scope | None = None, args=None) -> Township | None:
    """The township a request asks about: ``township_id`` from ``args`` (the query string
    by default) — a 404 when it is malformed or outside the scope — else a township-scoped
    reader's own township, else None (every township of the scope)."""
    scope = scope or current_scope()
    args = request.args if args is None else args
    raw = (args.get("township_id") or "").strip()
    if raw:
        if not raw.isdigit() or len(raw) > 9 or int(raw) == 0:
            abort(404)
        return township_or_404(scope, int(raw))
    if scope.single_township is not None:
        return township_or_404(scope, scope.single_township)
    return None


# --- agents: access follows the current posting ----------------------------------------------


def home_posting_id(agent_id_column) -> sa.ScalarSelect:
    """Per agent: the id of their current posting, or of the last one if they left —
    the posting that decides who may see the person today."""
    from academy.roster.models import Posting

    p = aliased(Posting)
    return (
        sa.select(p.id)
        .where(p.agent_id == agent_id_column)
        .order_by(p.left_on.is_(None).desc(), p.joined_on.desc(), p.id.desc())
        .limit(1)
        .correlate_except(p)
        .scalar_subquery()
    )


def agent_clause(scope: Scope, agent_id_column) -> sa.ColumnElement | None:
    """WHERE clause on an agent-id column: the agents ``scope`` may see (None: no filter).
    A township's scope sees the agents whose current (else last) posting lies there."""
    from academy.roster.models import Posting

    if scope.kind == ScopeKind.ALL:
        return None
    if scope.kind == ScopeKind.AGENT:
        return agent_id_column == scope.agent_id
    if scope.kind == ScopeKind.NOTHING:
        return sa.false()
    home = aliased(Posting)
    place = aliased(Village)
    stmt = (
        sa.select(home.id)
        .join(place, place.id == home.village_id)
        .where(home.id == home_posting_id(agent_id_column))
        .correlate_except(home, place)
    )
    return scope_by_township(stmt, scope, place.township_id).exists()


def scope_agents(stmt: sa.Select, scope: Scope, agent_id_column) -> sa.Select:
    clause = agent_clause(scope, agent_id_column)
    return stmt if clause is None else stmt.where(clause)


def visible_agent_ids(scope: Scope, agent_ids) -> set[int]:
    """Which of ``agent_ids`` the scope may open (one query)."""
    from academy.roster.models import Agent

    ids = sorted(set(agent_ids))
    if not ids:
        return set()
    stmt = scope_agents(sa.select(Agent.id).where(Agent.id.in_(ids)), scope, Agent.id)
    return set(db.session.scalars(stmt))


def install(app) -> None:
    """Templates ask ``can(Permission.X)`` instead of naming roles."""

    @app.context_processor
    def _permissions():
        return {"can": lambda p: can(current_user, Permission(p)), "Permission": Permission}


__all__ = [
    "ROLE_PERMISSIONS",
    "Permission",
    "Scope",
    "ScopeKind",
    "agent_clause",
    "can",
    "current_scope",
    "requested_township",
    "requires",
    "roles_with",
    "scope_agents",
    "scope_by_township",
    "scope_villages",
    "township_or_404",
    "village_or_404",
    "visible_agent_ids",
    "visible_townships",
]
