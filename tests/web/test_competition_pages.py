"""Competition pages: judges see numbers only, refusals leave nothing changed, heads act
only for their township, results are public within the platform once published."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import openpyxl
import pytest
import sqlalchemy as sa

from academy.auth.models import Role
from academy.competition import judging, outcomes
from academy.competition.models import (
    Assignment,
    CompetitionStatus,
    Entry,
    Mark,
    Sheet,
    SheetState,
)
from academy.extensions import db
from tests import factories
from tests.competition_world import build, mark_all


@pytest.fixture
def setup(world):
    s = build(world)
    judging.assign(s.chief, s.live, seed=5)
    db.session.commit()
    return s


def _identities(s) -> list[str]:
    """Every name, village and township of the candidates (must never reach a judge)."""
    out = []
    for e in s.entries:
        out += [e.agent.name, e.village.name, e.township.name]
    return out


def _judge_user(s, judge):
    return db.session.get(type(s.chief), judge.user_id)


def _assigned(s):
    return db.session.scalars(sa.select(Assignment).where(Assignment.round_id == s.live.id)).all()


def test_judge_pages_show_candidate_numbers_only(setup, login_as):
    s = setup
    a = _assigned(s)[0]
    judge = next(j for j in s.judges if j.id == a.judge_id)
    client = login_as(_judge_user(s, judge))
    pages = [
        "/competitions/",
        f"/competitions/{s.comp.id}",
        "/competitions/judging",
        f"/competitions/rounds/{s.live.id}/mark/{a.entry_id}",
    ]
    for url in pages:
        html = client.get(url).get_data(as_text=True)
        for secret in _identities(s):
            assert secret not in html, (url, secret)
    entry = db.session.get(Entry, a.entry_id)
    assert f"{entry.number} 号选手" in client.get("/competitions/judging").get_data(as_text=True)
    # after submitting, the panel's marks are shown, still without identities
    values = {f"c{c.id}": v for c, v in zip(s.live.criteria, ("8", "2", "3"), strict=True)}
    r = client.post(
        f"/competitions/rounds/{s.live.id}/mark/{a.entry_id}", data={**values, "submit": "1"}
    )
    assert r.status_code == 302
    html = client.get(pages[-1]).get_data(as_text=True)
    assert "您已提交" in html and "评委组" in html
    for secret in _identities(s):
        assert secret not in html


def test_a_judge_cannot_see_the_panel_before_submitting(setup, login_as):
    s = setup
    entry_id = _assigned(s)[0].entry_id
    judges = [j for j in s.judges if judging.assigned(s.live, entry_id, j)]
    first, second = judges[0], judges[1]
    vals = {c.id: v for c, v in zip(s.live.criteria, (9, 3, 3), strict=True)}
    judging.save_sheet(s.live, entry_id, first, vals, "", 1, True)
    db.session.commit()
    html = (
        login_as(_judge_user(s, second))
        .get(f"/competitions/rounds/{s.live.id}/mark/{entry_id}")
        .get_data(as_text=True)
    )
    assert "评委组" not in html and first.code not in html


def test_autosave_refuses_bad_input_and_keeps_order(setup, login_as):
    s = setup
    a = _assigned(s)[0]
    judge = next(j for j in s.judges if j.id == a.judge_id)
    client = login_as(_judge_user(s, judge))
    url = f"/competitions/rounds/{s.live.id}/mark/{a.entry_id}"
    etq = s.live.criteria[1]
    json_ = {"Accept": "application/json"}
    r = client.post(url, data={f"c{etq.id}": "5", "seq": "1"}, headers=json_)
    assert r.status_code == 409 and "0、1、2、3" in r.get_json()["error"]
    assert db.session.scalar(sa.select(sa.func.count(Mark.id))) == 0
    assert client.post(url, data={f"c{etq.id}": "2", "seq": "2"}, headers=json_).status_code == 200
    late = client.post(url, data={f"c{etq.id}": "1", "seq": "1"}, headers=json_)
    assert late.get_json()["stale"] is True
    assert db.session.scalar(sa.select(Mark.value)) == 2
    # a candidate not assigned to this judge does not exist for them
    other = next(e for e in s.entries if not judging.assigned(s.live, e.id, judge))
    assert client.get(f"/competitions/rounds/{s.live.id}/mark/{other.id}").status_code == 404


def test_staff_who_are_not_judges_or_chief_are_kept_out(setup, login_as, world):
    s = setup
    a = _assigned(s)[0]
    outsider = factories.user(Role.EXPERT)
    db.session.commit()
    client = login_as(outsider)
    assert client.get(f"/competitions/rounds/{s.live.id}/mark/{a.entry_id}").status_code == 403
    assert client.get(f"/competitions/rounds/{s.live.id}/panel").status_code == 403
    assert client.get(f"/competitions/rounds/{s.live.id}/raters").status_code == 403
    head = login_as(world.east_head)
    assert head.get(f"/competitions/rounds/{s.live.id}/panel").status_code == 403
    assert head.get(f"/competitions/rounds/{s.live.id}/mark/{a.entry_id}").status_code == 403
    agent = login_as(world.agent_user)
    assert agent.get(f"/competitions/{s.comp.id}/entries").status_code == 403


def test_head_nominates_only_from_their_township(world, login_as):
    s = build(world)
    s.comp.status = CompetitionStatus.REGISTRATION
    s.comp.quota_per_township = 5
    newcomer_east = factories.agent(world.east_village2, "王新东")
    newcomer_west = factories.agent(world.west_village, "赵新西")
    db.session.commit()
    client = login_as(world.east_head)
    page = client.get(f"/competitions/{s.comp.id}/entries").get_data(as_text=True)
    assert "王新东" in page and "赵新西" not in page and "李西" not in page
    r = client.post(
        f"/competitions/{s.comp.id}/entries",
        data={"agent_id": newcomer_west.id},
        follow_redirects=True,
    )
    assert "只能推荐本镇街" in r.get_data(as_text=True)
    assert not db.session.scalar(sa.select(Entry.id).where(Entry.agent_id == newcomer_west.id))
    r = client.post(f"/competitions/{s.comp.id}/entries", data={"agent_id": newcomer_east.id})
    assert r.status_code == 302
    assert db.session.scalar(sa.select(Entry.id).where(Entry.agent_id == newcomer_east.id))


def test_chief_judge_panel_shows_flags_and_rater_analysis(setup, login_as):
    s = setup
    mark_all(s)
    entry = s.entries[0]
    sheet = db.session.scalars(sa.select(Sheet).where(Sheet.entry_id == entry.id)).first()
    etq = s.live.criteria[1]
    next(m for m in sheet.marks if m.criterion_id == etq.id).value = 0
    db.session.commit()
    client = login_as(s.chief)
    html = client.get(f"/competitions/rounds/{s.live.id}/panel").get_data(as_text=True)
    assert "待复核" in html and entry.number in html and "评分差异过大" in html
    r = client.post(f"/competitions/rounds/{s.live.id}/lock", follow_redirects=True)
    assert "还不能锁定" in r.get_data(as_text=True)
    r = client.post(
        f"/competitions/rounds/{s.live.id}/moderate",
        data={
            "entry_id": entry.id,
            "criterion_id": etq.id,
            "note": "复看录像维持",
            "action": "keep",
        },
    )
    assert r.status_code == 302
    r = client.post(f"/competitions/rounds/{s.live.id}/lock", follow_redirects=True)
    assert "本轮已锁定" in r.get_data(as_text=True)
    html = client.get(f"/competitions/rounds/{s.live.id}/raters").get_data(as_text=True)
    assert "宽严度" in html and "评委1" in html
    svg = client.get(f"/competitions/rounds/{s.live.id}/raters.svg")
    assert svg.mimetype == "image/svg+xml" and b"<svg" in svg.data


def test_remark_sends_a_sheet_back_to_its_judge(setup, login_as):
    s = setup
    mark_all(s)
    sheet = db.session.scalars(sa.select(Sheet)).first()
    db.session.commit()
    client = login_as(s.chief)
    r = client.post(
        f"/competitions/rounds/{s.live.id}/moderate",
        data={
            "entry_id": sheet.entry_id,
            "criterion_id": s.live.criteria[0].id,
            "note": "请再核一遍",
            "action": f"remark-{sheet.id}",
        },
    )
    assert r.status_code == 302
    db.session.refresh(sheet)
    assert sheet.state == SheetState.DRAFT


def test_published_results_for_everyone_and_the_head_export_is_their_township(
    setup, login_as, world, app
):
    s = setup
    mark_all(s)
    judging.lock_round(s.chief, s.live)
    s.live.locked_at -= timedelta(days=30)
    with app.test_request_context():
        outcomes.publish(world.admin, s.comp)
    db.session.commit()
    html = (
        login_as(world.agent_user).get(f"/competitions/{s.comp.id}/results").get_data(as_text=True)
    )
    assert "比赛结果" in html and world.west_agent.name in html
    resp = login_as(world.east_head).get(f"/competitions/{s.comp.id}/results.xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(resp.data)).active
    towns = {row[4] for row in sheet.iter_rows(min_row=2, values_only=True)}
    assert towns == {world.east.name}
    chart = login_as(world.agent_user).get(f"/competitions/{s.comp.id}/results/chart.svg")
    assert chart.mimetype == "image/svg+xml"
    # the first prize's certificate: frozen, and found by the public verification page
    from academy.competition.models import Award, Result

    first = db.session.scalars(sa.select(Result).where(Result.award == Award.FIRST)).first()
    own = login_as(world.west_head).get(f"/competitions/results/{first.id}/certificate")
    if first.entry.township_id != world.west.id:
        assert own.status_code == 404
    with app.test_client() as anonymous:
        page = anonymous.get(f"/verify/{first.certificate_code}").get_data(as_text=True)
    assert "荣誉证书真实有效" in page and first.entry.agent.name not in page
    assert s.comp.title in page


def test_unpublished_results_are_not_shown_to_agents(setup, login_as, world):
    r = login_as(world.agent_user).get(f"/competitions/{setup.comp.id}/results")
    assert r.status_code == 404


def test_scheme_excel_round_trip_and_row_errors(world, login_as):
    s = build(world)
    db.session.commit()
    client = login_as(world.admin)
    data = client.get(f"/competitions/rounds/{s.live.id}/scheme.xlsx").data
    book = openpyxl.load_workbook(io.BytesIO(data))
    ws = book.active
    assert ws.max_row == 1 + len(s.live.criteria)
    ws.cell(2, 3).value = "十"  # points not a number
    ws.cell(3, 4).value = "礼仪"  # not a dimension
    buf = io.BytesIO()
    book.save(buf)
    r = client.post(
        f"/competitions/rounds/{s.live.id}/scheme",
        data={"file": (io.BytesIO(buf.getvalue()), "scheme.xlsx")},
        content_type="multipart/form-data",
    )
    html = r.get_data(as_text=True)
    assert "评分标准没有保存" in html
    assert re.search(r"<td>2</td><td>分值</td>", html) and re.search(
        r"<td>3</td><td>维度</td>", html
    )
    db.session.expire_all()
    assert s.live.criteria[0].title == "一次性告知完整"
