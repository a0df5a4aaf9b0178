"""What `make run` does, on a fresh SQLite file: migrate, sync the content, load the demo
county (once), then the demo accounts' main pages open."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from academy import create_app
from academy.config import TestConfig
from academy.extensions import db
from tests.integration.test_migrations import _logging_kept

PAGES = {
    "admin": ["/home", "/dashboard/", "/roster/", "/manage/exams/", "/activity/", "/certificates/"],
    "head-chengtan": ["/home", "/dashboard/", "/plans/", "/manage/exams/", "/activity/"],
    "expert": ["/home", "/questions/", "/manage/exams/", "/manage/exams/marking"],
    "agent": ["/home", "/learn/", "/exams/", "/practice/", "/certificates/"],
}


@pytest.fixture(scope="module")
def demo_app(tmp_path_factory):
    path = tmp_path_factory.mktemp("make-run") / "academy.db"
    app = create_app(
        {
            **{k: getattr(TestConfig, k) for k in dir(TestConfig) if k.isupper()},
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}",
            "WTF_CSRF_ENABLED": False,
        }
    )
    runner = app.test_cli_runner()
    with _logging_kept():
        steps = [runner.invoke(args=["init-db"])]
    steps += [runner.invoke(args=["content", "sync"]), runner.invoke(args=["seed-demo"])]
    yield app, steps, runner
    with app.app_context():
        db.engine.dispose()


def test_make_run_loads_the_demo_once(demo_app):
    app, steps, runner = demo_app
    for step in steps:
        assert step.exit_code == 0, step.output
    assert "演示考试 2 场" in steps[-1].output
    again = runner.invoke(args=["seed-demo"])
    assert again.exit_code == 0 and "未重复载入" in again.output
    from academy.exams.models import Attempt

    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Attempt)) > 20


@pytest.mark.parametrize("username", sorted(PAGES))
def test_demo_accounts_main_pages_open(demo_app, username):
    app = demo_app[0]
    client = app.test_client()
    r = client.post("/login", data={"username": username, "password": "demo2026"})
    assert r.status_code == 302, r.get_data(as_text=True)[:300]
    for path in PAGES[username]:
        page = client.get(path)
        assert page.status_code == 200, f"{username} {path}: {page.status_code}"
