"""Bad URLs give Chinese 404 pages; a failing request shows no traceback and writes nothing."""

import pytest
import sqlalchemy as sa

from academy.extensions import db
from academy.roster.models import Agent


@pytest.mark.parametrize(
    "url",
    [
        "/villages/abc",
        "/villages/0",
        "/villages/99999999999",
        "/villages/2147483648",
        "/roster/-1",
        "/roster/1.5",
        "/no-such-page",
        "/items/no-such-item",
        "/villages?page=abc",
        "/roster/?page=0",
        "/admin/users/999999",
    ],
)
def test_malformed_or_unknown_ids_are_404_in_chinese(world, login_as, url):
    resp = login_as(world.admin).get(url)
    assert resp.status_code == 404
    assert "页面不存在" in resp.get_data(as_text=True)


def test_json_clients_get_json_errors(world, login_as):
    resp = login_as(world.admin).get("/villages/abc", headers={"Accept": "application/json"})
    assert resp.status_code == 404
    assert resp.get_json()["error"] == "页面不存在"


def test_unexpected_error_rolls_back_and_hides_traceback(world, login_as, monkeypatch):
    import academy.roster.services as roster_services

    def boom(*args, **kwargs):
        raise RuntimeError("database exploded: secret detail")

    monkeypatch.setattr(roster_services, "record", boom)  # fails after the agent is flushed
    client = login_as(world.east_head)
    resp = client.post(
        "/roster/new",
        data={
            "village_id": world.east_village2.id,
            "kind": "full_time",
            "joined_on": "2026-01-05",
            "name": "不应保存",
            "phone": "13900002222",
            "gender": "",
            "education": "",
        },
    )
    html = resp.get_data(as_text=True)
    assert resp.status_code == 500
    assert "系统出错了" in html
    assert "Traceback" not in html and "secret detail" not in html
    assert db.session.scalar(sa.select(Agent).where(Agent.name == "不应保存")) is None


def test_security_headers_are_set(world, login_as):
    resp = login_as(world.admin).get("/home")
    assert "script-src 'self'" in resp.headers["Content-Security-Policy"]
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
