"""The SQL status filter of the certificate list agrees with rules.certificate_status."""

from datetime import date, timedelta

import sqlalchemy as sa

from academy.certification import queries, services
from academy.certification.models import Certificate, CertificationScheme, CertLevel, CertSource
from academy.certification.rules import CertStatus
from academy.extensions import db

ON = date(2026, 6, 15)


def _scheme(code: str, window: int, item_id: int) -> CertificationScheme:
    # An item scheme: the CHECK constraint wants a category or an item, not both.
    return CertificationScheme(
        code=code,
        name=f"测试资格{code}",
        item_id=item_id,
        level=CertLevel.JUNIOR,
        validity_months=12,
        renewal_window_days=window,
    )


def test_status_clause_matches_the_rule_on_every_edge_day(world):
    # One scheme per renewal window length: the clause looks the window up per scheme.
    schemes = [_scheme(code, w, world.item.id) for code, w in (("w60", 60), ("w30", 30), ("w0", 0))]
    db.session.add_all(schemes)
    db.session.flush()
    certs = []
    for scheme in schemes:
        w = scheme.renewal_window_days
        # Expiry dates around today and around the start of the renewal window.
        for delta in (-400, -1, 0, 1, w - 1, w, w + 1, 200):
            expires = ON + timedelta(days=delta)
            issued = expires - timedelta(days=364)
            for revoked in (None, ON - timedelta(days=1), ON, ON + timedelta(days=1)):
                if revoked is not None and revoked < issued:
                    continue
                certs.append(_cert(world, scheme, issued, expires, revoked))
        certs.append(_cert(world, scheme, ON + timedelta(days=1), ON + timedelta(days=365)))
    db.session.flush()
    ids = [c.id for c in certs]
    for status in CertStatus:
        stmt = sa.select(Certificate.id).where(
            Certificate.id.in_(ids), queries.status_clause(status, ON)
        )
        got = set(db.session.scalars(stmt))
        want = {c.id for c in certs if services.status_of(c, ON) == status}
        assert got == want, status
    assert {services.status_of(c, ON) for c in certs} == set(CertStatus)


def _cert(world, scheme, issued, expires, revoked=None) -> Certificate:
    cert = Certificate(
        code=services.new_code(),
        agent=world.east_agent,
        scheme=scheme,
        issued_on=issued,
        expires_on=expires,
        revoked_on=revoked,
        revoke_reason="测试" if revoked else None,
        source=CertSource.MANUAL,
    )
    db.session.add(cert)
    return cert
