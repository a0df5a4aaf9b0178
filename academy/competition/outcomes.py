"""Competition use-cases after the marks: corrections, appeals, standings, publication
with ranking, awards and certificates, and the rater analysis for the chief judge.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from academy.audit import services as audit
from academy.auth.models import Role, User
from academy.auth.policy import Scope
from academy.certification.services import exam_score_source
from academy.competition import rules
from academy.competition.judging import panel_marks, round_results, rule_criterion
from academy.competition.models import (
    Appeal,
    AppealState,
    Award,
    Competition,
    CompetitionJudge,
    CompetitionRound,
    CompetitionStatus,
    Correction,
    CorrectionState,
    CriterionKind,
    Entry,
    Mark,
    Result,
    RoundKind,
    RoundScore,
)
from academy.competition.services import active_entries, is_chief
from academy.db import utcnow
from academy.errors_domain import DomainError
from academy.extensions import db
from academy.questions.models import Dimension
from academy.timefmt import local_time

# --- corrections and appeals ---------------------------------------------------------------------


def request_correction(
    actor: User,
    rnd: CompetitionRound,
    entry: Entry,
    new_value: float,
    reason: str,
    *,
    mark: Mark | None = None,
    appeal: Appeal | None = None,
) -> Correction:
    if not rnd.locked:
        raise DomainError("轮次未锁定时，由评委直接修改评分或由裁判长退回复评")
    if not reason.strip():
        raise DomainError("请写明更正原因", "reason")
    if mark is not None:
        crit = rule_criterion(mark.criterion)
        value = int(new_value) if float(new_value).is_integer() else new_value
        problem = rules.mark_problem(crit, value)
        if problem:
            raise DomainError(problem, "new_value")
        old = mark.value
        target = {"mark_id": mark.id}
    else:
        score = db.session.scalar(
            sa.select(RoundScore).where(
                RoundScore.round_id == rnd.id, RoundScore.entry_id == entry.id
            )
        )
        if score is None:
            raise DomainError("该选手本轮没有成绩记录")
        if not 0 <= new_value <= 100:
            raise DomainError("成绩应在 0 到 100 之间", "new_value")
        old = score.percent
        target = {"round_score_id": score.id}
    if old == new_value:
        raise DomainError("新值与原值相同", "new_value")
    corr = Correction(
        round_id=rnd.id,
        entry_id=entry.id,
        old_value=old,
        new_value=new_value,
        reason=reason.strip()[:300],
        requested_by_id=actor.id,
        appeal_id=appeal.id if appeal else None,
        **target,
    )
    db.session.add(corr)
    db.session.flush()
    audit.record(
        actor,
        "competition.correction_request",
        corr,
        f"{rnd.title} {entry.number}号 申请更正 {old:g} → {new_value:g}：{corr.reason}",
    )
    return corr


def decide_correction(actor: User, corr: Correction, approve: bool) -> None:
    rnd = db.session.get(CompetitionRound, corr.round_id)
    if not is_chief(rnd.competition, actor):
        raise DomainError("只有裁判长可以审批更正")
    if corr.state != CorrectionState.PENDING:
        raise DomainError("这条更正已经处理过")
    if rnd.competition.status == CompetitionStatus.PUBLISHED:
        raise DomainError("结果已经公布，不能再更正")
    corr.state = CorrectionState.APPROVED if approve else CorrectionState.REJECTED
    corr.decided_by_id = actor.id
    corr.decided_at = utcnow()
    if approve:
        if corr.mark_id is not None:
            mark = db.session.get(Mark, corr.mark_id)
            mark.value = corr.new_value
        else:
            score = db.session.get(RoundScore, corr.round_score_id)
            score.percent = corr.new_value
    db.session.flush()
    audit.record(
        actor,
        "competition.correction_" + ("approve" if approve else "reject"),
        corr,
        f"{'批准' if approve else '驳回'}更正 "
        f"{corr.old_value:g} → {corr.new_value:g}：{corr.reason}",
        {"old": corr.old_value, "new": corr.new_value},
    )


def appeal_deadline(rnd: CompetitionRound) -> datetime | None:
    if rnd.locked_at is None:
        return None
    return rnd.locked_at + timedelta(days=rnd.competition.appeal_days)


def file_appeal(actor: User, entry: Entry, rnd: CompetitionRound, reason: str, now: datetime):
    if actor.role not in (Role.ADMIN, Role.TOWNSHIP_HEAD) or not Scope.of(actor).covers_township(
        entry.township_id
    ):
        raise DomainError("只有选手所在镇街的负责人可以提出申诉")
    if rnd.competition_id != entry.competition_id:
        raise DomainError("轮次与选手不属于同一届比武")
    deadline = appeal_deadline(rnd)
    if deadline is None:
        raise DomainError("本轮成绩锁定后才能申诉")
    if now > deadline:
        raise DomainError(f"申诉期已于 {local_time(deadline, label=True)} 结束")
    if rnd.competition.status == CompetitionStatus.PUBLISHED:
        raise DomainError("结果已经公布，不能再申诉")
    if not reason.strip():
        raise DomainError("请写明申诉理由", "reason")
    if db.session.scalar(
        sa.select(Appeal.id).where(
            Appeal.entry_id == entry.id,
            Appeal.round_id == rnd.id,
            Appeal.state == AppealState.PENDING,
        )
    ):
        raise DomainError("该选手本轮已有待裁决的申诉")
    appeal = Appeal(entry_id=entry.id, round_id=rnd.id, reason=reason.strip(), filed_by_id=actor.id)
    db.session.add(appeal)
    db.session.flush()
    audit.record(
        actor,
        "competition.appeal",
        appeal,
        f"{rnd.title} {entry.number}号 申诉：{appeal.reason[:200]}",
        township_id=entry.township_id,
    )
    return appeal


def decide_appeal(
    actor: User,
    appeal: Appeal,
    upheld: bool,
    decision: str,
    corrections: Iterable[tuple[Mark | None, float]] = (),
) -> list[Correction]:
    """Decide an appeal; an upheld one applies its corrections (each audited)."""
    rnd = appeal.round
    if not is_chief(rnd.competition, actor):
        raise DomainError("只有裁判长可以裁决申诉")
    if appeal.state != AppealState.PENDING:
        raise DomainError("这条申诉已经裁决")
    if not decision.strip():
        raise DomainError("请写明裁决意见", "decision")
    made = []
    corrections = list(corrections)
    if upheld and not corrections:
        raise DomainError("申诉成立时须给出更正后的成绩", "new_value")
    appeal.state = AppealState.UPHELD if upheld else AppealState.REJECTED
    appeal.decision = decision.strip()
    appeal.decided_by_id = actor.id
    appeal.decided_at = utcnow()
    for mark, value in corrections if upheld else ():
        corr = request_correction(
            actor,
            rnd,
            appeal.entry,
            value,
            f"申诉成立：{decision.strip()}",
            mark=mark,
            appeal=appeal,
        )
        decide_correction(actor, corr, approve=True)
        made.append(corr)
    audit.record(
        actor,
        "competition.appeal_decide",
        appeal,
        f"申诉{'成立' if upheld else '不成立'}：{appeal.decision[:200]}",
        township_id=appeal.entry.township_id,
    )
    return made


# --- standings and publication ------------------------------------------------------------------


@dataclass
class StandingRow:
    entry: Entry
    by_round: dict[int, float]
    by_dimension: dict[str, float]
    total: float


def standings(comp: Competition) -> list[StandingRow]:
    """Every active candidate's percent per round, per dimension and weighted total."""
    entries = active_entries(comp)
    per_round: dict[int, dict[int, float]] = {}
    per_dim: dict[int, dict[str, list[float]]] = defaultdict(
        lambda: defaultdict(lambda: [0.0, 0.0])
    )
    for rnd in comp.rounds:
        if rnd.judged:
            res = round_results(rnd)
            per_round[rnd.id] = {e: r.percent for e, r in res.items()}
            for e, r in res.items():
                for dim in r.max_by_dimension:
                    pct = r.dimension_percent(dim)
                    if pct is not None:
                        acc = per_dim[e][dim]
                        acc[0] += rnd.weight * pct
                        acc[1] += rnd.weight
        else:
            scores = db.session.scalars(sa.select(RoundScore).where(RoundScore.round_id == rnd.id))
            per_round[rnd.id] = {}
            for s in scores:
                per_round[rnd.id][s.entry_id] = s.percent
                for dim, pct in (s.by_dimension or {}).items():
                    acc = per_dim[s.entry_id][dim]
                    acc[0] += rnd.weight * pct
                    acc[1] += rnd.weight
    weights = {r.id: r.weight for r in comp.rounds}
    out = []
    for e in entries:
        by_round = {rid: per_round[rid].get(e.id, 0.0) for rid in per_round}
        by_dim = {d: s / w for d, (s, w) in per_dim[e.id].items() if w}
        out.append(StandingRow(e, by_round, by_dim, rules.weighted_total(by_round, weights)))
    return out


