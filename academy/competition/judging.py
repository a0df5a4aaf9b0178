"""Competition use-cases, judging: assignment of judges, mark sheets (drafts with a
sequence number, submission), the panel's results, moderation, the lock, and the rounds
scored by another engine (exam; the simulation engine registers the practical round).
"""

from __future__ import annotations

import secrets
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import sqlalchemy as sa

from academy.audit import services as audit
from academy.auth.models import User
from academy.competition import assignment as assign_rules
from academy.competition import rules
from academy.competition.models import (
    Assignment,
    CompetitionJudge,
    CompetitionRound,
    CompetitionStatus,
    Criterion,
    Entry,
    Mark,
    Moderation,
    RoundKind,
    RoundScore,
    RoundStatus,
    Sheet,
    SheetState,
)
from academy.competition.services import active_entries, is_chief
from academy.db import utcnow
from academy.errors_domain import DomainError
from academy.extensions import db

# --- judge assignment --------------------------------------------------------------------------


def assign(actor: User, rnd: CompetitionRound, seed: int | None = None) -> dict[int, list[int]]:
    comp = rnd.competition
    if comp.status != CompetitionStatus.RUNNING:
        raise DomainError("报名截止、进入比赛后才能分配评委")
    if not rnd.judged:
        raise DomainError("本轮没有评委评分的指标")
    if rnd.locked:
        raise DomainError("本轮已锁定")
    if db.session.scalar(sa.select(sa.func.count(Sheet.id)).where(Sheet.round_id == rnd.id)):
        raise DomainError("评委已经开始评分，不能重新分配")
    entries = active_entries(comp)
    judges = list(
        db.session.scalars(
            sa.select(CompetitionJudge).where(CompetitionJudge.competition_id == comp.id)
        )
    )
    seed = secrets.randbelow(2**31) if seed is None else seed
    try:
        result = assign_rules.assign_judges(
            [assign_rules.Person(e.id, e.township_id, f"{e.number}号") for e in entries],
            [assign_rules.Person(j.id, j.home_township_id, j.code) for j in judges],
            rnd.judges_per_candidate,
            seed=seed,
        )
    except assign_rules.AssignmentInfeasible as err:
        raise DomainError("无法分配评委：" + "；".join(err.reasons)) from err
    db.session.execute(sa.delete(Assignment).where(Assignment.round_id == rnd.id))
    db.session.add_all(
        Assignment(round_id=rnd.id, entry_id=e, judge_id=j) for e, js in result.items() for j in js
    )
    rnd.assignment_seed = seed
    db.session.flush()
    audit.record(
        actor,
        "competition.assign",
        rnd,
        f"{rnd.title}：为 {len(entries)} 名选手各分配 {rnd.judges_per_candidate} 名评委",
        {"seed": seed},
    )
    return result


# --- marking ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class SaveResult:
    sheet: Sheet
    stale: bool  # an older save arrived after a newer one: ignored


def sheet_for(rnd: CompetitionRound, entry_id: int, judge: CompetitionJudge) -> Sheet | None:
    return db.session.scalar(
        sa.select(Sheet).where(
            Sheet.round_id == rnd.id, Sheet.entry_id == entry_id, Sheet.judge_id == judge.id
        )
    )


def assigned(rnd: CompetitionRound, entry_id: int, judge: CompetitionJudge) -> bool:
    return bool(
        db.session.scalar(
            sa.select(Assignment.id).where(
                Assignment.round_id == rnd.id,
                Assignment.entry_id == entry_id,
                Assignment.judge_id == judge.id,
            )
        )
    )


