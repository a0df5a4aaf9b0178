"""Small things every page gets right: an icon, breadcrumbs that end with the page."""

from __future__ import annotations

import re


def test_favicon_is_served_and_linked(client, world, login_as):
    resp = client.get("/favicon.ico")
    assert resp.status_code == 200 and resp.data[:4] == b"\x00\x00\x01\x00"
    resp.close()
    html = login_as(world.agent_user).get("/home").get_data(as_text=True)
    assert '<link rel="icon" href="/static/favicon.ico"' in html


def test_breadcrumbs_do_not_end_with_a_dangling_separator(client, world, login_as):
    login_as(world.admin)
    for path in ("/roster/import", "/questions/banks/", "/questions/import"):
        html = client.get(path).get_data(as_text=True)
        crumbs = re.findall(r'<p class="crumbs">(.*?)</p>', html, re.S)
        assert crumbs, path
        assert not any(c.rstrip().endswith("›") for c in crumbs), path
