"""Competition use-cases: set-up, registration, judging, moderation, lock, corrections,
appeals and publication. Services validate, change the session and flush; the request
commits once. Every refusal is a DomainError with a Chinese reason; nothing is changed.
"""

from __future__ import annotations

import secrets
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import sqlalchemy as sa

from academy.audit import services as audit
from academy.auth.models import Role, User
from academy.competition import assignment as assign_rules
from academy.competition import rules
from academy.competition.models import (
    Appeal,
    AppealState,
    Assignment,
    Award,
    Competition,
    CompetitionJudge,
    CompetitionRound,
    CompetitionStatus,
    Correction,
    CorrectionState,
    Criterion,
    CriterionKind,
    Entry,
    Mark,
    Moderation,
    Result,
    RoundKind,
    RoundScore,
    RoundStatus,
    Sheet,
    SheetState,
)
from academy.db import utcnow
from academy.errors_domain import DomainError
from academy.extensions import db
from academy.questions.models import Dimension
from academy.roster.models import Agent

NUMBER_DIGITS = 3


# --- set-up ----------------------------------------------------------------------------------


def create_competition(
    actor: User,
    *,
    year: int,
    title: str,
    joined_before: date,
    registration_closes_on: date,
    quota_per_township: int = 3,
) -> Competition:
    if db.session.scalar(sa.select(Competition.id).where(Competition.year == year)):
        raise DomainError(f"{year} 年度的比武已经建立，每年只能有一届", "year")
    comp = Competition(
        year=year,
        title=title.strip(),
        joined_before=joined_before,
        registration_closes_on=registration_closes_on,
        quota_per_township=quota_per_township,
        created_by_id=actor.id,
    )
    db.session.add(comp)
    db.session.flush()
    audit.record(actor, "competition.create", comp, f"建立 {comp.title}")
    return comp


def update_settings(actor: User, comp: Competition, **values) -> None:
    if comp.status == CompetitionStatus.PUBLISHED:
        raise DomainError("结果已经公布，不能再修改比武设置")
    changed = {}
    for key, value in values.items():
        old = getattr(comp, key)
        if old != value:
            changed[key] = [str(old), str(value)]
            setattr(comp, key, value)
    if changed:
        audit.record(actor, "competition.settings", comp, f"修改 {comp.title} 设置", changed)


def add_round(
    actor: User,
    comp: Competition,
    *,
    kind: RoundKind,
    title: str,
    weight: float,
    exam_id: int | None = None,
    case_slugs: list[str] | None = None,
    judges_per_candidate: int = 3,
) -> CompetitionRound:
    _not_published(comp)
    if kind == RoundKind.WRITTEN and exam_id is None:
        raise DomainError("笔试轮次需要选择一场考试", "exam_id")
    position = 1 + (
        db.session.scalar(
            sa.select(sa.func.max(CompetitionRound.position)).where(
                CompetitionRound.competition_id == comp.id
            )
        )
        or 0
    )
    rnd = CompetitionRound(
        competition_id=comp.id,
        position=position,
        kind=kind,
        title=title.strip(),
        weight=weight,
        exam_id=exam_id if kind == RoundKind.WRITTEN else None,
        case_slugs=list(case_slugs or []),
        judges_per_candidate=judges_per_candidate,
    )
    db.session.add(rnd)
    db.session.flush()
    audit.record(actor, "competition.round", rnd, f"{comp.title} 新增轮次 {rnd.title}")
    return rnd


@dataclass
class CriterionRow:
    title: str
    kind: CriterionKind
    max_points: float
    dimension: Dimension
    descriptors: list[str] = field(default_factory=list)


def criterion_problems(rows: list[CriterionRow]) -> list[tuple[int, str, str]]:
    """Every problem of a marking scheme as (row number, field, reason)."""
    problems = []
    titles = set()
    for n, row in enumerate(rows, start=1):
        if not row.title.strip():
            problems.append((n, "指标", "不能为空"))
        elif row.title.strip() in titles:
            problems.append((n, "指标", f"与前面的指标重名：{row.title.strip()}"))
        titles.add(row.title.strip())
        if not 0 < row.max_points <= 100:
            problems.append((n, "分值", "应大于 0、不超过 100"))
        if row.kind == CriterionKind.JUDGEMENT:
            filled = [d for d in row.descriptors if d and d.strip()]
            if len(filled) != rules.JUDGEMENT_LEVELS + 1:
                problems.append((n, "等级描述", "评判类指标要写清 0、1、2、3 四个等级的描述"))
    if not rows:
        problems.append((0, "评分标准", "至少要有一项指标"))
    return problems


class SchemeInvalid(DomainError):
    def __init__(self, problems: list[tuple[int, str, str]]):
        super().__init__("评分标准有误：" + "；".join(f"第{r}行 {f}：{m}" for r, f, m in problems))
        self.problems = problems


