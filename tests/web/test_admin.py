"""County admin: accounts, townships and villages (tier, items offered)."""

import sqlalchemy as sa

from academy.audit.models import AuditEvent
from academy.auth.models import Role, User
from academy.extensions import db
from academy.regions.models import Township, Village
from tests.factories import PASSWORD


def test_admin_creates_township_head_and_they_can_log_in(client, world, login_as):
    admin = login_as(world.admin)
    resp = admin.post(
        "/admin/users/new",
        data={
            "username": "head-new",
            "display_name": "新负责人",
            "role": "township_head",
            "township_id": world.west.id,
            "agent_id": "",
            "password": "start2026",
        },
    )
    assert resp.status_code == 302
    user = db.session.scalar(sa.select(User).where(User.username == "head-new"))
    assert user.township_id == world.west.id and user.role == Role.TOWNSHIP_HEAD
    admin.post("/logout")
    assert (
        client.post("/login", data={"username": "head-new", "password": "start2026"}).status_code
        == 302
    )


def test_user_form_errors(world, login_as):
    admin = login_as(world.admin)
    html = admin.post(
        "/admin/users/new",
        data={
            "username": "head-east",
            "display_name": "重复",
            "role": "township_head",
            "township_id": "",
            "agent_id": "",
            "password": "start2026",
        },
    ).get_data(as_text=True)
    assert "该用户名已被使用" in html
    html = admin.post(
        "/admin/users/new",
        data={
            "username": "nohome",
            "display_name": "无镇街",
            "role": "township_head",
            "township_id": "",
            "agent_id": "",
            "password": "start2026",
        },
    ).get_data(as_text=True)
    assert "必须指定所属镇街" in html
    html = admin.post(
        "/admin/users/new",
        data={
            "username": "bad name!",
            "display_name": "x",
            "role": "agent",
            "township_id": "",
            "agent_id": "abc",
            "password": "short",
        },
    ).get_data(as_text=True)
    assert (
        "用户名只能包含" in html and "花名册中没有名为“abc”的代办员" in html and "长度需在" in html
    )
    html = admin.post(
        "/admin/users/new",
        data={
            "username": "dupagent",
            "display_name": "x",
            "role": "agent",
            "township_id": "",
            "agent_id": str(world.east_agent.id),
            "password": "start2026",
        },
    ).get_data(as_text=True)
    assert "该代办员已有账号" in html


def test_admin_cannot_deactivate_self_but_can_deactivate_others(world, login_as):
    admin = login_as(world.admin)
    admin.post(f"/admin/users/{world.admin.id}/active", data={"active": "0"})
    assert world.admin.active
    admin.post(f"/admin/users/{world.east_head.id}/active", data={"active": "0"})
    assert not world.east_head.active
    listing = admin.get("/admin/users?status=inactive").get_data(as_text=True)
    assert "head-east" in listing and "head-west" not in listing


def test_admin_resets_password(client, world, login_as):
    admin = login_as(world.admin)
    weak = admin.post(f"/admin/users/{world.agent_user.id}/password", data={"password": "abc"})
    assert weak.status_code == 400
    admin.post(f"/admin/users/{world.agent_user.id}/password", data={"password": "reset2026"})
    admin.post("/logout")
    assert (
        client.post("/login", data={"username": "agent-t", "password": PASSWORD}).status_code == 200
    )
    assert (
        client.post("/login", data={"username": "agent-t", "password": "reset2026"}).status_code
        == 302
    )


def test_admin_edits_village_tier_and_items(world, login_as):
    admin = login_as(world.admin)
    resp = admin.post(
        f"/villages/{world.east_village2.id}/edit",
        data={
            "township_id": world.east.id,
            "name": "东二村",
            "kind": "village",
            "tier": "model",
            "area": "梅棠雅集",
            "items": [str(world.item.id)],
        },
    )
    assert resp.status_code == 302
    village = db.session.get(Village, world.east_village2.id)
    assert village.tier.label == "示范型" and [i.id for i in village.items] == [world.item.id]
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "village.updated"))
    assert event.details["added_items"] == [world.item.id]


def test_village_name_must_be_unique_in_township(world, login_as):
    html = (
        login_as(world.admin)
        .post(
            "/villages/new",
            data={
                "township_id": world.east.id,
                "name": "东一村",
                "kind": "village",
                "tier": "basic",
            },
        )
        .get_data(as_text=True)
    )
    assert "已有同名的村" in html


def test_unknown_item_id_is_rejected(world, login_as):
    html = (
        login_as(world.admin)
        .post(
            "/villages/new",
            data={
                "township_id": world.east.id,
                "name": "东三村",
                "kind": "village",
                "tier": "basic",
                "items": ["999999"],
            },
        )
        .get_data(as_text=True)
    )
    assert "请从列表中选择一项" in html or "不存在的事项" in html
    assert db.session.scalar(sa.select(Village).where(Village.name == "东三村")) is None


def test_admin_creates_township(world, login_as):
    admin = login_as(world.admin)
    resp = admin.post(
        "/townships/new", data={"name": "南镇", "kind": "town", "code": "", "position": "5"}
    )
    assert resp.status_code == 302
    assert db.session.scalar(sa.select(Township).where(Township.name == "南镇")) is not None
    html = admin.post("/townships/new", data={"name": "东镇", "kind": "town", "code": ""}).get_data(
        as_text=True
    )
    assert "已有同名的镇街" in html
    html = admin.post(
        "/townships/new", data={"name": "北镇", "kind": "town", "code": "12"}
    ).get_data(as_text=True)
    assert "区划代码应为" in html


def test_admin_links_an_agent_account_by_name_or_phone_not_by_an_id(client, world, login_as):
    from tests import factories

    newcomer = factories.agent(world.west_village, "王新来")
    db.session.commit()
    admin = login_as(world.admin)
    detail = admin.get(f"/roster/{newcomer.id}").get_data(as_text=True)
    assert "开通登录账号" in detail
    form = admin.get(f"/admin/users/new?agent={newcomer.phone}&name={newcomer.name}").get_data(
        as_text=True
    )
    assert newcomer.phone in form and "网址" not in form
    resp = admin.post(
        "/admin/users/new",
        data={
            "username": "agent-west",
            "display_name": "王新来",
            "role": "agent",
            "township_id": "",
            "agent_id": "王新来",
            "password": "secret12345",
        },
    )
    assert resp.status_code == 302
    user = db.session.scalar(sa.select(User).where(User.username == "agent-west"))
    assert user.agent_id == newcomer.id
    edit = admin.get(f"/admin/users/{user.id}").get_data(as_text=True)
    assert f"王新来 {newcomer.phone}" in edit


def test_staff_pages_show_no_commands_or_file_paths(client, world, login_as):
    for user, paths in (
        (world.admin, ["/home", "/dashboard/", "/certificates/archive", "/questions/banks/"]),
        (world.expert, ["/home", "/questions/banks/"]),
    ):
        login_as(user)
        for path in paths:
            html = client.get(path).get_data(as_text=True)
            for word in ("flask ", ".yaml", "content sync"):
                assert word not in html, f"{path} shows {word!r}"
