"""The learning-event log seen by its users: a learner's journey leaves exactly the events it
should, township heads export only their township, the activity chart reads the log."""

import io
import json
from datetime import date, timedelta

import openpyxl
import pytest
import sqlalchemy as sa

from academy.activity import rules
from academy.activity.models import LearningEvent, ObjectType, Verb
from academy.activity.services import append_many
from academy.audit.models import AuditEvent
from academy.certification import services as certs
from academy.certification.models import Certificate
from academy.extensions import db
from tests.web.test_learning import GOOD_CHECK, _good_form

BAD_CHECK = {"q-0": "1", "q-1": "true", "q-2": ["0"], "q-3": "true", "q-4": "0"}


def _events(**where):
    stmt = sa.select(LearningEvent).order_by(LearningEvent.id)
    for key, value in where.items():
        stmt = stmt.where(getattr(LearningEvent, key) == value)
    return list(db.session.scalars(stmt))


def test_a_learner_journey_logs_every_event_once_and_in_order(world, module, login_as, app):
    certs.ensure_default_schemes()
    db.session.commit()
    client = login_as(world.agent_user)
    page = f"/learn/{module.slug}"
    client.get(page)
    client.get(page)  # a refresh is the same visit
    url = page + "/practice/"
    client.post(url + "materials", data={"choice": ["m1", "m3"]}, follow_redirects=True)
    client.post(url + "materials", data={"choice": ["m1", "m2"]}, follow_redirects=True)
    client.post(url + "channel", data={"choice": "c1"}, follow_redirects=True)
    client.post(url + "order", data={f"pos-{i}": str(i + 1) for i in range(4)})
    client.post(url + "form", data=_good_form(module))
    client.post(page + "/check", data=BAD_CHECK)
    client.post(page + "/check", data=GOOD_CHECK)
    cert = db.session.scalar(
        sa.select(Certificate).where(Certificate.agent_id == world.east_agent.id)
    )
    assert cert is not None  # passing the module earned the certificate

    # A year later it has lapsed; the daily job runs (twice: the second adds nothing).
    cert.issued_on = date.today() - timedelta(days=400)
    cert.expires_on = date.today() - timedelta(days=35)
    db.session.commit()
    runner = app.test_cli_runner()
    first = runner.invoke(args=["certification", "notify"])
    second = runner.invoke(args=["certification", "notify"])
    assert "新记证书过期失效 1 条" in first.output
    assert "新记证书过期失效 0 条" in second.output

    events = _events()
    m = module.id
    assert [(e.verb, e.object_type, e.object_id) for e in events] == [
        (Verb.OPENED, ObjectType.MODULE, str(m)),
        (Verb.ANSWERED, ObjectType.PRACTICE, f"{m}/materials"),
        (Verb.ANSWERED, ObjectType.PRACTICE, f"{m}/materials"),
        (Verb.ANSWERED, ObjectType.PRACTICE, f"{m}/channel"),
        (Verb.ANSWERED, ObjectType.PRACTICE, f"{m}/order"),
        (Verb.ANSWERED, ObjectType.PRACTICE, f"{m}/form"),
        (Verb.FAILED, ObjectType.CHECK, str(m)),
        (Verb.PASSED, ObjectType.CHECK, str(m)),
        (Verb.PASSED, ObjectType.MODULE, str(m)),
        (Verb.ISSUED, ObjectType.CERTIFICATE, str(cert.id)),
        (Verb.LAPSED, ObjectType.CERTIFICATE, str(cert.id)),
    ]
    assert {(e.agent_id, e.township_id, e.village_id) for e in events} == {
        (world.east_agent.id, world.east.id, world.east_village.id)
    }
    assert [e.result["success"] for e in events[1:6]] == [False, True, True, True, True]
    assert events[1].result["response"] == "m1[,]m3" and events[1].result["errors"] >= 1
    assert events[6].result == {"score": 1, "max": 5, "success": False}
    assert events[7].result == {"score": 5, "max": 5, "success": True}
    assert events[1].context == {"parent": f"module:{m}", "part": "materials"}
    assert events[9].object_name == "登记申领类代办资格（初级）"
    assert events[10].at == rules.day_moment(cert.expires_on + timedelta(days=1))


