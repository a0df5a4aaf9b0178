"""Roster import and export through Excel: template, upload → check → preview → confirm.

The upload is checked as a whole (every problem with its row, column and reason) and
nothing is written unless the user confirms a preview without problems. Between the
two steps the file is kept under ``instance/imports/<token>.xlsx`` (``academy.uploads``;
the signed session holds only the token, never the rows); the confirmation checks it
again against the roster as it is then, and commits all of it or nothing.
"""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import HiddenField

from academy.auth.policy import Permission, current_scope, requires, scope_villages
from academy.extensions import db
from academy.regions.models import Township, Village
from academy.roster import excel, importer, queries
from academy.roster.views import bp
from academy.uploads import UploadFlow, UploadRefused
from academy.xlsx import xlsx_download

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
MAX_SHOWN_PROBLEMS = 500
PREVIEW_ROWS = 200
SUFFIX = ".xlsx"
SESSION_KEY = "roster_import"
FLOW = UploadFlow(
    SESSION_KEY,
    what="花名册文件",
    max_bytes=MAX_UPLOAD_BYTES,
    too_big=(
        f"文件超过 {MAX_UPLOAD_BYTES // (1024 * 1024)} MB，无法上传；"
        "请删除多余的工作表和格式，或按镇街拆分成几个文件。"
    ),
    choose="请选择要上传的 Excel 文件（.xlsx）。",
    suffix_of=lambda _: SUFFIX,
)


class ImportForm(FlaskForm):
    file = FileField("花名册文件（.xlsx）")


class ConfirmForm(FlaskForm):
    token = HiddenField()


# --- pages -------------------------------------------------------------------------------


@bp.get("/import")
@requires(Permission.MANAGE_ROSTER)
def import_page():
    return _upload_page()


@bp.get("/import/template.xlsx")
@requires(Permission.MANAGE_ROSTER)
def import_template():
    stmt = scope_villages(
        sa.select(Township.name, Village.name).join(Township, Township.id == Village.township_id),
        current_scope(),
    ).order_by(Township.position, Township.id, Village.name)
    data = excel.template_workbook([tuple(row) for row in db.session.execute(stmt)])
    return xlsx_download(data, "代办员花名册导入模板.xlsx")


@bp.post("/import")
@requires(Permission.MANAGE_ROSTER)
def import_upload():
    try:
        form, data, name = FLOW.receive(ImportForm)
    except UploadRefused as no:
        return _upload_page(no.form, file_error=no.message, status=no.status)
    checked = _check(data, date.today())
    if isinstance(checked, str):
        return _upload_page(form, file_error=checked, name=name, status=422)
    plan, problems = checked
    if problems:
        return _upload_page(form, problems=problems, name=name, status=422)
    pending = FLOW.keep(data, {"name": name, "digest": plan.digest()})
    return _preview(plan, pending["token"], name)


@bp.post("/import/cancel")
@requires(Permission.MANAGE_ROSTER)
def import_cancel():
    """「放弃」: the uploaded roster (ID numbers inside) is deleted at once."""
    if FLOW.cancel(ConfirmForm()):
        flash("已放弃这次导入，上传的文件已删除。", "info")
    return redirect(url_for("roster.import_page"))


@bp.post("/import/confirm")
@requires(Permission.MANAGE_ROSTER)
def import_confirm():
    found = FLOW.pending(ConfirmForm())
    if found is None:
        return redirect(url_for("roster.import_page"))
    pending, data = found
    token = pending["token"]
    name = str(pending.get("name", ""))
    checked = _check(data, date.today())
    if isinstance(checked, str) or checked[1]:
        # The roster changed since the preview so that some rows no longer fit.
        FLOW.done(pending)
        if isinstance(checked, str):
            return _upload_page(file_error=checked, name=name, status=422)
        return _upload_page(problems=checked[1], name=name, status=422, changed=True)
    plan = checked[0]
    if plan.digest() != pending.get("digest"):
        FLOW.remember({**pending, "digest": plan.digest()})
        return _preview(plan, token, name, changed=True)
    if not plan.has_changes:
        FLOW.done(pending)
        flash("文件与花名册一致，没有需要导入的变更。", "info")
        return redirect(url_for("roster.index"))
    try:
        summary = importer.commit_import(current_user, plan, name)
    except importer.ImportRejected as err:
        return _upload_page(problems=err.problems, name=name, status=422)
    FLOW.done(pending)
    flash(summary.message(), "success")
    return redirect(url_for("roster.index"))


@bp.get("/export.xlsx")
@requires(Permission.MANAGE_ROSTER)
def export():
    f = queries.roster_filter(request.args)
    rows = db.session.execute(queries.roster_rows(current_scope(), f))
    data = excel.export_workbook(
        excel.RowSpec(
            row=0,
            township=p.village.township.name,
            village=p.village.name,
            name=p.agent.name,
            # Someone who moved to another township: their posting here is history only.
            phone=p.agent.phone if reachable else "",
            kind=p.kind,
            joined_on=p.joined_on,
            id_number=p.agent.id_number if reachable else None,
            birth_year=p.agent.birth_year if reachable else None,
            gender=p.agent.gender if reachable else None,
            education=p.agent.education if reachable else None,
            left_on=p.left_on,
            leave_reason=p.leave_reason,
        )
        for p, reachable in rows
    )
    scope = current_user.township.name if current_user.township_id else "全县"
    return xlsx_download(data, f"代办员花名册_{scope}_{date.today():%Y%m%d}.xlsx")


# --- helpers -----------------------------------------------------------------------------


def _check(data: bytes, today: date):
    """A file-level message, or (plan, every problem of the rows)."""
    try:
        parsed = excel.read_roster(data, today)
    except excel.RosterFileError as err:
        return err.message
    plan = importer.plan_import(current_user, parsed.specs, today, parsed.places)
    problems = sorted(
        [*parsed.problems, *plan.problems],
        key=lambda p: (p.row, excel.COLUMNS.index(p.column)),
    )
    return plan, problems


def _upload_page(
    form: ImportForm | None = None,
    file_error: str | None = None,
    problems: list | None = None,
    name: str = "",
    status: int = 200,
    changed: bool = False,
):
    problems = problems or []
    return (
        render_template(
            "roster/import.html",
            form=form or ImportForm(formdata=None),
            file_error=file_error,
            problems=problems[:MAX_SHOWN_PROBLEMS],
            problem_rows=len({p.row for p in problems}),
            total_problems=len(problems),
            name=name,
            changed=changed,
            max_mb=MAX_UPLOAD_BYTES // (1024 * 1024),
            max_bytes=MAX_UPLOAD_BYTES,
            max_rows=excel.MAX_ROWS,
        ),
        status,
    )


def _preview(plan: importer.ImportPlan, token: str, name: str, changed: bool = False):
    counts = plan.counts
    sections = [
        (action, plan.of(action, PREVIEW_ROWS), counts[action])
        for action in importer.Action
        if counts[action]
    ]
    return render_template(
        "roster/import_preview.html",
        plan=plan,
        counts=counts,
        sections=sections,
        actions=list(importer.Action),
        total=sum(counts.values()),
        preview_rows=PREVIEW_ROWS,
        form=ConfirmForm(formdata=None, token=token),
        name=name,
        changed=changed,
    )
