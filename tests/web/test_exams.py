"""The candidate's exam pages: start, autosave, page turns, submit, result and review,
and what a candidate may not do."""

from __future__ import annotations

from datetime import timedelta

import pytest

from academy.db import utcnow
from academy.exams.models import Attempt, AttemptState, Layout, ReviewWhen
from academy.extensions import db
from tests import factories
from tests.integration.test_exam_services import make_exam


@pytest.fixture
def exam(world):
    questions = [
        factories.question(qtype="multichoice", item=world.item),
        factories.question(qtype="truefalse", item=world.item),
        factories.question(qtype="ordering", item=world.item),
    ]
    e = make_exam(questions=questions, shuffle_questions=False, shuffle_answers=False)
    db.session.commit()
    return e


def _start(client, exam) -> Attempt:
    r = client.post(f"/exams/{exam.id}/start")
    assert r.status_code == 302
    return db.session.get(Attempt, int(r.headers["Location"].rsplit("/", 1)[-1]))


def test_agent_sees_the_exam_and_starts_it(login_as, world, exam):
    client = login_as(world.agent_user)
    listing = client.get("/exams/").get_data(as_text=True)
    assert "测试考试" in listing and "限时 30 分钟" in listing
    page = client.get(f"/exams/{exam.id}").get_data(as_text=True)
    assert "开始考试" in page and "共 3 次，已用 0 次" in page
    attempt = _start(client, exam)
    take = client.get(f"/attempts/{attempt.id}").get_data(as_text=True)
    assert "第 1 题" in take and 'name="a1"' in take and 'id="timer"' in take
    assert "第 2 题" not in take.split('class="exam-nav')[0]  # one question per page
    # Coming back to the exam page offers to continue, not a second attempt.
    assert "继续作答" in client.get(f"/exams/{exam.id}").get_data(as_text=True)


def test_autosave_then_submit_then_review(login_as, world, exam):
    client = login_as(world.agent_user)
    attempt = _start(client, exam)
    r = client.post(f"/attempts/{attempt.id}/answers/1", data={"a1": "0", "seq": "1"})
    assert r.status_code == 200 and r.json["stale"] is False
    r = client.post(
        f"/attempts/{attempt.id}/answers/2", data={"a2": "false", "seq": "1", "flag": "1"}
    )
    assert r.status_code == 200
    # An ordering answer given in full (right order: item k gets step k+1).
    r = client.post(
        f"/attempts/{attempt.id}/answers/3",
        data={"a3-0": "1", "a3-1": "2", "a3-2": "3", "seq": "4"},
    )
    assert r.status_code == 200
    confirm = client.get(f"/attempts/{attempt.id}/submit").get_data(as_text=True)
    assert "已答 3 题" in confirm and "待检查" in confirm
    r = client.post(f"/attempts/{attempt.id}/submit")
    assert r.status_code == 302
    db.session.expire_all()
    attempt = db.session.get(Attempt, attempt.id)
    assert attempt.state == AttemptState.GRADED and attempt.percent == 100.0 and attempt.passed
    result = client.get(f"/attempts/{attempt.id}/result").get_data(as_text=True)
    assert "100 <small>分</small>" in result and "答题回顾" in result and "本人到场" in result
    # After submitting, the answers cannot change any more.
    r = client.post(f"/attempts/{attempt.id}/answers/1", data={"a1": "1", "seq": "9"})
    assert r.status_code == 409 and r.json["finished"]


def test_page_turn_without_script_saves_the_page(login_as, world, exam):
    client = login_as(world.agent_user)
    attempt = _start(client, exam)
    r = client.post(f"/attempts/{attempt.id}/page", data={"a1": "1", "go": "2"})
    assert r.status_code == 302 and r.headers["Location"].endswith("?p=2")
    db.session.expire_all()
    assert db.session.get(Attempt, attempt.id).answers[0].response == [1]
    page2 = client.get(f"/attempts/{attempt.id}?p=2").get_data(as_text=True)
    assert 'name="a2"' in page2


