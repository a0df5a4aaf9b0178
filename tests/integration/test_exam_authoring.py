"""Authoring exams: settings, blueprint, publishing (every problem at once), locks, copies."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from academy.audit.models import AuditEvent
from academy.db import utcnow
from academy.errors_domain import DomainError
from academy.exams import authoring, services
from academy.exams.models import Exam, ExamStatus, VersionPolicy
from academy.extensions import db
from academy.questions.models import Dimension
from tests import factories


@pytest.fixture
def bank(world):
    """Four easy and two medium questions of world.item, one essay."""
    b = factories.question_bank(world.item)
    easy = [factories.question(b, item=world.item, difficulty=1) for _ in range(4)]
    medium = [factories.question(b, "truefalse", item=world.item, difficulty=2) for _ in range(2)]
    essay = factories.question(
        b, "essay", item=world.item, dimension=Dimension.ETIQUETTE, difficulty=3
    )
    return {"easy": easy, "medium": medium, "essay": essay}


def _events(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action)))


def _exam(world, **settings) -> Exam:
    return authoring.create_exam(
        world.expert, authoring.ExamData(title="测试考试", time_limit_minutes=30, **settings)
    )


def _random_section(world, easy=3, medium=1, **kw) -> authoring.SectionData:
    return authoring.SectionData(
        "业务知识", 5, item_ids=(world.item.id,), counts={"1": easy, "2": medium}, **kw
    )


def test_create_exam_keeps_unlimited_attempts_and_audits(world):
    exam = _exam(world, attempts_allowed=None, pass_percent=70)
    db.session.expire_all()
    assert exam.attempts_allowed is None  # not the column default of 1
    assert exam.status == ExamStatus.DRAFT and exam.created_by_id == world.expert.id
    [event] = _events("exam.created")
    assert event.object_id == exam.id and "测试考试" in event.summary


@pytest.mark.parametrize(
    ("settings", "field", "message"),
    [
        ({"title": "  "}, "title", "请填写考试名称"),
        ({"pass_percent": 120}, "pass_percent", "0 到 100"),
        ({"time_limit_minutes": 0}, "time_limit_minutes", "1–600"),
        ({"attempts_allowed": 0}, "attempts_allowed", "1–100"),
        ({"township_id": 999999}, "township_id", "不存在"),
    ],
)
def test_bad_settings_are_refused_with_the_field(world, settings, field, message):
    data = {"title": "测试考试", **settings}
    with pytest.raises(DomainError) as err:
        authoring.create_exam(world.expert, authoring.ExamData(**data))
    assert err.value.field == field and message in err.value.message
    assert db.session.scalar(sa.select(sa.func.count(Exam.id))) == 0


def test_closing_before_opening_is_refused(world):
    now = utcnow()
    with pytest.raises(DomainError) as err:
        _exam(world, opens_at=now, closes_at=now - timedelta(hours=1))
    assert err.value.field == "closes_at"


def test_item_must_belong_to_the_category(world):
    from academy.catalogue.models import ItemCategory

    with pytest.raises(DomainError) as err:
        _exam(world, category=ItemCategory.CERTIFICATE, item_id=world.item.id)
    assert err.value.field == "item_id" and "不一致" in err.value.message


def test_publish_refuses_with_every_problem(world, bank):
    exam = _exam(world, closes_at=utcnow() + timedelta(days=1))
    with pytest.raises(authoring.PublishError) as err:
        authoring.publish_exam(world.expert, exam)
    assert any("至少添加一个部分" in p for p in err.value.problems)

    authoring.set_sections(world.expert, exam, [_random_section(world, easy=9)])
    exam.closes_at = utcnow() - timedelta(minutes=1)  # closed meanwhile
    with pytest.raises(authoring.PublishError) as err:
        authoring.publish_exam(world.expert, exam)
    problems = err.value.problems
    assert len(problems) == 2
    assert "已过" in problems[0]
    assert "需要 9 道题" in problems[1] and "只有 4 道" in problems[1]
    assert exam.status == ExamStatus.DRAFT and not _events("exam.published")


def test_publish_sets_status_and_pins_the_versions(world, bank):
    exam = _exam(world, version_policy=VersionPolicy.PINNED)
    authoring.set_sections(world.expert, exam, [_random_section(world)])
    now = utcnow()
    authoring.publish_exam(world.expert, exam, now=now)
    assert exam.status == ExamStatus.PUBLISHED
    assert exam.published_at == now and exam.pinned_at == now
    assert _events("exam.published")
    # A revision made after publishing is not drawn by the pinned exam.
    q = bank["easy"][0]
    db.session.query(type(q.versions[0])).filter_by(question_id=q.id).update(
        {"created_at": now - timedelta(minutes=5)}
    )
    factories.revise_question(q, text="改过的题干")
    pool = services.section_pool(exam, exam.sections[0])
    entry = next(p for p in pool if p.question_id == q.id)
    assert entry.version_id == q.versions[0].id


def test_latest_policy_is_not_pinned(world, bank):
    exam = _exam(world)
    authoring.set_sections(world.expert, exam, [_random_section(world)])
    authoring.publish_exam(world.expert, exam)
    assert exam.pinned_at is None


def test_set_sections_updates_in_place_reorders_and_removes(world, bank):
    exam = _exam(world)
    first, second = authoring.set_sections(
        world.expert,
        exam,
        [
            _random_section(world),
            authoring.SectionData("情景题", 10, question_ids=(bank["essay"].id,)),
        ],
    )
    assert [s.position for s in exam.sections] == [1, 2]
    ids = (first.id, second.id)
    # Swap them and change the first one's title; the ids stay.
    authoring.set_sections(
        world.expert,
        exam,
        [
            authoring.section_data(second),
            authoring.SectionData(**{**authoring.section_data(first).__dict__, "title": "知识"}),
        ],
    )
    db.session.expire_all()
    assert [(s.id, s.position) for s in exam.sections] == [(ids[1], 1), (ids[0], 2)]
    assert exam.sections[1].title == "知识"
    authoring.remove_section(world.expert, exam, ids[1])
    db.session.expire_all()
    assert [s.id for s in exam.sections] == [ids[0]] and exam.sections[0].position == 1
    assert len(_events("exam.sections_set")) == 3


@pytest.mark.parametrize(
    ("section", "field"),
    [
        (authoring.SectionData("", 1, counts={"1": 1}), "title"),
        (authoring.SectionData("A", 0, counts={"1": 1}), "points"),
        (authoring.SectionData("A", 1, counts={"1": 0}), "counts"),
        (authoring.SectionData("A", 1, counts={"1": 500}), "counts"),
        (authoring.SectionData("A", 1, counts={"1": 1}, qtypes=("description",)), "qtypes"),
        (authoring.SectionData("A", 1, question_ids=(999999,)), "question_ids"),
    ],
)
def test_bad_sections_are_refused(world, section, field):
    exam = _exam(world)
    with pytest.raises(DomainError) as err:
        authoring.set_sections(world.expert, exam, [section])
    assert err.value.field == field
    assert exam.sections == []


def _sit(exam, agent):
    return services.start_attempt(exam, agent, None)


def test_blueprint_and_version_policy_lock_after_attempts(world, bank):
    exam = _exam(world, attempts_allowed=3)
    authoring.set_sections(world.expert, exam, [_random_section(world)])
    authoring.publish_exam(world.expert, exam)
    authoring.unpublish_exam(world.expert, exam)  # allowed: nobody has sat it yet
    authoring.publish_exam(world.expert, exam)
    attempt = _sit(exam, world.east_agent)
    services.submit_attempt(attempt)

    authoring.unpublish_exam(world.expert, exam)
    with pytest.raises(DomainError) as err:
        authoring.set_sections(world.expert, exam, [_random_section(world, easy=2)])
    assert "1 份作答" in err.value.message and "复制为新考试" in err.value.message
    data = authoring.exam_data(exam)
    with pytest.raises(DomainError) as err:
        authoring.update_exam(
            world.expert, exam, authoring.ExamData(**{**data.__dict__, "version_policy": "pinned"})
        )
    assert err.value.field == "version_policy"
    # Settings that do not change the paper may still change, audited field by field.
    later = utcnow() + timedelta(days=3)
    changed = authoring.update_exam(
        world.expert,
        exam,
        authoring.ExamData(**{**data.__dict__, "closes_at": later, "attempts_allowed": 5}),
    )
    assert set(changed) == {"closes_at", "attempts_allowed"}
    [event] = _events("exam.updated")
    assert event.details["changed"]["attempts_allowed"] == [3, 5]
    assert "截止时间" in event.summary


def test_unpublish_and_archive_wait_for_candidates_in_progress(world, bank):
    exam = _exam(world)
    authoring.set_sections(world.expert, exam, [_random_section(world)])
    authoring.publish_exam(world.expert, exam)
    _sit(exam, world.east_agent)
    for action in (authoring.unpublish_exam, authoring.archive_exam):
        with pytest.raises(DomainError) as err:
            action(world.expert, exam)
        assert "1 名考生正在作答" in err.value.message
    assert exam.status == ExamStatus.PUBLISHED


def test_archive_and_restore(world, bank):
    exam = _exam(world)
    authoring.archive_exam(world.expert, exam)
    assert exam.status == ExamStatus.ARCHIVED
    with pytest.raises(DomainError):
        authoring.publish_exam(world.expert, exam)
    authoring.restore_exam(world.expert, exam)
    assert exam.status == ExamStatus.DRAFT
    assert _events("exam.archived") and _events("exam.restored")


def test_duplicate_copies_settings_and_blueprint_as_a_draft(world, bank):
    exam = _exam(world, pass_percent=75, attempts_allowed=None)
    authoring.set_sections(
        world.expert,
        exam,
        [
            _random_section(world),
            authoring.SectionData("情景题", 10, question_ids=(bank["essay"].id,)),
        ],
    )
    authoring.publish_exam(world.expert, exam)
    copy = authoring.duplicate_exam(world.admin, exam)
    db.session.expire_all()
    assert copy.id != exam.id and copy.status == ExamStatus.DRAFT
    assert copy.title == "测试考试（副本）" and copy.published_at is None
    assert (copy.pass_percent, copy.attempts_allowed, copy.time_limit_minutes) == (75, None, 30)
    assert [authoring.section_data(s).counts for s in copy.sections] == [{"1": 3, "2": 1}, {}]
    assert copy.sections[1].question_ids == [bank["essay"].id]
    assert {s.id for s in copy.sections}.isdisjoint({s.id for s in exam.sections})
    [event] = _events("exam.duplicated")
    assert event.details == {"source": exam.id}
