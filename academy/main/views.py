from __future__ import annotations

from collections import Counter
from datetime import date

import sqlalchemy as sa
from flask import Blueprint, current_app, redirect, render_template, url_for
from flask_login import current_user, login_required
from sqlalchemy.orm import joinedload, selectinload

from academy.auth.models import Role
from academy.auth.policy import Permission, can, current_scope
from academy.catalogue.models import ItemCategory, ServiceItem
from academy.certification import coverage as coverage_model
from academy.certification import documents, renewal
from academy.certification.alerts import open_alerts
from academy.certification.models import AlertKind
from academy.extensions import db
from academy.learning import services as learning_services
from academy.learning.models import Module
from academy.practice import services as practice_services
from academy.regions.models import Village
from academy.roster import queries

bp = Blueprint("main", __name__)
HOME_GAPS = 5  # coverage gaps listed on a township head's home (the dashboard has them all)


@bp.get("/")
def index():
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    return redirect(url_for("auth.login"))


@bp.get("/favicon.ico")
def favicon():
    """Browsers ask for /favicon.ico whatever the page says: the same small icon."""
    return current_app.send_static_file("favicon.ico")


@bp.get("/home")
@login_required
def home():
    role = current_user.role
    if can(current_user, Permission.MANAGE_ROSTER):
        scope = current_scope()
        summaries = queries.township_summaries(scope)
        coverage = None
        if role == Role.TOWNSHIP_HEAD and current_user.township_id:
            ids, today = [current_user.township_id], date.today()
            rows = coverage_model.coverage_by_township(ids, today)
            coverage = {
                "row": rows[0] if rows else None,
                "gaps": coverage_model.gaps(ids, today, limit=HOME_GAPS + 1),
            }
        return render_template(
            "main/home_manager.html",
            summaries=summaries,
            totals={
                "villages": sum(s.villages for s in summaries),
                "agents": sum(s.active_agents for s in summaries),
                "uncovered": sum(s.uncovered for s in summaries),
            },
            uncovered=queries.uncovered_villages(scope, limit=20),
            departures=queries.recent_departures(scope),
            address_warning=documents.address_warning() if role == Role.ADMIN else None,
            coverage=coverage,
            home_gaps=HOME_GAPS,
        )
    if role == Role.EXPERT:
        counts = Counter(
            db.session.scalars(
                sa.select(ServiceItem.category).where(ServiceItem.retired.is_(False))
            )
        )
        return render_template(
            "main/home_expert.html", counts=counts, categories=list(ItemCategory)
        )
    agent = current_user.agent
    posting = agent.current_posting if agent else None
    village = None
    if posting:
        village = db.session.scalar(
            sa.select(Village)
            .options(joinedload(Village.township), selectinload(Village.items))
            .where(Village.id == posting.village_id)
        )
    summary = learning_services.plan_summary(agent) if agent else None
    modules = {}
    if village and village.items:
        modules = dict(
            db.session.execute(
                sa.select(Module.item_id, Module.slug).where(
                    Module.item_id.in_([i.id for i in village.items]), Module.retired.is_(False)
                )
            ).all()
        )
    today = date.today()
    renewals = renewal.renewals(agent, today)
    alerts = open_alerts(agent_id=agent.id) if agent else []
    if renewals:  # the renewal card says it, with the way to renew
        alerts = [a for a in alerts if a.kind != AlertKind.EXPIRING]
    return render_template(
        "main/home_agent.html",
        agent=agent,
        posting=posting,
        village=village,
        summary=summary,
        alerts=alerts,
        renewals=renewals,
        modules=modules,
        statuses=learning_services.statuses_by_item(agent) if agent else {},
        today=today,
        practice_due=practice_services.due_count(agent) if agent else 0,
    )
