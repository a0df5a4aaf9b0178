"""Roster operations through the web: history is kept through departures, transfers, returns."""

from datetime import date, timedelta

import sqlalchemy as sa

from academy.audit.models import AuditEvent
from academy.extensions import db
from academy.roster.models import Agent, LeaveReason, Posting
from academy.roster.rules import id_check_char

TODAY = date.today()


def _valid_id(birth: str = "19800101", seq: str = "123") -> str:
    first17 = f"330624{birth}{seq}"
    return first17 + id_check_char(first17)


def _enrol(client, village_id, **over):
    data = {
        "village_id": village_id,
        "kind": "full_time",
        "joined_on": TODAY.isoformat(),
        "name": "王小红",
        "phone": "13900001111",
        "id_number": "",
        "birth_year": "",
        "gender": "",
        "education": "",
    }
    data.update(over)
    return client.post("/roster/new", data=data)


def test_enrol_creates_agent_posting_and_audit(world, login_as):
    client = login_as(world.east_head)
    resp = _enrol(client, world.east_village2.id, id_number=_valid_id(), gender="female")
    assert resp.status_code == 302
    assert "王小红" in client.get(resp.headers["Location"]).get_data(as_text=True)
    agent = db.session.scalar(sa.select(Agent).where(Agent.name == "王小红"))
    assert agent.birth_year == 1980  # taken from the ID number
    assert agent.current_posting.village_id == world.east_village2.id
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "roster.enrolled"))
    assert event.township_id == world.east.id and event.actor_id == world.east_head.id
    # The village is no longer listed as lacking an agent.
    assert "东二村" not in client.get("/home").get_data(as_text=True).split("近 90 天离岗")[0]


def test_enrol_reports_each_bad_field_in_chinese(world, login_as):
    client = login_as(world.east_head)
    bad_id = _valid_id()[:-1] + ("0" if _valid_id()[-1] != "0" else "1")
    html = _enrol(
        client,
        world.east_village2.id,
        name="",
        phone="12345",
        id_number=bad_id,
        joined_on="2026-02-30",
    ).get_data(as_text=True)
    assert "请填写姓名" in html
    assert "电话号码格式不正确" in html
    assert "校验位不正确" in html
    assert "不是有效的日期值" in html
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Agent)) == 2


def test_enrol_rejects_future_join_date_and_duplicate_id(world, login_as):
    client = login_as(world.east_head)
    future = (TODAY + timedelta(days=3)).isoformat()
    assert "不能晚于今天" in _enrol(client, world.east_village2.id, joined_on=future).get_data(
        as_text=True
    )
    ident = _valid_id("19750505", "222")
    assert _enrol(client, world.east_village2.id, id_number=ident).status_code == 302
    again = _enrol(client, world.east_village.id, name="另一人", id_number=ident)
    assert "已有此身份证号" in again.get_data(as_text=True)


def test_departure_keeps_history_and_shows_in_left_list(world, login_as):
    client = login_as(world.east_head)
    resp = client.post(
        f"/roster/{world.east_agent.id}/depart",
        data={"left_on": TODAY.isoformat(), "reason": "resigned", "note": "外出务工"},
    )
    assert resp.status_code == 302
    assert "历史记录已保留" in client.get(resp.headers["Location"]).get_data(as_text=True)
    posting = db.session.scalar(sa.select(Posting).where(Posting.agent_id == world.east_agent.id))
    assert posting.left_on == TODAY and posting.leave_reason == LeaveReason.RESIGNED
    assert "张东" not in client.get("/roster/").get_data(as_text=True)
    assert "张东" in client.get("/roster/?status=left").get_data(as_text=True)
    detail = client.get(f"/roster/{world.east_agent.id}").get_data(as_text=True)
    assert "辞职" in detail and "外出务工" in detail and "重新到岗" in detail
    # The village has nobody left: it appears in the township head's gap list at once.
    home = client.get("/home").get_data(as_text=True)
    assert "东一村" in home.split("近 90 天离岗")[0]


