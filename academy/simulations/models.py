"""Simulation cases (情景模拟), their versions, runs and the steps taken in a run.

A case's canonical form is its YAML text; every changed text is a new ``CaseVersion`` and a
run keeps the version it started on. Runs and their steps are never deleted.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from academy.db import Base, LabelledEnum, TimestampMixin, enum_column, utcnow

if TYPE_CHECKING:
    from academy.catalogue.models import ServiceItem
    from academy.roster.models import Agent


class VersionOrigin(LabelledEnum):
    SYNC = ("sync", "内容文件同步")
    WEB = ("web", "网页上传或编辑")


class RunState(LabelledEnum):
    ACTIVE = ("active", "进行中")
    FINISHED = ("finished", "已完成")


class SimCase(TimestampMixin, Base):
    __tablename__ = "sim_case"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(sa.String(80), unique=True)
    title: Mapped[str] = mapped_column(sa.String(120))
    # The first item of the case: certification and recommendations look it up by item.
    item_id: Mapped[int | None] = mapped_column(sa.ForeignKey("service_item.id"), index=True)
    current_version: Mapped[int] = mapped_column(default=1)
    retired: Mapped[bool] = mapped_column(default=False)

    item: Mapped[ServiceItem | None] = relationship()
    versions: Mapped[list[CaseVersion]] = relationship(
        back_populates="case", order_by="CaseVersion.number.desc()"
    )


class CaseVersion(Base):
    __tablename__ = "sim_case_version"
    __table_args__ = (sa.UniqueConstraint("case_id", "number", name="sim_case_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("sim_case.id"), index=True)
    number: Mapped[int]
    source: Mapped[str] = mapped_column(sa.Text)
    document: Mapped[dict] = mapped_column(sa.JSON)
    origin: Mapped[VersionOrigin] = mapped_column(enum_column(VersionOrigin, "sim_origin"))
    author_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    # A retired version takes no new steps (its case was withdrawn, or an expert retired it).
    retired: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    case: Mapped[SimCase] = relationship(back_populates="versions")


class SimRun(TimestampMixin, Base):
    __tablename__ = "sim_run"
    __table_args__ = (
        sa.Index("ix_sim_run_township_state", "township_id", "state"),
        sa.Index("ix_sim_run_agent_case", "agent_id", "case_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    agent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("agent.id"))
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"), index=True)  # previews
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("sim_case.id"), index=True)
    version_id: Mapped[int] = mapped_column(sa.ForeignKey("sim_case_version.id"), index=True)
    township_id: Mapped[int | None] = mapped_column(sa.ForeignKey("township.id"))  # served then
    preview: Mapped[bool] = mapped_column(default=False)  # an author trying the case
    seed: Mapped[int]  # draws (complications, persona detail) are reproducible from it
    seq: Mapped[int] = mapped_column(default=0)  # steps taken: the next post must carry it
    current_step: Mapped[str | None] = mapped_column(sa.String(40))
    state: Mapped[RunState] = mapped_column(
        enum_column(RunState, "sim_run_state"), default=RunState.ACTIVE
    )
    outcome: Mapped[str | None] = mapped_column(sa.String(20))
    score: Mapped[float | None]  # weighted 0..100 (marks pending: with them counted as 0)
    auto_score: Mapped[float | None]  # over the automatically scored steps
    dimension_scores: Mapped[dict] = mapped_column(sa.JSON, default=dict)  # dim -> percent
    pending_marks: Mapped[int] = mapped_column(default=0)
    finished_at: Mapped[datetime | None] = mapped_column(index=True)

    case: Mapped[SimCase] = relationship()
    version: Mapped[CaseVersion] = relationship()
    agent: Mapped[Agent | None] = relationship()
    steps: Mapped[list[RunStep]] = relationship(back_populates="run", order_by="RunStep.seq")

    @property
    def final(self) -> bool:
        return self.state == RunState.FINISHED and self.pending_marks == 0


class RunStep(Base):
    """One step taken, saved as it is taken (a reload resumes after the last one)."""

    __tablename__ = "sim_run_step"
    __table_args__ = (
        sa.UniqueConstraint("run_id", "seq", name="sim_run_seq"),
        sa.Index("ix_sim_run_step_pending", "pending"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(sa.ForeignKey("sim_run.id"))
    seq: Mapped[int]  # 1, 2, … in the order taken
    step_id: Mapped[str] = mapped_column(sa.String(40))
    kind: Mapped[str] = mapped_column(sa.String(20))
    response: Mapped[dict | list | str | None] = mapped_column(sa.JSON)
    result: Mapped[dict] = mapped_column(sa.JSON)  # kinds.Taken.as_dict()
    option: Mapped[str | None] = mapped_column(sa.String(40))  # a choice's option (statistics)
    fraction: Mapped[float | None]  # share of the step's points (statistics); None: unscored
    pending: Mapped[bool] = mapped_column(default=False)  # free text awaiting a mark
    mark: Mapped[float | None]
    mark_note: Mapped[str | None] = mapped_column(sa.String(500))
    marked_by: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    marked_at: Mapped[datetime | None]
    at: Mapped[datetime] = mapped_column(default=utcnow)

    run: Mapped[SimRun] = relationship(back_populates="steps")
