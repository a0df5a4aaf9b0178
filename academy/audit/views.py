from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, render_template, request

from academy.audit.models import AuditEvent
from academy.auth.models import User
from academy.auth.policy import Permission, current_scope, requires, scope_by_township
from academy.pagination import paginate

bp = Blueprint("audit", __name__, url_prefix="/audit")


@bp.get("/")
@requires(Permission.VIEW_AUDIT)
def index():
    q = request.args.get("q", "").strip()[:40]
    stmt = sa.select(AuditEvent, User.display_name).outerjoin(User, User.id == AuditEvent.actor_id)
    stmt = scope_by_township(stmt, current_scope(), AuditEvent.township_id)
    if q:
        stmt = stmt.where(AuditEvent.summary.like(f"%{q}%"))
    page = paginate(
        stmt.order_by(AuditEvent.at.desc(), AuditEvent.id.desc()), per_page=30, rows=True
    )
    return render_template("audit/index.html", page=page, q=q)
