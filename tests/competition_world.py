"""A small competition for tests: three townships, eight candidates, five judges (three
with a home township, two from county departments; the fourth is chief judge), a live round
with three criteria (one of each kind and dimension), registration closed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import sqlalchemy as sa

from academy.auth.models import Role
from academy.competition import judging, services
from academy.competition.models import Assignment, CriterionKind, RoundKind
from academy.extensions import db
from academy.questions.models import Dimension
from tests import factories

TODAY = date.today()


@dataclass
class Setup:
    comp: object
    live: object
    entries: list
    judges: list
    chief: object


def scheme():
    return [
        services.CriterionRow("一次性告知完整", CriterionKind.MEASUREMENT, 10, Dimension.KNOWLEDGE),
        services.CriterionRow(
            "接待礼仪",
            CriterionKind.JUDGEMENT,
            6,
            Dimension.ETIQUETTE,
            ["未做到", "基本做到", "做得较好", "规范自然"],
        ),
        services.CriterionRow(
            "突发情况处置",
            CriterionKind.JUDGEMENT,
            9,
            Dimension.EMERGENCY,
            ["慌乱", "能应对", "处置得当", "从容周全"],
        ),
    ]


def build(world) -> Setup:
    w = world
    towns = [w.east, w.west, factories.township(w.county, "南镇")]
    agents = [w.east_agent, w.west_agent]
    for t in towns:
        v = factories.village(t)
        agents += [factories.agent(v) for _ in range(2)]
    comp = services.create_competition(
        w.admin,
        year=2026,
        title="2026 年村级代办员操作技能大比武",
        joined_before=TODAY,
        registration_closes_on=TODAY + timedelta(days=7),
        quota_per_township=3,
    )
    live = services.add_round(
        w.admin, comp, kind=RoundKind.LIVE, title="现场情景演练", weight=100, judges_per_candidate=3
    )
    services.set_criteria(w.admin, live, scheme())
    judges = []
    for i, t in enumerate([*towns, None, None]):
        u = factories.user(Role.EXPERT, township=t)
        judges.append(services.add_judge(w.admin, comp, u))
        if i == 3:
            services.set_chief_judge(w.admin, comp, u)
            chief = u
    services.open_registration(w.admin, comp)
    entries = []
    heads = {w.east.id: w.east_head, w.west.id: w.west_head}
    for a in agents:
        t_id = a.current_posting.village.township_id
        actor = heads.get(t_id, w.admin)
        entries.append(services.nominate(actor, comp, a, TODAY))
    services.close_registration(w.admin, comp)
    db.session.flush()
    return Setup(comp, live, entries, judges, chief)


def mark_all(s: Setup, values=(8, 2, 2), submit=True):
    for a in db.session.scalars(sa.select(Assignment).where(Assignment.round_id == s.live.id)):
        judge = next(j for j in s.judges if j.id == a.judge_id)
        crit = {c.id: v for c, v in zip(s.live.criteria, values, strict=True)}
        judging.save_sheet(s.live, a.entry_id, judge, crit, "", 1, submit)
