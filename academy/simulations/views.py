"""Pages of simulation cases: the agent's player and debrief, expert marking and authoring,
the township head's results. Thin: parse → service → render/redirect."""

from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy.exc import IntegrityError

from academy.auth.models import Role
from academy.auth.policy import (
    Permission,
    SessionIdentity,
    can,
    current_scope,
    requires,
    requires_identity,
)
from academy.content.problems import ContentInvalid
from academy.content.yamlio import parse_yaml
from academy.simulations import graph, rules, services
from academy.simulations.forms import CaseTextForm, MarkForm
from academy.simulations.kinds import EVENTS, MODULE_SECTIONS, OUTCOMES, STEP_KINDS
from academy.simulations.models import RunState

bp = Blueprint("simulations", __name__, template_folder="templates")


@bp.app_context_processor
def _labels():
    return {"sim_outcomes": OUTCOMES}


def _agent():
    return current_user.agent if current_user.role == Role.AGENT else None


def _case_or_404(slug: str):
    case = services.case_by_slug(slug)
    if case is None:
        abort(404)
    return case


def _run_or_404(run_id: int):
    run = services.run_for(run_id, agent=_agent(), user=current_user)
    if run is None:
        abort(404)  # not theirs: indistinguishable from a run that does not exist
    return run


@bp.get("/simulations/")
@login_required
def index():
    agent = _agent()
    cases = services.live_cases()
    recommended, runs = [], []
    if agent is not None:
        from academy.practice.services import weak_items

        weak = [w.item.id for w in weak_items(agent)]
        recommended = services.recommended_cases(agent, weak)
        runs = services.agent_runs(agent)
    return render_template(
        "simulations/index.html",
        cases=cases,
        recommended=recommended,
        runs=runs,
        agent=agent,
        can_author=can(current_user, Permission.AUTHOR_CASES),
        RunState=RunState,
    )


@bp.post("/simulations/<slug>/start")
@requires(Permission.LEARN)
def start(slug: str):
    found = services.case_to_start(slug)
    if found is None:
        abort(404)
    case, version = found
    agent = _agent()
    if agent is None:
        abort(403)
    run = None if request.form.get("fresh") else services.open_run(agent, case)
    if run is None:
        try:
            run = services.start_run(agent, case, version=version)
        except services.RunRefused as err:
            flash(err.message, "error")
            return redirect(url_for("simulations.index"))
    return redirect(url_for("simulations.play", run_id=run.id))


@bp.post("/simulations/<slug>/preview")
@requires(Permission.AUTHOR_CASES)
def preview(slug: str):
    case = _case_or_404(slug)
    try:
        run = services.start_run(None, case, user=current_user, preview=True)
    except services.RunRefused as err:
        flash(err.message, "error")
        return redirect(url_for("simulations.detail", slug=slug))
    return redirect(url_for("simulations.play", run_id=run.id))


def _render_play(run, last, error: str | None = None, status: int = 200):
    """The run at its current step, below what its ``last`` step meant
    (services.LatestStep or None)."""
    case = services.case_of(run)
    if run.state == RunState.FINISHED:
        return redirect(url_for("simulations.debrief", run_id=run.id))
    step = case.step(run.current_step)
    extra = {}
    if step["kind"] == "complication":
        extra["event"] = STEP_KINDS["complication"].drawn(step, rules.Context(run.seed))
    return (
        render_template(
            "simulations/play.html",
            run=run,
            case=case,
            doc=case.doc,
            step=step,
            kind=STEP_KINDS[step["kind"]],
            last=last,
            last_step=case.step(last.step_id) if last else None,
            detail=case.persona_detail(run.seed),
            error=error,
            events=EVENTS,
            **extra,
        ),
        status,
    )


@bp.get("/simulations/runs/<id:run_id>")
@login_required
def play(run_id: int):
    found = services.run_to_play(run_id, agent=_agent(), user=current_user)
    if found is None:
        abort(404)  # not theirs: indistinguishable from a run that does not exist
    run, last = found
    return _render_play(run, last)


