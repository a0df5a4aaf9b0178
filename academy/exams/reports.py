"""Read-side queries of the staff pages: exam lists, results, attempts, the marking queue and
the matrix behind item statistics. Township heads are narrowed to their township's
candidates in SQL (``Attempt.township_id`` through auth.policy); every page is a fixed
number of queries, whatever the number of attempts.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import joinedload, selectinload

from academy.auth.models import User
from academy.auth.policy import Scope, agent_clause, scope_by_township
from academy.exams import services
from academy.exams import statistics as st
from academy.exams.models import (
    Attempt,
    AttemptAnswer,
    AttemptState,
    Exam,
    ExamOverride,
    ExamStatus,
)
from academy.extensions import db
from academy.questions.models import Question, QuestionVersion
from academy.regions.models import Township, Village
from academy.roster.models import Agent, Posting


def pairs(stmt: sa.Select) -> dict:
    """{first column: second column} of a two-column SELECT."""
    return {k: v for k, v in db.session.execute(stmt)}


def _digits(value: str | None, limit: int = 9) -> int | None:
    value = (value or "").strip()
    return int(value) if value.isdigit() and len(value) <= limit else None


# --- exams ---------------------------------------------------------------------------------


def scope_exams(stmt: sa.Select, scope: Scope) -> sa.Select:
    """Exams a scope may see: the county's, everything; a township's, the exams its
    candidates can sit (county-wide or for that township), once published."""
    clause = scope.township_clause(Exam.township_id)
    if clause is None:
        return stmt
    return stmt.where(sa.or_(Exam.township_id.is_(None), clause), Exam.status != ExamStatus.DRAFT)


def exam_visible_to(scope: Scope, exam_id: int) -> Exam | None:
    stmt = sa.select(Exam).options(selectinload(Exam.sections)).where(Exam.id == exam_id)
    return db.session.scalar(scope_exams(stmt, scope))


@dataclass
class ExamFilter:
    q: str = ""
    status: ExamStatus | None = None


def exam_filter(args) -> ExamFilter:
    status = args.get("status", "")
    return ExamFilter(
        q=args.get("q", "").strip()[:60],
        status=ExamStatus(status) if status in {s.value for s in ExamStatus} else None,
    )


def _attempt_counts(scope: Scope):
    """(exam id, attempts, graded, marking) of the attempts the user may see."""
    stmt = sa.select(
        Attempt.exam_id.label("exam_id"),
        sa.func.count(Attempt.id).label("attempts"),
        sa.func.count(Attempt.id).filter(Attempt.state == AttemptState.GRADED).label("graded"),
        sa.func.count(Attempt.id).filter(Attempt.state == AttemptState.MARKING).label("marking"),
        sa.func.count(Attempt.id).filter(Attempt.passed.is_(True)).label("passed"),
    ).group_by(Attempt.exam_id)
    return scope_by_township(stmt, scope, Attempt.township_id).subquery()


def exam_list_statement(scope: Scope, f: ExamFilter) -> sa.Select:
    """Rows of (Exam, attempts, graded, marking, passed) for paginate(rows=True)."""
    counts = _attempt_counts(scope)
    stmt = (
        sa.select(
            Exam,
            sa.func.coalesce(counts.c.attempts, 0),
            sa.func.coalesce(counts.c.graded, 0),
            sa.func.coalesce(counts.c.marking, 0),
            sa.func.coalesce(counts.c.passed, 0),
        )
        .outerjoin(counts, counts.c.exam_id == Exam.id)
        .options(joinedload(Exam.township))
    )
    stmt = scope_exams(stmt, scope)
    if f.q:
        stmt = stmt.where(Exam.title.like(f"%{f.q}%"))
    if f.status is not None:
        stmt = stmt.where(Exam.status == f.status)
    return stmt.order_by(
        sa.case(
            (Exam.status == ExamStatus.PUBLISHED, 0), (Exam.status == ExamStatus.DRAFT, 1), else_=2
        ),
        Exam.id.desc(),
    )


def exam_counts(scope: Scope, exam: Exam) -> dict[str, int]:
    counts = _attempt_counts(scope)
    row = db.session.execute(
        sa.select(counts.c.attempts, counts.c.graded, counts.c.marking, counts.c.passed).where(
            counts.c.exam_id == exam.id
        )
    ).first()
    keys = ("attempts", "graded", "marking", "passed")
    return dict(zip(keys, row, strict=True)) if row else dict.fromkeys(keys, 0)


# --- results -------------------------------------------------------------------------------


@dataclass
class ResultsFilter:
    township_id: int | None = None
    state: AttemptState | None = None
    passed: bool | None = None
    q: str = ""

    def as_args(self) -> dict[str, str]:
        out = {}
        if self.township_id:
            out["township_id"] = str(self.township_id)
        if self.state:
            out["state"] = self.state.value
        if self.passed is not None:
            out["passed"] = "1" if self.passed else "0"
        if self.q:
            out["q"] = self.q
        return out


def results_filter(args) -> ResultsFilter:
    state = args.get("state", "")
    passed = args.get("passed", "")
    return ResultsFilter(
        township_id=_digits(args.get("township_id")),
        state=AttemptState(state) if state in {s.value for s in AttemptState} else None,
        passed={"1": True, "0": False}.get(passed),
        q=args.get("q", "").strip()[:40],
    )


def _village_name():
    """The candidate's village in the attempt's township (the latest posting there)."""
    return (
        sa.select(Village.name)
        .join(Posting, Posting.village_id == Village.id)
        .where(Posting.agent_id == Attempt.agent_id, Village.township_id == Attempt.township_id)
        .order_by(Posting.joined_on.desc(), Posting.id.desc())
        .limit(1)
        .correlate(Attempt)
        .scalar_subquery()
    )


@dataclass(frozen=True)
class ResultRow:
    attempt: Attempt
    agent_name: str
    phone: str
    township: str | None
    village: str | None

    @property
    def minutes_used(self) -> float | None:
        a = self.attempt
        if a.submitted_at is None:
            return None
        return round((a.submitted_at - a.started_at).total_seconds() / 60, 1)


def results_statement(scope: Scope, exam: Exam, f: ResultsFilter) -> sa.Select:
    """Attempts in the scope (by the township they were sat in: results are history). The
    phone is today's personal data: only for candidates the reader may still see (not for
    one who has since moved to another township), and only they are found by it."""
    reachable = agent_clause(scope, Attempt.agent_id)
    phone = (
        Agent.phone
        if reachable is None
        else sa.case((reachable, Agent.phone), else_=sa.literal("")).label("phone")
    )
    stmt = (
        sa.select(Attempt, Agent.name, phone, Township.name, _village_name())
        .join(Agent, Agent.id == Attempt.agent_id)
        .outerjoin(Township, Township.id == Attempt.township_id)
        .where(Attempt.exam_id == exam.id)
    )
    stmt = scope_by_township(stmt, scope, Attempt.township_id)
    if f.township_id:
        stmt = stmt.where(Attempt.township_id == f.township_id)
    if f.state is not None:
        stmt = stmt.where(Attempt.state == f.state)
    if f.passed is not None:
        stmt = stmt.where(Attempt.passed.is_(f.passed))
    if f.q:
        like = f"%{f.q}%"
        by_phone = Agent.phone.like(like)
        if reachable is not None:
            by_phone = sa.and_(reachable, by_phone)
        stmt = stmt.where(sa.or_(Agent.name.like(like), by_phone))
    return stmt.order_by(Attempt.started_at.desc(), Attempt.id.desc())


def result_rows(rows) -> list[ResultRow]:
    return [ResultRow(*row) for row in rows]


def all_results(scope: Scope, exam: Exam, f: ResultsFilter) -> list[ResultRow]:
    return result_rows(db.session.execute(results_statement(scope, exam, f)))


# --- one attempt ---------------------------------------------------------------------------


def attempt_visible_to(scope: Scope, attempt_id: int) -> Attempt | None:
    """An attempt with everything the staff page shows (exam, candidate, answers with the
    question and the version drawn), if the user may see it."""
    stmt = (
        sa.select(Attempt)
        .options(
            joinedload(Attempt.exam).selectinload(Exam.sections),
            joinedload(Attempt.agent),
            selectinload(Attempt.answers).joinedload(AttemptAnswer.question),
            selectinload(Attempt.answers).joinedload(AttemptAnswer.version),
        )
        .join(Exam, Exam.id == Attempt.exam_id)
        .where(Attempt.id == attempt_id)
    )
    stmt = scope_exams(scope_by_township(stmt, scope, Attempt.township_id), scope)
    return db.session.scalar(stmt)


def township_name(township_id: int | None) -> str | None:
    if township_id is None:
        return None
    return db.session.scalar(sa.select(Township.name).where(Township.id == township_id))


def marker_names(attempt: Attempt) -> dict[int, str]:
    ids = {a.marked_by_id for a in attempt.answers if a.marked_by_id}
    if not ids:
        return {}
    return pairs(sa.select(User.id, User.display_name).where(User.id.in_(ids)))


# --- marking -------------------------------------------------------------------------------


def _pending_essays() -> sa.Select:
    return (
        sa.select(AttemptAnswer)
        .join(Attempt, Attempt.id == AttemptAnswer.attempt_id)
        .where(
            Attempt.state == AttemptState.MARKING,
            AttemptAnswer.qtype.in_(services.EXPERT_MARKED),
            AttemptAnswer.score.is_(None),
        )
    )


def marking_statement(exam_id: int | None = None) -> sa.Select:
    """Rows of (answer, attempt, exam title, candidate, township): essays waiting for a mark,
    oldest submission first."""
    stmt = (
        _pending_essays()
        .add_columns(Attempt, Exam.title, Agent.name, Township.name)
        .join(Exam, Exam.id == Attempt.exam_id)
        .join(Agent, Agent.id == Attempt.agent_id)
        .outerjoin(Township, Township.id == Attempt.township_id)
    )
    if exam_id:
        stmt = stmt.where(Attempt.exam_id == exam_id)
    return stmt.order_by(Attempt.submitted_at, Attempt.id, AttemptAnswer.position)


def marking_exams() -> list[tuple[int, str, int]]:
    """(exam id, title, essays waiting) for the queue's filter."""
    stmt = (
        _pending_essays()
        .with_only_columns(Exam.id, Exam.title, sa.func.count(AttemptAnswer.id))
        .join(Exam, Exam.id == Attempt.exam_id)
        .group_by(Exam.id, Exam.title)
        .order_by(Exam.title)
    )
    return [(i, t, n) for i, t, n in db.session.execute(stmt)]


