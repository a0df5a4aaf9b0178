"""Roster import/export through the web: check, preview, confirm all-or-nothing, scope."""

from __future__ import annotations

import dataclasses
import io
import re
from datetime import date, timedelta
from pathlib import Path

import openpyxl
import pytest
import sqlalchemy as sa

from academy.audit.models import AuditEvent
from academy.extensions import db
from academy.learning.models import OnboardingPlan
from academy.roster import excel_views
from academy.roster.excel import COLUMNS
from academy.roster.models import Agent, LeaveReason, Posting
from academy.roster.rules import id_check_char
from tests import factories

TODAY = date.today()
ID = "330624198001011230"[:17]
ID = ID + id_check_char(ID)


@pytest.fixture(autouse=True)
def _imports_in_tmp(app, tmp_path, monkeypatch):
    """Keep uploads of the tests out of the real instance folder."""
    monkeypatch.setattr(app, "instance_path", str(tmp_path))
    return tmp_path


def row(**over) -> list:
    values = dict.fromkeys(COLUMNS, "")
    values.update(
        {
            "镇街": "东镇",
            "村社": "东一村",
            "姓名": "王小红",
            "联系电话": "13900001111",
            "身份": "专职代办员",
            "到岗日期": TODAY.isoformat(),
        }
    )
    values.update(over)
    return [values[c] for c in COLUMNS]


def workbook(rows: list[list]) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "花名册"
    sheet.append(list(COLUMNS))
    for r in rows:
        sheet.append(r)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def upload(client, data: bytes, name: str = "花名册.xlsx"):
    return client.post(
        "/roster/import",
        data={"file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )


def confirm(client, html: str):
    token = re.search(r'name="token" type="hidden" value="([0-9a-f]+)"', html) or re.search(
        r'id="token" name="token" type="hidden" value="([0-9a-f]+)"', html
    )
    assert token, html[-3000:]
    return client.post("/roster/import/confirm", data={"token": token.group(1)})


def counts(html: str) -> dict[str, int]:
    return {
        label: int(n) for n, label in re.findall(r'class="card stat"><b>(\d+)</b>(\S+?)<', html)
    }


def agent_count() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Agent))


def person(world, name: str, left: bool = False) -> Agent:
    """Another agent of 东一村, joined 200 days ago (and left 50 days ago if ``left``)."""
    agent = factories.agent(world.east_village, name, joined_on=TODAY - timedelta(days=200))
    if left:
        posting = agent.postings[0]
        posting.left_on, posting.leave_reason = TODAY - timedelta(days=50), LeaveReason.RESIGNED
    db.session.commit()
    return agent


# --------------------------------------------------------------------- template and page


def test_import_page_and_template(world, login_as):
    client = login_as(world.east_head)
    html = client.get("/roster/import").get_data(as_text=True)
    assert "批量导入花名册" in html and 'enctype="multipart/form-data"' in html
    assert "js/upload.js" in html and "<progress" in html
    resp = client.get("/roster/import/template.xlsx")
    assert resp.status_code == 200
    assert resp.mimetype.endswith("spreadsheetml.sheet")
    assert "attachment" in resp.headers["Content-Disposition"]
    book = openpyxl.load_workbook(io.BytesIO(resp.data))
    assert [c.value for c in book["花名册"][1]] == list(COLUMNS)
    villages = [r for r in book["村社名单"].iter_rows(min_row=2, values_only=True)]
    assert villages == [("东镇", "东一村"), ("东镇", "东二村")]  # only the head's township


def test_roster_page_links_to_import_and_export_with_filters(world, login_as):
    html = login_as(world.east_head).get("/roster/?status=all&q=张&page=1").get_data(as_text=True)
    assert "/roster/import" in html
    assert re.search(r'/roster/export\.xlsx\?[^"]*status=all', html)
    assert "page=1" not in re.search(r'href="(/roster/export[^"]*)"', html).group(1)


@pytest.mark.parametrize("who", ["agent_user", "expert"])
def test_import_and_export_are_for_roster_managers_only(world, login_as, who):
    client = login_as(getattr(world, who))
    assert client.get("/roster/import").status_code == 403
    assert client.get("/roster/export.xlsx").status_code == 403
    assert upload(client, workbook([row()])).status_code == 403


# --------------------------------------------------------------------- bad uploads


def test_upload_with_errors_lists_row_column_reason_and_writes_nothing(world, login_as, tmp_path):
    client = login_as(world.east_head)
    before = agent_count()
    data = workbook([row(), row(姓名="李四", 联系电话="12345"), row(姓名="赵六", 到岗日期="明天")])
    resp = upload(client, data)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert "有 2 行共 2 处错误，没有导入任何一行" in html
    assert "第 3 行" in html and "联系电话" in html and "电话号码格式不正确" in html
    assert "第 4 行" in html and "到岗日期" in html and "不是有效日期" in html
    assert agent_count() == before
    with client.session_transaction() as s:
        assert "roster_import" not in s
    imports = tmp_path / "imports"
    assert not imports.exists() or not any(imports.iterdir())


