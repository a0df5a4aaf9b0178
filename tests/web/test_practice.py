"""Agents practising through HTTP: a whole session, feedback, summary, refusals."""

import re

import pytest
import sqlalchemy as sa

from academy.extensions import db
from academy.practice.models import PracticeAnswer, PracticeCard, PracticeSession
from tests import factories


def _count(model):
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def _shown_question_id(html: str) -> int:
    return int(re.search(r'name="question_id" value="(\d+)"', html).group(1))


@pytest.fixture
def questions(world):
    qs = [factories.practice_question(world.item) for _ in range(2)]
    qs.append(factories.practice_question(world.item, qtype="multichoice"))
    db.session.commit()
    return qs


def _start(client, **data):
    return client.post("/practice/start", data={"size": "10", **data})


def test_agent_practises_a_whole_session(world, questions, login_as):
    client = login_as(world.agent_user)
    home = client.get("/practice/").get_data(as_text=True)
    assert "还没有练习记录，先从本村最常办的事项开始" in home
    assert "开始练习（10 题）" in home and "练这个事项" in home and world.item.name in home
    resp = _start(client)
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/practice/session")
    by_id = {q.id: q for q in questions}
    right = 0
    for k in range(1, 4):
        page = client.get("/practice/session")
        html = page.get_data(as_text=True)
        assert page.status_code == 200 and f"第 {k} / 3 题" in html and "提交答案" in html
        q = by_id[_shown_question_id(html)]
        # answer the first question wrong, the others right
        answer = ("false" if k == 1 else "true") if q.qtype == "truefalse" else "0"
        if k == 1 and q.qtype == "multichoice":
            answer = "1"
        session_id = db.session.scalar(sa.select(PracticeSession.id))
        resp = client.post(
            f"/practice/sessions/{session_id}/answer", data={"question_id": q.id, "answer": answer}
        )
        assert resp.status_code == 302
        review = client.get(resp.headers["Location"]).get_data(as_text=True)
        if k == 1:
            assert "答错了" in review and "回到第 1 盒，明天再练" in review
            assert 'class="right"' in review  # the right answer is marked
        else:
            right += 1
            assert "答对了" in review and "升到第 2 盒，后天再练" in review
        assert "记住要点。" in review  # the question's feedback
        assert ("下一题" in review) == (k < 3) and ("看本次练习总结" in review) == (k == 3)
    end = client.get(f"/practice/sessions/{session_id}/summary").get_data(as_text=True)
    assert "本次练习完成了" in end and "答对" in end and f"{right}</b> / 3" in end
    assert "1 道题明天再练" in end and "2 道题后天再练" in end and world.item.name in end
    assert _count(PracticeAnswer) == 3 and _count(PracticeCard) == 3
    home = client.get("/practice/").get_data(as_text=True)
    assert "第 1 盒" in home and "还没有练习记录" not in home


def test_practise_this_item_draws_only_that_item(world, questions, login_as):
    other = factories.item("另一个事项", frequency=5)
    world.east_village.items.append(other)
    factories.practice_question(other)
    db.session.commit()
    client = login_as(world.agent_user)
    assert _start(client, item=str(world.item.id)).status_code == 302
    session = db.session.scalar(sa.select(PracticeSession))
    assert sorted(session.question_ids) == sorted(q.id for q in questions)


@pytest.mark.parametrize("who", ["admin", "east_head", "expert"])
def test_staff_may_not_practise(world, questions, login_as, who):
    client = login_as(getattr(world, who))
    for url in ("/practice/", "/practice/session"):
        assert client.get(url).status_code == 403
    assert _start(client).status_code == 403
    assert _count(PracticeSession) == 0


def test_nav_and_home_link_for_agents_only(world, login_as):
    agent = login_as(world.agent_user).get("/home").get_data(as_text=True)
    assert 'href="/practice/"' in agent and "去练习" in agent
    admin = login_as(world.admin).get("/home").get_data(as_text=True)
    assert 'href="/practice/"' not in admin


def _session_and_question(client):
    _start(client)
    html = client.get("/practice/session").get_data(as_text=True)
    return db.session.scalar(sa.select(PracticeSession.id)), _shown_question_id(html)


@pytest.mark.parametrize(
    ("answer", "message"),
    [("9", "选项不存在"), ("abc", "答案格式不正确"), (["0", "1"], "单选题只能选一个")],
)
def test_tampered_answer_is_refused_and_nothing_stored(world, login_as, answer, message):
    factories.practice_question(world.item, qtype="multichoice")
    db.session.commit()
    client = login_as(world.agent_user)
    session_id, qid = _session_and_question(client)
    resp = client.post(
        f"/practice/sessions/{session_id}/answer", data={"question_id": qid, "answer": answer}
    )
    assert resp.status_code == 400
    html = resp.get_data(as_text=True)
    assert message in html and "答案没有保存" in html
    assert _count(PracticeAnswer) == 0 and _count(PracticeCard) == 0


@pytest.mark.parametrize("qid", ["999999", "abc", ""])
def test_unknown_question_is_refused(world, questions, login_as, qid):
    client = login_as(world.agent_user)
    session_id, _ = _session_and_question(client)
    resp = client.post(
        f"/practice/sessions/{session_id}/answer", data={"question_id": qid, "answer": "true"}
    )
    assert resp.status_code == 400 and "答案没有保存" in resp.get_data(as_text=True)
    assert _count(PracticeAnswer) == 0


def test_blank_answer_shows_the_question_again(world, questions, login_as):
    client = login_as(world.agent_user)
    session_id, qid = _session_and_question(client)
    resp = client.post(f"/practice/sessions/{session_id}/answer", data={"question_id": qid})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400 and "请先作答再提交" in html and "提交答案" in html
    assert _count(PracticeAnswer) == 0


def test_double_submit_is_recorded_once(world, questions, login_as):
    client = login_as(world.agent_user)
    session_id, qid = _session_and_question(client)
    q = db.session.get(type(questions[0]), qid)
    answer = "true" if q.qtype == "truefalse" else "0"
    data = {"question_id": qid, "answer": answer}
    first = client.post(f"/practice/sessions/{session_id}/answer", data=data)
    again = client.post(f"/practice/sessions/{session_id}/answer", data=data)
    assert first.headers["Location"] == again.headers["Location"]
    assert _count(PracticeAnswer) == 1


def test_another_agents_session_is_not_found(world, questions, login_as):
    client = login_as(world.agent_user)
    session_id, qid = _session_and_question(client)
    other = world.west_agent_user
    db.session.commit()
    client = login_as(other)
    resp = client.post(
        f"/practice/sessions/{session_id}/answer", data={"question_id": qid, "answer": "true"}
    )
    assert resp.status_code == 404
    assert client.get(f"/practice/sessions/{session_id}/summary").status_code == 404
    assert _count(PracticeAnswer) == 0


def test_start_refuses_an_item_outside_the_village(world, questions, login_as):
    elsewhere = factories.item("外村事项")
    factories.practice_question(elsewhere)
    db.session.commit()
    client = login_as(world.agent_user)
    resp = _start(client, item=str(elsewhere.id))
    assert resp.status_code == 302
    home = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "不在本村社的可办事项中" in home
    bad = _start(client, size="abc")
    assert bad.status_code == 400 and "题数：" in bad.get_data(as_text=True)
    assert _count(PracticeSession) == 0