def ranking(comp: Competition) -> list[tuple[rules.Ranked, StandingRow]]:
    rows = standings(comp)
    written = next((r.id for r in comp.rounds if r.kind == RoundKind.WRITTEN), None)
    by_id = {row.entry.id: row for row in rows}
    ranked = rules.rank(
        [
            rules.Standing(
                row.entry.id,
                row.total,
                row.by_dimension.get(Dimension.EMERGENCY.value, 0.0),
                row.by_round.get(written, 0.0) if written else 0.0,
            )
            for row in rows
        ]
    )
    return [(r, by_id[r.standing.candidate]) for r in ranked]


def publish_problems(comp: Competition) -> list[str]:
    problems = []
    if comp.status != CompetitionStatus.RUNNING:
        problems.append("比武不在比赛阶段")
    if not comp.rounds:
        problems.append("还没有设置轮次")
    if comp.rounds and abs(sum(r.weight for r in comp.rounds) - 100) > 1e-6:
        problems.append(f"各轮权重之和应为 100，现在是 {sum(r.weight for r in comp.rounds):g}")
    for rnd in comp.rounds:
        if not rnd.locked:
            problems.append(f"{rnd.title} 尚未锁定")
    now = utcnow()
    pending = db.session.scalar(
        sa.select(sa.func.count(Appeal.id))
        .join(Entry, Entry.id == Appeal.entry_id)
        .where(Entry.competition_id == comp.id, Appeal.state == AppealState.PENDING)
    )
    if pending:
        problems.append(f"还有 {pending} 条申诉待裁决")
    open_windows = [
        r.title for r in comp.rounds if r.locked and appeal_deadline(r) and appeal_deadline(r) > now
    ]
    if open_windows:
        problems.append("申诉期未结束：" + "、".join(open_windows))
    pending_corr = db.session.scalar(
        sa.select(sa.func.count(Correction.id))
        .join(CompetitionRound, CompetitionRound.id == Correction.round_id)
        .where(
            CompetitionRound.competition_id == comp.id,
            Correction.state == CorrectionState.PENDING,
        )
    )
    if pending_corr:
        problems.append(f"还有 {pending_corr} 条更正待审批")
    return problems