def test_file_level_problems_get_a_clear_message(world, login_as):
    client = login_as(world.east_head)
    resp = upload(client, b"not a workbook", "名单.csv")
    assert resp.status_code == 422
    assert "不是 Excel 工作簿" in resp.get_data(as_text=True)
    resp = client.post("/roster/import", data={}, content_type="multipart/form-data")
    assert resp.status_code == 400 and "请选择要上传的 Excel 文件" in resp.get_data(as_text=True)


def test_too_big_upload_is_refused(world, login_as, monkeypatch):
    monkeypatch.setattr(excel_views, "FLOW", dataclasses.replace(excel_views.FLOW, max_bytes=1000))
    resp = upload(
        login_as(world.east_head), workbook([row()] + [row(姓名=f"人{i}") for i in range(50)])
    )
    assert resp.status_code == 413
    assert "文件超过" in resp.get_data(as_text=True)


def test_township_head_cannot_import_into_another_township(world, login_as):
    client = login_as(world.east_head)
    before = agent_count()
    data = workbook([row(), row(镇街="西镇", 村社="西一村", 姓名="李四", 联系电话="13900002222")])
    resp = upload(client, data)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert "第 3 行" in html and "不在您管辖的镇街" in html
    assert "有 1 行共 1 处错误" in html
    assert agent_count() == before
    # The admin may.
    resp = upload(login_as(world.admin), data)
    assert resp.status_code == 200 and counts(resp.get_data(as_text=True))["新增"] == 2


def test_unknown_places_and_people_are_reported(world, login_as):
    client = login_as(world.east_head)
    data = workbook(
        [
            row(镇街="北镇"),
            row(村社="东三村", 姓名="甲", 联系电话="13900000001"),
            row(姓名="乙", 联系电话="13900000002", 离岗日期=TODAY.isoformat(), 离岗原因="辞职"),
        ]
    )
    html = upload(client, data).get_data(as_text=True)
    assert "找不到镇街“北镇”" in html
    assert "镇街“东镇”下没有村社“东三村”" in html
    assert "花名册中没有此人，不能登记离岗" in html


# --------------------------------------------------------------------- preview and commit


def test_good_upload_previews_then_confirm_adds_transfers_and_marks_left(world, login_as):
    client = login_as(world.east_head)
    leaver = person(world, "陈三")
    east = world.east_agent
    data = workbook(
        [
            row(身份证号=ID, 性别="男", 文化程度="高中"),  # new, at 东一村 (offers an item)
            row(  # 张东 moves to 东二村 today, and his ID number is recorded
                村社="东二村", 姓名=east.name, 联系电话=east.phone, 身份证号=valid_id("19700101")
            ),
            row(
                姓名="陈三",
                联系电话=leaver.phone,
                到岗日期=(TODAY - timedelta(days=200)).isoformat(),
                离岗日期=TODAY.isoformat(),
                离岗原因="辞职",
            ),
        ]
    )
    before = agent_count()
    resp = upload(client, data, "东镇花名册.xlsx")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200, html[-2000:]
    assert counts(html) == {"新增": 1, "变更": 1, "离岗": 1, "未变": 0}
    assert "调动：东镇东一村 → 东镇东二村" in html
    assert "东镇东一村离岗" in html and "确认导入" in html
    assert agent_count() == before  # a preview writes nothing

    resp = confirm(client, html)
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/roster/")
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "导入完成：新增 1 人，变更 1 人，登记离岗 1 人" in page

    new = db.session.scalar(sa.select(Agent).where(Agent.name == "王小红"))
    assert new.id_number == ID and new.birth_year == 1980 and new.gender.label == "男"
    assert new.current_posting.village_id == world.east_village.id
    plan = db.session.scalar(sa.select(OnboardingPlan).where(OnboardingPlan.agent_id == new.id))
    assert plan is not None and [e.item_id for e in plan.entries] == [world.item.id]
    assert plan.due_on == TODAY + timedelta(days=30)

    db.session.expire_all()
    assert east.current_posting.village_id == world.east_village2.id
    assert east.postings[0].leave_reason == LeaveReason.TRANSFERRED
    assert east.id_number == valid_id("19700101")
    assert leaver.current_posting is None
    assert leaver.postings[0].left_on == TODAY
    assert leaver.postings[0].leave_reason == LeaveReason.RESIGNED

    actions = db.session.scalars(sa.select(AuditEvent.action)).all()
    assert {"roster.imported", "roster.transferred", "roster.departed"} <= set(actions)
    summary = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "roster.imported"))
    assert summary.township_id == world.east.id and summary.actor_id == world.east_head.id
    assert "东镇花名册.xlsx" in summary.summary and summary.details["add"] == 1
    with client.session_transaction() as s:
        assert "roster_import" not in s


