"""Certification use-cases and coverage queries.

Coverage is computed in SQL with a fixed number of queries (one per date asked), so the
dashboards do not slow down as the roster grows. Status is never stored: it follows
from the dates (rules.certificate_status).
"""

from __future__ import annotations

import secrets
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import joinedload

from academy.activity import rules as activity_rules
from academy.activity.models import LearningEvent, ObjectType, Verb
from academy.activity.services import append_many, record_event
from academy.audit.services import record
from academy.catalogue.models import ItemCategory, ServiceItem
from academy.certification import documents, rules
from academy.certification.models import (
    Certificate,
    CertificationScheme,
    CertLevel,
    CertSource,
    CoverageSnapshot,
)
from academy.db import utcnow
from academy.errors_domain import DomainError
from academy.extensions import db
from academy.learning.models import CheckAttempt, Module
from academy.learning.services import passed_item_ids
from academy.regions.models import StationTier, Township, Village, village_item
from academy.regions.services import villages_by_id
from academy.roster.models import Agent, Posting

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read over the phone


def new_code() -> str:
    return "XC" + "".join(secrets.choice(CODE_ALPHABET) for _ in range(10))


# --- schemes ------------------------------------------------------------------------------


def ensure_default_schemes() -> int:
    """One 初级 scheme per item category (12 months, 60-day renewal window)."""
    existing = set(db.session.scalars(sa.select(CertificationScheme.code)))
    created = 0
    for category in ItemCategory:
        code = f"{category.value}-junior"
        if code in existing:
            continue
        db.session.add(
            CertificationScheme(
                code=code,
                name=f"{category.label}类代办资格（初级）",
                category=category,
                level=CertLevel.JUNIOR,
                validity_months=12,
                renewal_window_days=60,
                refresher_modules=3,
            )
        )
        created += 1
    db.session.flush()
    return created


def active_schemes() -> list[CertificationScheme]:
    return list(
        db.session.scalars(
            sa.select(CertificationScheme)
            .where(CertificationScheme.active.is_(True))
            .order_by(CertificationScheme.id)
        )
    )


def scheme_items(schemes: list[CertificationScheme]) -> dict[int, frozenset[int]]:
    """Active item ids each scheme requires (all items of its category, or its one item)."""
    items = db.session.execute(
        sa.select(ServiceItem.id, ServiceItem.category).where(ServiceItem.retired.is_(False))
    ).all()
    by_category: dict[ItemCategory, set[int]] = defaultdict(set)
    for item_id, category in items:
        by_category[category].add(item_id)
    return {
        s.id: frozenset({s.item_id} if s.item_id else by_category.get(s.category, set()))
        for s in schemes
    }


# --- issuing, renewal, revocation ---------------------------------------------------------


def status_of(cert: Certificate, on: date) -> rules.CertStatus:
    return rules.certificate_status(
        cert.issued_on, cert.expires_on, cert.revoked_on, on, cert.scheme.renewal_window_days
    )


def issue_certificate(
    agent: Agent,
    scheme: CertificationScheme,
    on: date,
    source: CertSource,
    actor=None,
    note: str | None = None,
    renewed_from: Certificate | None = None,
) -> Certificate:
    if renewed_from is not None:
        issued_on, expires_on = rules.renewal_dates(
            renewed_from.expires_on, on, scheme.validity_months
        )
    else:
        issued_on, expires_on = on, rules.expiry_for(on, scheme.validity_months)
    cert = Certificate(
        code=new_code(),
        agent=agent,
        scheme=scheme,
        issued_on=issued_on,
        expires_on=expires_on,
        source=source,
        issued_by_id=getattr(actor, "id", None),
        renewed_from_id=getattr(renewed_from, "id", None),
        note=note,
    )
    db.session.add(cert)
    db.session.flush()
    # The printable document as issued, in the same transaction (a Jinja render: cheap);
    # its PDF is printed later, from this snapshot, outside the issuing request.
    documents.freeze(cert)
    posting = agent.current_posting
    township_id = posting.village.township_id if posting else None
    record(
        actor,
        "certificate.issued",
        cert,
        f"{agent.name} 取得《{scheme.name}》（{source.label}），有效期至 {expires_on:%Y-%m-%d}",
        {"code": cert.code, "scheme": scheme.code},
        township_id,
    )
    record_event(
        Verb.RENEWED if renewed_from is not None else Verb.ISSUED,
        ObjectType.CERTIFICATE,
        cert.id,
        scheme.name,
        agent=agent,
        user=actor,
        at=_event_moment(on),
        township_id=township_id,
        village_id=posting.village_id if posting else None,
        context={
            "code": cert.code,
            "source": source.value,
            "valid": f"{issued_on:%Y-%m-%d}/{expires_on:%Y-%m-%d}",
        },
    )
    return cert


