"""Onboarding plans for many new postings at once (a roster import of thousands of rows).

``services.create_plan`` makes one plan per ``posting_started`` signal with a few queries
each; for 50,000 imported agents that is minutes. This makes the same plans — the items
each village offers, ordered by ``rules.plan_order``, due ``ONBOARDING_DAYS`` after
joining — with a fixed number of statements: one query for the villages' items, the
curricula of the distinct item lists (one per village at most, shared with earlier plans),
and one multi-row INSERT of the plans.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from flask import current_app

from academy.bulk import refresh_statistics
from academy.catalogue.models import ServiceItem
from academy.events import NewPosting
from academy.extensions import db
from academy.learning import rules
from academy.learning.curricula import curriculum_ids
from academy.learning.models import OnboardingPlan
from academy.regions.models import village_item

CHUNK = 1000
BIG = 1000  # plans at once after which PostgreSQL's row counts are refreshed


def on_postings_started(sender, postings: Sequence[NewPosting], **_) -> int:
    """Receiver of ``events.postings_started``: the plans of a bulk import."""
    plans = create_plans(postings)
    if plans >= BIG:
        refresh_statistics(OnboardingPlan)
    return plans


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
    curricula = curriculum_ids(orders.values())
    rows = [
        {
            "agent_id": p.agent_id,
            "posting_id": p.posting_id,
            "village_id": p.village_id,
            "curriculum_id": curricula[orders[p.village_id]],
            "due_on": rules.plan_due(p.joined_on, days),
        }
        for p in planned
    ]
    db.session.execute(OnboardingPlan.__table__.insert(), rows)
    return len(rows)


def _plan_orders(village_ids: set[int]) -> dict[int, tuple[int, ...]]:
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
    return {village_id: tuple(rules.plan_order(items)) for village_id, items in specs.items()}
