from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from academy import conflicts
from academy.auth.policy import (
    Permission,
    current_scope,
    requires,
    scope_villages,
    village_or_404,
    visible_agent_ids,
)
from academy.extensions import db
from academy.forms import service_call
from academy.pagination import paginate
from academy.regions.models import Township, Village
from academy.roster import queries, services
from academy.roster.forms import DepartureForm, EnrolForm, PersonForm, RejoinForm, TransferForm
from academy.roster.models import Agent, AgentKind, Education, Gender, LeaveReason

bp = Blueprint("roster", __name__, url_prefix="/roster")


def _village_choices() -> list[tuple[int, str]]:
    stmt = scope_villages(
        sa.select(Village.id, Township.name, Village.name).join(Township), current_scope()
    ).order_by(Township.position, Township.id, Village.name)
    return [(vid, f"{t} · {v}") for vid, t, v in db.session.execute(stmt)]


def _agent_or_404(agent_id: int) -> Agent:
    agent = queries.agent_visible_to(current_scope(), agent_id)
    if agent is None:
        abort(404)
    return agent


def _in_scope(village_id: int) -> bool:
    stmt = scope_villages(sa.select(Village.id).where(Village.id == village_id), current_scope())
    return db.session.scalar(stmt) is not None


def _active_posting_or_404(agent: Agent):
    """The agent's active posting, if it lies in the user's scope."""
    posting = agent.current_posting
    if posting is None:
        return None
    village_or_404(current_scope(), posting.village_id)
    return posting


def _person(form: PersonForm) -> services.PersonData:
    return services.PersonData(
        name=form.name.data,
        phone=form.phone.data,
        id_number=form.id_number.data or None,
        birth_year=form.birth_year.data,
        gender=Gender(form.gender.data) if form.gender.data else None,
        education=Education(form.education.data) if form.education.data else None,
    )


@bp.get("/")
@requires(Permission.MANAGE_ROSTER)
def index():
    f = queries.roster_filter(request.args)
    page = paginate(queries.roster_statement(current_scope(), f), per_page=25)
    return render_template(
        "roster/index.html",
        page=page,
        f=f,
        villages=_village_choices(),
        kinds=list(AgentKind),
        # A posting of someone who has since moved on is history: no link, no phone.
        reachable=visible_agent_ids(current_scope(), [p.agent_id for p in page.items]),
    )


@bp.route("/new", methods=["GET", "POST"])
@requires(Permission.MANAGE_ROSTER)
def new():
    form = EnrolForm()
    form.village_id.choices = _village_choices()
    if request.method == "GET" and request.args.get("village_id", "").isdigit():
        form.village_id.data = int(request.args["village_id"][:9])
    if form.validate_on_submit():
        village = village_or_404(current_scope(), form.village_id.data)
        ok, posting = service_call(
            form,
            services.enrol_agent,
            current_user,
            _person(form),
            village,
            AgentKind(form.kind.data),
            form.joined_on.data,
        )
        if ok:
            flash(
                f"已将 {posting.agent.name} 登记为{village.full_name}的{posting.kind.label}。",
                "success",
            )
            return redirect(url_for("roster.detail", agent_id=posting.agent_id))
    return render_template("roster/new.html", form=form)


@bp.get("/<id:agent_id>")
@requires(Permission.MANAGE_ROSTER)
def detail(agent_id: int):
    agent = _agent_or_404(agent_id)
    posting = agent.current_posting
    manageable = posting is not None and _in_scope(posting.village_id)
    return render_template(
        "roster/detail.html", agent=agent, posting=posting, manageable=manageable
    )


def _person_form(agent) -> PersonForm:
    form = PersonForm(formdata=None, obj=agent)
    form.gender.data = agent.gender.value if agent.gender else ""
    form.education.data = agent.education.value if agent.education else ""
    return form


