"""Alembic migrations build the same schema as the models, on an empty database.

These tests do not use the ``app`` fixture: they need a database nobody has touched.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import flask_migrate
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from academy.extensions import db
from tests.databases import BACKENDS, pg_schema, test_app

VERSION_TABLE = "alembic_version"


@contextmanager
def _logging_kept() -> Iterator[None]:
    """migrations/env.py calls logging.config.fileConfig, which disables every existing
    logger and replaces the root handlers; put all of it back so later tests can log."""
    loggers = [logging.root] + [
        lg for lg in logging.root.manager.loggerDict.values() if isinstance(lg, logging.Logger)
    ]
    saved = {lg: (lg.disabled, lg.level, list(lg.handlers), lg.propagate) for lg in loggers}
    try:
        yield
    finally:
        for lg, (disabled, level, handlers, propagate) in saved.items():
            lg.disabled = disabled
            lg.setLevel(level)
            lg.handlers[:] = handlers
            lg.propagate = propagate


def upgrade() -> None:
    with _logging_kept():
        flask_migrate.upgrade()


def downgrade_to_base() -> None:
    with _logging_kept():
        flask_migrate.downgrade(revision="base")


def _make_app(url: str):
    return test_app(url)


def _sqlite_url(tmp_path) -> str:
    return "sqlite:///" + str(tmp_path / "migrated.db")


@pytest.fixture
def pg_url(worker_id) -> Iterator[str]:
    with pg_schema(f"academy_migrations_{worker_id}_{uuid.uuid4().hex[:8]}") as url:
        yield url


@pytest.fixture(params=BACKENDS)
def empty_db_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        return _sqlite_url(tmp_path)
    return request.getfixturevalue("pg_url")


def _app_tables(conn) -> set[str]:
    return set(sa.inspect(conn).get_table_names()) - {VERSION_TABLE}


def _schema_diff(conn) -> list:
    context = MigrationContext.configure(conn, opts={"compare_type": True})
    return compare_metadata(context, db.metadata)


def test_upgrade_to_head_matches_the_models(empty_db_url):
    app = _make_app(empty_db_url)
    try:
        with app.app_context():
            with db.engine.connect() as conn:
                assert _app_tables(conn) == set()
            upgrade()
            with db.engine.connect() as conn:
                tables = _app_tables(conn)
                diff = _schema_diff(conn)
                head = conn.scalar(sa.text(f"SELECT version_num FROM {VERSION_TABLE}"))
            assert diff == []
            assert tables == set(db.metadata.tables)
            assert {"service_item", "village", "village_item", "agent", "posting"} <= tables
            config = app.extensions["migrate"].migrate.get_config()
            assert [head] == ScriptDirectory.from_config(config).get_heads()
    finally:
        with app.app_context():
            db.engine.dispose()


def test_downgrade_to_base_removes_every_app_table(empty_db_url):
    app = _make_app(empty_db_url)
    try:
        with app.app_context():
            upgrade()
            with db.engine.connect() as conn:
                assert _app_tables(conn) == set(db.metadata.tables)
            downgrade_to_base()
            with db.engine.connect() as conn:
                assert _app_tables(conn) == set()
                assert conn.scalar(sa.text(f"SELECT count(*) FROM {VERSION_TABLE}")) == 0
            # and it can be built again from nothing
            upgrade()
            with db.engine.connect() as conn:
                assert _app_tables(conn) == set(db.metadata.tables)
                assert _schema_diff(conn) == []
    finally:
        with app.app_context():
            db.engine.dispose()


def _rows(conn, sql: str, rows: list[dict]) -> None:
    conn.execute(sa.text(sql), rows)


def test_plans_keep_their_items_when_entries_become_shared_curricula(empty_db_url):
    """65e53c124c4d: plan_entry rows become curricula; downgrading writes them back."""
    app = _make_app(empty_db_url)
    now = "2026-11-01 08:00:00"
    try:
        with app.app_context():
            with _logging_kept():
                flask_migrate.upgrade(revision="d87f2da9a9f9")
            with db.engine.begin() as conn:
                _rows(conn, "INSERT INTO county VALUES (1, '测试县', NULL, :t, :t)", [{"t": now}])
                _rows(
                    conn,
                    "INSERT INTO township VALUES (1, 1, '测试镇', 'town', NULL, 1, :t, :t)",
                    [{"t": now}],
                )
                _rows(
                    conn,
                    "INSERT INTO village VALUES (:id, 1, :n, 'village', 'standard', NULL, :t, :t)",
                    [{"id": 1, "n": "东村", "t": now}, {"id": 2, "n": "西村", "t": now}],
                )
                _rows(
                    conn,
                    "INSERT INTO service_item VALUES (:id, :s, :s, 'registration', '县人社局', "
                    "'[]', true, '即办', NULL, '免费', 3, '[]', '测试', false, :t, :t)",
                    [{"id": i, "s": f"item-{i}", "t": now} for i in (1, 2, 3)],
                )
                _rows(
                    conn,
                    "INSERT INTO agent VALUES (:id, :n, '13800000000', NULL, NULL, NULL, NULL, "
                    ":t, :t)",
                    [{"id": i, "n": f"代办员{i}", "t": now} for i in (1, 2, 3)],
                )
                postings = [{"id": 1, "v": 1, "t": now}, {"id": 2, "v": 1, "t": now}]
                postings.append({"id": 3, "v": 2, "t": now})
                _rows(
                    conn,
                    "INSERT INTO posting VALUES (:id, :id, :v, 'full_time', '2026-10-01', NULL, "
                    "NULL, NULL, :t, :t)",
                    postings,
                )
                _rows(
                    conn,
                    "INSERT INTO onboarding_plan (id, agent_id, posting_id, village_id, due_on, "
                    "created_at, updated_at) VALUES (:id, :id, :id, :v, '2026-10-31', :t, :t)",
                    postings,
                )
                lists = {1: [3, 1, 2], 2: [3, 1, 2], 3: [2]}
                _rows(
                    conn,
                    "INSERT INTO plan_entry (plan_id, item_id, position) VALUES (:p, :i, :n)",
                    [
                        {"p": p, "i": i, "n": n}
                        for p, items in lists.items()
                        for n, i in enumerate(items, 1)
                    ],
                )
            with _logging_kept():
                flask_migrate.upgrade(revision="65e53c124c4d")
            with db.engine.connect() as conn:
                rows = conn.execute(
                    sa.text(
                        "SELECT p.id, p.curriculum_id, ci.item_id FROM onboarding_plan p "
                        "JOIN curriculum_item ci ON ci.curriculum_id = p.curriculum_id "
                        "ORDER BY p.id, ci.position"
                    )
                ).all()
                curricula = conn.scalar(sa.text("SELECT count(*) FROM curriculum"))
            got: dict[int, list[int]] = {}
            for plan, _, item in rows:
                got.setdefault(plan, []).append(item)
            assert got == lists
            assert curricula == 2  # the two plans of 东村 share one
            with _logging_kept():
                flask_migrate.downgrade(revision="d87f2da9a9f9")
            with db.engine.connect() as conn:
                back = conn.execute(
                    sa.text("SELECT plan_id, item_id FROM plan_entry ORDER BY plan_id, position")
                ).all()
            restored: dict[int, list[int]] = {}
            for plan, item in back:
                restored.setdefault(plan, []).append(item)
            assert restored == lists
    finally:
        with app.app_context():
            db.engine.dispose()
