"""Authoring exams: settings, the blueprint (sections), publishing, archiving, copying.

Use-cases in the house style: validated input in, the session changed and flushed, every
change audited; a refused change raises DomainError *before* anything is written.

Once an exam has attempts its blueprint and version policy are locked: the candidates who
sat it were graded on that paper, and statistics compare like with like. The settings that
do not change the paper (closing time, attempts allowed, review …) may still change, and
are audited field by field. To change the paper, copy the exam (``duplicate_exam``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum

import sqlalchemy as sa

from academy.audit.services import record
from academy.auth.models import User
from academy.catalogue.models import ItemCategory, ServiceItem
from academy.db import utcnow
from academy.errors_domain import DomainError
from academy.exams import rules, services
from academy.exams.models import (
    Attempt,
    AttemptState,
    Exam,
    ExamSection,
    ExamStatus,
    Layout,
    ReviewWhen,
    VersionPolicy,
)
from academy.extensions import db
from academy.questions.models import Dimension, Question
from academy.questions.types import QUESTION_TYPES
from academy.regions.models import Township

DRAWN_TYPES = tuple(t for t in QUESTION_TYPES if t not in services.UNDRAWN_TYPES)
SETTING_LABELS = {
    "title": "名称",
    "description": "说明",
    "time_limit_minutes": "限时（分钟）",
    "pass_percent": "及格线（%）",
    "attempts_allowed": "可作答次数",
    "opens_at": "开放时间",
    "closes_at": "截止时间",
    "layout": "排版",
    "shuffle_questions": "打乱题目顺序",
    "shuffle_answers": "打乱选项顺序",
    "review_when": "回顾",
    "review_shows_answers": "回顾时显示答案",
    "version_policy": "题目版本",
    "township_id": "考试范围",
    "category": "认证类别",
    "item_id": "认证事项",
}


class PublishError(DomainError):
    """Publishing refused: every problem, for the page to list."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("考试还不能发布：" + "；".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class ExamData:
    title: str
    description: str = ""
    time_limit_minutes: int | None = None
    pass_percent: float = 60.0
    attempts_allowed: int | None = 1
    opens_at: datetime | None = None  # naive UTC (the form converts from Beijing time)
    closes_at: datetime | None = None
    layout: Layout = Layout.ONE_PER_PAGE
    shuffle_questions: bool = True
    shuffle_answers: bool = True
    review_when: ReviewWhen = ReviewWhen.AFTER_SUBMIT
    review_shows_answers: bool = True
    version_policy: VersionPolicy = VersionPolicy.LATEST
    township_id: int | None = None  # None: the whole county
    category: ItemCategory | None = None
    item_id: int | None = None


@dataclass(frozen=True)
class SectionData:
    title: str
    points: float = 1.0
    item_ids: tuple[int, ...] = ()
    category: ItemCategory | None = None
    dimension: Dimension | None = None
    qtypes: tuple[str, ...] = ()
    counts: Mapping[str, int] = field(default_factory=dict)
    question_ids: tuple[int, ...] = ()  # fixed questions (then counts are unused)
    id: int | None = None  # an existing section of the exam to keep and update


def exam_data(exam: Exam) -> ExamData:
    return ExamData(**{name: getattr(exam, name) for name in ExamData.__dataclass_fields__})


def section_data(section: ExamSection) -> SectionData:
    return SectionData(
        title=section.title,
        points=section.points,
        item_ids=tuple(section.item_ids or ()),
        category=section.category,
        dimension=section.dimension,
        qtypes=tuple(section.qtypes or ()),
        counts=dict(section.counts or {}),
        question_ids=tuple(section.question_ids or ()),
        id=section.id,
    )


# --- state ---------------------------------------------------------------------------------


def attempt_count(exam: Exam) -> int:
    if exam.id is None:
        return 0
    return db.session.scalar(sa.select(sa.func.count(Attempt.id)).where(Attempt.exam_id == exam.id))


def open_attempt_count(exam: Exam) -> int:
    return db.session.scalar(
        sa.select(sa.func.count(Attempt.id)).where(
            Attempt.exam_id == exam.id, Attempt.state == AttemptState.IN_PROGRESS
        )
    )


def blueprint_lock(exam: Exam) -> str | None:
    """Why the blueprint (sections) cannot be changed now, or None."""
    n = attempt_count(exam)
    if n:
        return (
            f"本考试已有 {n} 份作答，题目组成和题目版本策略不能再修改："
            "已作答的考生按原试卷评分，改动会使成绩和统计无法比较。"
            "如需调整，请「复制为新考试」后修改副本。"
        )
    if exam.status == ExamStatus.PUBLISHED:
        return "考试已发布，修改题目组成前请先「撤回为草稿」（尚无人作答时可以撤回）。"
    if exam.status == ExamStatus.ARCHIVED:
        return "考试已归档，不能修改题目组成。可「恢复为草稿」或「复制为新考试」。"
    return None


