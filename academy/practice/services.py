"""Practice use-cases: start a session, answer a question, summarise; the agent's overview.

Services only flush; the request commits once (academy/web.py)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from academy.activity.models import ObjectType, Verb
from academy.activity.services import record_event
from academy.catalogue.models import ServiceItem
from academy.db import utcnow
from academy.errors_domain import DomainError
from academy.extensions import db
from academy.learning.services import passed_item_ids
from academy.practice import rules
from academy.practice.models import PracticeAnswer, PracticeCard, PracticeSession
from academy.questions.models import Question, QuestionVersion
from academy.questions.types import ResponseError, get_type
from academy.regions.models import village_item
from academy.roster.models import Agent


def _practicable():
    """SQL form of rules.practicable (the rules filter again; this keeps the pool small)."""
    return sa.and_(Question.retired.is_(False), Question.qtype.not_in(rules.EXCLUDED_TYPES))


# --- the agent's items and how weak they are ------------------------------------------------


def offered_items(agent: Agent) -> list[ServiceItem]:
    """The live items of the village the agent serves now (none when not posted)."""
    posting = agent.current_posting
    if posting is None:
        return []
    return list(
        db.session.scalars(
            sa.select(ServiceItem)
            .join(village_item, village_item.c.item_id == ServiceItem.id)
            .where(village_item.c.village_id == posting.village_id, ServiceItem.retired.is_(False))
            .order_by(ServiceItem.frequency.desc(), ServiceItem.id)
        )
    )


def _question_counts(item_ids: list[int]) -> dict[int, int]:
    if not item_ids:
        return {}
    rows = db.session.execute(
        sa.select(Question.item_id, sa.func.count())
        .where(Question.item_id.in_(item_ids), _practicable())
        .group_by(Question.item_id)
    )
    return dict(rows.all())


def recent_fractions(
    agent_id: int, item_ids: list[int], n: int = rules.RECENT_ANSWERS
) -> dict[int, tuple[float, ...]]:
    """The fractions of the agent's latest ``n`` answers per item, newest first (one query)."""
    if not item_ids:
        return {}
    rank = (
        sa.func.row_number()
        .over(
            partition_by=PracticeAnswer.item_id,
            order_by=(PracticeAnswer.at.desc(), PracticeAnswer.id.desc()),
        )
        .label("rank")
    )
    sub = (
        sa.select(PracticeAnswer.item_id, PracticeAnswer.fraction, rank)
        .where(PracticeAnswer.agent_id == agent_id, PracticeAnswer.item_id.in_(item_ids))
        .subquery()
    )
    out: dict[int, list[float]] = {}
    for item_id, fraction in db.session.execute(
        sa.select(sub.c.item_id, sub.c.fraction)
        .where(sub.c.rank <= n)
        .order_by(sub.c.item_id, sub.c.rank)
    ):
        out.setdefault(item_id, []).append(fraction)
    return {k: tuple(v) for k, v in out.items()}


@dataclass
class WeakItem:
    item: ServiceItem
    weakness: rules.Weakness


def weak_items(agent: Agent, items: list[ServiceItem] | None = None) -> list[WeakItem]:
    """The village's items with something to practise, weakest first (rules.rank_weak_items)."""
    items = offered_items(agent) if items is None else items
    ids = [i.id for i in items]
    counts = _question_counts(ids)
    passed = passed_item_ids([agent.id])[agent.id]
    recent = recent_fractions(agent.id, ids)
    ranked = rules.rank_weak_items(
        rules.ItemRecord(
            i.id, i.name, i.frequency, counts.get(i.id, 0), i.id in passed, recent.get(i.id, ())
        )
        for i in items
    )
    by_id = {i.id: i for i in items}
    return [WeakItem(by_id[w.item_id], w) for w in ranked]


# --- sessions ----------------------------------------------------------------------------


def open_session(agent: Agent) -> PracticeSession | None:
    return db.session.scalar(
        sa.select(PracticeSession)
        .where(PracticeSession.agent_id == agent.id, PracticeSession.finished_at.is_(None))
        .order_by(PracticeSession.id.desc())
        .limit(1)
    )


def session_of(agent: Agent, session_id: int) -> PracticeSession | None:
    """The agent's own session, or None (another agent's session is not found)."""
    return db.session.scalar(
        sa.select(PracticeSession).where(
            PracticeSession.id == session_id, PracticeSession.agent_id == agent.id
        )
    )


