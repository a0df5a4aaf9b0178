"""The certificate QR code carries the address people reach the site by, never localhost."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from academy.catalogue.models import ItemCategory
from academy.certification import services
from academy.certification.models import CertificateDocument, CertificationScheme, CertSource
from academy.extensions import db
from academy.roster.models import Agent
from tests.e2e.conftest import CHROMIUM
from tests.factories import PASSWORD

pytestmark = pytest.mark.e2e


def _login(page, base, username):
    page.goto(base + "/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/home")


def test_qr_code_uses_the_public_address_seen_and_admin_is_warned(live_server):
    playwright = pytest.importorskip("playwright.sync_api")
    port = live_server["url"].rsplit(":", 1)[1]
    public = f"http://academy.xinchang.test:{port}"
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--host-resolver-rules=MAP academy.xinchang.test 127.0.0.1",
            ],
        )
        ctx = browser.new_context(viewport={"width": 360, "height": 740}, locale="zh-CN")
        page = ctx.new_page()
        _login(page, live_server["url"], "admin-t")  # on this machine: nothing learnt
        assert "二维码会指向本机" in page.inner_text("#address-warning")
        ctx.clear_cookies()
        _login(page, public, "admin-t")  # as the county reaches it
        page.goto(live_server["url"] + "/login")
        _login(page, live_server["url"], "admin-t")
        assert f"暂用最近一次访问的网址 {public}" in page.inner_text("#address-warning")
        browser.close()
    with live_server["app"].app_context():  # the nightly job, outside any request
        services.ensure_default_schemes()
        scheme = db.session.scalar(
            sa.select(CertificationScheme).where(
                CertificationScheme.category == ItemCategory.PAYMENT
            )
        )
        agent = db.session.get(Agent, live_server["ids"]["east_agent"])
        cert = services.issue_certificate(agent, scheme, date.today(), CertSource.MANUAL)
        html = db.session.scalar(
            sa.select(CertificateDocument.html).where(CertificateDocument.certificate_id == cert.id)
        )
        db.session.rollback()
        db.session.remove()
    assert f"{public}/verify/{cert.code}" in html and "localhost" not in html