def publish_problems(exam: Exam, now: datetime | None = None) -> list[str]:
    """Everything that stops the exam from being published, all at once."""
    now = now or utcnow()
    problems = []
    if exam.closes_at is not None and exam.closes_at <= now:
        problems.append(f"截止时间 {rules.fmt(exam.closes_at)} 已过，请先修改考试设置。")
    return problems + services.blueprint_problems(exam)


# --- settings ------------------------------------------------------------------------------


def _check_settings(data: ExamData) -> None:
    if not data.title.strip():
        raise DomainError("请填写考试名称。", field="title")
    if len(data.title.strip()) > 120:
        raise DomainError("考试名称不能超过 120 个字。", field="title")
    if data.time_limit_minutes is not None and not 1 <= data.time_limit_minutes <= 600:
        raise DomainError("限时应为 1–600 分钟，不限时请留空。", field="time_limit_minutes")
    if not 0 <= data.pass_percent <= 100:
        raise DomainError("及格线应在 0 到 100 之间。", field="pass_percent")
    if data.attempts_allowed is not None and not 1 <= data.attempts_allowed <= 100:
        raise DomainError("可作答次数应为 1–100 次，不限次数请留空。", field="attempts_allowed")
    if data.opens_at and data.closes_at and data.closes_at <= data.opens_at:
        raise DomainError("截止时间必须晚于开放时间。", field="closes_at")
    if data.township_id is not None and db.session.get(Township, data.township_id) is None:
        raise DomainError("所选镇街不存在。", field="township_id")
    if data.item_id is not None:
        item = db.session.get(ServiceItem, data.item_id)
        if item is None:
            raise DomainError("所选事项不存在。", field="item_id")
        if data.category is not None and item.category != data.category:
            raise DomainError(
                f"事项“{item.name}”属于{item.category.label}，与所选认证类别"
                f"{data.category.label}不一致。",
                field="item_id",
            )


def _plain(value):
    if isinstance(value, datetime):
        return value.isoformat(timespec="minutes")
    if isinstance(value, Enum):
        return value.value
    return value


def _apply(exam: Exam, data: ExamData) -> dict[str, list]:
    changed = {}
    for name in ExamData.__dataclass_fields__:
        value = getattr(data, name)
        if name in ("title", "description"):
            value = value.strip()
        if getattr(exam, name) != value:
            changed[name] = [_plain(getattr(exam, name)), _plain(value)]
            setattr(exam, name, value)
    return changed


def _new_exam(actor: User, data: ExamData) -> Exam:
    values = {name: getattr(data, name) for name in ExamData.__dataclass_fields__}
    values["title"], values["description"] = data.title.strip(), data.description.strip()
    return Exam(status=ExamStatus.DRAFT, created_by_id=actor.id, **values)


def create_exam(actor: User, data: ExamData) -> Exam:
    _check_settings(data)
    exam = _new_exam(actor, data)
    db.session.add(exam)
    db.session.flush()
    record(
        actor,
        "exam.created",
        exam,
        f"新建考试《{exam.title}》",
        {"settings": {k: _plain(getattr(data, k)) for k in ExamData.__dataclass_fields__}},
        exam.township_id,
    )
    return exam


def update_exam(actor: User, exam: Exam, data: ExamData, now: datetime | None = None) -> list[str]:
    """Change the settings; returns the names of the fields that changed. After attempts
    the version policy is locked (the paper), the rest may change."""
    now = now or utcnow()
    _check_settings(data)
    if data.version_policy != exam.version_policy and attempt_count(exam):
        raise DomainError(
            "本考试已有作答，题目版本策略不能再修改（已作答的试卷按原版本评分）。"
            "如需调整，请「复制为新考试」。",
            field="version_policy",
        )
    changed = _apply(exam, data)
    if "version_policy" in changed and exam.status == ExamStatus.PUBLISHED:
        exam.pinned_at = now if exam.version_policy == VersionPolicy.PINNED else None
    if not changed:
        return []
    db.session.flush()
    labels = "、".join(SETTING_LABELS[k] for k in changed)
    record(
        actor,
        "exam.updated",
        exam,
        f"修改考试《{exam.title}》的设置：{labels}",
        {"changed": changed, "attempts": attempt_count(exam)},
        exam.township_id,
    )
    return list(changed)


