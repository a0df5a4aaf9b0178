from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy.orm import joinedload, selectinload

from academy import conflicts
from academy.auth.policy import (
    Permission,
    current_scope,
    requires,
    scope_villages,
    village_or_404,
    visible_agent_ids,
    visible_townships,
)
from academy.catalogue.models import ServiceItem
from academy.extensions import db
from academy.forms import service_call
from academy.pagination import paginate
from academy.regions import services
from academy.regions.forms import TownshipForm, VillageForm
from academy.regions.models import (
    StationTier,
    Township,
    TownshipKind,
    Village,
    VillageKind,
    village_item,
)
from academy.roster.models import Posting

bp = Blueprint("regions", __name__)


def _int_arg(name: str) -> int | None:
    value = request.args.get(name, "")
    return int(value) if value.isdigit() and len(value) < 10 else None


@bp.get("/townships")
@requires(Permission.MANAGE_REGIONS)
def townships():
    rows = db.session.execute(
        sa.select(Township, sa.func.count(Village.id))
        .outerjoin(Village)
        .group_by(Township.id)
        .order_by(Township.position, Township.id)
    ).all()
    return render_template("regions/townships.html", rows=rows)


@bp.route("/townships/new", methods=["GET", "POST"], defaults={"township_id": None})
@bp.route("/townships/<id:township_id>", methods=["GET", "POST"])
@requires(Permission.MANAGE_REGIONS)
def township_edit(township_id: int | None):
    township = db.session.get(Township, township_id) if township_id else None
    if township_id and township is None:
        abort(404)
    form = TownshipForm(obj=township)
    if request.method == "GET" and township:
        form.kind.data = township.kind.value
    if form.validate_on_submit():
        ok, _ = service_call(
            form,
            services.save_township,
            current_user,
            township,
            name=form.name.data,
            kind=TownshipKind(form.kind.data),
            code=form.code.data,
            position=form.position.data,
        )
        if ok:
            flash("镇街已保存。", "success")
            return redirect(url_for("regions.townships"))
    return render_template("regions/township_form.html", form=form, township=township)


@bp.get("/villages")
@requires(Permission.MANAGE_ROSTER)
def villages():
    q = request.args.get("q", "").strip()
    township_id = _int_arg("township_id")
    tier = request.args.get("tier", "")
    kind = request.args.get("kind", "")
    active = (
        sa.select(sa.func.count(Posting.id))
        .where(Posting.village_id == Village.id, Posting.left_on.is_(None))
        .scalar_subquery()
    )
    items = (
        sa.select(sa.func.count())
        .select_from(village_item)
        .where(village_item.c.village_id == Village.id)
        .scalar_subquery()
    )
    stmt = sa.select(Village, active.label("agents"), items.label("items")).options(
        joinedload(Village.township)
    )
    stmt = scope_villages(stmt, current_scope())
    if q:
        stmt = stmt.where(Village.name.like(f"%{q}%"))
    if township_id:
        stmt = stmt.where(Village.township_id == township_id)
    if tier in {t.value for t in StationTier}:
        stmt = stmt.where(Village.tier == StationTier(tier))
    if kind in {k.value for k in VillageKind}:
        stmt = stmt.where(Village.kind == VillageKind(kind))
    stmt = stmt.order_by(Village.township_id, Village.name)
    page = paginate(stmt, per_page=25, rows=True)
    return render_template(
        "regions/villages.html",
        page=page,
        rows=page.items,
        q=q,
        township_id=township_id,
        tier=tier,
        kind=kind,
        townships=visible_townships(current_scope()),
        tiers=list(StationTier),
        kinds=list(VillageKind),
    )


@bp.get("/villages/<id:village_id>")
@requires(Permission.MANAGE_ROSTER)
def village_detail(village_id: int):
    village = village_or_404(current_scope(), village_id)
    postings = db.session.scalars(
        sa.select(Posting)
        .options(joinedload(Posting.agent))
        .where(Posting.village_id == village.id)
        .order_by(Posting.left_on.is_not(None), Posting.left_on.desc(), Posting.joined_on)
    ).all()
    return render_template(
        "regions/village_detail.html",
        village=village,
        postings=postings,
        reachable=visible_agent_ids(current_scope(), [p.agent_id for p in postings]),
    )


def _village_form(village: Village | None, saved: bool = False) -> VillageForm:
    """The form as posted, or (GET, or ``saved``) filled from the village as stored."""
    form = VillageForm(formdata=None, obj=village) if saved else VillageForm(obj=village)
    form.township_id.choices = [(t.id, t.name) for t in visible_townships(current_scope())]
    items = db.session.scalars(
        sa.select(ServiceItem)
        .where(ServiceItem.retired.is_(False))
        .order_by(ServiceItem.category, ServiceItem.frequency.desc(), ServiceItem.id)
    ).all()
    form.items.choices = [(i.id, f"{i.name}（{i.category.label}）") for i in items]
    if request.method == "GET" or saved:
        if village:
            form.kind.data, form.tier.data = village.kind.value, village.tier.value
            form.items.data = [i.id for i in village.items]
        else:
            preset = _int_arg("township_id")
            if preset:
                form.township_id.data = preset
            form.tier.data = StationTier.STANDARD.value
    return form


@bp.route("/villages/new", methods=["GET", "POST"], defaults={"village_id": None})
@bp.route("/villages/<id:village_id>/edit", methods=["GET", "POST"])
@requires(Permission.MANAGE_REGIONS)
def village_edit(village_id: int | None):
    village = None
    if village_id:
        village = db.session.scalar(
            sa.select(Village).options(selectinload(Village.items)).where(Village.id == village_id)
        )
        if village is None:
            abort(404)
    form = _village_form(village)
    if form.validate_on_submit():
        conflict = village and conflicts.check(
            village, "这个村社的信息", lambda: _village_form(village, saved=True), form
        )
        if conflict:
            page = render_template(
                "regions/village_form.html", form=form, village=village, conflict=conflict
            )
            return page, 409
        township = db.session.get(Township, form.township_id.data)
        ok, village = service_call(
            form,
            services.save_village,
            current_user,
            village,
            township=township,
            name=form.name.data,
            kind=VillageKind(form.kind.data),
            tier=StationTier(form.tier.data),
            area=form.area.data,
            item_ids=form.items.data or [],
        )
        if ok:
            flash("村社信息已保存。", "success")
            return redirect(url_for("regions.village_detail", village_id=village.id))
    return render_template("regions/village_form.html", form=form, village=village)
