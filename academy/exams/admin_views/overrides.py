"""Overrides of an exam for a township or an agent (dates, attempts, time)."""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from academy.auth.policy import Permission, current_scope, requires, visible_townships
from academy.exams import reports, services
from academy.exams.admin_forms import OverrideForm, to_beijing
from academy.exams.admin_views import _exam_or_404, bp
from academy.extensions import db
from academy.forms import service_call

# --- overrides -----------------------------------------------------------------------------


def _override_choices(form: OverrideForm) -> None:
    form.township_id.choices = [(None, "请选择镇街")] + [
        (t.id, t.name) for t in visible_townships(current_scope())
    ]


def _chosen_agent():
    raw = request.values.get("agent_id", "")
    if not (raw.isdigit() and len(raw) < 10):
        return None
    found = reports.agent_in_scope(current_scope(), int(raw))
    if found is None:
        abort(404)
    return found


def _fill_override(form: OverrideForm, o) -> None:
    form.extra_minutes.data = o.extra_minutes
    form.opens_at.set_utc(o.opens_at)
    form.closes_at.set_utc(o.closes_at)
    form.extra_attempts.data = o.extra_attempts
    form.reason.data = o.reason


def _existing_override(exam, agent_id: int | None, township_id: int | None):
    from academy.exams.models import ExamOverride

    if agent_id is None and township_id is None:
        return None
    return db.session.scalar(
        sa.select(ExamOverride).where(
            ExamOverride.exam_id == exam.id,
            ExamOverride.agent_id == agent_id
            if agent_id is not None
            else ExamOverride.township_id == township_id,
        )
    )


@bp.route("/<id:exam_id>/overrides", methods=["GET", "POST"])
@requires(Permission.VIEW_EXAM_RESULTS, post=Permission.MANAGE_EXAMS)
def overrides(exam_id: int):
    exam = _exam_or_404(exam_id)
    chosen = _chosen_agent()
    form = OverrideForm()
    _override_choices(form)
    township_arg = request.args.get("township_id", "")
    visible_ids = {c.value for c in form.township_id.choices if c.value}
    chosen_township = (
        int(township_arg)
        if township_arg.isdigit() and len(township_arg) < 10 and int(township_arg) in visible_ids
        else None
    )
    if request.method == "GET":
        if chosen is not None:
            form.subject.data, form.agent_id.data = "agent", str(chosen[0].id)
            existing = _existing_override(exam, chosen[0].id, None)
        elif chosen_township is not None:
            form.subject.data, form.township_id.data = "township", chosen_township
            existing = _existing_override(exam, None, chosen_township)
        else:
            existing = None
        if existing is not None:
            _fill_override(form, existing)
    if form.validate_on_submit():
        data = services.OverrideData(
            form.extra_minutes.data,
            form.opens_at.utc,
            form.closes_at.utc,
            form.extra_attempts.data,
            form.reason.data or "",
        )
        if form.subject.data == "agent":
            found = reports.agent_in_scope(current_scope(), int(form.agent_id.data))
            if found is None:
                abort(404)
            kwargs = {"agent": found[0]}
        else:
            if form.township_id.data not in visible_ids:
                abort(404)
            kwargs = {"township_id": form.township_id.data}
        ok, _ = service_call(form, services.set_override, current_user, exam, data, **kwargs)
        if ok:
            flash("已保存考试设置调整。", "success")
            args = (
                {"agent_id": kwargs["agent"].id}
                if "agent" in kwargs
                else {"township_id": kwargs["township_id"]}
            )
            return redirect(url_for("exam_admin.overrides", exam_id=exam.id, **args))
    effective = None
    if chosen is not None:
        effective = services.effective_for(exam, chosen[0])
    q = request.args.get("q", "").strip()[:40]
    return render_template(
        "exams/admin/overrides.html",
        exam=exam,
        form=form,
        rows=list(db.session.execute(reports.overrides_statement(current_scope(), exam))),
        q=q,
        found=reports.agents_in_scope(current_scope(), q) if q else [],
        chosen=chosen,
        effective=effective,
        base=services.base_settings(exam),
        to_beijing=to_beijing,
    )


@bp.post("/<id:exam_id>/overrides/<id:override_id>/delete")
@requires(Permission.MANAGE_EXAMS)
def override_delete(exam_id: int, override_id: int):
    exam = _exam_or_404(exam_id)
    override = reports.override_visible_to(current_scope(), exam, override_id)
    if override is None:
        abort(404)
    services.remove_override(current_user, override)
    flash("已取消这条考试设置调整。", "success")
    return redirect(url_for("exam_admin.overrides", exam_id=exam.id))
