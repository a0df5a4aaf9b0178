"""Exam use-cases: authoring and publishing blueprints, starting, saving, submitting and
grading attempts, marking essays, overrides and reopening. Services only flush; the request
commits once (academy/web.py), so an answer is durable when its save request returns.

The candidate's hot paths are cheap on purpose (exam-day rush): starting an attempt is a
fixed number of statements (settings, history, one pool query per section, two INSERTs);
an autosave is one SELECT (the attempt, the answer row and its question version) and one
UPDATE, plus the learning event's INSERT.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload, selectinload

from academy.activity.models import ObjectType, Verb
from academy.activity.services import record_event
from academy.audit.services import record
from academy.auth.models import User
from academy.auth.policy import NotSignedIn, SessionIdentity
from academy.catalogue.models import ServiceItem
from academy.db import utcnow
from academy.errors_domain import DomainError
from academy.events import learning_progressed
from academy.exams import rules
from academy.exams.models import (
    Attempt,
    AttemptAnswer,
    AttemptState,
    Exam,
    ExamOverride,
    ExamSection,
    ExamStatus,
    FinishReason,
    VersionPolicy,
)
from academy.extensions import db
from academy.questions import types
from academy.questions.models import Question, QuestionVersion
from academy.questions.types import get_type
from academy.roster.models import Agent

UNDRAWN_TYPES = types.unscored()  # shown in fixed sections only, never drawn at random
EXPERT_MARKED = types.expert_marked()  # essays: marked by an expert after the attempt


# --- settings ------------------------------------------------------------------------------


def base_settings(exam: Exam) -> rules.Settings:
    return rules.Settings(
        exam.time_limit_minutes, exam.opens_at, exam.closes_at, exam.attempts_allowed
    )


def _override_rule(o: ExamOverride | None, scope: str) -> rules.Override | None:
    if o is None:
        return None
    return rules.Override(
        scope, o.reason, o.extra_minutes, o.opens_at, o.closes_at, o.extra_attempts
    )


def township_of(agent: Agent) -> int | None:
    posting = agent.current_posting
    return posting.village.township_id if posting else None


def effective_for(exam: Exam, agent: Agent) -> rules.Effective:
    township_id = township_of(agent)
    overrides = db.session.scalars(
        sa.select(ExamOverride).where(
            ExamOverride.exam_id == exam.id,
            sa.or_(
                ExamOverride.agent_id == agent.id,
                ExamOverride.township_id == township_id if township_id is not None else sa.false(),
            ),
        )
    ).all()
    mine = next((o for o in overrides if o.agent_id == agent.id), None)
    group = next((o for o in overrides if o.township_id is not None), None)
    return rules.effective_settings(
        base_settings(exam), _override_rule(group, "township"), _override_rule(mine, "agent")
    )


def may_sit(exam: Exam, agent: Agent) -> bool:
    """Published, and for the whole county or the agent's township; active agents only."""
    if exam.status != ExamStatus.PUBLISHED or agent.current_posting is None:
        return False
    return exam.township_id is None or exam.township_id == township_of(agent)


# --- pools and the draw --------------------------------------------------------------------


@dataclass(frozen=True)
class PoolEntry:
    question_id: int
    version_id: int
    qtype: str
    difficulty: int | None


def _section_filter(stmt: sa.Select, section: ExamSection) -> sa.Select:
    if section.question_ids:
        return stmt.where(Question.id.in_(section.question_ids))
    stmt = stmt.where(Question.retired.is_(False), Question.qtype.not_in(UNDRAWN_TYPES))
    if section.item_ids:
        stmt = stmt.where(Question.item_id.in_(section.item_ids))
    if section.category is not None:
        stmt = stmt.join(ServiceItem, ServiceItem.id == Question.item_id).where(
            ServiceItem.category == section.category
        )
    if section.dimension is not None:
        stmt = stmt.where(Question.dimension == section.dimension)
    if section.qtypes:
        stmt = stmt.where(Question.qtype.in_(section.qtypes))
    return stmt