def set_criteria(actor: User, rnd: CompetitionRound, rows: list[CriterionRow]) -> None:
    if rnd.kind == RoundKind.WRITTEN:
        raise DomainError("笔试轮次由考试系统自动评分，不设评分标准")
    if rnd.locked:
        raise DomainError("本轮已锁定，评分标准不能再改")
    if db.session.scalar(sa.select(sa.func.count(Sheet.id)).where(Sheet.round_id == rnd.id)):
        raise DomainError("评委已经开始评分，评分标准不能再改")
    problems = criterion_problems(rows)
    if problems:
        raise SchemeInvalid(problems)
    for old in list(rnd.criteria):
        rnd.criteria.remove(old)
    db.session.flush()
    for pos, row in enumerate(rows, start=1):
        rnd.criteria.append(
            Criterion(
                position=pos,
                title=row.title.strip(),
                kind=row.kind,
                max_points=row.max_points,
                dimension=row.dimension,
                descriptors=[d.strip() for d in row.descriptors]
                if row.kind == CriterionKind.JUDGEMENT
                else [],
            )
        )
    db.session.flush()
    audit.record(
        actor, "competition.scheme", rnd, f"设置 {rnd.title} 的评分标准（{len(rows)} 项指标）"
    )


def add_judge(actor: User, comp: Competition, user: User) -> CompetitionJudge:
    _not_published(comp)
    if user.role != Role.EXPERT or not user.active:
        raise DomainError("评委须是在用的县级专家账号", "user_id")
    existing = db.session.scalar(
        sa.select(CompetitionJudge).where(
            CompetitionJudge.competition_id == comp.id, CompetitionJudge.user_id == user.id
        )
    )
    if existing:
        raise DomainError(f"{user.display_name} 已在评委名单中", "user_id")
    count = db.session.scalar(
        sa.select(sa.func.count(CompetitionJudge.id)).where(
            CompetitionJudge.competition_id == comp.id
        )
    )
    judge = CompetitionJudge(
        competition_id=comp.id,
        user_id=user.id,
        home_township_id=user.township_id,
        code=f"评委{count + 1}",
    )
    db.session.add(judge)
    db.session.flush()
    audit.record(actor, "competition.judge", comp, f"{comp.title} 增加评委 {user.display_name}")
    return judge


def set_chief_judge(actor: User, comp: Competition, user: User) -> None:
    if not judge_of(comp, user):
        raise DomainError("裁判长须先列入评委名单", "user_id")
    comp.chief_judge_id = user.id
    audit.record(actor, "competition.chief", comp, f"{comp.title} 裁判长：{user.display_name}")


def judge_of(comp: Competition, user: User) -> CompetitionJudge | None:
    return db.session.scalar(
        sa.select(CompetitionJudge).where(
            CompetitionJudge.competition_id == comp.id, CompetitionJudge.user_id == user.id
        )
    )


def is_chief(comp: Competition, user: User) -> bool:
    return user.role == Role.ADMIN or comp.chief_judge_id == user.id


def _not_published(comp: Competition) -> None:
    if comp.status == CompetitionStatus.PUBLISHED:
        raise DomainError("结果已经公布，不能再修改")


# --- registration ----------------------------------------------------------------------------


def open_registration(actor: User, comp: Competition) -> None:
    if comp.status != CompetitionStatus.DRAFT:
        raise DomainError("只有筹备中的比武可以开始报名")
    comp.status = CompetitionStatus.REGISTRATION
    audit.record(actor, "competition.open", comp, f"{comp.title} 开始报名")


def close_registration(actor: User, comp: Competition) -> None:
    if comp.status != CompetitionStatus.REGISTRATION:
        raise DomainError("比武不在报名阶段")
    comp.status = CompetitionStatus.RUNNING
    audit.record(actor, "competition.close", comp, f"{comp.title} 报名截止，进入比赛")


def eligibility_problem(comp: Competition, agent: Agent, on: date) -> str | None:
    posting = agent.current_posting
    if posting is None:
        return f"{agent.name} 已离岗，不能报名"
    if posting.joined_on > comp.joined_before:
        return (
            f"{agent.name} 于 {posting.joined_on:%Y-%m-%d} 到岗，"
            f"晚于报名要求的 {comp.joined_before:%Y-%m-%d}"
        )
    return None


