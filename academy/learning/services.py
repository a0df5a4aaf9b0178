"""Learning use-cases: module sync and editing, progress, practice, onboarding plans."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import joinedload, selectinload

from academy import dbsetup
from academy.activity.models import ObjectType, Verb
from academy.activity.services import recently_recorded, record_event
from academy.audit.services import record
from academy.auth.models import User
from academy.auth.policy import Scope, scope_villages
from academy.catalogue.models import ServiceItem
from academy.content.loader import ContentDoc
from academy.content.modules import check_module
from academy.content.problems import ContentInvalid, Problem
from academy.content.sync import DocumentSyncReport
from academy.content.yamlio import parse_yaml
from academy.db import utcnow
from academy.errors_domain import DomainError
from academy.events import learning_progressed
from academy.extensions import db
from academy.learning import rules
from academy.learning.curricula import curriculum_ids
from academy.learning.models import (
    CheckAttempt,
    Curriculum,
    CurriculumItem,
    Module,
    ModuleProgress,
    ModuleRevision,
    OnboardingPlan,
    ProgressStatus,
    RevisionSource,
)
from academy.regions.models import Village
from academy.roster.models import Agent, Posting

# --- modules: sync, edit, revert, export ------------------------------------------


class ModuleSyncReport(DocumentSyncReport):
    label = "课程模块"
    updated_word = "更新"


def _new_revision(
    module: Module,
    origin: RevisionSource,
    author: User | None,
    changed: list[str],
    note: str | None = None,
) -> None:
    db.session.add(
        ModuleRevision(
            module=module,
            version=module.version,
            source=module.source,
            origin=origin,
            author_id=getattr(author, "id", None),
            changed=changed,
            note=note,
        )
    )


def _apply_source(module: Module, text: str, data: dict) -> list[str]:
    changed = rules.document_changes(module.document or {}, data) if module.source else ["(新建)"]
    module.source, module.document, module.title = text, data, data["title"]
    return changed


def sync_modules(docs: list[ContentDoc]) -> ModuleSyncReport:
    report = ModuleSyncReport()
    items = {i.slug: i for i in db.session.scalars(sa.select(ServiceItem))}
    existing = {m.slug: m for m in db.session.scalars(sa.select(Module))}
    seen = set()
    for doc in docs:
        slug = doc.data["slug"]
        seen.add(slug)
        module = existing.get(slug)
        if module is None:
            module = Module(
                slug=slug, item=items[doc.data["item"]], version=1, source="", document={}
            )
            db.session.add(module)
            _new_revision(
                module, RevisionSource.SYNC, None, _apply_source(module, doc.text, doc.data)
            )
            report.created.append(slug)
        elif module.source != doc.text or module.retired:
            changed = _apply_source(module, doc.text, doc.data)
            module.retired = False
            module.version += 1
            _new_revision(module, RevisionSource.SYNC, None, changed)
            report.updated.append(slug)
        else:
            report.unchanged += 1
    for slug, module in existing.items():
        if slug not in seen and not module.retired:
            module.retired = True  # learner progress keeps pointing at it
            report.retired.append(slug)
    db.session.flush()
    return report


def validate_source(module: Module, text: str) -> dict:
    """Parse and validate an edited module; raise ContentInvalid with every problem."""
    display = f"courses/{module.slug}.yaml"
    data, problems = parse_yaml(text, display)
    if not problems:
        slugs = set(
            db.session.scalars(sa.select(ServiceItem.slug).where(ServiceItem.retired.is_(False)))
        )
        problems = check_module(display, data, slugs)
    if not problems and data["item"] != module.item.slug:
        problems = [Problem(display, "item", "不能在网页上改变模块对应的事项")]
    if problems:
        raise ContentInvalid(problems)
    return data


def save_module_source(actor: User, module: Module, text: str, note: str | None) -> bool:
    """Store an edited module as a new revision. False if nothing changed."""
    text = text.replace("\r\n", "\n")
    if not text.endswith("\n"):
        text += "\n"
    data = validate_source(module, text)
    if text == module.source:
        return False
    changed = _apply_source(module, text, data)
    module.version += 1
    _new_revision(module, RevisionSource.WEB, actor, changed, (note or "").strip() or None)
    record(
        actor,
        "module.edited",
        module,
        f"修改课程模块《{module.title}》（第 {module.version} 版）",
        {"changed": changed},
    )
    db.session.flush()
    return True


def revert_module(actor: User, module: Module, version: int) -> None:
    revision = db.session.scalar(
        sa.select(ModuleRevision).where(
            ModuleRevision.module_id == module.id, ModuleRevision.version == version
        )
    )
    if revision is None:
        raise DomainError("找不到这个版本。")
    if revision.source == module.source:
        raise DomainError("当前内容已与该版本相同。")
    data = validate_source(module, revision.source)
    changed = _apply_source(module, revision.source, data)
    module.version += 1
    _new_revision(module, RevisionSource.REVERT, actor, changed, f"恢复为第 {version} 版")
    record(actor, "module.reverted", module, f"将课程模块《{module.title}》恢复为第 {version} 版")
    db.session.flush()


def export_modules(root: Path) -> tuple[list[str], int]:
    """Write every active module's source to courses/<slug>.yaml; return (written, unchanged)."""
    written, unchanged = [], 0
    folder = root / "courses"
    folder.mkdir(parents=True, exist_ok=True)
    for module in db.session.scalars(
        sa.select(Module).where(Module.retired.is_(False)).order_by(Module.slug)
    ):
        path = folder / f"{module.slug}.yaml"
        if path.exists() and path.read_text(encoding="utf-8") == module.source:
            unchanged += 1
            continue
        path.write_text(module.source, encoding="utf-8")
        written.append(path.relative_to(root).as_posix())
    return written, unchanged