def answer_for_marking(answer_id: int) -> AttemptAnswer | None:
    return db.session.scalar(
        sa.select(AttemptAnswer)
        .options(
            joinedload(AttemptAnswer.attempt).joinedload(Attempt.exam),
            joinedload(AttemptAnswer.attempt).joinedload(Attempt.agent),
            joinedload(AttemptAnswer.question),
            joinedload(AttemptAnswer.version),
        )
        .where(AttemptAnswer.id == answer_id)
    )


def next_to_mark(exam_id: int | None = None, after: AttemptAnswer | None = None) -> int | None:
    stmt = marking_statement(exam_id).with_only_columns(AttemptAnswer.id)
    if after is not None:
        stmt = stmt.where(AttemptAnswer.id != after.id)
    return db.session.scalar(stmt.limit(1))


# --- overrides -----------------------------------------------------------------------------


def overrides_statement(scope: Scope, exam: Exam) -> sa.Select:
    """Rows of (override, agent name, township name, set by) the user may see: a township
    head sees the overrides for their township and for agents posted there now."""
    posted = (
        sa.select(Village.township_id)
        .join(Posting, Posting.village_id == Village.id)
        .where(Posting.agent_id == ExamOverride.agent_id, Posting.left_on.is_(None))
        .limit(1)
        .correlate(ExamOverride)
        .scalar_subquery()
    )
    where = sa.func.coalesce(ExamOverride.township_id, posted)
    stmt = (
        sa.select(ExamOverride, Agent.name, Township.name, User.display_name, where)
        .outerjoin(Agent, Agent.id == ExamOverride.agent_id)
        .outerjoin(Township, Township.id == where)
        .outerjoin(User, User.id == ExamOverride.created_by_id)
        .where(ExamOverride.exam_id == exam.id)
    )
    clause = scope.township_clause(where)
    if clause is not None:
        stmt = stmt.where(clause)
    return stmt.order_by(ExamOverride.township_id.is_(None), ExamOverride.created_at.desc())


