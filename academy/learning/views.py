from __future__ import annotations

from datetime import date, datetime, timedelta

import sqlalchemy as sa
from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required
from sqlalchemy.orm import joinedload

from academy import conflicts
from academy.auth.models import Role
from academy.auth.policy import Permission, can, current_scope, requires
from academy.catalogue.models import ItemCategory, ServiceItem
from academy.content.problems import ContentInvalid
from academy.content.yamlio import dump_yaml, parse_yaml
from academy.db import utcnow
from academy.errors import render_error
from academy.errors_domain import DomainError
from academy.extensions import db
from academy.learning import editor, rules, services
from academy.learning.markdown import render_markdown
from academy.learning.models import Module, ModuleRevision, ProgressStatus
from academy.pagination import paginate

bp = Blueprint("learning", __name__)

PART_LABELS = rules.PART_LABELS


@bp.app_template_filter("md")
def _md(text):
    return render_markdown(text)


def _module_or_404(slug: str) -> Module:
    module = services.module_or_none(slug)
    if module is None:
        abort(404)
    return module


def _learner():
    """The agent record of the current user, or None for staff (who preview modules)."""
    return current_user.agent if current_user.role == Role.AGENT else None


@bp.get("/learn/")
@login_required
def index():
    agent = _learner()
    q = request.args.get("q", "").strip()[:40]
    stmt = (
        sa.select(ServiceItem, Module)
        .outerjoin(Module, sa.and_(Module.item_id == ServiceItem.id, Module.retired.is_(False)))
        .where(ServiceItem.retired.is_(False))
        .order_by(ServiceItem.frequency.desc(), ServiceItem.id)
    )
    if q:
        stmt = stmt.where(ServiceItem.name.like(f"%{q}%"))
    rows = db.session.execute(stmt).all()
    statuses = services.statuses_by_item(agent) if agent else {}
    summary = services.plan_summary(agent) if agent else None
    offered = set()
    if agent and agent.current_posting:
        offered = {i.id for i in agent.current_posting.village.items}
    groups = [(c, [(i, m) for i, m in rows if i.category == c]) for c in ItemCategory]
    return render_template(
        "learning/index.html",
        groups=groups,
        statuses=statuses,
        summary=summary,
        offered=offered,
        q=q,
        Status=ProgressStatus,
        agent=agent,
    )


@bp.get("/learn/<slug>")
@login_required
def module(slug: str):
    mod = _module_or_404(slug)
    agent = _learner()
    progress = services.visit_module(agent, mod) if agent else None
    practice = progress.practice if progress else {}
    order = rules.display_order(
        len(mod.document["practice"]["order"]["steps"]), f"{getattr(agent, 'id', 0)}:{mod.slug}"
    )
    last_check = practice.get("check") if practice else None
    next_module = None
    if agent and last_check and last_check["score"] >= rules.PASS_MARK:
        next_module = services.next_module_for(agent, mod) or _next_refresher(agent, mod)
    return render_template(
        "learning/module.html",
        module=mod,
        next_module=next_module,
        doc=mod.document,
        progress=progress,
        practice=practice,
        order=order,
        agent=agent,
        part_labels=PART_LABELS,
        pass_mark=rules.PASS_MARK,
        Status=ProgressStatus,
        can_edit=can(current_user, Permission.EDIT_MODULES),
        **_check_context(mod, agent, progress),
    )


def _retake_at(progress) -> datetime | None:
    """When this learner may take the module's check again (None: now)."""
    if progress is None:
        return None
    at, passed = rules.check_last_try(progress.practice or {})
    opens = rules.check_retake_at(at, passed, current_app.config["CHECK_RETAKE_MINUTES"])
    return opens if opens is not None and opens > utcnow() else None


def _next_refresher(agent, after: Module) -> Module | None:
    """With the plan done: the next refresher module of a certificate due for renewal
    (certification builds on learning, so the page asks it, not learning's services)."""
    from academy.certification.renewal import renewals

    for r in renewals(agent):
        for link in r.modules:
            if link.slug != after.slug:
                return services.module_or_none(link.slug)
    return None


def _check_context(mod: Module, agent, progress) -> dict:
    """The check as this try shows it: options in a new order per try, whether it is open
    again after a failed try, and whether the explanations may all be shown."""
    tries = progress.check_attempts if progress else 0
    seed = f"{getattr(agent, 'id', 0)}:{mod.slug}:{tries}"
    orders = [
        rules.check_option_order(len(q.get("options") or []), f"{seed}:{i}")
        for i, q in enumerate(mod.document["check"])
    ]
    retake_at = _retake_at(progress)
    return {
        "check_orders": orders,
        "retake_at": retake_at,
        "retake_clock": (retake_at + timedelta(hours=8)).strftime("%H:%M") if retake_at else "",
        "retake_minutes": current_app.config["CHECK_RETAKE_MINUTES"],
        "check_passed": bool(progress and (progress.best_score or 0) >= rules.PASS_MARK),
    }


