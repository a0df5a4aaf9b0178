"""Login, throttling, CSRF, deactivation and password changes, through HTTP."""

import sqlalchemy as sa

from academy.audit.models import AuditEvent
from academy.extensions import db
from tests.factories import PASSWORD


def _login(client, username, password, follow=False, **kw):
    return client.post(
        "/login", data={"username": username, "password": password}, follow_redirects=follow, **kw
    )


def test_login_with_right_password_reaches_home(client, world):
    resp = _login(client, "head-east", PASSWORD, follow=True)
    assert resp.status_code == 200
    assert "东镇" in resp.get_data(as_text=True)
    assert world.east_head.last_login_at is not None


def test_username_is_case_insensitive(client, world):
    resp = _login(client, "HEAD-East", PASSWORD)
    assert resp.status_code == 302


def test_wrong_password_is_refused_in_chinese(client, world):
    resp = _login(client, "head-east", "wrong-pass1")
    assert resp.status_code == 200
    assert "用户名或密码不正确" in resp.get_data(as_text=True)
    assert client.get("/home").status_code == 302  # still anonymous


def test_empty_form_names_each_missing_field(client, world):
    html = client.post("/login", data={}).get_data(as_text=True)
    assert "请输入用户名" in html and "请输入密码" in html


def test_repeated_failures_lock_the_account_but_not_others(client, world):
    for _ in range(5):
        _login(client, "head-east", "wrong-pass1")
    resp = _login(client, "head-east", PASSWORD)
    assert resp.status_code == 429
    assert "锁定" in resp.get_data(as_text=True)
    assert client.get("/home").status_code == 302
    # Another account from the same place still gets in.
    assert _login(client, "head-west", PASSWORD).status_code == 302


def test_successful_login_resets_the_failure_count(client, world):
    for _ in range(4):
        _login(client, "head-east", "wrong-pass1")
    assert _login(client, "head-east", PASSWORD).status_code == 302
    client.post("/logout")
    for _ in range(4):
        _login(client, "head-east", "wrong-pass1")
    assert _login(client, "head-east", PASSWORD).status_code == 302


def test_deactivated_account_cannot_log_in(client, world):
    world.east_head.active = False
    db.session.flush()
    resp = _login(client, "head-east", PASSWORD)
    assert "已停用" in resp.get_data(as_text=True)


def test_deactivating_ends_existing_sessions(client, world, login_as):
    login_as(world.east_head)
    assert client.get("/home").status_code == 200
    from academy.auth import services

    services.set_active(world.admin, world.east_head, False)
    db.session.flush()
    assert client.get("/home").status_code == 302


def test_logout_needs_post(client, world, login_as):
    login_as(world.agent_user)
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 302
    assert client.get("/home").status_code == 302


def test_next_parameter_cannot_redirect_off_site(client, world):
    resp = client.post(
        "/login?next=https://evil.example/x", data={"username": "head-east", "password": PASSWORD}
    )
    assert resp.headers["Location"].endswith("/home")
    client.post("/logout")
    resp2 = client.post(
        "/login?next=/roster/", data={"username": "head-west", "password": PASSWORD}
    )
    assert resp2.headers["Location"].endswith("/roster/")


def test_post_without_csrf_token_is_rejected(client, world, csrf_enabled):
    resp = _login(client, "head-east", PASSWORD)
    assert resp.status_code == 400
    assert "安全校验未通过" in resp.get_data(as_text=True)


def test_login_page_carries_a_csrf_token(client, world, csrf_enabled):
    html = client.get("/login").get_data(as_text=True)
    assert 'name="csrf_token"' in html


def test_change_password(client, world, login_as):
    login_as(world.agent_user)
    bad = client.post(
        "/account/password", data={"current": "nope", "new": "newpass99", "confirm": "newpass99"}
    )
    assert "当前密码不正确" in bad.get_data(as_text=True)
    weak = client.post(
        "/account/password", data={"current": PASSWORD, "new": "12345678", "confirm": "12345678"}
    )
    assert "字母和数字" in weak.get_data(as_text=True)
    mismatch = client.post(
        "/account/password", data={"current": PASSWORD, "new": "newpass99", "confirm": "newpass98"}
    )
    assert "两次输入的新密码不一致" in mismatch.get_data(as_text=True)
    ok = client.post(
        "/account/password", data={"current": PASSWORD, "new": "newpass99", "confirm": "newpass99"}
    )
    assert ok.status_code == 302
    assert client.get("/home").status_code == 200  # this session continues
    client.post("/logout")
    assert _login(client, "agent-t", PASSWORD).status_code == 200  # old password refused
    assert _login(client, "agent-t", "newpass99").status_code == 302
    actions = db.session.scalars(sa.select(AuditEvent.action)).all()
    assert "user.password_changed" in actions


def test_anonymous_user_is_sent_to_login(client, world):
    resp = client.get("/roster/")
    assert resp.status_code == 302
    assert "/login" in resp.headers["Location"]
