"""A judge marks a candidate at the venue on a 360 px phone in a real browser: the queue,
criterion by criterion (levels and a number), the venue Wi-Fi drops mid-marking and the
marks wait on the device, a reload after it is back sends them, then the judge submits.
No page ever shows who the candidate is."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from academy.auth.models import Role, User
from academy.competition import judging
from academy.competition.models import Assignment, Entry, Sheet, SheetState
from academy.extensions import db
from academy.regions.models import County, Township
from academy.roster.models import Agent
from tests import factories
from tests.competition_world import build
from tests.e2e.test_journeys import _login
from tests.e2e.waits import shown

pytestmark = pytest.mark.e2e


def _world() -> factories.World:
    """The e2e server's world (built by the conftest), found again by its names."""
    town = {t.name: t for t in db.session.scalars(sa.select(Township))}
    user = {u.username: u for u in db.session.scalars(sa.select(User))}
    agent = {a.name: a for a in db.session.scalars(sa.select(Agent))}
    return factories.World(
        county=db.session.scalar(sa.select(County)),
        east=town["东镇"],
        west=town["西镇"],
        east_village=None,
        east_village2=agent["张东"].current_posting.village,
        west_village=None,
        item=None,
        east_agent=agent["张东"],
        west_agent=agent["李西"],
        admin=user["admin-t"],
        expert=user["expert-t"],
        east_head=user["head-east"],
        west_head=user["head-west"],
        agent_user=user["agent-t"],
        west_agent_user=next((u for u in user.values() if u.agent_id == agent["李西"].id), None),
    )


@pytest.fixture(scope="module")
def venue(live_server):
    with live_server["app"].app_context():
        s = build(_world())
        judging.assign(s.chief, s.live, seed=5)
        a = db.session.scalars(
            sa.select(Assignment).where(Assignment.round_id == s.live.id).order_by(Assignment.id)
        ).first()
        judge = next(j for j in s.judges if j.id == a.judge_id)
        secrets = []
        for e in s.entries:
            secrets += [e.agent.name, e.village.name, e.township.name]
        out = {
            "round": s.live.id,
            "entry": a.entry_id,
            "number": db.session.get(Entry, a.entry_id).number,
            "judge": judge.id,
            "username": db.session.get(User, judge.user_id).username,
            "criteria": [c.id for c in s.live.criteria],
            "secrets": secrets,
        }
        db.session.commit()
        assert all(u.role == Role.EXPERT for u in [db.session.get(User, judge.user_id)])
        return out


def _sheet(live_server, v) -> tuple[str | None, int, dict[int, float]]:
    """(state, seq, {criterion id: value}) of the judge's sheet as the server has it."""
    with live_server["app"].app_context():
        sheet = db.session.scalar(
            sa.select(Sheet).where(
                Sheet.round_id == v["round"],
                Sheet.entry_id == v["entry"],
                Sheet.judge_id == v["judge"],
            )
        )
        if sheet is None:
            return None, 0, {}
        out = (sheet.state.value, sheet.seq, {m.criterion_id: m.value for m in sheet.marks})
        db.session.remove()
        return out


def _mark_post(response) -> bool:
    return response.request.method == "POST" and "/mark/" in response.url


def _no_identity(page, v, where: str) -> None:
    html = page.content()
    for secret in v["secrets"]:
        assert secret not in html, f"{where}: the page shows the candidate's {secret!r}"


def test_judge_marks_on_a_phone_through_a_network_cut(live_server, phone, venue):
    v, base = venue, live_server["url"]
    meas, etq, emg = v["criteria"]
    _login(phone, base, v["username"])

    # The queue: candidate numbers only, fits the phone.
    phone.goto(base + "/competitions/judging")
    _no_identity(phone, v, "queue")
    overflow = phone.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the queue scrolls sideways by {overflow}px"
    phone.click(f"a:has-text('{v['number']} 号选手')")
    phone.wait_for_url(f"**/mark/{v['entry']}")
    _no_identity(phone, v, "marking page")
    overflow = phone.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the marking page scrolls sideways by {overflow}px"

    # Criterion by criterion while online: a number, then a level; each saved as a draft.
    with phone.expect_response(_mark_post):
        phone.fill(f"#c{meas}", "8")
    phone.wait_for_selector("#save-status:has-text('已保存')")
    with phone.expect_response(_mark_post):
        phone.click(f"label:has(input[name='c{etq}'][value='1'])")  # "1 级 基本做到"
    phone.wait_for_selector("#save-status:has-text('已保存')")
    state, seq_online, marks = _sheet(live_server, v)
    assert state == "draft" and marks == {meas: 8.0, etq: 1.0}

    # The venue Wi-Fi drops: the judge goes on marking; the page says the marks are kept.
    phone.context.set_offline(True)
    phone.click(f"label:has(input[name='c{emg}'][value='2'])")
    phone.fill(f"#c{meas}", "7.5")
    phone.click(f"label:has(input[name='c{etq}'][value='3'])")
    phone.fill("#comment", "礼仪规范，告知完整")
    phone.wait_for_selector("#save-status:has-text('网络中断')")
    assert "存在本机" in phone.inner_text("#save-status")
    phone.wait_for_function(  # the last change is kept on the device too
        "(localStorage.getItem(document.getElementById('mark-form').dataset.key + ':pending')"
        " || '').includes('comment=%E7%A4%BC')"
    )
    assert _sheet(live_server, v)[2] == {meas: 8.0, etq: 1.0}  # nothing reached the server
    _no_identity(phone, v, "marking page offline")

    # Back online, the judge reloads before the page has sent anything (the venue network
    # still drops the marks' posts at first): the page shows the marks kept on the device,
    # not the older ones from the server, and sends them once the posts get through.
    phone.route("**/mark/*", lambda r: r.abort() if r.request.method == "POST" else r.continue_())
    phone.context.set_offline(False)
    phone.reload()
    assert phone.input_value(f"#c{meas}") == "7.5"
    assert _sheet(live_server, v)[2] == {meas: 8.0, etq: 1.0}
    phone.wait_for_selector("#save-status:has-text('存在本机')")
    phone.unroute("**/mark/*")
    with phone.expect_response(_mark_post):
        phone.evaluate("window.dispatchEvent(new Event('online'))")
    phone.wait_for_selector("#save-status:has-text('已保存')")
    state, seq, marks = _sheet(live_server, v)
    assert state == "draft" and seq > seq_online
    assert marks == {meas: 7.5, etq: 3.0, emg: 2.0}
    assert phone.input_value(f"#c{meas}") == "7.5"
    assert phone.is_checked(f"input[name='c{etq}'][value='3']")
    assert phone.is_checked(f"input[name='c{emg}'][value='2']")
    with live_server["app"].app_context():
        assert db.session.scalar(sa.select(Sheet.comment).where(Sheet.seq == seq)) == (
            "礼仪规范，告知完整"
        )

    # Submit (after the confirmation): the sheet is final and the panel's marks appear.
    phone.once("dialog", lambda d: d.accept())
    phone.click("button:has-text('提交评分')")
    phone.wait_for_selector("text=您已提交这名选手的评分")
    state, _, marks = _sheet(live_server, v)
    assert state == SheetState.SUBMITTED.value
    assert marks == {meas: 7.5, etq: 3.0, emg: 2.0}
    assert shown(phone, "text=评委组")
    assert phone.is_disabled(f"#c{meas}")
    _no_identity(phone, v, "marking page after submitting")
    phone.goto(base + "/competitions/judging")
    assert shown(phone, f"li:has-text('{v['number']} 号选手') >> text=已提交")
    _no_identity(phone, v, "queue after submitting")
