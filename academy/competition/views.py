"""Competition pages: set-up (admin), nomination and appeals (township heads), marking
(judges, who see candidate numbers only), moderation, lock, corrections and rater
analysis (chief judge), results (everyone once published)."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from academy.auth.models import Role, User
from academy.auth.policy import Permission, current_scope, requires
from academy.competition import (
    charts,
    documents,
    judging,
    outcomes,
    practical,
    queries,
    scheme_excel,
    services,
)
from academy.competition.forms import (
    AppealForm,
    CompetitionForm,
    CorrectionForm,
    CriterionForm,
    DecideAppealForm,
    NoteForm,
    RoundForm,
)
from academy.competition.models import (
    Appeal,
    AppealState,
    CompetitionStatus,
    Correction,
    CriterionKind,
    Mark,
    RoundKind,
    Sheet,
    SheetState,
)
from academy.competition.rules import DIMENSION_LABELS, TIE_BREAK_RULE
from academy.db import utcnow
from academy.errors_domain import DomainError
from academy.extensions import db
from academy.forms import apply_domain_error
from academy.questions.models import Dimension
from academy.roster.models import Agent
from academy.xlsx import xlsx_response

bp = Blueprint("competition", __name__, url_prefix="/competitions")
assert documents.verify_facts  # award certificates are found by the public /verify page
assert practical.simulation_scores  # the practical round reads the simulation engine


@bp.context_processor
def _helpers():
    from academy.exams.reports import when

    return {"bj": when}


def _fail(err: DomainError, target: str):
    flash(err.message, "error")
    return redirect(target)


def _chief_or_403(comp) -> None:
    if not services.is_chief(comp, current_user):
        abort(403)


def _judge_or_403(comp):
    judge = services.judge_of(comp, current_user) if current_user.role == Role.EXPERT else None
    if judge is None:
        abort(403)
    return judge


# --- list, create, overview -------------------------------------------------------------------


@bp.get("/")
@login_required
def index():
    comps = queries.competitions_for(current_user)
    return render_template("competition/index.html", comps=comps)


@bp.route("/new", methods=["GET", "POST"])
@requires(Permission.MANAGE_COMPETITIONS)
def create():
    form = CompetitionForm()
    if form.validate_on_submit():
        try:
            comp = services.create_competition(
                current_user,
                year=form.year.data,
                title=form.title.data,
                joined_before=form.joined_before.data,
                registration_closes_on=form.registration_closes_on.data,
                quota_per_township=form.quota_per_township.data,
            )
        except DomainError as err:
            if not apply_domain_error(form, err):
                flash(err.message, "error")
        else:
            flash("比武已建立，下一步：设置轮次和评委。", "success")
            return redirect(url_for(".detail", comp_id=comp.id))
    return render_template("competition/form.html", form=form)


@bp.get("/<id:comp_id>")
@login_required
def detail(comp_id: int):
    comp = queries.competition_or_404(comp_id)
    user: User = current_user
    if user.role == Role.AGENT and comp.status == CompetitionStatus.DRAFT:
        abort(404)
    ctx = {"comp": comp, "today": date.today()}
    if user.role == Role.ADMIN:
        ctx["judges"] = queries.judges(comp)
        ctx["experts"] = _free_experts(comp, ctx["judges"])
        ctx["entries"] = queries.entries(comp, current_scope())
        ctx["publish_problems"] = (
            outcomes.publish_problems(comp) if comp.status == CompetitionStatus.RUNNING else []
        )
    elif user.role == Role.TOWNSHIP_HEAD:
        ctx["entries"] = queries.entries(comp, current_scope())
    elif user.role == Role.EXPERT:
        ctx["judge"] = services.judge_of(comp, user)
    else:
        ctx["own"] = queries.own_entry(comp, user)
    ctx["is_chief"] = services.is_chief(comp, user)
    return render_template("competition/detail.html", **ctx)


def _free_experts(comp, judges):
    import sqlalchemy as sa

    taken = {j.user_id for j in judges}
    experts = db.session.scalars(
        sa.select(User).where(User.role == Role.EXPERT, User.active.is_(True)).order_by(User.id)
    )
    return [u for u in experts if u.id not in taken]


@bp.post("/<id:comp_id>/status")
@requires(Permission.MANAGE_COMPETITIONS)
def change_status(comp_id: int):
    comp = queries.competition_or_404(comp_id)
    action = request.form.get("action")
    target = url_for(".detail", comp_id=comp.id)
    try:
        if action == "open":
            services.open_registration(current_user, comp)
            flash("已开始报名，镇街负责人可以推荐选手。", "success")
        elif action == "close":
            services.close_registration(current_user, comp)
            flash("报名已截止，可以分配评委。", "success")
        elif action == "publish":
            outcomes.publish(current_user, comp)
            flash("结果已公布。", "success")
            return redirect(url_for(".results", comp_id=comp.id))
        else:
            abort(400)
    except DomainError as err:
        return _fail(err, target)
    return redirect(target)


@bp.post("/<id:comp_id>/judges")
@requires(Permission.MANAGE_COMPETITIONS)
def add_judge(comp_id: int):
    comp = queries.competition_or_404(comp_id)
    user = db.session.get(User, request.form.get("user_id", type=int) or 0)
    target = url_for(".detail", comp_id=comp.id)
    if user is None:
        flash("请选择一位专家。", "error")
        return redirect(target)
    try:
        services.add_judge(current_user, comp, user)
        if request.form.get("chief") == "1":
            services.set_chief_judge(current_user, comp, user)
    except DomainError as err:
        return _fail(err, target)
    flash(f"已将 {user.display_name} 列入评委。", "success")
    return redirect(target)


@bp.post("/<id:comp_id>/chief")
@requires(Permission.MANAGE_COMPETITIONS)
def set_chief(comp_id: int):
    comp = queries.competition_or_404(comp_id)
    user = db.session.get(User, request.form.get("user_id", type=int) or 0)
    try:
        if user is None:
            raise DomainError("请选择一位评委")
        services.set_chief_judge(current_user, comp, user)
    except DomainError as err:
        return _fail(err, url_for(".detail", comp_id=comp.id))
    flash(f"裁判长：{user.display_name}", "success")
    return redirect(url_for(".detail", comp_id=comp.id))


# --- rounds and marking schemes ------------------------------------------------------------------


def _exam_choices():
    import sqlalchemy as sa

    from academy.exams.models import Exam, ExamStatus

    exams = db.session.scalars(
        sa.select(Exam).where(Exam.status == ExamStatus.PUBLISHED).order_by(Exam.id.desc())
    )
    return [("", "（不使用考试）")] + [(str(e.id), e.title) for e in exams]


@bp.route("/<id:comp_id>/rounds/new", methods=["GET", "POST"])
@requires(Permission.MANAGE_COMPETITIONS)
def add_round(comp_id: int):
    comp = queries.competition_or_404(comp_id)
    form = RoundForm()
    form.exam_id.choices = _exam_choices()
    unknown = practical.unknown_cases(_slugs(form.case_slugs.data)) if form.is_submitted() else []
    if unknown:
        form.case_slugs.errors = [f"没有这些情景案例：{'、'.join(unknown)}"]
    elif form.validate_on_submit():
        try:
            rnd = services.add_round(
                current_user,
                comp,
                kind=RoundKind(form.kind.data),
                title=form.title.data,
                weight=form.weight.data,
                exam_id=int(form.exam_id.data) if form.exam_id.data else None,
                case_slugs=[
                    s.strip() for s in (form.case_slugs.data or "").split(",") if s.strip()
                ],
                judges_per_candidate=form.judges_per_candidate.data,
            )
        except DomainError as err:
            if not apply_domain_error(form, err):
                flash(err.message, "error")
        else:
            flash("轮次已添加。", "success")
            if rnd.kind == RoundKind.WRITTEN:
                return redirect(url_for(".detail", comp_id=comp.id))
            return redirect(url_for(".scheme", round_id=rnd.id))
    return render_template("competition/round_form.html", form=form, comp=comp)


@bp.route("/rounds/<id:round_id>/scheme", methods=["GET", "POST"])
@requires(Permission.CHIEF_JUDGE, post=Permission.MANAGE_COMPETITIONS)
def scheme(round_id: int):
    rnd = queries.round_or_404(round_id)
    if current_user.role == Role.EXPERT:
        _chief_or_403(rnd.competition)
    form = CriterionForm()
    problems = []
    if request.method == "POST":
        if current_user.role != Role.ADMIN:
            abort(403)
        try:
            if request.files.get("file"):
                data = request.files["file"].read(2 * 1024 * 1024 + 1)
                if len(data) > 2 * 1024 * 1024:
                    raise DomainError("文件超过 2 MB")
                rows = scheme_excel.parse(data)
                services.set_criteria(current_user, rnd, rows)
                flash(f"已导入 {len(rows)} 项指标。", "success")
                return redirect(url_for(".scheme", round_id=rnd.id))
            if form.validate_on_submit():
                rows = [_row(c) for c in rnd.criteria]
                rows.append(
                    services.CriterionRow(
                        form.title.data,
                        CriterionKind(form.kind.data),
                        form.max_points.data,
                        Dimension(form.dimension.data),
                        [form.level0.data, form.level1.data, form.level2.data, form.level3.data],
                    )
                )
                services.set_criteria(current_user, rnd, rows)
                flash("指标已添加。", "success")
                return redirect(url_for(".scheme", round_id=rnd.id))
        except services.SchemeInvalid as err:
            problems = err.problems
        except DomainError as err:
            flash(err.message, "error")
    return render_template(
        "competition/scheme.html", rnd=rnd, form=form, problems=problems, comp=rnd.competition
    )


def _slugs(text: str | None) -> list[str]:
    return [s.strip() for s in (text or "").replace("，", ",").split(",") if s.strip()]


def _row(c) -> services.CriterionRow:
    return services.CriterionRow(
        c.title, c.kind, c.max_points, c.dimension, list(c.descriptors or [])
    )


@bp.get("/rounds/<id:round_id>/scheme.xlsx")
@requires(Permission.CHIEF_JUDGE)
def scheme_xlsx(round_id: int):
    rnd = queries.round_or_404(round_id)
    if current_user.role == Role.EXPERT:
        _chief_or_403(rnd.competition)
    return xlsx_response(
        f"评分标准-{rnd.title}.xlsx", scheme_excel.HEADERS, scheme_excel.export_rows(rnd.criteria)
    )


@bp.post("/rounds/<id:round_id>/assign")
@requires(Permission.MANAGE_COMPETITIONS)
def assign(round_id: int):
    rnd = queries.round_or_404(round_id)
    try:
        judging.assign(current_user, rnd)
    except DomainError as err:
        return _fail(err, url_for(".detail", comp_id=rnd.competition_id))
    flash("评委已分配（同镇街回避）。", "success")
    return redirect(url_for(".panel", round_id=rnd.id))


# --- registration ---------------------------------------------------------------------------------


@bp.route("/<id:comp_id>/entries", methods=["GET", "POST"])
@requires(Permission.MANAGE_ENTRIES)
def entries(comp_id: int):
    comp = queries.competition_or_404(comp_id)
    if request.method == "POST":
        agent = db.session.get(Agent, request.form.get("agent_id", type=int) or 0)
        target = url_for(".entries", comp_id=comp.id)
        if agent is None:
            flash("请选择要推荐的代办员。", "error")
            return redirect(target)
        try:
            entry = services.nominate(current_user, comp, agent, date.today())
        except DomainError as err:
            return _fail(err, target)
        flash(f"已推荐 {agent.name}，选手编号 {entry.number}。", "success")
        return redirect(target)
    rows = queries.entries(comp, current_scope(), include_withdrawn=True)
    can_nominate = comp.status == CompetitionStatus.REGISTRATION or (
        current_user.role == Role.ADMIN and comp.status == CompetitionStatus.RUNNING
    )
    candidates = queries.nominable_agents(comp, current_scope()) if can_nominate else []
    return render_template(
        "competition/entries.html",
        comp=comp,
        rows=rows,
        candidates=candidates,
        can_nominate=can_nominate,
        form=NoteForm(),
    )


@bp.post("/<id:comp_id>/entries/<id:entry_id>/withdraw")
@requires(Permission.MANAGE_ENTRIES)
def withdraw(comp_id: int, entry_id: int):
    comp = queries.competition_or_404(comp_id)
    entry = queries.entry_or_404(comp, entry_id, current_scope())
    try:
        services.withdraw(current_user, entry, request.form.get("note", ""))
    except DomainError as err:
        return _fail(err, url_for(".entries", comp_id=comp.id))
    flash(f"已撤回 {entry.agent.name}。", "success")
    return redirect(url_for(".entries", comp_id=comp.id))


# --- judging ----------------------------------------------------------------------------------


@bp.get("/judging", endpoint="judging")
@requires(Permission.JUDGE)
def judging_queue():
    import sqlalchemy as sa

    from academy.competition.models import Competition, CompetitionJudge

    rows = []
    for judge in db.session.scalars(
        sa.select(CompetitionJudge)
        .join(Competition)
        .where(
            CompetitionJudge.user_id == current_user.id,
            Competition.status == CompetitionStatus.RUNNING,
        )
    ):
        rows += [(judge, *r) for r in queries.queue(judge)]
    return render_template(
        "competition/judging.html", rows=rows, comps=queries.competitions_for(current_user)
    )


@bp.route("/rounds/<id:round_id>/mark/<id:entry_id>", methods=["GET", "POST"])
@requires(Permission.JUDGE)
def mark(round_id: int, entry_id: int):
    rnd = queries.round_or_404(round_id)
    comp = rnd.competition
    judge = _judge_or_403(comp)
    if not judging.assigned(rnd, entry_id, judge):
        abort(404)
    wants_json = request.accept_mimetypes.best == "application/json"
    from academy.competition.models import Entry

    number = db.session.get(Entry, entry_id).number
    if request.method == "POST":
        values = {c.id: request.form.get(f"c{c.id}") for c in rnd.criteria}
        submit = request.form.get("submit") == "1"
        try:
            seq = int(request.form.get("seq", "0") or 0)
        except ValueError:
            seq = 0
        if not wants_json:  # a plain form post: always newer than what is stored
            sheet = judging.sheet_for(rnd, entry_id, judge)
            seq = max(seq, (sheet.seq if sheet else 0) + 1)
        try:
            saved = judging.save_sheet(
                rnd, entry_id, judge, values, request.form.get("comment", "")[:2001], seq, submit
            )
        except DomainError as err:
            if wants_json:
                return jsonify(error=err.message), 409
            flash(err.message, "error")
            return redirect(url_for(".mark", round_id=rnd.id, entry_id=entry_id))
        if wants_json:
            return jsonify(
                saved_at=saved.sheet.saved_at.isoformat() if saved.sheet.saved_at else None,
                stale=saved.stale,
                submitted=saved.sheet.state == SheetState.SUBMITTED,
            )
        flash("评分已提交。" if submit else "草稿已保存。", "success")
        return redirect(url_for(".mark", round_id=rnd.id, entry_id=entry_id))
    sheet = judging.sheet_for(rnd, entry_id, judge)
    values = {m.criterion_id: m.value for m in sheet.marks} if sheet else {}
    panel = None
    if sheet is not None and sheet.state == SheetState.SUBMITTED:
        panel = _panel_for(rnd, entry_id)
    return render_template(
        "competition/mark.html",
        rnd=rnd,
        number=number,
        entry_id=entry_id,
        sheet=sheet,
        values=values,
        panel=panel,
        locked=rnd.locked,
    )


def _panel_for(rnd, entry_id: int) -> dict:
    """The submitted marks of the whole panel for one candidate, by judge code."""
    import sqlalchemy as sa

    from academy.competition.models import CompetitionJudge

    out: dict[int, list[tuple[str, float]]] = {}
    for crit_id, code, value in db.session.execute(
        sa.select(Mark.criterion_id, CompetitionJudge.code, Mark.value)
        .join(Sheet, Sheet.id == Mark.sheet_id)
        .join(CompetitionJudge, CompetitionJudge.id == Sheet.judge_id)
        .where(
            Sheet.round_id == rnd.id,
            Sheet.entry_id == entry_id,
            Sheet.state == SheetState.SUBMITTED,
        )
        .order_by(CompetitionJudge.id)
    ):
        out.setdefault(crit_id, []).append((code, value))
    return out


# --- chief judge: panel, moderation, lock, raters ---------------------------------------------


@bp.get("/rounds/<id:round_id>/panel")
@requires(Permission.CHIEF_JUDGE)
def panel(round_id: int):
    import sqlalchemy as sa

    from academy.competition.models import Assignment, CompetitionJudge, Entry, RoundScore

    rnd = queries.round_or_404(round_id)
    comp = rnd.competition
    _chief_or_403(comp)
    numbers = dict(
        db.session.execute(
            sa.select(Entry.id, Entry.number).where(
                Entry.competition_id == comp.id, Entry.withdrawn_at.is_(None)
            )
        ).all()
    )
    ctx = {"rnd": rnd, "comp": comp, "numbers": numbers, "form": NoteForm()}
    if rnd.judged:
        ctx["results"] = judging.round_results(rnd)
        ctx["done"] = judging.moderations(rnd)
        ctx["sheets"] = {
            (s.entry_id, s.judge_id): s
            for s in db.session.scalars(sa.select(Sheet).where(Sheet.round_id == rnd.id))
        }
        ctx["assignments"] = db.session.execute(
            sa.select(Assignment.entry_id, CompetitionJudge)
            .join(CompetitionJudge, CompetitionJudge.id == Assignment.judge_id)
            .where(Assignment.round_id == rnd.id)
            .order_by(Assignment.entry_id, CompetitionJudge.id)
        ).all()
    else:
        ctx["scores"] = {
            s.entry_id: s
            for s in db.session.scalars(sa.select(RoundScore).where(RoundScore.round_id == rnd.id))
        }
    ctx["problems"] = [] if rnd.locked else judging.lock_problems(rnd)
    return render_template("competition/panel.html", **ctx)


@bp.post("/rounds/<id:round_id>/moderate")
@requires(Permission.CHIEF_JUDGE)
def moderate(round_id: int):
    rnd = queries.round_or_404(round_id)
    _chief_or_403(rnd.competition)
    target = url_for(".panel", round_id=rnd.id)
    entry_id = request.form.get("entry_id", type=int) or 0
    criterion_id = request.form.get("criterion_id", type=int) or 0
    note = request.form.get("note", "")
    try:
        action = request.form.get("action", "keep")
        if action.startswith("remark-"):
            sheet_id = int(action[7:]) if action[7:].isdigit() else 0
            sheet = db.session.get(Sheet, sheet_id) if sheet_id < 2**31 else None
            if sheet is None or sheet.round_id != rnd.id:
                abort(404)
            judging.reopen_sheet(current_user, rnd, sheet, note)
            flash("已退回该评委复评。", "success")
        else:
            if criterion_id not in {c.id for c in rnd.criteria}:
                abort(404)
            judging.moderate(current_user, rnd, entry_id, criterion_id, note)
            flash("已记录复核意见。", "success")
    except DomainError as err:
        return _fail(err, target)
    return redirect(target)


@bp.post("/rounds/<id:round_id>/refresh")
@requires(Permission.CHIEF_JUDGE)
def refresh(round_id: int):
    rnd = queries.round_or_404(round_id)
    _chief_or_403(rnd.competition)
    try:
        n = judging.refresh_auto_scores(rnd)
    except DomainError as err:
        return _fail(err, url_for(".panel", round_id=rnd.id))
    engine = "考试系统" if rnd.kind == RoundKind.WRITTEN else "情景模拟"
    flash(f"已从{engine}取得 {n} 名选手的成绩；没有成绩的记 0 分（缺考）。", "success")
    return redirect(url_for(".panel", round_id=rnd.id))


@bp.post("/rounds/<id:round_id>/lock")
@requires(Permission.CHIEF_JUDGE)
def lock(round_id: int):
    rnd = queries.round_or_404(round_id)
    try:
        judging.lock_round(current_user, rnd)
    except DomainError as err:
        return _fail(err, url_for(".panel", round_id=rnd.id))
    flash("本轮已锁定；此后的修改须走更正审批。", "success")
    return redirect(url_for(".panel", round_id=rnd.id))


@bp.get("/rounds/<id:round_id>/raters")
@requires(Permission.CHIEF_JUDGE)
def raters(round_id: int):
    rnd = queries.round_or_404(round_id)
    _chief_or_403(rnd.competition)
    analysis = outcomes.rater_analysis(rnd)
    return render_template("competition/raters.html", rnd=rnd, comp=rnd.competition, a=analysis)


@bp.get("/rounds/<id:round_id>/raters.svg")
@requires(Permission.CHIEF_JUDGE)
def raters_chart(round_id: int):
    rnd = queries.round_or_404(round_id)
    _chief_or_403(rnd.competition)
    return charts.svg_response(charts.judge_severity(outcomes.rater_analysis(rnd)))


# --- corrections and appeals --------------------------------------------------------------------


@bp.route("/<id:comp_id>/corrections", methods=["GET", "POST"])
@requires(Permission.CHIEF_JUDGE)
def corrections(comp_id: int):
    comp = queries.competition_or_404(comp_id)
    _chief_or_403(comp)
    target = url_for(".corrections", comp_id=comp.id)
    if request.method == "POST":
        try:
            corr = db.session.get(Correction, request.form.get("correction_id", type=int) or 0)
            if corr is not None:
                outcomes.decide_correction(
                    current_user, corr, request.form.get("decision") == "approve"
                )
                flash("已处理更正申请。", "success")
            else:
                form = CorrectionForm()
                if not form.validate():
                    raise DomainError("；".join(e for es in form.errors.values() for e in es))
                mark = db.session.get(Mark, int(form.mark_id.data or 0))
                if mark is None:
                    abort(404)
                sheet = mark.sheet
                rnd = queries.round_or_404(sheet.round_id)
                if rnd.competition_id != comp.id:
                    abort(404)
                outcomes.request_correction(
                    current_user,
                    rnd,
                    sheet.entry,
                    form.new_value.data,
                    form.reason.data,
                    mark=mark,
                )
                flash("更正申请已记录，待裁判长审批。", "success")
        except DomainError as err:
            return _fail(err, target)
        return redirect(target)
    return render_template(
        "competition/corrections.html", comp=comp, rows=queries.corrections(comp)
    )


@bp.route("/<id:comp_id>/appeals", methods=["GET", "POST"])
@requires(Permission.COMPETITION_APPEALS)
def appeals(comp_id: int):
    comp = queries.competition_or_404(comp_id)
    if current_user.role == Role.EXPERT:
        _chief_or_403(comp)
    form = AppealForm()
    own = queries.entries(comp, current_scope()) if current_user.role != Role.EXPERT else []
    form.entry_id.choices = [(str(e.id), f"{e.number} {e.agent.name}") for e in own]
    form.round_id.choices = [(str(r.id), r.title) for r in comp.rounds if r.locked]
    filing = request.method == "POST" and current_user.role in (Role.TOWNSHIP_HEAD, Role.ADMIN)
    if filing and form.validate_on_submit():
        entry = queries.entry_or_404(comp, int(form.entry_id.data), current_scope())
        rnd = next((r for r in comp.rounds if str(r.id) == form.round_id.data), None)
        if rnd is None:
            abort(404)
        try:
            outcomes.file_appeal(current_user, entry, rnd, form.reason.data, utcnow())
        except DomainError as err:
            return _fail(err, url_for(".appeals", comp_id=comp.id))
        flash("申诉已提交，等待裁判长裁决。", "success")
        return redirect(url_for(".appeals", comp_id=comp.id))
    return render_template(
        "competition/appeals.html",
        comp=comp,
        rows=queries.appeals(comp, current_scope()),
        form=form,
        decide=DecideAppealForm(),
        is_chief=services.is_chief(comp, current_user),
        deadlines={r.id: outcomes.appeal_deadline(r) for r in comp.rounds},
        marks_for=_appeal_marks(comp) if services.is_chief(comp, current_user) else {},
    )


def _appeal_marks(comp) -> dict[int, list[tuple[int, str]]]:
    """For each pending appeal, the marks of its candidate in its round (to correct)."""
    import sqlalchemy as sa

    from academy.competition.models import CompetitionJudge, Criterion, Entry

    rows = db.session.execute(
        sa.select(Appeal.id, Mark.id, CompetitionJudge.code, Criterion.title, Mark.value)
        .join(Entry, Entry.id == Appeal.entry_id)
        .join(Sheet, sa.and_(Sheet.entry_id == Appeal.entry_id, Sheet.round_id == Appeal.round_id))
        .join(Mark, Mark.sheet_id == Sheet.id)
        .join(CompetitionJudge, CompetitionJudge.id == Sheet.judge_id)
        .join(Criterion, Criterion.id == Mark.criterion_id)
        .where(Entry.competition_id == comp.id, Appeal.state == AppealState.PENDING)
        .order_by(Appeal.id, Criterion.position, CompetitionJudge.id)
    )
    out: dict[int, list[tuple[int, str]]] = {}
    for appeal_id, mark_id, code, title, value in rows:
        out.setdefault(appeal_id, []).append((mark_id, f"{code} · {title}：{value:g}"))
    return out


@bp.post("/appeals/<id:appeal_id>/decide")
@requires(Permission.CHIEF_JUDGE)
def decide_appeal(appeal_id: int):
    appeal = db.session.get(Appeal, appeal_id)
    if appeal is None:
        abort(404)
    comp = appeal.round.competition
    _chief_or_403(comp)
    form = DecideAppealForm()
    target = url_for(".appeals", comp_id=comp.id)
    if not form.validate_on_submit():
        flash("；".join(e for es in form.errors.values() for e in es), "error")
        return redirect(target)
    upheld = form.outcome.data == "upheld"
    corrections = []
    if upheld:
        mark_id = request.form.get("mark_id", type=int)
        mark = db.session.get(Mark, mark_id) if mark_id and mark_id < 2**31 else None
        if mark is not None and (
            mark.sheet.entry_id != appeal.entry_id or mark.sheet.round_id != appeal.round_id
        ):
            abort(404)
        if form.new_value.data is None:
            flash("申诉成立时须填写更正后的分值。", "error")
            return redirect(target)
        corrections.append((mark, form.new_value.data))
    try:
        outcomes.decide_appeal(current_user, appeal, upheld, form.decision.data, corrections)
    except DomainError as err:
        return _fail(err, target)
    flash("申诉已裁决。", "success")
    return redirect(target)


# --- results ------------------------------------------------------------------------------------


@bp.get("/<id:comp_id>/results")
@login_required
def results(comp_id: int):
    comp = queries.competition_or_404(comp_id)
    published = comp.status == CompetitionStatus.PUBLISHED
    if not published and not services.is_chief(comp, current_user):
        abort(404)
    township_id = request.args.get("township_id", type=int)
    if published:
        rows = queries.results(comp, township_id)
        preview = None
    else:
        rows = []
        preview = outcomes.ranking(comp)
    return render_template(
        "competition/results.html",
        comp=comp,
        rows=rows,
        preview=preview,
        dims=DIMENSION_LABELS,
        tie_rule=TIE_BREAK_RULE,
        township_id=township_id,
        own_township=current_user.township_id if current_user.role == Role.TOWNSHIP_HEAD else None,
    )


@bp.get("/<id:comp_id>/results.xlsx")
@requires(Permission.MANAGE_ENTRIES)
def results_xlsx(comp_id: int):
    comp = queries.competition_or_404(comp_id)
    if comp.status != CompetitionStatus.PUBLISHED:
        abort(404)
    township_id = current_user.township_id if current_user.role == Role.TOWNSHIP_HEAD else None
    rows = queries.results(comp, township_id)
    rounds = comp.rounds
    headers = ["名次", "镇街内名次", "编号", "姓名", "镇街", "村社", "总分"]
    headers += [r.title for r in rounds] + list(DIMENSION_LABELS.values()) + ["奖项"]
    data = []
    for res in rows:
        e = res.entry
        data.append(
            [
                res.rank,
                res.township_rank,
                e.number,
                e.agent.name,
                e.township.name,
                e.village.name,
                res.total,
            ]
            + [res.by_round.get(str(r.id)) for r in rounds]
            + [res.by_dimension.get(d) for d in DIMENSION_LABELS]
            + [res.award.label if res.award else ""]
        )
    return xlsx_response(f"{comp.title}-成绩.xlsx", headers, data)


@bp.get("/<id:comp_id>/results/chart.svg")
@login_required
def results_chart(comp_id: int):
    comp = queries.competition_or_404(comp_id)
    if comp.status != CompetitionStatus.PUBLISHED:
        abort(404)
    return charts.svg_response(charts.distributions(queries.results(comp)))


@bp.get("/results/<id:result_id>/certificate")
@login_required
def certificate(result_id: int):
    from academy.competition.models import Result

    res = db.session.get(Result, result_id)
    if res is None or res.certificate_html is None:
        abort(404)
    user = current_user
    allowed = (
        user.role == Role.ADMIN
        or (user.role == Role.TOWNSHIP_HEAD and user.township_id == res.entry.township_id)
        or (user.agent_id is not None and user.agent_id == res.entry.agent_id)
    )
    if not allowed:
        abort(404)
    response = db.session.get(Result, result_id).certificate_html
    return response, 200, {"Content-Type": "text/html; charset=utf-8"}
