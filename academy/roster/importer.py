"""Roster import: match the rows of an upload against the roster, preview, commit.

``plan_import`` reads what it needs in a fixed number of queries (IN queries in chunks,
never one per row) and decides for every valid row what it would do:

- 新增 ``ADD``: a person not on the roster — new agent and posting;
- 变更 ``CHANGE``: new personal details, a move to another village (transfer), or a return
  of someone who had left;
- 离岗 ``LEAVE``: 离岗日期 filled for the active posting — marks the agent as left;
- 未变 ``UNCHANGED``: the roster already says so (incl. history rows of an export).

People are matched by 身份证号 if given (else, or if no one has that number, by 姓名 +
联系电话 among people whose number is not recorded). Villages are matched by (镇街, 村社)
within the user's scope (``policy.scope_villages``); a township head naming another
township's village gets “不在您管辖的镇街” on that row. Matching people looks at the
whole roster on purpose: the same person must never be entered twice; rows about
people outside the user's scope say no more than the file itself does.

``commit_import`` applies a plan without problems: departures, changes, transfers and
returns through the roster services (each audited, transfers and returns send
``posting_started``), new agents in bulk with their onboarding plans created by
``learning.bulk_plans`` (what ``posting_started`` does for one posting), and one summary
audit event per township. It only flushes; the request commits once, so any error
means nothing is written.
"""

from __future__ import annotations

import enum
import hashlib
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import joinedload, selectinload

from academy.audit.services import record
from academy.auth.models import User
from academy.auth.policy import Scope, scope_villages
from academy.bulk import insert_ids, refresh_statistics
from academy.errors_domain import DomainError
from academy.extensions import db
from academy.learning.bulk_plans import NewPosting, create_plans
from academy.learning.models import OnboardingPlan
from academy.regions.models import Township, Village
from academy.roster import excel, rules, services
from academy.roster.excel import RowProblem, RowSpec
from academy.roster.models import (
    Agent,
    AgentKind,
    Education,
    Gender,
    LeaveReason,
    Posting,
)

CHUNK = 1000
IMPORT_NOTE = "花名册导入"
# New agents from which the tables' planner statistics are refreshed in the same transaction.
BIG_IMPORT = 1000


class Action(enum.StrEnum):
    ADD = "add"
    CHANGE = "change"
    LEAVE = "leave"
    UNCHANGED = "unchanged"

    @property
    def label(self) -> str:
        return ACTION_LABELS[self]


ACTION_LABELS = {
    Action.ADD: "新增",
    Action.CHANGE: "变更",
    Action.LEAVE: "离岗",
    Action.UNCHANGED: "未变",
}
PERSON_FIELDS = {
    "name": excel.NAME,
    "phone": excel.PHONE,
    "id_number": excel.ID_NUMBER,
    "birth_year": excel.BIRTH_YEAR,
    "gender": excel.GENDER,
    "education": excel.EDUCATION,
}

# Fields named by the services' DomainErrors -> the column to show them under.
FIELD_COLUMNS = {
    **PERSON_FIELDS,
    "joined_on": excel.JOINED_ON,
    "on": excel.JOINED_ON,
    "left_on": excel.LEFT_ON,
    "village_id": excel.VILLAGE,
}


class ImportRejected(Exception):
    """Raised by ``commit_import`` if a row cannot be applied after all; the request must
    roll back. Carries the problems like a validation error."""

    def __init__(self, problems: list[RowProblem]) -> None:
        super().__init__(f"{len(problems)} import problem(s)")
        self.problems = problems


@dataclass(frozen=True, slots=True)
class VillageRef:
    id: int
    name: str
    township_id: int
    township: str

    @property
    def full_name(self) -> str:
        return f"{self.township}{self.name}"


