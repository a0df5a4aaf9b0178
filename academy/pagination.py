"""Pagination of SELECT statements: one COUNT and one page query, for entities or rows."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask import abort, request

from academy.extensions import db


@dataclass
class Page:
    items: list[Any]
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def prev_num(self) -> int:
        return self.page - 1

    @property
    def next_num(self) -> int:
        return self.page + 1


def paginate(
    stmt: sa.Select, per_page: int = 20, rows: bool = False, total: int | None = None
) -> Page:
    """Page ``stmt`` by the ``page`` query argument; a bad or too-large page is a 404.
    ``total``: the number of rows when the caller has a cheaper count than COUNT over
    ``stmt`` (e.g. without its joins)."""
    raw = request.args.get("page", "1")
    if not raw.isdigit() or len(raw) > 6 or int(raw) < 1:
        abort(404)
    number = int(raw)
    if total is None:
        total = db.session.scalar(
            sa.select(sa.func.count()).select_from(stmt.order_by(None).subquery())
        )
    if number > 1 and (number - 1) * per_page >= total:
        abort(404)
    query = stmt.limit(per_page).offset((number - 1) * per_page)
    result = db.session.execute(query)
    items = result.all() if rows else list(result.unique().scalars())
    return Page(items=items, page=number, per_page=per_page, total=total)
