"""Certification schemes, certificates (status computed by date, never stored) and alerts."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from academy.catalogue.models import ItemCategory
from academy.db import Base, LabelledEnum, TimestampMixin, enum_column, utcnow

if TYPE_CHECKING:
    from academy.catalogue.models import ServiceItem
    from academy.roster.models import Agent


class CertLevel(LabelledEnum):
    JUNIOR = ("junior", "初级")
    INTERMEDIATE = ("intermediate", "中级")
    SENIOR = ("senior", "高级")


class CertSource(LabelledEnum):
    EARNED = ("earned", "学习考核取得")
    RENEWED = ("renewed", "复训续期")
    AWARD = ("award", "技能比武授予")
    MANUAL = ("manual", "管理员登记")


class AlertKind(LabelledEnum):
    EXPIRING = ("expiring", "证书即将到期")
    COVERAGE_LOST = ("coverage_lost", "村社失去持证覆盖")
    PLAN_OVERDUE = ("plan_overdue", "入职学习计划逾期")


class CertificationScheme(TimestampMixin, Base):
    """What a certificate certifies (an item category, or one item) and how it is earned."""

    __tablename__ = "certification_scheme"
    __table_args__ = (
        sa.CheckConstraint("(category IS NULL) != (item_id IS NULL)", name="category_xor_item"),
        sa.CheckConstraint("validity_months BETWEEN 1 AND 60", name="validity_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(60), unique=True)
    name: Mapped[str] = mapped_column(sa.String(80))
    category: Mapped[ItemCategory | None] = mapped_column(
        enum_column(ItemCategory, "item_category")
    )
    item_id: Mapped[int | None] = mapped_column(sa.ForeignKey("service_item.id"))
    level: Mapped[CertLevel] = mapped_column(enum_column(CertLevel, "cert_level"))
    validity_months: Mapped[int] = mapped_column(default=12)
    renewal_window_days: Mapped[int] = mapped_column(default=60)
    # Renewal path: pass the short check of this many modules of the scheme inside the window.
    refresher_modules: Mapped[int] = mapped_column(default=3)
    # Requirements beyond passing every module; None = not required (until exams/simulations exist).
    min_exam_score: Mapped[float | None]
    min_simulation_score: Mapped[float | None]
    # A published skills-competition total (last 12 months) counts as an exam of this scheme.
    competition_counts: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    active: Mapped[bool] = mapped_column(default=True)

    item: Mapped[ServiceItem | None] = relationship()


class Certificate(TimestampMixin, Base):
    __tablename__ = "certificate"
    __table_args__ = (
        sa.CheckConstraint("expires_on > issued_on", name="dates_ordered"),
        sa.CheckConstraint(
            "(revoked_on IS NULL AND revoke_reason IS NULL) OR "
            "(revoked_on IS NOT NULL AND revoke_reason IS NOT NULL)",
            name="revocation_complete",
        ),
        sa.Index("ix_certificate_agent_scheme", "agent_id", "scheme_id"),
        sa.Index("ix_certificate_validity", "expires_on", "revoked_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(24), unique=True)  # printed and in the QR code
    agent_id: Mapped[int] = mapped_column(sa.ForeignKey("agent.id"), index=True)
    scheme_id: Mapped[int] = mapped_column(sa.ForeignKey("certification_scheme.id"), index=True)
    issued_on: Mapped[date]
    expires_on: Mapped[date]
    revoked_on: Mapped[date | None]
    revoke_reason: Mapped[str | None] = mapped_column(sa.String(200))
    renewed_from_id: Mapped[int | None] = mapped_column(sa.ForeignKey("certificate.id"))
    source: Mapped[CertSource] = mapped_column(enum_column(CertSource, "cert_source"))
    issued_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    note: Mapped[str | None] = mapped_column(sa.String(200))

    agent: Mapped[Agent] = relationship()
    scheme: Mapped[CertificationScheme] = relationship()


class CertificateDocument(TimestampMixin, Base):
    """The printable certificate as it was issued: rendered once, never re-rendered.

    ``html`` is a self-contained page (CSS inlined, the QR code as inline SVG, no external
    reference), so later edits to names, schemes or the certificate template leave it as it
    was. ``pdf`` is printed from that same HTML by headless Chromium, later (on the first
    download or by ``flask certification freeze``), never inside the request that issued the
    certificate. ``backfilled`` marks a snapshot made after issue for a certificate issued
    before snapshots existed: it shows the data of the day it was made, not of the issue day.
    The two large columns are deferred, so listing documents never loads them.
    """

    __tablename__ = "certificate_document"
    __table_args__ = (
        sa.CheckConstraint("(pdf IS NULL) = (pdf_rendered_at IS NULL)", name="pdf_stamped"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    certificate_id: Mapped[int] = mapped_column(sa.ForeignKey("certificate.id"), unique=True)
    html: Mapped[str] = mapped_column(sa.Text, deferred=True)
    sha256: Mapped[str] = mapped_column(sa.String(64))  # of html, UTF-8
    # Fingerprint of the templates and stylesheets the snapshot was rendered with.
    template_version: Mapped[str] = mapped_column(sa.String(16))
    rendered_at: Mapped[datetime] = mapped_column(default=utcnow)
    backfilled: Mapped[bool] = mapped_column(default=False)
    pdf: Mapped[bytes | None] = mapped_column(sa.LargeBinary, deferred=True)
    pdf_rendered_at: Mapped[datetime | None] = mapped_column(index=True)
    pdf_size: Mapped[int | None]

    certificate: Mapped[Certificate] = relationship()


class Alert(Base):
    """One alert per (kind, subject, period) — ``key`` makes the daily job idempotent."""

    __tablename__ = "alert"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(120), unique=True)
    kind: Mapped[AlertKind] = mapped_column(enum_column(AlertKind, "alert_kind"), index=True)
    township_id: Mapped[int | None] = mapped_column(sa.ForeignKey("township.id"), index=True)
    village_id: Mapped[int | None] = mapped_column(sa.ForeignKey("village.id"), index=True)
    agent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("agent.id"), index=True)
    certificate_id: Mapped[int | None] = mapped_column(sa.ForeignKey("certificate.id"))
    message: Mapped[str] = mapped_column(sa.String(300))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(index=True)


class CoverageSnapshot(Base):
    """Coverage of a township on a day, recorded by the daily job; the 12-month trend reads
    these instead of recomputing a year of history on every view."""

    __tablename__ = "coverage_snapshot"
    __table_args__ = (sa.UniqueConstraint("township_id", "day", name="township_day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    township_id: Mapped[int] = mapped_column(sa.ForeignKey("township.id"), index=True)
    day: Mapped[date] = mapped_column(index=True)
    required: Mapped[int]
    covered: Mapped[int]
