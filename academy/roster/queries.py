"""Read-side queries of the roster, scoped by the policy. Fixed number of queries per page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import joinedload, selectinload

from academy.auth.policy import Scope, agent_clause, scope_agents, scope_by_township, scope_villages
from academy.extensions import db
from academy.regions.models import Township, Village
from academy.roster.models import Agent, AgentKind, Posting


@dataclass
class TownshipSummary:
    township: Township
    villages: int
    active_agents: int
    uncovered: int  # villages with no active agent

    @property
    def coverage(self) -> float:
        return 0.0 if not self.villages else (self.villages - self.uncovered) / self.villages


def serving_village(agent) -> sa.ScalarSelect:
    """The village of the agent's active posting, as a scalar subquery to use inside another
    statement (``agent``: an id or a SQL expression such as a bind parameter)."""
    return (
        sa.select(Posting.village_id)
        .where(Posting.agent_id == agent, Posting.left_on.is_(None))
        .scalar_subquery()
    )


def serving_township(agent) -> sa.ScalarSelect:
    """The township of the agent's active posting, as ``serving_village`` gives the village."""
    return (
        sa.select(Village.township_id)
        .join(Posting, Posting.village_id == Village.id)
        .where(Posting.agent_id == agent, Posting.left_on.is_(None))
        .scalar_subquery()
    )


def township_summaries(scope: Scope) -> list[TownshipSummary]:
    active = (
        sa.select(Posting.village_id, sa.func.count(Posting.id).label("n"))
        .where(Posting.left_on.is_(None))
        .group_by(Posting.village_id)
        .subquery()
    )
    stmt = (
        sa.select(
            Township,
            sa.func.count(Village.id),
            sa.func.coalesce(sa.func.sum(active.c.n), 0),
            sa.func.count(Village.id).filter(active.c.n.is_(None)),
        )
        .outerjoin(Village, Village.township_id == Township.id)
        .outerjoin(active, active.c.village_id == Village.id)
        .group_by(Township.id)
        .order_by(Township.position, Township.id)
    )
    stmt = scope_by_township(stmt, scope, Township.id)
    return [TownshipSummary(t, v, int(a), u) for t, v, a, u in db.session.execute(stmt)]


def uncovered_villages(scope: Scope, limit: int = 50) -> list[Village]:
    has_agent = sa.select(Posting.id).where(
        Posting.village_id == Village.id, Posting.left_on.is_(None)
    )
    stmt = (
        scope_villages(
            sa.select(Village).options(joinedload(Village.township)).where(~has_agent.exists()),
            scope,
        )
        .order_by(Village.township_id, Village.name)
        .limit(limit)
    )
    return list(db.session.scalars(stmt))


def recent_departures(scope: Scope, days: int = 90, limit: int = 10) -> list[Posting]:
    since = date.today() - timedelta(days=days)
    stmt = (
        sa.select(Posting)
        .join(Village)
        .options(
            joinedload(Posting.agent), joinedload(Posting.village).joinedload(Village.township)
        )
        .where(Posting.left_on >= since)
        .order_by(Posting.left_on.desc(), Posting.id.desc())
        .limit(limit)
    )
    return list(db.session.scalars(scope_villages(stmt, scope)))


@dataclass
class RosterFilter:
    q: str = ""
    village_id: int | None = None
    kind: AgentKind | None = None
    status: str = "active"  # active | left | all


def roster_filter(args) -> RosterFilter:
    """The roster filters from query arguments; anything unrecognised is ignored."""
    village_id = args.get("village_id", "")
    kind = args.get("kind", "")
    status = args.get("status", "active")
    return RosterFilter(
        q=args.get("q", "").strip()[:40],
        village_id=int(village_id) if village_id.isdigit() and len(village_id) < 10 else None,
        kind=AgentKind(kind) if kind in {k.value for k in AgentKind} else None,
        status=status if status in ("active", "left", "all") else "active",
    )


def roster_statement(scope: Scope, f: RosterFilter) -> sa.Select:
    stmt = (
        sa.select(Posting)
        .join(Posting.agent)
        .join(Posting.village)
        .options(
            joinedload(Posting.agent), joinedload(Posting.village).joinedload(Village.township)
        )
    )
    stmt = scope_villages(stmt, scope)
    if f.q:
        like = f"%{f.q.strip()}%"
        stmt = stmt.where(
            sa.or_(Agent.name.like(like), Agent.phone.like(like), Village.name.like(like))
        )
    if f.village_id:
        stmt = stmt.where(Posting.village_id == f.village_id)
    if f.kind:
        stmt = stmt.where(Posting.kind == f.kind)
    if f.status == "active":
        stmt = stmt.where(Posting.left_on.is_(None))
    elif f.status == "left":
        stmt = stmt.where(Posting.left_on.is_not(None))
    order = (
        [Posting.left_on.desc(), Posting.id.desc()]
        if f.status == "left"
        else [Village.township_id, Village.name, Agent.name, Posting.id]
    )
    return stmt.order_by(*order)


def roster_rows(scope: Scope, f: RosterFilter) -> sa.Select:
    """``roster_statement`` with a second column: whether the person is still the reader's
    to see (False for a posting of someone who has since moved to another township — that
    row is history, shown without today's personal data)."""
    reachable = agent_clause(scope, Posting.agent_id)
    flag = sa.true() if reachable is None else reachable
    return roster_statement(scope, f).add_columns(flag.label("reachable"))


def agent_visible_to(scope: Scope, agent_id: int) -> Agent | None:
    """An agent is visible if their current posting (else their last one) lies in the scope:
    the township they moved away from keeps their history rows, not the person."""
    stmt = scope_agents(
        sa.select(Agent)
        .options(
            selectinload(Agent.postings).joinedload(Posting.village).joinedload(Village.township)
        )
        .where(Agent.id == agent_id),
        scope,
        Agent.id,
    )
    return db.session.scalar(stmt)