@dataclass(slots=True)
class AgentRow:
    id: int
    name: str
    phone: str
    id_number: str | None
    birth_year: int | None
    gender: Gender | None
    education: Education | None
    postings: list[PostingRow] = field(default_factory=list)

    @property
    def active(self) -> PostingRow | None:
        return next((p for p in self.postings if p.left_on is None), None)

    @property
    def home(self) -> PostingRow | None:
        """The posting that decides who may see the person: the current one, else the last
        (as ``policy.home_posting_id``)."""
        if not self.postings:
            return None
        return max(self.postings, key=lambda p: (p.left_on is None, p.joined_on, p.id))


@dataclass(frozen=True, slots=True)
class PostingRow:
    id: int
    village: VillageRef
    kind: AgentKind
    joined_on: date
    left_on: date | None
    leave_reason: LeaveReason | None


@dataclass(slots=True)
class PlannedRow:
    spec: RowSpec
    action: Action
    village: VillageRef
    agent_id: int | None = None
    changes: dict[str, object] = field(default_factory=dict)  # person field -> new value
    transfer_from: int | None = None  # posting id closed by a transfer
    rejoin: bool = False
    leave_posting: int | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def detail(self) -> str:
        return "；".join(self.notes)


@dataclass
class ImportPlan:
    rows: list[PlannedRow]
    problems: list[RowProblem]

    @property
    def counts(self) -> dict[Action, int]:
        counted = Counter(r.action for r in self.rows)
        return {a: counted.get(a, 0) for a in Action}

    @property
    def has_changes(self) -> bool:
        return any(r.action != Action.UNCHANGED for r in self.rows)

    def of(self, action: Action, limit: int | None = None) -> list[PlannedRow]:
        rows = [r for r in self.rows if r.action == action]
        return rows if limit is None else rows[:limit]

    def digest(self) -> str:
        """A fingerprint of what a commit would do, to tell whether the roster changed
        between the preview and the confirmation."""
        h = hashlib.sha256()
        for r in self.rows:
            if r.action != Action.UNCHANGED:
                h.update(f"{r.spec.row}|{r.action}|{r.agent_id}|{r.detail}\n".encode())
        return h.hexdigest()[:32]


@dataclass
class ImportSummary:
    added: int
    changed: int
    left: int
    unchanged: int
    plans: int

    def message(self) -> str:
        return (
            f"导入完成：新增 {self.added} 人，变更 {self.changed} 人，"
            f"登记离岗 {self.left} 人，未变 {self.unchanged} 行。"
        )


# --- planning ------------------------------------------------------------------------------


def plan_import(
    user: User,
    specs: Sequence[RowSpec],
    today: date | None = None,
    places: Sequence[tuple[int, str, str]] | None = None,
) -> ImportPlan:
    """Match valid rows against the roster. ``places`` — (row, 镇街, 村社) of every row of
    the file, valid or not (``ParsedRoster.places``) — are checked too, so that a wrong
    place is reported along with a row's other problems; by default the specs' places."""
    today = today or date.today()
    problems: list[RowProblem] = []
    if places is None:
        places = [(s.row, s.township, s.village) for s in specs]
    scope = Scope.of(user)
    villages = _resolve_villages(scope, places, problems)
    placed = [s for s in specs if (s.township, s.village) in villages]
    agents = _load_agents(placed)
    planner = _Planner(villages, agents, scope, today, problems)
    rows = planner.plan(placed)
    problems.sort(key=lambda p: (p.row, excel.COLUMNS.index(p.column)))
    return ImportPlan(rows=rows, problems=problems)


