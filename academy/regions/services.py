"""Use-cases for townships and villages (county admin)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from academy.audit.services import record
from academy.catalogue.models import ServiceItem
from academy.db import utcnow
from academy.errors_domain import DomainError
from academy.extensions import db
from academy.regions.models import County, StationTier, Township, TownshipKind, Village, VillageKind


def the_county() -> County:
    county = db.session.scalar(sa.select(County).order_by(County.id))
    if county is None:
        raise DomainError("尚未建立县级区划，请先载入区划数据。")
    return county


def save_township(
    actor,
    township: Township | None,
    *,
    name: str,
    kind: TownshipKind,
    code: str | None,
    position: int,
) -> Township:
    county = township.county if township else the_county()
    clash = db.session.scalar(
        sa.select(Township.id).where(Township.county_id == county.id, Township.name == name.strip())
    )
    if clash and (township is None or clash != township.id):
        raise DomainError("已有同名的镇街。", field="name")
    created = township is None
    if created:
        township = Township(county=county)
        db.session.add(township)
    township.name, township.kind = name.strip(), kind
    township.code, township.position = (code or None), position or 0
    db.session.flush()
    record(
        actor,
        "township.created" if created else "township.updated",
        township,
        f"{'新增' if created else '修改'}镇街 {township.name}",
        township_id=township.id,
    )
    return township


def save_village(
    actor,
    village: Village | None,
    *,
    township: Township,
    name: str,
    kind: VillageKind,
    tier: StationTier,
    area: str | None,
    item_ids: list[int],
) -> Village:
    clash = db.session.scalar(
        sa.select(Village.id).where(
            Village.township_id == township.id, Village.name == name.strip()
        )
    )
    if clash and (village is None or clash != village.id):
        raise DomainError(f"{township.name}已有同名的村（社区）。", field="name")
    items = list(db.session.scalars(sa.select(ServiceItem).where(ServiceItem.id.in_(item_ids))))
    if len(items) != len(set(item_ids)):
        raise DomainError("所选事项中有不存在的事项，请刷新页面后重试。", field="items")
    created = village is None
    if created:
        village = Village()
        db.session.add(village)
    before = {i.id for i in village.items} if not created else set()
    village.township = township
    village.name, village.kind, village.tier = name.strip(), kind, tier
    village.area = (area or "").strip() or None
    village.items = items
    after = {i.id for i in items}
    if not created and before != after:
        village.updated_at = utcnow()  # the items are the village's too (edit conflicts)
    db.session.flush()
    details = {"added_items": sorted(after - before), "removed_items": sorted(before - after)}
    record(
        actor,
        "village.created" if created else "village.updated",
        village,
        f"{'新增' if created else '修改'}村社 {township.name}{village.name}",
        details,
        township.id,
    )
    return village


def villages_by_id(village_ids) -> dict[int, Village]:
    """Villages (with their township loaded) keyed by id, in one query."""
    stmt = (
        sa.select(Village)
        .options(joinedload(Village.township))
        .where(Village.id.in_(list(village_ids)))
    )
    return {v.id: v for v in db.session.scalars(stmt)}
