"""Test databases and apps, set up one way for every test module.

- ``test_app(url, **config)``: an app on ``url`` with ``TestConfig`` and any overrides.
- ``pg_schema(name)``: a fresh PostgreSQL schema in ``TEST_DATABASE_URL`` (dropped first
  if left over, dropped again afterwards); yields the URL whose search_path is that schema.
- ``database_url(backend, sqlite_file, schema)``: the one or the other, for fixtures
  parametrised over ``BACKENDS``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

from academy import create_app
from academy.config import TestConfig, normalise_db_url

BACKENDS = ["sqlite"] + (["postgresql"] if os.environ.get("TEST_DATABASE_URL") else [])


def app_config(url: str, **config) -> dict:
    return {
        **{k: getattr(TestConfig, k) for k in dir(TestConfig) if k.isupper()},
        "SQLALCHEMY_DATABASE_URI": url,
        **config,
    }


def test_app(url: str, **config):
    return create_app(app_config(url, **config))


test_app.__test__ = False  # a helper, not a test, where a test module imports it


@contextmanager
def pg_schema(schema: str) -> Iterator[str]:
    base = normalise_db_url(os.environ["TEST_DATABASE_URL"])
    admin = sa.create_engine(base)
    with admin.begin() as conn:
        conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    sep = "&" if "?" in base else "?"
    try:
        yield f"{base}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        admin.dispose()


@contextmanager
def database_url(backend: str, sqlite_file: Path, schema: str) -> Iterator[str]:
    if backend == "sqlite":
        yield "sqlite:///" + str(sqlite_file)
    else:
        with pg_schema(schema) as url:
            yield url