def test_person_who_left_returns_and_person_details_change(world, login_as):
    client = login_as(world.east_head)
    returning = person(world, "周五", left=True)
    data = workbook(
        [
            row(姓名="周五", 联系电话=returning.phone, 村社="东二村", 身份="志愿者"),
            row(
                姓名=world.east_agent.name,
                联系电话=world.east_agent.phone,
                性别="男",
                到岗日期=world.east_agent.postings[0].joined_on.isoformat(),
            ),
        ]
    )
    html = upload(client, data).get_data(as_text=True)
    assert counts(html) == {"新增": 0, "变更": 2, "离岗": 0, "未变": 0}
    assert "重新到岗：东镇东二村（志愿者）" in html and "性别：男" in html
    assert confirm(client, html).status_code == 302
    db.session.expire_all()
    assert returning.current_posting.village_id == world.east_village2.id
    assert world.east_agent.gender.label == "男"
    assert db.session.scalar(
        sa.select(AuditEvent).where(AuditEvent.action == "roster.person_updated")
    )


def test_rows_the_roster_cannot_take_are_errors(world, login_as):
    client = login_as(world.east_head)
    east = world.east_agent
    joined = east.postings[0].joined_on
    data = workbook(
        [
            row(
                姓名=east.name,
                联系电话=east.phone,
                到岗日期=(joined - timedelta(days=1)).isoformat(),
            ),
            row(姓名=world.west_agent.name, 联系电话=world.west_agent.phone),
        ]
    )
    html = upload(client, data).get_data(as_text=True)
    assert "到岗日期与花名册不一致" in html
    assert "此人目前在其他镇街在岗，不能由您调动" in html
    data = workbook(
        [row(姓名=east.name, 联系电话=east.phone, 身份="志愿者", 到岗日期=joined.isoformat())]
    )
    assert "身份与花名册不一致（花名册为专职代办员）" in upload(client, data).get_data(as_text=True)


def test_export_then_reimport_previews_as_all_unchanged(world, login_as):
    person(world, "历史人", left=True)
    for who, args in ((world.east_head, ""), (world.admin, "?status=all")):
        client = login_as(who)
        resp = client.get(f"/roster/export.xlsx{args}")
        assert resp.status_code == 200
        header = [c.value for c in openpyxl.load_workbook(io.BytesIO(resp.data))["花名册"][1]]
        assert header == list(COLUMNS)
        html = upload(client, resp.data).get_data(as_text=True)
        got = counts(html)
        assert got["未变"] >= 1 and got["新增"] == got["变更"] == got["离岗"] == 0, html[-3000:]
        assert "没有需要导入的变更" in html and "确认导入" not in html


def test_export_respects_scope_and_filters(world, login_as):
    data = login_as(world.east_head).get("/roster/export.xlsx?status=all").data
    names = [
        r[2]
        for r in openpyxl.load_workbook(io.BytesIO(data))["花名册"].iter_rows(
            min_row=2, values_only=True
        )
    ]
    assert names == [world.east_agent.name]
    data = login_as(world.admin).get("/roster/export.xlsx?q=李").data
    names = [
        r[2]
        for r in openpyxl.load_workbook(io.BytesIO(data))["花名册"].iter_rows(
            min_row=2, values_only=True
        )
    ]
    assert names == [world.west_agent.name]


# --------------------------------------------------------------------- the confirmation step


def test_confirm_without_upload_redirects_with_message(world, login_as):
    client = login_as(world.east_head)
    resp = client.post("/roster/import/confirm", data={"token": "0" * 32})
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/roster/import")
    assert "没有待确认的导入" in client.get("/roster/import").get_data(as_text=True)


def test_tampered_or_expired_token_gets_a_clear_message(world, login_as, tmp_path):
    client = login_as(world.east_head)
    html = upload(client, workbook([row()])).get_data(as_text=True)
    before = agent_count()
    # A token that is not the one of this preview.
    resp = client.post("/roster/import/confirm", data={"token": "../../secret_key"})
    assert resp.status_code == 302
    assert "这份预览已失效" in client.get("/roster/import").get_data(as_text=True)
    # A session pointing elsewhere than a stored file.
    with client.session_transaction() as s:
        s["roster_import"] = {**s["roster_import"], "token": "../../secret_key"}
    resp = client.post("/roster/import/confirm", data={"token": "../../secret_key"})
    assert "已过期或找不到了" in client.get(resp.headers["Location"]).get_data(as_text=True)
    # The stored file has gone (swept after a day).
    html = upload(client, workbook([row()])).get_data(as_text=True)
    for stored in Path(tmp_path, "imports").glob("*.xlsx"):
        stored.unlink()
    resp = confirm(client, html)
    assert "已过期或找不到了" in client.get(resp.headers["Location"]).get_data(as_text=True)
    assert agent_count() == before


