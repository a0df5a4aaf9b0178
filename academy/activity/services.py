"""The learning-event log: THE way to record what a learner did.

Every feature logs its learning events with one call::

    from academy.activity.models import ObjectType, Verb
    from academy.activity.services import record_event

    record_event(Verb.STARTED, ObjectType.ATTEMPT, attempt.id, exam.title,
                 agent=agent, context={"parent": f"exam:{exam.id}"})
    record_event(Verb.SUBMITTED, ObjectType.ATTEMPT, attempt.id, exam.title,
                 agent=attempt.agent_id, township_id=t_id, village_id=v_id,
                 result={"score": 42, "max": 50, "success": True, "completion": True})
    record_event(Verb.GRADED, ObjectType.ATTEMPT, attempt.id, exam.title,
                 agent=attempt.agent_id, user=expert, result={"score": 8, "max": 10})

What it costs: one INSERT in the current transaction (the session's connection; a request
that fails rolls it back with everything else), from a statement prepared once — about
50 µs of Python on SQLite, against ~150 µs for the same row through ``db.session.add``
and the unit of work (tests/bench/event_append.py has the request-level numbers). It never
issues a SELECT of its own and leaves pending ORM changes alone (no autoflush): the agent
and user it names exist already. Where the learner served (township, village) is copied
onto the row:

1. pass ``township_id=`` and ``village_id=`` when the hot path knows them (cheapest);
2. else, given an ``Agent`` whose postings (and the posting's village) are already loaded,
   they are read from the current posting without touching the database;
3. else (an agent id, or an agent whose postings are not loaded) the INSERT itself looks
   them up with scalar subqueries on the agent's active posting (a unique index): still
   one statement, no lazy load, no extra round trip.

Arguments: ``verb`` and ``object_type`` (academy.activity.models.Verb / ObjectType or their
values); ``object_id`` (int or str, e.g. ``"12/materials"`` for a part of module 12);
``object_name`` (the name *now*: it is kept as it was); ``agent`` (the learner: Agent, id or
None); ``user`` (who acted when it is not the learner, e.g. an expert marking: User, id or
None); ``result`` (small dict: ``score``, ``max``, ``success``, ``completion``, ``response``,
anything else becomes an xAPI result extension); ``context`` (small dict; ``parent`` as
``"<type>:<id>"`` becomes the xAPI parent activity); ``at`` (UTC naive; default now — an
event dated in a month that is over invalidates that month's rollup, so the chart counts it).

Keep result and context small (a few keys): 2M rows a year at a province's scale.
Exports (JSON Lines, Excel) and the activity charts read this log.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm.util import identity_key

from academy import dbsetup
from academy.activity import rules
from academy.activity.models import ActivityMonth, LearningEvent, ObjectType, Verb
from academy.auth.models import User
from academy.auth.policy import Scope, scope_by_township
from academy.db import utcnow
from academy.extensions import db
from academy.regions.models import Township, Village
from academy.roster.models import Agent
from academy.roster.queries import serving_township, serving_village

_UNSET = object()
MAX_NAME = 200


def _id(value) -> int | None:
    if value is None or isinstance(value, int):
        return value
    return value.id


def _loaded_place(agent: Agent) -> tuple[int | None, int | None] | None:
    """(village_id, township_id) from already-loaded objects, or None if that would need
    the database. township_id is _UNSET when only the village is known."""
    state = sa.inspect(agent)
    if "postings" in state.unloaded:
        return None
    posting = agent.current_posting
    if posting is None:
        return (None, None)
    pstate = sa.inspect(posting)
    if "village_id" in pstate.unloaded:
        return None
    village = None if "village" in pstate.unloaded else posting.village
    if village is None:
        village = db.session.identity_map.get(identity_key(Village, posting.village_id))
    if village is not None and "township_id" not in sa.inspect(village).unloaded:
        return (posting.village_id, village.township_id)
    return (posting.village_id, _UNSET)


# How the INSERT gets the place: a value, or looked up inside the INSERT itself from the
# agent's active posting ("agent") or from the village ("village"). One prepared statement
# per combination, built once, so SQLAlchemy's compiled cache serves every later call.
_COLUMNS = (
    "at",
    "agent_id",
    "user_id",
    "verb",
    "object_type",
    "object_id",
    "object_name",
    "result",
    "context",
)
_STATEMENTS: dict[tuple[str, str], sa.Insert] = {}


def _values(village: str, township: str, suffix: str = "", typed: bool = False) -> dict:
    """Column → what one event's row holds: bind parameters ``<column><suffix>`` (cast to
    the column's type when ``typed``: in a SELECT list PostgreSQL would guess text), and the
    place looked up from the agent's active posting or the village where the shape says."""
    table = LearningEvent.__table__

    def param(c: str):
        value = sa.bindparam(f"{c}{suffix}", type_=table.c[c].type)
        return sa.cast(value, table.c[c].type) if typed else value

    values = {c: param(c) for c in _COLUMNS}
    agent = values["agent_id"]
    values["village_id"] = serving_village(agent) if village == "agent" else param("village_id")
    if township == "agent":
        values["township_id"] = serving_township(agent)
    elif township == "village":
        values["township_id"] = (
            sa.select(Village.township_id)
            .where(Village.id == param("village_id"))
            .scalar_subquery()
        )
    else:
        values["township_id"] = param("township_id")
    return values


