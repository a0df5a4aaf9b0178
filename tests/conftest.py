"""Shared fixtures.

Database tests run once per backend: always on SQLite, and also on PostgreSQL when
TEST_DATABASE_URL is set (each xdist worker gets its own schema). Every test runs
inside a transaction that is rolled back afterwards; code under test commits to a
SAVEPOINT (``join_transaction_mode="create_savepoint"``).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from datetime import date

import pytest
from flask import g
from sqlalchemy.orm import scoped_session, sessionmaker

from academy import register_content_kinds
from academy.extensions import db, limiter
from tests import factories
from tests.databases import BACKENDS, database_url, test_app

# Tests that read content without an app (tests/unit) see the same folders as the app.
register_content_kinds()

# The day the test modules were imported: several name ``TODAY = date.today()`` then.
COLLECTED_ON = date.today()


@pytest.fixture(autouse=True)
def _today_is_the_day_the_test_runs(request, monkeypatch):
    """A run that crosses midnight would compare the day a module was imported on with the
    app's new today (certificates "expiring", departure dates "in the future"): each test
    sees the day it runs on. Only a module TODAY equal to the import day is moved (a module
    that fixes its own date keeps it)."""
    today = date.today()
    if today == COLLECTED_ON:
        return
    modules = [request.module, sys.modules.get("tests.competition_world")]
    for module in filter(None, modules):
        value = getattr(module, "TODAY", None)
        if value == COLLECTED_ON:
            monkeypatch.setattr(module, "TODAY", today)
        elif value == COLLECTED_ON.isoformat():
            monkeypatch.setattr(module, "TODAY", today.isoformat())


@pytest.fixture(scope="session", params=BACKENDS)
def app(request, tmp_path_factory, worker_id):
    sqlite_file = tmp_path_factory.mktemp("db") / "test.db"
    with database_url(request.param, sqlite_file, f"academy_test_{worker_id}") as url:
        yield from _app(url)


def _app(url: str):
    content_root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    app = test_app(url, CONTENT_ROOT=content_root)

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
