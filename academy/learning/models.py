"""Course modules (一事项一指南), their revisions, learner progress and onboarding plans."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from academy.db import Base, LabelledEnum, TimestampMixin, enum_column, utcnow

if TYPE_CHECKING:
    from academy.catalogue.models import ServiceItem
    from academy.regions.models import Village
    from academy.roster.models import Agent


class ProgressStatus(LabelledEnum):
    NOT_STARTED = ("not_started", "未开始")
    IN_PROGRESS = ("in_progress", "学习中")
    PRACTISED = ("practised", "已练习")
    PASSED = ("passed", "已通过")


class RevisionSource(LabelledEnum):
    SYNC = ("sync", "内容文件同步")
    WEB = ("web", "网页编辑")
    REVERT = ("revert", "恢复旧版本")


class Module(TimestampMixin, Base):
    """A module's canonical form is its YAML source text (comments included);
    ``document`` is the parsed, validated copy the pages render from."""

    __tablename__ = "module"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(sa.String(80), unique=True)
    item_id: Mapped[int] = mapped_column(sa.ForeignKey("service_item.id"), unique=True)
    title: Mapped[str] = mapped_column(sa.String(120))
    source: Mapped[str] = mapped_column(sa.Text)
    document: Mapped[dict] = mapped_column(sa.JSON)
    version: Mapped[int] = mapped_column(default=1)
    retired: Mapped[bool] = mapped_column(default=False)

    item: Mapped[ServiceItem] = relationship()
    revisions: Mapped[list[ModuleRevision]] = relationship(
        back_populates="module", order_by="ModuleRevision.version.desc()"
    )


class ModuleRevision(Base):
    __tablename__ = "module_revision"
    __table_args__ = (sa.UniqueConstraint("module_id", "version", name="module_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    module_id: Mapped[int] = mapped_column(sa.ForeignKey("module.id"), index=True)
    version: Mapped[int]
    source: Mapped[str] = mapped_column(sa.Text)
    author_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    origin: Mapped[RevisionSource] = mapped_column(enum_column(RevisionSource, "revision_source"))
    changed: Mapped[list] = mapped_column(sa.JSON, default=list)  # field paths that changed
    note: Mapped[str | None] = mapped_column(sa.String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    module: Mapped[Module] = relationship(back_populates="revisions")


class ModuleProgress(TimestampMixin, Base):
    __tablename__ = "module_progress"
    __table_args__ = (sa.UniqueConstraint("agent_id", "module_id", name="agent_module"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agent_id: Mapped[int] = mapped_column(sa.ForeignKey("agent.id"), index=True)
    module_id: Mapped[int] = mapped_column(sa.ForeignKey("module.id"), index=True)
    status: Mapped[ProgressStatus] = mapped_column(
        enum_column(ProgressStatus, "progress_status"),
        default=ProgressStatus.IN_PROGRESS,
        index=True,
    )
    section: Mapped[str] = mapped_column(sa.String(20), default="guide")  # where to resume
    practice: Mapped[dict] = mapped_column(sa.JSON, default=dict)  # part -> {answer, correct}
    check_attempts: Mapped[int] = mapped_column(default=0)
    best_score: Mapped[float | None]
    passed_at: Mapped[datetime | None] = mapped_column(index=True)

    module: Mapped[Module] = relationship()


class Curriculum(Base):
    """An ordered list of items to learn. Plans with the same list share one curriculum (it is
    found by ``digest``), so a village's newcomers add one plan row each, not one row per item:
    a roster import of 50,000 agents writes 50,000 plans and a few hundred curricula."""

    __tablename__ = "curriculum"

    id: Mapped[int] = mapped_column(primary_key=True)
    digest: Mapped[str] = mapped_column(sa.String(64), unique=True)  # sha256 of the item ids
    size: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    items: Mapped[list[CurriculumItem]] = relationship(
        back_populates="curriculum", order_by="CurriculumItem.position"
    )


class CurriculumItem(Base):
    __tablename__ = "curriculum_item"
    __table_args__ = (sa.UniqueConstraint("curriculum_id", "item_id", name="curriculum_item_once"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    curriculum_id: Mapped[int] = mapped_column(sa.ForeignKey("curriculum.id"), index=True)
    item_id: Mapped[int] = mapped_column(sa.ForeignKey("service_item.id"), index=True)
    position: Mapped[int]

    curriculum: Mapped[Curriculum] = relationship(back_populates="items")
    item: Mapped[ServiceItem] = relationship()


class OnboardingPlan(TimestampMixin, Base):
    """What a new (or moved) agent must learn for the village they serve, and by when."""

    __tablename__ = "onboarding_plan"
    __table_args__ = (sa.Index("ix_onboarding_plan_open_due", "completed_on", "due_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agent_id: Mapped[int] = mapped_column(sa.ForeignKey("agent.id"), index=True)
    posting_id: Mapped[int] = mapped_column(sa.ForeignKey("posting.id"), unique=True)
    village_id: Mapped[int] = mapped_column(sa.ForeignKey("village.id"), index=True)
    # The items of the plan, in order: those the village offered when the plan was made.
    curriculum_id: Mapped[int] = mapped_column(sa.ForeignKey("curriculum.id"), index=True)
    due_on: Mapped[date] = mapped_column(index=True)
    # The day the last entry was passed. Kept by the learning services (the only writers of
    # progress) so that "overdue" is an indexed lookup on a province-sized roster.
    completed_on: Mapped[date | None]

    agent: Mapped[Agent] = relationship()
    village: Mapped[Village] = relationship()
    curriculum: Mapped[Curriculum] = relationship()

    @property
    def entries(self) -> list[CurriculumItem]:
        return self.curriculum.items


class CheckAttempt(Base):
    """Every submission of a module's short check (the renewal path counts recent passes)."""

    __tablename__ = "check_attempt"
    __table_args__ = (sa.Index("ix_check_attempt_agent_at", "agent_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agent_id: Mapped[int] = mapped_column(sa.ForeignKey("agent.id"))
    module_id: Mapped[int] = mapped_column(sa.ForeignKey("module.id"), index=True)
    score: Mapped[float]
    passed: Mapped[bool]
    at: Mapped[datetime] = mapped_column(default=utcnow)
