"""Onboarding plans for many new postings at once (a roster import of thousands of rows).

``services.create_plan`` makes one plan per ``posting_started`` signal with a few queries
each; for 50,000 imported agents that is minutes. This makes the same plans — the items
each village offers, ordered by ``rules.plan_order``, due ``ONBOARDING_DAYS`` after
joining — with a fixed number of statements: one query for the villages' items, one
multi-row INSERT of the plans, and one INSERT … SELECT of their entries, which the
database joins from two temporary tables (a plan has ~30 entries, so 50,000 plans are
~1.5 million entry rows: far too many to send from Python one by one).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from flask import current_app

from academy.bulk import insert_ids
from academy.catalogue.models import ServiceItem
from academy.extensions import db
from academy.learning import rules
from academy.learning.models import OnboardingPlan, PlanEntry
from academy.regions.models import village_item

CHUNK = 1000


@dataclass(frozen=True, slots=True)
class NewPosting:
    posting_id: int
    agent_id: int
    village_id: int
    joined_on: date


def create_plans(postings: Sequence[NewPosting], days: int | None = None) -> int:
    """Create the onboarding plan of every posting whose village offers items, exactly as
    ``services.create_plan`` would. Flushes only; returns the number of plans."""
    if not postings:
        return 0
    days = days if days is not None else current_app.config["ONBOARDING_DAYS"]
    orders = _plan_orders({p.village_id for p in postings})
    planned = [p for p in postings if orders.get(p.village_id)]
    if not planned:
        return 0
    db.session.flush()
    rows = [
        {
            "agent_id": p.agent_id,
            "posting_id": p.posting_id,
            "village_id": p.village_id,
            "due_on": rules.plan_due(p.joined_on, days),
        }
        for p in planned
    ]
    plan_ids = insert_ids(OnboardingPlan, rows, keys=("posting_id",))
    _insert_entries(
        [(plan_id, p.village_id) for plan_id, p in zip(plan_ids, planned, strict=True)], orders
    )
    return len(plan_ids)


def _plan_orders(village_ids: set[int]) -> dict[int, list[int]]:
    """village id -> its offered (not retired) item ids in plan order."""
    specs: dict[int, list[rules.PlanItemSpec]] = {}
    ids = sorted(village_ids)
    for start in range(0, len(ids), CHUNK):
        rows = db.session.execute(
            sa.select(
                village_item.c.village_id,
                ServiceItem.id,
                ServiceItem.frequency,
                ServiceItem.category,
                ServiceItem.name,
            )
            .join(ServiceItem, ServiceItem.id == village_item.c.item_id)
            .where(
                village_item.c.village_id.in_(ids[start : start + CHUNK]),
                ServiceItem.retired.is_(False),
            )
        )
        for village_id, item_id, frequency, category, name in rows:
            specs.setdefault(village_id, []).append(
                rules.PlanItemSpec(item_id, frequency, category.value, name)
            )
    return {village_id: rules.plan_order(items) for village_id, items in specs.items()}


def _insert_entries(plans: list[tuple[int, int]], orders: dict[int, list[int]]) -> None:
    meta = sa.MetaData()
    order = sa.Table(
        "tmp_plan_order",
        meta,
        sa.Column("village_id", sa.Integer),
        sa.Column("item_id", sa.Integer),
        sa.Column("position", sa.Integer),
        prefixes=["TEMPORARY"],
        postgresql_on_commit="DROP",
    )
    new = sa.Table(
        "tmp_new_plan",
        meta,
        sa.Column("plan_id", sa.Integer),
        sa.Column("village_id", sa.Integer),
        prefixes=["TEMPORARY"],
        postgresql_on_commit="DROP",
    )
    connection = db.session.connection()
    # Created and dropped inside the request's transaction: a failure rolls them back too.
    meta.create_all(connection)
    villages = {village_id for _, village_id in plans}
    connection.execute(
        order.insert(),
        [
            {"village_id": village_id, "item_id": item_id, "position": position}
            for village_id in villages
            for position, item_id in enumerate(orders[village_id], 1)
        ],
    )
    connection.execute(
        new.insert(), [{"plan_id": plan_id, "village_id": v} for plan_id, v in plans]
    )
    connection.execute(
        PlanEntry.__table__.insert().from_select(
            ["plan_id", "item_id", "position"],
            sa.select(new.c.plan_id, order.c.item_id, order.c.position)
            .join(order, order.c.village_id == new.c.village_id)
            .order_by(new.c.plan_id, order.c.position),
        )
    )
    meta.drop_all(connection)
