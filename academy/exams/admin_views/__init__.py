"""Staff pages of exams (/manage/exams): authoring, results, statistics, marking, overrides.

County experts and admins author and mark; a township head sees the exams their candidates
can sit, with the results and statistics of their township's candidates only (filtered in
SQL by academy/exams/reports.py), and sets overrides for their township and agents. Agents
are refused (403). Thin: parse, call a use-case or a query, render.

One blueprint (``exam_admin``), its routes in one module per concern:
``authoring`` (exam list, settings, sections, life cycle, preview of a draw), ``results``
(results, attempts, marking, statistics) and ``overrides``.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash
from flask_login import current_user

from academy.auth.policy import Permission, can, current_scope
from academy.errors_domain import DomainError
from academy.exams import reports, rules
from academy.exams import statistics as st
from academy.questions.types import QUESTION_TYPES

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


# The routes, registered on bp by importing their modules.
from academy.exams.admin_views import authoring, overrides, results  # noqa: E402, F401
