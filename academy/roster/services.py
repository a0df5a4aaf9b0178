"""Roster use-cases. Every change keeps history: postings are closed, never deleted."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa

from academy.audit.services import record
from academy.errors_domain import DomainError
from academy.events import posting_started
from academy.extensions import db
from academy.regions.models import Village
from academy.roster import rules
from academy.roster.models import Agent, AgentKind, Education, Gender, LeaveReason, Posting


@dataclass
class PersonData:
    name: str
    phone: str
    id_number: str | None = None
    birth_year: int | None = None
    gender: Gender | None = None
    education: Education | None = None


def _check_person(data: PersonData, today: date, exclude_agent_id: int | None = None) -> None:
    if not data.name.strip():
        raise DomainError("请填写姓名。", field="name")
    problem = rules.phone_problem(data.phone)
    if problem:
        raise DomainError(problem, field="phone")
    if data.id_number:
        problem = rules.id_number_problem(data.id_number, today)
        if problem:
            raise DomainError(problem, field="id_number")
        stmt = sa.select(Agent.id).where(
            Agent.id_number == rules.normalise_id_number(data.id_number)
        )
        if exclude_agent_id:
            stmt = stmt.where(Agent.id != exclude_agent_id)
        if db.session.scalar(stmt):
            raise DomainError(
                "花名册中已有此身份证号的人员，请在花名册中查找并办理“重新到岗”。",
                field="id_number",
            )
    problem = rules.birth_year_problem(data.birth_year, today)
    if problem:
        raise DomainError(problem, field="birth_year")


def enrol_agent(
    actor,
    data: PersonData,
    village: Village,
    kind: AgentKind,
    joined_on: date,
    today: date | None = None,
) -> Posting:
    today = today or date.today()
    _check_person(data, today)
    problem = rules.joining_problem(joined_on, today, None)
    if problem:
        raise DomainError(problem, field="joined_on")
    id_number = rules.normalise_id_number(data.id_number) if data.id_number else None
    birth_year = data.birth_year or (rules.birth_year_from_id(id_number) if id_number else None)
    agent = Agent(
        name=data.name.strip(),
        phone=rules.normalise_phone(data.phone),
        id_number=id_number,
        birth_year=birth_year,
        gender=data.gender,
        education=data.education,
    )
    posting = Posting(agent=agent, village=village, kind=kind, joined_on=joined_on)
    db.session.add_all([agent, posting])
    db.session.flush()
    posting_started.send(None, posting=posting)
    record(
        actor,
        "roster.enrolled",
        agent,
        f"{village.full_name} 新增代办员 {agent.name}（{kind.label}）",
        {"village_id": village.id, "joined_on": joined_on.isoformat()},
        village.township_id,
    )
    return posting


def record_departure(
    actor,
    posting: Posting,
    left_on: date,
    reason: LeaveReason,
    note: str | None = None,
    today: date | None = None,
) -> Posting:
    today = today or date.today()
    if posting.left_on is not None:
        raise DomainError("该代办员已登记离岗。")
    _close_posting(posting, left_on, reason, note, today, field="left_on")
    record(
        actor,
        "roster.departed",
        posting.agent,
        f"{posting.village.full_name} 代办员 {posting.agent.name} 离岗（{reason.label}）",
        {"posting_id": posting.id, "left_on": left_on.isoformat(), "reason": reason.value},
        posting.village.township_id,
    )
    return posting


def _close_posting(
    posting: Posting,
    on: date,
    reason: LeaveReason,
    note: str | None,
    today: date,
    field: str,
    verb: str = "离岗",
) -> None:
    problem = rules.departure_problem(posting.joined_on, on, today)
    if problem:
        raise DomainError(problem.replace("离岗", verb), field=field)
    posting.left_on = on
    posting.leave_reason = reason
    posting.leave_note = (note or "").strip() or None
    db.session.flush()


def transfer_agent(
    actor,
    posting: Posting,
    to_village: Village,
    on: date,
    kind: AgentKind | None = None,
    today: date | None = None,
) -> Posting:
    today = today or date.today()
    if posting.left_on is not None:
        raise DomainError("该代办员已离岗，请使用“重新到岗”。")
    if to_village.id == posting.village_id:
        raise DomainError("调入村社与当前村社相同。", field="village_id")
    # Close the old posting before the new one opens (one active posting per agent).
    _close_posting(
        posting,
        on,
        LeaveReason.TRANSFERRED,
        f"调往{to_village.full_name}",
        today,
        field="on",
        verb="调动",
    )
    new = Posting(agent=posting.agent, village=to_village, kind=kind or posting.kind, joined_on=on)
    db.session.add(new)
    db.session.flush()
    posting_started.send(None, posting=new)
    details = {
        "from_village_id": posting.village_id,
        "to_village_id": to_village.id,
        "on": on.isoformat(),
    }
    summary = (
        f"代办员 {posting.agent.name} 由 {posting.village.full_name} 调往 {to_village.full_name}"
    )
    record(
        actor, "roster.transferred", posting.agent, summary, details, posting.village.township_id
    )
    if to_village.township_id != posting.village.township_id:
        record(actor, "roster.transferred", posting.agent, summary, details, to_village.township_id)
    return new


def rejoin_agent(
    actor,
    agent: Agent,
    village: Village,
    kind: AgentKind,
    joined_on: date,
    today: date | None = None,
) -> Posting:
    today = today or date.today()
    if agent.current_posting is not None:
        raise DomainError("该代办员目前在岗，无需重新到岗。")
    last_left = max((p.left_on for p in agent.postings if p.left_on), default=None)
    problem = rules.joining_problem(joined_on, today, last_left)
    if problem:
        raise DomainError(problem, field="joined_on")
    posting = Posting(agent=agent, village=village, kind=kind, joined_on=joined_on)
    db.session.add(posting)
    db.session.flush()
    posting_started.send(None, posting=posting)
    record(
        actor,
        "roster.rejoined",
        agent,
        f"{agent.name} 重新到岗：{village.full_name}（{kind.label}）",
        {"village_id": village.id, "joined_on": joined_on.isoformat()},
        village.township_id,
    )
    return posting


def update_person(actor, agent: Agent, data: PersonData, today: date | None = None) -> None:
    today = today or date.today()
    _check_person(data, today, exclude_agent_id=agent.id)
    changes = {}
    new_values = {
        "name": data.name.strip(),
        "phone": rules.normalise_phone(data.phone),
        "id_number": rules.normalise_id_number(data.id_number) if data.id_number else None,
        "birth_year": data.birth_year,
        "gender": data.gender,
        "education": data.education,
    }
    for field, value in new_values.items():
        if getattr(agent, field) != value:
            changes[field] = [str(getattr(agent, field) or ""), str(value or "")]
            setattr(agent, field, value)
    if changes:
        township_id = agent.current_posting.village.township_id if agent.current_posting else None
        record(
            actor,
            "roster.person_updated",
            agent,
            f"修改代办员 {agent.name} 的信息",
            changes,
            township_id,
        )
    db.session.flush()
