"""What `make run` does, on a fresh SQLite file: migrate, sync the content, load the demo
county (once), then the demo accounts' main pages open."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from academy.extensions import db
from tests.databases import test_app
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
    app = test_app(f"sqlite:///{path}", WTF_CSRF_ENABLED=False)
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


NEW_ITEMS = [
    "land-requisitioned-farmer-insurance",
    "enterprise-retirement-application",
    "collection-day-policy-consultation",
    "bank-insurance-services",
    "employment-matching",
]


def test_demo_villages_offer_the_items_the_source_documents_name(demo_app):
    from academy.catalogue.models import ServiceItem
    from academy.regions.models import Township, Village

    app = demo_app[0]
    with app.app_context():
        villages = db.session.scalars(sa.select(Village)).all()
        offered = {slug: 0 for slug in NEW_ITEMS}
        for village in villages:
            for item in village.items:
                if item.slug in offered:
                    offered[item.slug] += 1
        assert all(offered.values()), offered
        # 澄潭: the 失土农民参保 case of the source document — every village offers it.
        chengtan = db.session.scalar(sa.select(Township).where(Township.name == "澄潭街道"))
        land = db.session.scalar(
            sa.select(ServiceItem).where(ServiceItem.slug == "land-requisitioned-farmer-insurance")
        )
        assert chengtan.villages and all(land in v.items for v in chengtan.villages)