def publish(actor: User, comp: Competition, *, ignore_appeal_window: bool = False) -> list[Result]:
    if actor.role != Role.ADMIN:
        raise DomainError("只有县级管理员可以公布结果")
    problems = [
        p for p in publish_problems(comp) if not (ignore_appeal_window and p.startswith("申诉期"))
    ]
    if problems:
        raise DomainError("还不能公布：" + "；".join(problems))
    ranked = ranking(comp)
    award_of = rules.awards(
        [r for r, _ in ranked],
        comp.awards_first,
        comp.awards_second,
        comp.awards_third,
        comp.awards_excellent,
    )
    township_rows: dict[int, list[tuple[rules.Ranked, StandingRow]]] = defaultdict(list)
    for r, row in ranked:
        township_rows[row.entry.township_id].append((r, row))
    township_rank = {}
    for rows in township_rows.values():
        for r, _row in zip(rules.rank([x.standing for x, _ in rows]), rows, strict=True):
            township_rank[r.standing.candidate] = r.rank
    now = utcnow()
    results = []
    from academy.competition import documents

    for r, row in ranked:
        award = award_of.get(row.entry.id)
        res = Result(
            competition_id=comp.id,
            entry_id=row.entry.id,
            total=round(row.total, 2),
            rank=r.rank,
            township_rank=township_rank[row.entry.id],
            award=Award(award) if award else None,
            by_round={str(k): round(v, 2) for k, v in row.by_round.items()},
            by_dimension={k: round(v, 2) for k, v in row.by_dimension.items()},
            tie_broken_by=r.tie_broken_by,
            published_at=now,
        )
        db.session.add(res)
        results.append(res)
    db.session.flush()
    for res in results:
        if res.award is not None:
            documents.freeze(res)
    comp.status = CompetitionStatus.PUBLISHED
    comp.published_at = now
    audit.record(
        actor, "competition.publish", comp, f"公布 {comp.title} 结果（{len(results)} 名选手）"
    )
    return results


