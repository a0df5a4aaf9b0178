"""The address people reach the site by, remembered for documents made outside a request.

A certificate's QR code points at the public address. With ``PUBLIC_BASE_URL`` unset, a
request knows its own address; a job (cron, CLI) does not, so signed-in requests note the
last non-loopback address here (in memory and in ``instance/public_address``).
"""

from __future__ import annotations

import logging
from pathlib import Path
from urllib.parse import urlsplit

from flask import current_app, has_request_context, request

log = logging.getLogger(__name__)
_warned: set[str] = set()


def _warn_once(message: str) -> None:
    if message not in _warned:
        _warned.add(message)
        log.warning(message)


def _is_loopback(netloc: str) -> bool:
    host = (urlsplit(f"//{netloc}").hostname or "").lower()
    return host in ("localhost", "::1", "0.0.0.0") or host.startswith("127.") or not host


def _address_file() -> Path | None:
    configured = current_app.config.get("PUBLIC_ADDRESS_FILE", "")
    if configured is None:
        return None
    return Path(configured or Path(current_app.instance_path) / "public_address")


def _seen() -> dict:
    return current_app.extensions.setdefault("public_address", {})


def note_public_address() -> None:
    """Called for signed-in requests: remember the address people reach the site by (not a
    loopback one), so that a document frozen outside a request (cron, CLI) can use it."""
    if current_app.config.get("PUBLIC_BASE_URL") or not has_request_context():
        return
    base = request.host_url.rstrip("/")
    if _is_loopback(request.host) or _seen().get("base") == base:
        return
    _seen()["base"] = base
    path = _address_file()
    if path is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(base + "\n", encoding="utf-8")
        except OSError as err:  # a read-only instance folder: keep it in memory only
            _warn_once(f"cannot remember the public address in {path}: {err}")


def last_public_address() -> str | None:
    """The last non-loopback address the site was reached by, if any."""
    if "base" in _seen():
        return _seen()["base"]
    path = _address_file()
    if path is not None and path.is_file():
        base = path.read_text(encoding="utf-8").strip()
        parts = urlsplit(base)
        if parts.scheme in ("http", "https") and parts.netloc and not _is_loopback(parts.netloc):
            _seen()["base"] = base
            return base
    return None
