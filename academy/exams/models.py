"""Exams: blueprints, per-candidate attempts with their drawn questions, overrides.

An exam is a blueprint (sections that say how many questions of which tags and difficulty)
plus its settings. Each candidate's attempt draws its own questions from a stored seed and
keeps the *version* of every question it drew, so it is shown and graded as it was drawn,
whatever happens to the bank later. Answers are one row per drawn question, written by the
autosave in place (one UPDATE per save).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from academy.catalogue.models import ItemCategory
from academy.db import Base, LabelledEnum, TimestampMixin, enum_column, utcnow
from academy.questions.models import Dimension

if TYPE_CHECKING:
    from academy.auth.models import User
    from academy.catalogue.models import ServiceItem
    from academy.questions.models import Question, QuestionVersion
    from academy.regions.models import Township
    from academy.roster.models import Agent


class ExamStatus(LabelledEnum):
    DRAFT = ("draft", "草稿")
    PUBLISHED = ("published", "已发布")
    ARCHIVED = ("archived", "已归档")


class Layout(LabelledEnum):
    ONE_PER_PAGE = ("one_per_page", "每页一题")
    ALL_ON_ONE = ("all_on_one", "全部题目一页")


class ReviewWhen(LabelledEnum):
    NEVER = ("never", "不提供回顾")
    AFTER_SUBMIT = ("after_submit", "交卷后即可回顾")
    AFTER_CLOSE = ("after_close", "考试截止后才可回顾")


class VersionPolicy(LabelledEnum):
    LATEST = ("latest", "开考时的最新版本")
    PINNED = ("pinned", "固定为发布时的版本")


class AttemptState(LabelledEnum):
    IN_PROGRESS = ("in_progress", "作答中")
    MARKING = ("marking", "待人工评分")
    GRADED = ("graded", "已评分")


class FinishReason(LabelledEnum):
    SUBMITTED = ("submitted", "本人交卷")
    TIMEOUT = ("timeout", "到时自动交卷")


class Exam(TimestampMixin, Base):
    __tablename__ = "exam"
    __table_args__ = (
        sa.CheckConstraint("pass_percent BETWEEN 0 AND 100", name="pass_range"),
        sa.CheckConstraint(
            "time_limit_minutes IS NULL OR time_limit_minutes BETWEEN 1 AND 600", name="limit_range"
        ),
        sa.CheckConstraint(
            "attempts_allowed IS NULL OR attempts_allowed BETWEEN 1 AND 100", name="attempts_range"
        ),
        sa.CheckConstraint(
            "opens_at IS NULL OR closes_at IS NULL OR closes_at > opens_at", name="window_ordered"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(sa.String(120))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    status: Mapped[ExamStatus] = mapped_column(
        enum_column(ExamStatus, "exam_status"), default=ExamStatus.DRAFT, index=True
    )
    time_limit_minutes: Mapped[int | None]  # None: no time limit
    pass_percent: Mapped[float] = mapped_column(default=60.0)
    # None: unlimited. No column default: the ORM would put it in place of an explicit None.
    attempts_allowed: Mapped[int | None]
    opens_at: Mapped[datetime | None]  # UTC, like every stored datetime
    closes_at: Mapped[datetime | None]
    layout: Mapped[Layout] = mapped_column(
        enum_column(Layout, "exam_layout"), default=Layout.ONE_PER_PAGE
    )
    shuffle_questions: Mapped[bool] = mapped_column(default=True)
    shuffle_answers: Mapped[bool] = mapped_column(default=True)
    review_when: Mapped[ReviewWhen] = mapped_column(
        enum_column(ReviewWhen, "review_when"), default=ReviewWhen.AFTER_SUBMIT
    )
    review_shows_answers: Mapped[bool] = mapped_column(default=True)  # right answers + feedback
    version_policy: Mapped[VersionPolicy] = mapped_column(
        enum_column(VersionPolicy, "version_policy"), default=VersionPolicy.LATEST
    )
    pinned_at: Mapped[datetime | None]  # PINNED: draws use the versions current at this time
    # Who may sit it: the agents of one township, or (None) the whole county.
    township_id: Mapped[int | None] = mapped_column(sa.ForeignKey("township.id"), index=True)
    # What it assesses, for certification (an exam of a category counts for its scheme).
    category: Mapped[ItemCategory | None] = mapped_column(
        enum_column(ItemCategory, "item_category")
    )
    item_id: Mapped[int | None] = mapped_column(sa.ForeignKey("service_item.id"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    published_at: Mapped[datetime | None]

    sections: Mapped[list[ExamSection]] = relationship(
        back_populates="exam",
        order_by="ExamSection.position",
        cascade="all, delete-orphan",
    )
    township: Mapped[Township | None] = relationship()
    item: Mapped[ServiceItem | None] = relationship()
    created_by: Mapped[User | None] = relationship()


class ExamSection(Base):
    """A part of the blueprint: questions matching the tags, so many of each difficulty.

    ``counts`` maps "1", "2", "3" (difficulty) or "any" to a number of questions; every
    candidate gets exactly these counts, so the difficulty mix is the same for all.
    ``question_ids``, when set, are fixed questions (everyone gets them; counts unused).
    """

    __tablename__ = "exam_section"
    __table_args__ = (
        sa.UniqueConstraint("exam_id", "position", name="exam_section_position"),
        sa.CheckConstraint("points > 0", name="points_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    exam_id: Mapped[int] = mapped_column(sa.ForeignKey("exam.id"), index=True)
    position: Mapped[int]
    title: Mapped[str] = mapped_column(sa.String(80))
    points: Mapped[float] = mapped_column(default=1.0)  # per question
    item_ids: Mapped[list] = mapped_column(sa.JSON, default=list)  # empty: any item
    category: Mapped[ItemCategory | None] = mapped_column(
        enum_column(ItemCategory, "item_category")
    )
    dimension: Mapped[Dimension | None] = mapped_column(enum_column(Dimension, "dimension"))
    qtypes: Mapped[list] = mapped_column(sa.JSON, default=list)  # empty: any auto/essay type
    counts: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    question_ids: Mapped[list] = mapped_column(sa.JSON, default=list)

    exam: Mapped[Exam] = relationship(back_populates="sections")


class ExamOverride(Base):
    """Different settings for one agent, or for a township's group of candidates, with the
    reason. The most specific wins field by field: agent over township over the exam."""

    __tablename__ = "exam_override"
    __table_args__ = (
        sa.CheckConstraint("(agent_id IS NULL) != (township_id IS NULL)", name="one_subject"),
        sa.UniqueConstraint("exam_id", "agent_id", name="exam_override_agent"),
        sa.UniqueConstraint("exam_id", "township_id", name="exam_override_township"),
        sa.CheckConstraint(
            "extra_minutes IS NULL OR extra_minutes BETWEEN 1 AND 600", name="extra_range"
        ),
        sa.CheckConstraint(
            "extra_attempts IS NULL OR extra_attempts BETWEEN 1 AND 20", name="attempts_range"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    exam_id: Mapped[int] = mapped_column(sa.ForeignKey("exam.id"), index=True)
    agent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("agent.id"), index=True)
    township_id: Mapped[int | None] = mapped_column(sa.ForeignKey("township.id"))
    extra_minutes: Mapped[int | None]
    opens_at: Mapped[datetime | None]
    closes_at: Mapped[datetime | None]
    extra_attempts: Mapped[int | None]
    reason: Mapped[str] = mapped_column(sa.String(200))
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    exam: Mapped[Exam] = relationship()
    agent: Mapped[Agent | None] = relationship()
    township: Mapped[Township | None] = relationship()


class Attempt(Base):
    __tablename__ = "exam_attempt"
    __table_args__ = (
        sa.UniqueConstraint("exam_id", "agent_id", "number", name="exam_attempt_number"),
        # At most one attempt in progress per candidate and exam (a double click on 开始
        # cannot start two).
        sa.Index(
            "uq_exam_attempt_open",
            "exam_id",
            "agent_id",
            unique=True,
            sqlite_where=sa.text("state = 'in_progress'"),
            postgresql_where=sa.text("state = 'in_progress'"),
        ),
        sa.Index("ix_exam_attempt_agent", "agent_id", "started_at"),
        sa.Index("ix_exam_attempt_open_deadline", "state", "deadline"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    exam_id: Mapped[int] = mapped_column(sa.ForeignKey("exam.id"), index=True)
    agent_id: Mapped[int] = mapped_column(sa.ForeignKey("agent.id"))
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    # Denormalised from the agent's posting at the start, for township results and statistics.
    township_id: Mapped[int | None] = mapped_column(sa.ForeignKey("township.id"), index=True)
    number: Mapped[int]  # 1st, 2nd … attempt of this candidate at this exam
    seed: Mapped[int] = mapped_column(sa.BigInteger)
    state: Mapped[AttemptState] = mapped_column(
        enum_column(AttemptState, "attempt_state"), default=AttemptState.IN_PROGRESS
    )
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    deadline: Mapped[datetime | None]  # server-side truth; None: no limit and no closing time
    # The settings in force for this candidate when they started (shown to them).
    settings: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    submitted_at: Mapped[datetime | None]
    finish_reason: Mapped[FinishReason | None] = mapped_column(
        enum_column(FinishReason, "finish_reason")
    )
    score: Mapped[float | None]
    max_score: Mapped[float] = mapped_column(default=0.0)
    percent: Mapped[float | None]
    passed: Mapped[bool | None]
    graded_at: Mapped[datetime | None]
    reopened_count: Mapped[int] = mapped_column(default=0)

    exam: Mapped[Exam] = relationship()
    agent: Mapped[Agent] = relationship()
    answers: Mapped[list[AttemptAnswer]] = relationship(
        back_populates="attempt", order_by="AttemptAnswer.position"
    )


class AttemptAnswer(Base):
    """One drawn question of an attempt (pinned to the version drawn) and its answer."""

    __tablename__ = "attempt_answer"
    __table_args__ = (sa.UniqueConstraint("attempt_id", "position", name="attempt_position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(sa.ForeignKey("exam_attempt.id"))
    position: Mapped[int]  # 1-based, the order the candidate sees
    section_id: Mapped[int | None] = mapped_column(sa.ForeignKey("exam_section.id"))
    question_id: Mapped[int] = mapped_column(sa.ForeignKey("question.id"), index=True)
    version_id: Mapped[int] = mapped_column(sa.ForeignKey("question_version.id"), index=True)
    qtype: Mapped[str] = mapped_column(sa.String(20))
    points: Mapped[float]
    response: Mapped[Any] = mapped_column(sa.JSON(none_as_null=True), nullable=True)
    # The autosave's sequence number for this answer: a save older than the stored one (a
    # retry that arrives late) is ignored instead of overwriting a newer answer.
    seq: Mapped[int] = mapped_column(default=0)
    saved_at: Mapped[datetime | None]
    flagged: Mapped[bool] = mapped_column(default=False)  # "come back to this one"
    fraction: Mapped[float | None]  # 0..1 once graded
    score: Mapped[float | None]
    comment: Mapped[str | None] = mapped_column(sa.Text)  # the marker's feedback
    marked_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    marked_at: Mapped[datetime | None]

    attempt: Mapped[Attempt] = relationship(back_populates="answers")
    question: Mapped[Question] = relationship()
    version: Mapped[QuestionVersion] = relationship()
