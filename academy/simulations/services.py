"""Use-cases of simulation cases: sync and authoring (versions), runs (start, take a step,
resume), scoring, expert marking, debrief, statistics and results. Services flush only.

For other features (the competition's practical round, certification):
``start_run(agent, case)`` → SimRun, ``submit_step(run, seq, step_id, form)`` → RunStep,
``run_score(run)`` → rules.Score (``.percent`` per dimension, ``.total``),
``best_simulation_scores(agent_ids)`` → {agent_id: {"item:<id>" | category: percent}}.
"""

from __future__ import annotations

import random
import secrets
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.orm import defer, joinedload, selectinload

from academy.activity.models import ObjectType, Verb
from academy.activity.services import (
    event_params,
    insert_events_from,
    prepared_events,
    record_event,
    record_events,
)
from academy.auth.models import User
from academy.auth.policy import NotSignedIn, Scope, SessionIdentity, scope_by_township
from academy.catalogue.models import ServiceItem
from academy.certification.services import simulation_score_source
from academy.content.problems import ContentInvalid, Problem
from academy.content.sync import DocumentSyncReport
from academy.content.yamlio import parse_yaml
from academy.db import utcnow
from academy.errors_domain import DomainError
from academy.extensions import db
from academy.roster.models import Agent
from academy.roster.queries import serving_township
from academy.simulations import rules
from academy.simulations.kinds import STEP_KINDS, StepInputError
from academy.simulations.models import (
    CaseVersion,
    RunState,
    RunStep,
    SimCase,
    SimRun,
    VersionOrigin,
)


class RunRefused(DomainError):
    """A step that cannot be taken (wrong step, replay, retired version …): nothing changed."""


# --- sync and authoring --------------------------------------------------------------------------


class CaseSyncReport(DocumentSyncReport):
    label = "模拟案例"
    updated_word = "新版本"


def _items_by_slug() -> dict[str, ServiceItem]:
    return {i.slug: i for i in db.session.scalars(sa.select(ServiceItem))}


def _store_version(
    case: SimCase, text: str, data: dict, origin: VersionOrigin, author: User | None
) -> CaseVersion:
    number = (case.current_version + 1) if case.id and case.versions else 1
    version = CaseVersion(
        case=case,
        number=number,
        source=text,
        document=data,
        origin=origin,
        author_id=author.id if author else None,
    )
    db.session.add(version)
    case.current_version = number
    case.title = data["title"]
    item = _items_by_slug().get(data["items"][0])
    case.item_id = item.id if item else None
    case.retired = False
    return version


def sync_cases(docs) -> CaseSyncReport:
    """Load validated case files: a changed text becomes a new version; a case whose file is
    gone is retired (its runs stay, its versions take no new steps)."""
    report = CaseSyncReport()
    existing = {
        c.slug: c
        for c in db.session.scalars(sa.select(SimCase).options(selectinload(SimCase.versions)))
    }
    seen = set()
    for doc in docs:
        slug = doc.data["slug"]
        seen.add(slug)
        case = existing.get(slug)
        if case is None:
            case = SimCase(slug=slug, title=doc.data["title"], current_version=0)
            db.session.add(case)
            _store_version(case, doc.text, doc.data, VersionOrigin.SYNC, None)
            report.created.append(slug)
            continue
        current = current_version(case)
        if current is not None and current.source == doc.text and not case.retired:
            report.unchanged += 1
            continue
        if current is not None and current.source == doc.text:
            case.retired = False
            for v in case.versions:
                v.retired = False
            report.updated.append(slug)
            continue
        _store_version(case, doc.text, doc.data, VersionOrigin.SYNC, None)
        report.updated.append(slug)
    for slug, case in existing.items():
        if slug not in seen and not case.retired:
            case.retired = True
            for v in case.versions:
                v.retired = True
            report.retired.append(slug)
    db.session.flush()
    return report


def sync_cases_one(doc) -> SimCase:
    """Load one validated case file (new version if its text changed), retiring nothing."""
    case = case_by_slug(doc.data["slug"])
    if case is None:
        case = SimCase(slug=doc.data["slug"], title=doc.data["title"], current_version=0)
        db.session.add(case)
        _store_version(case, doc.text, doc.data, VersionOrigin.SYNC, None)
    else:
        current = current_version(case)
        if current is None or current.source != doc.text:
            _store_version(case, doc.text, doc.data, VersionOrigin.SYNC, None)
    db.session.flush()
    return case


def validate_text(text: str, display: str) -> dict:
    """Parse and validate an uploaded or edited case; raise ContentInvalid with every problem."""
    data, problems = parse_yaml(text, display)
    if not problems:
        slugs = set(
            db.session.scalars(sa.select(ServiceItem.slug).where(ServiceItem.retired.is_(False)))
        )
        problems = rules.check_case(display, data, slugs)
    if problems:
        raise ContentInvalid(problems)
    return data


