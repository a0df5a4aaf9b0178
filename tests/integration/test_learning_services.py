"""Module sync, revisions and onboarding plans against the database."""

from datetime import date, timedelta

import pytest
import sqlalchemy as sa
import yaml

from academy.auth.models import Role
from academy.auth.policy import Scope
from academy.content.loader import ContentDoc
from academy.content.problems import ContentInvalid
from academy.extensions import db
from academy.learning import services
from academy.learning.models import ModuleProgress, OnboardingPlan, ProgressStatus
from academy.roster import services as roster
from academy.roster.models import AgentKind
from tests import factories
from tests.content_samples import valid_module


def _doc(slug, **over):
    data = valid_module(slug) | over
    return ContentDoc(
        f"courses/{slug}.yaml", data, yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
    )


def test_sync_creates_then_versions_then_retires_keeping_progress(world, module):
    assert module.version == 1 and len(module.revisions) == 1
    slug = world.item.slug
    report = services.sync_modules([_doc(slug)])
    assert report.unchanged == 1 and not report.changed
    report = services.sync_modules([_doc(slug, tell_once="新的说法")])
    assert report.updated == [slug]
    assert module.version == 2
    latest = max(module.revisions, key=lambda r: r.version)
    assert latest.version == 2 and latest.changed == ["tell_once"]
    progress = services.open_module(world.east_agent, module)
    report = services.sync_modules([])
    assert report.retired == [slug] and module.retired
    assert db.session.get(ModuleProgress, progress.id) is not None
    assert services.module_or_none(slug) is None


def test_enrolment_creates_a_plan_ordered_by_frequency(world):
    often = factories.item("高频事项", frequency=5)
    rare = factories.item("低频事项", frequency=1)
    world.east_village2.items = [rare, often, world.item]
    db.session.flush()
    joined = date.today() - timedelta(days=3)
    posting = roster.enrol_agent(
        world.east_head,
        roster.PersonData("新人", "13900009999"),
        world.east_village2,
        AgentKind.FULL_TIME,
        joined,
    )
    plan = db.session.scalar(
        sa.select(OnboardingPlan).where(OnboardingPlan.posting_id == posting.id)
    )
    assert [e.item_id for e in plan.entries] == [often.id, world.item.id, rare.id]
    assert plan.due_on == joined + timedelta(days=30)


def test_transfer_gives_a_new_plan_and_empty_village_none(world):
    posting = world.east_agent.current_posting
    new = roster.transfer_agent(world.east_head, posting, world.west_village, date.today())
    plans = db.session.scalars(
        sa.select(OnboardingPlan).where(OnboardingPlan.agent_id == world.east_agent.id)
    ).all()
    assert [p.posting_id for p in plans] == [new.id]
    back = roster.transfer_agent(world.admin, new, world.east_village2, date.today())
    assert (
        db.session.scalar(sa.select(OnboardingPlan).where(OnboardingPlan.posting_id == back.id))
        is None
    )


def test_plan_rows_scope_and_overdue(world, module):
    roster.enrol_agent(
        world.east_head,
        roster.PersonData("迟到", "13900008888"),
        world.east_village,
        AgentKind.VOLUNTEER,
        date.today() - timedelta(days=40),
    )
    roster.enrol_agent(
        world.west_head,
        roster.PersonData("西新", "13900007777"),
        world.west_village,
        AgentKind.VOLUNTEER,
        date.today(),
    )
    east = services.plan_rows(Scope.of(world.east_head))
    assert [r.agent.name for r in east] == ["迟到"] and east[0].progress.overdue
    overdue = services.plan_rows(Scope.of(world.admin), only_overdue=True)
    assert [r.agent.name for r in overdue] == ["迟到"]
    assert {r.agent.name for r in services.plan_rows(Scope.of(world.admin))} == {"迟到", "西新"}