def save_sheet(
    rnd: CompetitionRound,
    entry_id: int,
    judge: CompetitionJudge,
    values: Mapping[int, object],
    comment: str,
    seq: int,
    submit: bool,
) -> SaveResult:
    """Save a judge's marks (a draft, or submitted when ``submit``).

    ``values`` maps criterion id → the posted value (None or "" = not yet marked).
    Refused: a locked round, an unassigned candidate, a submitted sheet, a value out of
    range, a submission with a criterion left blank. ``seq`` orders a device's saves.
    """
    if rnd.locked:
        raise DomainError("本轮已锁定，评分不能再改；如有错误请向裁判长申请更正")
    if not assigned(rnd, entry_id, judge):
        raise DomainError("您没有被分配评这名选手")
    parsed = _checked_marks(rnd, values, submit)
    if len(comment) > 2000:
        raise DomainError("评语不能超过 2000 字", "comment")

    sheet = _sheet_locked_for_update(rnd, entry_id, judge)
    if sheet.state == SheetState.SUBMITTED:
        raise DomainError("您已提交这名选手的评分，不能再改；如需复评请联系裁判长")
    if seq <= sheet.seq:
        return SaveResult(sheet, stale=True)
    existing = {m.criterion_id: m for m in sheet.marks}
    for cid, value in parsed.items():
        if cid in existing:
            existing[cid].value = value
        else:
            db.session.add(Mark(sheet_id=sheet.id, criterion_id=cid, value=value))
    for cid, mark in existing.items():
        if cid in values and cid not in parsed:  # cleared on the device
            db.session.delete(mark)
    sheet.comment = comment
    sheet.seq = seq
    sheet.saved_at = utcnow()
    if submit:
        sheet.state = SheetState.SUBMITTED
        sheet.submitted_at = sheet.saved_at
    db.session.flush()
    return SaveResult(sheet, stale=False)


def _checked_marks(rnd: CompetitionRound, values: Mapping[int, object], submit: bool):
    """The posted values as numbers by criterion id (blank ones left out); every problem at
    once as a DomainError (not a number, out of range, blank on submission)."""
    criteria = {c.id: c for c in rnd.criteria}
    if any(k not in criteria for k in values):
        raise DomainError("提交了本轮没有的评分指标")
    parsed: dict[int, float] = {}
    problems = []
    for cid, raw in values.items():
        if raw is None or raw == "":
            continue
        problem = _mark_problem(criteria[cid], raw)
        if problem:
            problems.append(f"{criteria[cid].title}：{problem}")
        else:
            parsed[cid] = float(raw)
    blank = [c.title for c in rnd.criteria if c.id not in parsed]
    if submit and blank:
        problems.append("还有指标没有评分：" + "、".join(blank))
    if problems:
        raise DomainError("；".join(problems))
    return parsed


def _mark_problem(criterion: Criterion, raw: object) -> str | None:
    try:
        number = float(raw)
    except (TypeError, ValueError):
        return "评分必须是数字"
    return rules.mark_problem(
        rule_criterion(criterion), int(number) if number.is_integer() else number
    )


def _sheet_locked_for_update(rnd: CompetitionRound, entry_id: int, judge) -> Sheet:
    """The judge's sheet, created if missing; row-locked on PostgreSQL so two saves from
    two devices of the same judge apply in order (different judges never share a row)."""
    stmt = sa.select(Sheet).where(
        Sheet.round_id == rnd.id, Sheet.entry_id == entry_id, Sheet.judge_id == judge.id
    )
    sheet = db.session.scalar(stmt.with_for_update())
    if sheet is not None:
        return sheet
    try:
        with db.session.begin_nested():
            sheet = Sheet(round_id=rnd.id, entry_id=entry_id, judge_id=judge.id)
            db.session.add(sheet)
    except sa.exc.IntegrityError:
        sheet = db.session.scalar(stmt.with_for_update())
    return sheet


def rule_criterion(c: Criterion) -> rules.Criterion:
    return rules.Criterion(
        c.id,
        rules.CriterionKind(c.kind.value),
        c.max_points,
        c.dimension.value,
        c.spread_limit,
    )


def reopen_sheet(actor: User, rnd: CompetitionRound, sheet: Sheet, note: str) -> None:
    """The chief judge sends a submitted sheet back to its judge for re-marking."""
    if rnd.locked:
        raise DomainError("本轮已锁定")
    if sheet.state != SheetState.SUBMITTED:
        raise DomainError("该评分表尚未提交")
    sheet.state = SheetState.DRAFT
    sheet.submitted_at = None
    audit.record(
        actor,
        "competition.remark",
        sheet,
        f"{rnd.title}：{sheet.entry.number}号 退回 {sheet.judge.code} 复评：{note[:200]}",
    )