def _chunks(values: Iterable, size: int = CHUNK) -> Iterable[list]:
    values = sorted(set(values))
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _resolve_villages(
    scope: Scope, places: Sequence[tuple[int, str, str]], problems: list[RowProblem]
) -> dict[tuple[str, str], VillageRef]:
    """(镇街, 村社) -> village in the user's scope; a problem for every row that names
    no village, or one outside the scope."""
    wanted = {(t, v) for _, t, v in places}
    found: dict[tuple[str, str], list[VillageRef]] = defaultdict(list)
    for names in _chunks({t for t, _ in wanted}):
        stmt = scope_villages(
            sa.select(Village.id, Village.name, Township.id, Township.name)
            .join(Township, Township.id == Village.township_id)
            .where(Township.name.in_(names)),
            scope,
        )
        for vid, vname, tid, tname in db.session.execute(stmt):
            if (tname, vname) in wanted:
                found[(tname, vname)].append(VillageRef(vid, vname, tid, tname))
    missing = wanted - set(found)
    exists_elsewhere: set[tuple[str, str]] = set()
    known_townships: set[str] = set()
    if missing:
        # Only names the user gave come back: whether a place exists is no secret.
        for names in _chunks({t for t, _ in missing}):
            for tname, vname in db.session.execute(
                sa.select(Township.name, Village.name)
                .join(Village, Village.township_id == Township.id, isouter=True)
                .where(Township.name.in_(names))
            ):
                known_townships.add(tname)
                if (tname, vname) in missing:
                    exists_elsewhere.add((tname, vname))
    resolved = {}
    for key, refs in found.items():
        if len(refs) == 1:
            resolved[key] = refs[0]
    for row, township, village in places:
        key = (township, village)
        if key in resolved:
            continue
        if key in found:
            problems.append(
                RowProblem(row, excel.VILLAGE, "有多个同名的镇街和村社，请联系县级管理员。")
            )
        elif key in exists_elsewhere:
            problems.append(
                RowProblem(
                    row,
                    excel.TOWNSHIP,
                    f"“{township}{village}”不在您管辖的镇街，不能导入。",
                )
            )
        elif township not in known_townships:
            problems.append(
                RowProblem(
                    row,
                    excel.TOWNSHIP,
                    f"找不到镇街“{township}”，请按“村社名单”填写全称。",
                )
            )
        else:
            problems.append(
                RowProblem(
                    row,
                    excel.VILLAGE,
                    f"镇街“{township}”下没有村社“{village}”，请按“村社名单”填写全称。",
                )
            )
    return resolved


def _load_agents(specs: Sequence[RowSpec]) -> dict[int, AgentRow]:
    """Everyone the rows may mean (by ID number, or by phone then name), with postings."""
    columns = (
        Agent.id,
        Agent.name,
        Agent.phone,
        Agent.id_number,
        Agent.birth_year,
        Agent.gender,
        Agent.education,
    )
    agents: dict[int, AgentRow] = {}
    id_numbers = {s.id_number for s in specs if s.id_number}
    for chunk in _chunks(id_numbers):
        for row in db.session.execute(sa.select(*columns).where(Agent.id_number.in_(chunk))):
            agents[row.id] = AgentRow(*row)
    found_ids = {a.id_number for a in agents.values()}
    phones = {s.phone for s in specs if not s.id_number or s.id_number not in found_ids}
    for chunk in _chunks(phones):
        for row in db.session.execute(sa.select(*columns).where(Agent.phone.in_(chunk))):
            agents.setdefault(row.id, AgentRow(*row))
    for chunk in _chunks(agents):
        stmt = (
            sa.select(
                Posting.agent_id,
                Posting.id,
                Posting.kind,
                Posting.joined_on,
                Posting.left_on,
                Posting.leave_reason,
                Village.id,
                Village.name,
                Township.id,
                Township.name,
            )
            .join(Village, Village.id == Posting.village_id)
            .join(Township, Township.id == Village.township_id)
            .where(Posting.agent_id.in_(chunk))
            .order_by(Posting.joined_on, Posting.id)
        )
        for agent_id, pid, kind, joined, left, reason, vid, vname, tid, tname in db.session.execute(
            stmt
        ):
            agents[agent_id].postings.append(
                PostingRow(pid, VillageRef(vid, vname, tid, tname), kind, joined, left, reason)
            )
    return agents