def save_case_text(actor: User, text: str, case: SimCase | None = None) -> CaseVersion | None:
    """Store an uploaded (case None) or edited case as a new version; None if unchanged.
    Nothing is written when the text has any problem."""
    text = text.replace("\r\n", "\n")
    if not text.endswith("\n"):
        text += "\n"
    display = f"simulations/{case.slug}.yaml" if case else "上传的案例"
    data = validate_text(text, display)
    if case is not None and data["slug"] != case.slug:
        raise ContentInvalid([Problem(display, "slug", "不能在编辑时改变案例标识")])
    if case is None:
        case = db.session.scalar(sa.select(SimCase).where(SimCase.slug == data["slug"]))
        if case is None:
            case = SimCase(slug=data["slug"], title=data["title"], current_version=0)
            db.session.add(case)
    current = current_version(case) if case.id else None
    if current is not None and current.source == text and not case.retired:
        return None
    version = _store_version(case, text, data, VersionOrigin.WEB, actor)
    db.session.flush()
    return version


def retire_version(version: CaseVersion) -> None:
    version.retired = True
    db.session.flush()


def current_version(case: SimCase) -> CaseVersion | None:
    return next((v for v in case.versions if v.number == case.current_version), None)


def case_by_slug(slug: str) -> SimCase | None:
    return db.session.scalar(
        sa.select(SimCase).options(selectinload(SimCase.versions)).where(SimCase.slug == slug)
    )


def live_cases() -> list[SimCase]:
    return list(
        db.session.scalars(
            sa.select(SimCase)
            .options(selectinload(SimCase.versions), selectinload(SimCase.item))
            .where(SimCase.retired.is_(False))
            .order_by(SimCase.title)
        )
    )


def all_cases() -> list[SimCase]:
    return list(
        db.session.scalars(
            sa.select(SimCase).options(selectinload(SimCase.versions)).order_by(SimCase.title)
        )
    )


# --- runs -------------------------------------------------------------------------------------


def case_of(run: SimRun) -> rules.Case:
    return _case_for(run.version)


def _case_for(version: CaseVersion) -> rules.Case:
    if version.id is None or version.created_at is None:  # not stored yet
        return rules.Case(version.document)
    # the document only when this process has not built the version's case yet (run_for
    # and case_to_start leave it unloaded: a start, a reload or a step would otherwise
    # decode it every time)
    return _case_of_version(version.id, version.created_at)


def case_to_start(slug: str) -> tuple[SimCase, CaseVersion | None] | None:
    """The case and its current version (without its texts) in one statement, for a start;
    None when there is no such case."""
    row = db.session.execute(
        sa.select(SimCase, CaseVersion)
        .outerjoin(
            CaseVersion,
            sa.and_(
                CaseVersion.case_id == SimCase.id, CaseVersion.number == SimCase.current_version
            ),
        )
        .options(defer(CaseVersion.document), defer(CaseVersion.source))
        .where(SimCase.slug == slug)
    ).first()
    return (row[0], row[1]) if row else None


def start_run(
    agent: Agent | None,
    case: SimCase,
    seed: int | None = None,
    user: User | None = None,
    preview: bool = False,
    version: CaseVersion | None = None,
) -> SimRun:
    """A new run on the case's current version (``version``: already loaded, as
    case_to_start gives it); the seed fixes its draws."""
    version = version or current_version(case)
    if case.retired or version is None or version.retired:
        raise RunRefused("这个案例已停用，不能开始练习。")
    run = SimRun(
        agent_id=agent.id if agent else None,
        user_id=user.id if user else None,
        case=case,
        version=version,
        # where the agent serves now, read by the INSERT itself (no posting loaded here)
        township_id=serving_township(agent.id) if agent else None,
        preview=preview,
        seed=seed if seed is not None else secrets.randbelow(2**31 - 1),
        seq=0,
        current_step=_case_for(version).start,
        state=RunState.ACTIVE,
    )
    db.session.add(run)
    db.session.flush()
    if agent is not None and not preview:
        record_event(
            Verb.STARTED,
            ObjectType.SIMULATION,
            run.id,
            case.title,
            agent=agent,
            context={"parent": f"simulation:{case.slug}"},
        )
    return run


def open_run(agent: Agent, case: SimCase) -> SimRun | None:
    """The agent's unfinished run of the case on a version still in use (to resume)."""
    return db.session.scalar(
        sa.select(SimRun)
        .join(CaseVersion, CaseVersion.id == SimRun.version_id)
        .where(
            SimRun.agent_id == agent.id,
            SimRun.case_id == case.id,
            SimRun.state == RunState.ACTIVE,
            SimRun.preview.is_(False),
            CaseVersion.retired.is_(False),
        )
        .order_by(SimRun.id.desc())
        .limit(1)
    )


def _run_query(run_id: int) -> sa.Select:
    return (
        sa.select(SimRun)
        .options(
            joinedload(SimRun.version).defer(CaseVersion.document),
            joinedload(SimRun.case),
        )
        .where(SimRun.id == run_id)
    )


def run_for(run_id: int, agent: Agent | None = None, user: User | None = None) -> SimRun | None:
    """The run if it is this agent's (or this author's preview); None otherwise."""
    run = db.session.scalar(_run_query(run_id))
    if run is None:
        return None
    mine = _owns(run, getattr(user, "id", None), getattr(agent, "id", None))
    return run if mine else None


@dataclass(frozen=True)
class LatestStep:
    step_id: str
    kind: str
    result: dict


def run_to_play(
    run_id: int, agent: Agent | None = None, user: User | None = None
) -> tuple[SimRun, LatestStep | None] | None:
    """``run_for`` and the run's latest step (its feedback shows above the next step) read
    in the same statement, for the run page."""
    row = db.session.execute(_run_query(run_id).add_columns(*_LATEST)).first()
    if row is None or not _owns(row[0], getattr(user, "id", None), getattr(agent, "id", None)):
        return None
    return row[0], _latest(row[1:])


