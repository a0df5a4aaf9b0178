"""Certification use-cases: schemes, issuing, renewal, revocation, lapses, evaluation.

Writes only (and the requirement look-ups they share with the read side); what the
dashboards and alerts read — coverage, gaps, expiring certificates — is the read model in
``certification.coverage``. Status is never stored: it follows from the dates
(rules.certificate_status).
"""

from __future__ import annotations

import secrets
from collections import defaultdict
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa
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
)
from academy.db import utcnow
from academy.errors_domain import DomainError
from academy.extensions import db
from academy.learning.models import CheckAttempt, Module
from academy.learning.services import passed_item_ids
from academy.regions.models import Village, village_item
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


def offered_items(village_ids) -> dict[int, set[int]]:
    out: dict[int, set[int]] = defaultdict(set)
    rows = db.session.execute(
        sa.select(village_item.c.village_id, village_item.c.item_id).where(
            village_item.c.village_id.in_(list(village_ids))
        )
    )
    for village_id, item_id in rows:
        out[village_id].add(item_id)
    return out


def _check_passes(agent_id: int) -> list[tuple[int, datetime]]:
    """(item id, when) of every check the agent passed — one query for all schemes."""
    rows = db.session.execute(
        sa.select(Module.item_id, CheckAttempt.at)
        .join(CheckAttempt, CheckAttempt.module_id == Module.id)
        .where(CheckAttempt.agent_id == agent_id, CheckAttempt.passed.is_(True))
    )
    return [(item_id, at) for item_id, at in rows]


def _passed_since(passes: list[tuple[int, datetime]], since: date) -> set[int]:
    start = datetime.combine(since, time.min)
    return {item_id for item_id, at in passes if at >= start}


# Other assessments that count like an exam register a source: agent ids → {agent id: {key:
# percent}} (the skills competition gives each candidate's published total under
# "competition"; a scheme with ``competition_counts`` takes it).
EXAM_SCORE_SOURCES: list = []


def exam_score_source(fn):
    EXAM_SCORE_SOURCES.append(fn)
    return fn


def best_exam_scores(agent_ids: list[int]) -> dict[int, dict[str, float]]:
    """Each agent's best graded exam percent per scheme key: an exam of an item category
    counts under the category's value, an exam of one item under "item:<id>", and what the
    registered sources add (e.g. "competition")."""
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
    for source in EXAM_SCORE_SOURCES:
        for agent_id, scores in source(agent_ids).items():
            for key, value in scores.items():
                out[agent_id][key] = max(out[agent_id].get(key, 0.0), value)
    return out


def scheme_exam_score(scheme: CertificationScheme, scores: dict[str, float]) -> float | None:
    """The best exam that counts for ``scheme``: one of its category, or of its item."""
    keys = [scheme.category.value] if scheme.category else [f"item:{scheme.item_id}"]
    if scheme.competition_counts:
        keys.append("competition")
    found = [scores[k] for k in keys if k in scores]
    return max(found) if found else None


_NOT_DUE = object()


def _renewal_basis(mine: list[Certificate], scheme: CertificationScheme, on: date):
    """What a renewal of ``scheme`` would start from: (the certificate renewed, the day from
    which refresher checks count); ``_NOT_DUE`` while a valid certificate is outside its
    renewal window (or already renewed); None when the agent never held one (earn it)."""
    current = [c for c in mine if rules.counts_as_valid(status_of(c, on))]
    if current:
        latest = max(current, key=lambda c: c.expires_on)
        later = [c for c in mine if c.issued_on > latest.expires_on]
        if later or not rules.in_renewal_window(latest.expires_on, on, scheme.renewal_window_days):
            return _NOT_DUE
        return latest, rules.window_start(latest.expires_on, scheme.renewal_window_days)
    lapsed = [c for c in mine if c.expires_on < on]
    if lapsed:
        # A lapsed certificate comes back only through the refresher, done after it lapsed
        # (modules passed long ago do not re-certify on their own).
        latest = max(lapsed, key=lambda c: c.expires_on)
        return latest, latest.expires_on + timedelta(days=1)
    return None


def evaluate_agent(agent: Agent, on: date | None = None, actor=None) -> list[Certificate]:
    """Issue the certificates the agent has earned and renew those whose refresher is done.
    A fixed number of queries, however many schemes there are."""
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
    posting = agent.current_posting
    offered = offered_items([posting.village_id])[posting.village_id] if posting else set()
    held = list(
        db.session.scalars(
            sa.select(Certificate)
            .options(joinedload(Certificate.scheme))
            .where(Certificate.agent_id == agent.id)
            .order_by(Certificate.expires_on)
        )
    )
    passes = None  # the checks passed, loaded once, when a renewal is due
    issued = []
    for scheme in schemes:
        mine = [c for c in held if c.scheme_id == scheme.id and c.revoked_on is None]
        basis = _renewal_basis(mine, scheme, on)
        if basis is _NOT_DUE:
            continue
        if basis is not None:
            renewed, since = basis
            passes = _check_passes(agent.id) if passes is None else passes
            if rules.refresher_done(
                _passed_since(passes, since), requirements[scheme.id], scheme.refresher_modules
            ):
                issued.append(
                    issue_certificate(
                        agent, scheme, on, CertSource.RENEWED, actor, renewed_from=renewed
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