# --- the blueprint -------------------------------------------------------------------------


def _check_section(data: SectionData, n: int) -> None:
    where = f"第 {n} 部分："
    title = data.title.strip()
    if not title:
        raise DomainError(where + "请填写部分名称。", field="title")
    if len(title) > 80:
        raise DomainError(where + "部分名称不能超过 80 个字。", field="title")
    if not 0 < data.points <= 100:
        raise DomainError(where + "每题分值应大于 0、不超过 100。", field="points")
    if data.question_ids:
        ids = set(data.question_ids)
        found = set(db.session.scalars(sa.select(Question.id).where(Question.id.in_(ids))))
        missing = sorted(ids - found)
        if missing:
            raise DomainError(
                where + f"题目 {', '.join(f'#{i}' for i in missing)} 不存在。",
                field="question_ids",
            )
        if len(ids) != len(data.question_ids):
            raise DomainError(where + "指定题目有重复。", field="question_ids")
        return
    problems = rules.check_counts(dict(data.counts))
    if problems:
        raise DomainError(where + "；".join(problems), field="counts")
    if not any(data.counts.values()):
        raise DomainError(where + "请至少填写一种难度的题数，或改为指定题目。", field="counts")
    unknown = sorted(set(data.qtypes) - set(DRAWN_TYPES))
    if unknown:
        raise DomainError(where + f"不能随机抽取的题型：{', '.join(unknown)}。", field="qtypes")
    if data.item_ids:
        ids = set(data.item_ids)
        found = set(db.session.scalars(sa.select(ServiceItem.id).where(ServiceItem.id.in_(ids))))
        if ids - found:
            raise DomainError(where + "所选事项有的不存在。", field="item_ids")


def _summary(section: ExamSection) -> dict:
    return {
        "title": section.title,
        "points": section.points,
        "item_ids": list(section.item_ids),
        "category": _plain(section.category),
        "dimension": _plain(section.dimension),
        "qtypes": list(section.qtypes),
        "counts": dict(section.counts),
        "question_ids": list(section.question_ids),
    }


def section_size(section: ExamSection | SectionData) -> int:
    if section.question_ids:
        return len(section.question_ids)
    return sum(int(v or 0) for v in section.counts.values())


def set_sections(actor: User, exam: Exam, sections: Sequence[SectionData]) -> list[ExamSection]:
    """Replace the blueprint by ``sections`` in this order. A SectionData with the id of an
    existing section updates it (its id, and links to it, stay); one without an id is new;
    existing sections not listed are removed. Refused once the exam has attempts."""
    lock = blueprint_lock(exam)
    if lock:
        raise DomainError(lock)
    existing = {s.id: s for s in exam.sections}
    for n, data in enumerate(sections, 1):
        _check_section(data, n)
        if data.id is not None and data.id not in existing:
            raise DomainError(f"第 {n} 部分不属于本考试。")
    if len({d.id for d in sections if d.id is not None}) != sum(
        1 for d in sections if d.id is not None
    ):
        raise DomainError("同一部分出现了两次。")
    ordered = []
    for n, data in enumerate(sections, 1):
        section = existing.get(data.id) if data.id is not None else ExamSection()
        section.title = data.title.strip()
        section.points = float(data.points)
        section.question_ids = [int(q) for q in data.question_ids]
        fixed = bool(section.question_ids)
        section.item_ids = [] if fixed else sorted(int(i) for i in data.item_ids)
        section.category = None if fixed else data.category
        section.dimension = None if fixed else data.dimension
        section.qtypes = [] if fixed else sorted(data.qtypes)
        section.counts = (
            {} if fixed else {k: int(v) for k, v in data.counts.items() if int(v or 0) > 0}
        )
        section.position = -n  # out of the way of the unique (exam, position) first
        ordered.append(section)
    exam.sections = ordered  # sections left out are deleted (delete-orphan)
    db.session.flush()
    for n, section in enumerate(ordered, 1):
        section.position = n
    db.session.flush()
    record(
        actor,
        "exam.sections_set",
        exam,
        f"修改考试《{exam.title}》的题目组成：{len(ordered)} 个部分，"
        f"共 {sum(section_size(s) for s in ordered)} 题",
        {"sections": [_summary(s) for s in ordered]},
        exam.township_id,
    )
    return ordered


def save_section(actor: User, exam: Exam, data: SectionData) -> ExamSection:
    """Add a section at the end, or update the section ``data.id`` in place."""
    current = [section_data(s) for s in exam.sections]
    if data.id is None:
        current.append(data)
        return set_sections(actor, exam, current)[-1]
    index = next((i for i, s in enumerate(current) if s.id == data.id), None)
    if index is None:
        raise DomainError("该部分不属于本考试。")
    current[index] = data
    return set_sections(actor, exam, current)[index]