def section_pool(exam: Exam, section: ExamSection, at: datetime | None = None) -> list[PoolEntry]:
    """The questions a section can draw, each with the version an attempt would get: the
    current one, or for a pinned exam the latest version that existed when it was pinned."""
    if exam.version_policy == VersionPolicy.PINNED and exam.pinned_at is not None:
        pinned = (
            sa.select(QuestionVersion.question_id, sa.func.max(QuestionVersion.number).label("n"))
            .where(QuestionVersion.created_at <= exam.pinned_at)
            .group_by(QuestionVersion.question_id)
            .subquery()
        )
        stmt = (
            sa.select(Question.id, QuestionVersion.id, Question.qtype, Question.difficulty)
            .join(pinned, pinned.c.question_id == Question.id)
            .join(
                QuestionVersion,
                sa.and_(
                    QuestionVersion.question_id == Question.id,
                    QuestionVersion.number == pinned.c.n,
                ),
            )
        )
    else:
        stmt = sa.select(Question.id, QuestionVersion.id, Question.qtype, Question.difficulty).join(
            QuestionVersion,
            sa.and_(
                QuestionVersion.question_id == Question.id,
                QuestionVersion.number == Question.current_version,
            ),
        )
    rows = db.session.execute(_section_filter(stmt, section).order_by(Question.id))
    return [PoolEntry(*row) for row in rows]


def blueprint_cells(exam: Exam, pools: Mapping[int, list[PoolEntry]]) -> list[rules.Cell]:
    cells = []
    for index, section in enumerate(exam.sections):
        pool = pools[section.id]
        if section.question_ids:
            ids = tuple(p.question_id for p in pool)
            cells.append(rules.Cell(index, "fixed", len(section.question_ids), ids))
            continue
        for key in rules.DIFFICULTY_KEYS:
            count = int(section.counts.get(key, 0) or 0)
            if not count:
                continue
            ids = tuple(p.question_id for p in pool if key == "any" or str(p.difficulty) == key)
            cells.append(rules.Cell(index, key, count, ids))
    return cells


def draw_problem(exam: Exam, err: rules.DrawError) -> str:
    section = exam.sections[err.cell.section]
    what = "指定题目" if err.cell.key == "fixed" else rules.DIFFICULTY_LABELS[err.cell.key]
    if err.cell.key == "fixed":
        return (
            f"第 {section.position} 部分“{section.title}”指定的 {err.cell.count} 道题中，"
            f"只有 {err.available} 道存在且可用。"
        )
    if err.overlap:
        return (
            f"第 {section.position} 部分“{section.title}”（{what}）需要 {err.cell.count} 道题，"
            f"符合条件的 {err.available} 道题与其他部分重叠，分配后不够用。"
        )
    return (
        f"第 {section.position} 部分“{section.title}”（{what}）需要 {err.cell.count} 道题，"
        f"题库中符合条件的只有 {err.available} 道。"
    )


def blueprint_problems(exam: Exam) -> list[str]:
    """Everything that stops the exam from being published (all at once)."""
    problems = []
    if not exam.sections:
        problems.append("请至少添加一个部分（题目来源和数量）。")
    for section in exam.sections:
        for p in rules.check_counts(section.counts):
            problems.append(f"第 {section.position} 部分：{p}")
        if not section.question_ids and not any(section.counts.values()):
            problems.append(f"第 {section.position} 部分“{section.title}”的题数为 0。")
    if problems:
        return problems
    pools = {s.id: section_pool(exam, s) for s in exam.sections}
    try:
        rules.draw(blueprint_cells(exam, pools), {}, seed=0)
    except rules.DrawError as err:
        problems.append(draw_problem(exam, err))
    return problems


@dataclass(frozen=True)
class Paper:
    """One drawn paper: question ids in the candidate's order, with their pool entries
    (version, type) and sections."""

    order: list[int]
    entries: dict[int, PoolEntry]
    section_of: dict[int, ExamSection]


# Starts share the pools they draw from: an exam day's rush (hundreds of starts a minute)
# reads each section's pool once per process every EXAM_POOL_CACHE_SECONDS, not once per
# start. The key holds everything the pool depends on in the exam (its blueprint, version
# policy); what changes in the banks (a question retired or edited) reaches new starts
# within those seconds — attempts already started keep what they drew in any case.
_POOL_CACHE: dict[tuple, tuple[float, dict[int, list[PoolEntry]], list[rules.Cell]]] = {}


