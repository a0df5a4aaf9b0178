"""Demo exams: two published exams from the shipped banks and graded attempts by demo agents
of varied skill, taken through the exam services the way a candidate's browser would (start,
save each answer as the page posts it, submit), so that results and item statistics look
like a real sitting. Also one attempt waiting for an essay to be marked and one override."""

from __future__ import annotations

import math
import random
from datetime import datetime, timedelta

import sqlalchemy as sa
from werkzeug.datastructures import MultiDict

from academy.auth.models import Role, User
from academy.catalogue.models import ItemCategory
from academy.db import utcnow
from academy.exams import authoring, services
from academy.exams.models import Attempt, AttemptAnswer, AttemptState, FinishReason
from academy.extensions import db
from academy.questions.models import Dimension, Question
from academy.questions.types import expert_marked, get_type
from academy.roster.models import Agent, Posting


def answer_fields(qtype: str, data: dict, name: str, right: bool, rng: random.Random) -> dict:
    """The form fields the type's answer template would post for a right or a wrong answer
    to a question (``name``: the field prefix, e.g. ``a3``)."""
    return get_type(qtype).demo_fields(data, name, right, rng)


def sit(
    exam,
    agent: Agent,
    user: User | None,
    skill: float,
    started: datetime,
    rng: random.Random,
    minutes: int,
) -> Attempt:
    """One candidate's attempt: start, answer every question (right with a probability from
    the candidate's skill and the question's difficulty), submit ``minutes`` later."""
    attempt = services.start_attempt(exam, agent, user, now=started)
    answers = db.session.execute(
        sa.select(AttemptAnswer.position, AttemptAnswer.qtype, AttemptAnswer.version_id, Question)
        .join(Question, Question.id == AttemptAnswer.question_id)
        .where(AttemptAnswer.attempt_id == attempt.id)
        .order_by(AttemptAnswer.position)
    ).all()
    data = services.version_data(v for _, _, v, _ in answers)
    for n, (position, qtype, version_id, question) in enumerate(answers, 1):
        if rng.random() < 0.03:
            continue  # left blank
        difficulty = question.difficulty or 2
        p_right = 1 / (1 + math.exp(-(5 * skill - 1.2 * difficulty + 0.3)))
        fields = answer_fields(qtype, data[version_id], f"a{position}", rng.random() < p_right, rng)
        services.save_answer(
            attempt.id,
            agent.id,
            position,
            MultiDict([(k, v) for k, vs in fields.items() for v in vs]),
            seq=1,
            now=started + timedelta(minutes=minutes * n / (len(answers) + 1)),
        )
    services.submit_attempt(attempt, now=started + timedelta(minutes=minutes))
    return attempt


