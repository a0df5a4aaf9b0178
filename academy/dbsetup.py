"""Engine tweaks per database: SQLite as a real embedded database.

SQLite allows one writer at a time. Three settings make that safe under concurrent use:

- WAL journal: readers never wait for the writer, nor the writer for readers;
- a busy timeout (``SQLITE_BUSY_TIMEOUT_MS``): a writer waits for the lock instead of
  failing at once with "database is locked";
- write transactions take the write lock when they begin (``BEGIN IMMEDIATE``). A
  transaction that starts as a reader and later writes (``BEGIN`` deferred) cannot wait
  for the lock: if another writer committed meanwhile, SQLite refuses the upgrade at once
  (the busy timeout does not apply), which is the "database is locked" 500 of a busy exam
  room. So a request that writes — POST, PUT, PATCH, DELETE — and every CLI command begin
  IMMEDIATE; plain reads (GET) stay deferred and never wait. A GET handler that writes
  calls :func:`writing` before its first write; a job outside a request wraps its writes
  in :func:`write_intent`.

Foreign keys are switched on, and SQLAlchemy (not pysqlite) decides when transactions
begin, so that SAVEPOINTs work and a failed request rolls back all of its writes.
PostgreSQL needs none of this: row locks and MVCC give the same outcome. There, a pooled
connection is checked (a ``SELECT 1`` round trip) when it is taken from the pool only if it
sat unused for ``DB_PING_AFTER_IDLE_SECONDS`` (10): a connection that served a request a
moment ago is not pinged again, which a busy exam day pays on every save otherwise
(SQLAlchemy's ``pool_pre_ping`` pings every checkout). A connection the server dropped
(restart, idle timeout, a pooler) is found by the ping and replaced before the request
uses it; one dropped within the idle threshold fails that one request, and the pool then
drops its connections (SQLAlchemy's disconnect handling).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import click
from flask import Flask, has_request_context, request
from sqlalchemy import event, exc

from academy.extensions import db

READ_ONLY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
WRITING_KEY = "academy.db_writing"
_write_intent: ContextVar[bool] = ContextVar("write_intent", default=False)


def _wants_write_lock() -> bool:
    if _write_intent.get():
        return True
    if has_request_context():
        return request.method not in READ_ONLY_METHODS or WRITING_KEY in request.environ
    return click.get_current_context(silent=True) is not None  # a CLI command


@contextmanager
def write_intent() -> Iterator[None]:
    """Transactions begun inside take the write lock at once (jobs outside requests)."""
    token = _write_intent.set(True)
    try:
        yield
    finally:
        _write_intent.reset(token)


def writing() -> None:
    """Call in a GET handler before its first write. On SQLite, a read transaction already
    open is ended (it wrote nothing) and the next one begins with the write lock; loaded
    objects are re-read inside it. No-op on PostgreSQL and in write requests."""
    if db.engine.dialect.name != "sqlite" or _wants_write_lock() or not has_request_context():
        return
    request.environ[WRITING_KEY] = True
    session = db.session()  # the Session itself (the scoped proxy lacks in_transaction)
    if session.in_transaction() and not session.connection().info.get("immediate"):
        session.commit()


def _ping_idle_connections(engine, idle_seconds: float) -> None:
    """Ping a connection on checkout when it was idle for ``idle_seconds`` or more (see the
    module docstring); a failed ping makes the pool replace it (DisconnectionError)."""

    @event.listens_for(engine, "connect")
    @event.listens_for(engine, "checkin")
    def _fresh(_dbapi_conn, record):
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_conn, record, _proxy):
        since = record.info.get("idle_since")
        if since is not None and time.monotonic() - since < idle_seconds:
            return
        try:
            engine.dialect.do_ping(dbapi_conn)
        except engine.dialect.loaded_dbapi.Error as err:
            raise exc.DisconnectionError() from err  # the pool connects anew and retries


def configure_engines(app: Flask) -> None:
    with app.app_context():
        engine = db.engine
        if engine.dialect.name != "sqlite":
            idle = app.config.get("DB_PING_AFTER_IDLE_SECONDS")
            pre_ping = app.config.get("SQLALCHEMY_ENGINE_OPTIONS", {}).get("pool_pre_ping")
            if idle is not None and not pre_ping:  # pool_pre_ping pings every checkout anyway
                _ping_idle_connections(engine, float(idle))
            return
        timeout_ms = int(app.config.get("SQLITE_BUSY_TIMEOUT_MS", 30000))

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn, _record):
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute(f"PRAGMA busy_timeout={timeout_ms}")
            cur.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn):
            immediate = _wants_write_lock()
            conn.info["immediate"] = immediate
            conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