def _statement(village: str, township: str) -> sa.Insert:
    stmt = _STATEMENTS.get((village, township))
    if stmt is None:
        values = _values(village, township)
        stmt = _STATEMENTS[(village, township)] = sa.insert(LearningEvent.__table__).values(
            **values
        )
    return stmt


Shape = tuple[str, str]  # how an event's row gets its place: (village, township) modes


def prepared_events(events: Iterable[dict]) -> list[tuple[Shape, dict]]:
    """Each event (a dict of record_event's arguments) as its shape and parameters, for
    ``insert_events_from``; empty when events are switched off."""
    return [p for p in (_prepared(**e) for e in events) if p is not None]


def insert_events_from(
    source: sa.FromClause, shapes: tuple[Shape, ...], at: sa.ColumnElement | None = None
) -> sa.Insert:
    """An INSERT of one event per shape for each row ``source`` yields (none when it yields
    none): a statement that writes something (a CTE) and logs it in one round trip.
    Parameters ``<column>_e<i>`` (see ``event_params``); ``at``: the events' moment read
    from ``source`` instead (``event_params(…, dated=False)``)."""
    selects = []
    for i, shape in enumerate(shapes):
        values = _values(*shape, suffix=f"_e{i}", typed=True)
        if at is not None:
            values["at"] = at
        selects.append(sa.select(*(v.label(c) for c, v in values.items())).select_from(source))
    rows = selects[0] if len(selects) == 1 else sa.union_all(*selects)
    return sa.insert(LearningEvent.__table__).from_select(list(values), rows)  # same columns


def event_params(prepared: list[tuple[Shape, dict]], dated: bool = True) -> dict:
    """The parameters of ``insert_events_from``'s statement for these prepared events
    (without their ``at`` when the statement reads it from its source: ``dated=False``)."""
    return {
        f"{k}_e{i}": v
        for i, (_, params) in enumerate(prepared)
        for k, v in params.items()
        if dated or k != "at"
    }


def record_event(*args, **kwargs) -> None:
    """Append one learning event to the current transaction (see the module docstring);
    the arguments are ``_prepared``'s."""
    prepared = _prepared(*args, **kwargs)
    if prepared is not None:
        shape, params = prepared
        db.session.connection().execute(_statement(*shape), params)


def record_events(events: Iterable[dict]) -> None:
    """Append several events (each a dict of record_event's arguments) with one statement
    per shape — a finished case's last step and completion in one round trip."""
    shapes: dict[Shape, list[dict]] = {}
    for shape, params in prepared_events(events):
        shapes.setdefault(shape, []).append(params)
    conn = db.session.connection() if shapes else None
    for shape, params in shapes.items():
        conn.execute(_statement(*shape), params if len(params) > 1 else params[0])