# --- round results, moderation, lock -------------------------------------------------------


def panel_marks(rnd: CompetitionRound, submitted_only: bool = True) -> rules.Marks:
    stmt = (
        sa.select(Sheet.entry_id, Mark.criterion_id, Sheet.judge_id, Mark.value)
        .join(Mark, Mark.sheet_id == Sheet.id)
        .join(Entry, Entry.id == Sheet.entry_id)
        .where(Sheet.round_id == rnd.id, Entry.withdrawn_at.is_(None))
    )
    if submitted_only:
        stmt = stmt.where(Sheet.state == SheetState.SUBMITTED)
    out: dict[tuple[int, int], dict[int, float]] = defaultdict(dict)
    for entry_id, crit_id, judge_id, value in db.session.execute(stmt):
        out[(entry_id, crit_id)][judge_id] = value
    return out


def round_results(rnd: CompetitionRound) -> dict[int, rules.RoundResult]:
    entries = [e.id for e in active_entries(rnd.competition)]
    return rules.score_round(
        [rule_criterion(c) for c in rnd.criteria],
        entries,
        panel_marks(rnd),
        trim_from=rnd.trim_from,
    )


def moderations(rnd: CompetitionRound) -> set[tuple[int, int]]:
    return set(
        db.session.execute(
            sa.select(Moderation.entry_id, Moderation.criterion_id).where(
                Moderation.round_id == rnd.id
            )
        ).all()
    )


def moderate(actor: User, rnd: CompetitionRound, entry_id: int, criterion_id: int, note: str):
    if rnd.locked:
        raise DomainError("本轮已锁定")
    if not note.strip():
        raise DomainError("请写明复核意见", "note")
    if (entry_id, criterion_id) in moderations(rnd):
        raise DomainError("这一项已经复核过")
    mod = Moderation(
        round_id=rnd.id,
        entry_id=entry_id,
        criterion_id=criterion_id,
        note=note.strip()[:300],
        resolved_by_id=actor.id,
    )
    db.session.add(mod)
    db.session.flush()
    audit.record(actor, "competition.moderate", mod, f"{rnd.title} 复核：{mod.note}")
    return mod


def lock_problems(rnd: CompetitionRound) -> list[str]:
    comp = rnd.competition
    problems = []
    if comp.status != CompetitionStatus.RUNNING:
        problems.append("比武不在比赛阶段")
    entries = active_entries(comp)
    if not entries:
        problems.append("没有选手")
    numbers = {e.id: e.number for e in entries}
    if rnd.judged:
        expected = dict(
            db.session.execute(
                sa.select(Assignment.entry_id, sa.func.count(Assignment.id))
                .where(Assignment.round_id == rnd.id)
                .group_by(Assignment.entry_id)
            ).all()
        )
        if not expected:
            problems.append("还没有分配评委")
        submitted = dict(
            db.session.execute(
                sa.select(Sheet.entry_id, sa.func.count(Sheet.id))
                .where(Sheet.round_id == rnd.id, Sheet.state == SheetState.SUBMITTED)
                .group_by(Sheet.entry_id)
            ).all()
        )
        waiting = [
            numbers[e]
            for e in numbers
            if expected and submitted.get(e, 0) < expected.get(e, rnd.judges_per_candidate)
        ]
        if waiting:
            shown = "、".join(waiting[:10]) + ("…" if len(waiting) > 10 else "")
            problems.append(f"还有 {len(waiting)} 名选手的评分未全部提交（{shown}）")
        done = moderations(rnd)
        flagged = sorted(
            {
                numbers[f.candidate]
                for r in round_results(rnd).values()
                for f in r.flags
                if (f.candidate, f.criterion) not in done
            }
        )
        if flagged:
            problems.append(
                f"{len(flagged)} 名选手评分差异过大，需裁判长复核：{'、'.join(flagged)}"
            )
    return problems


