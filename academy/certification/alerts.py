"""The daily alert job: expiring certificates, villages that lost coverage, overdue plans;
it also logs certificate lapses in the learning-event log and rolls up the months that are
over for the activity charts.

Idempotent: each alert has a key naming its subject and period; a second run the same day
creates nothing and resolves nothing. Alerts whose condition has cleared are resolved. A
lapse is logged once per certificate; a month is rolled up once (again only if a late event
made it stale).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa

from academy.activity.services import record_rollups
from academy.auth.policy import Scope
from academy.certification import coverage, services
from academy.certification.models import Alert, AlertKind
from academy.certification.rules import GapCause
from academy.db import utcnow
from academy.extensions import db
from academy.learning.services import plan_rows

EXPIRY_NOTICE_DAYS = 30


@dataclass
class AlertRun:
    created: int = 0
    resolved: int = 0
    open: int = 0
    lapsed: int = 0  # lapse events logged
    months: int = 0  # activity months rolled up


def _wanted(today: date) -> dict[str, dict]:
    wanted: dict[str, dict] = {}
    for cert, posting in coverage.expiring(None, today, EXPIRY_NOTICE_DAYS):
        wanted[f"expiring:{cert.id}"] = dict(
            kind=AlertKind.EXPIRING,
            township_id=posting.village.township_id,
            village_id=posting.village_id,
            agent_id=cert.agent_id,
            certificate_id=cert.id,
            message=f"{posting.village.township.name}{posting.village.name} {cert.agent.name} 的"
            f"《{cert.scheme.name}》将于 {cert.expires_on:%Y-%m-%d} 到期，请尽快复训续期。",
        )
    for gap in coverage.gaps(None, today, limit=100_000):
        if gap.cause == GapCause.NEVER:
            continue  # never-covered villages show on the dashboard; an alert is for a loss
        wanted[f"coverage:{gap.village.id}:{gap.key}:{gap.since:%Y%m%d}"] = dict(
            kind=AlertKind.COVERAGE_LOST,
            township_id=gap.village.township_id,
            village_id=gap.village.id,
            agent_id=None,
            certificate_id=None,
            message=f"{gap.village.township.name}{gap.village.name} 自 {gap.since:%Y-%m-%d} 起"
            f"没有持有效证书的代办员办理“{gap.label}”（{gap.cause.label}）。",
        )
    for row in plan_rows(Scope.everything(), today=today, only_overdue=True):
        wanted[f"plan:{row.plan.id}"] = dict(
            kind=AlertKind.PLAN_OVERDUE,
            township_id=row.village.township_id,
            village_id=row.village.id,
            agent_id=row.agent.id,
            certificate_id=None,
            message=(
                f"{row.village.township.name}{row.village.name} {row.agent.name} 的入职学习计划"
                f"已于 {row.plan.due_on:%Y-%m-%d} 到期，"
                f"完成 {row.progress.passed}/{row.progress.total}。"
            ),
        )
    return wanted


def build_alerts(today: date | None = None) -> AlertRun:
    today = today or date.today()
    wanted = _wanted(today)
    existing = {a.key: a for a in db.session.scalars(sa.select(Alert))}
    run = AlertRun()
    for key, values in wanted.items():
        alert = existing.get(key)
        if alert is None:
            db.session.add(Alert(key=key, **values))
            run.created += 1
        elif alert.resolved_at is not None:
            alert.resolved_at = None  # the condition came back
            run.created += 1
    now = utcnow()
    for key, alert in existing.items():
        if key not in wanted and alert.resolved_at is None:
            alert.resolved_at = now
            run.resolved += 1
    db.session.flush()
    coverage.record_snapshots(today)
    run.open = len(wanted)
    run.lapsed = services.record_lapses(today)
    run.months = record_rollups(today)
    return run


def open_alerts(
    township_ids: list[int] | None = None, agent_id: int | None = None, limit: int = 200
) -> list[Alert]:
    stmt = sa.select(Alert).where(Alert.resolved_at.is_(None))
    if township_ids is not None:
        stmt = stmt.where(Alert.township_id.in_(township_ids))
    if agent_id is not None:
        stmt = stmt.where(Alert.agent_id == agent_id)
    return list(
        db.session.scalars(
            stmt.order_by(Alert.kind, Alert.created_at.desc(), Alert.id).limit(limit)
        )
    )