def test_departure_date_rules(world, login_as):
    client = login_as(world.east_head)
    before = (world.east_agent.postings[0].joined_on - timedelta(days=1)).isoformat()
    html = client.post(
        f"/roster/{world.east_agent.id}/depart", data={"left_on": before, "reason": "resigned"}
    ).get_data(as_text=True)
    assert "不能早于到岗日期" in html
    tomorrow = (TODAY + timedelta(days=1)).isoformat()
    html = client.post(
        f"/roster/{world.east_agent.id}/depart", data={"left_on": tomorrow, "reason": "resigned"}
    ).get_data(as_text=True)
    assert "不能晚于今天" in html
    assert world.east_agent.current_posting is not None


def test_transfer_closes_old_posting_and_opens_new(world, login_as):
    client = login_as(world.east_head)
    resp = client.post(
        f"/roster/{world.east_agent.id}/transfer",
        data={"village_id": world.east_village2.id, "on": TODAY.isoformat(), "kind": "volunteer"},
    )
    assert resp.status_code == 302
    postings = db.session.scalars(
        sa.select(Posting).where(Posting.agent_id == world.east_agent.id).order_by(Posting.id)
    ).all()
    assert len(postings) == 2
    assert postings[0].leave_reason == LeaveReason.TRANSFERRED and postings[0].left_on == TODAY
    assert postings[1].village_id == world.east_village2.id and postings[1].left_on is None
    detail = client.get(f"/roster/{world.east_agent.id}").get_data(as_text=True)
    assert "东一村" in detail and "东二村" in detail and "调往" in detail


def test_head_cannot_transfer_into_another_township(world, login_as):
    client = login_as(world.east_head)
    resp = client.post(
        f"/roster/{world.east_agent.id}/transfer",
        data={"village_id": world.west_village.id, "on": TODAY.isoformat(), "kind": "full_time"},
    )
    assert "请从列表中选择一项" in resp.get_data(as_text=True)
    assert world.east_agent.current_posting.village_id == world.east_village.id


def test_rejoin_after_leaving(world, login_as):
    client = login_as(world.east_head)
    left = TODAY - timedelta(days=10)
    client.post(
        f"/roster/{world.east_agent.id}/depart",
        data={"left_on": left.isoformat(), "reason": "other"},
    )
    too_early = (left - timedelta(days=1)).isoformat()
    html = client.post(
        f"/roster/{world.east_agent.id}/rejoin",
        data={"village_id": world.east_village.id, "kind": "full_time", "joined_on": too_early},
    ).get_data(as_text=True)
    assert "不能早于上一次离岗日期" in html
    resp = client.post(
        f"/roster/{world.east_agent.id}/rejoin",
        data={
            "village_id": world.east_village.id,
            "kind": "fallback",
            "joined_on": TODAY.isoformat(),
        },
    )
    assert resp.status_code == 302
    postings = db.session.scalars(
        sa.select(Posting).where(Posting.agent_id == world.east_agent.id)
    ).all()
    assert len(postings) == 2 and sum(p.left_on is None for p in postings) == 1


def test_edit_person_records_changes(world, login_as):
    client = login_as(world.east_head)
    resp = client.post(
        f"/roster/{world.east_agent.id}/edit",
        data={
            "name": "张东",
            "phone": "0575-86012345",
            "id_number": "",
            "birth_year": "1970",
            "gender": "male",
            "education": "junior",
        },
    )
    assert resp.status_code == 302
    assert world.east_agent.phone == "0575-86012345"
    event = db.session.scalar(
        sa.select(AuditEvent).where(AuditEvent.action == "roster.person_updated")
    )
    assert event.details["phone"][1] == "0575-86012345"


def test_roster_search_and_pagination(world, login_as):
    from tests import factories

    for i in range(30):
        factories.agent(world.east_village2, name=f"批量{i:02d}")
    db.session.commit()
    client = login_as(world.east_head)
    first = client.get("/roster/?q=批量").get_data(as_text=True)
    assert "第 1 / 2 页" in first and "共 30 条" in first
    assert "张东" not in first
    second = client.get("/roster/?q=批量&page=2").get_data(as_text=True)
    assert "批量" in second
    assert client.get("/roster/?q=批量&page=9").status_code == 404
    kinds = client.get("/roster/?kind=fallback").get_data(as_text=True)
    assert "没有符合条件的代办员" in kinds