def _prepared(
    verb: Verb | str,
    object_type: ObjectType | str,
    object_id: int | str,
    object_name: str,
    *,
    agent: Agent | int | None = None,
    user: User | int | None = None,
    result: dict | None = None,
    context: dict | None = None,
    at: datetime | None = None,
    township_id=_UNSET,
    village_id=_UNSET,
) -> tuple[Shape, dict] | None:
    """The shape and parameters of one event (None when events are switched off)."""
    if not current_app.config["LEARNING_EVENTS"]:
        return None
    agent_id = _id(agent)
    village_mode = township_mode = "value"
    if village_id is _UNSET:
        place = _loaded_place(agent) if isinstance(agent, Agent) else None
        if place is not None:
            village_id = place[0]
            if township_id is _UNSET:
                township_id = place[1]
        elif agent_id is not None:
            village_mode = "agent"
            if township_id is _UNSET:
                township_mode = "agent"
        else:
            village_id = None
    if township_id is _UNSET and township_mode == "value":
        if village_id is None:
            township_id = None
        else:
            township_mode = "village"
    if at is not None:
        _invalidate_months([at])
    params = {
        "at": at or utcnow(),
        "agent_id": agent_id,
        "user_id": _id(user),
        "verb": Verb(verb),
        "object_type": ObjectType(object_type),
        "object_id": str(object_id)[:80],
        "object_name": (object_name or "")[:MAX_NAME],
        "result": result or None,
        "context": context or None,
    }
    if village_mode == "value":
        params["village_id"] = village_id
    if township_mode == "value":
        params["township_id"] = township_id
    # run on the session's connection: the request's own transaction (rolled back with it)
    return (village_mode, township_mode), params


def append_many(rows: Iterable[dict]) -> int:
    """Bulk-append events whose places are already known (jobs, demo data): dicts with the
    columns of LearningEvent; ``at`` defaults to now. One executemany."""
    now = utcnow()
    batch = []
    for row in rows:
        row = dict(row)
        row.setdefault("at", now)
        row["verb"] = Verb(row["verb"])
        row["object_type"] = ObjectType(row["object_type"])
        row["object_id"] = str(row["object_id"])[:80]
        row["object_name"] = (row.get("object_name") or "")[:MAX_NAME]
        for key in ("agent_id", "user_id", "township_id", "village_id", "result", "context"):
            row.setdefault(key, None)
        batch.append(row)
    if not batch:
        return 0
    _invalidate_months(r["at"] for r in batch)
    db.session.flush()  # what is pending goes first (events refer to agents, users …)
    db.session.connection().execute(sa.insert(LearningEvent.__table__), batch)
    return len(batch)


def _invalidate_months(moments: Iterable[datetime]) -> None:
    """Events dated in a month that is over make that month's rollup stale: drop it, and
    the next chart (or the daily job) computes it again."""
    current = rules.month_bounds(rules.month_first(rules.to_local(utcnow()).date()))[0]
    stale = {rules.month_first(rules.to_local(at).date()) for at in moments if at < current}
    if stale:  # Core on the session's connection: no autoflush of what is pending
        table = ActivityMonth.__table__
        db.session.connection().execute(sa.delete(table).where(table.c.month.in_(stale)))


def recently_recorded(
    agent_id: int, verb: Verb, object_type: ObjectType, object_id: int | str, since: datetime
) -> bool:
    """Is there such an event of this learner since ``since``? (an index range scan on
    (agent_id, at))."""
    stmt = (
        sa.select(LearningEvent.id)
        .where(
            LearningEvent.agent_id == agent_id,
            LearningEvent.at >= since,
            LearningEvent.verb == verb,
            LearningEvent.object_type == object_type,
            LearningEvent.object_id == str(object_id),
        )
        .limit(1)
    )
    return db.session.scalar(stmt) is not None


# --- reading the log: the export -------------------------------------------------------------


@dataclass(frozen=True)
class EventFilter:
    township_id: int | None  # None: every township the user may see
    date_from: date
    date_to: date
    verb: Verb | None = None


