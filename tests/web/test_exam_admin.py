"""Staff exam pages: who may see what, authoring through the forms, results and exports,
marking, overrides and reopening."""

from __future__ import annotations

import io
import random
import re
from datetime import date, timedelta

import openpyxl
import pytest
import sqlalchemy as sa
from werkzeug.datastructures import MultiDict

from academy.audit.models import AuditEvent
from academy.db import utcnow
from academy.demo.exams import answer_fields
from academy.exams import authoring, services
from academy.exams.models import (
    Attempt,
    AttemptAnswer,
    AttemptState,
    Exam,
    ExamOverride,
    ExamSection,
    ExamStatus,
    FinishReason,
)
from academy.extensions import db
from academy.questions.models import Dimension
from tests import factories

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def bank(world):
    """Four easy multiple-choice and two medium true/false questions of world.item."""
    b = factories.question_bank(world.item)
    easy = [factories.question(b, item=world.item, difficulty=1) for _ in range(4)]
    medium = [factories.question(b, "truefalse", item=world.item, difficulty=2) for _ in range(2)]
    db.session.commit()
    return {"easy": easy, "medium": medium}


def _exam(world, sections, **settings) -> Exam:
    exam = authoring.create_exam(
        world.expert,
        authoring.ExamData(
            title=settings.pop("title", "养老保险业务考试"), time_limit_minutes=30, **settings
        ),
    )
    authoring.set_sections(world.expert, exam, sections)
    authoring.publish_exam(world.expert, exam)
    db.session.commit()
    return exam


def _knowledge(world, easy=3, medium=1):
    return authoring.SectionData(
        "业务知识", 5, item_ids=(world.item.id,), counts={"1": easy, "2": medium}
    )


@pytest.fixture
def exam(world, bank):
    return _exam(world, [_knowledge(world)], attempts_allowed=3)


def _drawn(attempt):
    """The drawn questions as plain rows (not ORM objects, which the saves' UPDATEs would
    leave stale in the session)."""
    return db.session.execute(
        sa.select(
            AttemptAnswer.position,
            AttemptAnswer.qtype,
            AttemptAnswer.version_id,
            AttemptAnswer.question_id,
        ).where(AttemptAnswer.attempt_id == attempt.id)
    ).all()


def sit(exam, agent, right=True, now=None, submit=True) -> Attempt:
    """An attempt through the services, answers saved as the page posts them."""
    now = now or utcnow()
    attempt = services.start_attempt(exam, agent, None, now=now)
    rows = _drawn(attempt)
    data = services.version_data(a.version_id for a in rows)
    rng = random.Random(1)
    for a in rows:
        ok = right(a.position) if callable(right) else right
        fields = answer_fields(a.qtype, data[a.version_id], f"a{a.position}", ok, rng)
        form = MultiDict([(k, v) for k, vs in fields.items() for v in vs])
        services.save_answer(attempt.id, agent.id, a.position, form, 1, now=now)
    if submit:
        services.submit_attempt(attempt, now=now + timedelta(minutes=5))
    db.session.commit()
    return attempt


def _text(resp) -> str:
    return resp.get_data(as_text=True)


def _words(resp) -> str:
    """The page's text without tags, as a reader sees it."""
    return " ".join(re.sub(r"<[^>]+>", "", _text(resp)).split())


# --- who may see what ----------------------------------------------------------------------


def test_agents_are_refused_everywhere(world, login_as, exam):
    client = login_as(world.agent_user)
    for url in (
        "/manage/exams/",
        f"/manage/exams/{exam.id}",
        f"/manage/exams/{exam.id}/results",
        f"/manage/exams/{exam.id}/statistics",
        f"/manage/exams/{exam.id}/overrides",
        "/manage/exams/marking",
        "/manage/exams/new",
    ):
        assert client.get(url).status_code == 403, url


def test_anonymous_visitors_are_sent_to_login(client, world):
    resp = client.get("/manage/exams/")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]


def test_nav_link_for_staff_only(world, login_as):
    assert "考试管理" in _text(login_as(world.expert).get("/home"))
    assert "/manage/exams/" in _text(login_as(world.east_head).get("/home"))
    assert "/manage/exams/" not in _text(login_as(world.agent_user).get("/home"))


