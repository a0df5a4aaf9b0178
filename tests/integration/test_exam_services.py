"""Exam services on a real database: draws, versions, saving, grading, marking, overrides,
reopening and draws without repeats."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from werkzeug.datastructures import MultiDict

from academy.audit.models import AuditEvent
from academy.db import utcnow
from academy.errors_domain import DomainError
from academy.exams import services
from academy.exams.models import (
    AttemptState,
    Exam,
    ExamSection,
    ExamStatus,
    FinishReason,
    VersionPolicy,
)
from academy.extensions import db
from academy.questions.models import QuestionVersion
from academy.questions.types import ResponseError
from tests import factories


def make_exam(questions=None, counts=None, **settings) -> Exam:
    exam = Exam(
        title="测试考试",
        status=ExamStatus.PUBLISHED,
        time_limit_minutes=settings.pop("time_limit_minutes", 30),
        attempts_allowed=settings.pop("attempts_allowed", 3),
        pass_percent=settings.pop("pass_percent", 60.0),
        **settings,
    )
    section = ExamSection(position=1, title="第一部分", points=settings.get("points", 1.0))
    if questions is not None:
        section.question_ids = [q.id for q in questions]
        section.counts = {}
    else:
        section.counts = counts or {"1": 2}
        section.item_ids, section.qtypes, section.question_ids = [], [], []
    exam.sections = [section]
    db.session.add(exam)
    db.session.flush()
    return exam


def choose(position: int, *values: str) -> MultiDict:
    return MultiDict([(f"a{position}", v) for v in values])


@pytest.fixture
def bank(world):
    return [factories.question(item=world.item, difficulty=d) for d in (1, 1, 1, 2, 2)]


def test_start_draws_the_blueprint_with_the_current_versions(world, bank):
    exam = make_exam(counts={"1": 2, "2": 1})
    attempt = services.start_attempt(exam, world.east_agent, world.agent_user)
    db.session.refresh(attempt)
    drawn = {a.question_id: a for a in attempt.answers}
    assert len(drawn) == 3
    assert sum(1 for q in bank if q.id in drawn and q.difficulty == 1) == 2
    assert sum(1 for q in bank if q.id in drawn and q.difficulty == 2) == 1
    for q in bank:
        if q.id in drawn:
            assert drawn[q.id].version_id == q.versions[0].id
    assert attempt.deadline == attempt.started_at + timedelta(minutes=30)
    assert attempt.max_score == 3.0 and attempt.township_id == world.east.id
    # Pressing 开始 again resumes the same attempt.
    assert services.start_attempt(exam, world.east_agent, world.agent_user).id == attempt.id


def _new_version(question, text):
    data = dict(question.versions[-1].data, text=text)
    question.current_version += 1
    db.session.add(QuestionVersion(question=question, number=question.current_version, data=data))
    db.session.flush()


def test_an_attempt_keeps_the_version_it_drew_and_pinned_exams_ignore_later_edits(world, bank):
    q = bank[0]
    latest = make_exam(questions=[q])
    pinned = make_exam(
        questions=[q],
        version_policy=VersionPolicy.PINNED,
        pinned_at=utcnow() + timedelta(seconds=1),
    )
    before = services.start_attempt(latest, world.east_agent, None)
    db.session.refresh(before)
    _new_version(q, "改过的题干")
    v2 = q.versions[-1].id
    for version in q.versions:
        if version.number == 2:
            version.created_at = utcnow() + timedelta(minutes=5)  # edited after pinning
    db.session.flush()
    # The attempt started before the edit still has version 1.
    assert before.answers[0].version_id == q.versions[0].id
    services.finish_attempt(before, FinishReason.SUBMITTED)
    after = services.start_attempt(latest, world.east_agent, None)
    db.session.refresh(after)
    assert after.answers[0].version_id == v2
    on_pinned = services.start_attempt(pinned, world.east_agent, None)
    db.session.refresh(on_pinned)
    assert on_pinned.answers[0].version_id == q.versions[0].id


def test_save_is_idempotent_by_sequence_and_only_for_the_owner(world, bank):
    exam = make_exam(questions=[bank[0]], shuffle_answers=False)
    attempt = services.start_attempt(exam, world.east_agent, None)
    saved = services.save_answer(attempt.id, world.east_agent.id, 1, choose(1, "0"), seq=2)
    assert not saved.stale
    # A late retry of an older save does not overwrite the newer answer.
    late = services.save_answer(attempt.id, world.east_agent.id, 1, choose(1, "1"), seq=1)
    assert late.stale
    db.session.refresh(attempt.answers[0])
    assert attempt.answers[0].response == [0]
    with pytest.raises(LookupError):
        services.save_answer(attempt.id, world.west_agent.id, 1, choose(1, "0"), seq=3)
    with pytest.raises(LookupError):
        services.save_answer(attempt.id, world.east_agent.id, 9, choose(9, "0"), seq=3)
    with pytest.raises(ResponseError):
        services.save_answer(attempt.id, world.east_agent.id, 1, choose(1, "7"), seq=3)


def test_no_answer_after_the_deadline(world, bank):
    exam = make_exam(questions=[bank[0]], time_limit_minutes=10)
    attempt = services.start_attempt(exam, world.east_agent, None)
    later = attempt.deadline
    with pytest.raises(DomainError, match="时间已到"):
        services.save_answer(attempt.id, world.east_agent.id, 1, choose(1, "0"), seq=1, now=later)
    assert services.finish_overdue(now=later) == 1
    assert attempt.finish_reason == FinishReason.TIMEOUT
    assert attempt.state == AttemptState.GRADED and attempt.score == 0.0
    assert services.finish_overdue(now=later) == 0


def test_submit_grades_and_essays_wait_for_the_expert(world):
    mc = factories.question(qtype="multichoice")
    essay = factories.question(qtype="essay")
    exam = make_exam(questions=[mc, essay], shuffle_questions=False, pass_percent=50)
    exam.sections[0].points = 2.0
    attempt = services.start_attempt(exam, world.east_agent, None)
    db.session.refresh(attempt)
    positions = {a.question_id: a.position for a in attempt.answers}
    services.save_answer(
        attempt.id, world.east_agent.id, positions[mc.id], choose(positions[mc.id], "0"), seq=1
    )
    services.save_answer(
        attempt.id,
        world.east_agent.id,
        positions[essay.id],
        choose(positions[essay.id], "先核对身份证"),
        seq=1,
    )
    db.session.expire_all()
    services.submit_attempt(attempt)
    assert attempt.state == AttemptState.MARKING and attempt.passed is None
    assert attempt.score == 2.0 and attempt.max_score == 4.0
    answer = next(a for a in attempt.answers if a.question_id == essay.id)
    with pytest.raises(DomainError, match="0 到 2"):
        services.mark_answer(world.expert, answer, 3, "")
    services.mark_answer(world.expert, answer, 1.0, "材料说全了，渠道没说")
    assert attempt.state == AttemptState.GRADED
    assert attempt.percent == 75.0 and attempt.passed is True
    assert (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "exam.answer_marked")
        )
        == 1
    )


def test_overrides_agent_over_township_and_attempts_run_out(world, bank):
    exam = make_exam(questions=[bank[0]], attempts_allowed=1, time_limit_minutes=30)
    services.set_override(
        world.admin,
        exam,
        services.OverrideData(10, None, None, 1, "镇街网络中断"),
        township_id=world.east.id,
    )
    services.set_override(
        world.admin,
        exam,
        services.OverrideData(45, None, None, None, "视力不好"),
        agent=world.east_agent,
    )
    eff = services.effective_for(exam, world.east_agent)
    assert eff.settings.time_limit_minutes == 75 and eff.settings.attempts_allowed == 2
    assert (
        eff.sources["time_limit_minutes"] == "agent"
        and eff.sources["attempts_allowed"] == "township"
    )
    # West township has no override.
    assert services.effective_for(exam, world.west_agent).settings.time_limit_minutes == 30
    first = services.start_attempt(exam, world.east_agent, None)
    assert first.deadline - first.started_at == timedelta(minutes=75)
    assert first.settings["reasons"] == ["视力不好", "镇街网络中断"]
    services.submit_attempt(first)
    services.submit_attempt(services.start_attempt(exam, world.east_agent, None))
    with pytest.raises(DomainError, match="次数已用完"):
        services.start_attempt(exam, world.east_agent, None)
    with pytest.raises(DomainError, match="原因"):
        services.set_override(
            world.admin,
            exam,
            services.OverrideData(5, None, None, None, " "),
            agent=world.west_agent,
        )


def test_reopen_only_a_timed_out_attempt(world, bank):
    exam = make_exam(questions=[bank[0]], time_limit_minutes=5)
    attempt = services.start_attempt(exam, world.east_agent, None)
    services.finish_overdue(now=attempt.deadline)
    now = attempt.deadline + timedelta(minutes=1)
    with pytest.raises(DomainError, match="原因"):
        services.reopen_attempt(world.expert, attempt, 10, "", now=now)
    services.reopen_attempt(world.expert, attempt, 10, "停电", now=now)
    assert attempt.state == AttemptState.IN_PROGRESS and attempt.deadline == now + timedelta(
        minutes=10
    )
    services.save_answer(attempt.id, world.east_agent.id, 1, choose(1, "0"), seq=1, now=now)
    services.submit_attempt(attempt, now=now)
    assert attempt.finish_reason == FinishReason.SUBMITTED
    with pytest.raises(DomainError, match="超时"):
        services.reopen_attempt(world.expert, attempt, 10, "再给一次", now=now)


def test_a_resit_prefers_questions_not_seen_before(world, bank):
    exam = make_exam(counts={"1": 2}, attempts_allowed=2)
    pool = {q.id for q in bank if q.difficulty == 1}
    first = services.start_attempt(exam, world.east_agent, None)
    db.session.refresh(first)
    seen = {a.question_id for a in first.answers}
    services.submit_attempt(first)
    second = services.start_attempt(exam, world.east_agent, None)
    db.session.refresh(second)
    again = {a.question_id for a in second.answers}
    unseen = pool - seen
    assert unseen <= again  # the one unseen easy question is taken first
    assert len(again) == 2


def test_blueprint_problems_name_the_section_and_shortfall(world, bank):
    exam = make_exam(counts={"3": 2})
    problems = services.blueprint_problems(exam)
    assert problems == ["第 1 部分“第一部分”（较难）需要 2 道题，题库中符合条件的只有 0 道。"]
    exam.sections[0].counts = {"1": 3, "2": 2}
    assert services.blueprint_problems(exam) == []


def test_only_agents_of_the_audience_may_sit(world, bank):
    exam = make_exam(questions=[bank[0]], township_id=world.west.id)
    with pytest.raises(DomainError):
        services.start_attempt(exam, world.east_agent, None)
    assert services.start_attempt(exam, world.west_agent, None).township_id == world.west.id


def test_an_exam_journey_is_in_the_learning_event_log(app, world):
    from academy.activity.models import LearningEvent

    mc, essay = factories.question(qtype="multichoice"), factories.question(qtype="essay")
    exam = make_exam(questions=[mc, essay], shuffle_questions=False, shuffle_answers=False)
    attempt = services.start_attempt(exam, world.east_agent, None)
    services.save_answer(attempt.id, world.east_agent.id, 1, choose(1, "0"), seq=1)
    services.save_answer(attempt.id, world.east_agent.id, 1, choose(1, "1"), seq=1)  # stale
    services.save_answer(attempt.id, world.east_agent.id, 2, choose(2, "先核对"), seq=1)
    db.session.expire_all()
    services.submit_attempt(attempt)
    services.mark_answer(world.expert, attempt.answers[1], 1.0, "")
    events = db.session.scalars(
        sa.select(LearningEvent)
        .where(LearningEvent.object_type == "attempt")
        .order_by(LearningEvent.id)
    ).all()
    assert [e.verb.value for e in events] == ["started", "saved", "saved", "submitted", "graded"]
    assert {e.object_id for e in events} == {str(attempt.id)}
    assert all(e.agent_id == world.east_agent.id and e.township_id == world.east.id for e in events)
    assert all(e.village_id == world.east_village.id for e in events)
    assert events[3].result["score"] == 1.0 and events[4].user_id == world.expert.id
    assert events[4].result["success"] is True
    # The log can be switched off (the exam-day benchmark compares both).
    app.config["LEARNING_EVENTS"] = False
    try:
        services.start_attempt(make_exam(questions=[mc]), world.east_agent, None)
    finally:
        app.config["LEARNING_EVENTS"] = True
    assert (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(LearningEvent)
            .where(LearningEvent.object_type == "attempt")
        )
        == 5
    )


def test_starts_in_a_rush_share_one_pool_read_and_see_bank_changes_after_it(
    app, world, bank, monkeypatch
):
    """With EXAM_POOL_CACHE_SECONDS set (production: 15), starts within those seconds read
    the section's pool once per process; a question retired meanwhile reaches new draws once
    the kept pool is older than that."""
    monkeypatch.setitem(app.config, "EXAM_POOL_CACHE_SECONDS", 15)
    clock = [1000.0]
    monkeypatch.setattr(services.time, "monotonic", lambda: clock[0])
    exam = make_exam(counts={"1": 3}, attempts_allowed=9)
    pool_reads = []

    def count(conn, cursor, statement, *args):
        if "question_version" in statement and "current_version" in statement:
            pool_reads.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", count)
    try:
        first = services.start_attempt(exam, world.east_agent, world.agent_user)
        second = services.start_attempt(exam, world.west_agent, None)
        assert len(pool_reads) == 1  # one read for both starts
        easy = [q for q in bank if q.difficulty == 1]
        assert {a.question_id for a in first.answers} == {q.id for q in easy}
        easy[0].retired = True
        db.session.flush()
        services.finish_attempt(second, FinishReason.SUBMITTED)
        clock[0] += 16  # the kept pool is now older than 15 s
        with pytest.raises(DomainError, match="题库暂时不足"):  # two easy ones are left
            services.start_attempt(exam, world.west_agent, None)
        assert len(pool_reads) == 2
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", count)
