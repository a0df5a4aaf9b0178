"""Uploads: upload → check → preview → confirm, and the files kept in between.

``UploadFlow`` is the one flow of every import page (roster, question banks; simulation
cases and marking schemes can use it the same way). The view keeps its own page, its own
check and its own preview; the flow does the rest::

    FLOW = UploadFlow("roster_import", what="花名册文件", max_bytes=…, too_big=…,
                      choose="请选择要上传的 Excel 文件（.xlsx）。", suffix_of=lambda _: ".xlsx")

    # POST /import
    try:
        form, data, name = FLOW.receive(ImportForm)   # size, CSRF, file present, read capped
    except UploadRefused as no:
        return page(no.form, file_error=no.message, status=no.status)
    …check data; on problems: return page(form, problems=…)…
    FLOW.keep(data, {"name": name, …})                # file stored, token in the session
    return preview(…, token=pending["token"])

    # POST /import/confirm
    found = FLOW.pending(ConfirmForm())               # or None after a flash saying why
    …check again, apply…
    FLOW.done(pending)                                # file removed, session cleared

The file waits under ``instance/imports/<token><suffix>``; the signed session holds only
the random token, never the content. A cancelled import deletes its file at once; files
left behind (a preview abandoned) are swept after ``KEEP_SECONDS`` by any later upload,
confirmation or cancel, and by the daily job (``sweep``), since a roster file holds ID
numbers. Several app servers on different machines need a shared ``instance/imports``
folder (or sticky sessions) for the confirmation to find the file.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from flask import current_app, flash, request, session
from flask_login import current_user

KEEP_SECONDS = 2 * 3600  # ample for a preview and its confirmation
TOKEN_RE = re.compile(r"^[0-9a-f]{32}$")
SUFFIX_RE = re.compile(r"^\.[a-z0-9]{1,10}$")


def folder() -> Path:
    path = Path(current_app.instance_path) / "imports"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _path(token: str, suffix: str) -> Path | None:
    if not isinstance(token, str) or not TOKEN_RE.match(token) or not SUFFIX_RE.match(suffix):
        return None
    return folder() / f"{token}{suffix}"


def store(data: bytes, suffix: str) -> str:
    """Keep ``data`` and return its token (old uploads of any kind are swept first)."""
    if not SUFFIX_RE.match(suffix):
        raise ValueError(f"bad suffix {suffix!r}")
    base = folder()
    sweep()
    token = secrets.token_hex(16)
    partial = base / f"{token}.part"
    partial.write_bytes(data)
    partial.replace(base / f"{token}{suffix}")
    return token


def sweep(now: float | None = None) -> int:
    """Delete uploads older than ``KEEP_SECONDS``; return how many went."""
    cutoff = (now or time.time()) - KEEP_SECONDS
    gone = 0
    for old in folder().iterdir():
        try:
            if old.is_file() and old.stat().st_mtime < cutoff:
                old.unlink()
                gone += 1
        except OSError:
            pass  # another request removed it
    return gone


def load(token: str, suffix: str) -> bytes | None:
    """The stored upload, or None if the token is malformed, unknown or expired."""
    path = _path(token, suffix)
    if path is None:
        return None
    try:
        if path.stat().st_mtime < time.time() - KEEP_SECONDS:
            path.unlink()
            return None
        return path.read_bytes()
    except OSError:
        return None


def discard(token: str, suffix: str) -> None:
    path = _path(token, suffix)
    if path is not None:
        path.unlink(missing_ok=True)
    sweep()


def display_name(filename: str) -> str:
    """The uploaded file's name, for messages and the audit trail only (never a path)."""
    base = re.split(r"[\\/]", filename or "")[-1]
    return re.sub(r"[\x00-\x1f\x7f]", "", base).strip()[:80]


EXPIRED_PAGE = "页面已过期，请刷新后重新上传。"


class UploadRefused(Exception):
    """The upload cannot be checked: ``message`` for the page (None: the form's own field
    errors say why), the HTTP ``status``, and the ``form`` to show again (None when the
    request was refused before its form was read)."""

    def __init__(self, message: str | None, status: int, form=None):
        super().__init__(message)
        self.message = message
        self.status = status
        self.form = form


