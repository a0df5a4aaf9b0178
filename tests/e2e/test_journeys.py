"""Real-browser journeys on a 360 px phone screen."""

from datetime import date

import pytest
import sqlalchemy as sa

from academy.extensions import db
from academy.roster.models import Posting
from tests.e2e.waits import shown
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
    assert shown(phone, "text=历史记录已保留")
    assert shown(phone, "text=重新到岗")
    with live_server["app"].app_context():
        posting = db.session.scalar(sa.select(Posting).where(Posting.agent_id == ids["east_agent"]))
        assert posting.left_on == date.today()
        db.session.remove()


def test_agent_completes_a_module_practice_and_check(live_server, phone):
    base, slug = live_server["url"], live_server["ids"]["module"]
    _login(phone, base, "agent-t")
    phone.goto(f"{base}/learn/{slug}")
    # 1. materials: a wrong try first, then the right set.
    phone.check("#materials input[value=m1]")
    phone.check("#materials input[value=m3]")
    phone.click("#materials button[type=submit]")
    assert shown(phone, "text=不需要")
    phone.uncheck("#materials input[value=m3]")
    phone.check("#materials input[value=m2]")
    phone.click("#materials button[type=submit]")
    assert shown(phone, "text=练习一：选材料 全部正确")
    # 2. channel
    phone.check("#channel input[value=c1]")
    phone.click("#channel button[type=submit]")
    # 3. order: the steps are shown shuffled; give each its true position.
    for index in range(4):
        phone.select_option(f"select[name=pos-{index}]", str(index + 1))
    phone.click("#order button[type=submit]")
    assert shown(phone, "text=练习三：排步骤 全部正确")
    # 4. the form replica
    phone.fill("#f-name", "张阿大")
    phone.fill("#f-id_number", "330624195003150016")
    phone.fill("#f-death_date", "2026-10-08")
    phone.fill("#f-phone", "13857512345")
    phone.select_option("#f-relation", "子女")
    phone.click("#form button[type=submit]")
    assert shown(phone, "text=表单填写正确")
    # the short check
    phone.check("input[name=q-0][value='0']")
    phone.check("input[name=q-1][value=false]")
    phone.check("input[name=q-2][value='0']")
    phone.check("input[name=q-2][value='1']")
    phone.check("input[name=q-3][value=false]")
    phone.check("input[name=q-4][value='0']")
    phone.click("#check button[type=submit]")
    assert shown(phone, "text=本模块已通过")
    phone.goto(f"{base}/learn/")
    assert shown(phone, "text=✓ 已通过")


def test_read_aloud_buttons_say_when_speech_is_unavailable(live_server, phone):
    base, slug = live_server["url"], live_server["ids"]["module"]
    _login(phone, base, "agent-t")
    phone.goto(f"{base}/learn/{slug}")
    phone.wait_for_timeout(1800)  # the script waits for the voice list before deciding
    has_speech = phone.evaluate(
        "'speechSynthesis' in window && speechSynthesis.getVoices().some(v => /^zh/i.test(v.lang))"
    )
    if has_speech:
        assert "朗读" in phone.text_content("#guide .btn-read")
        assert not phone.is_visible("#readaloud-note")
    else:
        # Said once for the page, not once per section; the buttons step aside.
        assert (
            phone.locator("text=无法朗读").count() + phone.locator("text=不支持朗读").count() == 1
        )
        assert shown(phone, "#readaloud-note")
        assert phone.locator(".btn-read:visible").count() == 0
        # In large type the section headings keep their width (no button squeezed beside).
        phone.click("#large-type-toggle")
        widths = phone.evaluate(
            "[...document.querySelectorAll('.section-head h2')]"
            ".map(h => h.getBoundingClientRect().width)"
        )
        assert min(widths) > 250, widths
        phone.click("#large-type-toggle")