@bp.post("/simulations/runs/<id:run_id>/step")
@requires_identity(None)  # any account: the run must be theirs (an agent's, an author's preview)
def step(run_id: int, identity: SessionIdentity):
    seq_text = request.form.get("seq", "")
    seq = int(seq_text) if seq_text.isdigit() and len(seq_text) < 10 else -1
    step_id = request.form.get("step", "")
    try:
        state = services.take_step_quickly(identity, run_id, seq, step_id, request.form)
        if state == RunState.FINISHED:
            return redirect(url_for("simulations.debrief", run_id=run_id))
        if state is not None:
            return redirect(url_for("simulations.play", run_id=run_id))
    except LookupError:
        abort(404)  # not theirs: indistinguishable from a run that does not exist
    except IntegrityError:
        services.discard_changes()  # a race the full path below explains (409)
    # Anything the quick path does not decide (a refusal, the last step) — as ever:
    run = _run_or_404(run_id)
    try:
        services.submit_step(run, seq, step_id, request.form)
    except services.RunRefused as err:
        return _refused(run, err.message)
    except IntegrityError:
        # Two posts of the same step at once (two tabs, a double tap): the other one won.
        return _refused(run, "这一步已经作答过，不能重复提交。")
    if run.state == RunState.FINISHED:
        return redirect(url_for("simulations.debrief", run_id=run.id))
    return redirect(url_for("simulations.play", run_id=run.id))


def _refused(run, message: str):
    """Nothing was changed: the page shows the step the run is really at, with why (409)."""
    from academy.extensions import db

    db.session.rollback()
    db.session.refresh(run)
    return _render_play(run, services.last_step(run), error=message, status=409)


@bp.get("/simulations/runs/<id:run_id>/debrief")
@login_required
def debrief(run_id: int):
    run = _run_or_404(run_id)
    if run.state != RunState.FINISHED:
        return redirect(url_for("simulations.play", run_id=run.id))
    d = services.debrief(run)
    return render_template(
        "simulations/debrief.html",
        d=d,
        run=run,
        doc=d.case.doc,
        sections=MODULE_SECTIONS,
        outcomes=OUTCOMES,
    )


# --- results for township heads and the county ---------------------------------------------------


@bp.get("/simulations/results")
@requires(Permission.VIEW_CASE_RESULTS)
def results():
    rows = services.township_results(current_scope())
    summaries = services.agent_summaries(current_scope())
    return render_template("simulations/results.html", rows=rows, summaries=summaries)


# --- expert marking --------------------------------------------------------------------------


@bp.get("/simulations/marking")
@requires(Permission.AUTHOR_CASES)
def marking():
    queue = services.marking_queue()
    items = []
    for row in queue:
        case = services.case_of(row.run)
        items.append((row, case.step(row.step_id), case.doc))
    return render_template("simulations/marking.html", items=items, form=MarkForm())


@bp.post("/simulations/marking/<id:row_id>")
@requires(Permission.AUTHOR_CASES)
def mark(row_id: int):
    row = services.step_row(row_id)
    if row is None or row.kind != "free_text":
        abort(404)
    form = MarkForm()
    if not form.validate_on_submit():
        flash("请填写 0 及以上的分数。", "error")
        return redirect(url_for("simulations.marking")), 303
    try:
        run = services.mark_reply(current_user, row, form.points.data, form.note.data)
    except services.RunRefused as err:
        flash(err.message, "error")
        return redirect(url_for("simulations.marking"))
    score = f"该次练习现在得分 {run.score:g}。" if run.score is not None else ""
    flash(f"已评分。{score}", "success")
    return redirect(url_for("simulations.marking"))


# --- authoring ---------------------------------------------------------------------------------


