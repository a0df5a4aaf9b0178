"""The competition through its services on a real database (both backends): registration
rules, judge assignment away from home townships, marking and its refusals, moderation,
lock, corrections, appeals and publication with ranking, awards and certificates."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from academy.audit.models import AuditEvent
from academy.auth.models import Role
from academy.competition import judging, outcomes, services
from academy.competition.models import (
    Assignment,
    Award,
    CompetitionStatus,
    CriterionKind,
    Mark,
    Result,
    RoundKind,
    Sheet,
    SheetState,
)
from academy.errors_domain import DomainError
from academy.extensions import db
from tests import factories
from tests.competition_world import TODAY, build
from tests.competition_world import mark_all as _mark_all


@pytest.fixture
def setup(world):
    return build(world)


def test_nomination_rules(world, setup):
    w, comp = world, setup.comp
    comp.status = CompetitionStatus.REGISTRATION
    newcomer = factories.agent(w.east_village2, joined_on=TODAY + timedelta(days=1))
    with pytest.raises(DomainError, match="晚于报名要求"):
        services.nominate(w.admin, comp, newcomer, TODAY)
    with pytest.raises(DomainError, match="已经报名"):
        services.nominate(w.east_head, comp, w.east_agent, TODAY)
    fourth = factories.agent(w.east_village2)
    with pytest.raises(DomainError, match="名额为 3 人"):
        services.nominate(w.east_head, comp, fourth, TODAY)
    with pytest.raises(DomainError, match="只能推荐本镇街"):
        services.nominate(w.west_head, comp, fourth, TODAY)
    with pytest.raises(DomainError, match="报名已经截止"):
        services.nominate(w.east_head, comp, fourth, comp.registration_closes_on + timedelta(1))
    # withdrawing one frees the place; the agent then comes back under the same number
    first = services.active_entries(comp)[0]
    services.withdraw(w.admin, first, "生病")
    again = services.nominate(w.admin, comp, first.agent, TODAY)
    assert again.id == first.id and again.withdrawn_at is None
    numbers = [e.number for e in services.active_entries(comp)]
    assert len(set(numbers)) == len(numbers) and all(len(n) == 3 for n in numbers)


def test_assignment_keeps_judges_away_from_their_own_township(setup):
    judging.assign(setup.chief, setup.live, seed=3)
    towns = {j.id: j.home_township_id for j in setup.judges}
    rows = db.session.scalars(sa.select(Assignment).where(Assignment.round_id == setup.live.id))
    per_entry: dict[int, list[int]] = {}
    for a in rows:
        per_entry.setdefault(a.entry_id, []).append(a.judge_id)
        entry = next(e for e in setup.entries if e.id == a.entry_id)
        assert towns[a.judge_id] != entry.township_id
    assert sorted(len(v) for v in per_entry.values()) == [3] * len(setup.entries)


def test_a_judge_marks_only_assigned_candidates_within_range_and_never_after_submitting(setup):
    judging.assign(setup.chief, setup.live, seed=3)
    stmt = sa.select(Assignment).where(Assignment.round_id == setup.live.id)
    a = db.session.scalars(stmt).first()
    judge = next(j for j in setup.judges if j.id == a.judge_id)
    other = next(j for j in setup.judges if not judging.assigned(setup.live, a.entry_id, j))
    c_meas, c_etq, c_emg = setup.live.criteria
    with pytest.raises(DomainError, match="没有被分配"):
        judging.save_sheet(setup.live, a.entry_id, other, {c_etq.id: 2}, "", 1, False)
    with pytest.raises(DomainError, match="0、1、2、3"):
        judging.save_sheet(setup.live, a.entry_id, judge, {c_etq.id: 4}, "", 1, False)
    with pytest.raises(DomainError, match="0 到 10"):
        judging.save_sheet(setup.live, a.entry_id, judge, {c_meas.id: "11"}, "", 1, False)
    assert db.session.scalar(sa.select(sa.func.count(Sheet.id))) == 0
    judging.save_sheet(setup.live, a.entry_id, judge, {c_etq.id: 2}, "", 1, False)
    stale = judging.save_sheet(setup.live, a.entry_id, judge, {c_etq.id: 0}, "", 1, False)
    assert stale.stale and stale.sheet.marks[0].value == 2
    with pytest.raises(DomainError, match="还有指标没有评分"):
        judging.save_sheet(setup.live, a.entry_id, judge, {c_etq.id: 2}, "", 2, True)
    vals = {c_meas.id: 7.5, c_etq.id: 2, c_emg.id: 3}
    saved = judging.save_sheet(setup.live, a.entry_id, judge, vals, "清楚", 3, True)
    assert saved.sheet.state == SheetState.SUBMITTED
    with pytest.raises(DomainError, match="已提交"):
        judging.save_sheet(setup.live, a.entry_id, judge, vals, "", 4, False)


def test_flags_block_the_lock_until_moderated_then_marks_are_immutable(setup):
    judging.assign(setup.chief, setup.live, seed=3)
    _mark_all(setup)
    # one judge of the first candidate disagrees by 2 levels on etiquette
    entry = setup.entries[0]
    sheet = db.session.scalars(
        sa.select(Sheet).where(Sheet.entry_id == entry.id, Sheet.round_id == setup.live.id)
    ).first()
    etq = setup.live.criteria[1]
    mark = next(m for m in sheet.marks if m.criterion_id == etq.id)
    mark.value = 0
    db.session.flush()
    with pytest.raises(DomainError, match="评分差异过大"):
        judging.lock_round(setup.chief, setup.live)
    with pytest.raises(DomainError, match="只有裁判长"):
        judging.lock_round(factories.user(Role.EXPERT), setup.live)
    judging.moderate(setup.chief, setup.live, entry.id, etq.id, "看过录像，维持")
    judging.lock_round(setup.chief, setup.live)
    judge = next(j for j in setup.judges if j.id == sheet.judge_id)
    with pytest.raises(DomainError, match="已锁定"):
        judging.save_sheet(setup.live, entry.id, judge, {etq.id: 3}, "", 9, False)


def test_corrections_and_appeals_after_the_lock_are_approved_and_audited(world, setup):
    judging.assign(setup.chief, setup.live, seed=3)
    _mark_all(setup)
    judging.lock_round(setup.chief, setup.live)
    east_entry = next(e for e in setup.entries if e.township_id == world.east.id)
    mark = db.session.scalars(
        sa.select(Mark).join(Sheet).where(Sheet.entry_id == east_entry.id)
    ).first()
    now = setup.live.locked_at + timedelta(hours=1)
    with pytest.raises(DomainError, match="所在镇街的负责人"):
        outcomes.file_appeal(world.west_head, east_entry, setup.live, "计时有误", now)
    late = setup.live.locked_at + timedelta(days=setup.comp.appeal_days, seconds=1)
    with pytest.raises(DomainError, match="申诉期"):
        outcomes.file_appeal(world.east_head, east_entry, setup.live, "计时有误", late)
    appeal = outcomes.file_appeal(world.east_head, east_entry, setup.live, "计时有误", now)
    assert outcomes.publish_problems(setup.comp)  # pending appeal, open window
    outcomes.decide_appeal(setup.chief, appeal, True, "复看录像，情况属实", [(mark, 9)])
    db.session.refresh(mark)
    assert mark.value == 9
    actions = set(db.session.scalars(sa.select(AuditEvent.action)))
    assert {"competition.appeal", "competition.appeal_decide"} <= actions
    assert "competition.correction_approve" in actions
    corr = outcomes.request_correction(
        setup.chief, setup.live, east_entry, 6, "录入错误", mark=mark
    )
    outcomes.decide_correction(setup.chief, corr, approve=False)
    db.session.refresh(mark)
    assert mark.value == 9


def test_publication_ranks_awards_and_freezes_certificates(world, setup, app):
    judging.assign(setup.chief, setup.live, seed=3)
    _mark_all(setup)
    best = setup.entries[2]
    for sheet in db.session.scalars(sa.select(Sheet).where(Sheet.entry_id == best.id)):
        for m in sheet.marks:
            m.value = m.criterion.max_points if m.criterion.kind == CriterionKind.MEASUREMENT else 3
    db.session.flush()
    judging.lock_round(setup.chief, setup.live)
    with pytest.raises(DomainError, match="申诉期未结束"):
        outcomes.publish(world.admin, setup.comp)
    setup.live.locked_at -= timedelta(days=setup.comp.appeal_days + 1)
    with app.test_request_context():
        results = outcomes.publish(world.admin, setup.comp)
    by_entry = {r.entry_id: r for r in results}
    assert by_entry[best.id].rank == 1 and by_entry[best.id].award == Award.FIRST
    assert by_entry[best.id].total == pytest.approx(100)
    html = by_entry[best.id].certificate_html
    assert html and best.agent.name in html and by_entry[best.id].certificate_code in html
    # everybody else tied: they share rank 2 and the second prize (ties never split)
    assert {r.rank for r in results if r.entry_id != best.id} == {2}
    assert setup.comp.status == CompetitionStatus.PUBLISHED
    assert db.session.scalar(sa.select(sa.func.count(Result.id))) == len(setup.entries)
    with pytest.raises(DomainError):
        services.withdraw(world.admin, best, "迟到")


def test_written_round_takes_the_best_graded_attempt(world, setup):
    from tests.integration.test_exam_services import make_exam

    questions = [factories.question(item=world.item) for _ in range(2)]
    exam = make_exam(questions)
    rnd = services.add_round(
        world.admin, setup.comp, kind=RoundKind.WRITTEN, title="笔试", weight=0, exam_id=exam.id
    )
    from academy.exams import services as exam_services

    user = world.agent_user
    from academy.exams.models import FinishReason

    attempt = exam_services.start_attempt(exam, user.agent, user)
    if isinstance(attempt, tuple):
        attempt = attempt[0]
    exam_services.finish_attempt(attempt, FinishReason.SUBMITTED)
    n = judging.refresh_auto_scores(rnd)
    assert n == 1
    rows = outcomes.standings(setup.comp)
    mine = next(r for r in rows if r.entry.agent_id == user.agent_id)
    assert mine.by_round[rnd.id] == pytest.approx(attempt.percent or 0.0)


def test_a_published_total_counts_as_an_exam_where_the_scheme_allows_it(world, setup, app):
    from academy.catalogue.models import ItemCategory
    from academy.certification import services as certs
    from academy.certification.models import CertificationScheme, CertLevel

    judging.assign(setup.chief, setup.live, seed=3)
    _mark_all(setup, values=(10, 3, 3))
    judging.lock_round(setup.chief, setup.live)
    setup.live.locked_at -= timedelta(days=setup.comp.appeal_days + 1)
    with app.test_request_context():
        outcomes.publish(world.admin, setup.comp)
    agent_id = setup.entries[0].agent_id
    scores = certs.best_exam_scores([agent_id])[agent_id]
    assert scores["competition"] == pytest.approx(100)
    scheme = CertificationScheme(
        code="t",
        name="t",
        category=ItemCategory.REGISTRATION,
        level=CertLevel.JUNIOR,
        min_exam_score=80,
    )
    assert certs.scheme_exam_score(scheme, scores) is None  # not a scheme option yet
    scheme.competition_counts = True
    assert certs.scheme_exam_score(scheme, scores) == pytest.approx(100)