def _event_moment(on: date) -> datetime:
    """Now for something done today; a day given in the past (a backdated award) stands
    for itself in the event log."""
    return utcnow() if on >= date.today() else activity_rules.day_moment(on)


def revoke_certificate(actor, cert: Certificate, reason: str, on: date | None = None) -> None:
    on = on or date.today()
    if not reason.strip():
        raise DomainError("请填写撤销原因。", field="reason")
    if cert.revoked_on is not None:
        raise DomainError("该证书已被撤销。")
    if on < cert.issued_on:
        raise DomainError("撤销日期不能早于发证日期。", field="on")
    cert.revoked_on, cert.revoke_reason = on, reason.strip()
    db.session.flush()
    posting = cert.agent.current_posting
    township_id = posting.village.township_id if posting else None
    record(
        actor,
        "certificate.revoked",
        cert,
        f"撤销 {cert.agent.name} 的《{cert.scheme.name}》：{cert.revoke_reason}",
        {"code": cert.code},
        township_id,
    )
    record_event(
        Verb.REVOKED,
        ObjectType.CERTIFICATE,
        cert.id,
        cert.scheme.name,
        agent=cert.agent,
        user=actor,
        at=_event_moment(on),
        township_id=township_id,
        village_id=posting.village_id if posting else None,
        context={"code": cert.code, "reason": cert.revoke_reason[:100]},
    )


def record_lapses(today: date | None = None) -> int:
    """Log a "lapsed" event, dated the day after expiry, for every certificate that expired
    before today and has none yet (the daily job; idempotent). A certificate revoked before
    it expired did not lapse, nor one renewed without a gap. The event's township and
    village are those the holder served on that day (else their last posting before it)."""
    today = today or date.today()
    logged = sa.select(LearningEvent.id).where(
        LearningEvent.verb == Verb.LAPSED,
        LearningEvent.object_type == ObjectType.CERTIFICATE,
        LearningEvent.object_id == sa.cast(Certificate.id, sa.String),
    )
    renewal = (
        sa.select(
            Certificate.renewed_from_id.label("cert_id"),
            sa.func.min(Certificate.issued_on).label("first_renewal"),
        )
        .where(Certificate.renewed_from_id.is_not(None))
        .group_by(Certificate.renewed_from_id)
        .subquery()
    )
    rows = db.session.execute(
        sa.select(
            Certificate.id,
            Certificate.agent_id,
            Certificate.code,
            Certificate.expires_on,
            CertificationScheme.name,
            renewal.c.first_renewal,
        )
        .join(CertificationScheme, CertificationScheme.id == Certificate.scheme_id)
        .outerjoin(renewal, renewal.c.cert_id == Certificate.id)
        .where(
            Certificate.expires_on < today,
            sa.or_(
                Certificate.revoked_on.is_(None), Certificate.revoked_on > Certificate.expires_on
            ),
            ~logged.exists(),
        )
        .order_by(Certificate.expires_on, Certificate.id)
    ).all()
    lapsed = [
        r
        for r in rows
        if r.first_renewal is None or r.first_renewal > r.expires_on + timedelta(days=1)
    ]
    spells = _spells_of({r.agent_id for r in lapsed})
    events = []
    for r in lapsed:
        day = r.expires_on + timedelta(days=1)
        village_id, township_id = activity_rules.place_on(spells.get(r.agent_id, []), day)
        events.append(
            {
                "at": activity_rules.day_moment(day),
                "agent_id": r.agent_id,
                "verb": Verb.LAPSED,
                "object_type": ObjectType.CERTIFICATE,
                "object_id": r.id,
                "object_name": r.name,
                "township_id": township_id,
                "village_id": village_id,
                "context": {"code": r.code, "expired_on": f"{r.expires_on:%Y-%m-%d}"},
            }
        )
    return append_many(events)


def _spells_of(agent_ids: set[int]) -> dict[int, list[activity_rules.Spell]]:
    out: dict[int, list[activity_rules.Spell]] = defaultdict(list)
    ids = sorted(agent_ids)
    for start in range(0, len(ids), 5000):
        rows = db.session.execute(
            sa.select(
                Posting.agent_id,
                Posting.joined_on,
                Posting.left_on,
                Posting.village_id,
                Village.township_id,
            )
            .join(Village, Village.id == Posting.village_id)
            .where(Posting.agent_id.in_(ids[start : start + 5000]))
        )
        for agent_id, joined, left, village_id, township_id in rows:
            out[agent_id].append(activity_rules.Spell(joined, left, village_id, township_id))
    return out


def _offered_items(village_ids) -> dict[int, set[int]]:
    out: dict[int, set[int]] = defaultdict(set)
    rows = db.session.execute(
        sa.select(village_item.c.village_id, village_item.c.item_id).where(
            village_item.c.village_id.in_(list(village_ids))
        )
    )
    for village_id, item_id in rows:
        out[village_id].add(item_id)
    return out


