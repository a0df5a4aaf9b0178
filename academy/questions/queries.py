"""Queries of the question pages: the filtered question list, counts per type, banks.

A fixed number of queries per page: the list joins bank and item, counts are one
GROUP BY, search joins each question's current version once.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import aliased, joinedload
from wtforms import SelectChoice

from academy.catalogue.models import ItemCategory, ServiceItem
from academy.extensions import db
from academy.questions.models import BankSource, Dimension, Question, QuestionBank, QuestionVersion
from academy.questions.types import QUESTION_TYPES

STATUSES = {"active": "在用", "retired": "已停用", "all": "全部"}
MAX_QUERY = 60


def _int(value: str | None, limit: int = 2**31 - 1) -> int | None:
    value = (value or "").strip()
    if value.isdigit() and len(value) <= 10 and 0 < int(value) <= limit:
        return int(value)
    return None


def _enum(cls, value: str | None):
    try:
        return cls(value) if value else None
    except ValueError:
        return None


@dataclass(frozen=True)
class QuestionFilter:
    q: str = ""
    bank_id: int | None = None
    item_id: int | None = None
    category: ItemCategory | None = None
    dimension: Dimension | None = None
    difficulty: int | None = None
    qtype: str | None = None
    status: str = "active"

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> QuestionFilter:
        """Unknown or malformed values are ignored (a filter, never an error page)."""
        difficulty = _int(args.get("difficulty"), 3)
        qtype = args.get("type") or None
        status = args.get("status") or "active"
        return cls(
            q=" ".join((args.get("q") or "").split())[:MAX_QUERY],
            bank_id=_int(args.get("bank")),
            item_id=_int(args.get("item")),
            category=_enum(ItemCategory, args.get("category")),
            dimension=_enum(Dimension, args.get("dimension")),
            difficulty=difficulty,
            qtype=qtype if qtype in QUESTION_TYPES else None,
            status=status if status in STATUSES else "active",
        )

    def args(self, **override) -> dict[str, str]:
        """Query arguments for links (export, type counts); defaults left out."""
        f = dataclasses.replace(self, **override) if override else self
        out = {
            "q": f.q,
            "bank": f.bank_id,
            "item": f.item_id,
            "category": f.category.value if f.category else None,
            "dimension": f.dimension.value if f.dimension else None,
            "difficulty": f.difficulty,
            "type": f.qtype,
            "status": None if f.status == "active" else f.status,
        }
        return {k: str(v) for k, v in out.items() if v not in (None, "")}

    @property
    def narrowed(self) -> bool:
        return bool(self.args(status="active"))


def _current_version(stmt: sa.Select, version) -> sa.Select:
    return stmt.join(
        version,
        sa.and_(version.question_id == Question.id, version.number == Question.current_version),
    )


def _filtered(stmt: sa.Select, f: QuestionFilter, version=None) -> sa.Select:
    """``stmt`` narrowed by ``f``; ``version``: the current QuestionVersion if already joined."""
    if f.q:
        if version is None:
            version = QuestionVersion
            stmt = _current_version(stmt, version)
        stmt = stmt.where(
            sa.or_(
                Question.name.icontains(f.q, autoescape=True),
                version.data["text"].as_string().icontains(f.q, autoescape=True),
            )
        )
    if f.bank_id:
        stmt = stmt.where(Question.bank_id == f.bank_id)
    if f.item_id:
        stmt = stmt.where(Question.item_id == f.item_id)
    if f.category:
        category_items = sa.select(ServiceItem.id).where(ServiceItem.category == f.category)
        stmt = stmt.where(Question.item_id.in_(category_items))
    if f.dimension:
        stmt = stmt.where(Question.dimension == f.dimension)
    if f.difficulty:
        stmt = stmt.where(Question.difficulty == f.difficulty)
    if f.qtype:
        stmt = stmt.where(Question.qtype == f.qtype)
    if f.status == "active":
        stmt = stmt.where(Question.retired.is_(False))
    elif f.status == "retired":
        stmt = stmt.where(Question.retired.is_(True))
    return stmt


def question_statement(f: QuestionFilter) -> sa.Select:
    """The questions matching ``f``, newest first, with bank and item loaded."""
    stmt = sa.select(Question).options(joinedload(Question.bank), joinedload(Question.item))
    return _filtered(stmt, f).order_by(Question.id.desc())


def question_rows(f: QuestionFilter) -> sa.Select:
    """Rows (question, text of its current version) for the list page."""
    current = aliased(QuestionVersion)
    stmt = sa.select(Question, current.data["text"].as_string()).options(
        joinedload(Question.bank), joinedload(Question.item)
    )
    stmt = _filtered(_current_version(stmt, current), f, current)
    return stmt.order_by(Question.id.desc())


def type_counts(f: QuestionFilter) -> dict[str, int]:
    """How many questions of each type match ``f`` without its type filter."""
    stmt = sa.select(Question.qtype, sa.func.count(Question.id)).select_from(Question)
    stmt = _filtered(stmt, dataclasses.replace(f, qtype=None)).group_by(Question.qtype)
    return dict(db.session.execute(stmt).all())


def bank_statement() -> sa.Select:
    """Rows (bank, questions, in use), content banks last, newest first."""
    counts = (
        sa.select(
            Question.bank_id.label("bank_id"),
            sa.func.count(Question.id).label("total"),
            sa.func.sum(sa.case((Question.retired.is_(False), 1), else_=0)).label("active"),
        )
        .group_by(Question.bank_id)
        .subquery()
    )
    return (
        sa.select(
            QuestionBank,
            sa.func.coalesce(counts.c.total, 0),
            sa.func.coalesce(counts.c.active, 0),
        )
        .outerjoin(counts, counts.c.bank_id == QuestionBank.id)
        .options(joinedload(QuestionBank.item))
        .order_by(
            sa.case((QuestionBank.source == BankSource.CONTENT, 1), else_=0),
            QuestionBank.id.desc(),
        )
    )


def editable_banks() -> list[QuestionBank]:
    """Web and import banks in use, for "which bank" choices."""
    return list(
        db.session.scalars(
            sa.select(QuestionBank)
            .where(QuestionBank.source != BankSource.CONTENT, QuestionBank.retired.is_(False))
            .order_by(QuestionBank.title, QuestionBank.id)
        )
    )


def item_choices() -> list[SelectChoice]:
    """Items in use grouped by category (option groups), most frequent first."""
    rows = db.session.execute(
        sa.select(ServiceItem.id, ServiceItem.name, ServiceItem.category)
        .where(ServiceItem.retired.is_(False))
        .order_by(ServiceItem.frequency.desc(), ServiceItem.name)
    ).all()
    order = {c: i for i, c in enumerate(ItemCategory)}
    rows.sort(key=lambda row: order[row.category])
    return [SelectChoice(str(i), name, optgroup=category.label) for i, name, category in rows]


def current_stems(exclude_id: int | None = None) -> list[tuple[int, str, str]]:
    """(id, name, stem) of every question in use, for the editor's near-duplicate warning:
    one query, the stem read from the current version's JSON."""
    version = aliased(QuestionVersion)
    stmt = _current_version(
        sa.select(Question.id, Question.name, version.data["text"].as_string()), version
    ).where(Question.retired.is_(False))
    if exclude_id is not None:
        stmt = stmt.where(Question.id != exclude_id)
    return [(qid, name, text or "") for qid, name, text in db.session.execute(stmt)]
