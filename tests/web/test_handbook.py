"""一村社一手册: the printable village and township handbooks."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import sqlalchemy as sa
import yaml

from academy.catalogue.models import ItemCategory
from academy.extensions import db
from academy.learning.models import Module
from academy.roster.models import AgentKind, LeaveReason
from tests import factories
from tests.content_samples import valid_module


def add_module(item, **changes) -> Module:
    document = valid_module(item.slug)
    document.update(changes)
    module = Module(
        slug=item.slug,
        item=item,
        title=document["title"],
        source=yaml.safe_dump(document, allow_unicode=True, sort_keys=False),
        document=document,
    )
    db.session.add(module)
    db.session.flush()
    return module


@pytest.fixture
def with_module(world):
    module = add_module(world.item)
    db.session.commit()
    return module


def page(client, url: str) -> str:
    resp = client.get(url)
    assert resp.status_code == 200, resp.status_code
    return resp.get_data(as_text=True)


@pytest.mark.parametrize("who", ["admin", "east_head", "expert"])
def test_village_handbook_has_cover_toc_and_module(world, with_module, login_as, who):
    html = page(login_as(getattr(world, who)), f"/handbook/villages/{world.east_village.id}?full=1")
    # Cover: township + village, tier, active agents with kind and phone, date printed.
    assert "东镇" in html and "东一村" in html
    assert "标准型服务站" in html
    assert world.east_agent.name in html and world.east_agent.phone in html
    assert AgentKind.FULL_TIME.label in html
    today = date.today()
    assert f"{today.year}年{today.month}月{today.day}日" in html
    # Table of contents, grouped by category, linking to the item's section.
    assert "目录" in html
    assert world.item.category.label in html
    assert f'href="#v{world.east_village.id}-item-{world.item.id}"' in html
    # The module: materials table, steps, signer, tell-once box, mistakes, emergencies.
    assert "办理材料" in html and "死亡证明" in html and "原件和复印件" in html
    assert "一次性告知" in html and "您带上死亡证明和您的身份证" in html
    assert "镇社保所复核" in html
    assert "镇社保所经办人审核盖章" in html
    assert "漏带继承关系证明" in html and "系统故障" in html
    assert "详细指南编写中" not in html
    # Printable: print stylesheet and the print button (script file, no inline JS).
    assert "css/print.css" in html and "js/handbook.js" in html
    assert 'id="print-button"' in html
    assert "onclick" not in html
    assert "完整指南版" in html


def test_counter_edition_is_one_page_per_item_without_the_full_guide(world, with_module, login_as):
    """The handbook kept at the counter: materials, where, time limit and the one-time
    script, one page per item; steps, mistakes and emergencies only on request."""
    html = page(login_as(world.east_head), f"/handbook/villages/{world.east_village.id}")
    assert "柜台版" in html
    assert "死亡证明" in html and "原件和复印件" in html  # materials
    assert "在哪里办" in html
    assert "一次性告知" in html and "您带上死亡证明和您的身份证" in html
    assert html.count("hb-item-page") == 1
    assert "镇社保所经办人审核盖章" not in html  # signer
    assert "漏带继承关系证明" not in html and "系统故障" not in html  # mistakes, emergencies
    assert "<h4>办理步骤</h4>" not in html
    assert f'href="/handbook/villages/{world.east_village.id}?full=1"' in html


def test_departed_agent_not_on_cover(world, login_as):
    posting = world.east_agent.postings[0]
    posting.left_on = date.today() - timedelta(days=1)
    posting.leave_reason = LeaveReason.RESIGNED
    newcomer = factories.agent(world.east_village, "王新", kind=AgentKind.FALLBACK)
    db.session.commit()
    html = page(login_as(world.east_head), f"/handbook/villages/{world.east_village.id}")
    assert world.east_agent.name not in html
    assert newcomer.name in html and newcomer.phone in html
    assert AgentKind.FALLBACK.label in html


def test_item_without_module_prints_catalogue_facts(world, login_as):
    html = page(login_as(world.admin), f"/handbook/villages/{world.east_village.id}")
    assert world.item.name in html
    assert "详细指南编写中" in html
    assert world.item.department in html
    assert world.item.time_limit in html and world.item.fee in html
    assert world.item.summary in html
    assert "现场办" in html
    assert "办理材料" not in html


def test_toc_follows_catalogue_order(world, login_as):
    rare = factories.item("缴纳电费", category=ItemCategory.PAYMENT, frequency=1)
    often = factories.item("缴纳水费", category=ItemCategory.PAYMENT, frequency=5)
    cert = factories.item("开具证明", category=ItemCategory.CERTIFICATE, frequency=2)
    world.east_village.items.extend([rare, often, cert])
    db.session.commit()
    html = page(login_as(world.admin), f"/handbook/villages/{world.east_village.id}")
    positions = [html.index(name) for name in ("开具证明", world.item.name, "缴纳水费", "缴纳电费")]
    assert positions == sorted(positions)


def test_retired_item_is_not_printed(world, with_module, login_as):
    old = factories.item("已停办的旧事项")
    old.retired = True
    world.east_village.items.append(old)
    db.session.commit()
    html = page(login_as(world.admin), f"/handbook/villages/{world.east_village.id}")
    assert "已停办的旧事项" not in html
    assert world.item.name in html


def test_retired_module_is_not_printed(world, with_module, login_as):
    with_module.retired = True
    db.session.commit()
    html = page(login_as(world.admin), f"/handbook/villages/{world.east_village.id}")
    assert "详细指南编写中" in html and "死亡证明" not in html


def test_markdown_rendered_and_html_escaped(world, login_as):
    add_module(
        world.item,
        tell_once="请带上 **户口簿原件** <script>alert('x')</script>",
        guide={
            **valid_module(world.item.slug)["guide"],
            "steps": ["先核对 *身份证*", "再录入<img src=x onerror=alert(1)>"],
        },
    )
    db.session.commit()
    html = page(login_as(world.admin), f"/handbook/villages/{world.east_village.id}?full=1")
    assert "<strong>户口簿原件</strong>" in html
    assert "<em>身份证</em>" in html
    assert "<script>alert" not in html
    assert "&lt;script&gt;" in html
    assert "<img" not in html


def test_head_of_other_township_gets_404(world, with_module, login_as):
    client = login_as(world.west_head)
    assert client.get(f"/handbook/villages/{world.east_village.id}").status_code == 404
    assert client.get(f"/handbook/townships/{world.east.id}").status_code == 404
    assert client.get(f"/handbook/villages/{world.west_village.id}").status_code == 200
    assert client.get(f"/handbook/townships/{world.west.id}").status_code == 200


def test_unknown_ids_are_404(world, login_as):
    client = login_as(world.admin)
    assert client.get("/handbook/villages/999999").status_code == 404
    assert client.get("/handbook/townships/999999").status_code == 404


def test_agent_gets_own_village_only(world, with_module, login_as):
    client = login_as(world.agent_user)
    resp = client.get("/handbook/mine")
    assert resp.status_code == 302
    assert resp.headers["Location"].endswith(f"/handbook/villages/{world.east_village.id}")
    html = page(client, resp.headers["Location"])
    assert "东一村" in html and "死亡证明" in html
    assert client.get(f"/handbook/villages/{world.west_village.id}").status_code == 404
    assert client.get(f"/handbook/villages/{world.east_village2.id}").status_code == 404
    assert client.get(f"/handbook/townships/{world.east.id}").status_code == 403


def test_agent_without_active_posting_has_no_handbook(world, login_as):
    posting = world.east_agent.postings[0]
    posting.left_on = date.today()
    posting.leave_reason = LeaveReason.RESIGNED
    db.session.commit()
    client = login_as(world.agent_user)
    assert client.get("/handbook/mine").status_code == 404
    assert client.get(f"/handbook/villages/{world.east_village.id}").status_code == 404


def test_mine_is_for_agents(world, login_as):
    assert login_as(world.admin).get("/handbook/mine").status_code == 403


def test_anonymous_is_sent_to_login(world, client):
    resp = client.get(f"/handbook/villages/{world.east_village.id}")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]


def test_township_view_lists_its_villages_handbooks_to_print_separately(
    world, with_module, login_as
):
    html = page(login_as(world.east_head), f"/handbook/townships/{world.east.id}")
    assert f'href="/handbook/villages/{world.east_village.id}"' in html
    assert f'href="/handbook/villages/{world.east_village2.id}"' in html
    assert f'/handbook/villages/{world.west_village.id}"' not in html
    assert "东一村" in html and "东二村" in html and "西一村" not in html
    assert world.west_agent.name not in html
    assert world.east_agent.name in html
    # A table of contents, not every village's handbook in one volume.
    assert 'class="hb-village"' not in html
    assert "死亡证明" not in html


def test_township_handbook_for_admin_not_expert(world, login_as):
    assert login_as(world.admin).get(f"/handbook/townships/{world.west.id}").status_code == 200
    assert login_as(world.expert).get(f"/handbook/townships/{world.west.id}").status_code == 403


def _count_queries(client, url: str) -> int:
    statements: list[str] = []

    def _before(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", _before)
    try:
        page(client, url)
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", _before)
    return len(statements)


def test_query_count_does_not_grow_with_items(world, login_as):
    small = factories.village(world.east, "一项村", items=[world.item])
    add_module(world.item)
    many = [factories.item(category=c) for c in [*ItemCategory, ItemCategory.PAYMENT]]
    for item in many:
        add_module(item)
    big = factories.village(world.east, "五项村", items=many)
    for v in (small, big):
        factories.agent(v)
        factories.agent(v, kind=AgentKind.VOLUNTEER)
    db.session.commit()
    client = login_as(world.east_head)
    page(client, f"/handbook/villages/{small.id}")  # warm-up
    one = _count_queries(client, f"/handbook/villages/{small.id}")
    five = _count_queries(client, f"/handbook/villages/{big.id}")
    assert one == five
    assert five <= 10


def test_township_query_count_does_not_grow_with_villages(world, login_as):
    client = login_as(world.admin)
    page(client, f"/handbook/townships/{world.east.id}")  # warm-up
    before = _count_queries(client, f"/handbook/townships/{world.east.id}")
    for n in range(3):
        it = factories.item()
        add_module(it)
        v = factories.village(world.east, f"新村{n}", items=[it, world.item])
        factories.agent(v)
    db.session.commit()
    after = _count_queries(client, f"/handbook/townships/{world.east.id}")
    assert before == after
