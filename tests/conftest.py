"""Shared fixtures.

Database tests run once per backend: always on SQLite, and also on PostgreSQL when
TEST_DATABASE_URL is set (each xdist worker gets its own schema). Every test runs
inside a transaction that is rolled back afterwards; code under test commits to a
SAVEPOINT (``join_transaction_mode="create_savepoint"``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from flask import g
from sqlalchemy.orm import scoped_session, sessionmaker

from academy import create_app
from academy.config import TestConfig, normalise_db_url
from academy.extensions import db, limiter
from tests import factories

BACKENDS = ["sqlite"] + (["postgresql"] if os.environ.get("TEST_DATABASE_URL") else [])


def _pg_url_for_worker(worker_id: str) -> str:
    base = normalise_db_url(os.environ["TEST_DATABASE_URL"])
    schema = f"academy_test_{worker_id}"
    admin = sa.create_engine(base)
    with admin.begin() as conn:
        conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    admin.dispose()
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options=-csearch_path%3D{schema}"


@pytest.fixture(scope="session", params=BACKENDS)
def app(request, tmp_path_factory, worker_id):
    if request.param == "sqlite":
        url = "sqlite:///" + str(tmp_path_factory.mktemp("db") / "test.db")
    else:
        url = _pg_url_for_worker(worker_id)
    content_root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    app = create_app(
        {
            **{k: getattr(TestConfig, k) for k in dir(TestConfig) if k.isupper()},
            "SQLALCHEMY_DATABASE_URI": url,
            "CONTENT_ROOT": content_root,
        }
    )

    @app.before_request
    def _fresh_request_state():
        # Tests keep one app context open across requests (for the shared session);
        # in production every request has its own, so forget the previous user.
        g.pop("_login_user", None)

    with app.app_context():
        db.create_all()
    yield app
    with app.app_context():
        db.drop_all()
        db.engine.dispose()


@pytest.fixture
def db_session(app) -> Iterator:
    ctx = app.app_context()
    ctx.push()
    connection = db.engine.connect()
    outer = connection.begin()
    original = db.session
    db.session = scoped_session(
        sessionmaker(bind=connection, join_transaction_mode="create_savepoint")
    )
    limiter.reset()
    try:
        yield db.session
    finally:
        db.session.remove()
        db.session = original
        outer.rollback()
        connection.close()
        ctx.pop()


@pytest.fixture
def client(app, db_session):
    return app.test_client()


@pytest.fixture
def world(db_session) -> factories.World:
    """Two townships with villages, items, agents and one user per role.

    Committed (to the test's savepoint) so that a request that rolls back keeps it.
    """
    world = factories.build_world()
    db_session.commit()
    return world


@pytest.fixture
def login_as(client, world):
    def _login(user):
        with client.session_transaction() as s:
            s["_user_id"] = user.get_id()
            s["_fresh"] = True
        return client

    return _login


@pytest.fixture
def csrf_enabled(app):
    app.config["WTF_CSRF_ENABLED"] = True
    yield
    app.config["WTF_CSRF_ENABLED"] = False


@pytest.fixture
def module(world):
    """A course module for world.item, loaded the way content sync loads it."""
    import yaml

    from academy.content.loader import ContentDoc
    from academy.learning.services import sync_modules
    from tests.content_samples import valid_module

    data = valid_module(world.item.slug)
    text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
    sync_modules([ContentDoc(f"courses/{world.item.slug}.yaml", data, text)])
    db.session.commit()
    from academy.learning.services import module_or_none

    return module_or_none(world.item.slug)
