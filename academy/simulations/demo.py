"""Demo runs for `flask seed-demo`: finished runs of the shipped cases by demo agents, some
replies marked, so that the township head's results and the step statistics are not empty."""

from __future__ import annotations

import random

import sqlalchemy as sa

from academy.auth.models import Role, User
from academy.extensions import db
from academy.roster.models import Posting
from academy.simulations import services


def seed_simulation_runs(rng: random.Random, postings: list[Posting], count: int = 30) -> str:
    cases = services.live_cases()
    active = [p for p in postings if p.left_on is None]
    if not cases or not active:
        return "情景模拟练习 0 次（没有案例：请先 flask content sync）。"
    expert = db.session.scalar(sa.select(User).where(User.role == Role.EXPERT).limit(1))
    marked = 0
    for i in range(count):
        posting = rng.choice(active)
        run = services.start_run(posting.agent, rng.choice(cases), seed=rng.randrange(10_000))
        strategy = rng.choices(["best", "random", "worst"], weights=[5, 4, 1])[0]
        services.play(run, strategy, random.Random(i))
        if expert is not None and i % 3:
            for row in run.steps:
                if row.kind == "free_text" and row.pending:
                    step = services.case_of(run).step(row.step_id)
                    points = rng.choice([0.5, 0.7, 1.0]) * float(step["points"])
                    services.mark_reply(expert, row, round(points * 2) / 2, "演示评分")
                    marked += 1
    return f"情景模拟练习 {count} 次（专家已评分答复 {marked} 条）。"