def override_visible_to(scope: Scope, exam: Exam, override_id: int) -> ExamOverride | None:
    stmt = overrides_statement(scope, exam).where(ExamOverride.id == override_id)
    row = db.session.execute(stmt).first()
    return row[0] if row else None


def agents_in_scope(scope: Scope, q: str, limit: int = 20) -> list[tuple[Agent, str, str]]:
    """Active agents matching a name or phone, within the user's scope:
    (agent, township, village)."""
    q = q.strip()[:40]
    if not q:
        return []
    like = f"%{q}%"
    stmt = (
        sa.select(Agent, Township.name, Village.name)
        .join(Posting, sa.and_(Posting.agent_id == Agent.id, Posting.left_on.is_(None)))
        .join(Village, Village.id == Posting.village_id)
        .join(Township, Township.id == Village.township_id)
        .where(sa.or_(Agent.name.like(like), Agent.phone.like(like)))
        .order_by(Agent.name, Agent.id)
        .limit(limit)
    )
    return [
        tuple(r) for r in db.session.execute(scope_by_township(stmt, scope, Village.township_id))
    ]


def agent_in_scope(scope: Scope, agent_id: int) -> tuple[Agent, str, str] | None:
    stmt = (
        sa.select(Agent, Township.name, Village.name)
        .join(Posting, sa.and_(Posting.agent_id == Agent.id, Posting.left_on.is_(None)))
        .join(Village, Village.id == Posting.village_id)
        .join(Township, Township.id == Village.township_id)
        .where(Agent.id == agent_id)
    )
    row = db.session.execute(scope_by_township(stmt, scope, Village.township_id)).first()
    return tuple(row) if row else None


