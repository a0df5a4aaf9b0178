"""County → township → village, with station tiers and the items each village offers."""

from __future__ import annotations

from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from academy.db import Base, LabelledEnum, TimestampMixin, enum_column

if TYPE_CHECKING:
    from academy.catalogue.models import ServiceItem


class TownshipKind(LabelledEnum):
    SUBDISTRICT = ("subdistrict", "街道")
    TOWN = ("town", "镇")
    TOWNSHIP = ("township", "乡")


class VillageKind(LabelledEnum):
    VILLAGE = ("village", "村")
    COMMUNITY = ("community", "社区")


class StationTier(LabelledEnum):
    MODEL = ("model", "示范型")
    STANDARD = ("standard", "标准型")
    BASIC = ("basic", "简朴型")


village_item = sa.Table(
    "village_item",
    Base.metadata,
    sa.Column("village_id", sa.ForeignKey("village.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("item_id", sa.ForeignKey("service_item.id"), primary_key=True, index=True),
)


class County(TimestampMixin, Base):
    __tablename__ = "county"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(40), unique=True)
    code: Mapped[str | None] = mapped_column(sa.String(12))

    townships: Mapped[list[Township]] = relationship(
        back_populates="county", order_by="Township.position"
    )


class Township(TimestampMixin, Base):
    __tablename__ = "township"
    __table_args__ = (sa.UniqueConstraint("county_id", "name", name="county_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    county_id: Mapped[int] = mapped_column(sa.ForeignKey("county.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(40))
    kind: Mapped[TownshipKind] = mapped_column(enum_column(TownshipKind, "township_kind"))
    code: Mapped[str | None] = mapped_column(sa.String(12))
    position: Mapped[int] = mapped_column(default=0)

    county: Mapped[County] = relationship(back_populates="townships")
    villages: Mapped[list[Village]] = relationship(
        back_populates="township", order_by="Village.name"
    )

    def __str__(self) -> str:
        return self.name


class Village(TimestampMixin, Base):
    __tablename__ = "village"
    __table_args__ = (sa.UniqueConstraint("township_id", "name", name="township_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    township_id: Mapped[int] = mapped_column(sa.ForeignKey("township.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(40))
    kind: Mapped[VillageKind] = mapped_column(enum_column(VillageKind, "village_kind"))
    tier: Mapped[StationTier] = mapped_column(enum_column(StationTier, "station_tier"), index=True)
    area: Mapped[str | None] = mapped_column(sa.String(40))  # 片区, e.g. 梅棠雅集

    township: Mapped[Township] = relationship(back_populates="villages")
    items: Mapped[list[ServiceItem]] = relationship(
        secondary=village_item, order_by="ServiceItem.id"
    )

    @property
    def full_name(self) -> str:
        return f"{self.township.name}{self.name}"

    def __str__(self) -> str:
        return self.name