def _problem_graph(text: str):
    data, problems = parse_yaml(text, "x")
    if problems or not isinstance(data, dict) or not isinstance(data.get("steps"), list):
        return None
    steps = [s for s in data["steps"] if isinstance(s, dict)]
    try:
        bad = rules.graph_problems(
            {
                s["id"]: s
                for s in steps
                if isinstance(s.get("id"), str) and s.get("kind") in STEP_KINDS
            },
            data.get("start") or (steps[0].get("id") if steps else ""),
        )
    except (KeyError, TypeError, AttributeError):
        bad = {}
    return graph.case_svg(steps, data.get("start") or (steps[0].get("id") if steps else None), bad)


@bp.route("/simulations/new", methods=["GET", "POST"])
@requires(Permission.AUTHOR_CASES)
def upload():
    form = CaseTextForm()
    problems, svg = [], None
    if form.validate_on_submit():
        text = form.text_value()
        try:
            version = services.save_case_text(current_user, text)
        except ContentInvalid as err:
            problems = sorted(err.problems)
            svg = _problem_graph(text)
        else:
            if version is None:
                flash("内容与当前版本相同，没有保存新版本。", "info")
                return redirect(url_for("simulations.index"))
            flash(f"案例已保存为第 {version.number} 版。", "success")
            return redirect(url_for("simulations.detail", slug=version.case.slug))
    status = 422 if problems else 200
    return render_template(
        "simulations/edit.html", form=form, problems=problems, svg=svg, case=None
    ), status


@bp.route("/simulations/<slug>/edit", methods=["GET", "POST"])
@requires(Permission.AUTHOR_CASES)
def edit(slug: str):
    case = _case_or_404(slug)
    form = CaseTextForm()
    problems, svg = [], None
    if request.method == "GET":
        form.text.data = services.current_version(case).source
    elif form.validate_on_submit():
        text = form.text_value()
        try:
            version = services.save_case_text(current_user, text, case)
        except ContentInvalid as err:
            problems = sorted(err.problems)
            svg = _problem_graph(text)
        else:
            if version is None:
                flash("内容没有变化。", "info")
            else:
                flash(f"已保存为第 {version.number} 版；已开始的练习仍按原版本进行。", "success")
            return redirect(url_for("simulations.detail", slug=slug))
    status = 422 if problems else 200
    return render_template(
        "simulations/edit.html", form=form, problems=problems, svg=svg, case=case
    ), status


@bp.get("/simulations/<slug>")
@requires(Permission.AUTHOR_CASES)
def detail(slug: str):
    case = _case_or_404(slug)
    version = services.current_version(case)
    return render_template(
        "simulations/detail.html",
        case=case,
        version=version,
        doc=version.document,
        stats=services.step_statistics(case),
    )


@bp.get("/simulations/<slug>/graph.svg")
@requires(Permission.AUTHOR_CASES)
def graph_svg(slug: str):
    case = _case_or_404(slug)
    version = services.current_version(case)
    doc = rules.Case(version.document)
    bad = rules.graph_problems(doc.steps, doc.start)
    svg = graph.case_svg(version.document["steps"], doc.start, bad)
    return Response(svg, mimetype="image/svg+xml")


@bp.post("/simulations/<slug>/versions/<int:number>/retire")
@requires(Permission.AUTHOR_CASES)
def retire(slug: str, number: int):
    case = _case_or_404(slug)
    version = next((v for v in case.versions if v.number == number), None)
    if version is None:
        abort(404)
    services.retire_version(version)
    flash(f"第 {number} 版已停用：用这一版的练习不能再继续。", "success")
    return redirect(url_for("simulations.detail", slug=slug))


@bp.get("/simulations/booklet")
@login_required
def booklet():
    """The shipped cases as a printable booklet (十大典型服务案例)."""
    cases = [(c, services.current_version(c).document) for c in services.live_cases()]
    return render_template("simulations/booklet.html", cases=cases, events=EVENTS)