# --- statistics ----------------------------------------------------------------------------


@dataclass
class QuestionInfo:
    id: int
    name: str
    qtype: str
    difficulty: int | None
    section: int  # position of the section it was drawn in (for ordering)
    versions: dict[int, int] = field(default_factory=dict)  # version id -> number
    text: str = ""  # the start of the latest drawn version's text


@dataclass
class StatRow:
    question: QuestionInfo
    version_number: int | None  # None: all versions of the question
    stats: st.ItemStats

    @property
    def is_version(self) -> bool:
        return self.version_number is not None


@dataclass
class ExamReport:
    summary: st.ExamSummary
    rows: list[StatRow]
    marking: int  # attempts left out because an essay waits for a mark


def _matrix_rows(stmt: sa.Select):
    observations: list[st.Observation] = []
    totals: dict[int, st.Total] = {}
    for row in db.session.execute(stmt):
        if row.fraction is None:
            continue
        observations.append(
            st.Observation(
                row.attempt_id,
                row.position,
                row.question_id,
                row.version_id,
                row.fraction,
                row.points,
            )
        )
        if row.attempt_id not in totals:
            totals[row.attempt_id] = st.Total(row.attempt_id, row.score, row.max_score, row.passed)
    return observations, totals


def _matrix_statement() -> sa.Select:
    return (
        sa.select(
            AttemptAnswer.attempt_id,
            AttemptAnswer.position,
            AttemptAnswer.question_id,
            AttemptAnswer.version_id,
            AttemptAnswer.fraction,
            AttemptAnswer.points,
            Attempt.score,
            Attempt.max_score,
            Attempt.passed,
        )
        .join(Attempt, Attempt.id == AttemptAnswer.attempt_id)
        .where(
            Attempt.state == AttemptState.GRADED,
            AttemptAnswer.points > 0,  # descriptions score nothing
            AttemptAnswer.qtype != "description",
        )
    )


def exam_report(scope: Scope, exam: Exam) -> ExamReport:
    """Exam-level figures and a row per question (and per version when it had several),
    over the graded attempts the user may see. Four queries."""
    stmt = scope_by_township(
        _matrix_statement().where(Attempt.exam_id == exam.id), scope, Attempt.township_id
    )
    observations, totals = _matrix_rows(stmt)
    fixed = {q for s in exam.sections for q in (s.question_ids or [])}
    stats = st.analyse(
        observations, list(totals.values()), question_ids=fixed, min_answers=min_answers()
    )
    sections = {s.id: s.position for s in exam.sections}
    info = _question_info(set(stats.by_question), exam.id, sections)
    rows = []
    for qid in sorted(info, key=lambda q: (info[q].section, info[q].id)):
        q = info[qid]
        rows.append(StatRow(q, None, stats.by_question[qid]))
        if len(q.versions) > 1:
            for vid, number in sorted(q.versions.items(), key=lambda kv: kv[1]):
                rows.append(StatRow(q, number, stats.by_version.get(vid, st.EMPTY)))
        elif q.versions:
            rows[-1] = StatRow(q, next(iter(q.versions.values())), rows[-1].stats)
    marking = db.session.scalar(
        scope_by_township(
            sa.select(sa.func.count(Attempt.id)).where(
                Attempt.exam_id == exam.id, Attempt.state == AttemptState.MARKING
            ),
            scope,
            Attempt.township_id,
        )
    )
    return ExamReport(stats.summary, rows, marking or 0)


