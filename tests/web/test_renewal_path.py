"""An agent sees what renews an expiring or lapsed certificate, by when, and the way in."""

from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa

from academy.catalogue.models import ItemCategory
from academy.certification import services
from academy.certification.models import Certificate, CertificationScheme, CertSource
from academy.extensions import db
from tests import factories

TODAY = date.today()


def _scheme(category):
    services.ensure_default_schemes()
    return db.session.scalar(
        sa.select(CertificationScheme).where(CertificationScheme.category == category)
    )


def _cert(agent, category, expires_on):
    cert = services.issue_certificate(
        agent, _scheme(category), TODAY - timedelta(days=300), CertSource.EARNED
    )
    cert.expires_on = expires_on
    db.session.commit()
    return cert


def test_expiring_certificate_shows_what_is_due_and_the_module_to_take(
    world, module, login_as, client
):
    cert = _cert(world.east_agent, ItemCategory.REGISTRATION, TODAY + timedelta(days=9))
    login_as(world.agent_user)
    for path in ("/home", "/certificates/"):
        html = client.get(path).get_data(as_text=True)
        assert "即将到期，请复训续期" in html, path
        assert f"有效期到 {cert.expires_on:%Y-%m-%d}（还剩 10 天）" in html
        assert "通过 1 个模块的小测" in html
        assert f'href="/learn/{module.slug}#check"' in html
        assert f"开始复训：{module.title}" in html
    # Taking the refresher renews it, and the call to renew goes away.
    factories.pass_module(world.east_agent, module)
    db.session.commit()
    assert db.session.scalar(sa.select(Certificate).where(Certificate.renewed_from_id == cert.id))
    assert "请复训续期" not in client.get("/home").get_data(as_text=True)


def test_lapsed_certificate_offers_the_way_back(world, module, login_as, client):
    cert = _cert(world.east_agent, ItemCategory.REGISTRATION, TODAY - timedelta(days=5))
    login_as(world.agent_user)
    html = client.get("/home").get_data(as_text=True)
    assert "已过期，可以复训恢复" in html
    assert f"证书已于 {cert.expires_on:%Y-%m-%d} 过期" in html
    assert f'href="/learn/{module.slug}#check"' in html


def test_valid_certificate_outside_the_window_shows_no_renewal(world, module, login_as, client):
    _cert(world.east_agent, ItemCategory.REGISTRATION, TODAY + timedelta(days=200))
    login_as(world.agent_user)
    assert "复训" not in client.get("/home").get_data(as_text=True)
