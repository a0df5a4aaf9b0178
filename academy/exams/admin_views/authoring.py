"""Authoring exams: the list, settings, sections (blueprint), life cycle, preview of a draw."""

from __future__ import annotations

import random
import secrets

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from academy import conflicts
from academy.auth.policy import Permission, can, current_scope, requires, visible_townships
from academy.catalogue.models import ItemCategory, ServiceItem
from academy.errors_domain import DomainError
from academy.exams import authoring, reports, rules, services
from academy.exams.admin_forms import ExamForm, SectionForm
from academy.exams.admin_views import PER_PAGE, SEARCH_LIMIT, _exam_or_404, _flash_error, bp
from academy.exams.models import ExamSection, ExamStatus, Layout, ReviewWhen, VersionPolicy
from academy.extensions import db
from academy.forms import service_call
from academy.pagination import paginate
from academy.questions import display
from academy.questions.models import Dimension, Question, QuestionVersion
from academy.questions.types import QUESTION_TYPES

# --- the exam list -------------------------------------------------------------------------


@bp.get("/")
@requires(Permission.VIEW_EXAM_RESULTS)
def index():
    f = reports.exam_filter(request.args)
    page = paginate(reports.exam_list_statement(current_scope(), f), per_page=PER_PAGE, rows=True)
    return render_template(
        "exams/admin/list.html", page=page, f=f, statuses=list(ExamStatus), pending=_pending()
    )


def _pending() -> int:
    if not can(current_user, Permission.MARK_ESSAYS):
        return 0
    return sum(n for _, _, n in reports.marking_exams())


# --- settings ------------------------------------------------------------------------------


def _exam_choices(form: ExamForm) -> None:
    form.township_id.choices = [(None, "全县代办员")] + [
        (t.id, t.name) for t in visible_townships(current_scope())
    ]
    items = db.session.execute(
        sa.select(ServiceItem.id, ServiceItem.name, ServiceItem.category)
        .where(ServiceItem.retired.is_(False))
        .order_by(ServiceItem.category, ServiceItem.name)
    )
    form.item_id.choices = [(None, "（不限定事项）")] + [
        (i, f"{c.label} · {n}") for i, n, c in items
    ]


def _fill_exam_form(form: ExamForm, exam) -> None:
    data = authoring.exam_data(exam)
    for name in ("title", "description", "time_limit_minutes", "pass_percent"):
        getattr(form, name).data = getattr(data, name)
    form.attempts_allowed.data = data.attempts_allowed
    form.opens_at.set_utc(data.opens_at)
    form.closes_at.set_utc(data.closes_at)
    for name in ("layout", "review_when", "version_policy"):
        getattr(form, name).data = getattr(data, name).value
    for name in ("shuffle_questions", "shuffle_answers", "review_shows_answers"):
        getattr(form, name).data = getattr(data, name)
    form.township_id.data = data.township_id
    form.category.data = data.category.value if data.category else ""
    form.item_id.data = data.item_id


def _saved_exam_form(exam) -> ExamForm:
    form = ExamForm(formdata=None)
    _exam_choices(form)
    _fill_exam_form(form, exam)
    return form


def _exam_data(form: ExamForm) -> authoring.ExamData:
    return authoring.ExamData(
        title=form.title.data or "",
        description=form.description.data or "",
        time_limit_minutes=form.time_limit_minutes.data,
        pass_percent=float(form.pass_percent.data),
        attempts_allowed=form.attempts_allowed.data,
        opens_at=form.opens_at.utc,
        closes_at=form.closes_at.utc,
        layout=Layout(form.layout.data),
        shuffle_questions=form.shuffle_questions.data,
        shuffle_answers=form.shuffle_answers.data,
        review_when=ReviewWhen(form.review_when.data),
        review_shows_answers=form.review_shows_answers.data,
        version_policy=VersionPolicy(form.version_policy.data),
        township_id=form.township_id.data,
        category=ItemCategory(form.category.data) if form.category.data else None,
        item_id=form.item_id.data,
    )


@bp.route("/new", methods=["GET", "POST"])
@requires(Permission.MANAGE_EXAMS)
def new():
    form = ExamForm()
    _exam_choices(form)
    if form.validate_on_submit():
        ok, exam = service_call(form, authoring.create_exam, current_user, _exam_data(form))
        if ok:
            flash(f"已新建考试《{exam.title}》。下一步：添加题目组成。", "success")
            return redirect(url_for("exam_admin.detail", exam_id=exam.id))
    return render_template("exams/admin/form.html", form=form, exam=None, locked=None)