def _latest(columns) -> LatestStep | None:
    step_id, kind, result = columns
    return LatestStep(step_id, kind, result) if step_id is not None else None


def _owns(run, user_id: int | None, agent_id: int | None) -> bool:
    """Whose a run is: an author's preview is the author's; any other run is its agent's.
    ``run``: a SimRun or a row with its preview, user_id and agent_id."""
    if run.preview:
        return user_id is not None and run.user_id == user_id
    return agent_id is not None and run.agent_id == agent_id


def submit_step(run: SimRun, seq: int, step_id: str, form) -> RunStep:
    """Take the current step with the posted form. Refused (nothing changed) when the run is
    finished or its version retired, when ``seq``/``step_id`` are not the current ones (a
    replayed or out-of-order post), or when the answer is not one this step offers."""
    if run.state != RunState.ACTIVE:
        raise RunRefused("这次练习已经结束，不能再作答。")
    if run.version.retired:
        raise RunRefused("这个案例版本已停用，不能继续作答。")
    if seq != run.seq or step_id != run.current_step:
        raise RunRefused("这一步已经作答过（或页面已过期），不能重复提交。请按当前这一步继续。")
    case = case_of(run)
    step = case.step(step_id)
    kind = STEP_KINDS[step["kind"]]
    try:
        response = kind.parse(step, form) if kind.interactive else None
        taken = rules.take_step(case, step_id, response, run.seed)
    except StepInputError as err:
        raise RunRefused(str(err)) from None
    return _record(run, case, step, response, taken)


def _asks_simulation_score() -> sa.Exists:
    """Whether any active certification scheme asks for a simulation score (only then can
    a finished case change a certificate)."""
    from academy.certification.models import CertificationScheme

    return sa.exists().where(
        CertificationScheme.active.is_(True),
        CertificationScheme.min_simulation_score.is_not(None),
    )


_ASKS_SIMULATION_SCORE = _asks_simulation_score()
# The step request from the web, on its hot path: the account, the run (checked to be
# theirs), its version and case in one SELECT (the document comes from the per-process
# case, _case_of_version); then the run's UPDATE guarded by its sequence number, the steps'
# INSERT and the events — Core statements, no ORM objects.
_RUN_BY_ACCOUNT = (
    sa.select(
        User.role,
        User.agent_id.label("account_agent"),
        SimRun.agent_id,
        SimRun.user_id,
        SimRun.preview,
        SimRun.seq,
        SimRun.current_step,
        SimRun.state,
        SimRun.seed,
        SimRun.township_id,
        CaseVersion.retired,
        SimRun.version_id,
        CaseVersion.created_at,
        SimCase.title,
        SimCase.slug,
        _ASKS_SIMULATION_SCORE.label("asks_score"),
    )
    .select_from(
        sa.outerjoin(
            User,
            sa.join(SimRun, CaseVersion, CaseVersion.id == SimRun.version_id).join(
                SimCase, SimCase.id == SimRun.case_id
            ),
            SimRun.id == sa.bindparam("run_id"),
        )
    )
    .where(SessionIdentity.account_matches())
)
_STEPS = RunStep.__table__


class _Earlier(NamedTuple):
    step_id: str
    kind: str
    response: Any
    result: dict
    mark: float | None


def _earlier_steps() -> sa.ScalarSelect:
    """PostgreSQL: the run's steps so far as one JSON array of [step_id, kind, response,
    result, mark] in order — read with the run when the step posted may end the case, so
    that scoring it needs no SELECT of its own."""
    from sqlalchemy.dialects.postgresql import aggregate_order_by

    row = sa.func.json_build_array(*(_STEPS.c[c] for c in _Earlier._fields))
    return (
        sa.select(sa.func.json_agg(aggregate_order_by(row, _STEPS.c.seq), type_=sa.JSON))
        .where(_STEPS.c.run_id == SimRun.id)
        .scalar_subquery()
    )


_RUN_AND_PATH_BY_ACCOUNT = _RUN_BY_ACCOUNT.add_columns(_earlier_steps().label("earlier"))
# Step ids that lead to an end in some case this process has loaded (_case_of_version): a
# step posted with one of them reads the run's path with the run (PostgreSQL). A guess:
# wrong either way, the path is read by a statement of its own or not used.
_BEFORE_AN_END: set[str] = set()
_RUNS = SimRun.__table__
_AT_SEQ = (
    _RUNS.c.id == sa.bindparam("run_id"),
    _RUNS.c.seq == sa.bindparam("at_seq"),
    _RUNS.c.state == RunState.ACTIVE,
)
# A step that does not end the case moves the run on; the one that ends it also finishes and
# scores the run (both statements built once)
_SCORE_COLUMNS = ("score", "auto_score", "dimension_scores", "pending_marks")
# ``at``: the step's moment, one parameter for the run's update time, its finish time and
# (on PostgreSQL, read back from the CTE) the steps' and events' ``at``
_ADVANCE = (
    sa.update(_RUNS)
    .where(*_AT_SEQ)
    .values(
        seq=sa.bindparam("new_seq"),
        current_step=sa.bindparam("next_step"),
        updated_at=sa.bindparam("at"),
    )
)
_FINISH = (
    sa.update(_RUNS)
    .where(*_AT_SEQ)
    .values(
        seq=sa.bindparam("new_seq"),
        current_step=sa.bindparam("next_step"),
        updated_at=sa.bindparam("at"),
        state=RunState.FINISHED,
        finished_at=sa.bindparam("at"),
        **{c: sa.bindparam(f"new_{c}") for c in ("outcome", *_SCORE_COLUMNS)},
    )
)
_PATH_OF_RUN = (
    sa.select(*(_STEPS.c[c] for c in _Earlier._fields))
    .where(_STEPS.c.run_id == sa.bindparam("run_id"))
    .order_by(_STEPS.c.seq)
)
_LATEST = tuple(  # the run page's: the latest step's columns beside the run
    sa.select(_STEPS.c[c])
    .where(_STEPS.c.run_id == SimRun.id)
    .order_by(_STEPS.c.seq.desc())
    .limit(1)
    .scalar_subquery()
    .label(f"last_{c}")
    for c in ("step_id", "kind", "result")
)
_INSERT_STEP = sa.insert(_STEPS)
_STEP_COLUMNS = (
    "run_id", "at", "seq", "step_id", "kind", "response", "result", "option", "fraction", "pending"
)  # fmt: skip


