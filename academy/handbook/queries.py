"""Read-side loading of village handbooks (一村社一手册).

Permission checks are the caller's job (see views); these functions only read.
Whatever the number of villages or items, a handbook set loads in four queries:
villages (+ township), offered items, active postings (+ agent), modules.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from academy.catalogue.models import ItemCategory, ServiceItem
from academy.extensions import db
from academy.learning.models import Module
from academy.regions.models import Village, village_item
from academy.regions.services import villages_by_id
from academy.roster.models import AgentKind, Posting

CATEGORY_ORDER = {c: n for n, c in enumerate(ItemCategory)}
KIND_ORDER = {k: n for n, k in enumerate(AgentKind)}


@dataclass
class Entry:
    """One printed item: its number in the handbook, the item, and its module if any."""

    number: int
    item: ServiceItem
    module: Module | None

    @property
    def doc(self) -> dict:
        return (self.module.document or {}) if self.module else {}


@dataclass
class Group:
    category: ItemCategory
    entries: list[Entry]


@dataclass
class Handbook:
    village: Village
    postings: list[Posting]
    groups: list[Group] = field(default_factory=list)

    @property
    def entries(self) -> list[Entry]:
        return [e for g in self.groups for e in g.entries]

    @property
    def item_count(self) -> int:
        return sum(len(g.entries) for g in self.groups)

    @property
    def with_module(self) -> int:
        return sum(1 for e in self.entries if e.module is not None)


def catalogue_key(item: ServiceItem) -> tuple:
    """Catalogue order: category (as declared), then frequency (high first), then id."""
    return (CATEGORY_ORDER[item.category], -item.frequency, item.id)


def township_village_ids(township_id: int) -> list[int]:
    stmt = (
        sa.select(Village.id)
        .where(Village.township_id == township_id)
        .order_by(Village.name, Village.id)
    )
    return list(db.session.scalars(stmt))


def load_handbooks(village_ids: list[int]) -> list[Handbook]:
    """Handbooks for the given villages, in the order given."""
    if not village_ids:
        return []
    villages = villages_by_id(village_ids)

    offered: dict[int, list[ServiceItem]] = defaultdict(list)
    rows = db.session.execute(
        sa.select(village_item.c.village_id, ServiceItem)
        .join(village_item, village_item.c.item_id == ServiceItem.id)
        .where(village_item.c.village_id.in_(village_ids), ServiceItem.retired.is_(False))
    )
    items: dict[int, ServiceItem] = {}
    for village_id, item in rows:
        offered[village_id].append(item)
        items[item.id] = item

    postings: dict[int, list[Posting]] = defaultdict(list)
    for p in db.session.scalars(
        sa.select(Posting)
        .options(joinedload(Posting.agent))
        .where(Posting.village_id.in_(village_ids), Posting.left_on.is_(None))
    ):
        postings[p.village_id].append(p)

    modules: dict[int, Module] = {}
    if items:
        modules = {
            m.item_id: m
            for m in db.session.scalars(
                sa.select(Module).where(Module.item_id.in_(list(items)), Module.retired.is_(False))
            )
        }

    handbooks = []
    for village_id in village_ids:
        village = villages.get(village_id)
        if village is None:
            continue
        active = sorted(
            postings[village_id], key=lambda p: (KIND_ORDER[p.kind], p.joined_on, p.agent.name)
        )
        handbook = Handbook(village=village, postings=active)
        number = 0
        for category in ItemCategory:
            in_category = sorted(
                (i for i in offered[village_id] if i.category == category), key=catalogue_key
            )
            entries = []
            for item in in_category:
                number += 1
                entries.append(Entry(number, item, modules.get(item.id)))
            if entries:
                handbook.groups.append(Group(category, entries))
        handbooks.append(handbook)
    return handbooks