@bp.route("/<id:exam_id>/edit", methods=["GET", "POST"])
@requires(Permission.MANAGE_EXAMS)
def edit(exam_id: int):
    exam = _exam_or_404(exam_id)
    form = ExamForm()
    _exam_choices(form)
    if request.method == "GET":
        _fill_exam_form(form, exam)
    locked = authoring.attempt_count(exam)
    if form.validate_on_submit():
        conflict = conflicts.check(exam, "这场考试的设置", lambda: _saved_exam_form(exam), form)
        if conflict:
            page = render_template(
                "exams/admin/form.html", form=form, exam=exam, locked=locked, conflict=conflict
            )
            return page, 409
        ok, changed = service_call(
            form, authoring.update_exam, current_user, exam, _exam_data(form)
        )
        if ok:
            labels = "、".join(authoring.SETTING_LABELS[c] for c in changed)
            flash(f"已保存：{labels}。" if changed else "没有改动。", "success")
            return redirect(url_for("exam_admin.detail", exam_id=exam.id))
    return render_template("exams/admin/form.html", form=form, exam=exam, locked=locked)


# --- overview and blueprint ----------------------------------------------------------------


def pool_sizes(exam, section: ExamSection) -> dict[str, int]:
    """How many questions a section can draw, per difficulty key ("1".."3", "any")."""
    pool = services.section_pool(exam, section)
    sizes = {key: 0 for key in ("1", "2", "3")}
    for p in pool:
        if p.difficulty is not None and str(p.difficulty) in sizes:
            sizes[str(p.difficulty)] += 1
    sizes["any"] = len(pool)
    return sizes


def _shortages(section, sizes: dict[str, int]) -> list[str]:
    if section.question_ids:
        return []
    out = []
    for key in rules.DIFFICULTY_KEYS:
        want = int(section.counts.get(key, 0) or 0)
        if want > sizes.get(key, 0):
            out.append(key)
    return out


@bp.get("/<id:exam_id>")
@requires(Permission.VIEW_EXAM_RESULTS)
def detail(exam_id: int):
    exam = _exam_or_404(exam_id)
    counts = reports.exam_counts(current_scope(), exam)
    sections = []
    for s in exam.sections:
        sizes = pool_sizes(exam, s)
        sections.append((s, sizes, _shortages(s, sizes)))
    problems = (
        authoring.publish_problems(exam)
        if exam.status == ExamStatus.DRAFT and can(current_user, Permission.MANAGE_EXAMS)
        else []
    )
    return render_template(
        "exams/admin/detail.html",
        exam=exam,
        counts=counts,
        sections=sections,
        problems=problems,
        lock=authoring.blueprint_lock(exam),
        total=sum(authoring.section_size(s) for s in exam.sections),
        points=sum(authoring.section_size(s) * s.points for s in exam.sections),
        fixed_names=_fixed_names(exam),
        item_names=_item_names(exam),
    )


def _fixed_names(exam) -> dict[int, str]:
    ids = {q for s in exam.sections for q in (s.question_ids or [])}
    if not ids:
        return {}
    return reports.pairs(sa.select(Question.id, Question.name).where(Question.id.in_(ids)))


def _item_names(exam) -> dict[int, str]:
    ids = {i for s in exam.sections for i in (s.item_ids or [])}
    if not ids:
        return {}
    return reports.pairs(sa.select(ServiceItem.id, ServiceItem.name).where(ServiceItem.id.in_(ids)))


def _section_choices(form: SectionForm) -> None:
    items = list(
        db.session.execute(
            sa.select(ServiceItem.id, ServiceItem.name, ServiceItem.category)
            .where(ServiceItem.retired.is_(False))
            .order_by(ServiceItem.category, ServiceItem.name)
        )
    )
    form.item_ids.choices = [(i, f"{c.label} · {n}") for i, n, c in items]
    form.q_item.choices = [(None, "全部事项")] + [(i, n) for i, n, _ in items]
    form.qtypes.choices = [(t, QUESTION_TYPES[t].label) for t in authoring.DRAWN_TYPES]


def _fill_section_form(form: SectionForm, section: ExamSection) -> None:
    form.title.data = section.title
    form.points.data = section.points
    form.mode.data = "fixed" if section.question_ids else "random"
    form.item_ids.data = list(section.item_ids or [])
    form.category.data = section.category.value if section.category else ""
    form.dimension.data = section.dimension.value if section.dimension else ""
    form.qtypes.data = list(section.qtypes or [])
    for key, name in SectionForm.COUNT_FIELDS:
        getattr(form, name).data = int(section.counts.get(key, 0) or 0)
    form.question_ids.data = list(section.question_ids or [])