_FROM_MOVED = ("run_id", "at")  # a stored step's columns the moved run gives (PostgreSQL)


def _moved_then_stored(move: sa.Update, rows: int, shapes: tuple = ()) -> sa.Insert:
    """PostgreSQL: one statement that moves the run on (``move``, guarded by its seq, in a
    CTE) and inserts ``rows`` steps (bind parameters ``<column>_<i>``; the run and the
    moment read from the moved run) and the learning events of ``shapes``
    (activity.services.insert_events_from, dated the same) only if it did. Returns a row
    for each step stored, or for each event when there are events.

    A case's last step, with the end reached and two events, stays under 50 parameters:
    beyond that psycopg parses the statement's text again on every execution (≈0.4 ms)."""
    moved = move.returning(_RUNS.c.id, _RUNS.c.updated_at).cte("moved")
    given = {"run_id": moved.c.id, "at": moved.c.updated_at}
    selects = [
        sa.select(
            *(
                # typed casts: a UNION of bare parameters leaves PostgreSQL guessing text
                given[c].label(c)
                if c in given
                else sa.cast(
                    sa.bindparam(f"{c}_{i}", type_=_STEPS.c[c].type), _STEPS.c[c].type
                ).label(c)
                for c in _STEP_COLUMNS
            )
        ).select_from(moved)
        for i in range(rows)
    ]
    source = selects[0] if rows == 1 else sa.union_all(*selects)
    # RETURNING counts what was stored (the driver's rowcount is not set for this form)
    stored = sa.insert(_STEPS).from_select(_STEP_COLUMNS, source).returning(_STEPS.c.id)
    if not shapes:
        return stored
    # a data-modifying CTE runs whether or not the statement reads it: add_cte renders it
    logged = insert_events_from(moved, shapes, at=moved.c.updated_at)
    return logged.add_cte(stored.cte("stored")).returning(sa.literal_column("1"))


_ADVANCE_AND_STORE = _moved_then_stored(_ADVANCE, 1)
_FINISH_AND_STORE = _moved_then_stored(_FINISH, 2)  # the step and the end reached
_LOGGED: dict[tuple, sa.Insert] = {}  # (finishing, event shapes) → the statement


def _move_and_store(conn, finishing: bool, params: dict, rows: list[dict], events) -> bool:
    """Move the run on (and finish it, ``finishing``), store the steps taken and log the
    ``events`` (dicts of record_event's arguments) — all or nothing: False when the run had
    moved meanwhile (a double tap). One round trip on PostgreSQL, three elsewhere."""
    move = _FINISH if finishing else _ADVANCE
    if conn.dialect.name != "postgresql":
        if conn.execute(move, params).rowcount != 1:
            return False
        conn.execute(_INSERT_STEP, rows)
        record_events(events)
        return True
    values = {
        f"{c}_{i}": row[c]
        for i, row in enumerate(rows)
        for c in _STEP_COLUMNS
        if c not in _FROM_MOVED
    }
    prepared = prepared_events(events)
    if not prepared:  # an author's preview, or events switched off
        stmt = _FINISH_AND_STORE if finishing else _ADVANCE_AND_STORE
        return len(conn.execute(stmt, {**params, **values}).all()) == len(rows)
    shapes = tuple(shape for shape, _ in prepared)
    stmt = _LOGGED.get((finishing, shapes))
    if stmt is None:
        stmt = _LOGGED[(finishing, shapes)] = _moved_then_stored(move, len(rows), shapes)
    found = conn.execute(stmt, {**params, **values, **event_params(prepared, dated=False)}).all()
    return len(found) == len(prepared)