def test_a_failed_request_logs_nothing(world, module, login_as):
    client = login_as(world.agent_user)
    resp = client.post(f"/learn/{module.slug}/practice/materials", data={"choice": ["zz"]})
    assert resp.status_code == 400
    assert _events() == []


def test_staff_previewing_a_module_are_not_learners(world, module, login_as):
    login_as(world.expert).get(f"/learn/{module.slug}")
    login_as(world.east_head).get(f"/learn/{module.slug}")
    assert _events() == []


# --- export ------------------------------------------------------------------------------------


def _seed_two_townships(world, day: date | None = None):
    day = day or date.today()
    at = rules.day_moment(day)
    rows = []
    for agent, village, n in (
        (world.east_agent, world.east_village, 3),
        (world.west_agent, world.west_village, 2),
    ):
        for i in range(n):
            rows.append(
                dict(
                    at=at + timedelta(minutes=i),
                    agent_id=agent.id,
                    verb=Verb.ANSWERED,
                    object_type=ObjectType.PRACTICE,
                    object_id=f"1/part{i}",
                    object_name=f"练习{i}",
                    township_id=village.township_id,
                    village_id=village.id,
                    result={"success": True},
                )
            )
    append_many(rows)
    db.session.commit()


def _range(day: date) -> str:
    return f"date_from={day:%Y-%m-%d}&date_to={day:%Y-%m-%d}"


def test_head_sees_and_exports_only_their_township(world, login_as):
    _seed_two_townships(world)
    client = login_as(world.east_head)
    html = client.get("/activity/").get_data(as_text=True)
    assert "共 3 条" in html and "张东" in html and "李西" not in html
    resp = client.get(f"/activity/export.jsonl?{_range(date.today())}")
    assert resp.status_code == 200 and resp.mimetype == "application/x-ndjson"
    assert "attachment" in resp.headers["Content-Disposition"]
    lines = resp.get_data(as_text=True).splitlines()
    statements = [json.loads(line) for line in lines]
    assert len(statements) == 3
    assert {s["actor"]["name"] for s in statements} == {"张东"}
    assert {s["context"]["extensions"]["urn:academy:ext:township"]["name"] for s in statements} == {
        "东镇"
    }
    # another township, asked for by id: not theirs
    for path in ("/activity/", "/activity/export.jsonl", "/activity/export.xlsx"):
        assert client.get(f"{path}?township_id={world.west.id}").status_code == 404
    audit = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "activity.exported"))
    assert audit.township_id == world.east.id and "共 3 条" in audit.summary


def test_admin_exports_any_or_all_townships_to_excel(world, login_as):
    _seed_two_townships(world)
    client = login_as(world.admin)
    assert "共 5 条" in client.get("/activity/").get_data(as_text=True)
    resp = client.get(f"/activity/export.xlsx?township_id={world.west.id}&{_range(date.today())}")
    assert resp.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(resp.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:6] == ("时间（北京时间）", "镇街", "村社", "代办员", "代办员编号", "动作")
    assert [r[1:4] for r in rows[1:]] == [("西镇", "西一村", "李西")] * 2
    assert rows[1][5] == "作答" and rows[1][8] == "正确"
    all_lines = client.get("/activity/export.jsonl").get_data(as_text=True).splitlines()
    assert len(all_lines) == 5
    assert client.get("/activity/?township_id=99999").status_code == 404


def test_excel_export_is_capped_with_a_message(world, login_as, app, monkeypatch):
    _seed_two_townships(world)
    monkeypatch.setitem(app.config, "ACTIVITY_XLSX_MAX_ROWS", 4)
    resp = login_as(world.admin).get("/activity/export.xlsx")
    assert resp.status_code == 422
    assert "共有 5 条记录，超过 Excel 导出上限 4 条" in resp.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)) == 0


