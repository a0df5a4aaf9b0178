"""axe-core (tests/e2e/vendor/axe.min.js, MPL-2.0) on the main pages of every role, on a
360 px phone and a 1280 px desktop: no serious or critical violation."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.factories import PASSWORD

pytestmark = pytest.mark.e2e

AXE = (Path(__file__).parent / "vendor" / "axe.min.js").read_text(encoding="utf-8")

PAGES = {
    "agent-t": [
        "/home",
        "/learn/",
        "/learn/{module}",
        "/practice/",
        "/exams/",
        "/certificates/",
        "/items/",
    ],
    "head-east": [
        "/home",
        "/dashboard/",
        "/roster/",
        "/certificates/",
        "/audit/",
        "/villages",
        "/plans/",
        "/activity/",
    ],
    "admin-t": [
        "/home",
        "/admin/users",
        "/townships",
        "/questions/",
        "/competitions/",
        "/manage/exams/",
    ],
    "expert-t": ["/home", "/learn/{module}/edit", "/learn/{module}/history", "/questions/"],
}


def _violations(page) -> list[dict]:
    page.add_script_tag(content=AXE)
    return page.evaluate(
        """axe.run(document, {resultTypes: ['violations']}).then(r => r.violations
             .filter(v => v.impact === 'serious' || v.impact === 'critical')
             .map(v => ({id: v.id, impact: v.impact,
                         where: v.nodes.slice(0, 3).map(n => n.target.join(' '))})))"""
    )


@pytest.mark.parametrize("width", [360, 1280])
@pytest.mark.parametrize("username", list(PAGES))
def test_main_pages_have_no_serious_axe_violations(live_server, browser, username, width):
    base, module = live_server["url"], live_server["ids"]["module"]
    # The app's CSP forbids inline scripts; only the test's injected axe needs the bypass.
    ctx = browser.new_context(
        viewport={"width": width, "height": 800}, locale="zh-CN", bypass_csp=True
    )
    page = ctx.new_page()
    try:
        page.goto(base + "/login")
        page.fill("#username", username)
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url("**/home")
        found = {}
        for path in PAGES[username]:
            resp = page.goto(base + path.format(module=module))
            assert resp.status == 200, path
            page.wait_for_load_state("networkidle")
            if bad := _violations(page):
                found[path] = bad
        assert not found, found
    finally:
        ctx.close()
