"""Everything an agent sees on their home leads somewhere useful."""

from __future__ import annotations

import re

from academy.extensions import db
from tests import factories


def test_every_item_on_the_home_leads_to_its_module(world, module, login_as):
    without = factories.item("尚无模块的事项")
    world.east_village.items.append(without)
    db.session.commit()
    html = login_as(world.agent_user).get("/home").get_data(as_text=True)
    assert re.search(rf'<a href="/learn/{module.slug}">{world.item.name}</a>', html)
    # An item whose module is not written yet says so, rather than a bare summary link.
    assert '尚无模块的事项</a> <span class="muted">（学习模块还在编写中）' in html
    summary = login_as(world.agent_user).get(f"/items/{world.item.slug}").get_data(as_text=True)
    assert f'href="/learn/{module.slug}"' in summary


def test_staff_pages_show_times_in_beijing_time(world, login_as, client):
    from datetime import datetime

    from academy.audit.services import record

    world.admin.last_login_at = datetime(2026, 3, 5, 5, 33)
    event = record(world.admin, "test.event", world.admin, "测试事件")
    event.at = datetime(2026, 3, 5, 20, 0)
    db.session.commit()
    login_as(world.admin)
    users = client.get("/admin/users").get_data(as_text=True)
    assert "最近登录（北京时间）" in users and "2026-03-05 13:33" in users
    audit = client.get("/audit/").get_data(as_text=True)
    assert "时间（北京时间）" in audit and "2026-03-06 04:00" in audit and "UTC" not in audit


def test_township_head_home_summarises_coverage_with_next_steps(world, module, login_as):
    from academy.certification import services

    services.ensure_default_schemes()
    db.session.commit()
    html = login_as(world.east_head).get("/home").get_data(as_text=True)
    assert 'id="coverage"' in html and "覆盖率 0%" in html
    assert "东一村 · 登记申领</b>：" in html
    assert f"{world.east_agent.name}</a> 学完 1 个模块（{world.item.name}）" in html
    assert "还差 0 个模块" not in html