def _candidates(agent: Agent, item_ids: list[int], with_cards: bool) -> list[rules.Candidate]:
    where = Question.item_id.in_(item_ids)
    if with_cards:
        carded = sa.select(PracticeCard.question_id).where(PracticeCard.agent_id == agent.id)
        where = sa.or_(where, Question.id.in_(carded))
    rows = db.session.execute(
        sa.select(
            Question.id, Question.item_id, Question.qtype, Question.retired, Question.difficulty
        ).where(where, _practicable())
    )
    return [rules.Candidate(*row) for row in rows]


def _card_states(agent: Agent) -> dict[int, rules.CardState]:
    rows = db.session.execute(
        sa.select(PracticeCard.question_id, PracticeCard.box, PracticeCard.due_on).where(
            PracticeCard.agent_id == agent.id
        )
    )
    return {qid: rules.CardState(qid, box, due) for qid, box, due in rows}


def start_session(
    agent: Agent,
    size: int = rules.SESSION_SIZE,
    item_id: int | None = None,
    today: date | None = None,
) -> PracticeSession:
    """Pick the questions of a new session (rules.select_session) for all the agent's items,
    or only ``item_id`` ("练这个事项"). An unfinished earlier session is closed."""
    today = today or date.today()
    if isinstance(size, bool) or not isinstance(size, int):
        raise DomainError("题数应为整数。", field="size")
    if not 1 <= size <= rules.MAX_SESSION_SIZE:
        raise DomainError(f"每次练习 1 到 {rules.MAX_SESSION_SIZE} 题。", field="size")
    items = offered_items(agent)
    if item_id is not None:
        chosen = next((i for i in items if i.id == item_id), None)
        if chosen is None:
            raise DomainError("这个事项不在本村社的可办事项中，不能练习。", field="item")
        candidates = _candidates(agent, [item_id], with_cards=False)
        rank = [item_id]
    else:
        candidates = _candidates(agent, [i.id for i in items], with_cards=True)
        rank = [w.item.id for w in weak_items(agent, items)]
    ids = rules.select_session(candidates, _card_states(agent), rank, today, size)
    if not ids:
        raise DomainError(
            "这个事项还没有可以自动判分的练习题。"
            if item_id is not None
            else "暂时没有可以练习的题目：本村社的事项还没有练习题。"
        )
    now = utcnow()
    for old in db.session.scalars(
        sa.select(PracticeSession).where(
            PracticeSession.agent_id == agent.id, PracticeSession.finished_at.is_(None)
        )
    ):
        old.finished_at = now
    session = PracticeSession(agent_id=agent.id, item_id=item_id, question_ids=ids, started_at=now)
    db.session.add(session)
    db.session.flush()
    return session


def answered_ids(session: PracticeSession) -> set[int]:
    return set(
        db.session.scalars(
            sa.select(PracticeAnswer.question_id).where(PracticeAnswer.session_id == session.id)
        )
    )


def next_question(session: PracticeSession) -> Question | None:
    """The first question of the session not answered yet (questions retired meanwhile are
    skipped), or None when the session is done."""
    done = answered_ids(session)
    remaining = [q for q in session.question_ids if q not in done]
    if not remaining:
        return None
    live = {
        q.id: q
        for q in db.session.scalars(
            sa.select(Question)
            .options(joinedload(Question.item))
            .where(Question.id.in_(remaining), _practicable())
        )
    }
    return next((live[q] for q in remaining if q in live), None)


def finish_session(session: PracticeSession) -> None:
    if session.finished_at is None:
        session.finished_at = utcnow()
        db.session.flush()


def position(session: PracticeSession) -> int:
    """How many questions of the session have been answered."""
    return len(answered_ids(session))


def question_or_none(question_id: int) -> Question | None:
    return db.session.scalar(
        sa.select(Question).options(joinedload(Question.item)).where(Question.id == question_id)
    )


def current_version(question: Question) -> QuestionVersion:
    return db.session.scalar(
        sa.select(QuestionVersion).where(
            QuestionVersion.question_id == question.id,
            QuestionVersion.number == question.current_version,
        )
    )


def card_of(agent: Agent, question: Question) -> PracticeCard | None:
    return db.session.scalar(
        sa.select(PracticeCard).where(
            PracticeCard.agent_id == agent.id, PracticeCard.question_id == question.id
        )
    )


