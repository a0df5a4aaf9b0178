"""The learning-record page (学习记录): count and preview of the event log, and its export
as JSON Lines (xAPI statements, streamed) or Excel — a township head for their township,
the county admin for any or all townships. Every export is audited."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from urllib.parse import quote

from flask import (
    Blueprint,
    Response,
    current_app,
    render_template,
    request,
    stream_with_context,
)
from flask_login import current_user

from academy import dbsetup
from academy.activity import excel, rules, services
from academy.activity.models import Verb
from academy.audit.services import record
from academy.auth.policy import (
    Permission,
    current_scope,
    requested_township,
    requires,
    visible_townships,
)
from academy.pagination import paginate
from academy.xlsx import xlsx_download

bp = Blueprint("activity", __name__, url_prefix="/activity")
PER_PAGE = 30


@dataclass
class Query:
    """The page's filter as the user typed it, and what it means."""

    args: dict
    township: object  # the chosen Township, or None for every township in scope
    verb: Verb | None
    date_from: date | None
    date_to: date | None
    problems: dict[str, str]

    @property
    def filter(self) -> services.EventFilter:
        return services.EventFilter(
            self.township.id if self.township else None, self.date_from, self.date_to, self.verb
        )

    @property
    def where(self) -> str:
        return self.township.name if self.township else "全部镇街"


def _query() -> Query:
    args = request.args
    township = requested_township()
    raw_verb = args.get("verb", "")
    verb = Verb(raw_verb) if raw_verb in {v.value for v in Verb} else None
    date_from, date_to, problems = rules.read_range(
        args.get("date_from", ""), args.get("date_to", ""), date.today()
    )
    shown = {
        "township_id": str(township.id) if township and current_scope().county_wide else "",
        "verb": verb.value if verb else "",
        "date_from": f"{date_from:%Y-%m-%d}" if date_from else args.get("date_from", "")[:20],
        "date_to": f"{date_to:%Y-%m-%d}" if date_to else args.get("date_to", "")[:20],
    }
    return Query(shown, township, verb, date_from, date_to, dict(problems))


def _page(q: Query, status: int = 200, message: str | None = None):
    page = total = None
    if not q.problems:
        total = services.count_events(current_scope(), q.filter)
        page = paginate(
            services.event_rows(current_scope(), q.filter),
            per_page=PER_PAGE,
            rows=True,
            total=total,
        )
    return render_template(
        "activity/index.html",
        q=q,
        page=page,
        total=total,
        townships=visible_townships(current_scope()) if current_scope().county_wide else [],
        verbs=list(Verb),
        to_local=rules.to_local,
        result_text=rules.result_text,
        xlsx_max=current_app.config["ACTIVITY_XLSX_MAX_ROWS"],
        message=message,
        download_args={k: v for k, v in q.args.items() if v},
    ), status


@bp.get("/")
@requires(Permission.VIEW_ACTIVITY)
def index():
    q = _query()
    return _page(q, 400 if q.problems else 200)


def _filename(q: Query, ext: str) -> str:
    return f"学习记录-{q.where}-{q.date_from:%Y%m%d}-{q.date_to:%Y%m%d}.{ext}"


def _audit(q: Query, fmt: str, count: int) -> None:
    verb = f"，动作：{q.verb.label}" if q.verb else ""
    dbsetup.writing()
    record(
        current_user,
        "activity.exported",
        q.township or current_user,
        f"导出学习记录（{fmt}）：{q.where}，{q.date_from:%Y-%m-%d} 至 {q.date_to:%Y-%m-%d}"
        f"{verb}，共 {count} 条",
        {
            "format": fmt,
            "township_id": q.township.id if q.township else None,
            "from": q.date_from.isoformat(),
            "to": q.date_to.isoformat(),
            "verb": q.verb.value if q.verb else None,
            "count": count,
        },
        q.township.id if q.township else None,
    )


@bp.get("/export.jsonl")
@requires(Permission.VIEW_ACTIVITY)
def export_jsonl():
    q = _query()
    if q.problems:
        return _page(q, 400)
    count = services.count_events(current_scope(), q.filter)
    _audit(q, "JSON Lines", count)
    body = stream_with_context(services.jsonl_lines(current_scope(), q.filter))
    response = Response(body, mimetype="application/x-ndjson")
    name = _filename(q, "jsonl")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="learning-events-{q.date_from:%Y%m%d}-{q.date_to:%Y%m%d}.jsonl"; '
        f"filename*=UTF-8''{quote(name)}"
    )
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Record-Count"] = str(count)
    return response


@bp.get("/export.xlsx")
@requires(Permission.VIEW_ACTIVITY)
def export_xlsx():
    q = _query()
    if q.problems:
        return _page(q, 400)
    count = services.count_events(current_scope(), q.filter)
    cap = current_app.config["ACTIVITY_XLSX_MAX_ROWS"]
    if count > cap:
        return _page(
            q,
            422,
            f"所选范围共有 {count:,} 条记录，超过 Excel 导出上限 {cap:,} 条。"
            "请缩短日期范围、选择一个镇街或一种动作后再导出，或下载 JSON Lines（不限条数）。",
        )
    _audit(q, "Excel", count)
    rows = services.stream_rows(services.event_rows(current_scope(), q.filter))
    return xlsx_download(excel.events_workbook(rows, q.where), _filename(q, "xlsx"))
