"""Staff pages on a phone: a compact menu, charts drawn for the phone's width."""

from __future__ import annotations

import re

import pytest

from academy.analytics import charts


def test_menu_puts_most_used_links_first_and_folds_the_rest(world, login_as):
    html = login_as(world.east_head).get("/audit/").get_data(as_text=True)
    nav = html[html.index('<nav class="wrap nav"') : html.index("</nav>")]
    main, more = nav.split('<details class="nav-more"')
    # Coverage and roster in the first row, the rest (and 退出) under 菜单 without JS.
    assert "持证覆盖" in main and "代办员花名册" in main
    assert "<summary>菜单</summary>" in more
    assert "操作记录" in more and "退出" in more and "修改密码" in more
    assert 'aria-current="page"' in more  # the page we are on is marked


def test_agent_menu_leads_with_learning(world, login_as):
    html = login_as(world.agent_user).get("/learning/").get_data(as_text=True)
    nav = html[html.index('<nav class="wrap nav"') : html.index("</nav>")]
    main = nav.split('<details class="nav-more"')[0]
    assert "学习" in main and "考试" in main and "练习" in main
    assert "持证覆盖" not in nav


def _smallest_text_px(svg: str, shown_width_px: float) -> float:
    """The smallest font size in the SVG, in CSS px once the SVG is scaled to the width
    it is shown at."""
    view_width = float(re.search(r'viewBox="0 0 ([\d.]+) ', svg).group(1))
    sizes = [float(s) for s in re.findall(r"font-size:\s*([\d.]+)px", svg)]
    assert sizes
    return min(sizes) * shown_width_px / view_width


@pytest.mark.parametrize("kind", ["line", "bar"])
def test_phone_chart_labels_are_at_least_12px_at_360(kind):
    labels = [f"26年{m}月" for m in range(1, 13)]
    if kind == "line":
        svg = charts.line_chart("覆盖率", labels, [0.5] * 12, variant="phone").decode()
    else:
        svg = charts.bar_chart(
            "到岗", labels, {"到岗": [1] * 12, "离岗": [2] * 12}, variant="phone"
        ).decode()
    # Shown in a 360 px screen's card: about 306 px wide.
    assert _smallest_text_px(svg, 306) >= 12
    assert "3月" in svg and "26年3月" not in svg  # short month labels fit
    wide = charts.bar_chart("到岗", labels, {"到岗": [1] * 12}).decode()
    assert _smallest_text_px(wide, 306) < 12  # why the phone needs its own variant


def test_dashboard_serves_the_phone_chart_to_narrow_screens(world, login_as):
    client = login_as(world.east_head)
    html = client.get("/dashboard/").get_data(as_text=True)
    assert '<source media="(max-width: 699px)"' in html and "variant=phone" in html
    resp = client.get("/dashboard/charts/turnover.svg?variant=phone")
    assert resp.status_code == 200 and resp.mimetype == "image/svg+xml"


def test_menu_variables_do_not_leak_into_pages(world, login_as):
    """base.html builds the menu in template variables; a page's own variables (the county
    ranking's `first`) must keep their values."""
    html = login_as(world.admin).get("/dashboard/").get_data(as_text=True)
    assert "<td>1. <a" in html and "<td>4. <a" not in html