@pytest.mark.parametrize(
    ("query", "message"),
    [
        (
            "date_from=2026-03-10&date_to=2026-03-01",
            "结束日期（2026-03-01）不能早于开始日期（2026-03-10）",
        ),
        ("date_from=2025-01-01&date_to=2026-03-01", "日期范围为 425 天，最长 366 天"),
        ("date_from=2026-02-30&date_to=2026-03-01", "开始日期“2026-02-30”不是有效日期"),
        ("date_from=2026-03-01", "请填写结束日期"),
    ],
)
def test_bad_dates_are_explained(world, login_as, query, message):
    client = login_as(world.east_head)
    for path in ("/activity/", "/activity/export.jsonl", "/activity/export.xlsx"):
        resp = client.get(f"{path}?{query}")
        assert resp.status_code == 400
        assert message in resp.get_data(as_text=True)


def test_verb_filter_and_date_range_select_in_china_time(world, login_as):
    today = date.today()
    _seed_two_townships(world, today - timedelta(days=3))
    append_many(
        [
            dict(
                # 23:30 China time on the day before yesterday: that day, not the next
                at=rules.day_start_utc(today - timedelta(days=2)) - timedelta(minutes=30),
                agent_id=world.east_agent.id,
                verb=Verb.OPENED,
                object_type=ObjectType.MODULE,
                object_id="1",
                object_name="模块",
                township_id=world.east.id,
                village_id=world.east_village.id,
            )
        ]
    )
    db.session.commit()
    client = login_as(world.east_head)
    day = today - timedelta(days=3)
    html = client.get(f"/activity/?{_range(day)}").get_data(as_text=True)
    assert "共 4 条" in html
    html = client.get(f"/activity/?{_range(day)}&verb=opened").get_data(as_text=True)
    assert "共 1 条" in html


def test_nav_link_for_heads_and_admins_only(world, login_as):
    assert "学习记录" in login_as(world.east_head).get("/home").get_data(as_text=True)
    assert "学习记录" in login_as(world.admin).get("/home").get_data(as_text=True)
    assert "/activity/" not in login_as(world.agent_user).get("/home").get_data(as_text=True)
    assert login_as(world.agent_user).get("/activity/").status_code == 403
    assert login_as(world.expert).get("/activity/export.jsonl").status_code == 403


# --- the activity chart reads the log ------------------------------------------------------


def test_training_chart_and_table_count_the_log(world, login_as):
    today = date.today()
    last_month = rules.month_first(today) - timedelta(days=1)
    rows = []
    for at, verb, kind, agent in (
        (rules.day_moment(last_month), Verb.PASSED, ObjectType.MODULE, world.east_agent),
        (rules.day_moment(last_month), Verb.ANSWERED, ObjectType.PRACTICE, world.east_agent),
        (rules.day_moment(today), Verb.ANSWERED, ObjectType.PRACTICE, world.east_agent),
        (rules.day_moment(today), Verb.ANSWERED, ObjectType.PRACTICE, world.east_agent),
        (rules.day_moment(today), Verb.PASSED, ObjectType.MODULE, world.west_agent),
    ):
        village = world.east_village if agent is world.east_agent else world.west_village
        rows.append(
            dict(
                at=at,
                agent_id=agent.id,
                verb=verb,
                object_type=kind,
                object_id="1",
                object_name="x",
                township_id=village.township_id,
                village_id=village.id,
            )
        )
    append_many(rows)
    db.session.commit()
    client = login_as(world.east_head)
    table = client.get("/dashboard/tables/training").get_data(as_text=True)
    assert "通过模块数" in table and "练习作答次数" in table and "活跃学员数" in table
    cells = _table_rows(table)
    assert cells[f"{last_month:%Y-%m}"] == ["1", "1", "1"]
    assert cells[f"{today:%Y-%m}"] == ["0", "2", "1"]  # the west agent's pass is not theirs
    svg = client.get("/dashboard/charts/training.svg")
    assert svg.mimetype == "image/svg+xml" and "活跃学员".encode() in svg.data
    county = _table_rows(
        login_as(world.admin).get("/dashboard/tables/training").get_data(as_text=True)
    )
    assert county[f"{today:%Y-%m}"] == ["1", "2", "2"]


def _table_rows(html: str) -> dict[str, list[str]]:
    import re

    out = {}
    for row in re.findall(r"<tr>(.*?)</tr>", html, re.S):
        cells = re.findall(r"<td>(.*?)</td>", row)
        if cells:
            out[cells[0]] = cells[1:]
    return out