def nominate(actor: User, comp: Competition, agent: Agent, today: date) -> Entry:
    late = comp.status != CompetitionStatus.REGISTRATION or today > comp.registration_closes_on
    if late and actor.role != Role.ADMIN:
        raise DomainError("报名已经截止；如需调整，请联系县级管理员")
    if comp.status == CompetitionStatus.PUBLISHED:
        raise DomainError("结果已经公布，不能再报名")
    problem = eligibility_problem(comp, agent, today)
    if problem:
        raise DomainError(problem, "agent_id")
    posting = agent.current_posting
    township_id = posting.village.township_id
    if actor.role == Role.TOWNSHIP_HEAD and actor.township_id != township_id:
        raise DomainError("只能推荐本镇街在岗的代办员", "agent_id")
    if db.session.scalar(
        sa.select(Entry.id).where(
            Entry.competition_id == comp.id,
            Entry.agent_id == agent.id,
            Entry.withdrawn_at.is_(None),
        )
    ):
        raise DomainError(f"{agent.name} 已经报名", "agent_id")
    used = db.session.scalar(
        sa.select(sa.func.count(Entry.id)).where(
            Entry.competition_id == comp.id,
            Entry.township_id == township_id,
            Entry.withdrawn_at.is_(None),
        )
    )
    if used >= comp.quota_per_township:
        raise DomainError(
            f"本镇街名额为 {comp.quota_per_township} 人，已报满；可先撤回一人再推荐", "agent_id"
        )
    previous = db.session.scalar(
        sa.select(Entry).where(Entry.competition_id == comp.id, Entry.agent_id == agent.id)
    )
    if previous is not None:  # withdrawn earlier: take them back under the same number
        previous.withdrawn_at = None
        previous.withdraw_reason = None
        previous.township_id = township_id
        previous.village_id = posting.village_id
        entry = previous
    else:
        entry = Entry(
            competition_id=comp.id,
            agent_id=agent.id,
            township_id=township_id,
            village_id=posting.village_id,
            number=_new_number(comp),
            nominated_by_id=actor.id,
        )
        db.session.add(entry)
    db.session.flush()
    audit.record(
        actor,
        "competition.late_nominate" if late else "competition.nominate",
        entry,
        f"{comp.title} {'补报' if late else '推荐'} {agent.name}（编号 {entry.number}）",
        township_id=township_id,
    )
    return entry


def _new_number(comp: Competition) -> str:
    taken = set(db.session.scalars(sa.select(Entry.number).where(Entry.competition_id == comp.id)))
    space = 10**NUMBER_DIGITS - 10 ** (NUMBER_DIGITS - 1)
    if len(taken) >= space:
        raise DomainError("选手编号已用完")
    while True:
        number = f"{10 ** (NUMBER_DIGITS - 1) + secrets.randbelow(space)}"
        if number not in taken:
            return number


def withdraw(actor: User, entry: Entry, reason: str) -> None:
    comp = entry.competition
    if entry.withdrawn_at is not None:
        raise DomainError("该选手已经撤回")
    if comp.status == CompetitionStatus.PUBLISHED:
        raise DomainError("结果已经公布，不能撤回")
    if not reason.strip():
        raise DomainError("请写明撤回原因", "reason")
    late = comp.status != CompetitionStatus.REGISTRATION
    if late and actor.role != Role.ADMIN:
        raise DomainError("报名已经截止；如需撤回，请联系县级管理员")
    if db.session.scalar(sa.select(sa.func.count(Sheet.id)).where(Sheet.entry_id == entry.id)):
        raise DomainError("评委已经开始为该选手评分，不能撤回")
    entry.withdrawn_at = utcnow()
    entry.withdraw_reason = reason.strip()[:200]
    db.session.execute(sa.delete(Assignment).where(Assignment.entry_id == entry.id))
    audit.record(
        actor,
        "competition.withdraw",
        entry,
        f"{comp.title} 撤回 {entry.agent.name}：{entry.withdraw_reason}",
        township_id=entry.township_id,
    )


def active_entries(comp: Competition) -> list[Entry]:
    return list(
        db.session.scalars(
            sa.select(Entry)
            .where(Entry.competition_id == comp.id, Entry.withdrawn_at.is_(None))
            .order_by(Entry.number)
        )
    )


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
    criteria = {c.id: c for c in rnd.criteria}
    unknown = [k for k in values if k not in criteria]
    if unknown:
        raise DomainError("提交了本轮没有的评分指标")
    parsed: dict[int, float] = {}
    problems = []
    for cid, raw in values.items():
        if raw is None or raw == "":
            continue
        try:
            number = float(raw)
        except (TypeError, ValueError):
            problems.append(f"{criteria[cid].title}：评分必须是数字")
            continue
        if number.is_integer():
            number = int(number)
        problem = rules.mark_problem(_rule_criterion(criteria[cid]), number)
        if problem:
            problems.append(f"{criteria[cid].title}：{problem}")
        else:
            parsed[cid] = float(number)
    if submit:
        blank = [c.title for c in rnd.criteria if c.id not in parsed]
        if blank:
            problems.append("还有指标没有评分：" + "、".join(blank))
    if problems:
        raise DomainError("；".join(problems))
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


def _rule_criterion(c: Criterion) -> rules.Criterion:
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
        [_rule_criterion(c) for c in rnd.criteria],
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
            problems.append(
                f"还有 {len(waiting)} 名选手的评分未全部提交（{'、'.join(waiting[:10])}…）"
            )
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
        crit = _rule_criterion(mark.criterion)
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
    if actor.role != Role.ADMIN and (
        actor.role != Role.TOWNSHIP_HEAD or actor.township_id != entry.township_id
    ):
        raise DomainError("只有选手所在镇街的负责人可以提出申诉")
    if rnd.competition_id != entry.competition_id:
        raise DomainError("轮次与选手不属于同一届比武")
    deadline = appeal_deadline(rnd)
    if deadline is None:
        raise DomainError("本轮成绩锁定后才能申诉")
    if now > deadline:
        raise DomainError(f"申诉期已于 {deadline:%Y-%m-%d %H:%M} 结束")
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
