"""A live server on a fresh SQLite file, and Debian's Chromium driven by Playwright."""

from __future__ import annotations

import os
import threading

import pytest
import yaml
from werkzeug.serving import make_server

from academy.content.loader import ContentDoc
from academy.extensions import db
from academy.learning.services import sync_modules
from tests import factories
from tests.content_samples import valid_module
from tests.databases import test_app

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="module")
def live_server(tmp_path_factory):
    if not os.path.exists(CHROMIUM):
        pytest.skip("Debian chromium is not installed (.ci/run installs it)")
    url = "sqlite:///" + str(tmp_path_factory.mktemp("e2e") / "e2e.db")
    app = test_app(url)
    with app.app_context():
        db.create_all()
        world = factories.build_world()
        data = valid_module(world.item.slug)
        sync_modules(
            [
                ContentDoc(
                    f"courses/{world.item.slug}.yaml",
                    data,
                    yaml.safe_dump(data, allow_unicode=True, sort_keys=False),
                )
            ]
        )
        db.session.commit()
        ids = {"east_agent": world.east_agent.id, "module": world.item.slug}
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield {"url": f"http://127.0.0.1:{server.server_port}", "app": app, "ids": ids}
    server.shutdown()
    with app.app_context():
        db.engine.dispose()


@pytest.fixture(scope="module")
def browser():
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield b
        b.close()


@pytest.fixture
def phone(browser):
    ctx = browser.new_context(viewport={"width": 360, "height": 740}, locale="zh-CN")
    page = ctx.new_page()
    yield page
    ctx.close()
