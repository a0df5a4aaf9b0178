"""Read queries of the competition pages, scoped in SQL."""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort
from sqlalchemy.orm import joinedload, selectinload

from academy.auth.models import Role, User
from academy.auth.policy import Scope, scope_by_township
from academy.competition.models import (
    Appeal,
    Assignment,
    Competition,
    CompetitionJudge,
    CompetitionRound,
    CompetitionStatus,
    Correction,
    Entry,
    Result,
    Sheet,
)
from academy.extensions import db
from academy.roster.models import Agent, Posting


def competitions_for(user: User) -> list[Competition]:
    stmt = sa.select(Competition).order_by(Competition.year.desc())
    if user.role == Role.AGENT:
        stmt = stmt.where(Competition.status != CompetitionStatus.DRAFT)
    return list(db.session.scalars(stmt))


def competition_or_404(comp_id: int) -> Competition:
    comp = db.session.scalar(
        sa.select(Competition)
        .where(Competition.id == comp_id)
        .options(selectinload(Competition.rounds).selectinload(CompetitionRound.criteria))
    )
    if comp is None:
        abort(404)
    return comp


def round_or_404(round_id: int) -> CompetitionRound:
    rnd = db.session.scalar(
        sa.select(CompetitionRound)
        .where(CompetitionRound.id == round_id)
        .options(selectinload(CompetitionRound.criteria), joinedload(CompetitionRound.competition))
    )
    if rnd is None:
        abort(404)
    return rnd


def entries(comp: Competition, scope: Scope, include_withdrawn: bool = False) -> list[Entry]:
    """Entries a reader may see with names (the views admit only MANAGE_ENTRIES): the
    county, or a head's township (where the candidate was registered)."""
    stmt = (
        sa.select(Entry)
        .where(Entry.competition_id == comp.id)
        .options(joinedload(Entry.agent), joinedload(Entry.village), joinedload(Entry.township))
        .order_by(Entry.township_id, Entry.number)
    )
    if not include_withdrawn:
        stmt = stmt.where(Entry.withdrawn_at.is_(None))
    return list(db.session.scalars(scope_by_township(stmt, scope, Entry.township_id)))


def entry_or_404(comp: Competition, entry_id: int, scope: Scope) -> Entry:
    stmt = sa.select(Entry).where(Entry.id == entry_id, Entry.competition_id == comp.id)
    entry = db.session.scalar(scope_by_township(stmt, scope, Entry.township_id))
    if entry is None:
        abort(404)
    return entry


def nominable_agents(comp: Competition, scope: Scope) -> list[Agent]:
    """Active agents of the head's township who joined by the cut-off and are not entered."""
    from academy.regions.models import Village

    entered = sa.select(Entry.agent_id).where(
        Entry.competition_id == comp.id, Entry.withdrawn_at.is_(None)
    )
    stmt = (
        sa.select(Agent)
        .join(Posting, sa.and_(Posting.agent_id == Agent.id, Posting.left_on.is_(None)))
        .join(Village, Village.id == Posting.village_id)
        .where(Posting.joined_on <= comp.joined_before, Agent.id.not_in(entered))
        .order_by(Village.name, Agent.name)
        .limit(500)
    )
    return list(db.session.scalars(scope_by_township(stmt, scope, Village.township_id)))


def judges(comp: Competition) -> list[CompetitionJudge]:
    return list(
        db.session.scalars(
            sa.select(CompetitionJudge)
            .where(CompetitionJudge.competition_id == comp.id)
            .options(joinedload(CompetitionJudge.user), joinedload(CompetitionJudge.home_township))
            .order_by(CompetitionJudge.id)
        )
    )


def queue(judge: CompetitionJudge) -> list[tuple[CompetitionRound, str, int, Sheet | None]]:
    """(round, candidate number, entry id, sheet) of every candidate assigned to the judge
    in rounds still open."""
    rows = db.session.execute(
        sa.select(CompetitionRound, Entry.number, Entry.id, Sheet)
        .join(Assignment, Assignment.round_id == CompetitionRound.id)
        .join(Entry, Entry.id == Assignment.entry_id)
        .outerjoin(
            Sheet,
            sa.and_(
                Sheet.round_id == CompetitionRound.id,
                Sheet.entry_id == Entry.id,
                Sheet.judge_id == judge.id,
            ),
        )
        .where(Assignment.judge_id == judge.id, Entry.withdrawn_at.is_(None))
        .order_by(CompetitionRound.position, Entry.number)
    ).all()
    return [tuple(r) for r in rows]


def appeals(comp: Competition, scope: Scope) -> list[Appeal]:
    stmt = (
        sa.select(Appeal)
        .join(Entry, Entry.id == Appeal.entry_id)
        .where(Entry.competition_id == comp.id)
        .options(joinedload(Appeal.entry).joinedload(Entry.agent), joinedload(Appeal.round))
        .order_by(Appeal.filed_at.desc())
    )
    return list(db.session.scalars(scope_by_township(stmt, scope, Entry.township_id)))


def corrections(comp: Competition) -> list[Correction]:
    return list(
        db.session.scalars(
            sa.select(Correction)
            .join(CompetitionRound, CompetitionRound.id == Correction.round_id)
            .where(CompetitionRound.competition_id == comp.id)
            .options(joinedload(Correction.entry))
            .order_by(Correction.requested_at.desc())
        )
    )


def results(comp: Competition, township_id: int | None = None) -> list[Result]:
    stmt = (
        sa.select(Result)
        .where(Result.competition_id == comp.id)
        .options(
            joinedload(Result.entry).joinedload(Entry.agent),
            joinedload(Result.entry).joinedload(Entry.township),
            joinedload(Result.entry).joinedload(Entry.village),
        )
        .order_by(Result.rank, Result.id)
    )
    if township_id is not None:
        stmt = stmt.join(Entry, Entry.id == Result.entry_id).where(Entry.township_id == township_id)
    return list(db.session.scalars(stmt))


def own_entry(comp: Competition, user: User) -> Entry | None:
    if user.agent_id is None:
        return None
    return db.session.scalar(
        sa.select(Entry).where(
            Entry.competition_id == comp.id,
            Entry.agent_id == user.agent_id,
            Entry.withdrawn_at.is_(None),
        )
    )
