"""The one upload → check → preview → confirm flow (academy.uploads.UploadFlow)."""

from __future__ import annotations

from flask import session
from flask_wtf import FlaskForm
from wtforms import HiddenField

from academy import uploads
from academy.uploads import UploadFlow

FLOW = UploadFlow(
    "test_import",
    what="测试文件",
    max_bytes=100,
    too_big="文件太大",
    choose="请选择文件",
    suffix_of=lambda _: ".txt",
)


class ConfirmForm(FlaskForm):
    token = HiddenField()


def test_cancel_deletes_the_pending_file_at_once(app, db_session, tmp_path, monkeypatch):
    monkeypatch.setattr(app, "instance_path", str(tmp_path))
    token = uploads.store(b"110101199003077777", ".txt")
    with app.test_request_context(method="POST", data={"token": "0" * 32}):
        session["test_import"] = {"token": token}
        assert not FLOW.cancel(ConfirmForm())  # a stale page names another upload
        assert uploads.load(token, ".txt") is not None
    with app.test_request_context(method="POST", data={"token": token}):
        session["test_import"] = {"token": token}
        assert FLOW.cancel(ConfirmForm())
        assert "test_import" not in session
    assert uploads.load(token, ".txt") is None