def lock_round(actor: User, rnd: CompetitionRound) -> None:
    comp = rnd.competition
    if not is_chief(comp, actor):
        raise DomainError("只有裁判长可以锁定轮次")
    if rnd.locked:
        raise DomainError("本轮已经锁定")
    if rnd.kind != RoundKind.LIVE and not rnd.judged:
        refresh_auto_scores(rnd)
    problems = lock_problems(rnd)
    if problems:
        raise DomainError("还不能锁定：" + "；".join(problems))
    rnd.status = RoundStatus.LOCKED
    rnd.locked_at = utcnow()
    rnd.locked_by_id = actor.id
    audit.record(actor, "competition.lock", rnd, f"锁定 {comp.title} · {rnd.title}")


# --- automatically scored rounds -----------------------------------------------------------------

AUTO_SCORERS: dict[RoundKind, Callable[[CompetitionRound, list[Entry]], dict[int, tuple]]] = {}


def auto_scorer(kind: RoundKind):
    """Register where an automatically scored round takes its results from (the exam
    engine for written rounds; the simulation engine registers the practical round)."""

    def register(fn):
        AUTO_SCORERS[kind] = fn
        return fn

    return register


@auto_scorer(RoundKind.WRITTEN)
def _exam_scores(rnd: CompetitionRound, entries: list[Entry]) -> dict[int, tuple]:
    from academy.exams.models import Attempt, AttemptAnswer, AttemptState
    from academy.questions.models import Question

    if rnd.exam_id is None:
        return {}
    by_agent = {e.agent_id: e for e in entries}
    best: dict[int, Attempt] = {}
    for att in db.session.scalars(
        sa.select(Attempt).where(
            Attempt.exam_id == rnd.exam_id,
            Attempt.agent_id.in_(list(by_agent)),
            Attempt.state == AttemptState.GRADED,
        )
    ):
        cur = best.get(att.agent_id)
        if cur is None or (att.percent or 0) > (cur.percent or 0):
            best[att.agent_id] = att
    dims: dict[int, dict[str, list[float]]] = defaultdict(lambda: defaultdict(lambda: [0.0, 0.0]))
    if best:
        rows = db.session.execute(
            sa.select(
                AttemptAnswer.attempt_id,
                Question.dimension,
                AttemptAnswer.score,
                AttemptAnswer.points,
            )
            .join(Question, Question.id == AttemptAnswer.question_id)
            .where(AttemptAnswer.attempt_id.in_([a.id for a in best.values()]))
        )
        for attempt_id, dim, score, points in rows:
            if dim is None:
                continue
            acc = dims[attempt_id][dim.value]
            acc[0] += score or 0.0
            acc[1] += points or 0.0
    out = {}
    for agent_id, att in best.items():
        by_dim = {d: 100 * s / p for d, (s, p) in dims[att.id].items() if p}
        out[by_agent[agent_id].id] = (att.percent or 0.0, by_dim, f"exam_attempt:{att.id}")
    return out


def refresh_auto_scores(rnd: CompetitionRound) -> int:
    """Take the round's results from its engine (best graded attempt per candidate); a
    candidate with none scores 0. Refused once the round is locked."""
    if rnd.locked:
        raise DomainError("本轮已锁定，成绩只能通过更正修改")
    scorer = AUTO_SCORERS.get(rnd.kind)
    entries = active_entries(rnd.competition)
    found = scorer(rnd, entries) if scorer else {}
    existing = {
        s.entry_id: s
        for s in db.session.scalars(sa.select(RoundScore).where(RoundScore.round_id == rnd.id))
    }
    for e in entries:
        percent, by_dim, source = found.get(e.id, (0.0, {}, "缺考"))
        row = existing.get(e.id)
        if row is None:
            db.session.add(
                RoundScore(
                    round_id=rnd.id,
                    entry_id=e.id,
                    percent=percent,
                    by_dimension=by_dim,
                    source=source,
                )
            )
        else:
            row.percent, row.by_dimension, row.source = percent, by_dim, source
            row.computed_at = utcnow()
    db.session.flush()
    return len(found)
