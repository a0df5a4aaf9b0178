"""Alembic migrations build the same schema as the models, on an empty database.

These tests do not use the ``app`` fixture: they need a database nobody has touched.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import flask_migrate
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from academy import create_app
from academy.config import TestConfig, normalise_db_url
from academy.extensions import db

VERSION_TABLE = "alembic_version"
BACKENDS = ["sqlite"] + (["postgresql"] if os.environ.get("TEST_DATABASE_URL") else [])


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
    return create_app(
        {
            **{k: getattr(TestConfig, k) for k in dir(TestConfig) if k.isupper()},
            "SQLALCHEMY_DATABASE_URI": url,
        }
    )


def _sqlite_url(tmp_path) -> str:
    return "sqlite:///" + str(tmp_path / "migrated.db")


@pytest.fixture
def pg_url(worker_id) -> Iterator[str]:
    base = normalise_db_url(os.environ["TEST_DATABASE_URL"])
    schema = f"academy_migrations_{worker_id}_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(base)
    with admin.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    sep = "&" if "?" in base else "?"
    try:
        yield f"{base}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        admin.dispose()


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