def _blueprint_key(exam: Exam) -> tuple:
    return (
        exam.id,
        exam.version_policy,
        exam.pinned_at,
        tuple(
            (
                s.id,
                tuple(s.question_ids or ()),
                tuple(s.item_ids or ()),
                s.category,
                s.dimension,
                tuple(s.qtypes or ()),
                tuple(sorted((s.counts or {}).items())),
            )
            for s in exam.sections
        ),
    )


def _pools_and_cells(exam: Exam) -> tuple[dict[int, list[PoolEntry]], list[rules.Cell]]:
    seconds = current_app.config.get("EXAM_POOL_CACHE_SECONDS", 0)
    key = _blueprint_key(exam) if seconds > 0 else None
    now = time.monotonic()
    if key is not None:
        kept = _POOL_CACHE.get(key)
        if kept is not None and now - kept[0] < seconds:
            return kept[1], kept[2]
    pools = {s.id: section_pool(exam, s) for s in exam.sections}
    cells = blueprint_cells(exam, pools)
    if key is not None:
        if len(_POOL_CACHE) > 64:  # exams of the past: forget them all, the live ones return
            _POOL_CACHE.clear()
        _POOL_CACHE[key] = (now, pools, cells)
    return pools, cells


def draw_paper(exam: Exam, seed: int, seen: Mapping[int, float] | None = None) -> Paper:
    """Draw a paper of ``exam`` from ``seed`` (raises rules.DrawError). One pool query per
    section (kept for a few seconds, see _POOL_CACHE); used to start an attempt and for the
    expert's preview."""
    pools, cells = _pools_and_cells(exam)
    chosen = rules.draw(cells, seen or {}, seed)
    by_section: list[list[int]] = [[] for _ in exam.sections]
    for cell, qs in zip(cells, chosen, strict=True):
        by_section[cell.section].extend(qs)
    return Paper(
        rules.arrange(by_section, exam.shuffle_questions, seed),
        {p.question_id: p for pool in pools.values() for p in pool},
        {q: exam.sections[i] for i, qs in enumerate(by_section) for q in qs},
    )


def _seen(agent_id: int) -> dict[int, float]:
    """When the agent last had each question in an attempt (for draws without repeats)."""
    rows = db.session.execute(
        sa.select(AttemptAnswer.question_id, sa.func.max(Attempt.started_at))
        .join(Attempt, Attempt.id == AttemptAnswer.attempt_id)
        .where(Attempt.agent_id == agent_id)
        .group_by(AttemptAnswer.question_id)
    )
    return {q: at.timestamp() for q, at in rows}


# --- starting ------------------------------------------------------------------------------


def open_attempt(exam: Exam, agent: Agent) -> Attempt | None:
    return db.session.scalar(
        sa.select(Attempt).where(
            Attempt.exam_id == exam.id,
            Attempt.agent_id == agent.id,
            Attempt.state == AttemptState.IN_PROGRESS,
        )
    )


