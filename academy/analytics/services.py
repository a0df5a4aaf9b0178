"""Dashboard data for township heads and the county: coverage, trend, matrix, expiring
certificates, overdue plans, turnover and training activity. Every function issues a fixed
number of queries whatever the size of the roster."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa

from academy.activity.services import monthly_activity
from academy.auth.policy import Scope
from academy.catalogue.models import ItemCategory
from academy.certification import coverage
from academy.certification import rules as cert_rules
from academy.extensions import db
from academy.learning.services import count_plans, plan_rows
from academy.regions.models import Village
from academy.roster.models import Posting


def _month_key(day) -> tuple[int, int]:
    return day.year, day.month


def _month_series(today: date, months: int) -> list[date]:
    return cert_rules.month_ends(today, months)


def _count_by_month(column, township_ids: list[int] | None, since: date, extra=None) -> Counter:
    stmt = (
        sa.select(sa.extract("year", column), sa.extract("month", column), sa.func.count())
        .select_from(Posting)
        .join(Village, Village.id == Posting.village_id)
        .where(column >= since)
        .group_by(sa.extract("year", column), sa.extract("month", column))
    )
    if extra is not None:
        stmt = stmt.where(extra)
    if township_ids is not None:
        stmt = stmt.where(Village.township_id.in_(township_ids))
    return Counter({(int(y), int(m)): n for y, m, n in db.session.execute(stmt)})


@dataclass
class MonthRow:
    month: date
    joined: int = 0
    left: int = 0
    passed: int = 0
    answered: int = 0
    learners: int = 0
    coverage: float | None = None


def turnover(township_ids: list[int] | None, today: date, months: int = 12) -> list[MonthRow]:
    ends = _month_series(today, months)
    since = ends[0].replace(day=1)
    joined = _count_by_month(Posting.joined_on, township_ids, since)
    left = _count_by_month(Posting.left_on, township_ids, since, Posting.left_on.is_not(None))
    return [MonthRow(d, joined[_month_key(d)], left[_month_key(d)]) for d in ends]


def training_activity(
    township_ids: list[int] | None, today: date, months: int = 12
) -> list[MonthRow]:
    """Per month, from the learning-event log: modules passed, practice parts answered and
    active learners (agents who opened, practised or passed something). A township counts
    the events of agents while they served there. Months that are over come from the
    monthly rollup, the current month is counted live."""
    ends = _month_series(today, months)
    activity = monthly_activity(township_ids, today, months)
    return [
        MonthRow(d, passed=a.modules_passed, answered=a.answered, learners=a.learners)
        for d, a in zip(ends, activity, strict=True)
    ]


def trend(township_ids: list[int] | None, today: date, months: int = 12) -> list[MonthRow]:
    rates = coverage.coverage_trend(township_ids, today, months)
    return [MonthRow(d, coverage=rate) for d, rate in rates]


@dataclass
class ExpiringRow:
    cert: object
    posting: Posting
    days_left: int

    @property
    def bucket(self) -> int:
        return 30 if self.days_left <= 30 else 60 if self.days_left <= 60 else 90


def expiring(
    township_ids: list[int] | None, today: date, limit: int | None = None
) -> list[ExpiringRow]:
    return [
        ExpiringRow(c, p, (c.expires_on - today).days)
        for c, p in coverage.expiring(township_ids, today, 90, limit)
    ]


def overdue_plans(scope: Scope, today: date, limit: int | None = None):
    return plan_rows(scope, today=today, only_overdue=True, limit=limit)


def overdue_count(scope: Scope, today: date) -> int:
    return count_plans(scope, today, only_overdue=True)


@dataclass
class MatrixCell:
    offered: bool
    holders: int = 0
    needed: int = 1

    @property
    def covered(self) -> bool:
        return self.offered and self.holders >= self.needed


def matrix(
    township_id: int, today: date
) -> tuple[list[Village], list[str], dict[tuple[int, str], MatrixCell]]:
    villages, cells = coverage.village_matrix(township_id, today)
    keys = [c.value for c in ItemCategory]
    out = {}
    for v in villages:
        for k in keys:
            if (v.id, k) in cells:
                h, n = cells[(v.id, k)]
                out[(v.id, k)] = MatrixCell(True, h, n)
            else:
                out[(v.id, k)] = MatrixCell(False)
    return villages, keys, out