def test_township_head_sees_only_their_townships_attempts(world, login_as, exam):
    mine = sit(exam, world.east_agent)
    theirs = sit(exam, world.west_agent, right=False)
    client = login_as(world.east_head)
    page = _text(client.get(f"/manage/exams/{exam.id}/results"))
    assert "张东" in page and "李西" not in page
    assert client.get(f"/manage/exams/attempts/{mine.id}").status_code == 200
    assert client.get(f"/manage/exams/attempts/{theirs.id}").status_code == 404
    listing = _text(client.get("/manage/exams/"))
    assert "养老保险业务考试" in listing and "1 份" in listing  # counts only their township
    resp = client.get(f"/manage/exams/{exam.id}/results.xlsx")
    names = [r[0] for r in openpyxl.load_workbook(io.BytesIO(resp.data)).active.values]
    assert names == ["考生", "张东"]
    # Heads do not author or mark.
    assert client.get("/manage/exams/new").status_code == 403
    assert client.get(f"/manage/exams/{exam.id}/edit").status_code == 403
    assert client.get("/manage/exams/marking").status_code == 403
    assert client.post(f"/manage/exams/{exam.id}/archive").status_code == 403


def test_results_of_a_candidate_who_moved_away_are_history_without_their_phone(
    world, login_as, exam
):
    from academy.roster import services as roster

    attempt = sit(exam, world.east_agent)
    roster.transfer_agent(
        world.admin, world.east_agent.current_posting, world.west_village, date.today()
    )
    db.session.commit()
    phone = world.east_agent.phone
    old = login_as(world.east_head)
    page = _text(old.get(f"/manage/exams/{exam.id}/results"))
    assert "张东" in page and phone not in page  # the result stays, sat in the east
    assert "张东" not in _text(old.get(f"/manage/exams/{exam.id}/results?q={phone}"))
    detail = _text(old.get(f"/manage/exams/attempts/{attempt.id}"))
    assert "张东" in detail and phone not in detail
    rows = list(
        openpyxl.load_workbook(
            io.BytesIO(old.get(f"/manage/exams/{exam.id}/results.xlsx").data)
        ).active.values
    )
    assert rows[1][0] == "张东" and not rows[1][1] and rows[1][2] == "东镇"
    admin = _text(login_as(world.admin).get(f"/manage/exams/{exam.id}/results?q={phone}"))
    assert "张东" in admin and phone in admin


def test_township_head_does_not_see_drafts_or_other_townships_exams(world, login_as, bank):
    draft = authoring.create_exam(world.expert, authoring.ExamData(title="草稿考试"))
    west_only = _exam(world, [_knowledge(world)], title="西镇专场", township_id=world.west.id)
    db.session.commit()
    client = login_as(world.east_head)
    listing = _text(client.get("/manage/exams/"))
    assert "草稿考试" not in listing and "西镇专场" not in listing
    assert client.get(f"/manage/exams/{draft.id}").status_code == 404
    assert client.get(f"/manage/exams/{west_only.id}/results").status_code == 404
    assert "西镇专场" in _text(login_as(world.west_head).get("/manage/exams/"))


# --- authoring -----------------------------------------------------------------------------

SETTINGS = {
    "title": "新考试",
    "description": "",
    "time_limit_minutes": "30",
    "pass_percent": "60",
    "attempts_allowed": "2",
    "opens_at": "",
    "closes_at": "",
    "layout": "one_per_page",
    "shuffle_questions": "y",
    "shuffle_answers": "y",
    "review_when": "after_submit",
    "review_shows_answers": "y",
    "version_policy": "pinned",
    "township_id": "",
    "category": "",
    "item_id": "",
}


def _section_form(world, **changes):
    form = {
        "title": "业务知识",
        "points": "5",
        "mode": "random",
        "item_ids": [str(world.item.id)],
        "category": "",
        "dimension": "",
        "count_1": "3",
        "count_2": "1",
        "count_3": "0",
        "count_any": "0",
        "do": "save",
    }
    form.update(changes)
    return form


def test_expert_creates_adds_a_section_and_publishes(world, login_as, bank):
    client = login_as(world.expert)
    resp = client.post("/manage/exams/new", data=SETTINGS)
    assert resp.status_code == 302
    exam = db.session.scalar(sa.select(Exam).where(Exam.title == "新考试"))
    assert exam.attempts_allowed == 2 and exam.status == ExamStatus.DRAFT
    detail = _text(client.get(f"/manage/exams/{exam.id}"))
    assert "请至少添加一个部分" in detail

    resp = client.post(f"/manage/exams/{exam.id}/sections/new", data=_section_form(world))
    assert resp.status_code == 302
    detail = _text(client.get(f"/manage/exams/{exam.id}"))
    assert "符合条件：" in detail and "容易 4" in detail and "中等 2" in detail
    assert "检查通过" in detail

    resp = client.post(f"/manage/exams/{exam.id}/publish", follow_redirects=True)
    assert "已发布" in _text(resp)
    db.session.expire_all()
    assert exam.status == ExamStatus.PUBLISHED and exam.pinned_at is not None