@dataclass
class Answered:
    answer: PracticeAnswer
    card: PracticeCard
    fraction: float
    right: bool
    verdict: str  # 答对了 / 部分正确（得 50%） / 答错了
    comes_back: str  # 这道题回到第 1 盒，明天再练。
    feedback: str  # the question's general feedback (per-answer feedback is in `data`)
    data: dict  # the version graded against (to show the right answer)


def _answered(logged: PracticeAnswer, card: PracticeCard, data: dict, today: date) -> Answered:
    right = rules.is_right(logged.fraction)
    back = rules.when_back(card.due_on, today)
    if card.last_answered_at != logged.at:  # answered again since, in another session
        line = f"这道题现在在第 {card.box} 盒，{back}再练。"
    elif right:
        line = f"这道题升到第 {card.box} 盒，{back}再练。"
    else:
        line = f"这道题回到第 1 盒，{back}再练。"
    return Answered(
        logged,
        card,
        logged.fraction,
        right,
        rules.verdict(logged.fraction),
        line,
        (data.get("general_feedback") or "").strip(),
        data,
    )


def answer(
    agent: Agent,
    question: Question,
    raw,
    session: PracticeSession | None = None,
    today: date | None = None,
    now: datetime | None = None,
) -> Answered:
    """Grade ``raw`` (as read by the type's from_form) with the question's registered type
    against its CURRENT version, move the card by the Leitner rules and log the answer.
    Any invalid input raises DomainError and changes nothing."""
    today = today or date.today()
    now = now or utcnow()
    if not rules.practicable(question.qtype, question.retired):
        raise DomainError("这道题已停用或不能自动判分，不能在练习中作答。", field="answer")
    if session is not None:
        if session.agent_id != agent.id or session.finished_at is not None:
            raise DomainError("这次练习已经结束，请重新开始练习。")
        if question.id not in session.question_ids:
            raise DomainError("这道题不在本次练习中。", field="answer")
        if question.id in answered_ids(session):
            raise DomainError("这道题在本次练习中已经答过了。", field="answer")
    if raw is None:
        raise DomainError("请先作答再提交。", field="answer")
    version = current_version(question)
    qtype = get_type(question.qtype)
    try:
        response = qtype.check(version.data, raw)
        fraction = qtype.grade(version.data, response)
    except ResponseError as err:
        raise DomainError(f"提交的答案无效：{err}。", field="answer") from None
    except (KeyError, IndexError, TypeError, ValueError):
        raise DomainError("提交的答案无效：与题目不符。", field="answer") from None
    if fraction is None:
        raise DomainError("这道题不能自动判分。", field="answer")
    fraction = max(0.0, min(1.0, float(fraction)))
    right = rules.is_right(fraction)

    card = card_of(agent, question)
    box, due_on = rules.schedule(card.box if card else None, fraction, today)
    logged = PracticeAnswer(
        agent_id=agent.id,
        question_id=question.id,
        version_id=version.id,
        session_id=session.id if session else None,
        item_id=question.item_id,
        response=response,
        fraction=fraction,
        at=now,
    )
    try:
        # A double submission racing this one hits the unique constraints: undo both rows.
        with db.session.begin_nested():
            if card is None:
                card = PracticeCard(agent_id=agent.id, question_id=question.id)
                card.times_seen = card.times_wrong = 0
                db.session.add(card)
            card.box, card.due_on = box, due_on
            card.last_answered_at, card.last_fraction = now, fraction
            card.times_seen += 1
            card.times_wrong += 0 if right else 1
            db.session.add(logged)
    except IntegrityError:
        raise DomainError("这道题刚刚已经提交过了，请刷新页面。", field="answer") from None
    record_event(
        Verb.ANSWERED,
        ObjectType.PRACTICE,
        f"q{question.id}",
        question.name,
        agent=agent,
        result={"score": fraction, "max": 1, "success": right, "box": box},
        context={"parent": f"practice-session:{session.id}"} if session else None,
    )
    if session is not None and answered_ids(session) >= set(session.question_ids):
        finish_session(session)
    return _answered(logged, card, version.data, today)


