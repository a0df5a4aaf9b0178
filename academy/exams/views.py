"""The candidate's side of exams: the list, an exam's page, taking an attempt (autosave,
countdown, navigation), submitting, the result and its review."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from sqlalchemy.orm import joinedload

from academy import dbsetup
from academy.auth.policy import Permission, SessionIdentity, requires, requires_identity
from academy.db import utcnow
from academy.errors_domain import DomainError
from academy.exams import admission, blocks, rules, services
from academy.exams.models import Attempt, AttemptState, Exam, ExamStatus, Layout
from academy.extensions import db
from academy.questions.display import presentation, render_text
from academy.questions.types import ResponseError

bp = Blueprint("exams", __name__)


def _agent():
    agent = current_user.agent
    if agent is None:
        abort(403)
    return agent


def _exam_for_agent(exam_id: int, *options) -> Exam:
    exam = db.session.get(Exam, exam_id, options=options)
    if exam is None or exam.status == ExamStatus.DRAFT or not services.may_sit(exam, _agent()):
        abort(404)
    return exam


def _attempt_or_404(attempt_id: int) -> Attempt:
    attempt = services.attempt_for_candidate(attempt_id, _agent())
    if attempt is None:
        abort(404)
    return attempt


def _wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json" or request.is_json


@bp.get("/exams/")
@requires(Permission.LEARN)
def index():
    agent = _agent()
    exams = services.exams_for_agent(agent) if agent.current_posting else []
    attempts = services.agent_attempts(agent, [e.id for e in exams])
    now = utcnow()
    rows = []
    for exam in exams:
        mine = attempts[exam.id]
        eff = services.effective_for(exam, agent).settings
        rows.append(
            {
                "exam": exam,
                "attempts": mine,
                "open": next((a for a in mine if a.state == AttemptState.IN_PROGRESS), None),
                "best": max((a.percent for a in mine if a.percent is not None), default=None),
                "problem": rules.start_problem(eff, now, len(mine)),
                "settings": eff,
            }
        )
    return render_template("exams/index.html", rows=rows)


@bp.get("/exams/<id:exam_id>")
@requires(Permission.LEARN)
def exam(exam_id: int):
    exam = _exam_for_agent(exam_id)
    agent = _agent()
    eff = services.effective_for(exam, agent)
    mine = services.agent_attempts(agent, [exam.id])[exam.id]
    current = next((a for a in mine if a.state == AttemptState.IN_PROGRESS), None)
    now = utcnow()
    if current is not None and rules.is_overdue(current.deadline, now):
        services.finish_attempt(current, services.FinishReason.TIMEOUT, now)
        current = None
    return render_template(
        "exams/exam.html",
        exam=exam,
        eff=eff,
        attempts=mine,
        current=current,
        problem=None if current else rules.start_problem(eff.settings, now, len(mine)),
        questions=sum(
            len(s.question_ids) or sum(int(v or 0) for v in s.counts.values())
            for s in exam.sections
        ),
    )


@bp.post("/exams/<id:exam_id>/start")
@requires(Permission.LEARN)
def start(exam_id: int):
    exam = _exam_for_agent(exam_id, joinedload(Exam.sections))  # the draw reads them
    ticket = request.form.get("ticket", type=int)
    with admission.admitted(exam.id, ticket) as queued:
        if queued is not None:
            return _queued(exam, queued)
        try:
            attempt = services.start_attempt(exam, _agent(), current_user)
        except DomainError as err:
            if _wants_json():
                return jsonify(error=err.message), 409
            flash(err.message, "error")
            return redirect(url_for("exams.exam", exam_id=exam.id))
        db.session.flush()
        target = url_for("exams.take", attempt_id=attempt.id)
        if _wants_json():
            return jsonify(redirect=target)
        return redirect(target)


def _queued(exam: Exam, queued: admission.Queued):
    headers = {"Retry-After": str(queued.retry_after)}
    if _wants_json():
        body = jsonify(
            queued=True,
            ticket=queued.ticket,
            position=queued.position,
            retry_after=queued.retry_after,
        )
        return body, 503, headers
    html = render_template("exams/queued.html", exam=exam, queued=queued)
    return html, 503, headers


def _views(attempt: Attempt, answers, data: dict[int, dict] | None = None) -> list[dict]:
    """What the template shows of each answer; ``data``: the version contents by id, when
    the answers do not carry theirs (rows from services.paper do)."""
    if data is None:
        data = {a.version_id: a.data for a in answers}
    out = []
    for a in answers:
        d = data[a.version_id]
        out.append(
            {
                "answer": a,
                "version_id": a.version_id,
                "version_at": getattr(a, "version_at", None),
                "data": d,
                "text": render_text(d.get("text"), d.get("text_format", "moodle")),
                "pres": presentation(
                    a.qtype, d, f"{attempt.seed}:{a.position}", attempt.exam.shuffle_answers
                ),
            }
        )
    return out


def _answered(answer) -> bool:
    return answer.response not in (None, "", []) and not (
        isinstance(answer.response, dict) and "partial" in answer.response
    )


@bp.get("/attempts/<id:attempt_id>")
@requires(Permission.LEARN)
def take(attempt_id: int):
    attempt = services.attempt_to_take(attempt_id, _agent())
    if attempt is None:
        abort(404)
    now = utcnow()
    if attempt.state == AttemptState.IN_PROGRESS and rules.is_overdue(attempt.deadline, now):
        dbsetup.writing()  # re-reads the attempt under the write lock
    if attempt.state == AttemptState.IN_PROGRESS and rules.is_overdue(attempt.deadline, now):
        services.finish_attempt(attempt, services.FinishReason.TIMEOUT, now)
        flash("作答时间已到，系统已自动交卷。已保存的答案都已计入。", "warning")
    if attempt.state != AttemptState.IN_PROGRESS:
        return redirect(url_for("exams.result", attempt_id=attempt.id))
    answers = services.paper(attempt.id)
    one_page = attempt.exam.layout == Layout.ONE_PER_PAGE
    page = min(max(request.args.get("p", 1, type=int), 1), len(answers)) if answers else 1
    shown = [answers[page - 1]] if one_page and answers else answers
    return render_template(
        "exams/take.html",
        attempt=attempt,
        exam=attempt.exam,
        answers=answers,
        blocks=blocks.blocks(_views(attempt, shown)),
        page=page,
        one_page=one_page,
        seconds_left=rules.seconds_left(attempt.deadline, now),
        answered={a.position for a in answers if _answered(a)},
    )


@bp.post("/attempts/<id:attempt_id>/answers/<int:position>")
@requires_identity(Permission.LEARN, json=True)
def save(attempt_id: int, position: int, identity: SessionIdentity):
    """The autosave: one answer's fields (as the page names them) plus ``seq``. The hottest
    request of an exam day: the account is checked inside the save's own SELECT (no user
    loaded first), then one UPDATE and the event's INSERT."""
    seq = request.form.get("seq", type=int)
    if seq is None or not 0 < seq < 2**31:
        return jsonify(error="缺少保存序号"), 400
    flag = request.form.get("flag")
    try:
        saved = services.save_answer(
            attempt_id,
            identity,
            position,
            request.form,
            seq,
            flagged=None if flag is None else flag == "1",
        )
    except LookupError:
        return jsonify(error="找不到这道题"), 404
    except ResponseError as err:
        return jsonify(error=f"答案无效：{err}"), 400
    except DomainError as err:
        return jsonify(
            error=err.message,
            finished=True,
            redirect=url_for("exams.result", attempt_id=attempt_id),
        ), 409
    return jsonify(
        position=saved.position,
        seq=saved.seq,
        stale=saved.stale,
        saved_at=saved.saved_at.isoformat() + "Z",
    )