def test_section_form_shows_live_pool_sizes_without_saving(world, login_as, bank):
    exam = authoring.create_exam(world.expert, authoring.ExamData(title="草稿"))
    db.session.commit()
    client = login_as(world.expert)
    resp = client.post(
        f"/manage/exams/{exam.id}/sections/new",
        data=_section_form(world, dimension="knowledge", do="count", count_1="9"),
    )
    page = _words(resp)
    assert resp.status_code == 200
    assert "容易 4 / 中等 2 / 较难 0" in page
    assert "可抽 4 道" in page
    other = _words(
        client.post(
            f"/manage/exams/{exam.id}/sections/new",
            data=_section_form(world, dimension="emergency", do="count"),
        )
    )
    assert "容易 0 / 中等 0 / 较难 0" in other
    assert db.session.scalar(sa.select(sa.func.count(ExamSection.id))) == 0


def test_fixed_section_picks_questions_by_searching_the_bank(world, login_as, bank):
    exam = authoring.create_exam(world.expert, authoring.ExamData(title="草稿"))
    db.session.commit()
    target = bank["medium"][0]
    client = login_as(world.expert)
    page = _text(
        client.post(
            f"/manage/exams/{exam.id}/sections/new",
            data=_section_form(world, mode="fixed", q=target.name, do="search"),
        )
    )
    assert f'name="question_ids" value="{target.id}"' in page
    assert f'name="question_ids" value="{bank["easy"][0].id}"' not in page
    resp = client.post(
        f"/manage/exams/{exam.id}/sections/new",
        data=_section_form(world, mode="fixed", question_ids=[str(target.id)]),
    )
    assert resp.status_code == 302
    db.session.expire_all()
    [section] = exam.sections
    assert section.question_ids == [target.id] and section.counts == {}
    missing = _text(
        client.post(
            f"/manage/exams/{exam.id}/sections/new", data=_section_form(world, mode="fixed")
        )
    )
    assert "请从题库中勾选至少一道题" in missing


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"opens_at": "2026-05-01T09:00", "closes_at": "2026-05-01T08:00"},
            "截止时间必须晚于开放时间",
        ),
        ({"pass_percent": "150"}, "及格线应在 0 到 100 之间"),
        ({"time_limit_minutes": "0"}, "限时应为 1–600 分钟"),
        ({"title": ""}, "请填写考试名称"),
        ({"opens_at": "明天"}, "请输入有效时间"),
        ({"attempts_allowed": "abc"}, "整数"),
    ],
)
def test_bad_settings_are_explained(world, login_as, changes, message):
    resp = login_as(world.expert).post("/manage/exams/new", data={**SETTINGS, **changes})
    assert resp.status_code == 200
    assert message in _text(resp)
    assert db.session.scalar(sa.select(sa.func.count(Exam.id))) == 0


def test_times_are_entered_in_beijing_time_and_stored_in_utc(world, login_as):
    client = login_as(world.expert)
    client.post(
        "/manage/exams/new",
        data={**SETTINGS, "opens_at": "2030-05-01T09:00", "closes_at": "2030-05-02T17:30"},
    )
    exam = db.session.scalar(sa.select(Exam))
    assert exam.opens_at.isoformat() == "2030-05-01T01:00:00"
    assert exam.closes_at.isoformat() == "2030-05-02T09:30:00"
    assert "2030-05-01 09:00" in _text(client.get(f"/manage/exams/{exam.id}"))
    assert 'value="2030-05-01T09:00"' in _text(client.get(f"/manage/exams/{exam.id}/edit"))


def test_publish_shows_every_problem(world, login_as, bank):
    exam = authoring.create_exam(
        world.expert, authoring.ExamData(title="草稿", closes_at=utcnow() + timedelta(days=1))
    )
    authoring.set_sections(world.expert, exam, [_knowledge(world, easy=9, medium=5)])
    exam.closes_at = utcnow() - timedelta(hours=1)
    db.session.commit()
    resp = login_as(world.expert).post(f"/manage/exams/{exam.id}/publish", follow_redirects=True)
    page = _text(resp)
    assert "已过" in page and "需要 9 道题" in page
    db.session.expire_all()
    assert exam.status == ExamStatus.DRAFT