def _bad_submission(message: str):
    return render_error(400, f"提交的练习无效：{message}。请返回页面重新作答。")


def _parse_practice(doc: dict, part: str) -> rules.PracticeResult:
    practice = doc["practice"]
    form = request.form
    if part in ("materials", "channel"):
        chosen = form.getlist("choice")
        return rules.check_choice(practice[part]["options"], chosen, single=(part == "channel"))
    if part == "order":
        steps = practice["order"]["steps"]
        positions = {}
        for index in range(len(steps)):
            raw = form.get(f"pos-{index}", "")
            if not raw.isdigit():
                raise rules.PracticeInputError("每个步骤都要选一个序号")
            positions[index] = int(raw)
        extra = [
            k
            for k in form
            if k.startswith("pos-") and k[4:] not in {str(i) for i in range(len(steps))}
        ]
        if extra:
            raise rules.PracticeInputError("有未知的步骤")
        return rules.check_order(steps, positions)
    if part == "form":
        values = {k[2:]: v for k, v in form.items() if k.startswith("f-")}
        return rules.check_form(practice["form"]["fields"], values)
    raise rules.PracticeInputError("未知的练习")


@bp.post("/learn/<slug>/practice/<part>")
@requires(Permission.LEARN)
def practice(slug: str, part: str):
    mod = _module_or_404(slug)
    if part not in rules.PRACTICE_PARTS:
        abort(404)
    try:
        result = _parse_practice(mod.document, part)
    except rules.PracticeInputError as err:
        return _bad_submission(str(err))
    progress = services.submit_practice(current_user.agent, mod, part, result)
    if result.correct:
        flash(f"{PART_LABELS[part]} 全部正确！", "success")
    else:
        flash(f"{PART_LABELS[part]} 还有需要改正的地方，请看下面的提示。", "warning")
    if progress.status == ProgressStatus.PASSED:
        flash("恭喜，本模块已通过。", "success")
    return redirect(url_for("learning.module", slug=slug, _anchor=part))


@bp.post("/learn/<slug>/check")
@requires(Permission.LEARN)
def check(slug: str):
    mod = _module_or_404(slug)
    progress = services.progress_of(current_user.agent, mod)
    retake_at = _retake_at(progress)
    if retake_at is not None:
        clock = (retake_at + timedelta(hours=8)).strftime("%H:%M")
        flash(f"上次小测未通过，{clock} 以后才能再做。请先复习办事指南。", "warning")
        return redirect(url_for("learning.module", slug=slug, _anchor="check"))
    questions = mod.document["check"]
    answers = {}
    try:
        for i, q in enumerate(questions):
            values = request.form.getlist(f"q-{i}")
            if not values:
                continue
            if q["type"] == "truefalse":
                if values not in (["true"], ["false"]):
                    raise rules.PracticeInputError(f"第 {i + 1} 题的答案无效")
                answers[i] = values[0] == "true"
            else:
                if not all(v.isdigit() and len(v) < 3 for v in values):
                    raise rules.PracticeInputError(f"第 {i + 1} 题的选项无效")
                answers[i] = frozenset(int(v) for v in values)
        result = rules.score_check(questions, answers)
    except rules.PracticeInputError as err:
        return _bad_submission(str(err))
    progress = services.submit_check(current_user.agent, mod, result)
    right = sum(result.correct)
    if result.passed:
        flash(f"小测答对 {right}/{len(questions)} 题，已达到合格线。", "success")
    else:
        flash(
            f"小测答对 {right}/{len(questions)} 题，未达到合格线（{int(rules.PASS_MARK * 100)}%），"
            "请看解析后再试。",
            "warning",
        )
    if progress.status == ProgressStatus.PASSED:
        flash("恭喜，本模块已通过。", "success")
    return redirect(url_for("learning.module", slug=slug, _anchor="check-result"))


# --- township heads: onboarding plans -----------------------------------------------


@bp.get("/plans/")
@requires(Permission.VIEW_PLANS)
def plans():
    only_overdue = request.args.get("overdue") == "1"
    today = date.today()
    page = paginate(
        services.plan_statement(current_scope(), today, only_overdue), per_page=30, rows=True
    )
    rows = [services.plan_row(p, passed, total, today) for p, passed, total in page.items]
    return render_template(
        "learning/plans.html", rows=rows, page=page, only_overdue=only_overdue, today=today
    )