# --- learner progress ---------------------------------------------------------------


def module_or_none(slug: str) -> Module | None:
    return db.session.scalar(
        sa.select(Module)
        .options(joinedload(Module.item))
        .where(Module.slug == slug, Module.retired.is_(False))
    )


def progress_of(agent: Agent, module: Module) -> ModuleProgress | None:
    return db.session.scalar(
        sa.select(ModuleProgress).where(
            ModuleProgress.agent_id == agent.id, ModuleProgress.module_id == module.id
        )
    )


def statuses_by_item(agent: Agent) -> dict[int, ProgressStatus]:
    rows = db.session.execute(
        sa.select(Module.item_id, ModuleProgress.status)
        .join(ModuleProgress, ModuleProgress.module_id == Module.id)
        .where(ModuleProgress.agent_id == agent.id)
    )
    return dict(rows.all())


def open_module(agent: Agent, module: Module) -> ModuleProgress:
    progress = progress_of(agent, module)
    if progress is None:
        progress = ModuleProgress(
            agent_id=agent.id,
            module_id=module.id,
            status=ProgressStatus.IN_PROGRESS,
            section="guide",
            practice={},
        )
        db.session.add(progress)
        db.session.flush()
    return progress


#: A module page opened again within this many minutes is the same visit: one "opened"
#: event per visit, not one per page refresh (or per redirect after a practice).
VISIT_MINUTES = 10


def visit_module(agent: Agent, module: Module, now: datetime | None = None) -> ModuleProgress:
    """The learner opens a module's page: progress exists from now on, and the visit is
    logged (once per VISIT_MINUTES; one indexed lookup on the learner's recent events)."""
    dbsetup.writing()
    progress = open_module(agent, module)
    now = now or utcnow()
    since = now - timedelta(minutes=VISIT_MINUTES)
    if not recently_recorded(agent.id, Verb.OPENED, ObjectType.MODULE, module.id, since):
        record_event(
            Verb.OPENED,
            ObjectType.MODULE,
            module.id,
            module.title,
            agent=agent,
            at=now,
            context={"section": progress.section},
        )
    return progress


def _log_module_passed(agent: Agent, module: Module, progress: ModuleProgress) -> None:
    record_event(
        Verb.PASSED,
        ObjectType.MODULE,
        module.id,
        module.title,
        agent=agent,
        result={"completion": True, "success": True, "score": progress.best_score, "max": 1},
    )


def _restatus(progress: ModuleProgress, check_passed: bool) -> None:
    before = progress.status
    status = rules.progress_status(True, progress.practice, check_passed)
    if before == ProgressStatus.PASSED:
        status = ProgressStatus.PASSED  # passing is never taken back by a later retry
    progress.status = status
    if status == ProgressStatus.PASSED and progress.passed_at is None:
        progress.passed_at = utcnow()
    progress.section = rules.resume_section(progress.practice, status)


def submit_practice(
    agent: Agent, module: Module, part: str, result: rules.PracticeResult
) -> ModuleProgress:
    if part not in rules.PRACTICE_PARTS:
        raise rules.PracticeInputError("未知的练习")
    progress = open_module(agent, module)
    practice = dict(progress.practice or {})
    practice[part] = result.as_dict()
    progress.practice = practice
    before = progress.status
    _restatus(progress, check_passed=(progress.best_score or 0) >= rules.PASS_MARK)
    db.session.flush()
    record_event(
        Verb.ANSWERED,
        ObjectType.PRACTICE,
        f"{module.id}/{part}",
        f"{module.title} · {rules.PART_LABELS[part]}",
        agent=agent,
        result=rules.practice_response(part, result),
        context={"parent": f"module:{module.id}", "part": part},
    )
    if progress.status == ProgressStatus.PASSED and before != ProgressStatus.PASSED:
        _log_module_passed(agent, module, progress)
        refresh_plan_completion(agent.id)
        learning_progressed.send(None, agent=agent)
    return progress