def _question_info(question_ids: set[int], exam_id: int, sections: dict[int, int]):
    if not question_ids:
        return {}
    info = {
        q.id: QuestionInfo(q.id, q.name, q.qtype, q.difficulty, 10**6)
        for q in db.session.scalars(sa.select(Question).where(Question.id.in_(question_ids)))
    }
    drawn = db.session.execute(
        sa.select(
            AttemptAnswer.question_id,
            AttemptAnswer.version_id,
            QuestionVersion.number,
            sa.func.min(AttemptAnswer.section_id),
        )
        .join(Attempt, Attempt.id == AttemptAnswer.attempt_id)
        .join(QuestionVersion, QuestionVersion.id == AttemptAnswer.version_id)
        .where(
            Attempt.exam_id == exam_id,
            Attempt.state == AttemptState.GRADED,
            AttemptAnswer.question_id.in_(question_ids),
        )
        .group_by(AttemptAnswer.question_id, AttemptAnswer.version_id, QuestionVersion.number)
    )
    latest: dict[int, tuple[int, int]] = {}
    for qid, vid, number, section_id in drawn:
        q = info[qid]
        q.versions[vid] = number
        q.section = min(q.section, sections.get(section_id, 10**6))
        if number >= latest.get(qid, (0, 0))[0]:
            latest[qid] = (number, vid)
    data = services.version_data(vid for _, vid in latest.values())
    for qid, (_, vid) in latest.items():
        info[qid].text = snippet(data[vid].get("text"))
    return info


def snippet(text: str | None, n: int = 60) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= n else text[: n - 1] + "…"


@dataclass
class VersionUse:
    exam_id: int
    exam_title: str
    version_number: int
    stats: st.ItemStats


@dataclass
class QuestionReport:
    question: Question
    versions: list[QuestionVersion]
    overall: st.ItemStats
    by_version: dict[int, st.ItemStats]  # version id -> across exams
    uses: list[VersionUse]  # per exam and version


def question_report(scope: Scope, question_id: int) -> QuestionReport | None:
    """A question's statistics across every exam that drew it: overall, per version, and
    per exam and version (graded attempts the user may see). Three queries."""
    question = db.session.scalar(
        sa.select(Question)
        .options(selectinload(Question.versions))
        .where(Question.id == question_id)
    )
    if question is None:
        return None
    stmt = (
        _matrix_statement()
        .add_columns(Attempt.exam_id, Exam.title)
        .join(Exam, Exam.id == Attempt.exam_id)
    )
    stmt = scope_exams(stmt, scope)
    stmt = scope_by_township(
        stmt.where(AttemptAnswer.question_id == question_id), scope, Attempt.township_id
    )
    rows = db.session.execute(stmt).all()
    observations: list[st.Observation] = []
    totals: dict[int, st.Total] = {}
    exams: dict[tuple[int, int], list[st.Observation]] = defaultdict(list)
    titles: dict[int, str] = {}
    for row in rows:
        if row.fraction is None:
            continue
        o = st.Observation(
            row.attempt_id, row.position, row.question_id, row.version_id, row.fraction, row.points
        )
        observations.append(o)
        totals[row.attempt_id] = st.Total(row.attempt_id, row.score, row.max_score, row.passed)
        exams[(row.exam_id, row.version_id)].append(o)
        titles[row.exam_id] = row.title
    least = min_answers()
    stats = st.analyse(observations, list(totals.values()), min_answers=least)
    numbers = {v.id: v.number for v in question.versions}
    uses = [
        VersionUse(exam_id, titles[exam_id], numbers.get(vid, 0), st.item_stats(obs, totals, least))
        for (exam_id, vid), obs in sorted(exams.items(), key=lambda kv: (-kv[0][0], kv[0][1]))
    ]
    return QuestionReport(
        question,
        list(question.versions),
        stats.by_question.get(question_id, st.EMPTY),
        stats.by_version,
        uses,
    )


def min_answers() -> int:
    """Answers an item needs before it is labelled 过难/过易/区分度为负 (config
    ``ITEM_STATS_MIN_ANSWERS``; see academy/exams/statistics.py)."""
    return int(current_app.config.get("ITEM_STATS_MIN_ANSWERS", st.MIN_ANSWERS))


def fmt_number(value: float | None, digits: int = 2) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def when(moment: datetime | None) -> str:
    from academy.exams.rules import fmt

    return fmt(moment) if moment else ""
