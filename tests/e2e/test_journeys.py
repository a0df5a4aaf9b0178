"""Real-browser journeys on a 360 px phone screen."""

from datetime import date

import pytest
import sqlalchemy as sa

from academy.extensions import db
from academy.roster.models import Posting
from tests.factories import PASSWORD

pytestmark = pytest.mark.e2e


def _login(page, base, username):
    page.goto(base + "/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/home")


def test_large_type_toggle_persists_across_pages(live_server, phone):
    base = live_server["url"]
    _login(phone, base, "agent-t")
    normal = phone.evaluate("parseFloat(getComputedStyle(document.documentElement).fontSize)")
    phone.click("#large-type-toggle")
    large = phone.evaluate("parseFloat(getComputedStyle(document.documentElement).fontSize)")
    assert large > normal
    phone.goto(base + "/items/")  # a new page load, rendered large by the server at once
    assert "large-type" in (phone.get_attribute("html", "class") or "")
    assert phone.get_attribute("#large-type-toggle", "aria-pressed") == "true"
    phone.click("#large-type-toggle")
    phone.reload()
    assert "large-type" not in (phone.get_attribute("html", "class") or "")


def test_pages_fit_a_360px_screen(live_server, phone):
    base = live_server["url"]
    _login(phone, base, "head-east")
    for path in ("/home", "/roster/", "/villages", "/items/"):
        phone.goto(base + path)
        overflow = phone.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{path} scrolls sideways by {overflow}px"


def test_township_head_records_a_departure(live_server, phone):
    base, ids = live_server["url"], live_server["ids"]
    _login(phone, base, "head-east")
    phone.goto(base + "/roster/")
    phone.click("text=张东")
    phone.click("text=登记离岗")
    phone.fill("#left_on", date.today().isoformat())
    phone.select_option("#reason", "resigned")
    phone.fill("#note", "外出务工")
    phone.click("button:has-text('确认离岗')")
    assert phone.is_visible("text=历史记录已保留")
    assert phone.is_visible("text=重新到岗")
    with live_server["app"].app_context():
        posting = db.session.scalar(sa.select(Posting).where(Posting.agent_id == ids["east_agent"]))
        assert posting.left_on == date.today()
        db.session.remove()
