"""Roles and township scope are enforced on every route, in queries."""

from datetime import date

import pytest
import sqlalchemy as sa

from academy.extensions import db
from academy.roster.models import Posting

TODAY = date.today().isoformat()


@pytest.mark.parametrize(
    ("who", "url"),
    [
        ("agent_user", "/roster/"),
        ("agent_user", "/villages"),
        ("agent_user", "/audit/"),
        ("expert", "/roster/"),
        ("expert", "/admin/users"),
        ("east_head", "/admin/users"),
        ("east_head", "/townships"),
        ("east_head", "/villages/new"),
    ],
)
def test_role_without_permission_gets_403(world, login_as, who, url):
    resp = login_as(getattr(world, who)).get(url)
    assert resp.status_code == 403
    assert "没有权限" in resp.get_data(as_text=True)


def test_head_cannot_open_other_townships_village_or_agent(world, login_as):
    client = login_as(world.east_head)
    assert client.get(f"/villages/{world.east_village.id}").status_code == 200
    assert client.get(f"/villages/{world.west_village.id}").status_code == 404
    assert client.get(f"/roster/{world.east_agent.id}").status_code == 200
    assert client.get(f"/roster/{world.west_agent.id}").status_code == 404
    assert client.get(f"/roster/{world.west_agent.id}/depart").status_code == 404


def test_head_cannot_record_departure_in_other_township(world, login_as):
    client = login_as(world.east_head)
    resp = client.post(
        f"/roster/{world.west_agent.id}/depart", data={"left_on": TODAY, "reason": "resigned"}
    )
    assert resp.status_code == 404
    posting = db.session.scalar(sa.select(Posting).where(Posting.agent_id == world.west_agent.id))
    assert posting.left_on is None


def test_head_cannot_enrol_into_other_townships_village(world, login_as):
    client = login_as(world.east_head)
    resp = client.post(
        "/roster/new",
        data={
            "village_id": world.west_village.id,
            "kind": "full_time",
            "joined_on": TODAY,
            "name": "王五",
            "phone": "13800001111",
        },
    )
    assert resp.status_code == 200
    assert "请从列表中选择一项" in resp.get_data(as_text=True)
    assert (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(Posting)
            .where(Posting.village_id == world.west_village.id)
        )
        == 1
    )


def test_head_roster_and_village_lists_show_only_own_township(world, login_as):
    client = login_as(world.east_head)
    roster = client.get("/roster/?status=all").get_data(as_text=True)
    assert "张东" in roster and "李西" not in roster
    villages = client.get("/villages").get_data(as_text=True)
    assert "东一村" in villages and "西一村" not in villages
    # A filter naming another township's village returns nothing, not its rows.
    other = client.get(f"/roster/?village_id={world.west_village.id}&status=all")
    assert "李西" not in other.get_data(as_text=True)


def test_head_home_shows_only_own_township(world, login_as):
    html = login_as(world.east_head).get("/home").get_data(as_text=True)
    assert "东二村" in html  # east village without an agent
    assert "西一村" not in html


def test_admin_sees_every_township(world, login_as):
    client = login_as(world.admin)
    roster = client.get("/roster/").get_data(as_text=True)
    assert "张东" in roster and "李西" in roster
    assert client.get(f"/villages/{world.west_village.id}").status_code == 200


def test_head_audit_log_is_scoped(world, login_as):
    admin = login_as(world.admin)
    admin.post(
        f"/roster/{world.west_agent.id}/depart",
        data={"left_on": TODAY, "reason": "resigned"},
        follow_redirects=True,
    )
    admin.post(
        f"/roster/{world.east_agent.id}/depart",
        data={"left_on": TODAY, "reason": "retired"},
        follow_redirects=True,
    )
    east = login_as(world.east_head).get("/audit/").get_data(as_text=True)
    assert "张东" in east and "李西" not in east


# --- access follows the current posting ---------------------------------------------------


@pytest.fixture
def moved(world):
    """张东 moved from the east township to the west one a month ago, with a certificate."""
    from datetime import timedelta

    from academy.certification import services as certs
    from academy.certification.models import CertificationScheme, CertSource
    from academy.roster import services as roster

    certs.ensure_default_schemes()
    scheme = db.session.scalars(sa.select(CertificationScheme)).first()
    cert = certs.issue_certificate(
        world.east_agent, scheme, date.today() - timedelta(days=60), CertSource.MANUAL, world.admin
    )
    roster.transfer_agent(
        world.admin,
        world.east_agent.current_posting,
        world.west_village,
        date.today() - timedelta(days=30),
    )
    db.session.commit()
    return cert


def test_old_township_loses_the_person_who_moved_away(world, login_as, moved):
    agent = world.east_agent
    old = login_as(world.east_head)
    for url in (
        f"/roster/{agent.id}",
        f"/roster/{agent.id}/edit",
        f"/certificates/{moved.id}",
        f"/certificates/{moved.id}/document",
        f"/certificates/?agent_id={agent.id}",
    ):
        assert old.get(url).status_code == 404, url
    resp = old.post(f"/roster/{agent.id}/edit", data={"name": "改名", "phone": "13900000000"})
    assert resp.status_code == 404
    db.session.expire_all()
    assert agent.name == "张东"
    assert moved.code not in old.get("/certificates/").get_data(as_text=True)
    # The new township's head has them now.
    new = login_as(world.west_head)
    html = new.get(f"/roster/{agent.id}").get_data(as_text=True)
    assert agent.phone in html and "西一村" in html
    assert new.get(f"/certificates/{moved.id}").status_code == 200


def test_old_township_keeps_the_history_without_todays_personal_data(world, login_as, moved):
    agent = world.east_agent
    old = login_as(world.east_head)
    roster = old.get("/roster/?status=left").get_data(as_text=True)
    assert "张东" in roster and "东一村" in roster and "已调离" in roster
    assert agent.phone not in roster and f"/roster/{agent.id}" not in roster
    village = old.get(f"/villages/{world.east_village.id}").get_data(as_text=True)
    assert "张东" in village and agent.phone not in village
    assert f"/roster/{agent.id}" not in village


def test_old_township_export_has_the_posting_but_not_the_phone(world, login_as, moved):
    import io

    import openpyxl

    resp = login_as(world.east_head).get("/roster/export.xlsx?status=all")
    assert resp.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(resp.data), read_only=True).worksheets[0]
    rows = [[str(c) if c is not None else "" for c in r] for r in sheet.iter_rows(values_only=True)]
    mine = [r for r in rows if "张东" in r]
    assert mine and all(world.east_agent.phone not in r for r in mine)