class _Planner:
    def __init__(self, villages, agents: dict[int, AgentRow], scope: Scope, today, problems):
        self.villages = villages
        self.agents = agents
        self.scope = scope
        self.today = today
        self.problems = problems
        self.by_id_number = {a.id_number: a for a in agents.values() if a.id_number}
        self.by_person: dict[tuple[str, str], list[AgentRow]] = defaultdict(list)
        for a in agents.values():
            self.by_person[(a.name, a.phone)].append(a)

    def problem(self, spec: RowSpec, column: str, reason: str) -> None:
        self.problems.append(RowProblem(spec.row, column, reason))

    def in_scope(self, village: VillageRef) -> bool:
        return self.scope.covers_township(village.township_id)

    def visible(self, agent: AgentRow) -> bool:
        """Access follows the current posting (else the last one), as everywhere else."""
        home = agent.home
        return home is not None and self.in_scope(home.village)

    # -- matching ---------------------------------------------------------------------

    def match(self, spec: RowSpec) -> tuple[bool, AgentRow | None]:
        """(ok, agent): the roster's person this row means, None for a new person."""
        if spec.id_number and spec.id_number in self.by_id_number:
            return True, self.by_id_number[spec.id_number]
        candidates = self.by_person.get((spec.name, spec.phone), [])
        if spec.id_number:
            unnumbered = [a for a in candidates if not a.id_number]
            if len(unnumbered) == 1:
                return True, unnumbered[0]
            if candidates and not unnumbered:
                self.problem(
                    spec,
                    excel.ID_NUMBER,
                    "花名册中已有姓名和联系电话都相同、但身份证号不同的人员，请核对身份证号。",
                )
                return False, None
            candidates = unnumbered
        if len(candidates) > 1:
            self.problem(
                spec,
                excel.ID_NUMBER,
                "花名册中有多人姓名和联系电话都相同，请填写身份证号以区分。",
            )
            return False, None
        return True, (candidates[0] if candidates else None)

    # -- deciding -----------------------------------------------------------------------

    def plan(self, specs: Sequence[RowSpec]) -> list[PlannedRow]:
        rows: dict[int, PlannedRow] = {}
        by_agent: dict[int, list[RowSpec]] = defaultdict(list)
        for spec in specs:
            ok, agent = self.match(spec)
            if not ok:
                continue
            if agent is not None:
                by_agent[agent.id].append(spec)
                continue
            village = self.villages[(spec.township, spec.village)]
            if not spec.open:
                self.problem(
                    spec,
                    excel.LEFT_ON,
                    "花名册中没有此人，不能登记离岗；新增人员请不要填写离岗日期。",
                )
                continue
            rows[spec.row] = PlannedRow(
                spec,
                Action.ADD,
                village,
                notes=[
                    f"新增到{village.full_name}（{spec.kind.label}），"
                    f"{spec.joined_on:%Y-%m-%d} 到岗"
                ],
            )
        for agent_id, agent_specs in by_agent.items():
            for planned in self.plan_agent(self.agents[agent_id], agent_specs):
                rows[planned.spec.row] = planned
        return [rows[n] for n in sorted(rows)]

    def plan_agent(self, agent: AgentRow, specs: list[RowSpec]) -> list[PlannedRow]:
        open_rows = [s for s in specs if s.open]
        if len(open_rows) > 1:
            first = open_rows[0]
            for spec in open_rows[1:]:
                self.problem(
                    spec,
                    excel.NAME,
                    f"与第 {first.row} 行是花名册中的同一人（{agent.name}）："
                    "每人只能有一行不填离岗日期的在岗记录。",
                )
            return []
        out: list[PlannedRow] = []
        active = agent.active
        closing: PlannedRow | None = None
        for spec in (s for s in specs if not s.open):
            village = self.villages[(spec.township, spec.village)]
            history = next(
                (
                    p
                    for p in agent.postings
                    if p.left_on is not None
                    and p.village.id == village.id
                    and p.joined_on == spec.joined_on
                ),
                None,
            )
            if history is not None:
                if (history.left_on, history.leave_reason) == (spec.left_on, spec.leave_reason):
                    out.append(PlannedRow(spec, Action.UNCHANGED, village, agent.id))
                else:
                    self.problem(
                        spec,
                        excel.LEFT_ON,
                        f"这段任职已登记离岗（{history.left_on:%Y-%m-%d}，"
                        f"{history.leave_reason.label}），导入不修改历史记录。",
                    )
            elif active is not None and active.village.id == village.id:
                if active.joined_on != spec.joined_on:
                    self.problem(
                        spec,
                        excel.JOINED_ON,
                        f"到岗日期与花名册不一致（花名册为 {active.joined_on:%Y-%m-%d}）。",
                    )
                elif spec.leave_reason == LeaveReason.TRANSFERRED:
                    self.problem(
                        spec,
                        excel.LEAVE_REASON,
                        "调动不用登记离岗：请只在调入村社的行中填写此人（到岗日期即调动日期）。",
                    )
                else:
                    closing = PlannedRow(
                        spec,
                        Action.LEAVE,
                        village,
                        agent.id,
                        leave_posting=active.id,
                        notes=[
                            f"{village.full_name}离岗，{spec.left_on:%Y-%m-%d}"
                            f"（{spec.leave_reason.label}）"
                        ],
                    )
                    out.append(closing)
            else:
                self.problem(
                    spec,
                    excel.LEFT_ON,
                    "花名册中没有此人在该村社、该到岗日期的在岗记录，无法登记离岗。",
                )
        if open_rows:
            if closing is None:
                planned = self.plan_open(agent, open_rows[0], active)
            else:
                planned = self.plan_open(agent, open_rows[0], None, closing.spec.left_on)
            if planned is not None:
                if closing is not None and planned.rejoin:
                    planned.notes.insert(0, f"先登记离岗（第 {closing.spec.row} 行）")
                out.append(planned)
        return out

    def plan_open(
        self,
        agent: AgentRow,
        spec: RowSpec,
        active: PostingRow | None,
        leaving_on: date | None = None,
    ) -> PlannedRow | None:
        """The row without 离岗日期: where the person serves now. ``active`` is their
        active posting unless this import closes it (on ``leaving_on``)."""
        village = self.villages[(spec.township, spec.village)]
        planned = PlannedRow(spec, Action.CHANGE, village, agent.id)
        if active is not None and active.village.id == village.id:
            if active.joined_on != spec.joined_on:
                self.problem(
                    spec,
                    excel.JOINED_ON,
                    f"到岗日期与花名册不一致（花名册为 {active.joined_on:%Y-%m-%d}）；"
                    "在岗人员的到岗日期不能通过导入修改。",
                )
                return None
            if active.kind != spec.kind:
                self.problem(
                    spec,
                    excel.KIND,
                    f"身份与花名册不一致（花名册为{active.kind.label}）；"
                    "导入不能修改同一村社内的身份。",
                )
                return None
        elif active is not None:
            if not self.in_scope(active.village):
                self.problem(
                    spec,
                    excel.VILLAGE,
                    "此人目前在其他镇街在岗，不能由您调动；请联系县级管理员办理。",
                )
                return None
            reason = rules.departure_problem(active.joined_on, spec.joined_on, self.today)
            if reason is not None:
                self.problem(
                    spec,
                    excel.JOINED_ON,
                    f"调动日期（本行的到岗日期）不能早于在原村社的到岗日期"
                    f"（{active.joined_on:%Y-%m-%d}）。",
                )
                return None
            planned.transfer_from = active.id
            planned.notes.append(
                f"调动：{active.village.full_name} → {village.full_name}"
                f"（{spec.joined_on:%Y-%m-%d}）"
            )
        else:
            last_left = max(
                (d for d in [leaving_on, *(p.left_on for p in agent.postings)] if d),
                default=None,
            )
            reason = rules.joining_problem(spec.joined_on, self.today, last_left)
            if reason is not None:
                self.problem(spec, excel.JOINED_ON, reason)
                return None
            planned.rejoin = True
            planned.notes.append(
                f"重新到岗：{village.full_name}（{spec.kind.label}），{spec.joined_on:%Y-%m-%d}"
            )
        planned.changes = self.person_changes(agent, spec)
        if planned.changes and not self.person_ok(agent, spec, planned.changes):
            return None
        if planned.changes:
            shown = self.visible(agent)
            for attr, new in planned.changes.items():
                old = getattr(agent, attr)
                label = PERSON_FIELDS[attr]
                if shown and old not in (None, ""):
                    planned.notes.append(f"{label}：{_show(old)} → {_show(new)}")
                else:
                    planned.notes.append(f"{label}：{_show(new)}")
        if not planned.notes:
            planned.action = Action.UNCHANGED
        return planned

    def person_changes(self, agent: AgentRow, spec: RowSpec) -> dict[str, object]:
        """Fields the row changes; blank optional cells keep what the roster has."""
        changes: dict[str, object] = {}
        for attr in PERSON_FIELDS:
            new = getattr(spec, attr)
            if new is None or new == "":
                continue
            if new != getattr(agent, attr):
                changes[attr] = new
        return changes

    def person_ok(self, agent: AgentRow, spec: RowSpec, changes: dict[str, object]) -> bool:
        """The person as changed must pass the rules ``update_person`` applies."""
        merged = {attr: changes.get(attr, getattr(agent, attr)) for attr in PERSON_FIELDS}
        checks = [
            (excel.PHONE, rules.phone_problem(merged["phone"])),
            (
                excel.ID_NUMBER,
                rules.id_number_problem(merged["id_number"], self.today)
                if merged["id_number"]
                else None,
            ),
            (excel.BIRTH_YEAR, rules.birth_year_problem(merged["birth_year"], self.today)),
        ]
        bad = [(column, reason) for column, reason in checks if reason]
        for column, reason in bad:
            self.problem(spec, column, f"花名册中此人的{column}有误，请一并更正：{reason}")
        return not bad