def _recent_check_passes(agent_id: int, since: date) -> set[int]:
    rows = db.session.scalars(
        sa.select(Module.item_id)
        .join(CheckAttempt, CheckAttempt.module_id == Module.id)
        .where(
            CheckAttempt.agent_id == agent_id,
            CheckAttempt.passed.is_(True),
            CheckAttempt.at >= since,
        )
    )
    return set(rows)


def best_exam_scores(agent_ids: list[int]) -> dict[int, dict[str, float]]:
    """Each agent's best graded exam percent per scheme key: an exam of an item category
    counts under the category's value, an exam of one item under "item:<id>"."""
    from academy.exams.models import Attempt, AttemptState, Exam

    out: dict[int, dict[str, float]] = {a: {} for a in agent_ids}
    if not agent_ids:
        return out
    rows = db.session.execute(
        sa.select(Attempt.agent_id, Exam.category, Exam.item_id, sa.func.max(Attempt.percent))
        .join(Exam, Exam.id == Attempt.exam_id)
        .where(
            Attempt.agent_id.in_(agent_ids),
            Attempt.state == AttemptState.GRADED,
            sa.or_(Exam.category.is_not(None), Exam.item_id.is_not(None)),
        )
        .group_by(Attempt.agent_id, Exam.category, Exam.item_id)
    )
    for agent_id, category, item_id, best in rows:
        for key in ([category.value] if category else []) + (
            [f"item:{item_id}"] if item_id else []
        ):
            out[agent_id][key] = max(out[agent_id].get(key, 0.0), best or 0.0)
    return out


def scheme_exam_score(scheme: CertificationScheme, scores: dict[str, float]) -> float | None:
    """The best exam that counts for ``scheme``: one of its category, or of its item."""
    keys = [scheme.category.value] if scheme.category else [f"item:{scheme.item_id}"]
    found = [scores[k] for k in keys if k in scores]
    return max(found) if found else None


def evaluate_agent(agent: Agent, on: date | None = None, actor=None) -> list[Certificate]:
    """Issue the certificates the agent has earned and renew those whose refresher is done."""
    on = on or date.today()
    schemes = active_schemes()
    if not schemes:
        return []
    requirements = scheme_items(schemes)
    passed = passed_item_ids([agent.id])[agent.id]
    exams = (
        best_exam_scores([agent.id])[agent.id]
        if any(s.min_exam_score is not None for s in schemes)
        else {}
    )
    offered = (
        _offered_items([agent.current_posting.village_id])[agent.current_posting.village_id]
        if agent.current_posting
        else set()
    )
    held = list(
        db.session.scalars(
            sa.select(Certificate)
            .options(joinedload(Certificate.scheme))
            .where(Certificate.agent_id == agent.id)
            .order_by(Certificate.expires_on)
        )
    )
    issued = []
    for scheme in schemes:
        mine = [c for c in held if c.scheme_id == scheme.id and c.revoked_on is None]
        current = [c for c in mine if rules.counts_as_valid(status_of(c, on))]
        if current:
            latest = max(current, key=lambda c: c.expires_on)
            later = [c for c in mine if c.issued_on > latest.expires_on]
            if later or not rules.in_renewal_window(
                latest.expires_on, on, scheme.renewal_window_days
            ):
                continue
            since = rules.window_start(latest.expires_on, scheme.renewal_window_days)
            if rules.refresher_done(
                _recent_check_passes(agent.id, since),
                requirements[scheme.id],
                scheme.refresher_modules,
            ):
                issued.append(
                    issue_certificate(
                        agent, scheme, on, CertSource.RENEWED, actor, renewed_from=latest
                    )
                )
            continue
        lapsed = [c for c in mine if c.expires_on < on]
        if lapsed:
            # A lapsed certificate comes back only through the refresher, done after it lapsed
            # (modules passed long ago do not re-certify on their own).
            latest = max(lapsed, key=lambda c: c.expires_on)
            if rules.refresher_done(
                _recent_check_passes(agent.id, latest.expires_on + timedelta(days=1)),
                requirements[scheme.id],
                scheme.refresher_modules,
            ):
                issued.append(
                    issue_certificate(
                        agent, scheme, on, CertSource.RENEWED, actor, renewed_from=latest
                    )
                )
            continue
        req = rules.Requirement(
            rules.required_items(requirements[scheme.id], offered),
            scheme.min_exam_score,
            scheme.min_simulation_score,
        )
        if rules.eligibility(req, passed, scheme_exam_score(scheme, exams)).eligible:
            issued.append(issue_certificate(agent, scheme, on, CertSource.EARNED, actor))
    return issued


def on_learning_progress(sender, agent: Agent, **_):
    evaluate_agent(agent)


# --- coverage -----------------------------------------------------------------------------


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
    offered = _offered_items(village_ids)

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