def start_attempt(exam: Exam, agent: Agent, user: User | None, now: datetime | None = None):
    """Start (or resume) the agent's attempt. Raises DomainError when they may not."""
    now = now or utcnow()
    if not may_sit(exam, agent):
        raise DomainError("您不在本次考试的范围内，或考试尚未发布。")
    mine = db.session.execute(  # one statement: the open attempt and how many were used
        sa.select(Attempt.id, Attempt.state).where(
            Attempt.exam_id == exam.id, Attempt.agent_id == agent.id
        )
    ).all()
    current_id = next((i for i, state in mine if state == AttemptState.IN_PROGRESS), None)
    if current_id is not None:
        current = db.session.get(Attempt, current_id)
        if rules.is_overdue(current.deadline, now):
            finish_attempt(current, FinishReason.TIMEOUT, now)
        else:
            return current
    eff = effective_for(exam, agent)
    used = len(mine)
    problem = rules.start_problem(eff.settings, now, used)
    if problem:
        raise DomainError(problem)
    seed = secrets.randbits(48)
    try:
        paper = draw_paper(exam, seed, _seen(agent.id))
    except rules.DrawError as err:
        current_app.logger.error("exam %s cannot draw: %s", exam.id, err)
        raise DomainError("本场考试的题库暂时不足，无法组卷，请联系出题专家。") from err
    order, entries, section_of = paper.order, paper.entries, paper.section_of
    attempt = Attempt(
        exam_id=exam.id,
        agent_id=agent.id,
        user_id=getattr(user, "id", None),
        township_id=township_of(agent),
        number=used + 1,
        seed=seed,
        state=AttemptState.IN_PROGRESS,
        started_at=now,
        deadline=rules.attempt_deadline(now, eff.settings),
        settings=eff.as_dict(),
        max_score=sum(section_of[q].points for q in order if entries[q].qtype != "description"),
    )
    try:
        with db.session.begin_nested():
            db.session.add(attempt)
            db.session.flush()
    except IntegrityError:
        # A second click started one meanwhile: resume that one.
        existing = open_attempt(exam, agent)
        if existing is None:
            raise
        return existing
    db.session.connection().execute(  # Core: fifty rows without ORM bookkeeping
        sa.insert(AttemptAnswer.__table__),
        [
            {
                "attempt_id": attempt.id,
                "position": n,
                "section_id": section_of[q].id,
                "question_id": q,
                "version_id": entries[q].version_id,
                "qtype": entries[q].qtype,
                "points": 0.0 if entries[q].qtype == "description" else section_of[q].points,
                "seq": 0,
                "flagged": False,
            }
            for n, q in enumerate(order, 1)
        ],
    )
    record_event(
        Verb.STARTED,
        ObjectType.ATTEMPT,
        attempt.id,
        exam.title,
        agent=agent,
        result={"number": attempt.number, "questions": len(order)},
        context={"parent": f"exam:{exam.id}"},
        at=now,
    )
    return attempt


# --- version data ---------------------------------------------------------------------


def version_data(version_ids: Iterable[int]) -> dict[int, dict]:
    """The content of question versions by id (one query)."""
    ids = set(version_ids)
    if not ids:
        return {}
    return dict(
        db.session.execute(
            sa.select(QuestionVersion.id, QuestionVersion.data).where(QuestionVersion.id.in_(ids))
        ).all()
    )


# --- saving --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Saved:
    position: int
    seq: int
    saved_at: datetime
    stale: bool  # a newer save of this answer was already stored; this one was ignored


def attempt_problem(attempt_state: AttemptState, deadline: datetime | None, now: datetime):
    if attempt_state != AttemptState.IN_PROGRESS:
        return "本次作答已交卷，不能再修改。"
    if rules.is_overdue(deadline, now):
        return "作答时间已到，答案不能再修改。"
    return None


_ANSWER_COLUMNS = (
    Attempt.state,
    Attempt.deadline,
    Attempt.exam_id,
    Attempt.township_id,
    Exam.title,
    AttemptAnswer.id,
    AttemptAnswer.qtype,
    QuestionVersion.data,
    Attempt.agent_id,
)


def _answer_of_attempt() -> sa.Join:
    return (
        sa.join(
            Attempt,
            AttemptAnswer,
            sa.and_(
                AttemptAnswer.attempt_id == Attempt.id,
                AttemptAnswer.position == sa.bindparam("position"),
            ),
        )
        .join(Exam, Exam.id == Attempt.exam_id)
        .join(QuestionVersion, QuestionVersion.id == AttemptAnswer.version_id)
    )


# Built once: a save is the hottest request of an exam day (SQLAlchemy caches the compiled
# form; building the statement anew each time cost more than running it).
_ANSWER_BY_AGENT = (
    sa.select(*_ANSWER_COLUMNS)
    .select_from(_answer_of_attempt())
    .where(Attempt.id == sa.bindparam("attempt_id"), Attempt.agent_id == sa.bindparam("agent_id"))
)
_ANSWERS = AttemptAnswer.__table__
_STORE_ANSWER = (
    sa.update(_ANSWERS)
    .where(_ANSWERS.c.id == sa.bindparam("answer_id"), _ANSWERS.c.seq < sa.bindparam("new_seq"))
    .values(
        response=sa.bindparam("response"),
        seq=sa.bindparam("new_seq"),
        saved_at=sa.bindparam("saved_at"),
    )
)
_STORE_ANSWER_AND_FLAG = _STORE_ANSWER.values(flagged=sa.bindparam("flag"))


