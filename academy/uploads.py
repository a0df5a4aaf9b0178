"""Uploads kept between a preview and its confirmation (roster and question imports).

The file waits under ``instance/imports/<token><suffix>``; the signed session holds only
the random token, never the content. Files older than a day are swept when a new one is
stored. Several app servers on different machines need a shared ``instance/imports``
folder (or sticky sessions) for the confirmation to find the file.
"""

from __future__ import annotations

import re
import secrets
import time
from pathlib import Path

from flask import current_app

KEEP_SECONDS = 24 * 3600
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
    cutoff = time.time() - KEEP_SECONDS
    for old in base.iterdir():
        try:
            if old.is_file() and old.stat().st_mtime < cutoff:
                old.unlink()
        except OSError:
            pass  # another request removed it
    token = secrets.token_hex(16)
    partial = base / f"{token}.part"
    partial.write_bytes(data)
    partial.replace(base / f"{token}{suffix}")
    return token


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


def display_name(filename: str) -> str:
    """The uploaded file's name, for messages and the audit trail only (never a path)."""
    base = re.split(r"[\\/]", filename or "")[-1]
    return re.sub(r"[\x00-\x1f\x7f]", "", base).strip()[:80]