def test_blueprint_is_locked_after_attempts_and_can_be_copied(world, login_as, exam):
    sit(exam, world.east_agent)
    client = login_as(world.expert)
    resp = client.get(f"/manage/exams/{exam.id}/sections/new", follow_redirects=True)
    assert "复制为新考试" in _text(resp) and "1 份作答" in _text(resp)
    section = exam.sections[0]
    resp = client.post(f"/manage/exams/{exam.id}/sections/{section.id}/delete")
    db.session.expire_all()
    assert len(exam.sections) == 1
    resp = client.post(f"/manage/exams/{exam.id}/duplicate")
    copy = db.session.scalar(sa.select(Exam).where(Exam.id != exam.id))
    assert resp.headers["Location"].endswith(f"/manage/exams/{copy.id}")
    assert copy.status == ExamStatus.DRAFT and len(copy.sections) == 1
    # Settings still change after attempts, audited.
    form = {**SETTINGS, "title": exam.title, "version_policy": "latest", "attempts_allowed": "5"}
    assert client.post(f"/manage/exams/{exam.id}/edit", data=form).status_code == 302
    db.session.expire_all()
    assert exam.attempts_allowed == 5
    refused = client.post(
        f"/manage/exams/{exam.id}/edit", data={**form, "version_policy": "pinned"}
    )
    assert "题目版本策略不能再修改" in _text(refused)


def test_preview_renders_a_draw_with_disabled_inputs(world, login_as, exam):
    page = _text(login_as(world.expert).get(f"/manage/exams/{exam.id}/preview?seed=7"))
    assert page.count('class="card q"') == 4
    assert "disabled" in page and "再抽一份" in page


# --- results -------------------------------------------------------------------------------


def test_results_filters_and_export(world, login_as, exam):
    sit(exam, world.east_agent, right=True)
    sit(exam, world.west_agent, right=False)
    client = login_as(world.admin)
    page = _text(client.get(f"/manage/exams/{exam.id}/results"))
    assert "张东" in page and "李西" in page and "东一村" in page
    only_passed = _text(client.get(f"/manage/exams/{exam.id}/results?passed=1"))
    assert "张东" in only_passed and "李西" not in only_passed
    west = _text(client.get(f"/manage/exams/{exam.id}/results?township_id={world.west.id}"))
    assert "李西" in west and "张东" not in west
    assert "没有符合条件" in _text(client.get(f"/manage/exams/{exam.id}/results?state=marking"))
    assert client.get(f"/manage/exams/{exam.id}/results?page=abc").status_code == 404

    resp = client.get(f"/manage/exams/{exam.id}/results.xlsx?passed=0")
    assert resp.status_code == 200 and resp.mimetype == XLSX
    rows = list(openpyxl.load_workbook(io.BytesIO(resp.data)).active.values)
    assert rows[0][:6] == ("考生", "电话", "镇街", "村社", "第几次", "状态")
    assert [r[0] for r in rows[1:]] == ["李西"]
    assert rows[1][9] == "不及格" and rows[1][2] == "西镇"


def test_staff_see_right_answers_in_an_attempt(world, login_as, exam):
    attempt = sit(exam, world.east_agent, right=False)
    page = _text(login_as(world.expert).get(f"/manage/exams/attempts/{attempt.id}"))
    assert "本人到场" in page and 'class="right"' in page
    assert "第 1 版" in page and "/questions/" in page


def test_statistics_page_and_export(world, login_as, exam):
    sit(exam, world.east_agent, right=True)
    sit(exam, world.west_agent, right=lambda p: p % 2 == 0)
    client = login_as(world.expert)
    page = _text(client.get(f"/manage/exams/{exam.id}/statistics"))
    assert "难度系数" in page and "信度" in page
    assert page.count("/questions/") >= 4
    resp = client.get(f"/manage/exams/{exam.id}/statistics.xlsx")
    assert resp.mimetype == XLSX
    rows = list(openpyxl.load_workbook(io.BytesIO(resp.data)).active.values)
    assert rows[0][5:8] == ("作答人数", "难度系数（得分率）", "标准差")
    assert any(r[1] == "克龙巴赫 α 系数（按题位）" for r in rows)
    # Two candidates: the numbers, with the sample size, but no 过难/过易 label.
    answered = [r for r in rows[1:] if isinstance(r[5], int) and r[0] and r[5] > 0]
    assert answered and all(r[10].startswith("样本不足（作答少于 30 人次") for r in answered)
    assert ">样本不足<" in page and ">过易<" not in page and ">过难<" not in page
    question = rows[1][0]  # the first question's id
    stats = _text(client.get(f"/manage/exams/questions/{question}/stats"))
    assert "各版本" in stats and "养老保险业务考试" in stats


