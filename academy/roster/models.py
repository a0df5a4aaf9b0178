"""Agent roster: people and their postings to villages. History is never deleted."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from academy.db import Base, LabelledEnum, TimestampMixin, enum_column

if TYPE_CHECKING:
    from academy.regions.models import Village


class AgentKind(LabelledEnum):
    FULL_TIME = ("full_time", "专职代办员")
    FALLBACK = ("fallback", "兜底代办员")
    VOLUNTEER = ("volunteer", "志愿者")


class Gender(LabelledEnum):
    MALE = ("male", "男")
    FEMALE = ("female", "女")


class Education(LabelledEnum):
    PRIMARY = ("primary", "小学")
    JUNIOR = ("junior", "初中")
    SENIOR = ("senior", "高中/中专")
    COLLEGE = ("college", "大专")
    BACHELOR = ("bachelor", "本科及以上")


class LeaveReason(LabelledEnum):
    RESIGNED = ("resigned", "辞职")
    TRANSFERRED = ("transferred", "调动")
    RETIRED = ("retired", "退休")
    REPLACED = ("replaced", "换届/调整")
    DISMISSED = ("dismissed", "解聘")
    DECEASED = ("deceased", "去世")
    OTHER = ("other", "其他")


class Agent(TimestampMixin, Base):
    """A person who is or was an agent. Their postings carry village and dates."""

    __tablename__ = "agent"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(40), index=True)
    phone: Mapped[str] = mapped_column(sa.String(20), index=True)
    id_number: Mapped[str | None] = mapped_column(sa.String(18), unique=True)
    birth_year: Mapped[int | None]
    gender: Mapped[Gender | None] = mapped_column(enum_column(Gender, "gender"))
    education: Mapped[Education | None] = mapped_column(enum_column(Education, "education"))

    postings: Mapped[list[Posting]] = relationship(
        back_populates="agent", order_by="(Posting.joined_on, Posting.id)"
    )

    @property
    def current_posting(self) -> Posting | None:
        return next((p for p in self.postings if p.left_on is None), None)

    def __str__(self) -> str:
        return self.name


class Posting(TimestampMixin, Base):
    """One spell of an agent at a village: joined_on .. left_on (open while active)."""

    __tablename__ = "posting"
    __table_args__ = (
        sa.CheckConstraint("left_on IS NULL OR left_on >= joined_on", name="dates_ordered"),
        sa.CheckConstraint(
            "(left_on IS NULL AND leave_reason IS NULL) OR "
            "(left_on IS NOT NULL AND leave_reason IS NOT NULL)",
            name="leave_complete",
        ),
        # At most one active posting per agent.
        sa.Index(
            "uq_posting_active_agent",
            "agent_id",
            unique=True,
            sqlite_where=sa.text("left_on IS NULL"),
            postgresql_where=sa.text("left_on IS NULL"),
        ),
        sa.Index("ix_posting_village_active", "village_id", "left_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    agent_id: Mapped[int] = mapped_column(sa.ForeignKey("agent.id"), index=True)
    village_id: Mapped[int] = mapped_column(sa.ForeignKey("village.id"), index=True)
    kind: Mapped[AgentKind] = mapped_column(enum_column(AgentKind, "agent_kind"))
    joined_on: Mapped[date]
    left_on: Mapped[date | None] = mapped_column(index=True)
    leave_reason: Mapped[LeaveReason | None] = mapped_column(
        enum_column(LeaveReason, "leave_reason")
    )
    leave_note: Mapped[str | None] = mapped_column(sa.String(200))

    agent: Mapped[Agent] = relationship(back_populates="postings")
    village: Mapped[Village] = relationship()

    @property
    def active(self) -> bool:
        return self.left_on is None
