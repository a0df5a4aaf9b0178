"""Staff pages of exams (/manage/exams): authoring, results, statistics, marking, overrides.

County experts and admins author and mark; a township head sees the exams their candidates
can sit, with the results and statistics of their township's candidates only (filtered in
SQL by academy/exams/reports.py), and sets overrides for their township and agents. Agents
are refused (403). Thin: parse, call a use-case or a query, render.
"""

from __future__ import annotations

import random
import secrets
from datetime import date

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from academy import conflicts
from academy.auth.policy import (
    Permission,
    can,
    current_scope,
    requires,
    visible_agent_ids,
    visible_townships,
)
from academy.catalogue.models import ItemCategory, ServiceItem
from academy.errors_domain import DomainError
from academy.exams import authoring, reports, rules, services
from academy.exams import statistics as st
from academy.exams.admin_forms import (
    ExamForm,
    MarkForm,
    OverrideForm,
    ReopenForm,
    SectionForm,
    to_beijing,
)
from academy.exams.models import (
    AttemptState,
    ExamSection,
    ExamStatus,
    FinishReason,
    Layout,
    ReviewWhen,
    VersionPolicy,
)
from academy.extensions import db
from academy.forms import service_call
from academy.pagination import paginate
from academy.questions import display
from academy.questions.models import Dimension, Question, QuestionVersion
from academy.questions.types import QUESTION_TYPES
from academy.xlsx import xlsx_response

bp = Blueprint("exam_admin", __name__, url_prefix="/manage/exams")

PER_PAGE = 25
SEARCH_LIMIT = 30


@bp.context_processor
def _helpers():
    return {
        "bj": reports.when,
        "num": reports.fmt_number,
        "is_author": can(current_user, Permission.MANAGE_EXAMS),
        "difficulty_labels": rules.DIFFICULTY_LABELS,
        "flag_labels": st.FLAG_LABELS,
        "type_label": lambda t: QUESTION_TYPES[t].label if t in QUESTION_TYPES else t,
        "snippet": _snippet,
    }


def _snippet(data: dict | None, n: int = 80) -> str:
    return reports.snippet((data or {}).get("text"), n)


def _exam_or_404(exam_id: int):
    exam = reports.exam_visible_to(current_scope(), exam_id)
    if exam is None:
        abort(404)
    return exam


def _flash_error(err: DomainError) -> None:
    for problem in getattr(err, "problems", None) or [err.message]:
        flash(problem, "error")


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


# --- results -------------------------------------------------------------------------------


@bp.get("/<id:exam_id>/results")
@requires(Permission.VIEW_EXAM_RESULTS)
def results(exam_id: int):
    exam = _exam_or_404(exam_id)
    f = reports.results_filter(request.args)
    page = paginate(
        reports.results_statement(current_scope(), exam, f), per_page=PER_PAGE, rows=True
    )
    return render_template(
        "exams/admin/results.html",
        exam=exam,
        f=f,
        page=page,
        rows=reports.result_rows(page.items),
        townships=visible_townships(current_scope()),
        states=list(AttemptState),
        counts=reports.exam_counts(current_scope(), exam),
    )


RESULT_HEADERS = [
    "考生",
    "电话",
    "镇街",
    "村社",
    "第几次",
    "状态",
    "得分",
    "满分",
    "得分率（%）",
    "是否及格",
    "开始时间",
    "交卷时间",
    "交卷方式",
    "用时（分钟）",
    "重新开放次数",
]