def take_step_quickly(
    identity: SessionIdentity, run_id: int, seq: int, step_id: str, form
) -> RunState | None:
    """The web's step: the run's state after it when taken here (posted at the run's current
    step and seq, with an answer the step accepts; when it leads to the end, the run is
    scored and finished here too). None when this path does not decide — a refusal to
    explain, a race — and nothing was written: the caller then takes the full path
    (``run_for`` + ``submit_step``), which gives the same answer as ever.
    Raises NotSignedIn for a session whose account is gone, LookupError for a run that is
    not theirs (a 404, like ``run_for``)."""
    conn = db.session.connection()
    with_path = step_id in _BEFORE_AN_END and conn.dialect.name == "postgresql"
    row = conn.execute(
        _RUN_AND_PATH_BY_ACCOUNT if with_path else _RUN_BY_ACCOUNT,
        {"run_id": run_id, **identity.params()},
    ).first()
    if row is None:
        raise NotSignedIn()
    if not identity.permitted(row.role):
        raise PermissionError(identity.permission)
    if row.seq is None:
        raise LookupError(run_id)
    if not _owns(row, identity.user_id, row.account_agent):
        raise LookupError(run_id)
    if row.state != RunState.ACTIVE or row.retired or seq != row.seq or step_id != row.current_step:
        return None
    case = _case_of_version(row.version_id, row.created_at)
    step = case.steps.get(step_id)
    if step is None:
        return None
    kind = STEP_KINDS[step["kind"]]
    try:
        response = kind.parse(step, form) if kind.interactive else None
        taken = rules.take_step(case, step_id, response, row.seed)
    except StepInputError:
        return None
    if not taken.next:
        return None
    end = case.step(taken.next) if case.step(taken.next)["kind"] == "end" else None
    now = utcnow()
    rows = [{"run_id": run_id, "at": now, **_step_row(step, response, taken, seq)}]
    score = None
    if end is not None:  # the case ends here: score the whole path now
        ended = rules.take_step(case, end["id"], None, row.seed)
        rows.append({"run_id": run_id, "at": now, **_end_row(end, ended, seq + 1)})
        if with_path:
            earlier = [_Earlier(*s) for s in row.earlier or ()]
        else:
            earlier = conn.execute(_PATH_OF_RUN, {"run_id": run_id}).all()
        path = _path(earlier)
        path += [rules.PathStep(step_id, response, taken), rules.PathStep(end["id"], None, ended)]
        score = rules.score_run(case, row.seed, path, _marks(earlier))
    params = {
        "run_id": run_id,
        "at_seq": seq,
        "new_seq": seq + 1,
        "next_step": taken.next,
        "at": now,
    }
    if score is not None:
        params.update(new_seq=seq + 2, new_outcome=end["outcome"])
        params.update({f"new_{c}": v for c, v in _score_columns(score).items()})
    logged = row.agent_id and not row.preview
    events = []
    if logged:
        at = (run_id, step, taken, row.agent_id, row.township_id, row.title, row.slug)
        events.append(_step_event(*at))
        if score is not None:
            events.append(
                _completed_event(
                    run_id,
                    row.title,
                    row.slug,
                    row.agent_id,
                    row.township_id,
                    score.total,
                    case.pass_mark,
                    end["outcome"],
                )
            )
    if not _move_and_store(conn, score is not None, params, rows, events):
        return None  # taken meanwhile (a double tap): the full path says so
    if logged and score is not None:
        _progress(row.agent_id, asks=row.asks_score)
    return RunState.FINISHED if end is not None else RunState.ACTIVE


_CASES: dict[tuple[int, datetime], rules.Case] = {}
_CASES_KEPT = 256


def _case_of_version(version_id: int, created_at: datetime) -> rules.Case:
    """A version's case, built once per process (with what it computes once, such as its
    best paths): versions never change — an edited case is a new version. Keyed with the
    creation time too, so that a database rebuilt with the same ids (tests, a restore) is
    never answered from an older one's document."""
    key = (version_id, created_at)
    case = _CASES.get(key)
    if case is None:
        document = (
            db.session.connection()
            .execute(sa.select(CaseVersion.document).where(CaseVersion.id == version_id))
            .scalar_one()
        )
        if len(_CASES) >= _CASES_KEPT:
            _CASES.clear()
        case = _CASES[key] = rules.Case(document)
        _BEFORE_AN_END.update(case.before_an_end)
    return case


def discard_changes() -> None:
    db.session.rollback()


def _step_row(step: dict, response, taken, seq: int) -> dict:
    """The RunStep's columns for a step taken at ``seq`` (shared by both paths)."""
    full = STEP_KINDS[step["kind"]].max_points(step)
    fraction = None
    if STEP_KINDS[step["kind"]].scored and not taken.pending:
        top = sum(full.values())
        got = sum(taken.points.values())
        fraction = round(max(0.0, got) / top, 3) if top > 0 else (1.0 if taken.correct else 0.0)
    return {
        "seq": seq + 1,
        "step_id": step["id"],
        "kind": step["kind"],
        "response": response,
        "result": taken.as_dict(),
        "option": response if step["kind"] == "choice" else None,
        "fraction": fraction,
        "pending": taken.pending,
    }


def _end_row(end: dict, ended, seq: int) -> dict:
    """The RunStep's columns for the end reached after the step taken at ``seq``."""
    return {
        "seq": seq + 1,
        "step_id": end["id"],
        "kind": "end",
        "response": None,
        "result": ended.as_dict(),
        "option": None,
        "fraction": None,
        "pending": False,
    }


def _score_columns(score: rules.Score) -> dict:
    return {
        "score": score.total,
        "auto_score": score.auto_total,
        "dimension_scores": score.percent,
        "pending_marks": score.pending,
    }