# --- rater analysis ----------------------------------------------------------------------------


@dataclass(frozen=True)
class JudgeRow:
    code: str
    marks: int
    severity: float
    se: float
    infit: float
    outfit: float
    mean_deviation: float
    correlation: float | None
    misfit: str | None

    @property
    def flag(self) -> bool:
        return self.misfit is not None or abs(self.severity) > 1.0


@dataclass(frozen=True)
class RaterAnalysis:
    judges: list[JudgeRow]
    criteria: list[tuple[str, float]]  # title, difficulty
    observations: int
    converged: bool


MIN_OBSERVATIONS = 20


def rater_analysis(rnd: CompetitionRound) -> RaterAnalysis | None:
    """Many-facet Rasch estimate and plain agreement of the round's submitted marks
    (None when there are too few marks to say anything)."""
    from academy.competition import rasch

    criteria = {c.id: c for c in rnd.criteria}
    marks = panel_marks(rnd)
    obs = []
    for (entry_id, crit_id), panel in marks.items():
        c = criteria[crit_id]
        for judge_id, value in panel.items():
            cat = (
                int(value)
                if c.kind == CriterionKind.JUDGEMENT
                else rasch.categories_for_points(value, c.max_points)
            )
            obs.append(rasch.Observation(entry_id, judge_id, crit_id, cat))
    if len(obs) < MIN_OBSERVATIONS:
        return None
    est = rasch.estimate(obs)
    # agreement in the common 0..3 scale so measurement and judgement mix
    scaled = {
        key: {
            j: (
                v
                if criteria[key[1]].kind == CriterionKind.JUDGEMENT
                else 3 * v / criteria[key[1]].max_points
            )
            for j, v in panel.items()
        }
        for key, panel in marks.items()
    }
    agreement = rules.judge_agreement(scaled)
    codes = dict(
        db.session.execute(
            sa.select(CompetitionJudge.id, CompetitionJudge.code).where(
                CompetitionJudge.competition_id == rnd.competition_id
            )
        ).all()
    )
    rows = []
    for judge_id, el in sorted(est.judges.items(), key=lambda kv: codes.get(kv[0], "")):
        ag = agreement.get(judge_id)
        rows.append(
            JudgeRow(
                codes.get(judge_id, str(judge_id)),
                el.observations,
                el.measure,
                el.se,
                el.infit,
                el.outfit,
                ag.mean_deviation if ag else 0.0,
                ag.correlation if ag else None,
                el.misfit,
            )
        )
    crits = [(criteria[k].title, e.measure) for k, e in est.criteria.items()]
    return RaterAnalysis(rows, crits, len(obs), est.converged)


# --- counting towards certification -----------------------------------------------------------

COUNTS_FOR_MONTHS = 12


@exam_score_source
def competition_totals(agent_ids: list[int]) -> dict[int, dict[str, float]]:
    """Each agent's best published competition total of the last 12 months, for schemes that
    let a competition result count as their exam (``competition_counts``)."""
    if not agent_ids:
        return {}
    since = utcnow() - timedelta(days=30 * COUNTS_FOR_MONTHS)
    rows = db.session.execute(
        sa.select(Entry.agent_id, sa.func.max(Result.total))
        .join(Result, Result.entry_id == Entry.id)
        .where(Entry.agent_id.in_(agent_ids), Result.published_at >= since)
        .group_by(Entry.agent_id)
    )
    return {agent_id: {"competition": float(total)} for agent_id, total in rows}