def remove_section(actor: User, exam: Exam, section_id: int) -> None:
    current = [section_data(s) for s in exam.sections]
    kept = [s for s in current if s.id != section_id]
    if len(kept) == len(current):
        raise DomainError("该部分不属于本考试。")
    set_sections(actor, exam, kept)


def move_section(actor: User, exam: Exam, section_id: int, offset: int) -> None:
    current = [section_data(s) for s in exam.sections]
    index = next((i for i, s in enumerate(current) if s.id == section_id), None)
    if index is None:
        raise DomainError("该部分不属于本考试。")
    target = max(0, min(len(current) - 1, index + offset))
    if target == index:
        return
    current.insert(target, current.pop(index))
    set_sections(actor, exam, current)


# --- publishing and the life cycle ---------------------------------------------------------


def publish_exam(actor: User, exam: Exam, now: datetime | None = None) -> None:
    """Make the exam visible to its candidates. Refused with every problem at once
    (PublishError). A pinned exam draws the versions current at this moment."""
    now = now or utcnow()
    if exam.status == ExamStatus.PUBLISHED:
        raise DomainError("考试已经发布。")
    if exam.status == ExamStatus.ARCHIVED:
        raise DomainError("考试已归档，请先「恢复为草稿」再发布。")
    problems = publish_problems(exam, now)
    if problems:
        raise PublishError(problems)
    exam.status = ExamStatus.PUBLISHED
    exam.published_at = now
    exam.pinned_at = now if exam.version_policy == VersionPolicy.PINNED else None
    db.session.flush()
    record(
        actor,
        "exam.published",
        exam,
        f"发布考试《{exam.title}》" + ("（题目版本固定为发布时的版本）" if exam.pinned_at else ""),
        {"pinned_at": _plain(exam.pinned_at)},
        exam.township_id,
    )


def _refuse_if_in_progress(exam: Exam, doing: str) -> None:
    n = open_attempt_count(exam)
    if n:
        raise DomainError(f"有 {n} 名考生正在作答，现在不能{doing}。请等他们交卷或到时后再操作。")


def unpublish_exam(actor: User, exam: Exam) -> None:
    if exam.status != ExamStatus.PUBLISHED:
        raise DomainError("只有已发布的考试可以撤回。")
    _refuse_if_in_progress(exam, "撤回")
    exam.status = ExamStatus.DRAFT
    db.session.flush()
    record(actor, "exam.unpublished", exam, f"撤回考试《{exam.title}》为草稿", {}, exam.township_id)


def archive_exam(actor: User, exam: Exam) -> None:
    if exam.status == ExamStatus.ARCHIVED:
        raise DomainError("考试已经归档。")
    _refuse_if_in_progress(exam, "归档")
    before = exam.status
    exam.status = ExamStatus.ARCHIVED
    db.session.flush()
    record(
        actor,
        "exam.archived",
        exam,
        f"归档考试《{exam.title}》（原为{before.label}）",
        {"before": before.value},
        exam.township_id,
    )


def restore_exam(actor: User, exam: Exam) -> None:
    if exam.status != ExamStatus.ARCHIVED:
        raise DomainError("只有已归档的考试可以恢复。")
    exam.status = ExamStatus.DRAFT
    db.session.flush()
    record(actor, "exam.restored", exam, f"恢复考试《{exam.title}》为草稿", {}, exam.township_id)


def duplicate_exam(actor: User, exam: Exam) -> Exam:
    """A draft copy with the same settings and blueprint, for changing a paper that has
    attempts (the original and its results stay as they are)."""
    data = exam_data(exam)
    title = f"{exam.title}（副本）"
    if len(title) > 120:
        title = exam.title[: 120 - 4] + "（副本）"
    copy = _new_exam(actor, ExamData(**{**data.__dict__, "title": title}))
    copy.sections = [
        ExamSection(
            position=s.position,
            title=s.title,
            points=s.points,
            item_ids=list(s.item_ids),
            category=s.category,
            dimension=s.dimension,
            qtypes=list(s.qtypes),
            counts=dict(s.counts),
            question_ids=list(s.question_ids),
        )
        for s in exam.sections
    ]
    db.session.add(copy)
    db.session.flush()
    record(
        actor,
        "exam.duplicated",
        copy,
        f"复制考试《{exam.title}》为新草稿《{copy.title}》",
        {"source": exam.id},
        copy.township_id,
    )
    return copy