def _filtered(stmt: sa.Select, scope: Scope, f: EventFilter) -> sa.Select:
    start, end = rules.range_utc(f.date_from, f.date_to)
    stmt = stmt.where(LearningEvent.at >= start, LearningEvent.at < end)
    stmt = scope_by_township(stmt, scope, LearningEvent.township_id)
    if f.township_id is not None:
        stmt = stmt.where(LearningEvent.township_id == f.township_id)
    if f.verb is not None:
        stmt = stmt.where(LearningEvent.verb == f.verb)
    return stmt


def count_events(scope: Scope, f: EventFilter) -> int:
    stmt = _filtered(sa.select(sa.func.count()).select_from(LearningEvent), scope, f)
    return db.session.scalar(stmt) or 0


def event_rows(scope: Scope, f: EventFilter) -> sa.Select:
    """Events in the filter (and the reader's scope) with the names an export shows, in time
    order. Townships and villages are joined by id (small tables), agents and users too."""
    acting = sa.orm.aliased(User)
    stmt = (
        sa.select(
            LearningEvent.id,
            LearningEvent.at,
            LearningEvent.agent_id,
            LearningEvent.user_id,
            LearningEvent.verb,
            LearningEvent.object_type,
            LearningEvent.object_id,
            LearningEvent.object_name,
            LearningEvent.township_id,
            LearningEvent.village_id,
            LearningEvent.result,
            LearningEvent.context,
            Agent.name.label("agent_name"),
            acting.display_name.label("user_name"),
            Township.name.label("township_name"),
            Village.name.label("village_name"),
        )
        .select_from(LearningEvent)
        .outerjoin(Agent, Agent.id == LearningEvent.agent_id)
        .outerjoin(acting, acting.id == LearningEvent.user_id)
        .outerjoin(Township, Township.id == LearningEvent.township_id)
        .outerjoin(Village, Village.id == LearningEvent.village_id)
    )
    return _filtered(stmt, scope, f).order_by(LearningEvent.at, LearningEvent.id)


def home_page() -> str:
    return current_app.config.get("SITE_URL") or rules.DEFAULT_HOME_PAGE


def statement_of(row, home: str) -> dict:
    return rules.to_statement(
        row,
        agent_name=row.agent_name,
        user_name=row.user_name,
        township_name=row.township_name,
        village_name=row.village_name,
        home_page=home,
    )


STREAM_BATCH = 2000


def stream_rows(stmt: sa.Select) -> Iterator:
    """Rows of a big SELECT in batches (a server-side cursor on PostgreSQL), never all of
    them in memory."""
    result = db.session.execute(stmt.execution_options(stream_results=True, yield_per=STREAM_BATCH))
    try:
        yield from result
    finally:
        result.close()


def jsonl_lines(scope: Scope, f: EventFilter, chunk: int = 500) -> Iterator[str]:
    """One xAPI statement per line, streamed (``chunk`` lines per piece of the response)."""
    home = home_page()
    lines: list[str] = []
    for row in stream_rows(event_rows(scope, f)):
        lines.append(json.dumps(statement_of(row, home), ensure_ascii=False, separators=(",", ":")))
        if len(lines) >= chunk:
            yield "\n".join(lines) + "\n"
            lines = []
    if lines:
        yield "\n".join(lines) + "\n"


# --- activity per month: rollup + the current month live -------------------------------------


@dataclass
class MonthActivity:
    month: date  # first day (China time)
    events: int = 0
    opened: int = 0
    answered: int = 0
    checks: int = 0
    modules_passed: int = 0
    certificates: int = 0
    learners: int = 0


COUNTED = ("events", "opened", "answered", "checks", "modules_passed", "certificates", "learners")


def _measures():
    ev = LearningEvent

    def count_if(cond):
        return sa.func.coalesce(sa.func.sum(sa.case((cond, 1), else_=0)), 0)

    learner = sa.case((ev.verb.in_(list(rules.LEARNER_VERBS)), ev.agent_id), else_=None)
    return [
        sa.func.count().label("events"),
        count_if(sa.and_(ev.verb == Verb.OPENED, ev.object_type == ObjectType.MODULE)),
        count_if(sa.and_(ev.verb == Verb.ANSWERED, ev.object_type == ObjectType.PRACTICE)),
        count_if(
            sa.and_(ev.verb.in_([Verb.PASSED, Verb.FAILED]), ev.object_type == ObjectType.CHECK)
        ),
        count_if(sa.and_(ev.verb == Verb.PASSED, ev.object_type == ObjectType.MODULE)),
        count_if(
            sa.and_(
                ev.verb.in_([Verb.ISSUED, Verb.RENEWED]),
                ev.object_type == ObjectType.CERTIFICATE,
            )
        ),
        sa.func.count(sa.distinct(learner)),
    ]