def _show(value) -> str:
    return value.label if hasattr(value, "label") else str(value)


# --- committing ----------------------------------------------------------------------------


def commit_import(
    user: User, plan: ImportPlan, filename: str = "", today: date | None = None
) -> ImportSummary:
    """Apply a plan without problems. Flushes only; raises ImportRejected (and the request
    must roll back) if a row cannot be applied after all."""
    if plan.problems:
        raise ImportRejected(plan.problems)
    today = today or date.today()
    existing = [r for r in plan.rows if r.action in (Action.CHANGE, Action.LEAVE)]
    agents = _load_for_update({r.agent_id for r in existing})
    villages = _load_villages({r.village.id for r in existing if r.transfer_from or r.rejoin})
    # Departures first: a person who left and came back in the same file rejoins after.
    for r in sorted(existing, key=lambda r: (r.action != Action.LEAVE, r.spec.row)):
        agent = agents[r.agent_id]
        try:
            if r.action == Action.LEAVE:
                posting = next(p for p in agent.postings if p.id == r.leave_posting)
                services.record_departure(
                    user, posting, r.spec.left_on, r.spec.leave_reason, IMPORT_NOTE, today
                )
                continue
            if r.changes:
                services.update_person(user, agent, _person(agent, r.changes), today)
            if r.transfer_from:
                posting = next(p for p in agent.postings if p.id == r.transfer_from)
                services.transfer_agent(
                    user, posting, villages[r.village.id], r.spec.joined_on, r.spec.kind, today
                )
            elif r.rejoin:
                services.rejoin_agent(
                    user, agent, villages[r.village.id], r.spec.kind, r.spec.joined_on, today
                )
        except DomainError as err:
            column = FIELD_COLUMNS.get(err.field or "", excel.NAME)
            raise ImportRejected([RowProblem(r.spec.row, column, err.message)]) from err
    added = plan.of(Action.ADD)
    plans = _add_agents(added)
    summary = ImportSummary(
        added=len(added),
        changed=len(plan.of(Action.CHANGE)),
        left=len(plan.of(Action.LEAVE)),
        unchanged=len(plan.of(Action.UNCHANGED)),
        plans=plans,
    )
    _audit(user, plan, filename)
    db.session.flush()
    return summary


