"""Pooled PostgreSQL connections are checked before use only after sitting idle
(academy/dbsetup.py): a connection the server dropped while idle is replaced before the
request uses it, and a busy one is not pinged on every checkout."""

from __future__ import annotations

import os

import pytest
import sqlalchemy as sa

from academy.extensions import db
from tests.databases import pg_schema, test_app

pytestmark = pytest.mark.skipif(
    not os.environ.get("TEST_DATABASE_URL"), reason="PostgreSQL only (TEST_DATABASE_URL)"
)


@pytest.fixture
def apps():
    """Apps made by a test; their pools are closed afterwards (no connection left open)."""
    made = []

    def make(url, **config):
        made.append(test_app(url, **config))
        return made[-1]

    yield make
    for app in made:
        with app.app_context():
            db.engine.dispose()


def _server_drops_the_pooled_connection(app) -> None:
    """Use one pooled connection, then have the server terminate it (as a restart or an
    idle timeout would) while it sits in the pool."""
    with app.app_context():
        pid = db.session.execute(sa.text("SELECT pg_backend_pid()")).scalar()
        db.session.remove()
        killer = sa.create_engine(app.config["SQLALCHEMY_DATABASE_URI"])
        with killer.begin() as conn:
            assert conn.execute(sa.text("SELECT pg_terminate_backend(:p)"), {"p": pid}).scalar()
        killer.dispose()


def _query_once(app) -> int:
    with app.app_context():
        try:
            return db.session.execute(sa.text("SELECT 1")).scalar()
        finally:
            db.session.remove()


def _pings(app, monkeypatch, checkouts: int) -> int:
    with app.app_context():
        dialect = db.engine.dialect
    calls = []
    real = dialect.do_ping
    monkeypatch.setattr(dialect, "do_ping", lambda conn: calls.append(1) or real(conn))
    for _ in range(checkouts):
        _query_once(app)
    return len(calls)


def test_a_connection_dropped_while_idle_is_replaced_before_use(apps):
    with pg_schema("test_conn_checks") as url:
        app = apps(url, DB_PING_AFTER_IDLE_SECONDS=0)  # idle "long enough" at once
        _query_once(app)
        _server_drops_the_pooled_connection(app)
        assert _query_once(app) == 1  # the ping found it dead; the pool connected anew


def test_without_the_check_the_dropped_connection_fails_the_request(apps):
    """What the check is for: with no check the first use of the dropped connection fails."""
    with pg_schema("test_conn_checks") as url:
        app = apps(url, DB_PING_AFTER_IDLE_SECONDS=None)
        _query_once(app)
        _server_drops_the_pooled_connection(app)
        with pytest.raises(sa.exc.OperationalError):
            _query_once(app)
        assert _query_once(app) == 1  # and the pool recovers by itself afterwards


def test_a_connection_used_a_moment_ago_is_not_pinged_again(apps, monkeypatch):
    with pg_schema("test_conn_checks") as url:
        assert _pings(apps(url, DB_PING_AFTER_IDLE_SECONDS=3600), monkeypatch, 5) == 0
        assert _pings(apps(url, DB_PING_AFTER_IDLE_SECONDS=0), monkeypatch, 5) == 5
