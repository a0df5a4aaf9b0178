"""Uploads kept between a preview and its confirmation (roster and question imports).

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
from pathlib import Path

from flask import current_app

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


def confirmed(form, session_key: str, suffix_of, what: str) -> tuple[dict, bytes] | None:
    """The pending upload that an import's 「确认」 form refers to, with its bytes; or None
    after flashing why not (expired page, nothing pending, a newer upload elsewhere, file
    gone). ``suffix_of(pending)`` gives the stored file's suffix; ``what`` names the file
    ("花名册文件", "题目文件")."""
    from flask import flash, session
    from flask_login import current_user

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