# --- county experts: editing, history, revert --------------------------------------


@bp.route("/learn/<slug>/edit", methods=["GET", "POST"])
@requires(Permission.EDIT_MODULES)
def edit(slug: str):
    """The structured editor (one section per part of the module) or, with mode=source,
    the YAML itself. Both save the same YAML through services.save_module_source."""
    mod = _module_or_404(slug)
    mode = "source" if request.values.get("mode") == "source" else "form"
    action = request.form.get("action", "preview") if request.method == "POST" else "show"
    doc, text = mod.document, mod.source
    conflict = None
    if request.method == "POST":
        if mode == "form":
            doc = editor.document_from_form(request.form, mod.document)
            text = dump_yaml(doc)
        else:
            text = request.form.get("source", mod.source)
            if action == "edit":  # back from the preview to the structured form
                parsed, _ = parse_yaml(text, mod.slug)
                doc, mode = (parsed if isinstance(parsed, dict) else mod.document), "form"
    problems = []
    if action in ("save", "preview"):
        try:
            if action == "save":
                conflict = conflicts.check(mod, "这个模块", diff=lambda: _their_changes(mod))
            if action == "save" and conflict is None:
                if mode == "form" and doc == mod.document:
                    flash("内容没有变化，未生成新版本。", "info")
                    return redirect(url_for("learning.module", slug=slug))
                if services.save_module_source(current_user, mod, text, request.form.get("note")):
                    flash(f"已保存为第 {mod.version} 版。", "success")
                else:
                    flash("内容没有变化，未生成新版本。", "info")
                return redirect(url_for("learning.module", slug=slug))
            if conflict is None:
                preview = services.validate_source(mod, text)
                return _preview(mod, preview, text)
        except ContentInvalid as err:
            problems = err.problems
    status = 409 if conflict else 400 if problems else 200
    return render_template(
        "learning/edit.html",
        module=mod,
        mode=mode,
        doc=doc,
        text=text,
        problems=problems,
        conflict=conflict,
        place=editor.place,
        ed=editor,
        comments=editor.comment_lines(mod.source),
    ), status


def _their_changes(mod) -> list[str]:
    """The module's source now, against the revision the editor opened."""
    started = conflicts.sent_version()
    old = db.session.scalar(
        sa.select(ModuleRevision.source).where(
            ModuleRevision.module_id == mod.id, ModuleRevision.version == started
        )
    )
    return conflicts.text_diff(old or "", mod.source)


class _PreviewModule:
    """The module as it would be after saving: the edited title, the saved identity."""

    def __init__(self, module: Module, doc: dict) -> None:
        self._module, self.title, self.document = module, doc["title"], doc

    def __getattr__(self, name: str):
        return getattr(self._module, name)


def _preview(mod: Module, doc: dict, text: str):
    """The module page exactly as an agent sees it, over a bar to go back or save."""
    order = rules.display_order(len(doc["practice"]["order"]["steps"]), f"0:{mod.slug}")
    shown = _PreviewModule(mod, doc)
    return render_template(
        "learning/module.html",
        module=shown,
        **_check_context(shown, None, None),
        doc=doc,
        progress=None,
        practice={},
        order=order,
        agent=None,
        part_labels=PART_LABELS,
        Status=ProgressStatus,
        can_edit=False,
        preview_source=text,
    )


@bp.get("/learn/<slug>/history")
@requires(Permission.EDIT_MODULES)
def history(slug: str):
    mod = _module_or_404(slug)
    revisions = db.session.scalars(
        sa.select(ModuleRevision)
        .options(joinedload(ModuleRevision.module))
        .where(ModuleRevision.module_id == mod.id)
        .order_by(ModuleRevision.version.desc())
    ).all()
    from academy.auth.models import User

    authors = (
        dict(
            db.session.execute(
                sa.select(User.id, User.display_name).where(
                    User.id.in_({r.author_id for r in revisions if r.author_id})
                )
            ).all()
        )
        if revisions
        else {}
    )
    return render_template(
        "learning/history.html", module=mod, revisions=revisions, authors=authors
    )


@bp.post("/learn/<slug>/revert/<int:version>")
@requires(Permission.EDIT_MODULES)
def revert(slug: str, version: int):
    mod = _module_or_404(slug)
    try:
        services.revert_module(current_user, mod, version)
    except DomainError as err:
        flash(err.message, "error")
    except ContentInvalid as err:
        flash(f"第 {version} 版不符合当前的内容格式，不能恢复：{err.problems[0]}", "error")
    else:
        flash(f"已恢复为第 {version} 版的内容（保存为第 {mod.version} 版）。", "success")
    return redirect(url_for("learning.history", slug=slug))
