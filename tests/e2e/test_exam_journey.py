"""An agent sits an exam in a real browser on a phone: start, autosave (also through a
network cut), reload, turn pages, submit, see the result."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from academy.exams.models import Attempt, AttemptState
from academy.extensions import db
from tests import factories
from tests.e2e.test_journeys import _login
from tests.e2e.waits import shown
from tests.integration.test_exam_services import make_exam

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def exam_id(live_server):
    with live_server["app"].app_context():
        questions = [factories.question(qtype=t) for t in ("multichoice", "truefalse", "matching")]
        exam = make_exam(questions=questions, shuffle_questions=False, shuffle_answers=False)
        exam.title = "浏览器考试"
        db.session.commit()
        return exam.id


def _attempt(live_server) -> Attempt:
    with live_server["app"].app_context():
        attempt = db.session.scalar(sa.select(Attempt).order_by(Attempt.id.desc()))
        db.session.expunge_all()
        return attempt


def _stored(live_server, position):
    with live_server["app"].app_context():
        attempt = db.session.scalar(sa.select(Attempt).order_by(Attempt.id.desc()))
        return next(a.response for a in attempt.answers if a.position == position)


def test_agent_sits_an_exam_with_autosave_through_a_network_cut(live_server, phone, exam_id):
    base = live_server["url"]
    _login(phone, base, "agent-t")
    phone.goto(base + "/exams/")
    phone.click("text=浏览器考试")
    phone.click("button:has-text('开始考试')")
    phone.wait_for_url("**/attempts/*")
    assert shown(phone, "#timer")
    overflow = phone.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the exam page scrolls sideways by {overflow}px"

    # Question 1: choose the right option; the page says it is saved, and it is.
    phone.click("fieldset[data-position='1'] label:has-text('本人到场')")
    phone.wait_for_selector("#save-status:has-text('已保存')")
    assert _stored(live_server, 1) == [0]
    phone.reload()
    assert phone.is_checked("fieldset[data-position='1'] input[value='0']")

    # Question 2, answered while the network is down: kept on the device, sent when back.
    phone.click("button:has-text('下一题')")
    phone.wait_for_url("**p=2")
    phone.context.set_offline(True)
    phone.click("fieldset[data-position='2'] label:has-text('错')")
    phone.wait_for_selector("#save-status:has-text('网络中断')")
    assert _stored(live_server, 2) is None
    phone.context.set_offline(False)
    phone.evaluate("window.dispatchEvent(new Event('online'))")
    phone.wait_for_selector("#save-status:has-text('已保存')")
    assert _stored(live_server, 2) is False

    # Question 3 through the answer card, then submit.
    if not phone.is_visible(".map-grid"):
        phone.click("summary:has-text('答题卡')")
    phone.click(".map-cell[data-go='3']")
    phone.wait_for_url("**p=3")
    for k, right in enumerate(("残联", "派出所", "民政")):
        phone.select_option(f"select[name='a3-{k}']", right)
    phone.wait_for_selector("fieldset[data-position='3'] [data-state]:has-text('已保存')")
    phone.click("button:has-text('交卷')")
    phone.wait_for_url("**/submit")
    assert shown(phone, "text=已答 3 题")
    phone.click("button:has-text('确认交卷')")
    phone.wait_for_url("**/result")
    assert shown(phone, "text=答题回顾")
    attempt = _attempt(live_server)
    assert attempt.state == AttemptState.GRADED and attempt.percent == 100.0
