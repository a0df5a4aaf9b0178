"""Dashboards: a township head's own township, the county side by side for admins."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, Response, abort, render_template, request

from academy.analytics import charts, services
from academy.auth.policy import Permission, Scope, current_scope, requested_township, requires
from academy.catalogue.models import ItemCategory
from academy.certification import coverage as read_model
from academy.certification.alerts import open_alerts
from academy.timefmt import local_time
from academy.xlsx import xlsx_response

bp = Blueprint("analytics", __name__, url_prefix="/dashboard")
LIST_LIMIT = 50  # rows shown per list on a dashboard; the Excel export has them all


def _scope() -> tuple[list[int] | None, object]:
    """Township ids the request covers, and the township object (None = whole county)."""
    township = requested_township()
    return ([township.id], township) if township else (None, None)


def _args(township) -> dict:
    """The township argument links carry: only for readers who choose a township."""
    return {"township_id": township.id} if township and current_scope().county_wide else {}


def _reader_scope(township) -> Scope:
    return Scope.township(township.id) if township else current_scope()


@bp.get("/")
@requires(Permission.VIEW_DASHBOARD)
def index():
    today = date.today()
    ids, township = _scope()
    if township is None:
        _, coverage = read_model.county_coverage(today)
    else:
        coverage = read_model.coverage_by_township(ids, today)
    ctx = dict(
        today=today,
        township=township,
        coverage=coverage,
        totals=_totals(coverage),
        expiring=services.expiring(ids, today, limit=LIST_LIMIT),
        expiring_counts=read_model.expiring_counts(ids, today),
        overdue=services.overdue_plans(_reader_scope(township), today, limit=LIST_LIMIT),
        overdue_total=services.overdue_count(_reader_scope(township), today),
        alerts=open_alerts(ids, limit=LIST_LIMIT),
        args=_args(township),
    )
    if township is not None:
        villages, keys, cells = services.matrix(township.id, today)
        ctx.update(
            villages=villages,
            keys=keys,
            cells=cells,
            labels={c.value: c.label for c in ItemCategory},
            gaps=read_model.gaps(ids, today),
        )
        return render_template("analytics/township.html", **ctx)
    ranking = sorted(coverage, key=lambda r: (-r.rate, r.township.position))
    page = _page_number(len(ranking))
    shown = ranking[(page - 1) * RANKING_PAGE : page * RANKING_PAGE]
    return render_template(
        "analytics/county.html",
        ranking=shown,
        first=(page - 1) * RANKING_PAGE,
        page=page,
        pages=max(1, -(-len(ranking) // RANKING_PAGE)),
        **ctx,
    )


RANKING_PAGE = 50


def _page_number(total: int) -> int:
    raw = request.args.get("page", "1")
    if not raw.isdigit() or len(raw) > 6 or int(raw) < 1:
        abort(404)
    page = int(raw)
    if page > 1 and (page - 1) * RANKING_PAGE >= total:
        abort(404)
    return page


def _totals(rows) -> dict:
    required = sum(r.required for r in rows)
    covered = sum(r.covered for r in rows)
    return {
        "villages": sum(r.villages for r in rows),
        "full": sum(r.full_villages for r in rows)
        if all(r.full_villages >= 0 for r in rows)
        else None,
        "rate": (covered / required) if required else 1.0,
        "required": required,
        "covered": covered,
    }


CHARTS = {"coverage-trend", "turnover", "training"}
TRAINING_HEADERS = ["月份", "通过模块数", "练习作答次数", "活跃学员数"]


@bp.get("/tables/<name>")
@requires(Permission.VIEW_DASHBOARD)
def chart_table(name: str):
    """Each chart's numbers as an accessible table."""
    if name not in CHARTS:
        abort(404)
    today = date.today()
    ids, township = _scope()
    where = township.name if township else "全县"
    if name == "coverage-trend":
        title, headers = f"{where}持证覆盖率（近12个月）", ["月末", "覆盖率"]
        rows = [[r.month.isoformat(), f"{r.coverage:.1%}"] for r in services.trend(ids, today)]
    elif name == "turnover":
        title, headers = f"{where}代办员到岗与离岗（人次，含调动）", ["月份", "到岗", "离岗"]
        rows = [
            [r.month.strftime("%Y-%m"), r.joined, r.left] for r in services.turnover(ids, today)
        ]
    else:
        title, headers = f"{where}学习活动（近12个月）", TRAINING_HEADERS
        rows = [
            [r.month.strftime("%Y-%m"), r.passed, r.answered, r.learners]
            for r in services.training_activity(ids, today)
        ]
    args = _args(township)
    return render_template(
        "analytics/table.html", title=title, headers=headers, rows=rows, name=name, args=args
    )