def _live(first: date, township_ids: list[int] | None, end: datetime | None = None) -> sa.Select:
    start, month_end = rules.month_bounds(first)
    stmt = sa.select(*_measures()).where(
        LearningEvent.at >= start, LearningEvent.at < (end or month_end)
    )
    if township_ids is not None:
        stmt = stmt.where(LearningEvent.township_id.in_(township_ids))
    return stmt


def compute_month(first: date) -> list[dict]:
    """A month's rollup rows: one per township with events, and the county's (NULL)."""
    per_township = _live(first, None).add_columns(LearningEvent.township_id)
    per_township = per_township.where(LearningEvent.township_id.is_not(None)).group_by(
        LearningEvent.township_id
    )
    rows = []
    for r in db.session.execute(per_township):
        values = dict(zip(COUNTED, (int(v) for v in r[:-1]), strict=True))
        rows.append({"township_id": r[-1], "month": first, **values})
    county = db.session.execute(_live(first, None)).one()
    rows.append(
        {"township_id": None, "month": first, **dict(zip(COUNTED, map(int, county), strict=True))}
    )
    return rows


def record_month(first: date) -> int:
    """Store (replace) a month's rollup. Idempotent."""
    db.session.execute(sa.delete(ActivityMonth).where(ActivityMonth.month == first))
    rows = compute_month(first)
    now = utcnow()
    db.session.execute(sa.insert(ActivityMonth), [{**r, "computed_at": now} for r in rows])
    return len(rows)


def recorded_months(months: list[date]) -> set[date]:
    """Months whose rollup exists (the county row marks a month as recorded)."""
    return set(
        db.session.scalars(
            sa.select(ActivityMonth.month).where(
                ActivityMonth.month.in_(months), ActivityMonth.township_id.is_(None)
            )
        )
    )


def record_rollups(today: date, months: int = 12) -> int:
    """The daily job: store every month over (of the last ``months``) not yet recorded —
    normally just the month that ended, and any month a late event made stale."""
    dbsetup.writing()
    past = rules.recent_months(today, months)[:-1]
    done = recorded_months(past)
    missing = [m for m in past if m not in done]
    for first in missing:
        record_month(first)
    db.session.flush()
    return len(missing)


def monthly_activity(
    township_ids: list[int] | None, today: date, months: int = 12
) -> list[MonthActivity]:
    """Activity per month, oldest first: months that are over from the rollup (a month never
    recorded is computed once and stored), the current month counted live from the log with
    an index range scan."""
    firsts = rules.recent_months(today, months)
    past = firsts[:-1]
    if len(recorded_months(past)) < len(past):
        record_rollups(today, months)
    cols = [getattr(ActivityMonth, c) for c in COUNTED]
    if township_ids is None:
        # the county row (max(): robust to a duplicate written by two first views at once)
        stmt = sa.select(ActivityMonth.month, *[sa.func.max(c) for c in cols]).where(
            ActivityMonth.township_id.is_(None)
        )
    else:
        stmt = sa.select(ActivityMonth.month, *[sa.func.sum(c) for c in cols]).where(
            ActivityMonth.township_id.in_(township_ids)
        )
    stmt = stmt.where(ActivityMonth.month.in_(past)).group_by(ActivityMonth.month)
    stored = {r[0]: MonthActivity(r[0], *map(int, r[1:])) for r in db.session.execute(stmt)}
    out = [stored.get(m, MonthActivity(m)) for m in past]
    live = db.session.execute(_live(firsts[-1], township_ids)).one()
    out.append(MonthActivity(firsts[-1], *map(int, live)))
    return out
