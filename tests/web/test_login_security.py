"""Sessions end at logout; login throttling that never locks a shared address out; the
current-password check is throttled; common passwords refused; HTTPS settings."""

from __future__ import annotations

import pytest

from academy import create_app
from academy.config import TestConfig
from tests.factories import PASSWORD

OFFICE = {"REMOTE_ADDR": "10.1.1.1"}  # a village office: everyone behind one address


def _login(client, username, password, addr="10.1.1.1", remember=False):
    data = {"username": username, "password": password}
    if remember:
        data["remember"] = "y"
    return client.post("/login", data=data, environ_overrides={"REMOTE_ADDR": addr})


def _cookie(client, name):
    cookie = client.get_cookie(name)
    return cookie.value if cookie else None


def test_logout_ends_the_session_and_the_remember_me_cookie(app, client, world):
    assert _login(client, "head-east", PASSWORD, remember=True).status_code == 302
    session_cookie, remember = _cookie(client, "session"), _cookie(client, "remember_token")
    assert session_cookie and remember
    assert client.get("/home").status_code == 200
    assert client.post("/logout").status_code == 302

    replay = app.test_client()
    replay.set_cookie("session", session_cookie)
    assert replay.get("/home").status_code == 302  # to the login page
    by_remember = app.test_client()
    by_remember.set_cookie("remember_token", remember)
    assert by_remember.get("/home").status_code == 302
    # Logging in again works and opens pages.
    assert _login(client, "head-east", PASSWORD).status_code == 302
    assert client.get("/home").status_code == 200


def test_someone_elses_failures_at_the_same_office_never_lock_out_the_admin(client, world):
    for _ in range(8):
        _login(client, "head-east", "wrong-pass1")
    resp = _login(client, "head-east", PASSWORD)
    assert resp.status_code == 429 and "锁定" in resp.get_data(as_text=True)
    # The same address, another account, right password: in.
    assert _login(client, "admin-t", PASSWORD).status_code == 302
    client.post("/logout")
    # The locked account from another address (its owner at home): in.
    assert _login(client, "head-east", PASSWORD, addr="10.9.9.9").status_code == 302


def test_abusive_volume_from_one_address_refuses_only_accounts_that_failed_there(
    app, client, world, monkeypatch
):
    monkeypatch.setitem(app.config, "LOGIN_MAX_FAILURES_PER_IP", 4)
    for name in ("head-west", "expert-t", "nobody1", "nobody2"):
        _login(client, name, "wrong-pass1")
    # Over the cap: an account that already failed from this address is refused at once…
    resp = _login(client, "head-west", PASSWORD)
    assert resp.status_code == 429
    # …but the right password of an account that is not locked still gets in.
    assert _login(client, "admin-t", PASSWORD).status_code == 302


def test_guessing_one_account_from_many_addresses_locks_the_account(
    app, client, world, monkeypatch
):
    monkeypatch.setitem(app.config, "LOGIN_MAX_FAILURES_PER_ACCOUNT", 6)
    for i in range(6):
        _login(client, "head-east", "wrong-pass1", addr=f"10.2.0.{i}")
    resp = _login(client, "head-east", PASSWORD, addr="10.3.0.1")
    assert resp.status_code == 429 and "该账号登录失败次数过多" in resp.get_data(as_text=True)


def test_current_password_check_is_throttled(login_as, world):
    client = login_as(world.east_head)
    for _ in range(5):
        html = client.post(
            "/account/password",
            data={"current": "wrong-pass1", "new": "newpass99", "confirm": "newpass99"},
        ).get_data(as_text=True)
        assert "当前密码不正确" in html
    html = client.post(
        "/account/password",
        data={"current": PASSWORD, "new": "newpass99", "confirm": "newpass99"},
    ).get_data(as_text=True)
    assert "次数过多" in html
    assert world.east_head.check_password(PASSWORD)  # unchanged


@pytest.mark.parametrize("weak", ["password123", "Abc12345", "woaini1314", "1qaz2wsx"])
def test_common_passwords_are_refused(login_as, world, weak):
    client = login_as(world.east_head)
    html = client.post(
        "/account/password", data={"current": PASSWORD, "new": weak, "confirm": weak}
    ).get_data(as_text=True)
    assert "太常见" in html
    assert world.east_head.check_password(PASSWORD)


def _bare_app(**config):
    return create_app(
        {
            **{k: getattr(TestConfig, k) for k in dir(TestConfig) if k.isupper()},
            "SQLALCHEMY_DATABASE_URI": "sqlite://",
            **config,
        }
    )


def test_https_public_address_turns_on_secure_cookies_and_hsts():
    app = _bare_app(PUBLIC_BASE_URL="https://academy.example.cn")
    assert app.config["SESSION_COOKIE_SECURE"] and app.config["REMEMBER_COOKIE_SECURE"]
    resp = app.test_client().get("/login")
    assert resp.headers["Strict-Transport-Security"].startswith("max-age=")
    assert resp.headers["Server"] == "academy"

    plain = _bare_app(SITE_URL="http://192.168.1.10:5000")
    assert not plain.config["SESSION_COOKIE_SECURE"]
    assert "Strict-Transport-Security" not in plain.test_client().get("/login").headers
