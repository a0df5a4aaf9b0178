"""Curricula: the ordered item lists that onboarding plans point to (shared, found by digest).

One village's newcomers all get the same list, so a plan is one row pointing at a shared
curriculum instead of ~30 entry rows of its own.
"""

from __future__ import annotations

from collections.abc import Collection

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from academy.extensions import db
from academy.learning.models import Curriculum, CurriculumItem
from academy.learning.rules import curriculum_digest

CHUNK = 1000


def curriculum_ids(lists: Collection[tuple[int, ...]]) -> dict[tuple[int, ...], int]:
    """The curriculum id of every ordered item list, creating those that are new.

    A fixed number of statements whatever the number of lists. Safe when two requests create
    the same new list at once: the INSERT skips a digest that exists (on PostgreSQL it waits
    for the other transaction) and only the request that inserted a curriculum adds its items.
    """
    by_digest = {curriculum_digest(items): items for items in set(lists) if items}
    if not by_digest:
        return {}
    digests = sorted(by_digest)
    insert = (postgresql.insert if _dialect() == "postgresql" else sqlite.insert)(Curriculum)
    created: dict[str, int] = {}
    for start in range(0, len(digests), CHUNK):
        chunk = digests[start : start + CHUNK]
        stmt = (
            insert.values([{"digest": d, "size": len(by_digest[d])} for d in chunk])
            .on_conflict_do_nothing(index_elements=["digest"])
            .returning(Curriculum.id, Curriculum.digest)
        )
        created.update({digest: id_ for id_, digest in db.session.execute(stmt)})
    if created:
        db.session.execute(
            sa.insert(CurriculumItem),
            [
                {"curriculum_id": id_, "item_id": item_id, "position": position}
                for digest, id_ in created.items()
                for position, item_id in enumerate(by_digest[digest], 1)
            ],
        )
    found = dict(created)
    missing = [d for d in digests if d not in created]
    for start in range(0, len(missing), CHUNK):
        found.update(
            db.session.execute(
                sa.select(Curriculum.digest, Curriculum.id).where(
                    Curriculum.digest.in_(missing[start : start + CHUNK])
                )
            ).all()
        )
    return {by_digest[d]: found[d] for d in digests}


def _dialect() -> str:
    return db.session.get_bind().dialect.name
