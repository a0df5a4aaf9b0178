"""The catalogue of high-frequency service items (事项)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from academy.db import Base, LabelledEnum, TimestampMixin, enum_column


class ItemCategory(LabelledEnum):
    CERTIFICATE = ("certificate", "证明证照")
    REGISTRATION = ("registration", "登记申领")
    PAYMENT = ("payment", "充值缴费")
    SPECIAL = ("special", "特色服务")


class Channel(LabelledEnum):
    ON_SITE = ("on_site", "现场办")
    HOME_VISIT = ("home_visit", "上门办")
    APPOINTMENT = ("appointment", "预约办")
    CLOUD = ("cloud", "云帮办")


class ItemScope(LabelledEnum):
    VILLAGE = ("village", "村")
    COMMUNITY = ("community", "社区")


class ServiceItem(TimestampMixin, Base):
    __tablename__ = "service_item"
    __table_args__ = (sa.CheckConstraint("frequency BETWEEN 1 AND 5", name="frequency_range"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(sa.String(80), unique=True)
    name: Mapped[str] = mapped_column(sa.String(80), unique=True)
    category: Mapped[ItemCategory] = mapped_column(
        enum_column(ItemCategory, "item_category"), index=True
    )
    department: Mapped[str] = mapped_column(sa.String(120))
    channels: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    one_visit: Mapped[bool] = mapped_column(default=True)
    time_limit: Mapped[str] = mapped_column(sa.String(200))
    legal_days: Mapped[int | None]
    fee: Mapped[str] = mapped_column(sa.String(80))
    frequency: Mapped[int] = mapped_column(default=3)
    scopes: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    summary: Mapped[str] = mapped_column(sa.Text)
    # Items dropped from the content files are retired, never deleted: learner
    # history and village offerings keep pointing at them.
    retired: Mapped[bool] = mapped_column(default=False, index=True)

    @property
    def channel_labels(self) -> list[str]:
        return [Channel(c).label for c in self.channels]

    @property
    def scope_labels(self) -> list[str]:
        return [ItemScope(s).label for s in self.scopes]

    def __repr__(self) -> str:
        return f"<ServiceItem {self.slug}>"
