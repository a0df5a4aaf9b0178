"""Competition use-cases, set-up and registration: the competition, its rounds and
marking schemes, the judges, nominations with quota and cut-off, withdrawals.

Services validate, change the session and flush; the request commits once. Every refusal
is a DomainError with a Chinese reason; nothing is changed.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import date

import sqlalchemy as sa

from academy.audit import services as audit
from academy.auth.models import Role, User
from academy.auth.policy import Scope
from academy.competition import rules
from academy.competition.models import (
    Assignment,
    Competition,
    CompetitionJudge,
    CompetitionRound,
    CompetitionStatus,
    Criterion,
    CriterionKind,
    Entry,
    RoundKind,
    Sheet,
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
    comp.started_at = utcnow()
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
    if not Scope.of(actor).covers_township(township_id):
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