# The autosave from the web: the account (its role) and — when the attempt is theirs — the
# answer row, in one SELECT: the account LEFT JOIN the attempt's answer.
_ANSWER_BY_ACCOUNT = (
    sa.select(User.role, *_ANSWER_COLUMNS)
    .select_from(
        sa.outerjoin(
            User,
            _answer_of_attempt(),
            sa.and_(Attempt.id == sa.bindparam("attempt_id"), Attempt.agent_id == User.agent_id),
        )
    )
    .where(SessionIdentity.account_matches())
)


def _answer_by_identity(identity: SessionIdentity, attempt_id: int, position: int):
    params = {"attempt_id": attempt_id, "position": position, **identity.params()}
    row = db.session.connection().execute(_ANSWER_BY_ACCOUNT, params).first()
    if row is None:
        raise NotSignedIn()
    if not identity.permitted(row[0]):
        raise PermissionError(identity.permission)
    return None if row.id is None else row[1:]  # row.id: the answer's (no other id selected)


def save_answer(
    attempt_id: int,
    owner: int | SessionIdentity,
    position: int,
    form,
    seq: int,
    flagged: bool | None = None,
    now: datetime | None = None,
) -> Saved:
    """Store one answer as posted by the page (``form``: a MultiDict with the answer's fields,
    named ``a<position>…`` as templates/questions/_answer.html names them). ``owner`` is the
    agent's id, or the session's identity (the web's autosave: the account is checked in the
    same SELECT, see auth.policy.requires_identity).

    One SELECT (account, attempt state, deadline, the answer row checked to be the agent's,
    and the version it drew), one UPDATE guarded by the sequence number and the event's
    INSERT — Core statements on the request's connection, no ORM objects. Raises LookupError
    when the attempt or answer is not the agent's (the view answers 404), DomainError when
    it may not be changed any more, ResponseError for a malformed answer; with an identity,
    NotSignedIn or PermissionError for the account."""
    now = now or utcnow()
    if isinstance(owner, SessionIdentity):
        row = _answer_by_identity(owner, attempt_id, position)
    else:
        row = (
            db.session.connection()
            .execute(
                _ANSWER_BY_AGENT,
                {"attempt_id": attempt_id, "agent_id": owner, "position": position},
            )
            .first()
        )
    if row is None:
        raise LookupError(attempt_id)
    state, deadline, exam_id, township_id, title, answer_id, qtype, data, agent_id = row
    problem = attempt_problem(state, deadline, now)
    if problem:
        raise DomainError(problem)
    kind = get_type(qtype)
    raw = kind.from_form(data, form, f"a{position}")
    response = None if raw is None else kind.check(data, raw)
    params = {"answer_id": answer_id, "new_seq": seq, "response": response, "saved_at": now}
    if flagged is not None:
        params["flag"] = flagged
    result = db.session.connection().execute(
        _STORE_ANSWER if flagged is None else _STORE_ANSWER_AND_FLAG, params
    )
    stale = result.rowcount == 0
    if not stale:
        record_event(
            Verb.SAVED,
            ObjectType.ATTEMPT,
            attempt_id,
            title,
            agent=agent_id,
            township_id=township_id,
            result={"position": position, "answered": response is not None},
            context={"parent": f"exam:{exam_id}"},
            at=now,
        )
    return Saved(position, seq, now, stale=stale)


def save_page(attempt: Attempt, form, now: datetime | None = None) -> int:
    """Store every answer of a page posted without the autosave script (fields
    ``a<position>…``). Returns how many answers were stored."""
    now = now or utcnow()
    problem = attempt_problem(attempt.state, attempt.deadline, now)
    if problem:
        raise DomainError(problem)
    positions = sorted(
        {
            int(k.split("-")[0][1:])
            for k in form
            if k.startswith("a") and k[1:].split("-")[0].isdigit()
        }
    )
    answers = {a.position: a for a in attempt.answers if a.position in positions}
    data = version_data(a.version_id for a in answers.values())
    stored = 0
    flagged = set(form.getlist("flag"))
    for position, answer in answers.items():
        kind = get_type(answer.qtype)
        raw = kind.from_form(data[answer.version_id], form, f"a{position}")
        answer.response = None if raw is None else kind.check(data[answer.version_id], raw)
        answer.seq += 1
        answer.saved_at = now
        answer.flagged = str(position) in flagged
        stored += 1
    db.session.flush()
    return stored