def reviewed(
    agent: Agent, session: PracticeSession, question_id: int, today: date | None = None
) -> Answered | None:
    """An answer given in the session, as ``answer`` returned it (for the feedback page that
    follows the submission), or None if that question was not answered in the session."""
    logged = db.session.scalar(
        sa.select(PracticeAnswer)
        .options(joinedload(PracticeAnswer.question).joinedload(Question.item))
        .where(PracticeAnswer.session_id == session.id, PracticeAnswer.question_id == question_id)
    )
    if logged is None:
        return None
    data = db.session.get(QuestionVersion, logged.version_id).data
    return _answered(logged, card_of(agent, logged.question), data, today or date.today())


# --- summary and overview ------------------------------------------------------------------


@dataclass
class Revisit:
    item: ServiceItem | None
    wrong: int


@dataclass
class SessionSummary:
    session: PracticeSession
    total: int
    answered: int
    right: int
    revisit: list[Revisit] = field(default_factory=list)
    comeback: list[str] = field(default_factory=list)
    answers: list[PracticeAnswer] = field(default_factory=list)


def session_summary(session: PracticeSession, today: date | None = None) -> SessionSummary:
    """Right/total, the items to revisit (most wrong answers first) and when the cards the
    session touched come back ("3 道题明天再练")."""
    today = today or date.today()
    answers = list(
        db.session.scalars(
            sa.select(PracticeAnswer)
            .options(joinedload(PracticeAnswer.question).joinedload(Question.item))
            .where(PracticeAnswer.session_id == session.id)
            .order_by(PracticeAnswer.id)
        )
    )
    right = sum(1 for a in answers if rules.is_right(a.fraction))
    wrong_by_item = Counter(a.question.item_id for a in answers if not rules.is_right(a.fraction))
    items = {a.question.item_id: a.question.item for a in answers}
    revisit = [
        Revisit(items[item_id], n)
        for item_id, n in sorted(wrong_by_item.items(), key=lambda kv: (-kv[1], kv[0] or 0))
    ]
    due = []
    if answers:
        due = list(
            db.session.scalars(
                sa.select(PracticeCard.due_on).where(
                    PracticeCard.agent_id == session.agent_id,
                    PracticeCard.question_id.in_([a.question_id for a in answers]),
                )
            )
        )
    return SessionSummary(
        session,
        session.size,
        len(answers),
        right,
        revisit,
        rules.comeback(due, today),
        answers,
    )


@dataclass
class Overview:
    due_today: int
    boxes: list[int]  # cards in box 1..5
    shares: list[int]  # bar widths, percent in steps of 5
    cards: int
    answers: int
    weak: list[WeakItem]
    session: PracticeSession | None
    session_done: int
    next_due: date | None  # when the next card comes back, if none is due today


def overview(agent: Agent, today: date | None = None) -> Overview:
    today = today or date.today()
    live = sa.select(Question.id).where(_practicable())
    rows = db.session.execute(
        sa.select(
            PracticeCard.box,
            sa.func.count(),
            sa.func.sum(sa.case((PracticeCard.due_on <= today, 1), else_=0)),
        )
        .where(PracticeCard.agent_id == agent.id, PracticeCard.question_id.in_(live))
        .group_by(PracticeCard.box)
    ).all()
    boxes = [0] * rules.MAX_BOX
    due_today = 0
    for box, count, due in rows:
        boxes[box - 1] = count
        due_today += due or 0
    next_due = None
    if not due_today and any(boxes):
        next_due = db.session.scalar(
            sa.select(sa.func.min(PracticeCard.due_on)).where(
                PracticeCard.agent_id == agent.id, PracticeCard.question_id.in_(live)
            )
        )
    answers = db.session.scalar(
        sa.select(sa.func.count()).where(PracticeAnswer.agent_id == agent.id)
    )
    session = open_session(agent)
    return Overview(
        due_today=due_today,
        boxes=boxes,
        shares=rules.box_shares(boxes),
        cards=sum(boxes),
        answers=answers or 0,
        weak=weak_items(agent),
        session=session,
        session_done=position(session) if session else 0,
        next_due=next_due,
    )


def due_count(agent: Agent, today: date | None = None) -> int:
    """Cards due today or earlier (for the agent's home page)."""
    today = today or date.today()
    return (
        db.session.scalar(
            sa.select(sa.func.count()).where(
                PracticeCard.agent_id == agent.id,
                PracticeCard.due_on <= today,
                PracticeCard.question_id.in_(sa.select(Question.id).where(_practicable())),
            )
        )
        or 0
    )
