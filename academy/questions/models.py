"""Question banks, questions and their versions.

A question's content lives in versions: editing a question creates a new version, and an
attempt keeps the version it drew, so it is always shown and graded as it was.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from academy.db import Base, LabelledEnum, TimestampMixin, enum_column, utcnow

if TYPE_CHECKING:
    from academy.catalogue.models import ServiceItem


class Dimension(LabelledEnum):
    KNOWLEDGE = ("knowledge", "业务知识")
    ETIQUETTE = ("etiquette", "服务规范")
    EMERGENCY = ("emergency", "应急处置")


class BankSource(LabelledEnum):
    CONTENT = ("content", "内容文件")
    WEB = ("web", "网页创建")
    IMPORT = ("import", "文件导入")


class QuestionBank(TimestampMixin, Base):
    __tablename__ = "question_bank"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(sa.String(80), unique=True)
    title: Mapped[str] = mapped_column(sa.String(120))
    category: Mapped[str | None] = mapped_column(sa.String(200))  # Moodle-style path
    item_id: Mapped[int | None] = mapped_column(sa.ForeignKey("service_item.id"), index=True)
    source: Mapped[BankSource] = mapped_column(enum_column(BankSource, "bank_source"))
    # Content banks: the file they are loaded from (question_banks/….yaml), to say where to edit.
    path: Mapped[str | None] = mapped_column(sa.String(300))
    retired: Mapped[bool] = mapped_column(default=False)

    @property
    def editable(self) -> bool:
        """Web and import banks are edited on the web; content banks only in their file."""
        return self.source != BankSource.CONTENT

    item: Mapped[ServiceItem | None] = relationship()


class Question(TimestampMixin, Base):
    __tablename__ = "question"
    __table_args__ = (
        sa.CheckConstraint(
            "difficulty IS NULL OR difficulty BETWEEN 1 AND 3", name="difficulty_range"
        ),
        sa.Index("ix_question_draw", "retired", "item_id", "dimension", "difficulty", "qtype"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(140), unique=True)  # <bank slug>/<id> for content
    bank_id: Mapped[int] = mapped_column(sa.ForeignKey("question_bank.id"), index=True)
    qtype: Mapped[str] = mapped_column(sa.String(20))
    name: Mapped[str] = mapped_column(sa.String(200))
    item_id: Mapped[int | None] = mapped_column(sa.ForeignKey("service_item.id"))
    dimension: Mapped[Dimension | None] = mapped_column(enum_column(Dimension, "dimension"))
    difficulty: Mapped[int | None]
    current_version: Mapped[int] = mapped_column(default=1)
    # Retired questions are never drawn for new exams; they are kept (attempts use them).
    retired: Mapped[bool] = mapped_column(default=False)
    retired_reason: Mapped[str | None] = mapped_column(sa.String(200))

    bank: Mapped[QuestionBank] = relationship()
    item: Mapped[ServiceItem | None] = relationship()
    versions: Mapped[list[QuestionVersion]] = relationship(
        back_populates="question", order_by="QuestionVersion.number"
    )


class QuestionVersion(Base):
    """The content of a question at one point in time (the spec.Question fields as JSON)."""

    __tablename__ = "question_version"
    __table_args__ = (sa.UniqueConstraint("question_id", "number", name="question_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    question_id: Mapped[int] = mapped_column(sa.ForeignKey("question.id"), index=True)
    number: Mapped[int]
    data: Mapped[dict] = mapped_column(sa.JSON)
    author_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    note: Mapped[str | None] = mapped_column(sa.String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    question: Mapped[Question] = relationship(back_populates="versions")