def test_bad_and_foreign_saves_are_refused(login_as, world, exam):
    client = login_as(world.agent_user)
    attempt = _start(client, exam)
    assert client.post(f"/attempts/{attempt.id}/answers/1", data={"a1": "0"}).status_code == 400
    r = client.post(f"/attempts/{attempt.id}/answers/1", data={"a1": "99", "seq": "1"})
    assert r.status_code == 400 and "答案无效" in r.json["error"]
    assert client.post(f"/attempts/{attempt.id}/answers/42", data={"seq": "1"}).status_code == 404
    # Another candidate can neither read nor write this attempt.
    other_user = world.west_agent_user
    db.session.commit()
    other = login_as(other_user)
    assert other.get(f"/attempts/{attempt.id}").status_code == 404
    assert other.get(f"/attempts/{attempt.id}/result").status_code == 404
    r = other.post(f"/attempts/{attempt.id}/answers/1", data={"a1": "0", "seq": "5"})
    assert r.status_code == 404
    db.session.expire_all()
    assert db.session.get(Attempt, attempt.id).answers[0].response is None


@pytest.mark.parametrize("how", ["signed out everywhere", "deactivated"])
def test_a_save_from_a_session_no_longer_valid_is_refused_with_a_sign_in(
    login_as, world, exam, how
):
    """The autosave checks the account inside its own SELECT (no user loaded first): a
    session whose account was signed out everywhere or deactivated saves nothing and gets a
    401 naming the sign-in page, so the page keeps the answer and asks to sign in again."""
    client = login_as(world.agent_user)
    attempt = _start(client, exam)
    assert (
        client.post(f"/attempts/{attempt.id}/answers/1", data={"a1": "0", "seq": "1"}).json["stale"]
        is False
    )
    if how == "deactivated":
        world.agent_user.active = False
    else:
        world.agent_user.session_version += 1
    db.session.commit()
    r = client.post(f"/attempts/{attempt.id}/answers/1", data={"a1": "1", "seq": "2"})
    assert r.status_code == 401
    assert r.json["login"] == "/login" and "重新登录" in r.json["error"]
    db.session.expire_all()
    answer = db.session.get(Attempt, attempt.id).answers[0]
    assert (answer.response, answer.seq) == ([0], 1)  # the first save, not the refused one


def test_staff_use_the_management_pages_not_the_candidate_ones(login_as, world, exam):
    client = login_as(world.expert)
    assert client.get("/exams/").status_code == 403
    assert client.post(f"/exams/{exam.id}/start").status_code == 403


def test_after_the_deadline_the_attempt_is_submitted_by_the_server(login_as, world, exam):
    client = login_as(world.agent_user)
    attempt = _start(client, exam)
    client.post(f"/attempts/{attempt.id}/answers/1", data={"a1": "0", "seq": "1"})
    attempt.deadline = utcnow() - timedelta(seconds=1)
    db.session.commit()
    r = client.post(f"/attempts/{attempt.id}/answers/2", data={"a2": "true", "seq": "1"})
    assert r.status_code == 409 and "时间已到" in r.json["error"]
    r = client.get(f"/attempts/{attempt.id}")
    assert r.status_code == 302 and r.headers["Location"].endswith("/result")
    db.session.expire_all()
    attempt = db.session.get(Attempt, attempt.id)
    assert attempt.finish_reason.value == "timeout" and attempt.score == 1.0


def test_review_waits_for_the_exams_setting(login_as, world, exam):
    exam.review_when = ReviewWhen.AFTER_CLOSE
    exam.closes_at = utcnow() + timedelta(days=1)
    db.session.commit()
    client = login_as(world.agent_user)
    attempt = _start(client, exam)
    client.post(f"/attempts/{attempt.id}/submit")
    page = client.get(f"/attempts/{attempt.id}/result").get_data(as_text=True)
    assert "考试截止后可以查看" in page and "本人到场" not in page


