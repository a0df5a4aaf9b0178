"""The learning-event log (xAPI-like) and its monthly rollup for the activity charts.

``LearningEvent`` is append-only: rows are added by ``activity.services.record_event`` (or
in bulk by jobs) and never updated or deleted. Township and village are copied from the
learner's posting when the event happens, so that scoped exports and charts need no joins
and keep telling where the learner served *then*.
"""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from academy.db import Base, LabelledEnum, enum_column, utcnow

# 2M rows per year at a province's scale: a 64-bit id (SQLite's INTEGER is 64-bit already
# and must stay INTEGER to remain the rowid).
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


class Verb(LabelledEnum):
    OPENED = ("opened", "打开")
    ANSWERED = ("answered", "作答")
    PASSED = ("passed", "通过")
    FAILED = ("failed", "未通过")
    STARTED = ("started", "开始")
    SAVED = ("saved", "保存")
    SUBMITTED = ("submitted", "交卷")
    GRADED = ("graded", "评分")
    STEPPED = ("stepped", "完成一步")
    COMPLETED = ("completed", "完成")
    ISSUED = ("issued", "发证")
    RENEWED = ("renewed", "续期")
    REVOKED = ("revoked", "撤销")
    LAPSED = ("lapsed", "过期失效")


class ObjectType(LabelledEnum):
    MODULE = ("module", "课程模块")
    PRACTICE = ("practice", "练习")
    CHECK = ("check", "小测")
    EXAM = ("exam", "考试")
    ATTEMPT = ("attempt", "答卷")
    SIMULATION = ("simulation", "情景模拟")
    CERTIFICATE = ("certificate", "证书")


class LearningEvent(Base):
    __tablename__ = "learning_event"
    __table_args__ = (
        sa.Index("ix_learning_event_township_at", "township_id", "at"),
        sa.Index("ix_learning_event_verb_at", "verb", "at"),
        sa.Index("ix_learning_event_agent_at", "agent_id", "at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)  # UTC, naive
    agent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("agent.id"))  # the learner
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"), index=True)  # who acted
    verb: Mapped[Verb] = mapped_column(enum_column(Verb, "event_verb"))
    object_type: Mapped[ObjectType] = mapped_column(enum_column(ObjectType, "event_object"))
    object_id: Mapped[str] = mapped_column(sa.String(80))  # "12", or "12/materials" for a part
    object_name: Mapped[str] = mapped_column(sa.String(200))  # the name at the time
    township_id: Mapped[int | None] = mapped_column(sa.ForeignKey("township.id"))
    village_id: Mapped[int | None] = mapped_column(sa.ForeignKey("village.id"), index=True)
    result: Mapped[dict | None] = mapped_column(sa.JSON)  # score, max, success, completion …
    context: Mapped[dict | None] = mapped_column(sa.JSON)  # parent, part, small extras


class ActivityMonth(Base):
    """One month of learning activity of a township (``township_id`` NULL: every event of
    the county, so that distinct learners are counted once). Written by the daily job for
    months that are over; the charts read these and count only the current month live."""

    __tablename__ = "activity_month"
    __table_args__ = (sa.UniqueConstraint("township_id", "month", name="township_month"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    township_id: Mapped[int | None] = mapped_column(sa.ForeignKey("township.id"), index=True)
    month: Mapped[date] = mapped_column(index=True)  # first day of the month (China time)
    events: Mapped[int] = mapped_column(default=0)
    opened: Mapped[int] = mapped_column(default=0)
    answered: Mapped[int] = mapped_column(default=0)  # practice parts answered
    checks: Mapped[int] = mapped_column(default=0)  # module checks taken (passed or failed)
    modules_passed: Mapped[int] = mapped_column(default=0)
    certificates: Mapped[int] = mapped_column(default=0)  # issued or renewed
    learners: Mapped[int] = mapped_column(default=0)  # distinct agents who did something
    computed_at: Mapped[datetime] = mapped_column(default=utcnow)