# --- submitting and grading ----------------------------------------------------------------


def finish_attempt(attempt: Attempt, reason: FinishReason, now: datetime | None = None) -> None:
    """Close the attempt and grade what can be graded automatically; essays wait for an
    expert (state MARKING) and the result is final when they are marked (GRADED)."""
    now = now or utcnow()
    if attempt.state != AttemptState.IN_PROGRESS:
        return
    answers = list(
        db.session.scalars(
            sa.select(AttemptAnswer)
            .where(AttemptAnswer.attempt_id == attempt.id)
            .execution_options(populate_existing=True)  # saves are UPDATEs, not ORM changes
        )
    )
    data = version_data(a.version_id for a in answers)
    for answer in answers:
        kind = get_type(answer.qtype)
        if answer.qtype == "description":
            answer.fraction, answer.score = None, 0.0
            continue
        if not kind.auto_marked:
            if answer.response in (None, ""):
                answer.fraction, answer.score = 0.0, 0.0  # nothing to mark
            continue
        fraction = (
            0.0 if answer.response is None else kind.grade(data[answer.version_id], answer.response)
        )
        answer.fraction = fraction
        answer.score = round((fraction or 0.0) * answer.points, 4)
    # A timed-out attempt ended at its deadline, whenever the server noticed.
    ended = (
        min(now, attempt.deadline) if reason == FinishReason.TIMEOUT and attempt.deadline else now
    )
    attempt.submitted_at = ended
    attempt.finish_reason = reason
    _update_totals(attempt, answers, now)
    record_event(
        Verb.SUBMITTED,
        ObjectType.ATTEMPT,
        attempt.id,
        attempt.exam.title,
        agent=attempt.agent_id,
        township_id=attempt.township_id,
        result={
            "score": attempt.score,
            "max": attempt.max_score,
            "completion": True,
            **({"success": attempt.passed} if attempt.passed is not None else {}),
            "reason": reason.value,
        },
        context={"parent": f"exam:{attempt.exam_id}"},
        at=now,
    )
    db.session.flush()


def _update_totals(attempt: Attempt, answers: list[AttemptAnswer], now: datetime) -> None:
    scored = [(a.score, a.points) for a in answers if a.qtype != "description"]
    totals = rules.totals(scored)
    attempt.score, attempt.max_score = totals.score, totals.max_score
    attempt.percent = totals.percent
    if totals.pending:
        attempt.state = AttemptState.MARKING
        attempt.passed = None
        attempt.graded_at = None
        return
    attempt.state = AttemptState.GRADED
    attempt.passed = rules.passed(totals.percent, attempt.exam.pass_percent)
    attempt.graded_at = now
    learning_progressed.send(None, agent=attempt.agent)


def submit_attempt(attempt: Attempt, now: datetime | None = None) -> None:
    now = now or utcnow()
    reason = (
        FinishReason.TIMEOUT if rules.is_overdue(attempt.deadline, now) else FinishReason.SUBMITTED
    )
    finish_attempt(attempt, reason, now)


def finish_overdue(now: datetime | None = None, limit: int = 500) -> int:
    """Submit every attempt whose deadline has passed (the cron job; also done lazily when a
    candidate comes back). Returns how many."""
    now = now or utcnow()
    overdue = list(
        db.session.scalars(
            sa.select(Attempt)
            .options(joinedload(Attempt.exam), joinedload(Attempt.agent))
            .where(Attempt.state == AttemptState.IN_PROGRESS, Attempt.deadline <= now)
            .order_by(Attempt.deadline)
            .limit(limit)
        )
    )
    for attempt in overdue:
        finish_attempt(attempt, FinishReason.TIMEOUT, now)
    return len(overdue)


# --- marking -------------------------------------------------------------------------------