def _section_data(form: SectionForm, section_id: int | None) -> authoring.SectionData:
    fixed = form.mode.data == "fixed"
    return authoring.SectionData(
        title=form.title.data or "",
        points=float(form.points.data or 0),
        item_ids=() if fixed else tuple(form.item_ids.data or ()),
        category=None if fixed or not form.category.data else ItemCategory(form.category.data),
        dimension=None if fixed or not form.dimension.data else Dimension(form.dimension.data),
        qtypes=() if fixed else tuple(form.qtypes.data or ()),
        counts={} if fixed else form.counts(),
        question_ids=tuple(form.question_ids.data or ()) if fixed else (),
        id=section_id,
    )


def _draft_section(form: SectionForm) -> ExamSection:
    """A section not added to the session, with the filters as the form has them now (for
    the live pool sizes before saving)."""
    valid = {c.value for c in form.item_ids.choices}
    types = {c.value for c in form.qtypes.choices}
    category = form.category.data if form.category.data in ItemCategory._value2member_map_ else None
    dimension = form.dimension.data if form.dimension.data in Dimension._value2member_map_ else None
    return ExamSection(
        item_ids=[i for i in (form.item_ids.data or []) if i in valid],
        category=ItemCategory(category) if category else None,
        dimension=Dimension(dimension) if dimension else None,
        qtypes=[t for t in (form.qtypes.data or []) if t in types],
        question_ids=[],
        counts={},
    )


def _search_questions(form: SectionForm) -> list[tuple[Question, dict]]:
    """Questions of the bank for a fixed section: by item, and by words of the name or text
    (or "#id"). Text lives in JSON, so words are matched here, not in SQL."""
    q = (form.q.data or "").strip()
    item_id = form.q_item.data
    if not q and not item_id:
        return []
    stmt = (
        sa.select(Question, QuestionVersion.data)
        .join(
            QuestionVersion,
            sa.and_(
                QuestionVersion.question_id == Question.id,
                QuestionVersion.number == Question.current_version,
            ),
        )
        .where(Question.retired.is_(False))
        .order_by(Question.item_id, Question.id)
    )
    if item_id:
        stmt = stmt.where(Question.item_id == item_id)
    if q.startswith("#") and q[1:].isdigit() and len(q) < 11:
        stmt = stmt.where(Question.id == int(q[1:]))
        q = ""
    found = []
    for question, data in db.session.execute(stmt.limit(2000)):
        if q and q not in question.name and q not in (data or {}).get("text", ""):
            continue
        found.append((question, data))
        if len(found) >= SEARCH_LIMIT:
            break
    return found


def _selected_questions(ids: list[int]) -> list[tuple[Question, dict]]:
    if not ids:
        return []
    rows = db.session.execute(
        sa.select(Question, QuestionVersion.data)
        .join(
            QuestionVersion,
            sa.and_(
                QuestionVersion.question_id == Question.id,
                QuestionVersion.number == Question.current_version,
            ),
        )
        .where(Question.id.in_(ids))
    ).all()
    by_id = {q.id: (q, d) for q, d in rows}
    return [by_id[i] for i in ids if i in by_id]


def _section_page(exam, section: ExamSection | None):
    lock = authoring.blueprint_lock(exam)
    if lock:
        flash(lock, "warning")
        return redirect(url_for("exam_admin.detail", exam_id=exam.id))
    form = SectionForm()
    _section_choices(form)
    if request.method == "GET":
        if section is not None:
            _fill_section_form(form, section)
        else:
            form.title.data = f"第 {len(exam.sections) + 1} 部分"
    action = request.form.get("do", "save")
    if request.method == "POST" and action == "save" and form.validate_on_submit():
        ok, saved = service_call(
            form,
            authoring.save_section,
            current_user,
            exam,
            _section_data(form, section.id if section else None),
        )
        if ok:
            flash(f"已保存“{saved.title}”。", "success")
            return redirect(url_for("exam_admin.detail", exam_id=exam.id, _anchor=f"s{saved.id}"))
    sizes = pool_sizes(exam, _draft_section(form))
    selected_ids = [i for i in (form.question_ids.data or []) if isinstance(i, int)]
    return render_template(
        "exams/admin/section_form.html",
        exam=exam,
        section=section,
        form=form,
        sizes=sizes,
        selected=_selected_questions(selected_ids),
        results=_search_questions(form) if form.mode.data == "fixed" else [],
        searched=bool((form.q.data or "").strip() or form.q_item.data),
        search_limit=SEARCH_LIMIT,
    )


@bp.route("/<id:exam_id>/sections/new", methods=["GET", "POST"])
@requires(Permission.MANAGE_EXAMS)
def section_new(exam_id: int):
    return _section_page(_exam_or_404(exam_id), None)


def _section_or_404(exam, section_id: int) -> ExamSection:
    section = next((s for s in exam.sections if s.id == section_id), None)
    if section is None:
        abort(404)
    return section


