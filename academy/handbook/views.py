"""一村社一手册: a printable handbook of every service item a village offers."""

from __future__ import annotations

import re
from datetime import date

from flask import Blueprint, abort, redirect, render_template, url_for
from flask_login import current_user
from markupsafe import Markup

from academy.auth.models import Role
from academy.auth.policy import (
    Permission,
    current_scope,
    requires,
    township_or_404,
    village_or_404,
)
from academy.handbook import queries
from academy.learning.markdown import render_markdown

bp = Blueprint("handbook", __name__, url_prefix="/handbook")

_ONE_PARAGRAPH = re.compile(r"\A<p>((?:(?!</?p>).)*)</p>\s*\Z", re.S)


def render_inline(text) -> Markup:
    """Markdown for a short field (a step, a table cell): no wrapping <p> when it is
    a single paragraph, so it sits inside an <li> or <td> without extra margins."""
    html = render_markdown(None if text is None else str(text))
    match = _ONE_PARAGRAPH.match(str(html))
    return Markup(match.group(1)) if match else html


def _agent_village_id() -> int | None:
    agent = current_user.agent
    posting = agent.current_posting if agent else None
    return posting.village_id if posting else None


def _render(template: str, handbooks: list, **context):
    return render_template(
        template,
        handbooks=handbooks,
        printed_on=date.today(),
        md=render_markdown,
        md_inline=render_inline,
        **context,
    )


@bp.get("/villages/<id:village_id>")
@requires(Permission.VIEW_HANDBOOK)
def village(village_id: int):
    if current_user.role == Role.AGENT:
        if _agent_village_id() != village_id:
            abort(404)
    else:
        village_or_404(current_scope(), village_id)
    handbooks = queries.load_handbooks([village_id])
    if not handbooks:
        abort(404)
    return _render("handbook/handbook.html", handbooks, handbook=handbooks[0])


@bp.get("/townships/<id:township_id>")
@requires(Permission.PRINT_HANDBOOKS)
def township(township_id: int):
    township = township_or_404(current_scope(), township_id)
    handbooks = queries.load_handbooks(queries.township_village_ids(township.id))
    return _render("handbook/township.html", handbooks, township=township)


@bp.get("/mine")
@requires(Permission.LEARN)
def mine():
    village_id = _agent_village_id()
    if village_id is None:
        abort(404)
    return redirect(url_for("handbook.village", village_id=village_id))
