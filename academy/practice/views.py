"""Practice pages for agents: overview, one question at a time, feedback, summary."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from academy.auth.policy import Permission, requires
from academy.errors import render_error
from academy.errors_domain import DomainError
from academy.practice import rules, services
from academy.practice.forms import AnswerForm, StartForm
from academy.questions.display import presentation, render_text
from academy.questions.types import ResponseError, get_type

bp = Blueprint("practice", __name__, url_prefix="/practice")

FIELD = "answer"  # name prefix of the answer fields (templates/questions/_answer.html)


def _agent():
    return current_user.agent


def _session_or_404(session_id: int):
    session = services.session_of(_agent(), session_id)
    if session is None:
        abort(404)
    return session


def _first_error(form) -> str:
    """The first problem, naming its field: "题数：不是有效的整数。"."""
    for name, errors in form.errors.items():
        if errors:
            field = getattr(form, name, None)
            label = field.label.text if field is not None else name
            return f"{label}：{errors[0]}"
    return "提交的内容无效。"


def _display_key(session, question) -> str:
    # The options keep one order through a session's question and its feedback page.
    return f"practice:{session.id}:{question.id}"


@bp.get("/")
@requires(Permission.LEARN)
def home():
    return render_template(
        "practice/home.html",
        ov=services.overview(_agent()),
        when_back=lambda day: rules.when_back(day, date.today()),
        intervals=rules.BOX_INTERVAL_DAYS,
        size=rules.SESSION_SIZE,
    )


@bp.post("/start")
@requires(Permission.LEARN)
def start():
    form = StartForm()
    if not form.validate_on_submit():
        return render_error(400, f"无法开始练习：{_first_error(form)}请返回练习首页重试。")
    try:
        services.start_session(_agent(), form.size.data or rules.SESSION_SIZE, form.item.data)
    except DomainError as err:
        flash(err.message, "error")
        return redirect(url_for("practice.home"))
    return redirect(url_for("practice.session"))


@bp.get("/session")
@requires(Permission.LEARN)
def session():
    current = services.open_session(_agent())
    if current is None:
        flash("现在没有进行中的练习，点“开始练习”开始。", "info")
        return redirect(url_for("practice.home"))
    question = services.next_question(current)
    if question is None:
        services.finish_session(current)
        return redirect(url_for("practice.summary", session_id=current.id))
    return _question_page(current, question)


def _question_page(session, question, response=None, error=None, status=200):
    data = services.current_version(question).data
    card = services.card_of(_agent(), question)
    return render_template(
        "practice/question.html",
        s=session,
        q=question,
        data=data,
        pres=presentation(question.qtype, data, _display_key(session, question)),
        response=response,
        error=error,
        card=card,
        number=services.position(session) + 1,
        answered=services.position(session),
        type_label=get_type(question.qtype).label,
        render_text=render_text,
        field=FIELD,
    ), status


def _refused(message: str):
    return render_error(400, f"{message}答案没有保存，请回到练习页面继续。")


@bp.post("/sessions/<id:session_id>/answer")
@requires(Permission.LEARN)
def answer(session_id: int):
    current = _session_or_404(session_id)
    form = AnswerForm()
    if not form.validate_on_submit():
        return _refused(f"提交的答案无效：{_first_error(form)}")
    question = services.question_or_none(form.question_id.data)
    if question is None or question.id not in current.question_ids:
        return _refused("这道题不在本次练习中。")
    if services.reviewed(_agent(), current, question.id) is not None:
        # Submitted twice (double tap, refresh, back button): show what was recorded.
        return redirect(url_for("practice.review", session_id=current.id, question_id=question.id))
    data = services.current_version(question).data
    try:
        raw = get_type(question.qtype).from_form(data, request.form, FIELD)
    except ResponseError as err:
        return _refused(f"提交的答案无效：{err}。")
    unfinished = rules.incomplete(question.qtype, raw)
    if unfinished:
        return _question_page(current, question, response=raw, error=unfinished, status=400)
    try:
        services.answer(_agent(), question, raw, session=current)
    except DomainError as err:
        return _refused(err.message)
    return redirect(url_for("practice.review", session_id=current.id, question_id=question.id))


@bp.get("/sessions/<id:session_id>/review/<id:question_id>")
@requires(Permission.LEARN)
def review(session_id: int, question_id: int):
    current = _session_or_404(session_id)
    result = services.reviewed(_agent(), current, question_id)
    if result is None:
        abort(404)
    question = result.answer.question
    return render_template(
        "practice/review.html",
        s=current,
        q=question,
        res=result,
        pres=presentation(question.qtype, result.data, _display_key(current, question)),
        number=current.question_ids.index(question.id) + 1,
        answered=services.position(current),
        type_label=get_type(question.qtype).label,
        render_text=render_text,
        field=FIELD,
        done=current.finished_at is not None,
    )


@bp.get("/sessions/<id:session_id>/summary")
@requires(Permission.LEARN)
def summary(session_id: int):
    current = _session_or_404(session_id)
    return render_template(
        "practice/summary.html",
        sm=services.session_summary(current),
        size=rules.SESSION_SIZE,
        right_at=rules.RIGHT,
    )