def seed_exams(rng: random.Random, township_names: dict[str, int]) -> list[str]:
    """Two published exams with graded attempts; returns the summary lines."""
    expert = db.session.scalar(sa.select(User).where(User.username == "expert"))
    admin = db.session.scalar(sa.select(User).where(User.username == "admin"))
    now = utcnow().replace(second=0, microsecond=0)
    opens = now - timedelta(days=30)
    knowledge = authoring.create_exam(
        expert,
        authoring.ExamData(
            title="2026 年度代办员业务知识考试（证明证照类）",
            description="证明证照类事项的办理要求、材料、时限和服务规范。共 20 题，每题 5 分。",
            time_limit_minutes=30,
            pass_percent=60,
            attempts_allowed=2,
            opens_at=opens,
            closes_at=now + timedelta(days=60),
            category=ItemCategory.CERTIFICATE,
        ),
    )
    authoring.set_sections(
        expert,
        knowledge,
        [
            authoring.SectionData(
                "业务知识",
                5,
                category=ItemCategory.CERTIFICATE,
                dimension=Dimension.KNOWLEDGE,
                counts={"1": 6, "2": 5, "3": 3},
            ),
            authoring.SectionData(
                "服务规范",
                5,
                category=ItemCategory.CERTIFICATE,
                dimension=Dimension.ETIQUETTE,
                counts={"1": 2, "2": 2, "3": 2},
            ),
        ],
    )
    authoring.publish_exam(expert, knowledge)
    essay = db.session.scalar(
        sa.select(Question.id)
        .where(Question.qtype.in_(expert_marked()), Question.retired.is_(False))
        .order_by(Question.key)
    )
    emergency = authoring.create_exam(
        expert,
        authoring.ExamData(
            title="应急处置与服务规范测验",
            description="突发情况的处置和服务礼仪。10 题，限时 20 分钟。",
            time_limit_minutes=20,
            pass_percent=60,
            attempts_allowed=None,
            opens_at=opens,
            closes_at=now + timedelta(days=30),
            shuffle_questions=True,
        ),
    )
    sections = [
        authoring.SectionData(
            "应急处置", 10, dimension=Dimension.EMERGENCY, counts={"1": 2, "2": 3, "3": 2}
        ),
        authoring.SectionData(
            "服务规范", 10, dimension=Dimension.ETIQUETTE, counts={"1": 1, "2": 1 + (not essay)}
        ),
    ]
    if essay:
        sections.append(authoring.SectionData("情景简答（专家评分）", 10, question_ids=(essay,)))
    authoring.set_sections(expert, emergency, sections)
    authoring.publish_exam(expert, emergency)
    for exam in (knowledge, emergency):
        exam.published_at = opens  # as if published when it opened

    candidates = _candidates(township_names)
    users = {
        u.agent_id: u
        for u in db.session.scalars(sa.select(User).where(User.role == Role.AGENT))
        if u.agent_id
    }
    made = marking = 0
    for n, agent in enumerate(candidates):
        skill = min(0.98, max(0.15, rng.gauss(0.6, 0.2)))
        started = _office_hours(now, rng.randint(2, 25), rng)
        sit(knowledge, agent, users.get(agent.id), skill, started, rng, rng.randint(12, 28))
        made += 1
        if n % 3 == 0:
            later = _office_hours(now, max(1, (now - started).days - 1), rng)
            a = sit(emergency, agent, users.get(agent.id), skill, later, rng, rng.randint(8, 18))
            made += 1
            if a.state == AttemptState.MARKING:
                if marking == 0:
                    marking += 1  # this one waits for an expert
                    continue
                for answer in a.answers:
                    if answer.qtype in expert_marked() and answer.score is None:
                        score = round(answer.points * min(1.0, skill + rng.uniform(-0.2, 0.2)))
                        services.mark_answer(
                            expert, answer, max(0, score), "要点基本齐全。", now=later
                        )
    # One candidate's time ran out (the cron job submitted it): a head may reopen it.
    late = candidates[len(candidates) // 2]
    timed_out = services.start_attempt(
        emergency, late, users.get(late.id), now=_office_hours(now, 1, rng)
    )
    services.finish_overdue(now=timed_out.deadline + timedelta(minutes=1))  # the cron's run
    made += 1
    # An agent with poor eyesight gets 20 more minutes for the certificate exam.
    services.set_override(
        admin,
        knowledge,
        services.OverrideData(20, None, None, None, "视力不好，延长 20 分钟"),
        agent=candidates[1],
    )
    assert timed_out.finish_reason == FinishReason.TIMEOUT
    return [f"演示考试 2 场，作答 {made} 份（待人工评分 {marking} 份），考试设置调整 1 条。"]


def _office_hours(now: datetime, days_ago: int, rng: random.Random) -> datetime:
    """A moment ``days_ago`` days back between 08:30 and 16:30 Beijing time (as UTC)."""
    beijing_midnight = (now + timedelta(hours=8)).replace(hour=0, minute=0)
    day = beijing_midnight - timedelta(days=days_ago)
    return day + timedelta(minutes=rng.randint(8 * 60 + 30, 16 * 60 + 30)) - timedelta(hours=8)


def _candidates(township_names: dict[str, int]) -> list[Agent]:
    """About forty active agents: the demo agent accounts, a dozen from 澄潭街道 and the rest
    spread over the other townships (deterministic: by posting id)."""
    from academy.regions.models import Village

    rows = db.session.execute(
        sa.select(Agent, Village.township_id)
        .join(Posting, Posting.agent_id == Agent.id)
        .join(Village, Village.id == Posting.village_id)
        .where(Posting.left_on.is_(None))
        .order_by(Posting.id)
    ).all()
    accounts = set(db.session.scalars(sa.select(User.agent_id).where(User.agent_id.is_not(None))))
    chengtan = township_names.get("澄潭街道")
    chosen: list[Agent] = [a for a, _ in rows if a.id in accounts]
    chosen += [a for a, t in rows if t == chengtan and a.id not in accounts][:12]
    others = [a for a, t in rows if t != chengtan and a.id not in accounts]
    chosen += others[:: max(1, len(others) // 18)][:18]
    seen: set[int] = set()
    return [a for a in chosen if not (a.id in seen or seen.add(a.id))]