def mark_answer(
    actor: User, answer: AttemptAnswer, score: float, comment: str, now: datetime | None = None
) -> None:
    now = now or utcnow()
    attempt = answer.attempt
    if attempt.state == AttemptState.IN_PROGRESS:
        raise DomainError("考生尚未交卷，不能评分。")
    if answer.qtype not in EXPERT_MARKED:
        raise DomainError("只有简答题需要人工评分。")
    if not 0 <= score <= answer.points:
        raise DomainError(f"得分应在 0 到 {answer.points:g} 分之间。", field="score")
    before = answer.score
    answer.score = round(score, 4)
    answer.fraction = round(score / answer.points, 6) if answer.points else 0.0
    answer.comment = comment.strip() or None
    answer.marked_by_id = actor.id
    answer.marked_at = now
    answers = list(
        db.session.scalars(sa.select(AttemptAnswer).where(AttemptAnswer.attempt_id == attempt.id))
    )
    _update_totals(attempt, answers, now)
    if attempt.state == AttemptState.GRADED:
        record_event(
            Verb.GRADED,
            ObjectType.ATTEMPT,
            attempt.id,
            attempt.exam.title,
            agent=attempt.agent_id,
            user=actor,
            township_id=attempt.township_id,
            result={"score": attempt.score, "max": attempt.max_score, "success": attempt.passed},
            context={"parent": f"exam:{attempt.exam_id}"},
            at=now,
        )
    record(
        actor,
        "exam.answer_marked",
        attempt,
        f"评阅《{attempt.exam.title}》第 {answer.position} 题：{score:g}/{answer.points:g} 分"
        + (f"（原 {before:g} 分）" if before is not None else ""),
        {"answer": answer.id, "score": score, "before": before},
        attempt.township_id,
    )
    db.session.flush()


# --- overrides and reopening ---------------------------------------------------------------


@dataclass(frozen=True)
class OverrideData:
    extra_minutes: int | None
    opens_at: datetime | None
    closes_at: datetime | None
    extra_attempts: int | None
    reason: str


def set_override(
    actor: User,
    exam: Exam,
    data: OverrideData,
    agent: Agent | None = None,
    township_id: int | None = None,
) -> ExamOverride:
    if (agent is None) == (township_id is None):
        raise DomainError("请指定一名代办员或一个镇街。")
    if not data.reason.strip():
        raise DomainError("请填写调整原因。", field="reason")
    if not any(
        v is not None
        for v in (data.extra_minutes, data.opens_at, data.closes_at, data.extra_attempts)
    ):
        raise DomainError("请至少调整一项：延长时间、开放时间、截止时间或增加次数。")
    opens = data.opens_at or exam.opens_at
    closes = data.closes_at or exam.closes_at
    if opens and closes and closes <= opens:
        raise DomainError("截止时间必须晚于开放时间。", field="closes_at")
    override = db.session.scalar(
        sa.select(ExamOverride).where(
            ExamOverride.exam_id == exam.id,
            ExamOverride.agent_id == agent.id
            if agent is not None
            else ExamOverride.township_id == township_id,
        )
    )
    if override is None:
        override = ExamOverride(
            exam_id=exam.id, agent_id=getattr(agent, "id", None), township_id=township_id
        )
        db.session.add(override)
    override.extra_minutes = data.extra_minutes
    override.opens_at, override.closes_at = data.opens_at, data.closes_at
    override.extra_attempts = data.extra_attempts
    override.reason = data.reason.strip()[:200]
    override.created_by_id = actor.id
    db.session.flush()
    who = agent.name if agent is not None else f"镇街 #{township_id}"
    record(
        actor,
        "exam.override_set",
        exam,
        f"《{exam.title}》为{who}调整考试设置：{override.reason}",
        {
            "agent": getattr(agent, "id", None),
            "township": township_id,
            "extra_minutes": data.extra_minutes,
            "opens_at": data.opens_at.isoformat() if data.opens_at else None,
            "closes_at": data.closes_at.isoformat() if data.closes_at else None,
            "extra_attempts": data.extra_attempts,
        },
        township_id if township_id is not None else (township_of(agent) if agent else None),
    )
    return override


def remove_override(actor: User, override: ExamOverride) -> None:
    exam = override.exam
    record(
        actor,
        "exam.override_removed",
        exam,
        f"《{exam.title}》取消考试设置调整：{override.reason}",
        {"agent": override.agent_id, "township": override.township_id},
        override.township_id,
    )
    db.session.delete(override)
    db.session.flush()