def test_negative_discrimination_is_highlighted(world, login_as, bank, app, monkeypatch):
    monkeypatch.setitem(app.config, "ITEM_STATS_MIN_ANSWERS", 6)  # six candidates are enough
    exam = _exam(world, [_knowledge(world, easy=4, medium=2)], attempts_allowed=None)
    agents = [world.east_agent, world.west_agent] + [
        factories.agent(world.east_village) for _ in range(4)
    ]
    db.session.commit()
    bad = bank["easy"][0].id
    for skill, agent in enumerate(agents):
        # Strong candidates get everything right except the flawed question, weak ones only it.
        attempt = services.start_attempt(exam, agent, None)
        rows = _drawn(attempt)
        data = services.version_data(a.version_id for a in rows)
        for a in rows:
            weak = skill < 3
            flawed = a.question_id == bad
            ok = weak if flawed else (not weak or a.position % (skill + 2) == 0)
            fields = answer_fields(
                a.qtype, data[a.version_id], f"a{a.position}", ok, random.Random()
            )
            services.save_answer(
                attempt.id,
                agent.id,
                a.position,
                MultiDict([(k, v) for k, vs in fields.items() for v in vs]),
                1,
            )
        services.submit_attempt(attempt)
    db.session.commit()
    page = _text(login_as(world.expert).get(f"/manage/exams/{exam.id}/statistics"))
    assert (
        'class="neg' in page
        and "区分度为负" in page
        and "样本不足" not in page.split("这些数字怎么看")[0]
    )
    # With the default minimum (30 answers) six candidates are too few to label anything.
    monkeypatch.setitem(app.config, "ITEM_STATS_MIN_ANSWERS", 30)
    page = _text(login_as(world.expert).get(f"/manage/exams/{exam.id}/statistics"))
    assert 'class="neg' not in page and "样本不足" in page
    assert "不足 30 人次时只显示数字" in page


# --- marking -------------------------------------------------------------------------------


@pytest.fixture
def essay_exam(world, bank):
    essay = factories.question(
        bank["easy"][0].bank, "essay", item=world.item, dimension=Dimension.ETIQUETTE, difficulty=3
    )
    db.session.commit()
    return _exam(
        world,
        [
            _knowledge(world),
            authoring.SectionData("情景简答", 10, question_ids=(essay.id,)),
        ],
        title="含简答的考试",
        pass_percent=50,
    )


def test_marking_the_last_essay_grades_the_attempt(world, login_as, essay_exam):
    attempt = sit(essay_exam, world.east_agent, right=True)
    assert attempt.state == AttemptState.MARKING and attempt.passed is None
    client = login_as(world.expert)
    queue = _text(client.get("/manage/exams/marking"))
    assert "张东" in queue and "含简答的考试" in queue
    essay = next(a for a in attempt.answers if a.qtype == "essay")
    page = _text(client.get(f"/manage/exams/marking/{essay.id}"))
    assert "评分要点" in page and "先请双方到一边坐下" in page

    too_much = client.post(f"/manage/exams/marking/{essay.id}", data={"score": "11"})
    assert "得分应在 0 到 10 分之间" in _text(too_much)
    resp = client.post(
        f"/manage/exams/marking/{essay.id}", data={"score": "8", "comment": "要点齐全"}
    )
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/manage/exams/marking")
    db.session.expire_all()
    assert attempt.state == AttemptState.GRADED
    assert attempt.score == 28 and attempt.passed is True  # 4 × 5 + 8 of 30
    assert essay.comment == "要点齐全" and essay.marked_by_id == world.expert.id
    assert "没有等待评分" in _text(client.get("/manage/exams/marking"))
    assert "要点齐全" in _text(client.get(f"/manage/exams/attempts/{attempt.id}"))


