"""Module pages stay small for a village's slow link: page + CSS + JS under 100 KB."""

from pathlib import Path

import sqlalchemy as sa

from academy.extensions import db
from academy.learning.models import Module

ROOT = Path(__file__).resolve().parents[2]
BUDGET = 100 * 1024


def test_every_shipped_module_page_is_under_100kb(app, world, login_as):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["content", "sync", "--root", str(ROOT)])
    assert result.exit_code == 0, result.output
    client = login_as(world.agent_user)
    assets = 0
    for path in ("/static/css/app.css", "/static/js/app.js", "/static/js/readaloud.js"):
        resp = client.get(path)
        assets += len(resp.data)
        resp.close()
    slugs = db.session.scalars(sa.select(Module.slug)).all()
    assert slugs
    for slug in slugs:
        resp = client.get(f"/learn/{slug}")
        assert resp.status_code == 200, slug
        assert len(resp.data) + assets < BUDGET, (slug, len(resp.data), assets)
        assert (
            b"<img" not in resp.data
            and b"http://" not in resp.data
            and b"https://" not in resp.data
        )


def test_a_redirect_after_a_post_carries_no_page_under_it(client, world, login_as):
    """The phone follows the Location; the HTML page Werkzeug would write under it is never
    shown — nothing but the headers goes over the village's link."""
    resp = client.get("/home")  # not signed in: sent to the login page
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]
    assert resp.data == b"" and resp.headers["Content-Length"] == "0"
    signed_in = login_as(world.agent_user)
    resp = signed_in.get("/login")
    assert resp.status_code == 302 and resp.data == b""
