"""The yardstick for the exam save (issue 17): the smallest Flask + SQLAlchemy endpoint that
does what a save does at its core — take a small form POST and insert one row, one commit —
served the same way as the app. ``tests.bench.throughput`` measures both at the same fixed
concurrency on the same machine, one right after the other, and reports the ratio.

    gunicorn 'tests.bench.reference_app:create_app()'     # DATABASE_URL as for the app

Nothing else: no sessions, no CSRF, no login, no event log — the cost of Flask, SQLAlchemy's
ORM and one durable INSERT, which no real endpoint can go below.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime

import sqlalchemy as sa
from flask import Flask, jsonify, request
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)


class ReferenceRow(db.Model):
    __tablename__ = "bench_reference_row"
    id: Mapped[int] = mapped_column(primary_key=True)
    who: Mapped[int]
    value: Mapped[str] = mapped_column(sa.String(200))
    at: Mapped[datetime]


def create_app() -> Flask:
    from academy.config import normalise_db_url

    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = normalise_db_url(os.environ["DATABASE_URL"])
    db.init_app(app)

    @app.post("/rows")
    def insert():
        row = ReferenceRow(
            who=request.form.get("who", 0, type=int),
            value=request.form.get("value", "")[:200],
            at=datetime.now(UTC).replace(tzinfo=None),
        )
        db.session.add(row)
        db.session.commit()
        return jsonify(ok=True)

    return app


def create_table(url: str) -> None:
    """Made by the benchmark before the servers start (workers would race to create it)."""
    from academy.config import normalise_db_url

    engine = sa.create_engine(normalise_db_url(url))
    Base.metadata.create_all(engine)
    engine.dispose()


def rows(url: str) -> int:
    from academy.config import normalise_db_url

    engine = sa.create_engine(normalise_db_url(url))
    with engine.connect() as conn:
        n = conn.execute(sa.select(sa.func.count()).select_from(ReferenceRow.__table__)).scalar()
    engine.dispose()
    return int(n or 0)
