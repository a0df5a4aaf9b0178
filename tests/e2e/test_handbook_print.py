"""The counter handbook prints one A4 page per item after a short cover and index."""

from __future__ import annotations

import re

import pytest

from tests.factories import PASSWORD

pytestmark = pytest.mark.e2e


def _pages(pdf: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page(?![s\w])", pdf))


def test_counter_handbook_is_one_page_per_item(live_server, browser):
    base = live_server["url"]
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    page = ctx.new_page()
    try:
        page.goto(base + "/login")
        page.fill("#username", "head-east")
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url("**/home")
        page.goto(base + "/handbook/villages/" + str(_east_village_id(live_server)))
        items = page.locator(".hb-item-page").count()
        assert items >= 1
        counter = _pages(page.pdf(format="A4"))
        assert counter <= items + 2  # cover and index share the first page(s)
        page.goto(page.url + "?full=1")
        assert page.locator(".hb-item-page").count() == 0
        assert _pages(page.pdf(format="A4")) >= 1
    finally:
        ctx.close()


def _east_village_id(live_server) -> int:
    import sqlalchemy as sa

    from academy.extensions import db
    from academy.roster.models import Posting

    with live_server["app"].app_context():
        return db.session.scalar(
            sa.select(Posting.village_id).where(
                Posting.agent_id == live_server["ids"]["east_agent"]
            )
        )
