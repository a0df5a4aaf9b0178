"""Multi-row INSERTs that give back the new ids, fast on SQLite and PostgreSQL alike."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from academy.extensions import db

CHUNK = 1000


def insert_ids(model, rows: Sequence[dict], keys: Sequence[str]) -> list[int]:
    """INSERT ``rows`` into ``model``'s table; return their new ids in the order of ``rows``.

    On PostgreSQL the ids are drawn from the table's sequence first (one query) and the
    rows sent with them by the driver's pipelined executemany. Elsewhere (SQLite) the ids
    come back with ``RETURNING id, <keys>`` and are matched to the rows by ``keys``,
    columns whose values tell the rows apart (e.g. the agent of a new posting). Asking
    SQLAlchemy to keep the order instead (``sort_by_parameter_order``) sends one row per
    statement on SQLite, and the ORM's bulk INSERT splits its batches at every None:
    both are 10–100× slower for 50,000 rows.
    """
    if not rows:
        return []
    table = model.__table__
    if db.session.get_bind().dialect.name == "postgresql":
        ids = list(
            db.session.scalars(
                sa.select(
                    sa.func.nextval(sa.func.pg_get_serial_sequence(table.name, "id"))
                ).select_from(sa.func.generate_series(1, len(rows)))
            )
        )
        db.session.execute(
            table.insert(), [{**row, "id": i} for row, i in zip(rows, ids, strict=True)]
        )
        return ids
    stmt = sa.insert(table).returning(table.c.id, *(table.c[k] for k in keys))
    found: dict[tuple, int] = {}
    for start in range(0, len(rows), CHUNK):
        for new_id, *values in db.session.execute(stmt, rows[start : start + CHUNK]):
            found[tuple(values)] = new_id
    ids = [found.get(tuple(row[k] for k in keys)) for row in rows]
    if len(found) != len(rows) or None in ids:
        raise ValueError(f"insert_ids: the rows are not told apart by {', '.join(keys)}")
    return ids


def refresh_statistics(*models) -> None:
    """ANALYZE the tables of ``models`` on PostgreSQL (nothing elsewhere).

    After a bulk INSERT that grows a table many times over (a 50,000-row roster into a
    county of 700 agents), the planner keeps the old row counts until autovacuum gets to
    it, and meanwhile plans the next lookups as sequential scans: re-reading the same
    roster took 30 s instead of 4. ANALYZE inside the transaction samples its own new rows.
    """
    if db.session.get_bind().dialect.name != "postgresql":
        return
    db.session.flush()
    names = ", ".join(f'"{m.__table__.name}"' for m in models)
    db.session.execute(sa.text(f"ANALYZE {names}"))
