"""An agent's ways forward on a 360 px phone: renewing a certificate, the form practice
read as a person reads it, the check result and the next module, items into modules."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import sqlalchemy as sa
import yaml

from academy.catalogue.models import ItemCategory
from academy.certification import services as certs
from academy.certification.models import CertificationScheme, CertSource
from academy.content.loader import ContentDoc
from academy.extensions import db
from academy.learning.services import create_plan, sync_modules
from academy.regions.models import Village
from academy.roster.models import Agent
from tests import factories
from tests.content_samples import valid_module
from tests.e2e.waits import shown
from tests.factories import PASSWORD

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def site(live_server):
    """The live server plus a second module in the agent's plan and an expiring certificate."""
    with live_server["app"].app_context():
        agent = db.session.get(Agent, live_server["ids"]["east_agent"])
        village = db.session.get(Village, agent.current_posting.village_id)
        first = village.items[0]
        second = factories.item("城乡居民养老保险待遇领取", frequency=1)
        village.items.append(second)
        docs = []
        for item, title in ((first, None), (second, "养老保险待遇领取")):
            data = valid_module(item.slug)
            data["title"] = title or data["title"]
            text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
            docs.append(ContentDoc(f"courses/{item.slug}.yaml", data, text))
        sync_modules(docs)
        create_plan(agent.current_posting)
        certs.ensure_default_schemes()
        scheme = db.session.scalar(
            sa.select(CertificationScheme).where(
                CertificationScheme.category == ItemCategory.REGISTRATION
            )
        )
        cert = certs.issue_certificate(
            agent, scheme, date.today() - timedelta(days=300), CertSource.EARNED
        )
        cert.expires_on = date.today() + timedelta(days=13)
        db.session.commit()
        live_server["ids"]["second"] = second.slug
        db.session.remove()
    return live_server


def _login(page, base):
    page.goto(base + "/login")
    page.fill("#username", "agent-t")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/home")


def _fits(page):
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0


def test_agent_renews_an_expiring_certificate_from_home(site, phone):
    base, slug = site["url"], site["ids"]["module"]
    _login(phone, base)
    card = phone.locator(".renewal")
    assert "即将到期，请复训续期" in card.inner_text()
    assert "还剩 14 天" in card.inner_text()
    assert _fits(phone)
    card.locator("a.btn").click()
    phone.wait_for_url(f"**/learn/{slug}#check")
    # 我的证书 shows the same path.
    phone.goto(base + "/certificates/")
    assert phone.locator(".renewal a.btn").get_attribute("href") == f"/learn/{slug}#check"


def test_home_items_open_their_module(site, phone):
    base = site["url"]
    _login(phone, base)
    phone.click(".village-items >> text=城乡居民养老保险待遇领取")
    phone.wait_for_url(f"**/learn/{site['ids']['second']}")
    assert phone.locator("h1").inner_text().startswith("养老保险待遇领取")


def test_form_practice_accepts_what_a_person_would_write(site, phone):
    base, slug = site["url"], site["ids"]["module"]
    _login(phone, base)
    phone.goto(f"{base}/learn/{slug}")
    phone.fill("#f-name", "张 阿大")
    phone.fill("#f-id_number", "３３０６２４１９５００３１５００１６")
    phone.fill("#f-death_date", "2026-10-08")
    phone.fill("#f-phone", "138 5751 2345")
    phone.select_option("#f-relation", "子女")
    phone.click("#form button[type=submit]")
    assert shown(phone, "text=表单填写正确")


def test_check_result_is_in_view_and_a_pass_offers_the_next_module(site, phone):
    base, slug = site["url"], site["ids"]["module"]
    _login(phone, base)
    phone.goto(f"{base}/learn/{slug}#check")
    for name, value in (("q-0", "0"), ("q-1", "false"), ("q-2", "0"), ("q-2", "1")):
        phone.check(f"input[name={name}][value='{value}']")
    phone.check("input[name=q-3][value=false]")
    phone.check("input[name=q-4][value='0']")
    phone.click("#check button[type=submit]")
    phone.wait_for_url("**#check-result")
    phone.wait_for_function(
        "document.activeElement && document.activeElement.id === 'check-result'"
    )
    box = phone.locator("#check-result").bounding_box()
    assert 0 <= box["y"] < 740, f"the result is {box['y']} px away"
    phone.click("#check-result >> text=下一个模块：养老保险待遇领取")
    phone.wait_for_url(f"**/learn/{site['ids']['second']}")