def submit_check(agent: Agent, module: Module, result: rules.CheckResult) -> ModuleProgress:
    progress = open_module(agent, module)
    db.session.add(
        CheckAttempt(
            agent_id=agent.id, module_id=module.id, score=result.score, passed=result.passed
        )
    )
    progress.check_attempts += 1
    progress.best_score = max(progress.best_score or 0.0, result.score)
    practice = dict(progress.practice or {})
    practice["check"] = {
        "correct": result.correct,
        "score": result.score,
        "passed": result.passed,
        "at": utcnow().isoformat(timespec="seconds"),
    }
    progress.practice = practice
    before = progress.status
    _restatus(progress, check_passed=progress.best_score >= rules.PASS_MARK)
    db.session.flush()
    record_event(
        Verb.PASSED if result.passed else Verb.FAILED,
        ObjectType.CHECK,
        module.id,
        f"{module.title} · {rules.PART_LABELS['check']}",
        agent=agent,
        result={
            "score": sum(result.correct),
            "max": len(result.correct),
            "success": result.passed,
        },
        context={"parent": f"module:{module.id}"},
    )
    if progress.status == ProgressStatus.PASSED and before != ProgressStatus.PASSED:
        _log_module_passed(agent, module, progress)
        refresh_plan_completion(agent.id)
    if result.passed:
        learning_progressed.send(None, agent=agent)
    return progress


# --- onboarding plans ---------------------------------------------------------------


def create_plan(posting: Posting, days: int | None = None) -> OnboardingPlan | None:
    """A plan of the items the posting's village offers, most-needed first."""
    days = days if days is not None else current_app.config["ONBOARDING_DAYS"]
    village = db.session.scalar(
        sa.select(Village)
        .options(selectinload(Village.items))
        .where(Village.id == posting.village_id)
    )
    items = [i for i in village.items if not i.retired]
    if not items:
        return None
    order = rules.plan_order(
        rules.PlanItemSpec(i.id, i.frequency, i.category.value, i.name) for i in items
    )
    plan = OnboardingPlan(
        agent_id=posting.agent_id,
        posting_id=posting.id,
        village_id=village.id,
        curriculum_id=curriculum_ids([tuple(order)])[tuple(order)],
        due_on=rules.plan_due(posting.joined_on, days),
    )
    db.session.add(plan)
    db.session.flush()
    refresh_plan_completion(posting.agent_id)
    return plan


def refresh_plan_completion(agent_id: int, on: date | None = None) -> None:
    """Set (or clear) completed_on of the agent's plans from their passed modules."""
    plans = list(
        db.session.scalars(
            sa.select(OnboardingPlan)
            .options(selectinload(OnboardingPlan.curriculum).selectinload(Curriculum.items))
            .where(OnboardingPlan.agent_id == agent_id)
        )
    )
    if not plans:
        return
    passed = passed_item_ids([agent_id])[agent_id]
    for plan in plans:
        done = all(e.item_id in passed for e in plan.entries)
        if done and plan.completed_on is None:
            plan.completed_on = on or date.today()
        elif not done:
            plan.completed_on = None
    db.session.flush()


def on_posting_started(sender, posting: Posting, **_):
    create_plan(posting)


def current_plan(agent: Agent) -> OnboardingPlan | None:
    return db.session.scalar(
        sa.select(OnboardingPlan)
        .join(Posting, Posting.id == OnboardingPlan.posting_id)
        .options(
            selectinload(OnboardingPlan.curriculum)
            .selectinload(Curriculum.items)
            .joinedload(CurriculumItem.item)
        )
        .where(OnboardingPlan.agent_id == agent.id, Posting.left_on.is_(None))
    )


@dataclass
class PlanSummary:
    plan: OnboardingPlan
    progress: rules.PlanProgress
    next_item: ServiceItem | None


def plan_summary(agent: Agent, today: date | None = None) -> PlanSummary | None:
    """The agent's current plan with progress and what to learn next."""
    plan = current_plan(agent)
    if plan is None:
        return None
    passed = passed_item_ids([agent.id])[agent.id]
    progress = rules.plan_progress(
        [e.item_id for e in plan.entries], passed, plan.due_on, today or date.today()
    )
    next_item = next((e.item for e in plan.entries if e.item_id == progress.next_item_id), None)
    return PlanSummary(plan, progress, next_item)


