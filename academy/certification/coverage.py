"""The coverage read model: which villages have a certified agent for what they offer.

The coverage rule — every village needs, for each item category (or item) it offers, at
least one active agent holding a valid certificate for it (two at 示范型 stations when
``COVERAGE_TWO_FOR_MODEL`` is set) — is written once, in SQL (``coverage_pairs``), and every
figure here derives from it: per-township rates, the county ranking (from the daily
snapshots), the 12-month trend, the village × category matrix, the gaps with their cause
and nearest agent, and the certificates about to expire. Each function issues a fixed number
of queries whatever the size of the roster. The writes (issue, renew, revoke, evaluate) are
in ``certification.services``; the dashboards' presentation in ``analytics``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import joinedload

from academy import dbsetup
from academy.catalogue.models import ItemCategory, ServiceItem
from academy.certification import rules
from academy.certification.models import Certificate, CertificationScheme, CoverageSnapshot
from academy.certification.services import (
    active_schemes,
    best_exam_scores,
    offered_items,
    scheme_exam_score,
    scheme_items,
    status_of,
)
from academy.extensions import db
from academy.learning.services import passed_item_ids
from academy.regions.models import StationTier, Township, Village, village_item
from academy.regions.services import villages_by_id
from academy.roster.models import Agent, Posting


def _settings() -> tuple[str, bool]:
    cfg = current_app.config
    return cfg.get("COVERAGE_MODE", "category"), bool(cfg.get("COVERAGE_TWO_FOR_MODEL", False))


def _active_on(on: date):
    return sa.and_(Posting.joined_on <= on, sa.or_(Posting.left_on.is_(None), Posting.left_on > on))


def _valid_on(on: date):
    return sa.and_(
        Certificate.issued_on <= on,
        Certificate.expires_on >= on,
        sa.or_(Certificate.revoked_on.is_(None), Certificate.revoked_on > on),
    )


def _in_townships(stmt: sa.Select, village_col, township_ids: list[int] | None) -> sa.Select:
    """Filter by township inside a subquery, so one township's dashboard touches only its
    villages (the database cannot push the filter through DISTINCT / GROUP BY itself)."""
    if township_ids is None:
        return stmt
    scoped = sa.select(Village.id).where(Village.township_id.in_(township_ids))
    return stmt.where(village_col.in_(scoped))


def _required(mode: str, township_ids: list[int] | None = None):
    """(village_id, key) pairs a village must cover: categories, or items, it offers."""
    key = ServiceItem.category if mode == "category" else sa.cast(ServiceItem.id, sa.String)
    stmt = (
        sa.select(village_item.c.village_id.label("village_id"), key.label("key"))
        .join(ServiceItem, ServiceItem.id == village_item.c.item_id)
        .where(ServiceItem.retired.is_(False))
        .distinct()
    )
    return _in_townships(stmt, village_item.c.village_id, township_ids)


def _holders(mode: str, on: date, township_ids: list[int] | None = None):
    """(village_id, key, n) — how many active agents hold a valid certificate for each key."""
    base = (
        sa.select(
            Posting.village_id,
            Posting.agent_id,
            CertificationScheme.category,
            CertificationScheme.item_id,
        )
        .join(Certificate, Certificate.agent_id == Posting.agent_id)
        .join(CertificationScheme, CertificationScheme.id == Certificate.scheme_id)
        .where(_active_on(on), _valid_on(on))
    )
    base = _in_townships(base, Posting.village_id, township_ids).subquery()
    if mode == "category":
        stmt = sa.select(base.c.village_id, base.c.category.label("key"), base.c.agent_id).where(
            base.c.category.is_not(None)
        )
    else:
        by_item = sa.select(
            base.c.village_id, sa.cast(base.c.item_id, sa.String).label("key"), base.c.agent_id
        ).where(base.c.item_id.is_not(None))
        by_category = (
            sa.select(
                base.c.village_id, sa.cast(ServiceItem.id, sa.String).label("key"), base.c.agent_id
            )
            .join(ServiceItem, ServiceItem.category == base.c.category)
            .where(base.c.category.is_not(None))
        )
        stmt = sa.union(by_item, by_category)
    sub = stmt.subquery()
    return sa.select(
        sub.c.village_id, sub.c.key, sa.func.count(sa.distinct(sub.c.agent_id)).label("n")
    ).group_by(sub.c.village_id, sub.c.key)


def _needed_expr(two_for_model: bool):
    if not two_for_model:
        return sa.literal(1)
    return sa.case((Village.tier == StationTier.MODEL, 2), else_=1)


def coverage_pairs(on: date, township_ids: list[int] | None = None):
    """Rows (township_id, village_id, key, holders, needed) for every required pair."""
    mode, two = _settings()
    req = _required(mode, township_ids).subquery()
    hold = _holders(mode, on, township_ids).subquery()
    stmt = (
        sa.select(
            Village.township_id,
            req.c.village_id,
            req.c.key,
            sa.func.coalesce(hold.c.n, 0).label("holders"),
            _needed_expr(two).label("needed"),
        )
        .join(Village, Village.id == req.c.village_id)
        .outerjoin(hold, sa.and_(hold.c.village_id == req.c.village_id, hold.c.key == req.c.key))
    )
    if township_ids is not None:
        stmt = stmt.where(Village.township_id.in_(township_ids))
    return stmt


@dataclass
class CoverageRow:
    township: Township
    villages: int
    required: int
    covered: int
    full_villages: int

    @property
    def rate(self) -> float:
        return rules.coverage_rate(self.required, self.covered)


def coverage_by_township(township_ids: list[int] | None, on: date) -> list[CoverageRow]:
    pairs = coverage_pairs(on, township_ids).subquery()
    per_village = (
        sa.select(
            pairs.c.township_id,
            pairs.c.village_id,
            sa.func.count().label("required"),
            sa.func.sum(sa.case((pairs.c.holders >= pairs.c.needed, 1), else_=0)).label("covered"),
        ).group_by(pairs.c.township_id, pairs.c.village_id)
    ).subquery()
    stmt = (
        sa.select(
            Township,
            sa.func.count(per_village.c.village_id),
            sa.func.coalesce(sa.func.sum(per_village.c.required), 0),
            sa.func.coalesce(sa.func.sum(per_village.c.covered), 0),
            sa.func.coalesce(
                sa.func.sum(sa.case((per_village.c.covered == per_village.c.required, 1), else_=0)),
                0,
            ),
        )
        .outerjoin(per_village, per_village.c.township_id == Township.id)
        .group_by(Township.id)
        .order_by(Township.position, Township.id)
    )
    if township_ids is not None:
        stmt = stmt.where(Township.id.in_(township_ids))
    return [
        CoverageRow(t, int(v), int(r), int(c), int(f)) for t, v, r, c, f in db.session.execute(stmt)
    ]


def record_snapshots(day: date) -> int:
    """Store each township's coverage on ``day`` (idempotent: replaces that day's rows)."""
    dbsetup.writing()
    rows = coverage_by_township(None, day)
    existing = {
        s.township_id: s
        for s in db.session.scalars(sa.select(CoverageSnapshot).where(CoverageSnapshot.day == day))
    }
    for row in rows:
        snap = existing.get(row.township.id)
        if snap is None:
            db.session.add(
                CoverageSnapshot(
                    township_id=row.township.id, day=day, required=row.required, covered=row.covered
                )
            )
        else:
            snap.required, snap.covered = row.required, row.covered
    db.session.flush()
    return len(rows)


def county_coverage(today: date) -> tuple[date, list[CoverageRow]]:
    """Every township's coverage for the county overview, from today's snapshot when the daily
    job has recorded it (a province has thousands of townships), else computed and recorded."""
    if not db.session.scalar(
        sa.select(CoverageSnapshot.id).where(CoverageSnapshot.day == today).limit(1)
    ):
        record_snapshots(today)
    villages = dict(
        db.session.execute(
            sa.select(Village.township_id, sa.func.count(Village.id)).group_by(Village.township_id)
        ).all()
    )
    rows = db.session.execute(
        sa.select(Township, CoverageSnapshot.required, CoverageSnapshot.covered)
        .join(CoverageSnapshot, CoverageSnapshot.township_id == Township.id)
        .where(CoverageSnapshot.day == today)
        .order_by(Township.position, Township.id)
    ).all()
    return today, [CoverageRow(t, villages.get(t.id, 0), r, c, -1) for t, r, c in rows]


def coverage_trend(
    township_ids: list[int] | None, today: date, months: int = 12
) -> list[tuple[date, float]]:
    """Coverage rate at each month end: past months from the recorded snapshots (a month
    never recorded is computed once and recorded), the current month live."""
    days = rules.month_ends(today, months)
    past = days[:-1]
    stmt = (
        sa.select(
            CoverageSnapshot.day,
            sa.func.sum(CoverageSnapshot.required),
            sa.func.sum(CoverageSnapshot.covered),
        )
        .where(CoverageSnapshot.day.in_(past))
        .group_by(CoverageSnapshot.day)
    )
    if township_ids is not None:
        stmt = stmt.where(CoverageSnapshot.township_id.in_(township_ids))
    recorded = {d: (int(r), int(c)) for d, r, c in db.session.execute(stmt)}
    out = []
    for day in past:
        if day not in recorded:
            record_snapshots(day)  # first view of a month nobody recorded: compute it once
            rows = coverage_by_township(township_ids, day)
            recorded[day] = (sum(r.required for r in rows), sum(r.covered for r in rows))
        out.append((day, rules.coverage_rate(*recorded[day])))
    rows = (
        county_coverage(today)[1]
        if township_ids is None
        else coverage_by_township(township_ids, today)
    )
    out.append(
        (today, rules.coverage_rate(sum(r.required for r in rows), sum(r.covered for r in rows)))
    )
    return out


def village_matrix(
    township_id: int, on: date
) -> tuple[list[Village], dict[tuple[int, str], tuple[int, int]]]:
    """Villages of a township and, per (village, key), (holders, needed)."""
    villages = list(
        db.session.scalars(
            sa.select(Village).where(Village.township_id == township_id).order_by(Village.name)
        )
    )
    cells = {
        (v, str(k)): (int(h), int(n))
        for _, v, k, h, n in db.session.execute(coverage_pairs(on, [township_id]))
    }
    return villages, cells


# --- gaps and what would close them -------------------------------------------------------


@dataclass
class Gap:
    village: Village
    key: str
    label: str
    cause: rules.GapCause
    since: date | None
    nearest_agent: Agent | None
    steps_left: int | None
    next_step: str = ""


def gaps(township_ids: list[int] | None, on: date, limit: int = 500) -> list[Gap]:
    """Uncovered (village, key) pairs with their cause and the agent nearest to closing them."""
    mode, _ = _settings()
    rows = [r for r in db.session.execute(coverage_pairs(on, township_ids)) if r.holders < r.needed]
    rows = rows[:limit]
    if not rows:
        return []
    village_ids = {r.village_id for r in rows}
    villages = villages_by_id(village_ids)
    postings = list(
        db.session.scalars(
            sa.select(Posting)
            .options(joinedload(Posting.agent))
            .where(Posting.village_id.in_(village_ids))
        )
    )
    agent_ids = list({p.agent_id for p in postings})
    certs = (
        list(
            db.session.scalars(
                sa.select(Certificate)
                .options(joinedload(Certificate.scheme))
                .where(Certificate.agent_id.in_(agent_ids))
            )
        )
        if agent_ids
        else []
    )
    items = {i.id: i for i in db.session.scalars(sa.select(ServiceItem))}
    schemes = active_schemes()
    requirements = scheme_items(schemes)
    passed = passed_item_ids(agent_ids) if agent_ids else {}
    exams = (
        best_exam_scores(agent_ids)
        if agent_ids and any(s.min_exam_score is not None for s in schemes)
        else {}
    )
    offered = offered_items(village_ids)

    def key_scheme(key: str) -> CertificationScheme | None:
        if mode == "category":
            return next((s for s in schemes if s.category and s.category.value == key), None)
        return next((s for s in schemes if s.item_id == int(key)), None)

    def exam_step(agent_id: int, scheme: CertificationScheme | None) -> int:
        if scheme is None or scheme.min_exam_score is None:
            return 0
        best = scheme_exam_score(scheme, exams.get(agent_id, {}))
        return int(best is None or best < scheme.min_exam_score)

    def cert_keys(cert: Certificate) -> set[str]:
        s = cert.scheme
        if mode == "category":
            return {s.category.value} if s.category else set()
        if s.item_id:
            return {str(s.item_id)}
        return {str(i) for i, it in items.items() if it.category == s.category}

    def key_label(key: str) -> str:
        return ItemCategory(key).label if mode == "category" else items[int(key)].name

    def key_items(key: str) -> frozenset[int]:
        if mode == "category":
            scheme = key_scheme(key)
            return requirements.get(scheme.id, frozenset()) if scheme else frozenset()
        return frozenset({int(key)})

    out = []
    for r in rows:
        key = str(r.key)
        spells = []
        for p in (p for p in postings if p.village_id == r.village_id):
            for c in (c for c in certs if c.agent_id == p.agent_id and key in cert_keys(c)):
                spell = rules.coverage_spell(
                    p.agent_id, p.joined_on, p.left_on, c.issued_on, c.expires_on, c.revoked_on
                )
                if spell:
                    spells.append(spell)
        origin = rules.gap_origin(spells, on)
        active = [p.agent for p in postings if p.village_id == r.village_id and p.left_on is None]
        need = rules.required_items(key_items(key), offered[r.village_id])
        scheme = key_scheme(key)
        best = None
        holding = {
            c.agent_id
            for c in certs
            if key in cert_keys(c) and rules.counts_as_valid(status_of(c, on))
        }
        for agent in active:
            if agent.id in holding:
                continue  # already counted; the gap needs someone else (a model station)
            left = len(need - passed.get(agent.id, set())) + exam_step(agent.id, scheme)
            if best is None or left < best[1]:
                best = (agent, left)
        if scheme is None:
            step = "县里还没有设置这类证书的取证要求，请联系县级管理员"
        elif best:
            agent = best[0]
            lapsed = [
                c.expires_on
                for c in certs
                if c.agent_id == agent.id
                and key in cert_keys(c)
                and c.revoked_on is None
                and c.expires_on < on
            ]
            missing = sorted(need - passed.get(agent.id, set()), key=lambda i: items[i].name)
            step = rules.gap_next_step(
                True,
                [items[i].name for i in missing],
                scheme.min_exam_score if exam_step(agent.id, scheme) else None,
                max(lapsed) if lapsed else None,
                min(scheme.refresher_modules, len(need)),
            )
        else:
            step = rules.gap_next_step(False, [], None, None, 0)
        out.append(
            Gap(
                villages[r.village_id],
                key,
                key_label(key),
                origin.cause,
                origin.since,
                best[0] if best else None,
                best[1] if best else None,
                step,
            )
        )
    out.sort(key=lambda g: (g.village.township_id, g.village.name, g.key))
    return out


def _expiring_filter(
    stmt: sa.Select, township_ids: list[int] | None, on: date, within_days: int
) -> sa.Select:
    renewal = sa.orm.aliased(Certificate)
    renewed = sa.select(renewal.id).where(
        renewal.renewed_from_id == Certificate.id, renewal.revoked_on.is_(None)
    )
    stmt = (
        stmt.join(Posting, Posting.agent_id == Certificate.agent_id)
        .join(Village, Village.id == Posting.village_id)
        .where(
            Posting.left_on.is_(None),
            Certificate.revoked_on.is_(None),
            Certificate.expires_on >= on,
            Certificate.expires_on <= on + timedelta(days=within_days),
            ~renewed.exists(),
        )  # an agent who already renewed is not expiring
    )
    if township_ids is not None:
        stmt = stmt.where(Village.township_id.in_(township_ids))
    return stmt


def expiring(
    township_ids: list[int] | None, on: date, within_days: int, limit: int | None = None
) -> list[tuple[Certificate, Posting]]:
    """Valid certificates of active agents that expire within ``within_days``, soonest first."""
    stmt = (
        _expiring_filter(sa.select(Certificate, Posting), township_ids, on, within_days)
        .options(
            joinedload(Certificate.scheme),
            joinedload(Certificate.agent),
            joinedload(Posting.village).joinedload(Village.township),
        )
        .order_by(Certificate.expires_on, Certificate.id)
    )
    if limit is not None:
        stmt = stmt.limit(limit)
    return [(c, p) for c, p in db.session.execute(stmt)]


def expiring_counts(township_ids: list[int] | None, on: date) -> dict[int, int]:
    """How many certificates expire within 30, 31–60 and 61–90 days (one query)."""
    days = (
        Certificate.expires_on - on
        if db.engine.dialect.name == "postgresql"
        else (sa.func.julianday(Certificate.expires_on) - sa.func.julianday(on))
    )
    bucket = sa.case((days <= 30, 30), (days <= 60, 60), else_=90)
    stmt = _expiring_filter(sa.select(bucket, sa.func.count()), township_ids, on, 90).group_by(
        bucket
    )
    counts = {30: 0, 60: 0, 90: 0}
    counts.update({int(b): int(n) for b, n in db.session.execute(stmt)})
    return counts