@bp.post("/attempts/<id:attempt_id>/page")
@requires(Permission.LEARN)
def save_page(attempt_id: int):
    """Without the script: store the page's answers, then go where the button said."""
    attempt = _attempt_or_404(attempt_id)
    try:
        services.save_page(attempt, request.form)
    except ResponseError as err:
        abort(400, description=f"提交的答案无效：{err}")
    except DomainError as err:
        flash(err.message, "warning")
        return redirect(url_for("exams.take", attempt_id=attempt.id))
    go = request.form.get("go", "")
    if go == "submit":
        return redirect(url_for("exams.confirm", attempt_id=attempt.id))
    page = int(go) if go.isdigit() else 1
    return redirect(url_for("exams.take", attempt_id=attempt.id, p=page))


@bp.get("/attempts/<id:attempt_id>/submit")
@requires(Permission.LEARN)
def confirm(attempt_id: int):
    attempt = _attempt_or_404(attempt_id)
    if attempt.state != AttemptState.IN_PROGRESS:
        return redirect(url_for("exams.result", attempt_id=attempt.id))
    now = utcnow()
    answers = [a for a in attempt.answers if a.qtype != "description"]
    return render_template(
        "exams/confirm.html",
        attempt=attempt,
        exam=attempt.exam,
        unanswered=[a.position for a in answers if not _answered(a)],
        flagged=[a.position for a in answers if a.flagged],
        total=len(answers),
        seconds_left=rules.seconds_left(attempt.deadline, now),
    )


@bp.post("/attempts/<id:attempt_id>/submit")
@requires(Permission.LEARN)
def submit(attempt_id: int):
    attempt = _attempt_or_404(attempt_id)
    if attempt.state == AttemptState.IN_PROGRESS:
        services.submit_attempt(attempt)
        if attempt.finish_reason == services.FinishReason.TIMEOUT:
            flash("作答时间已到，系统已自动交卷。", "warning")
        else:
            flash("已交卷。", "success")
    return redirect(url_for("exams.result", attempt_id=attempt.id))


@bp.get("/attempts/<id:attempt_id>/result")
@requires(Permission.LEARN)
def result(attempt_id: int):
    attempt = _attempt_or_404(attempt_id)
    now = utcnow()
    if attempt.state == AttemptState.IN_PROGRESS:
        if not rules.is_overdue(attempt.deadline, now):
            return redirect(url_for("exams.take", attempt_id=attempt.id))
        services.finish_attempt(attempt, services.FinishReason.TIMEOUT, now)
    exam = attempt.exam
    closes = attempt.settings.get("closes_at")
    review = rules.review_allowed(
        exam.review_when.value,
        attempt.state != AttemptState.IN_PROGRESS,
        _parse(closes) if closes else None,
        now,
    )
    return render_template(
        "exams/result.html",
        attempt=attempt,
        exam=exam,
        review=review,
        show_answers=review and exam.review_shows_answers,
        shown=_views(
            attempt,
            attempt.answers,
            services.version_data(a.version_id for a in attempt.answers),
        )
        if review
        else [],
    )


def _parse(value: str):
    from datetime import datetime

    return datetime.fromisoformat(value)
