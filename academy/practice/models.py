"""Practice mode: an agent's Leitner card per question, their practice sessions and every
practice answer (the log that accuracy per item is computed from)."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from academy.db import Base, TimestampMixin, utcnow

if TYPE_CHECKING:
    from academy.catalogue.models import ServiceItem
    from academy.questions.models import Question


class PracticeCard(TimestampMixin, Base):
    """Where one question stands for one agent in the Leitner boxes (1..5)."""

    __tablename__ = "practice_card"
    __table_args__ = (
        sa.UniqueConstraint("agent_id", "question_id", name="practice_card_once"),
        sa.CheckConstraint("box BETWEEN 1 AND 5", name="box_range"),
        sa.Index("ix_practice_card_agent_due", "agent_id", "due_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    agent_id: Mapped[int] = mapped_column(sa.ForeignKey("agent.id"))
    question_id: Mapped[int] = mapped_column(sa.ForeignKey("question.id"), index=True)
    box: Mapped[int] = mapped_column(default=1)
    due_on: Mapped[date]
    last_answered_at: Mapped[datetime | None]
    last_fraction: Mapped[float | None]
    times_seen: Mapped[int] = mapped_column(default=0)
    times_wrong: Mapped[int] = mapped_column(default=0)

    question: Mapped[Question] = relationship()


class PracticeSession(Base):
    """A short run of questions chosen when the agent starts practising. Kept in the database
    (not the cookie): the list is the only state, and which question comes next is derived
    from the answers already given, so a refresh, the back button or a second tab can never
    count an answer twice or skip a question."""

    __tablename__ = "practice_session"
    __table_args__ = (sa.Index("ix_practice_session_agent_open", "agent_id", "finished_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agent_id: Mapped[int] = mapped_column(sa.ForeignKey("agent.id"))
    item_id: Mapped[int | None] = mapped_column(sa.ForeignKey("service_item.id"), index=True)
    question_ids: Mapped[list] = mapped_column(sa.JSON)  # in the order they are asked
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]

    item: Mapped[ServiceItem | None] = relationship()
    answers: Mapped[list[PracticeAnswer]] = relationship(
        back_populates="session", order_by="PracticeAnswer.id"
    )

    @property
    def size(self) -> int:
        return len(self.question_ids)


class PracticeAnswer(Base):
    """One graded practice answer, with the version it was graded against."""

    __tablename__ = "practice_answer"
    __table_args__ = (
        # A session never asks a question twice (several NULL sessions are allowed).
        sa.UniqueConstraint("session_id", "question_id", name="practice_answer_once"),
        sa.Index("ix_practice_answer_agent_item_at", "agent_id", "item_id", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    agent_id: Mapped[int] = mapped_column(sa.ForeignKey("agent.id"))
    question_id: Mapped[int] = mapped_column(sa.ForeignKey("question.id"), index=True)
    version_id: Mapped[int] = mapped_column(sa.ForeignKey("question_version.id"), index=True)
    session_id: Mapped[int | None] = mapped_column(sa.ForeignKey("practice_session.id"))
    # The question's item when answered, so accuracy per item is one indexed range per item.
    item_id: Mapped[int | None] = mapped_column(sa.ForeignKey("service_item.id"), index=True)
    response: Mapped[dict | list | str | bool | None] = mapped_column(sa.JSON)
    fraction: Mapped[float]
    at: Mapped[datetime] = mapped_column(default=utcnow)

    session: Mapped[PracticeSession | None] = relationship(back_populates="answers")
    question: Mapped[Question] = relationship()