@bp.route("/<id:agent_id>/edit", methods=["GET", "POST"])
@requires(Permission.MANAGE_ROSTER)
def edit(agent_id: int):
    agent = _agent_or_404(agent_id)
    form = _person_form(agent) if request.method == "GET" else PersonForm(obj=agent)
    if form.validate_on_submit():
        conflict = conflicts.check(agent, "这条人员信息", lambda: _person_form(agent), form)
        if conflict:
            page = render_template("roster/edit.html", form=form, agent=agent, conflict=conflict)
            return page, 409
        ok, _ = service_call(form, services.update_person, current_user, agent, _person(form))
        if ok:
            flash("人员信息已保存。", "success")
            return redirect(url_for("roster.detail", agent_id=agent.id))
    return render_template("roster/edit.html", form=form, agent=agent)


@bp.route("/<id:agent_id>/depart", methods=["GET", "POST"])
@requires(Permission.MANAGE_ROSTER)
def depart(agent_id: int):
    agent = _agent_or_404(agent_id)
    posting = _active_posting_or_404(agent)
    if posting is None:
        flash("该代办员目前不在岗。", "warning")
        return redirect(url_for("roster.detail", agent_id=agent.id))
    form = DepartureForm()
    if form.validate_on_submit():
        ok, _ = service_call(
            form,
            services.record_departure,
            current_user,
            posting,
            form.left_on.data,
            LeaveReason(form.reason.data),
            form.note.data,
        )
        if ok:
            flash(f"已登记 {agent.name} 离岗。历史记录已保留。", "success")
            return redirect(url_for("roster.detail", agent_id=agent.id))
    return render_template(
        "roster/action.html",
        form=form,
        agent=agent,
        posting=posting,
        title="登记离岗",
        button="确认离岗",
    )


@bp.route("/<id:agent_id>/transfer", methods=["GET", "POST"])
@requires(Permission.MANAGE_ROSTER)
def transfer(agent_id: int):
    agent = _agent_or_404(agent_id)
    posting = _active_posting_or_404(agent)
    if posting is None:
        flash("该代办员目前不在岗，请使用“重新到岗”。", "warning")
        return redirect(url_for("roster.detail", agent_id=agent.id))
    form = TransferForm()
    form.village_id.choices = [c for c in _village_choices() if c[0] != posting.village_id]
    if request.method == "GET":
        form.kind.data = posting.kind.value
    if form.validate_on_submit():
        target = village_or_404(current_scope(), form.village_id.data)
        ok, _ = service_call(
            form,
            services.transfer_agent,
            current_user,
            posting,
            target,
            form.on.data,
            AgentKind(form.kind.data),
        )
        if ok:
            flash(f"{agent.name} 已调往{target.full_name}。", "success")
            return redirect(url_for("roster.detail", agent_id=agent.id))
    return render_template(
        "roster/action.html",
        form=form,
        agent=agent,
        posting=posting,
        title="调动到其他村社",
        button="确认调动",
    )


@bp.route("/<id:agent_id>/rejoin", methods=["GET", "POST"])
@requires(Permission.MANAGE_ROSTER)
def rejoin(agent_id: int):
    agent = _agent_or_404(agent_id)
    if agent.current_posting is not None:
        flash("该代办员目前在岗。", "warning")
        return redirect(url_for("roster.detail", agent_id=agent.id))
    form = RejoinForm()
    form.village_id.choices = _village_choices()
    if request.method == "GET":
        last = agent.postings[-1] if agent.postings else None
        if last:
            form.village_id.data, form.kind.data = last.village_id, last.kind.value
        form.joined_on.data = date.today()
    if form.validate_on_submit():
        village = village_or_404(current_scope(), form.village_id.data)
        ok, _ = service_call(
            form,
            services.rejoin_agent,
            current_user,
            agent,
            village,
            AgentKind(form.kind.data),
            form.joined_on.data,
        )
        if ok:
            flash(f"{agent.name} 已重新到岗：{village.full_name}。", "success")
            return redirect(url_for("roster.detail", agent_id=agent.id))
    return render_template(
        "roster/action.html",
        form=form,
        agent=agent,
        posting=None,
        title="重新到岗",
        button="确认到岗",
    )


# Excel import/export routes live in their own module, on this blueprint.
from academy.roster import excel_views  # noqa: E402, F401