def test_progress_passes_only_after_practice_and_check(world, module):
    from academy.learning import rules

    agent = world.east_agent
    good = rules.score_check(
        module.document["check"],
        {0: frozenset({0}), 1: False, 2: frozenset({0, 1}), 3: False, 4: frozenset({0})},
    )
    progress = services.submit_check(agent, module, good)
    assert progress.status == ProgressStatus.IN_PROGRESS
    for part in rules.PRACTICE_PARTS:
        progress = services.submit_practice(agent, module, part, rules.PracticeResult(True, None))
    assert progress.status == ProgressStatus.PASSED and progress.passed_at is not None
    services.submit_practice(agent, module, "order", rules.PracticeResult(False, None))
    assert progress.status == ProgressStatus.PASSED  # a later wrong retry never un-passes


def test_invalid_edit_is_refused_and_revert_works(world, module):
    expert = factories.user(Role.EXPERT)
    with pytest.raises(ContentInvalid) as err:
        services.save_module_source(expert, module, "title: [unclosed\n", None)
    assert "YAML" in err.value.problems[0].reason
    data = valid_module(world.item.slug) | {"item": "other"}
    with pytest.raises(ContentInvalid):
        services.save_module_source(expert, module, yaml.safe_dump(data, allow_unicode=True), None)
    assert module.version == 1
    edited = valid_module(world.item.slug) | {"title": "新标题"}
    assert services.save_module_source(
        expert, module, yaml.safe_dump(edited, allow_unicode=True), "改标题"
    )
    assert module.version == 2 and module.title == "新标题"
    services.revert_module(expert, module, 1)
    assert module.version == 3 and module.title == valid_module("x")["title"]
    revisions = sorted(module.revisions, key=lambda r: -r.version)
    assert [r.origin.value for r in revisions] == ["revert", "web", "sync"]


def test_export_round_trips_the_stored_source(world, module, tmp_path):
    written, unchanged = services.export_modules(tmp_path)
    assert written == [f"courses/{module.slug}.yaml"] and unchanged == 0
    assert (tmp_path / written[0]).read_text(encoding="utf-8") == module.source
    assert services.export_modules(tmp_path) == ([], 1)


def test_plan_is_marked_complete_when_its_last_module_passes(world, module):

    posting = roster.enrol_agent(
        world.east_head,
        roster.PersonData("快学", "13900005555"),
        world.east_village,
        AgentKind.VOLUNTEER,
        date.today() - timedelta(days=40),
    )
    agent = posting.agent
    assert services.count_plans(Scope.of(world.east_head), date.today(), only_overdue=True) == 1
    factories.pass_module(agent, module)
    plan = db.session.scalar(
        sa.select(OnboardingPlan).where(OnboardingPlan.posting_id == posting.id)
    )
    assert plan.completed_on == date.today()
    assert services.count_plans(Scope.of(world.east_head), date.today(), only_overdue=True) == 0
    # A transfer to a village whose items are already passed starts complete.
    moved = roster.transfer_agent(world.admin, posting, world.west_village, date.today())
    new_plan = db.session.scalar(
        sa.select(OnboardingPlan).where(OnboardingPlan.posting_id == moved.id)
    )
    assert new_plan.completed_on == date.today()


def test_plan_progress_counts_only_the_plans_own_agent(world, module):

    a = roster.enrol_agent(
        world.east_head,
        roster.PersonData("甲", "13900001111"),
        world.east_village,
        AgentKind.VOLUNTEER,
        date.today() - timedelta(days=40),
    )
    roster.enrol_agent(
        world.east_head,
        roster.PersonData("乙", "13900002222"),
        world.east_village,
        AgentKind.VOLUNTEER,
        date.today() - timedelta(days=40),
    )
    factories.pass_module(a.agent, module)
    rows = {r.agent.name: r.progress.passed for r in services.plan_rows(Scope.of(world.east_head))}
    assert rows == {"甲": 1, "乙": 0}
