"""The annual skills competition: a competition per year with rounds, the marking scheme
of each judged round, registered candidates with anonymous numbers, judges and their
assignments, mark sheets, moderation, corrections, appeals and published results.

Marks are never overwritten after a round is locked: a later change is a
:class:`Correction` approved by the chief judge, which keeps the old and the new value.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from academy.db import Base, LabelledEnum, TimestampMixin, enum_column, utcnow
from academy.questions.models import Dimension

if TYPE_CHECKING:
    from academy.auth.models import User
    from academy.exams.models import Exam
    from academy.regions.models import Township, Village
    from academy.roster.models import Agent


class CompetitionStatus(LabelledEnum):
    DRAFT = ("draft", "筹备中")
    REGISTRATION = ("registration", "报名中")
    RUNNING = ("running", "比赛中")
    PUBLISHED = ("published", "已公布结果")


class RoundKind(LabelledEnum):
    WRITTEN = ("written", "笔试（考试系统自动评分）")
    PRACTICAL = ("practical", "实操（情景模拟）")
    LIVE = ("live", "现场情景演练（评委评分）")


class RoundStatus(LabelledEnum):
    OPEN = ("open", "评分中")
    LOCKED = ("locked", "已锁定")


class CriterionKind(LabelledEnum):
    MEASUREMENT = ("measurement", "测量（客观计分）")
    JUDGEMENT = ("judgement", "评判（0–3 级）")


class SheetState(LabelledEnum):
    DRAFT = ("draft", "草稿")
    SUBMITTED = ("submitted", "已提交")


class CorrectionState(LabelledEnum):
    PENDING = ("pending", "待审批")
    APPROVED = ("approved", "已批准")
    REJECTED = ("rejected", "已驳回")


class AppealState(LabelledEnum):
    PENDING = ("pending", "待裁决")
    UPHELD = ("upheld", "申诉成立")
    REJECTED = ("rejected", "申诉不成立")


class Award(LabelledEnum):
    FIRST = ("first", "一等奖")
    SECOND = ("second", "二等奖")
    THIRD = ("third", "三等奖")
    EXCELLENT = ("excellent", "优秀代办员")


class Competition(TimestampMixin, Base):
    __tablename__ = "competition"
    __table_args__ = (
        sa.CheckConstraint("quota_per_township BETWEEN 1 AND 100", name="quota_range"),
        sa.CheckConstraint("appeal_days BETWEEN 0 AND 30", name="appeal_days_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(unique=True)
    title: Mapped[str] = mapped_column(sa.String(120))
    status: Mapped[CompetitionStatus] = mapped_column(
        enum_column(CompetitionStatus, "competition_status"), default=CompetitionStatus.DRAFT
    )
    # Eligible: active agents who joined on or before this day.
    joined_before: Mapped[date]
    registration_closes_on: Mapped[date]
    quota_per_township: Mapped[int] = mapped_column(default=3)
    appeal_days: Mapped[int] = mapped_column(default=3)  # after a round is locked
    awards_first: Mapped[int] = mapped_column(default=1)
    awards_second: Mapped[int] = mapped_column(default=2)
    awards_third: Mapped[int] = mapped_column(default=3)
    awards_excellent: Mapped[int] = mapped_column(default=6)
    chief_judge_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    # When registration closed and the competition began: simulation runs of a practical
    # round count from then on.
    started_at: Mapped[datetime | None]
    published_at: Mapped[datetime | None]
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))

    rounds: Mapped[list[CompetitionRound]] = relationship(
        back_populates="competition", order_by="CompetitionRound.position"
    )
    chief_judge: Mapped[User | None] = relationship(foreign_keys=[chief_judge_id])


class CompetitionRound(Base):
    __tablename__ = "competition_round"
    __table_args__ = (
        sa.UniqueConstraint("competition_id", "position", name="uq_competition_round_position"),
        sa.CheckConstraint("weight >= 0 AND weight <= 100", name="weight_range"),
        sa.CheckConstraint("judges_per_candidate BETWEEN 1 AND 9", name="judges_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    competition_id: Mapped[int] = mapped_column(sa.ForeignKey("competition.id"), index=True)
    position: Mapped[int]
    kind: Mapped[RoundKind] = mapped_column(enum_column(RoundKind, "round_kind"))
    title: Mapped[str] = mapped_column(sa.String(80))
    weight: Mapped[float] = mapped_column(default=0.0)  # percent of the total
    exam_id: Mapped[int | None] = mapped_column(sa.ForeignKey("exam.id"), index=True)
    # Practical round: the simulation case slugs the candidates play.
    case_slugs: Mapped[list] = mapped_column(sa.JSON, default=list)
    judges_per_candidate: Mapped[int] = mapped_column(default=3)
    trim_from: Mapped[int] = mapped_column(default=5)
    status: Mapped[RoundStatus] = mapped_column(
        enum_column(RoundStatus, "round_status"), default=RoundStatus.OPEN
    )
    assignment_seed: Mapped[int | None] = mapped_column(sa.BigInteger)
    locked_at: Mapped[datetime | None]
    locked_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))

    competition: Mapped[Competition] = relationship(back_populates="rounds")
    exam: Mapped[Exam | None] = relationship()
    criteria: Mapped[list[Criterion]] = relationship(
        back_populates="round", order_by="Criterion.position", cascade="all, delete-orphan"
    )

    @property
    def judged(self) -> bool:
        return self.kind != RoundKind.WRITTEN and bool(self.criteria)

    @property
    def locked(self) -> bool:
        return self.status == RoundStatus.LOCKED


class Criterion(Base):
    __tablename__ = "competition_criterion"
    __table_args__ = (
        sa.UniqueConstraint("round_id", "position", name="uq_competition_criterion_position"),
        sa.CheckConstraint("max_points > 0 AND max_points <= 100", name="max_points_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(sa.ForeignKey("competition_round.id"), index=True)
    position: Mapped[int]
    title: Mapped[str] = mapped_column(sa.String(120))
    kind: Mapped[CriterionKind] = mapped_column(enum_column(CriterionKind, "criterion_kind"))
    max_points: Mapped[float]
    dimension: Mapped[Dimension] = mapped_column(enum_column(Dimension, "dimension"))
    # Judgement: the descriptor of each level 0..3; measurement: what earns the points.
    descriptors: Mapped[list] = mapped_column(sa.JSON, default=list)
    spread_limit: Mapped[float | None]

    round: Mapped[CompetitionRound] = relationship(back_populates="criteria")


class CompetitionJudge(Base):
    """An expert on the competition's panel; their home township (user.township_id) keeps
    them away from that township's candidates."""

    __tablename__ = "competition_judge"
    __table_args__ = (
        sa.UniqueConstraint("competition_id", "user_id", name="uq_competition_judge_user"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    competition_id: Mapped[int] = mapped_column(sa.ForeignKey("competition.id"), index=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"), index=True)
    home_township_id: Mapped[int | None] = mapped_column(sa.ForeignKey("township.id"))
    code: Mapped[str] = mapped_column(sa.String(8))  # 评委 1, 2 … as shown to the chief judge

    user: Mapped[User] = relationship()
    home_township: Mapped[Township | None] = relationship()


class Entry(Base):
    """A registered candidate. Judges see only ``number`` until results are published."""

    __tablename__ = "competition_entry"
    __table_args__ = (
        sa.UniqueConstraint("competition_id", "agent_id", name="uq_competition_entry_agent"),
        sa.UniqueConstraint("competition_id", "number", name="uq_competition_entry_number"),
        sa.Index("ix_competition_entry_township", "competition_id", "township_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    competition_id: Mapped[int] = mapped_column(sa.ForeignKey("competition.id"))
    agent_id: Mapped[int] = mapped_column(sa.ForeignKey("agent.id"), index=True)
    township_id: Mapped[int] = mapped_column(sa.ForeignKey("township.id"))
    village_id: Mapped[int] = mapped_column(sa.ForeignKey("village.id"))
    number: Mapped[str] = mapped_column(sa.String(8))
    nominated_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    withdrawn_at: Mapped[datetime | None]
    withdraw_reason: Mapped[str | None] = mapped_column(sa.String(200))

    competition: Mapped[Competition] = relationship()
    agent: Mapped[Agent] = relationship()
    township: Mapped[Township] = relationship()
    village: Mapped[Village] = relationship()


class Assignment(Base):
    __tablename__ = "competition_assignment"
    __table_args__ = (
        sa.UniqueConstraint("round_id", "entry_id", "judge_id", name="uq_competition_assignment"),
        sa.Index("ix_competition_assignment_judge", "judge_id", "round_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(sa.ForeignKey("competition_round.id"))
    entry_id: Mapped[int] = mapped_column(sa.ForeignKey("competition_entry.id"), index=True)
    judge_id: Mapped[int] = mapped_column(sa.ForeignKey("competition_judge.id"))

    entry: Mapped[Entry] = relationship()
    judge: Mapped[CompetitionJudge] = relationship()


class Sheet(Base):
    """One judge's marks for one candidate in one round: a draft until submitted."""

    __tablename__ = "competition_sheet"
    __table_args__ = (
        sa.UniqueConstraint("round_id", "entry_id", "judge_id", name="uq_competition_sheet"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(sa.ForeignKey("competition_round.id"), index=True)
    entry_id: Mapped[int] = mapped_column(sa.ForeignKey("competition_entry.id"), index=True)
    judge_id: Mapped[int] = mapped_column(sa.ForeignKey("competition_judge.id"), index=True)
    state: Mapped[SheetState] = mapped_column(
        enum_column(SheetState, "sheet_state"), default=SheetState.DRAFT
    )
    comment: Mapped[str] = mapped_column(sa.Text, default="")
    # The device's save counter: an older save arriving late never overwrites a newer one.
    seq: Mapped[int] = mapped_column(default=0)
    saved_at: Mapped[datetime | None]
    submitted_at: Mapped[datetime | None]

    marks: Mapped[list[Mark]] = relationship(back_populates="sheet")
    judge: Mapped[CompetitionJudge] = relationship()
    entry: Mapped[Entry] = relationship()


class Mark(Base):
    __tablename__ = "competition_mark"
    __table_args__ = (
        sa.UniqueConstraint("sheet_id", "criterion_id", name="uq_competition_mark"),
        sa.CheckConstraint("value >= 0 AND value <= 100", name="value_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    sheet_id: Mapped[int] = mapped_column(sa.ForeignKey("competition_sheet.id"))
    criterion_id: Mapped[int] = mapped_column(sa.ForeignKey("competition_criterion.id"), index=True)
    value: Mapped[float]

    sheet: Mapped[Sheet] = relationship(back_populates="marks")
    criterion: Mapped[Criterion] = relationship()


class RoundScore(Base):
    """A candidate's result in an automatically scored round (written exam or practical
    simulation), taken from that engine when the round is locked or refreshed."""

    __tablename__ = "competition_round_score"
    __table_args__ = (
        sa.UniqueConstraint("round_id", "entry_id", name="uq_competition_round_score"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(sa.ForeignKey("competition_round.id"), index=True)
    entry_id: Mapped[int] = mapped_column(sa.ForeignKey("competition_entry.id"), index=True)
    percent: Mapped[float]
    by_dimension: Mapped[dict] = mapped_column(sa.JSON, default=dict)  # dimension → percent
    source: Mapped[str] = mapped_column(sa.String(80), default="")  # e.g. "exam_attempt:17"
    computed_at: Mapped[datetime] = mapped_column(default=utcnow)


class Moderation(Base):
    """The chief judge has looked at a flagged (candidate, criterion) and let it stand or
    had it re-marked."""

    __tablename__ = "competition_moderation"
    __table_args__ = (
        sa.UniqueConstraint(
            "round_id", "entry_id", "criterion_id", name="uq_competition_moderation"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(sa.ForeignKey("competition_round.id"), index=True)
    entry_id: Mapped[int] = mapped_column(sa.ForeignKey("competition_entry.id"))
    criterion_id: Mapped[int] = mapped_column(sa.ForeignKey("competition_criterion.id"))
    note: Mapped[str] = mapped_column(sa.String(300))
    resolved_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    resolved_at: Mapped[datetime] = mapped_column(default=utcnow)


class Appeal(Base):
    __tablename__ = "competition_appeal"

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(sa.ForeignKey("competition_entry.id"), index=True)
    round_id: Mapped[int] = mapped_column(sa.ForeignKey("competition_round.id"), index=True)
    reason: Mapped[str] = mapped_column(sa.Text)
    filed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    filed_at: Mapped[datetime] = mapped_column(default=utcnow)
    state: Mapped[AppealState] = mapped_column(
        enum_column(AppealState, "appeal_state"), default=AppealState.PENDING
    )
    decision: Mapped[str | None] = mapped_column(sa.Text)
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    decided_at: Mapped[datetime | None]

    entry: Mapped[Entry] = relationship()
    round: Mapped[CompetitionRound] = relationship()


class Correction(Base):
    """A change to a locked mark (or automatic round score): who asked, why, old → new,
    and the chief judge's decision. Approved corrections are applied and audited."""

    __tablename__ = "competition_correction"
    __table_args__ = (
        sa.CheckConstraint("(mark_id IS NULL) != (round_score_id IS NULL)", name="one_target"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(sa.ForeignKey("competition_round.id"), index=True)
    entry_id: Mapped[int] = mapped_column(sa.ForeignKey("competition_entry.id"), index=True)
    mark_id: Mapped[int | None] = mapped_column(sa.ForeignKey("competition_mark.id"))
    round_score_id: Mapped[int | None] = mapped_column(sa.ForeignKey("competition_round_score.id"))
    appeal_id: Mapped[int | None] = mapped_column(sa.ForeignKey("competition_appeal.id"))
    old_value: Mapped[float]
    new_value: Mapped[float]
    reason: Mapped[str] = mapped_column(sa.String(300))
    state: Mapped[CorrectionState] = mapped_column(
        enum_column(CorrectionState, "correction_state"), default=CorrectionState.PENDING
    )
    requested_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    decided_at: Mapped[datetime | None]

    mark: Mapped[Mark | None] = relationship()
    entry: Mapped[Entry] = relationship()


class Result(Base):
    """The published standing of a candidate (computed at publication, kept as published)."""

    __tablename__ = "competition_result"
    __table_args__ = (
        sa.UniqueConstraint("competition_id", "entry_id", name="uq_competition_result"),
        sa.UniqueConstraint("certificate_code", name="uq_competition_result_code"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    competition_id: Mapped[int] = mapped_column(sa.ForeignKey("competition.id"), index=True)
    entry_id: Mapped[int] = mapped_column(sa.ForeignKey("competition_entry.id"))
    total: Mapped[float]
    rank: Mapped[int]
    township_rank: Mapped[int]
    award: Mapped[Award | None] = mapped_column(enum_column(Award, "competition_award"))
    by_round: Mapped[dict] = mapped_column(sa.JSON, default=dict)  # round id → percent
    by_dimension: Mapped[dict] = mapped_column(sa.JSON, default=dict)  # dimension → percent
    tie_broken_by: Mapped[str | None] = mapped_column(sa.String(20))
    certificate_code: Mapped[str | None] = mapped_column(sa.String(20))
    certificate_html: Mapped[str | None] = mapped_column(sa.Text)  # frozen at publication
    published_at: Mapped[datetime] = mapped_column(default=utcnow)

    entry: Mapped[Entry] = relationship()