def reopen_attempt(
    actor: User, attempt: Attempt, minutes: int, reason: str, now: datetime | None = None
) -> None:
    """Give a candidate whose attempt ended by timeout more time (audited)."""
    now = now or utcnow()
    if not reason.strip():
        raise DomainError("请填写重新开放的原因。", field="reason")
    if attempt.finish_reason != FinishReason.TIMEOUT or attempt.state == AttemptState.IN_PROGRESS:
        raise DomainError("只能重新开放因超时自动交卷的作答。")
    if not 1 <= minutes <= 600:
        raise DomainError("延长时间应为 1–600 分钟。", field="minutes")
    if open_attempt(attempt.exam, attempt.agent) is not None:
        raise DomainError("该考生另有一份正在作答的试卷。")
    attempt.state = AttemptState.IN_PROGRESS
    attempt.deadline = rules.reopen_deadline(now, minutes)
    attempt.submitted_at = attempt.finish_reason = None
    attempt.score = attempt.percent = attempt.passed = attempt.graded_at = None
    attempt.reopened_count += 1
    for answer in attempt.answers:
        if answer.qtype not in EXPERT_MARKED or answer.marked_at is None:
            answer.fraction = answer.score = None
    record(
        actor,
        "exam.attempt_reopened",
        attempt,
        f"重新开放 {attempt.agent.name} 的《{attempt.exam.title}》作答 {minutes} 分钟："
        f"{reason.strip()}",
        {"minutes": minutes, "reason": reason.strip()},
        attempt.township_id,
    )
    db.session.flush()


# --- loading for pages ---------------------------------------------------------------------


def attempt_to_take(attempt_id: int, agent: Agent) -> Attempt | None:
    """The candidate's attempt with its exam (one statement), for the attempt page: the page
    needs neither the sections nor ORM answer objects (see ``paper``)."""
    return db.session.scalar(
        sa.select(Attempt)
        .options(joinedload(Attempt.exam))
        .where(Attempt.id == attempt_id, Attempt.agent_id == agent.id)
    )


_PAPER = (
    sa.select(
        AttemptAnswer.position,
        AttemptAnswer.qtype,
        AttemptAnswer.points,
        AttemptAnswer.response,
        AttemptAnswer.seq,
        AttemptAnswer.saved_at,
        AttemptAnswer.flagged,
        AttemptAnswer.version_id,
        QuestionVersion.data,
        QuestionVersion.created_at.label("version_at"),
    )
    .join(QuestionVersion, QuestionVersion.id == AttemptAnswer.version_id)
    .where(AttemptAnswer.attempt_id == sa.bindparam("attempt_id"))
    .order_by(AttemptAnswer.position)
)


def paper(attempt_id: int) -> list[sa.Row]:
    """The attempt's answers in order, each with its question version's content (one
    statement, plain rows: the page of 50 questions builds no ORM objects)."""
    return list(db.session.execute(_PAPER, {"attempt_id": attempt_id}))


def attempt_for_candidate(attempt_id: int, agent: Agent) -> Attempt | None:
    return db.session.scalar(
        sa.select(Attempt)
        .options(
            joinedload(Attempt.exam).selectinload(Exam.sections),
            selectinload(Attempt.answers),
        )
        .where(Attempt.id == attempt_id, Attempt.agent_id == agent.id)
    )


def agent_attempts(agent: Agent, exam_ids: Iterable[int]) -> dict[int, list[Attempt]]:
    ids = list(exam_ids)
    out: dict[int, list[Attempt]] = {i: [] for i in ids}
    if not ids:
        return out
    for a in db.session.scalars(
        sa.select(Attempt)
        .where(Attempt.agent_id == agent.id, Attempt.exam_id.in_(ids))
        .order_by(Attempt.number)
    ):
        out[a.exam_id].append(a)
    return out


def exams_for_agent(agent: Agent) -> list[Exam]:
    township_id = township_of(agent)
    return list(
        db.session.scalars(
            sa.select(Exam)
            .where(
                Exam.status == ExamStatus.PUBLISHED,
                sa.or_(Exam.township_id.is_(None), Exam.township_id == township_id),
            )
            .order_by(Exam.closes_at.is_(None), Exam.closes_at, Exam.id.desc())
        )
    )
