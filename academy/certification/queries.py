"""Read-side queries of certificates, narrowed to what a user may see — in SQL.

An agent sees their own certificates; a township head those of the agents whose current
posting (or last one, once they left) lies in their township (``auth.policy.agent_clause``:
access follows the person, an old township keeps no view of them); an admin all of them.
Status is never stored: to filter by it in SQL, ``status_clause`` restates
``rules.certificate_status`` as a WHERE clause (kept in step by a test over edge dates).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import sqlalchemy as sa
from flask import abort
from sqlalchemy.orm import joinedload

from academy.auth.models import User
from academy.auth.policy import Scope, scope_agents, scope_villages
from academy.certification.display import normalise_code
from academy.certification.models import Certificate, CertificationScheme
from academy.certification.rules import CertStatus
from academy.extensions import db
from academy.regions.models import County, Township, Village
from academy.roster.models import Agent, Posting


def scope_certificates(stmt: sa.Select, scope: Scope) -> sa.Select:
    """Narrow a SELECT involving ``Certificate`` to the certificates ``scope`` may see."""
    return scope_agents(stmt, scope, Certificate.agent_id)


def holder_or_404(scope: Scope, agent_id: int) -> Agent:
    """The agent a certificate list is filtered by, if the scope may see them."""
    agent = db.session.scalar(
        scope_agents(sa.select(Agent).where(Agent.id == agent_id), scope, Agent.id)
    )
    if agent is None:
        abort(404)
    return agent


def _with_holder(stmt: sa.Select) -> sa.Select:
    return stmt.options(
        joinedload(Certificate.scheme),
        joinedload(Certificate.agent)
        .selectinload(Agent.postings)
        .joinedload(Posting.village)
        .joinedload(Village.township),
    )


def certificate_or_404(scope: Scope, cert_id: int) -> Certificate:
    stmt = scope_certificates(sa.select(Certificate).where(Certificate.id == cert_id), scope)
    cert = db.session.scalar(_with_holder(stmt))
    if cert is None:
        abort(404)
    return cert


def by_code(code: str) -> Certificate | None:
    """For the public verification page: the certificate with this exact code, or None."""
    return db.session.scalar(
        sa.select(Certificate)
        .options(joinedload(Certificate.scheme), joinedload(Certificate.agent))
        .where(Certificate.code == code)
    )


def own_certificates(scope: Scope) -> list[Certificate]:
    stmt = scope_certificates(sa.select(Certificate), scope)
    stmt = stmt.options(joinedload(Certificate.scheme)).order_by(
        Certificate.issued_on.desc(), Certificate.id.desc()
    )
    return list(db.session.scalars(stmt))


# --- status in SQL ------------------------------------------------------------------------


def _expiring_from(on: date) -> sa.ColumnElement:
    """Per certificate: the first expiry date that is *not* yet in the renewal window on
    ``on`` (``on`` + the scheme's window). One CASE over the few schemes there are."""
    windows = db.session.execute(
        sa.select(CertificationScheme.id, CertificationScheme.renewal_window_days)
    ).all()
    if not windows:
        return sa.literal(on, sa.Date)
    return sa.case(
        {sid: sa.literal(on + timedelta(days=days), sa.Date) for sid, days in windows},
        value=Certificate.scheme_id,
        else_=sa.literal(on, sa.Date),
    )


def status_clause(status: CertStatus, on: date) -> sa.ColumnElement:
    """WHERE clause true exactly when ``rules.certificate_status(...) == status`` on ``on``."""
    revoked = sa.and_(Certificate.revoked_on.is_not(None), Certificate.revoked_on <= on)
    if status == CertStatus.REVOKED:
        return revoked
    live = sa.not_(revoked)
    if status == CertStatus.PENDING:
        return sa.and_(live, Certificate.issued_on > on)
    started = sa.and_(live, Certificate.issued_on <= on)
    if status == CertStatus.EXPIRED:
        return sa.and_(started, Certificate.expires_on < on)
    threshold = _expiring_from(on)
    if status == CertStatus.EXPIRING:
        return sa.and_(started, Certificate.expires_on >= on, Certificate.expires_on < threshold)
    return sa.and_(started, Certificate.expires_on >= on, Certificate.expires_on >= threshold)


# --- the list of certificates for admins and township heads ------------------------------


@dataclass
class CertFilter:
    q: str = ""
    status: CertStatus | None = None
    scheme_id: int | None = None
    village_id: int | None = None
    agent_id: int | None = None


def list_statement(scope: Scope, f: CertFilter, on: date) -> sa.Select:
    stmt = scope_certificates(sa.select(Certificate).join(Certificate.agent), scope)
    if f.q:
        code = normalise_code(f.q)
        name = Agent.name.contains(f.q.strip(), autoescape=True)
        stmt = stmt.where(sa.or_(name, Certificate.code == code) if code else name)
    if f.status is not None:
        stmt = stmt.where(status_clause(f.status, on))
    if f.scheme_id:
        stmt = stmt.where(Certificate.scheme_id == f.scheme_id)
    if f.village_id:
        posted = sa.select(Posting.id).where(
            Posting.agent_id == Certificate.agent_id, Posting.village_id == f.village_id
        )
        stmt = stmt.where(posted.exists())
    if f.agent_id:
        stmt = stmt.where(Certificate.agent_id == f.agent_id)
    if f.status in (CertStatus.EXPIRING, CertStatus.PENDING):
        order = [Certificate.expires_on, Certificate.id]  # the most urgent first
    else:
        order = [Certificate.issued_on.desc(), Certificate.id.desc()]
    return _with_holder(stmt).order_by(*order)


def village_choices(scope: Scope) -> list[tuple[int, str]]:
    stmt = scope_villages(
        sa.select(Village.id, Township.name, Village.name).join(Township), scope
    ).order_by(Township.position, Township.id, Village.name)
    return [(vid, f"{t} · {v}") for vid, t, v in db.session.execute(stmt)]


def all_schemes() -> list[CertificationScheme]:
    return list(
        db.session.scalars(
            sa.select(CertificationScheme).order_by(
                CertificationScheme.active.desc(), CertificationScheme.id
            )
        )
    )


# --- one certificate: its renewal chain and who issued it --------------------------------


@dataclass
class Chain:
    earlier: list[Certificate]  # the certificates this one renewed, newest first
    later: list[Certificate]  # the certificates that renewed this one, oldest first


def renewal_chain(cert: Certificate) -> Chain:
    """Walk ``renewed_from`` both ways over the holder's certificates of the same scheme
    (one query, however long the chain)."""
    same = {
        c.id: c
        for c in db.session.scalars(
            sa.select(Certificate).where(
                Certificate.agent_id == cert.agent_id, Certificate.scheme_id == cert.scheme_id
            )
        )
    }
    earlier, cursor, seen = [], cert, {cert.id}
    while cursor.renewed_from_id in same and cursor.renewed_from_id not in seen:
        cursor = same[cursor.renewed_from_id]
        seen.add(cursor.id)
        earlier.append(cursor)
    successors = {c.renewed_from_id: c for c in same.values() if c.renewed_from_id}
    later, cursor = [], cert
    while cursor.id in successors and successors[cursor.id].id not in seen:
        cursor = successors[cursor.id]
        seen.add(cursor.id)
        later.append(cursor)
    return Chain(earlier, later)


def issuer_name(agent: Agent) -> str | None:
    """Name of the county the holder serves (or last served) in; the only county otherwise."""
    postings = sorted(agent.postings, key=lambda p: (p.left_on is None, p.joined_on, p.id))
    if postings:
        return db.session.scalar(
            sa.select(County.name)
            .join(Township, Township.county_id == County.id)
            .where(Township.id == postings[-1].village.township_id)
        )
    return db.session.scalar(sa.select(County.name).order_by(County.id).limit(1))


def user_names(user_ids: set[int]) -> dict[int, str]:
    if not user_ids:
        return {}
    rows = db.session.execute(sa.select(User.id, User.display_name).where(User.id.in_(user_ids)))
    return dict(rows.all())