def test_roster_changed_since_preview_shows_a_new_preview(world, login_as):
    client = login_as(world.east_head)
    east = world.east_agent
    data = workbook([row(村社="东二村", 姓名=east.name, 联系电话=east.phone)])
    html = upload(client, data).get_data(as_text=True)
    assert "调动" in html
    # Meanwhile someone records his departure.
    posting = east.postings[0]
    posting.left_on, posting.leave_reason = TODAY, LeaveReason.RESIGNED
    db.session.commit()
    resp = confirm(client, html)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "花名册在上次预览之后有了变动" in html
    assert "重新到岗" in html
    assert (
        db.session.scalar(
            sa.select(sa.func.count()).select_from(Posting).where(Posting.agent_id == east.id)
        )
        == 1
    )
    assert confirm(client, html).status_code == 302  # the second confirmation applies it
    db.session.expire_all()
    assert east.current_posting.village_id == world.east_village2.id


def test_uploaded_file_is_removed_after_commit(world, login_as, tmp_path):
    client = login_as(world.east_head)
    html = upload(client, workbook([row()])).get_data(as_text=True)
    assert len(list(Path(tmp_path, "imports").glob("*.xlsx"))) == 1
    assert confirm(client, html).status_code == 302
    assert list(Path(tmp_path, "imports").glob("*.xlsx")) == []


def valid_id(birth: str, seq: str = "456") -> str:
    first17 = f"330624{birth}{seq}"
    return first17 + id_check_char(first17)


def test_a_wrong_place_is_reported_with_the_rows_other_problems(world, login_as):
    client = login_as(world.east_head)
    data = workbook([row(镇街="西镇", 村社="西一村", 到岗日期="昨天")])
    html = upload(client, data).get_data(as_text=True)
    assert "不在您管辖的镇街" in html and "不是有效日期" in html
    assert "有 1 行共 2 处错误" in html


def test_a_failure_late_in_the_commit_writes_nothing(world, login_as, monkeypatch):
    from academy.roster import importer
    from academy.roster.excel import RowProblem

    client = login_as(world.east_head)
    east = world.east_agent
    data = workbook([row(), row(村社="东二村", 姓名=east.name, 联系电话=east.phone)])
    html = upload(client, data).get_data(as_text=True)
    before = (agent_count(), db.session.scalar(sa.select(sa.func.count()).select_from(Posting)))

    def fail(*_args, **_kw):
        raise importer.ImportRejected([RowProblem(2, "姓名", "写入时出错（测试）")])

    monkeypatch.setattr(importer, "_audit", fail)  # after every row has been written
    resp = confirm(client, html)
    assert resp.status_code == 422 and "写入时出错（测试）" in resp.get_data(as_text=True)
    db.session.expire_all()
    after = (agent_count(), db.session.scalar(sa.select(sa.func.count()).select_from(Posting)))
    assert after == before
    assert east.current_posting.village_id == world.east_village.id
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OnboardingPlan)) == 0


def test_cancelled_upload_is_deleted_and_abandoned_ones_expire(world, login_as, tmp_path):
    import os
    import time

    from academy import uploads

    client = login_as(world.east_head)
    html = upload(client, workbook([row()])).get_data(as_text=True)
    assert "放弃（删除上传的文件）" in html
    assert len(list(Path(tmp_path, "imports").glob("*.xlsx"))) == 1
    token = re.search(r'name="token" type="hidden" value="([0-9a-f]+)"', html).group(1)
    resp = client.post("/roster/import/cancel", data={"token": token})
    assert resp.status_code == 302
    assert "上传的文件已删除" in client.get(resp.headers["Location"]).get_data(as_text=True)
    assert list(Path(tmp_path, "imports").glob("*.xlsx")) == []
    assert confirm(client, html).status_code == 302  # nothing left to confirm
    # A preview nobody confirms or cancels is gone within hours, ID numbers and all.
    upload(client, workbook([row()]))
    (stored,) = Path(tmp_path, "imports").glob("*.xlsx")
    old = time.time() - uploads.KEEP_SECONDS - 60
    os.utime(stored, (old, old))
    with client.application.app_context():
        assert uploads.sweep() == 1
    assert not stored.exists()
