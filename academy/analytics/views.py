"""Dashboards: a township head's own township, the county side by side for admins."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, Response, abort, render_template, request
from flask_login import current_user

from academy.analytics import charts, services
from academy.analytics.export import xlsx_response
from academy.auth.models import Role
from academy.auth.policy import ROSTER_MANAGERS, roles_required, township_or_404
from academy.catalogue.models import ItemCategory
from academy.certification import services as certs
from academy.certification.alerts import open_alerts
from academy.timefmt import local_time

bp = Blueprint("analytics", __name__, url_prefix="/dashboard")
LIST_LIMIT = 50  # rows shown per list on a dashboard; the Excel export has them all


def _scope() -> tuple[list[int] | None, object]:
    """Township ids the request covers, and the township object (None = whole county)."""
    if current_user.role == Role.TOWNSHIP_HEAD:
        return [current_user.township_id], current_user.township
    raw = request.args.get("township_id", "")
    if raw:
        if not raw.isdigit() or len(raw) > 9:
            abort(404)
        township = township_or_404(current_user, int(raw))
        return [township.id], township
    return None, None


@bp.get("/")
@roles_required(*ROSTER_MANAGERS)
def index():
    today = date.today()
    ids, township = _scope()
    if township is None:
        _, coverage = certs.county_coverage(today)
    else:
        coverage = certs.coverage_by_township(ids, today)
    ctx = dict(
        today=today,
        township=township,
        coverage=coverage,
        totals=_totals(coverage),
        expiring=services.expiring(ids, today, limit=LIST_LIMIT),
        expiring_counts=certs.expiring_counts(ids, today),
        overdue=services.overdue_plans(current_user, ids, today, limit=LIST_LIMIT),
        overdue_total=services.overdue_count(current_user, ids, today),
        alerts=open_alerts(ids, limit=LIST_LIMIT),
        args={"township_id": township.id} if township and current_user.role == Role.ADMIN else {},
    )
    if township is not None:
        villages, keys, cells = services.matrix(township.id, today)
        ctx.update(
            villages=villages,
            keys=keys,
            cells=cells,
            labels={c.value: c.label for c in ItemCategory},
            gaps=certs.gaps(ids, today),
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
@roles_required(*ROSTER_MANAGERS)
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
    args = {"township_id": township.id} if township and current_user.role == Role.ADMIN else {}
    return render_template(
        "analytics/table.html", title=title, headers=headers, rows=rows, name=name, args=args
    )


@bp.get("/charts/<name>.<fmt>")
@roles_required(*ROSTER_MANAGERS)
def chart(name: str, fmt: str):
    if name not in CHARTS or fmt not in ("svg", "png"):
        abort(404)
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
        )
    elif name == "turnover":
        rows = services.turnover(ids, today)
        body = charts.bar_chart(
            f"{where}代办员到岗与离岗（人次，含调动）",
            [charts.month_label(r.month) for r in rows],
            {"到岗": [r.joined for r in rows], "离岗": [r.left for r in rows]},
            fmt=fmt,
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
@roles_required(*ROSTER_MANAGERS)
def export(table: str):
    if table not in TABLES:
        abort(404)
    today = date.today()
    ids, township = _scope()
    where = township.name if township else "全县"
    name = f"{where}-{table}-{today:%Y%m%d}.xlsx"
    if table == "coverage":
        rows = certs.coverage_by_township(ids, today)
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
                for g in certs.gaps(ids, today)
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
                for r in services.overdue_plans(current_user, ids, today)
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