def next_module_for(agent: Agent, after: Module) -> Module | None:
    """Where to go after passing ``after``: the next module of the agent's plan (None when
    the plan is done; the page then offers a refresher module, see learning.views)."""
    summary = plan_summary(agent)
    item_ids = []
    if summary and summary.next_item and summary.next_item.id != after.item_id:
        item_ids.append(summary.next_item.id)
    if summary:
        passed = passed_item_ids([agent.id])[agent.id]
        item_ids += [
            e.item_id for e in summary.plan.entries if e.item_id not in passed | {after.item_id}
        ]
    for item_id in item_ids:
        found = db.session.scalar(
            sa.select(Module).where(Module.item_id == item_id, Module.retired.is_(False))
        )
        if found:
            return found
    return None


def passed_item_ids(agent_ids: list[int]) -> dict[int, set[int]]:
    out: dict[int, set[int]] = {a: set() for a in agent_ids}
    if not agent_ids:
        return out
    rows = db.session.execute(
        sa.select(ModuleProgress.agent_id, Module.item_id)
        .join(Module, Module.id == ModuleProgress.module_id)
        .where(
            ModuleProgress.agent_id.in_(agent_ids), ModuleProgress.status == ProgressStatus.PASSED
        )
    )
    for agent_id, item_id in rows:
        out[agent_id].add(item_id)
    return out


@dataclass
class PlanRow:
    plan: OnboardingPlan
    agent: Agent
    village: Village
    progress: rules.PlanProgress


def _passed_entries():
    """Correlated count of a plan's items whose module the agent has passed."""
    passed = (
        sa.select(ModuleProgress.id)
        .join(Module, Module.id == ModuleProgress.module_id)
        .where(
            ModuleProgress.agent_id == OnboardingPlan.agent_id,
            Module.item_id == CurriculumItem.item_id,
            ModuleProgress.status == ProgressStatus.PASSED,
        )
    )
    # Correlate explicitly: nested in the scalar subquery, SQLAlchemy would otherwise give
    # the EXISTS its own FROM onboarding_plan (wrong counts, and slow).
    passed = passed.correlate(OnboardingPlan, CurriculumItem)
    return (
        sa.select(sa.func.count())
        .select_from(CurriculumItem)
        .where(CurriculumItem.curriculum_id == OnboardingPlan.curriculum_id, passed.exists())
        .scalar_subquery()
    )


def _plan_filter(stmt: sa.Select, scope: Scope, today: date, only_overdue: bool) -> sa.Select:
    stmt = (
        stmt.join(Posting, Posting.id == OnboardingPlan.posting_id)
        .join(Village, Village.id == OnboardingPlan.village_id)
        .where(Posting.left_on.is_(None))
    )
    if only_overdue:
        stmt = stmt.where(OnboardingPlan.completed_on.is_(None), OnboardingPlan.due_on < today)
    return scope_villages(stmt, scope)


def plan_statement(scope: Scope, today: date, only_overdue: bool = False) -> sa.Select:
    """Plans of active postings in the scope with (passed, total) counts, due first."""
    total = (
        sa.select(Curriculum.size)
        .where(Curriculum.id == OnboardingPlan.curriculum_id)
        .scalar_subquery()
    )
    stmt = sa.select(OnboardingPlan, _passed_entries().label("passed"), total.label("total"))
    return (
        _plan_filter(stmt, scope, today, only_overdue)
        .options(
            joinedload(OnboardingPlan.agent),
            joinedload(OnboardingPlan.village).joinedload(Village.township),
        )
        .order_by(OnboardingPlan.due_on, OnboardingPlan.id)
    )


def plan_row(plan: OnboardingPlan, passed: int, total: int, today: date) -> PlanRow:
    overdue = plan.completed_on is None and passed < total and today > plan.due_on
    progress = rules.PlanProgress(passed, total, overdue, None)
    return PlanRow(plan, plan.agent, plan.village, progress)


def plan_rows(
    scope: Scope,
    today: date | None = None,
    only_overdue: bool = False,
    limit: int | None = None,
) -> list[PlanRow]:
    today = today or date.today()
    stmt = plan_statement(scope, today, only_overdue)
    if limit is not None:
        stmt = stmt.limit(limit)
    return [plan_row(p, passed, total, today) for p, passed, total in db.session.execute(stmt)]


def count_plans(scope: Scope, today: date, only_overdue: bool = False) -> int:
    stmt = (
        plan_statement(scope, today, only_overdue)
        .with_only_columns(sa.func.count(OnboardingPlan.id))
        .order_by(None)
    )
    return db.session.scalar(stmt.options()) or 0
