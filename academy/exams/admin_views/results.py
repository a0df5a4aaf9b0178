"""Results of exams: results and their export, attempts, marking, statistics."""

from __future__ import annotations

from datetime import date

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from academy.auth.policy import (
    Permission,
    can,
    current_scope,
    requires,
    visible_agent_ids,
    visible_townships,
)
from academy.exams import reports, rules, services
from academy.exams import statistics as st
from academy.exams.admin_forms import MarkForm, ReopenForm
from academy.exams.admin_views import PER_PAGE, _exam_or_404, bp
from academy.exams.models import AttemptState, FinishReason
from academy.forms import service_call
from academy.pagination import paginate
from academy.questions import display
from academy.questions.types import QUESTION_TYPES
from academy.xlsx import xlsx_response

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