def _completed_event(run_id, title, slug, agent_id, township_id, total, pass_mark, outcome):
    """The completed event's arguments (for activity.services.record_events)."""
    return {
        "verb": Verb.COMPLETED,
        "object_type": ObjectType.SIMULATION,
        "object_id": run_id,
        "object_name": title,
        "agent": agent_id,
        "township_id": township_id,
        "result": {
            "score": total,
            "max": 100,
            "success": total is not None and total >= pass_mark,
            "completion": True,
        },
        "context": {"parent": f"simulation:{slug}", "outcome": outcome},
    }


def _step_event(run_id, step, taken, agent_id, township_id, title, slug) -> dict:
    """The step event's arguments (for activity.services.record_events)."""
    return {
        "verb": Verb.STEPPED,
        "object_type": ObjectType.SIMULATION,
        "object_id": f"{run_id}/{step['id']}",
        "object_name": title,
        "agent": agent_id,
        "township_id": township_id,
        "result": {"success": taken.correct} if taken.correct is not None else None,
        "context": {"parent": f"simulation:{slug}"},
    }


def _record(run: SimRun, case: rules.Case, step: dict, response, taken) -> RunStep:
    row = RunStep(run=run, **_step_row(step, response, taken, run.seq))
    db.session.add(row)
    run.seq += 1
    run.current_step = taken.next
    next_step = case.step(taken.next) if taken.next else None
    events = []
    if run.agent_id and not run.preview:
        events.append(
            _step_event(
                run.id, step, taken, run.agent_id, run.township_id, run.case.title, run.case.slug
            )
        )
    if next_step is not None and next_step["kind"] == "end":
        end = rules.take_step(case, next_step["id"], None, run.seed)
        db.session.add(RunStep(run=run, **_end_row(next_step, end, run.seq)))
        run.seq += 1
        run.outcome = next_step["outcome"]
        run.state = RunState.FINISHED
        run.finished_at = utcnow()
        db.session.flush()
        rescore(run)
        if run.agent_id and not run.preview:
            events.append(
                _completed_event(
                    run.id,
                    run.case.title,
                    run.case.slug,
                    run.agent_id,
                    run.township_id,
                    run.score,
                    case.pass_mark,
                    run.outcome,
                )
            )
    record_events(events)
    if run.state == RunState.FINISHED and run.agent_id and not run.preview:
        _progress(run.agent_id)
    db.session.flush()
    return row


def _progress(agent_id: int | None, asks: bool | None = None) -> None:
    """Certification may now be earned — only where a scheme asks for a simulation score
    (min_simulation_score); otherwise a finished case changes no certificate, and the
    evaluation (a dozen queries) would be paid on every last step for nothing. ``asks``:
    already known (the quick step reads it with the run)."""
    from academy.events import learning_progressed

    if agent_id is None:
        return
    if asks is None:
        asks = db.session.scalar(sa.select(_ASKS_SIMULATION_SCORE))
    if asks:
        learning_progressed.send(None, agent=db.session.get(Agent, agent_id))


def last_step(run: SimRun) -> LatestStep | None:
    """The run's latest step (its feedback is shown above the next step), or None — one
    row read, not the run's whole path (``run_to_play`` reads it with the run)."""
    return _latest(db.session.execute(sa.select(*_LATEST).where(SimRun.id == run.id)).one())


def path_of(run: SimRun) -> list[rules.PathStep]:
    return _path(sorted(run.steps, key=lambda s: s.seq))


def _path(steps) -> list[rules.PathStep]:
    """The path of stored steps in order (RunStep objects or rows with the same columns)."""
    from academy.simulations.kinds import Taken

    fields = Taken.__dataclass_fields__
    return [
        rules.PathStep(
            s.step_id, s.response, Taken(**{k: v for k, v in s.result.items() if k in fields})
        )
        for s in steps
    ]


def marks_of(run: SimRun) -> dict[str, float]:
    return _marks(run.steps)


def _marks(steps) -> dict[str, float]:
    """Experts' points of marked free-text replies (RunStep objects or rows)."""
    return {s.step_id: s.mark for s in steps if s.kind == "free_text" and s.mark is not None}


def run_score(run: SimRun) -> rules.Score:
    return rules.score_run(case_of(run), run.seed, path_of(run), marks_of(run))


def rescore(run: SimRun) -> rules.Score:
    score = run_score(run)
    for column, value in _score_columns(score).items():
        setattr(run, column, value)
    return score


# --- expert marking --------------------------------------------------------------------------


def marking_queue(limit: int = 100) -> list[RunStep]:
    return list(
        db.session.scalars(
            sa.select(RunStep)
            .options(selectinload(RunStep.run).selectinload(SimRun.version))
            .where(RunStep.pending.is_(True))
            .order_by(RunStep.at)
            .limit(limit)
        )
    )


def mark_reply(expert: User, row: RunStep, points, note: str | None) -> SimRun:
    if row.kind != "free_text":
        raise RunRefused("这一步不需要评分。")
    run = row.run
    step = case_of(run).step(row.step_id)
    try:
        value = rules.check_mark(points, float(step["points"]))
    except ValueError as err:
        raise RunRefused(f"“{rules.step_prompt(step)[:20]}”：{err}") from None
    row.mark = value
    row.mark_note = (note or "").strip()[:500] or None
    row.marked_by = expert.id
    row.marked_at = utcnow()
    row.pending = False
    row.fraction = round(value / float(step["points"]), 3)
    db.session.flush()
    db.session.refresh(run)
    if run.state == RunState.FINISHED:
        rescore(run)
    if run.agent_id and not run.preview:
        record_event(
            Verb.GRADED,
            ObjectType.SIMULATION,
            f"{run.id}/{row.step_id}",
            run.case.title,
            agent=run.agent_id,
            user=expert,
            township_id=run.township_id,
            result={"score": value, "max": float(step["points"])},
        )
        if run.state == RunState.FINISHED:
            _progress(run.agent_id)
    db.session.flush()
    return run


