"""The practical round's results from the simulation engine.

For each candidate and each case of the round (``CompetitionRound.case_slugs``), the first
run they finished after the competition began (registration closed) counts — a repeat does
not improve it. The round's percent is the mean over the round's cases, a case not played
counting 0; the split by dimension is the mean of the runs' dimension percents. A run still
waiting for an expert's mark counts as it stands (its replies as 0) until the round is
locked; refreshing the round picks up marks given since.
"""

from __future__ import annotations

import sqlalchemy as sa

from academy.competition.judging import auto_scorer
from academy.competition.models import CompetitionRound, Entry, RoundKind
from academy.extensions import db
from academy.questions.models import Dimension
from academy.simulations.models import RunState, SimCase, SimRun


def unknown_cases(slugs: list[str]) -> list[str]:
    """The slugs that name no live simulation case (for the round's set-up form)."""
    live = set(
        db.session.scalars(
            sa.select(SimCase.slug).where(SimCase.slug.in_(slugs), SimCase.retired.is_(False))
        )
    )
    return [s for s in slugs if s not in live]


@auto_scorer(RoundKind.PRACTICAL)
def simulation_scores(rnd: CompetitionRound, entries: list[Entry]) -> dict[int, tuple]:
    slugs = list(rnd.case_slugs or [])
    if not slugs or not entries:
        return {}
    by_agent = {e.agent_id: e for e in entries}
    stmt = (
        sa.select(SimRun.agent_id, SimCase.slug, SimRun.id, SimRun.score, SimRun.dimension_scores)
        .join(SimCase, SimCase.id == SimRun.case_id)
        .where(
            SimCase.slug.in_(slugs),
            SimRun.agent_id.in_(list(by_agent)),
            SimRun.state == RunState.FINISHED,
            SimRun.preview.is_(False),
        )
        .order_by(SimRun.finished_at, SimRun.id)
    )
    began = rnd.competition.started_at
    if began is not None:
        stmt = stmt.where(SimRun.created_at >= began)
    first: dict[tuple[int, str], tuple[int, float, dict]] = {}
    for agent_id, slug, run_id, score, dims in db.session.execute(stmt):
        first.setdefault((agent_id, slug), (run_id, score or 0.0, dims or {}))
    out = {}
    for agent_id, entry in by_agent.items():
        played = [first[(agent_id, s)] for s in slugs if (agent_id, s) in first]
        if not played:
            continue
        percent = sum(score for _, score, _ in played) / len(slugs)
        by_dim: dict[str, float] = {}
        for dim in Dimension:
            values = [d.get(dim.label) for _, _, d in played if d.get(dim.label) is not None]
            if values:
                by_dim[dim.value] = sum(values) / len(slugs)
        source = "sim_run:" + ",".join(str(run_id) for run_id, _, _ in played)
        out[entry.id] = (percent, by_dim, source)
    return out
