from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, render_template, request
from flask_login import login_required

from academy.catalogue.models import Channel, ItemCategory, ServiceItem
from academy.extensions import db

bp = Blueprint("catalogue", __name__, url_prefix="/items")


@bp.get("/")
@login_required
def index():
    q = request.args.get("q", "").strip()[:40]
    category = request.args.get("category", "")
    channel = request.args.get("channel", "")
    stmt = sa.select(ServiceItem).where(ServiceItem.retired.is_(False))
    if q:
        like = f"%{q}%"
        stmt = stmt.where(
            sa.or_(
                ServiceItem.name.like(like),
                ServiceItem.summary.like(like),
                ServiceItem.department.like(like),
            )
        )
    if category in {c.value for c in ItemCategory}:
        stmt = stmt.where(ServiceItem.category == ItemCategory(category))
    items = list(db.session.scalars(stmt.order_by(ServiceItem.frequency.desc(), ServiceItem.id)))
    if channel in {c.value for c in Channel}:
        items = [
            i for i in items if channel in i.channels
        ]  # JSON list: filtered here, ≤ a few hundred rows
    groups = [(c, [i for i in items if i.category == c]) for c in ItemCategory]
    return render_template(
        "catalogue/index.html",
        groups=groups,
        q=q,
        category=category,
        channel=channel,
        categories=list(ItemCategory),
        channels=list(Channel),
        total=len(items),
    )


@bp.get("/<slug>")
@login_required
def detail(slug: str):
    item = db.session.scalar(sa.select(ServiceItem).where(ServiceItem.slug == slug))
    if item is None:
        abort(404)
    from academy.learning.models import Module  # learning builds on the catalogue

    module = db.session.scalar(
        sa.select(Module).where(Module.item_id == item.id, Module.retired.is_(False))
    )
    return render_template("catalogue/detail.html", item=item, module=module)
