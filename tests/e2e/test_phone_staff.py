"""Staff pages on a 360 px phone: the menu leaves the screen to the page, tables fit."""

from __future__ import annotations

import pytest

from tests.e2e.waits import shown
from tests.factories import PASSWORD

pytestmark = pytest.mark.e2e


def _login(page, base, username):
    page.goto(base + "/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/home")


def test_staff_menu_is_compact_and_folds_out(live_server, phone):
    base = live_server["url"]
    _login(phone, base, "head-east")
    for path in ("/home", "/dashboard/", "/roster/", "/audit/"):
        phone.goto(base + path)
        header = phone.evaluate("document.querySelector('header.topbar').offsetHeight")
        assert header <= 110, f"{path}: the menu takes {header} of 740 px"
    assert not phone.is_visible("text=操作记录")
    phone.click("summary:has-text('菜单')")
    phone.click("text=操作记录")
    phone.wait_for_url("**/audit/")


def test_menu_opens_without_javascript(live_server, browser):
    ctx = browser.new_context(viewport={"width": 360, "height": 740}, java_script_enabled=False)
    page = ctx.new_page()
    try:
        _login(page, live_server["url"], "admin-t")
        page.click("summary:has-text('菜单')")
        assert shown(page, "nav >> text=账号")
    finally:
        ctx.close()


def test_wide_screen_shows_the_whole_menu(live_server, browser):
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    page = ctx.new_page()
    try:
        _login(page, live_server["url"], "head-east")
        assert shown(page, "nav >> text=操作记录")
        assert not page.is_visible("summary:has-text('菜单')")
    finally:
        ctx.close()


def test_coverage_matrix_and_audit_log_fit_the_phone(live_server, phone):
    base = live_server["url"]
    _login(phone, base, "head-east")
    for path, table in (("/dashboard/", "table.matrix"), ("/audit/", "table.fit")):
        phone.goto(base + path)
        if not phone.query_selector(table):
            continue
        hidden = phone.evaluate(
            "sel => { const w = document.querySelector(sel).closest('.table-wrap');"
            " return w.scrollWidth - w.clientWidth; }",
            table,
        )
        assert hidden <= 2, f"{path}: {hidden}px of the table are off screen"