@bp.get("/<id:exam_id>/results.xlsx")
@requires(Permission.VIEW_EXAM_RESULTS)
def results_export(exam_id: int):
    exam = _exam_or_404(exam_id)
    f = reports.results_filter(request.args)
    rows = [
        [
            r.agent_name,
            r.phone,
            r.township or "",
            r.village or "",
            r.attempt.number,
            r.attempt.state.label,
            r.attempt.score,
            r.attempt.max_score,
            r.attempt.percent,
            {True: "及格", False: "不及格"}.get(r.attempt.passed, "待定"),
            reports.when(r.attempt.started_at),
            reports.when(r.attempt.submitted_at),
            r.attempt.finish_reason.label if r.attempt.finish_reason else "",
            r.minutes_used,
            r.attempt.reopened_count,
        ]
        for r in reports.all_results(current_scope(), exam, f)
    ]
    name = f"考试成绩-{exam.id}-{date.today():%Y%m%d}.xlsx"
    return xlsx_response(name, RESULT_HEADERS, rows, "成绩")


@bp.get("/attempts/<id:attempt_id>")
@requires(Permission.VIEW_EXAM_RESULTS)
def attempt(attempt_id: int):
    a = reports.attempt_visible_to(current_scope(), attempt_id)
    if a is None:
        abort(404)
    return _attempt_page(a, ReopenForm())


def _attempt_page(a, reopen_form: ReopenForm):
    sections = {s.id: s for s in a.exam.sections}
    answers = []
    for ans in a.answers:
        data = ans.version.data
        answers.append(
            {
                "answer": ans,
                "section": sections.get(ans.section_id),
                "data": data,
                "text": display.render_text(data.get("text"), data.get("text_format", "moodle")),
                "pres": display.presentation(
                    ans.qtype, data, f"{a.id}:{ans.position}", a.exam.shuffle_answers
                ),
            }
        )
    return render_template(
        "exams/admin/attempt.html",
        a=a,
        answers=answers,
        township=reports.township_name(a.township_id),
        markers=reports.marker_names(a),
        reopen_form=reopen_form,
        can_reopen=can(current_user, Permission.MANAGE_EXAMS)
        and a.finish_reason == FinishReason.TIMEOUT
        and a.state != AttemptState.IN_PROGRESS,
        # The attempt is history; today's phone number only for whoever may see the person.
        reachable=bool(visible_agent_ids(current_scope(), [a.agent_id])),
    )


@bp.post("/attempts/<id:attempt_id>/reopen")
@requires(Permission.MANAGE_EXAMS)
def reopen(attempt_id: int):
    a = reports.attempt_visible_to(current_scope(), attempt_id)
    if a is None:
        abort(404)
    form = ReopenForm()
    if form.validate_on_submit():
        ok, _ = service_call(
            form, services.reopen_attempt, current_user, a, form.minutes.data, form.reason.data
        )
        if ok:
            flash(
                f"已重新开放 {a.agent.name} 的作答 {form.minutes.data} 分钟，"
                "考生再次进入考试即可继续作答。",
                "success",
            )
            return redirect(url_for("exam_admin.attempt", attempt_id=a.id))
    return _attempt_page(a, form)


# --- marking -------------------------------------------------------------------------------


def _marking_exam_arg() -> int | None:
    raw = request.args.get("exam_id", "")
    return int(raw) if raw.isdigit() and len(raw) < 10 else None


@bp.get("/marking")
@requires(Permission.MARK_ESSAYS)
def marking():
    exam_id = _marking_exam_arg()
    page = paginate(reports.marking_statement(exam_id), per_page=PER_PAGE, rows=True)
    return render_template(
        "exams/admin/marking.html", page=page, exams=reports.marking_exams(), exam_id=exam_id
    )