def _load_for_update(agent_ids: set[int]) -> dict[int, Agent]:
    out: dict[int, Agent] = {}
    for chunk in _chunks(agent_ids):
        stmt = (
            sa.select(Agent)
            .options(
                selectinload(Agent.postings)
                .joinedload(Posting.village)
                .joinedload(Village.township)
            )
            .where(Agent.id.in_(chunk))
        )
        out.update({a.id: a for a in db.session.scalars(stmt)})
    return out


def _load_villages(village_ids: set[int]) -> dict[int, Village]:
    out: dict[int, Village] = {}
    for chunk in _chunks(village_ids):
        stmt = sa.select(Village).options(joinedload(Village.township)).where(Village.id.in_(chunk))
        out.update({v.id: v for v in db.session.scalars(stmt)})
    return out


def _person(agent: Agent, changes: dict[str, object]) -> services.PersonData:
    return services.PersonData(
        **{attr: changes.get(attr, getattr(agent, attr)) for attr in PERSON_FIELDS}
    )


def _add_agents(rows: list[PlannedRow]) -> int:
    """New agents and postings in a few multi-row INSERTs, with their onboarding plans."""
    if not rows:
        return 0
    db.session.flush()
    # New people are told apart by 姓名 + 联系电话: the file cannot repeat them.
    agent_ids = insert_ids(
        Agent,
        [
            {
                "name": r.spec.name,
                "phone": r.spec.phone,
                "id_number": r.spec.id_number,
                "birth_year": r.spec.birth_year
                or (rules.birth_year_from_id(r.spec.id_number) if r.spec.id_number else None),
                "gender": r.spec.gender,
                "education": r.spec.education,
            }
            for r in rows
        ],
        keys=("name", "phone"),
    )
    posting_ids = insert_ids(
        Posting,
        [
            {
                "agent_id": agent_id,
                "village_id": r.village.id,
                "kind": r.spec.kind,
                "joined_on": r.spec.joined_on,
            }
            for agent_id, r in zip(agent_ids, rows, strict=True)
        ],
        keys=("agent_id",),
    )
    plans = create_plans(
        [
            NewPosting(posting_id, agent_id, r.village.id, r.spec.joined_on)
            for posting_id, agent_id, r in zip(posting_ids, agent_ids, rows, strict=True)
        ]
    )
    if len(rows) >= BIG_IMPORT:
        refresh_statistics(Agent, Posting, OnboardingPlan)
    return plans


def _audit(user: User, plan: ImportPlan, filename: str) -> None:
    """One event per township the import touched, so each township head sees it."""
    per_township: dict[int, Counter] = defaultdict(Counter)
    for r in plan.rows:
        per_township[r.village.township_id][r.action] += 1
    townships = {
        t.id: t
        for t in db.session.scalars(sa.select(Township).where(Township.id.in_(per_township)))
    }
    for township_id, counts in sorted(per_township.items()):
        if not any(counts[a] for a in (Action.ADD, Action.CHANGE, Action.LEAVE)):
            continue
        township = townships[township_id]
        record(
            user,
            "roster.imported",
            township,
            f"导入花名册{f'《{filename}》' if filename else ''}（{township.name}）："
            f"新增 {counts[Action.ADD]} 人，变更 {counts[Action.CHANGE]} 人，"
            f"离岗 {counts[Action.LEAVE]} 人，未变 {counts[Action.UNCHANGED]} 行",
            {"file": filename, **{a.value: counts[a] for a in Action}},
            township_id,
        )