@dataclass(frozen=True)
class UploadFlow:
    session_key: str  # where the pending upload waits in the session
    what: str  # the file, for messages: "花名册文件", "题目文件"
    max_bytes: int
    too_big: str  # the message for a file over max_bytes
    choose: str  # the message when no file was chosen
    suffix_of: Callable[[dict], str]  # the stored file's suffix, from the pending dict
    slack: int = 0  # request bytes allowed beyond the file (the form's other fields)

    def receive(self, make_form) -> tuple:
        """Forget any earlier pending upload of this kind, then ``(form, data, name)`` of
        the new one, or raise ``UploadRefused``. The request size is checked before the
        body is parsed; the file is read at most ``max_bytes + 1``."""
        self.drop(session.pop(self.session_key, None))
        if (request.content_length or 0) > self.max_bytes + self.slack:
            raise UploadRefused(self.too_big, 413)
        form = make_form()
        if not form.validate_on_submit():
            if "csrf_token" in form.errors or not form.errors:
                raise UploadRefused(EXPIRED_PAGE, 400, form)
            raise UploadRefused(None, 422, form)
        upload = form.file.data
        if upload is None or not getattr(upload, "filename", ""):
            raise UploadRefused(self.choose, 400, form)
        data = upload.read(self.max_bytes + 1)
        if len(data) > self.max_bytes:
            raise UploadRefused(self.too_big, 413, form)
        return form, data, display_name(upload.filename)

    def keep(self, data: bytes, pending: dict) -> dict:
        """Store the checked file for its confirmation: ``pending`` (what the preview
        needs again) gets the file's ``token`` and the ``user`` and waits in the session."""
        pending = {**pending, "user": current_user.id}
        pending["token"] = store(data, self.suffix_of(pending))
        session[self.session_key] = pending
        return pending

    def remember(self, pending: dict) -> None:
        """Keep an updated ``pending`` (e.g. a new digest after a changed preview)."""
        session[self.session_key] = pending

    def pending(self, form) -> tuple[dict, bytes] | None:
        """The pending upload that the 「确认」 form refers to, with its bytes; or None
        after flashing why not."""
        return confirmed(form, self.session_key, self.suffix_of, self.what)

    def cancel(self, form) -> bool:
        """「放弃」: delete the pending upload the form names at once (it may hold ID
        numbers); False if the form is stale or names another upload."""
        pending = session.get(self.session_key)
        if not (
            form.validate_on_submit()
            and isinstance(pending, dict)
            and form.token.data == pending.get("token")
        ):
            return False
        self.done(pending)
        return True

    def done(self, pending: dict) -> None:
        """The import is applied or abandoned: remove the file and forget it."""
        self.drop(pending)
        session.pop(self.session_key, None)

    def drop(self, pending) -> None:
        if isinstance(pending, dict) and pending.get("token"):
            discard(pending["token"], self.suffix_of(pending))


def confirmed(form, session_key: str, suffix_of, what: str) -> tuple[dict, bytes] | None:
    """The pending upload that an import's 「确认」 form refers to, with its bytes; or None
    after flashing why not (expired page, nothing pending, a newer upload elsewhere, file
    gone). ``suffix_of(pending)`` gives the stored file's suffix; ``what`` names the file
    ("花名册文件", "题目文件")."""
    pending = session.get(session_key)
    if not form.validate_on_submit():
        flash("页面已过期，请重新上传文件。", "warning")
        return None
    if not isinstance(pending, dict) or not pending.get("token"):
        flash(f"没有待确认的导入，请先上传{what}。", "warning")
        return None
    token = pending["token"]
    if form.token.data != token or pending.get("user") != current_user.id:
        flash("这份预览已失效（可能在其他窗口上传了新的文件），请重新上传。", "warning")
        return None
    data = load(token, suffix_of(pending))
    if data is None:
        session.pop(session_key, None)
        flash("上传的文件已过期或找不到了，请重新上传。", "warning")
        return None
    return pending, data