def step_row(step_row_id: int) -> RunStep | None:
    return db.session.get(RunStep, step_row_id)


# --- debrief ---------------------------------------------------------------------------------


@dataclass
class Debrief:
    run: SimRun
    case: rules.Case
    score: rules.Score
    taken: list[tuple[str, str, str]]  # (step prompt, what was done, kind label)
    best: list[tuple[str, str]]  # (step prompt, best choice)
    mistakes: list[rules.Mistake]
    best_outcome: str
    end_step: dict | None


def debrief(run: SimRun) -> Debrief:
    case = case_of(run)
    path = path_of(run)
    marks = marks_of(run)
    score = rules.score_run(case, run.seed, path, marks)
    best = rules.extreme_path(case, run.seed, best=True)

    def rows(p: list[rules.PathStep]) -> list[tuple[str, str, str]]:
        out = []
        for s in p:
            step = case.step(s.step_id)
            if step["kind"] in ("dialogue", "end"):
                continue
            out.append((rules.step_prompt(step), s.taken.label, STEP_KINDS[step["kind"]].label))
        return out

    end = case.step(path[-1].step_id) if path and run.state == RunState.FINISHED else None
    best_end = case.step(best[-1].step_id) if best else {}
    return Debrief(
        run=run,
        case=case,
        score=score,
        taken=rows(path),
        best=[
            (
                rules.step_prompt(case.step(s.step_id)),
                f"按情景信息把{case.step(s.step_id)['title']}逐栏填对"
                if case.step(s.step_id)["kind"] == "form"
                else rules.best_answer(case.step(s.step_id), s),
            )
            for s in best
            if case.step(s.step_id)["kind"] not in ("dialogue", "end")
        ],
        mistakes=rules.mistakes(case, run.seed, path, marks),
        best_outcome=rules.outcome_label(best_end.get("outcome")),
        end_step=end,
    )


# --- scripted play (CLI, tests, demo) ----------------------------------------------------------


class _Form(dict):
    """A MultiDict-like view of a response, as the page would post it."""

    def getlist(self, key):
        value = self.get(key)
        if value is None:
            return []
        return list(value) if isinstance(value, list) else [value]


def form_for(step: dict, response) -> _Form:
    kind = step["kind"]
    if kind == "choice":
        return _Form(option=[response])
    if kind in ("materials", "channel"):
        return _Form(option=list(response))
    if kind == "form":
        return _Form({f"f_{k}": v for k, v in (response or {}).items()})
    if kind == "free_text":
        return _Form(reply=response or "")
    return _Form()


def play(run: SimRun, strategy: str, rng: random.Random | None = None) -> list[RunStep]:
    """Play a run to its end through submit_step, as the web does: ``best`` and ``worst``
    follow rules.extreme_path, ``random`` picks any way out at each step."""
    case = case_of(run)
    if strategy in ("best", "worst"):
        planned = {
            p.step_id: p.response for p in rules.extreme_path(case, run.seed, strategy == "best")
        }
    rng = rng or random.Random(run.seed)
    rows = []
    guard = 0
    while run.state == RunState.ACTIVE and guard < 500:
        guard += 1
        step = case.step(run.current_step)
        kind = STEP_KINDS[step["kind"]]
        if strategy == "random":
            response = rng.choice(kind.alternatives(step, rules.Context(run.seed)))[0]
        else:
            response = planned.get(step["id"])
        if step["kind"] == "free_text" and not response:
            response = step["model_answer"]
        rows.append(submit_step(run, run.seq, step["id"], form_for(step, response)))
    return rows


# --- statistics and results ------------------------------------------------------------------


@dataclass
class StepStats:
    step_id: str
    prompt: str
    kind: str
    taken: int
    mean_fraction: float | None
    options: list[tuple[str, str, int, bool]]  # (id, text, times chosen, best)


def step_statistics(case: SimCase) -> list[StepStats]:
    """Over all agents' runs of every version: how many took each step, chose each option,
    and the mean share of points (lowest first = where agents fail most)."""
    version = current_version(case)
    doc = rules.Case(version.document)
    runs = sa.select(SimRun.id).where(SimRun.case_id == case.id, SimRun.preview.is_(False))
    counts = db.session.execute(
        sa.select(RunStep.step_id, RunStep.option, sa.func.count(), sa.func.avg(RunStep.fraction))
        .where(RunStep.run_id.in_(runs))
        .group_by(RunStep.step_id, RunStep.option)
    ).all()
    by_step: dict[str, dict] = defaultdict(lambda: {"n": 0, "opt": {}, "sum": 0.0, "k": 0})
    for sid, option, n, avg in counts:
        entry = by_step[sid]
        entry["n"] += n
        if option:
            entry["opt"][option] = n
        if avg is not None:
            entry["sum"] += float(avg) * n
            entry["k"] += n
    out = []
    for sid, step in doc.steps.items():
        if not STEP_KINDS[step["kind"]].scored:
            continue
        e = by_step.get(sid, {"n": 0, "opt": {}, "sum": 0.0, "k": 0})
        options = (
            [
                (o["id"], o["text"], e["opt"].get(o["id"], 0), bool(o.get("best")))
                for o in step.get("options", [])
            ]
            if step["kind"] == "choice"
            else []
        )
        out.append(
            StepStats(
                sid,
                rules.step_prompt(step),
                STEP_KINDS[step["kind"]].label,
                e["n"],
                round(e["sum"] / e["k"], 3) if e["k"] else None,
                options,
            )
        )
    # Where agents fail most first; steps nobody reached last.
    out.sort(key=lambda s: (s.mean_fraction is None, s.mean_fraction or 0.0))
    return out