def test_a_full_start_gate_queues_with_a_position(app, login_as, world, exam):
    app.config["EXAM_START_CONCURRENCY"] = 0
    try:
        client = login_as(world.agent_user)
        r = client.post(f"/exams/{exam.id}/start", headers={"Accept": "application/json"})
        assert r.status_code == 503 and r.json["queued"] and r.json["position"] >= 1
        assert int(r.headers["Retry-After"]) >= 1
        ticket = r.json["ticket"]
        html = client.post(f"/exams/{exam.id}/start", data={"ticket": ticket})
        assert html.status_code == 503 and "排在第" in html.get_data(as_text=True)
    finally:
        app.config["EXAM_START_CONCURRENCY"] = 8
    r = client.post(
        f"/exams/{exam.id}/start", data={"ticket": ticket}, headers={"Accept": "application/json"}
    )
    assert r.status_code == 200 and "/attempts/" in r.json["redirect"]
    assert db.session.query(Attempt).count() == 1


def _block(page: str, position: int) -> str:
    """The fieldset of the question at ``position`` on an attempt page."""
    start = page.index(f'<fieldset class="question card" id="q{position}"')
    return page[start : page.index("</fieldset>", start)]


def test_a_question_blank_on_two_papers_carries_each_papers_number(login_as, world):
    """Blank questions are rendered once per process and kept (exams/blocks.py): the same
    question drawn at another number on another paper must show that paper's number in its
    legend, field names and flag — and a saved answer is never shown from a blank block."""
    mc = factories.question(qtype="multichoice", item=world.item)
    tf = factories.question(qtype="truefalse", item=world.item)
    settings = {"shuffle_questions": False, "shuffle_answers": False, "layout": Layout.ALL_ON_ONE}
    first = make_exam(questions=[mc, tf], **settings)
    second = make_exam(questions=[tf], **settings)
    db.session.commit()
    client = login_as(world.agent_user)
    one = _start(client, first)
    page = client.get(f"/attempts/{one.id}").get_data(as_text=True)
    tf_at_2 = _block(page, 2)
    assert "第 2 题" in tf_at_2 and 'name="a2"' in tf_at_2 and 'name="flag" value="2"' in tf_at_2
    two = _start(client, second)
    page = client.get(f"/attempts/{two.id}").get_data(as_text=True)
    tf_at_1 = _block(page, 1)
    assert "第 1 题" in tf_at_1 and 'name="a1"' in tf_at_1 and 'name="flag" value="1"' in tf_at_1
    assert "a2" not in tf_at_1 and "第 2 题" not in tf_at_1
    assert 'data-qtype="truefalse"' in tf_at_2 and 'data-qtype="truefalse"' in tf_at_1
    assert tf_at_1.replace("1", "2") == tf_at_2.replace("1", "2")  # the same question otherwise
    # Saved and flagged: the page shows it so (not the kept blank block), then still blank
    # elsewhere.
    r = client.post(f"/attempts/{two.id}/answers/1", data={"a1": "false", "seq": "1", "flag": "1"})
    assert r.status_code == 200
    page = client.get(f"/attempts/{two.id}").get_data(as_text=True)
    saved = _block(page, 1)
    assert 'value="false" checked' in saved and 'value="1" checked' in saved and "已保存" in saved
    again = client.get(f"/attempts/{one.id}").get_data(as_text=True)
    assert "checked" not in _block(again, 2)


@pytest.mark.parametrize("text_format", ["plain", "markdown", "html", "moodle"])
def test_question_text_holding_the_number_placeholder_stays_text(login_as, world, text_format):
    """The kept blocks mark the question's number with ``<@n@>``; a question whose own text
    holds those characters shows them as written, never a number in their place."""
    from academy.exams.blocks import NUMBER
    from academy.questions.services import version_data

    spec = factories.question_spec("truefalse", None, name="占位符")
    data = {**version_data(spec), "text": f"材料第{NUMBER}项是否齐全？", "text_format": text_format}
    q = factories.question(qtype="truefalse", item=world.item, data=data)
    exam = make_exam(questions=[q], layout=Layout.ALL_ON_ONE)
    db.session.commit()
    client = login_as(world.agent_user)
    attempt = _start(client, exam)
    for _ in range(2):  # rendered, then from the kept block
        block = _block(client.get(f"/attempts/{attempt.id}").get_data(as_text=True), 1)
        assert "材料第&lt;@n@&gt;项" in block and "材料第1项" not in block