def test_marking_moves_on_to_the_next_essay(world, login_as, essay_exam):
    first = sit(essay_exam, world.east_agent, now=utcnow() - timedelta(hours=2))
    second = sit(essay_exam, world.west_agent)
    client = login_as(world.admin)
    e1 = next(a for a in first.answers if a.qtype == "essay")
    e2 = next(a for a in second.answers if a.qtype == "essay")
    queue = _text(client.get("/manage/exams/marking"))
    assert queue.index("张东") < queue.index("李西")  # oldest first
    resp = client.post(f"/manage/exams/marking/{e1.id}", data={"score": "2"})
    assert resp.headers["Location"].split("?")[0].endswith(f"/manage/exams/marking/{e2.id}")
    db.session.expire_all()
    assert first.state == AttemptState.GRADED and first.passed is True  # 22 of 30
    assert login_as(world.east_head).get("/manage/exams/marking").status_code == 403


# --- overrides -----------------------------------------------------------------------------


def _override_form(**changes):
    form = {
        "subject": "agent",
        "agent_id": "",
        "township_id": "",
        "extra_minutes": "",
        "opens_at": "",
        "closes_at": "",
        "extra_attempts": "",
        "reason": "",
    }
    form.update(changes)
    return form


def test_override_precedence_is_shown_for_the_chosen_agent(world, login_as, exam):
    client = login_as(world.admin)
    resp = client.post(
        f"/manage/exams/{exam.id}/overrides",
        data=_override_form(
            subject="township",
            township_id=str(world.east.id),
            extra_minutes="10",
            extra_attempts="1",
            reason="镇街网络中断",
        ),
    )
    assert resp.status_code == 302
    resp = client.post(
        f"/manage/exams/{exam.id}/overrides?agent_id={world.east_agent.id}",
        data=_override_form(
            agent_id=str(world.east_agent.id), extra_minutes="20", reason="视力不好，延长 20 分钟"
        ),
    )
    assert resp.status_code == 302
    page = _text(client.get(f"/manage/exams/{exam.id}/overrides?agent_id={world.east_agent.id}"))
    panel = page[page.index('class="card effective"') :]
    assert "50 分钟" in panel  # 30 + the agent's 20, not the township's 10
    assert "个人调整" in panel and "镇街调整" in panel  # attempts come from the township
    assert "4 次" in panel
    assert "视力不好" in panel and "镇街网络中断" in panel
    listing = _text(client.get(f"/manage/exams/{exam.id}/overrides"))
    assert "东镇 全体考生" in listing and "张东" in listing
    events = db.session.scalars(
        sa.select(AuditEvent.action).where(AuditEvent.action == "exam.override_set")
    ).all()
    assert len(events) == 2


def test_agents_are_found_by_name_within_scope(world, login_as, exam):
    head = login_as(world.east_head)
    assert "张东" in _text(head.get(f"/manage/exams/{exam.id}/overrides?q=张"))
    assert "李西" not in _text(head.get(f"/manage/exams/{exam.id}/overrides?q=李"))
    assert (
        head.get(f"/manage/exams/{exam.id}/overrides?agent_id={world.west_agent.id}").status_code
        == 404
    )
    # Township heads are read-only for exams: no override, for anyone.
    for agent in (world.west_agent, world.east_agent):
        resp = head.post(
            f"/manage/exams/{exam.id}/overrides",
            data=_override_form(agent_id=str(agent.id), extra_minutes="5", reason="x"),
        )
        assert resp.status_code == 403
    assert db.session.scalar(sa.select(sa.func.count(ExamOverride.id))) == 0


def test_override_form_explains_bad_input(world, login_as, exam):
    client = login_as(world.admin)
    page = _text(client.post(f"/manage/exams/{exam.id}/overrides", data=_override_form()))
    assert "请先搜索并选择一名代办员" in page and "请填写调整原因" in page
    page = _text(
        client.post(
            f"/manage/exams/{exam.id}/overrides",
            data=_override_form(agent_id=str(world.east_agent.id), reason="说明"),
        )
    )
    assert "请至少调整一项" in page