@bp.route("/marking/<id:answer_id>", methods=["GET", "POST"])
@requires(Permission.MARK_ESSAYS)
def mark(answer_id: int):
    answer = reports.answer_for_marking(answer_id)
    if answer is None or answer.qtype not in services.EXPERT_MARKED:
        abort(404)
    exam_id = _marking_exam_arg()
    form = MarkForm()
    if request.method == "GET" and answer.score is not None:
        form.score.data = answer.score
        form.comment.data = answer.comment
    if form.validate_on_submit():
        ok, _ = service_call(
            form,
            services.mark_answer,
            current_user,
            answer,
            float(form.score.data),
            form.comment.data or "",
        )
        if ok:
            attempt = answer.attempt
            done = f"已评分：{attempt.agent.name} 第 {answer.position} 题 {form.score.data:g} 分。"
            if attempt.state == AttemptState.GRADED:
                verdict = {True: "及格", False: "不及格"}.get(attempt.passed, "")
                done += f"该试卷已全部评完：{attempt.score:g}/{attempt.max_score:g} 分，{verdict}。"
            flash(done, "success")
            following = reports.next_to_mark(exam_id, answer)
            if following:
                return redirect(url_for("exam_admin.mark", answer_id=following, exam_id=exam_id))
            flash("待评分的简答题已全部评完。", "info")
            return redirect(url_for("exam_admin.marking", exam_id=exam_id))
    data = answer.version.data
    return render_template(
        "exams/admin/mark.html",
        answer=answer,
        a=answer.attempt,
        data=data,
        text=display.render_text(data.get("text"), data.get("text_format", "moodle")),
        form=form,
        exam_id=exam_id,
        township=reports.township_name(answer.attempt.township_id),
    )


# --- statistics ----------------------------------------------------------------------------


@bp.get("/<id:exam_id>/statistics")
@requires(Permission.VIEW_EXAM_RESULTS)
def statistics(exam_id: int):
    exam = _exam_or_404(exam_id)
    return render_template(
        "exams/admin/statistics.html",
        exam=exam,
        report=reports.exam_report(current_scope(), exam),
        min_answers=reports.min_answers(),
    )


STAT_HEADERS = [
    "题目编号",
    "题目名称",
    "题型",
    "难度",
    "版本",
    "作答人数",
    "难度系数（得分率）",
    "标准差",
    "区分度（校正题总相关）",
    "高低分组区分度（27%）",
    "提示",
]


@bp.get("/<id:exam_id>/statistics.xlsx")
@requires(Permission.VIEW_EXAM_RESULTS)
def statistics_export(exam_id: int):
    exam = _exam_or_404(exam_id)
    report = reports.exam_report(current_scope(), exam)

    def r(value):
        return None if value is None else round(value, 3)

    rows = [
        [
            row.question.id,
            row.question.name,
            QUESTION_TYPES[row.question.qtype].label
            if row.question.qtype in QUESTION_TYPES
            else row.question.qtype,
            rules.DIFFICULTY_LABELS.get(str(row.question.difficulty), ""),
            f"第 {row.version_number} 版" if row.version_number else "全部版本",
            row.stats.n,
            r(row.stats.facility),
            r(row.stats.sd),
            r(row.stats.discrimination),
            r(row.stats.upper_lower),
            row.stats.few_label
            if row.stats.too_few
            else "；".join(st.FLAG_LABELS[f] for f in row.stats.flags),
        ]
        for row in report.rows
    ]
    s = report.summary

    def summary_row(label, value):  # the value under 作答人数
        return [None, label, None, None, None, value, *[None] * (len(STAT_HEADERS) - 6)]

    rows += [
        [None] * len(STAT_HEADERS),
        summary_row("考试整体：已评分作答（份）", s.n),
        summary_row("平均得分率（%）", r(s.mean_percent)),
        summary_row("得分率中位数（%）", r(s.median_percent)),
        summary_row("得分率标准差（%）", r(s.sd_percent)),
        summary_row("克龙巴赫 α 系数（按题位）", r(s.alpha)),
        summary_row("及格率", r(s.pass_rate)),
    ]
    name = f"题目统计-{exam.id}-{date.today():%Y%m%d}.xlsx"
    return xlsx_response(name, STAT_HEADERS, rows, "题目统计")


@bp.get("/questions/<id:question_id>/stats")
@requires(Permission.VIEW_EXAM_RESULTS)
def question_stats(question_id: int):
    report = reports.question_report(current_scope(), question_id)
    if report is None:
        abort(404)
    return render_template("exams/admin/question_stats.html", report=report)


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