@bp.route("/<id:exam_id>/sections/<id:section_id>", methods=["GET", "POST"])
@requires(Permission.MANAGE_EXAMS)
def section_edit(exam_id: int, section_id: int):
    exam = _exam_or_404(exam_id)
    return _section_page(exam, _section_or_404(exam, section_id))


@bp.post("/<id:exam_id>/sections/<id:section_id>/delete")
@requires(Permission.MANAGE_EXAMS)
def section_delete(exam_id: int, section_id: int):
    exam = _exam_or_404(exam_id)
    section = _section_or_404(exam, section_id)
    try:
        authoring.remove_section(current_user, exam, section.id)
        flash(f"已删除“{section.title}”。", "success")
    except DomainError as err:
        _flash_error(err)
    return redirect(url_for("exam_admin.detail", exam_id=exam.id))


@bp.post("/<id:exam_id>/sections/<id:section_id>/move")
@requires(Permission.MANAGE_EXAMS)
def section_move(exam_id: int, section_id: int):
    exam = _exam_or_404(exam_id)
    section = _section_or_404(exam, section_id)
    offset = -1 if request.form.get("dir") == "up" else 1
    try:
        authoring.move_section(current_user, exam, section.id, offset)
    except DomainError as err:
        _flash_error(err)
    return redirect(url_for("exam_admin.detail", exam_id=exam.id))


# --- life cycle ----------------------------------------------------------------------------


def _life(exam_id: int, action, done: str):
    exam = _exam_or_404(exam_id)
    try:
        result = action(current_user, exam)
    except DomainError as err:
        _flash_error(err)
        return redirect(url_for("exam_admin.detail", exam_id=exam.id))
    flash(done.format(title=exam.title), "success")
    target = result.id if result is not None and hasattr(result, "id") else exam.id
    return redirect(url_for("exam_admin.detail", exam_id=target))


@bp.post("/<id:exam_id>/publish")
@requires(Permission.MANAGE_EXAMS)
def publish(exam_id: int):
    return _life(exam_id, authoring.publish_exam, "已发布《{title}》，考生现在可以看到这场考试。")


@bp.post("/<id:exam_id>/unpublish")
@requires(Permission.MANAGE_EXAMS)
def unpublish(exam_id: int):
    return _life(exam_id, authoring.unpublish_exam, "已将《{title}》撤回为草稿，考生暂时看不到。")


@bp.post("/<id:exam_id>/archive")
@requires(Permission.MANAGE_EXAMS)
def archive(exam_id: int):
    return _life(exam_id, authoring.archive_exam, "已归档《{title}》，成绩和统计仍可查看。")


@bp.post("/<id:exam_id>/restore")
@requires(Permission.MANAGE_EXAMS)
def restore(exam_id: int):
    return _life(exam_id, authoring.restore_exam, "已将《{title}》恢复为草稿。")


@bp.post("/<id:exam_id>/duplicate")
@requires(Permission.MANAGE_EXAMS)
def duplicate(exam_id: int):
    return _life(exam_id, authoring.duplicate_exam, "已复制《{title}》为新草稿，可以修改题目组成。")


# --- preview of a draw ---------------------------------------------------------------------


@bp.get("/<id:exam_id>/preview")
@requires(Permission.MANAGE_EXAMS)
def preview(exam_id: int):
    exam = _exam_or_404(exam_id)
    raw = request.args.get("seed", "")
    seed = int(raw) if raw.isdigit() and len(raw) < 16 else secrets.randbits(40)
    problem, paper = None, []
    if not exam.sections:
        problem = "还没有题目组成，无法预览。"
    else:
        try:
            drawn = services.draw_paper(exam, seed)
        except rules.DrawError as err:
            problem = services.draw_problem(exam, err)
        else:
            order, entries, section_of = drawn.order, drawn.entries, drawn.section_of
            data = services.version_data(entries[q].version_id for q in order)
            names = reports.pairs(
                sa.select(Question.id, Question.name).where(Question.id.in_(order))
            )
            for n, q in enumerate(order, 1):
                entry = entries[q]
                d = data[entry.version_id]
                paper.append(
                    {
                        "position": n,
                        "section": section_of[q],
                        "question_id": q,
                        "name": names.get(q, ""),
                        "qtype": entry.qtype,
                        "difficulty": entry.difficulty,
                        "data": d,
                        "text": display.render_text(d.get("text"), d.get("text_format", "moodle")),
                        "pres": display.presentation(
                            entry.qtype, d, f"preview:{seed}:{n}", exam.shuffle_answers
                        ),
                    }
                )
    return render_template(
        "exams/admin/preview.html",
        exam=exam,
        paper=paper,
        problem=problem,
        seed=seed,
        next_seed=random.Random(seed).getrandbits(40),
    )