@bp.get("/charts/<name>.<fmt>")
@requires(Permission.VIEW_DASHBOARD)
def chart(name: str, fmt: str):
    if name not in CHARTS or fmt not in ("svg", "png"):
        abort(404)
    variant = "phone" if request.args.get("variant") == "phone" else "wide"
    today = date.today()
    ids, township = _scope()
    where = township.name if township else "全县"
    if name == "coverage-trend":
        rows = services.trend(ids, today)
        body = charts.line_chart(
            f"{where}持证覆盖率（近12个月）",
            [charts.month_label(r.month) for r in rows],
            [r.coverage for r in rows],
            fmt=fmt,
            variant=variant,
        )
    elif name == "turnover":
        rows = services.turnover(ids, today)
        body = charts.bar_chart(
            f"{where}代办员到岗与离岗（人次，含调动）",
            [charts.month_label(r.month) for r in rows],
            {"到岗": [r.joined for r in rows], "离岗": [r.left for r in rows]},
            fmt=fmt,
            variant=variant,
        )
    else:
        rows = services.training_activity(ids, today)
        body = charts.bar_chart(
            f"{where}学习活动（近12个月）",
            [charts.month_label(r.month) for r in rows],
            {
                "通过模块": [r.passed for r in rows],
                "练习作答": [r.answered for r in rows],
                "活跃学员": [r.learners for r in rows],
            },
            fmt=fmt,
            variant=variant,
        )
    mimetype = "image/svg+xml" if fmt == "svg" else "image/png"
    resp = Response(body, mimetype=mimetype)
    resp.headers["Cache-Control"] = "private, max-age=300"
    return resp


TABLES = {
    "coverage",
    "matrix",
    "gaps",
    "expiring",
    "overdue",
    "turnover",
    "training",
    "trend",
    "alerts",
}


@bp.get("/export/<table>.xlsx")
@requires(Permission.VIEW_DASHBOARD)
def export(table: str):
    if table not in TABLES:
        abort(404)
    today = date.today()
    ids, township = _scope()
    where = township.name if township else "全县"
    name = f"{where}-{table}-{today:%Y%m%d}.xlsx"
    if table == "coverage":
        rows = read_model.coverage_by_township(ids, today)
        return xlsx_response(
            name,
            ["镇街", "村社数", "应覆盖（村社×类别）", "已覆盖", "覆盖率", "全覆盖村社数"],
            [
                [
                    r.township.name,
                    r.villages,
                    r.required,
                    r.covered,
                    f"{r.rate:.1%}",
                    r.full_villages,
                ]
                for r in rows
            ],
            "覆盖率",
        )
    if table == "matrix":
        if township is None:
            abort(404)
        villages, keys, cells = services.matrix(township.id, today)
        labels = [ItemCategory(k).label for k in keys]

        def cell(c):
            return (
                "不提供"
                if not c.offered
                else ("已覆盖" if c.covered else f"缺口（{c.holders}/{c.needed}）")
            )

        return xlsx_response(
            name,
            ["村社", "服务站", *labels],
            [[v.name, v.tier.label, *[cell(cells[(v.id, k)]) for k in keys]] for v in villages],
            "覆盖矩阵",
        )
    if table == "gaps":
        return xlsx_response(
            name,
            ["镇街", "村社", "缺少", "原因", "起始日期", "最接近取证的代办员", "下一步"],
            [
                [
                    g.village.township.name,
                    g.village.name,
                    g.label,
                    g.cause.label,
                    g.since.isoformat() if g.since else "",
                    g.nearest_agent.name if g.nearest_agent else "",
                    g.next_step,
                ]
                for g in read_model.gaps(ids, today)
            ],
            "覆盖缺口",
        )
    if table == "expiring":
        return xlsx_response(
            name,
            ["镇街", "村社", "代办员", "电话", "证书", "到期日", "剩余天数"],
            [
                [
                    r.posting.village.township.name,
                    r.posting.village.name,
                    r.cert.agent.name,
                    r.cert.agent.phone,
                    r.cert.scheme.name,
                    r.cert.expires_on.isoformat(),
                    r.days_left,
                ]
                for r in services.expiring(ids, today)
            ],
            "即将到期",
        )
    if table == "overdue":
        return xlsx_response(
            name,
            ["镇街", "村社", "代办员", "期限", "已通过", "计划事项数"],
            [
                [
                    r.village.township.name,
                    r.village.name,
                    r.agent.name,
                    r.plan.due_on.isoformat(),
                    r.progress.passed,
                    r.progress.total,
                ]
                for r in services.overdue_plans(_reader_scope(township), today)
            ],
            "逾期学习计划",
        )
    if table == "alerts":
        return xlsx_response(
            name,
            ["类型", "内容", "产生时间（北京时间）"],
            [
                [a.kind.label, a.message, local_time(a.created_at)]
                for a in open_alerts(ids, limit=100_000)
            ],
            "提醒",
        )
    if table == "trend":
        return xlsx_response(
            name,
            ["月份", "覆盖率"],
            [
                [charts.month_label(r.month), f"{r.coverage:.1%}"]
                for r in services.trend(ids, today)
            ],
            "覆盖率趋势",
        )
    if table == "turnover":
        return xlsx_response(
            name,
            ["月份", "到岗", "离岗"],
            [
                [charts.month_label(r.month), r.joined, r.left]
                for r in services.turnover(ids, today)
            ],
            "人员变动",
        )
    return xlsx_response(
        name,
        TRAINING_HEADERS,
        [
            [charts.month_label(r.month), r.passed, r.answered, r.learners]
            for r in services.training_activity(ids, today)
        ],
        "学习活动",
    )