@dataclass
class ResultRow:
    run: SimRun
    agent_name: str
    village_name: str
    case_title: str


def township_results(scope: Scope, limit: int = 200) -> list[ResultRow]:
    """Finished runs in ``scope`` (a township head's: their township, in SQL), by the
    township the agent served in when the run started."""
    from academy.regions.models import Village
    from academy.roster.models import Posting

    stmt = (
        sa.select(SimRun, Agent.name, Village.name, SimCase.title)
        .join(Agent, Agent.id == SimRun.agent_id)
        .join(SimCase, SimCase.id == SimRun.case_id)
        .outerjoin(
            Posting,
            sa.and_(Posting.agent_id == Agent.id, Posting.left_on.is_(None)),
        )
        .outerjoin(Village, Village.id == Posting.village_id)
        .where(SimRun.state == RunState.FINISHED, SimRun.preview.is_(False))
        .order_by(SimRun.finished_at.desc(), SimRun.id.desc())
        .limit(limit)
    )
    stmt = scope_by_township(stmt, scope, SimRun.township_id)
    return [ResultRow(r, a, v or "", t) for r, a, v, t in db.session.execute(stmt)]


@dataclass
class AgentSummary:
    agent_name: str
    runs: int
    solved: int
    best: float | None
    mean: float | None
    pending: int


def agent_summaries(scope: Scope) -> list[AgentSummary]:
    """Per agent the user may see: finished runs, one-visit solves, best and mean score, replies
    waiting for a mark — weakest mean first (one grouped query, township scope in SQL)."""
    stmt = (
        sa.select(
            Agent.name,
            sa.func.count(SimRun.id),
            sa.func.sum(sa.case((SimRun.outcome == "solved", 1), else_=0)),
            sa.func.max(SimRun.score),
            sa.func.avg(SimRun.score),
            sa.func.sum(SimRun.pending_marks),
        )
        .join(Agent, Agent.id == SimRun.agent_id)
        .where(SimRun.state == RunState.FINISHED, SimRun.preview.is_(False))
        .group_by(Agent.id, Agent.name)
        .order_by(sa.func.avg(SimRun.score), Agent.name)
    )
    stmt = scope_by_township(stmt, scope, SimRun.township_id)
    return [
        AgentSummary(
            name,
            n,
            int(solved or 0),
            round(best, 1) if best is not None else None,
            round(float(mean), 1) if mean is not None else None,
            int(pending or 0),
        )
        for name, n, solved, best, mean, pending in db.session.execute(stmt)
    ]


def agent_runs(agent: Agent) -> list[SimRun]:
    return list(
        db.session.scalars(
            sa.select(SimRun)
            .where(SimRun.agent_id == agent.id, SimRun.preview.is_(False))
            .order_by(SimRun.id.desc())
        )
    )


@simulation_score_source
def best_simulation_scores(agent_ids: list[int]) -> dict[int, dict[str, float]]:
    """Each agent's best final (fully marked) run percent per scheme key — the item of the
    case as "item:<id>" and its category value — for certification's min_simulation_score."""
    out: dict[int, dict[str, float]] = {a: {} for a in agent_ids}
    if not agent_ids:
        return out
    rows = db.session.execute(
        sa.select(SimRun.agent_id, ServiceItem.id, ServiceItem.category, sa.func.max(SimRun.score))
        .join(SimCase, SimCase.id == SimRun.case_id)
        .join(ServiceItem, ServiceItem.id == SimCase.item_id)
        .where(
            SimRun.agent_id.in_(agent_ids),
            SimRun.state == RunState.FINISHED,
            SimRun.pending_marks == 0,
            SimRun.preview.is_(False),
        )
        .group_by(SimRun.agent_id, ServiceItem.id, ServiceItem.category)
    )
    for agent_id, item_id, category, best in rows:
        for key in (f"item:{item_id}", category.value):
            out[agent_id][key] = max(out[agent_id].get(key, 0.0), best or 0.0)
    return out


def recommended_cases(agent: Agent, weak_item_ids: list[int], limit: int = 3) -> list[SimCase]:
    """Cases for the agent's weakest items first, then those never finished (practice home)."""
    cases = live_cases()
    done = set(
        db.session.scalars(
            sa.select(SimRun.case_id).where(
                SimRun.agent_id == agent.id, SimRun.state == RunState.FINISHED
            )
        )
    )
    rank = {item_id: i for i, item_id in enumerate(weak_item_ids)}
    cases.sort(key=lambda c: (rank.get(c.item_id, len(rank)), c.id in done, c.title))
    return cases[:limit]


def last_activity(run: SimRun) -> datetime | None:
    return max((s.at for s in run.steps), default=run.created_at)