def test_head_sees_overrides_of_their_township_only_and_cannot_change_them(world, login_as, exam):
    mine = services.set_override(
        world.admin, exam, services.OverrideData(10, None, None, None, "东"), agent=world.east_agent
    )
    theirs = services.set_override(
        world.admin, exam, services.OverrideData(10, None, None, None, "西"), agent=world.west_agent
    )
    db.session.commit()
    head = login_as(world.east_head)
    page = _text(head.get(f"/manage/exams/{exam.id}/overrides"))
    assert "张东" in page and "李西" not in page
    assert "保存调整" not in page and f"/overrides/{mine.id}/delete" not in page  # read-only
    url = f"/manage/exams/{exam.id}/overrides/{{}}/delete"
    assert head.post(url.format(theirs.id)).status_code == 403
    assert head.post(url.format(mine.id)).status_code == 403
    assert len(db.session.scalars(sa.select(ExamOverride.id)).all()) == 2
    assert login_as(world.expert).post(url.format(mine.id)).status_code == 302
    assert db.session.scalars(sa.select(ExamOverride.id)).all() == [theirs.id]


# --- reopening -----------------------------------------------------------------------------


def test_reopen_a_timed_out_attempt(world, login_as, exam):
    started = utcnow() - timedelta(hours=2)
    attempt = sit(exam, world.east_agent, now=started, submit=False)
    services.finish_overdue()
    db.session.commit()
    assert attempt.finish_reason == FinishReason.TIMEOUT
    head = login_as(world.east_head)  # reads the attempt, may not reopen it
    assert "重新开放" not in _text(head.get(f"/manage/exams/attempts/{attempt.id}"))
    url = f"/manage/exams/attempts/{attempt.id}/reopen"
    assert head.post(url, data={"minutes": "15", "reason": "停电"}).status_code == 403
    client = login_as(world.expert)
    page = _text(client.get(f"/manage/exams/attempts/{attempt.id}"))
    assert "重新开放" in page
    resp = client.post(
        f"/manage/exams/attempts/{attempt.id}/reopen", data={"minutes": "15", "reason": "停电"}
    )
    assert resp.status_code == 302
    db.session.expire_all()
    assert attempt.state == AttemptState.IN_PROGRESS and attempt.reopened_count == 1
    assert attempt.deadline > utcnow() + timedelta(minutes=14)
    [event] = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "exam.attempt_reopened")
    ).all()
    assert "停电" in event.summary and event.township_id == world.east.id


def test_reopen_is_refused_for_a_submitted_attempt(world, login_as, exam):
    attempt = sit(exam, world.east_agent)
    client = login_as(world.expert)
    assert 'id="reopen"' not in _text(client.get(f"/manage/exams/attempts/{attempt.id}"))
    resp = client.post(
        f"/manage/exams/attempts/{attempt.id}/reopen", data={"minutes": "15", "reason": "想再考"}
    )
    assert "只能重新开放因超时自动交卷的作答" in _text(resp)
    db.session.expire_all()
    assert attempt.state == AttemptState.GRADED and attempt.reopened_count == 0
    assert not db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "exam.attempt_reopened")
    ).all()


def test_another_townships_attempt_is_404_for_a_head(world, login_as, exam):
    attempt = sit(exam, world.west_agent, now=utcnow() - timedelta(hours=2), submit=False)
    services.finish_overdue()
    db.session.commit()
    head = login_as(world.east_head)
    assert head.get(f"/manage/exams/attempts/{attempt.id}").status_code == 404
    resp = head.post(
        f"/manage/exams/attempts/{attempt.id}/reopen", data={"minutes": "15", "reason": "x"}
    )
    assert resp.status_code == 403  # read-only, whoever's attempt it is


# --- a fixed number of queries -------------------------------------------------------------


def _count_queries(client, url: str) -> int:
    statements: list[str] = []

    def _before(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", _before)
    try:
        assert client.get(url).status_code == 200, url
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", _before)
    return len(statements)


def test_pages_do_not_query_per_attempt(world, login_as, exam):
    sit(exam, world.east_agent)
    client = login_as(world.admin)
    urls = [
        "/manage/exams/",
        f"/manage/exams/{exam.id}/results",
        f"/manage/exams/{exam.id}/statistics",
        f"/manage/exams/{exam.id}/overrides",
    ]
    for url in urls:
        client.get(url)  # warm-up
    few = {url: _count_queries(client, url) for url in urls}
    for _ in range(3):
        sit(exam, factories.agent(world.west_village))
    services.set_override(
        world.admin, exam, services.OverrideData(5, None, None, None, "x"), agent=world.west_agent
    )
    db.session.commit()
    many = {url: _count_queries(client, url) for url in urls}
    assert many == few
