"""Demo skills competitions: last year's, finished and published (12 townships × 3
candidates, a written round taken through the exam engine, a live round marked by the
demo experts with one moderation flag and one appeal), and this year's, open for
registration with a few nominations."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta

import sqlalchemy as sa

from academy.auth.models import Role, User
from academy.competition import judging, outcomes, services
from academy.competition.models import (
    Appeal,
    Assignment,
    CompetitionJudge,
    CriterionKind,
    Moderation,
    Result,
    RoundKind,
    Sheet,
)
from academy.demo.exams import sit
from academy.exams import authoring
from academy.extensions import db
from academy.questions.models import Dimension
from academy.regions.models import Township, Village
from academy.roster.models import Agent, Posting

# Members of the county expert group who judge (the seeds: 19 from the 公安、医保、人社 …
# windows); those from a township's service centre are kept away from its candidates.
JUDGES = [
    ("judge-pan", "潘美娟（沃洲镇便民服务中心）", "沃洲镇"),
    ("judge-zhang", "张伟军（澄潭街道便民服务中心）", "澄潭街道"),
    ("judge-wang", "王丽萍（儒岙镇便民服务中心）", "儒岙镇"),
    ("judge-he", "何志刚（县民政局）", None),
    ("judge-shi", "石晓燕（县税务局）", None),
]

LIVE_SCHEME = [
    ("问清需求、一次性告知完整", CriterionKind.MEASUREMENT, 10, Dimension.KNOWLEDGE, []),
    ("材料收取与核对准确", CriterionKind.MEASUREMENT, 10, Dimension.KNOWLEDGE, []),
    (
        "接待礼仪与沟通",
        CriterionKind.JUDGEMENT,
        6,
        Dimension.ETIQUETTE,
        ["态度生硬或用语不当", "基本礼貌，但解释不清", "热情耐心，解释清楚", "主动周到，一听就懂"],
    ),
    (
        "帮办过程规范（本人确认、不代签、隐私保护）",
        CriterionKind.JUDGEMENT,
        6,
        Dimension.ETIQUETTE,
        ["有代签或泄露信息", "有疏漏", "规范", "规范且主动提醒群众"],
    ),
    (
        "突发情况处置（系统故障、材料缺失、群众情绪激动）",
        CriterionKind.JUDGEMENT,
        9,
        Dimension.EMERGENCY,
        ["慌乱或推诿", "能处理但群众要多跑", "处置得当", "从容周全，群众不多跑"],
    ),
]


def _judge_users() -> list[User]:
    towns = {t.name: t.id for t in db.session.scalars(sa.select(Township))}
    template = db.session.scalar(sa.select(User).where(User.username == "expert"))
    users = []
    for username, name, town in JUDGES:
        u = User(
            username=username,
            display_name=name,
            role=Role.EXPERT,
            township_id=towns.get(town) if town else None,
        )
        u.password_hash = template.password_hash
        users.append(u)
    db.session.add_all(users)
    db.session.flush()
    experts = list(
        db.session.scalars(
            sa.select(User)
            .where(User.username.in_(["expert", "expert-yibao", "expert-gongan"]))
            .order_by(User.id)
        )
    )
    return experts + users


def _candidates(rng: random.Random, per_township: int, joined_before: date) -> list[Agent]:
    rows = db.session.execute(
        sa.select(Agent, Village.township_id)
        .join(Posting, sa.and_(Posting.agent_id == Agent.id, Posting.left_on.is_(None)))
        .join(Village, Village.id == Posting.village_id)
        .where(Posting.joined_on <= joined_before)
        .order_by(Village.township_id, Posting.id)
    ).all()
    by_town: dict[int, list[Agent]] = {}
    for agent, town in rows:
        by_town.setdefault(town, []).append(agent)
    chosen = []
    for town in sorted(by_town):
        pool = by_town[town]
        chosen += rng.sample(pool, min(per_township, len(pool)))
    return chosen


def seed_competitions(rng: random.Random, today: date) -> list[str]:
    admin = db.session.scalar(sa.select(User).where(User.username == "admin"))
    heads = {
        u.township_id: u
        for u in db.session.scalars(sa.select(User).where(User.role == Role.TOWNSHIP_HEAD))
    }
    judges = _judge_users()
    chief = judges[0]  # 俞晓红, the county expert group's lead

    # --- last year's, published -------------------------------------------------------------
    year = today.year - 1
    held = datetime(year, 11, 12, 1, 0)  # 09:00 Beijing time
    comp = services.create_competition(
        admin,
        year=year,
        title=f"{year} 年新昌县村级代办员操作技能大比武",
        joined_before=date(year, 6, 30),
        registration_closes_on=date(year, 10, 31),
        quota_per_township=3,
    )
    for u in judges:
        services.add_judge(admin, comp, u)
    services.set_chief_judge(admin, comp, chief)
    exam = authoring.create_exam(
        chief,
        authoring.ExamData(
            title=f"{year} 年大比武笔试",
            description="业务知识、服务规范和应急处置，共 20 题，限时 30 分钟。",
            time_limit_minutes=30,
            pass_percent=60,
            attempts_allowed=1,
        ),
    )
    authoring.set_sections(
        chief,
        exam,
        [
            authoring.SectionData(
                "业务知识", 5, dimension=Dimension.KNOWLEDGE, counts={"1": 4, "2": 4, "3": 2}
            ),
            authoring.SectionData(
                "服务规范", 5, dimension=Dimension.ETIQUETTE, counts={"1": 2, "2": 3}
            ),
            authoring.SectionData(
                "应急处置", 5, dimension=Dimension.EMERGENCY, counts={"1": 2, "2": 3}
            ),
        ],
    )
    authoring.publish_exam(chief, exam)
    # held on the morning of the competition (set after publishing: a window in the past
    # cannot be published)
    exam.opens_at, exam.closes_at = held - timedelta(hours=1), held + timedelta(hours=3)
    exam.published_at = held - timedelta(days=7)
    written = services.add_round(
        admin, comp, kind=RoundKind.WRITTEN, title="笔试", weight=40, exam_id=exam.id
    )
    live = services.add_round(
        admin, comp, kind=RoundKind.LIVE, title="现场情景演练", weight=60, judges_per_candidate=3
    )
    services.set_criteria(
        admin, live, [services.CriterionRow(t, k, p, d, list(ds)) for t, k, p, d, ds in LIVE_SCHEME]
    )
    services.open_registration(admin, comp)
    skills: dict[int, float] = {}
    users = {
        u.agent_id: u for u in db.session.scalars(sa.select(User).where(User.agent_id.is_not(None)))
    }
    for agent in _candidates(rng, 3, comp.joined_before):
        town = agent.current_posting.village.township_id
        entry = services.nominate(heads.get(town, admin), comp, agent, comp.registration_closes_on)
        skills[entry.id] = min(0.95, max(0.2, rng.gauss(0.62, 0.17)))
    services.close_registration(admin, comp)
    comp.started_at = datetime(year, 11, 1, 1, 0)

    entries = services.active_entries(comp)
    for n, entry in enumerate(entries):
        started = held + timedelta(minutes=n % 5)
        sit(exam, entry.agent, users.get(entry.agent_id), skills[entry.id], started, rng, 25)
    judging.refresh_auto_scores(written)
    judging.lock_round(chief, written)

    judging.assign(admin, live, seed=rng.randrange(2**31))
    judge_rows = {j.id: j for j in db.session.scalars(sa.select(CompetitionJudge))}
    severity = {j.id: 0.0 for j in judge_rows.values()}
    harsh = next(j for j in judge_rows.values() if j.user.username == "judge-shi")
    severity[harsh.id] = -0.07  # one noticeably strict judge, for the rater analysis
    flagged = False
    for a in db.session.scalars(
        sa.select(Assignment).where(Assignment.round_id == live.id).order_by(Assignment.id)
    ):
        skill = skills[a.entry_id] + severity[a.judge_id]
        values = {}
        for c in live.criteria:
            if c.kind == CriterionKind.JUDGEMENT:
                level = round(3 * skill + rng.gauss(0, 0.2))
                values[c.id] = max(0, min(3, level))
            else:
                points = round(2 * (c.max_points * skill + rng.gauss(0, 0.3))) / 2
                values[c.id] = max(0.0, min(c.max_points, points))
        if not flagged and a.judge_id == harsh.id:
            values[live.criteria[2].id] = 0  # far from the rest of the panel: a flag
            flagged_entry, flagged = a.entry_id, True
        judging.save_sheet(live, a.entry_id, judge_rows[a.judge_id], values, "", 1, True)
    for s in db.session.scalars(sa.select(Sheet).where(Sheet.round_id == live.id)):
        s.saved_at = s.submitted_at = held + timedelta(hours=3)
    results = judging.round_results(live)
    for entry_id, res in results.items():
        for f in res.flags:
            note = (
                "复看现场录像：该选手接待时先问清需求再解释，评委组多数意见成立，维持评分。"
                if entry_id == flagged_entry
                else "复核后维持。"
            )
            judging.moderate(chief, live, entry_id, f.criterion, note)
    judging.lock_round(chief, live)
    # An appeal from the township whose candidate drew the flag, rejected on review.
    appealed = db.session.get(type(entries[0]), flagged_entry)
    head = heads.get(appealed.township_id, admin)
    appeal = outcomes.file_appeal(
        head, appealed, live, "选手认为接待礼仪一项评分偏低，请复核现场录像。", live.locked_at
    )
    outcomes.decide_appeal(chief, appeal, False, "复看录像，该项评分与评分细则一致，申诉不成立。")
    for r in (written, live):
        r.locked_at = held + timedelta(days=1)
    appeal.filed_at = held + timedelta(days=2)
    appeal.decided_at = held + timedelta(days=3)
    results = outcomes.publish(admin, comp)
    published = held + timedelta(days=10)
    comp.published_at = published
    for r in db.session.scalars(sa.select(Result).where(Result.competition_id == comp.id)):
        r.published_at = published
    awards = sum(1 for r in results if r.award is not None)

    # --- this year's, in registration ------------------------------------------------------
    current = services.create_competition(
        admin,
        year=today.year,
        title=f"{today.year} 年新昌县村级代办员操作技能大比武",
        joined_before=today - timedelta(days=90),
        registration_closes_on=today + timedelta(days=21),
        quota_per_township=3,
    )
    for u in judges:
        services.add_judge(admin, current, u)
    services.set_chief_judge(admin, current, chief)
    services.add_round(
        admin, current, kind=RoundKind.WRITTEN, title="笔试", weight=40, exam_id=exam.id
    )
    r2 = services.add_round(
        admin, current, kind=RoundKind.LIVE, title="现场情景演练", weight=60, judges_per_candidate=3
    )
    services.set_criteria(
        admin, r2, [services.CriterionRow(t, k, p, d, list(ds)) for t, k, p, d, ds in LIVE_SCHEME]
    )
    services.open_registration(admin, current)
    nominated = 0
    for agent in _candidates(rng, 1, current.joined_before)[:5]:
        town = agent.current_posting.village.township_id
        services.nominate(heads.get(town, admin), current, agent, today)
        nominated += 1
    n_appeals = db.session.scalar(sa.select(sa.func.count(Appeal.id)))
    n_moderated = db.session.scalar(sa.select(sa.func.count(Moderation.id)))
    return [
        f"技能大比武 2 届：{year} 年已公布（选手 {len(entries)} 名，获奖 {awards} 名，"
        f"复核 {n_moderated} 项、申诉 {n_appeals} 条），"
        f"{today.year} 年报名中（已推荐 {nominated} 名）；"
        f"评委 {len(judges)} 名。",
    ]
