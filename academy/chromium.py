"""HTML to PDF with headless Chromium's print-to-PDF.

One Chromium process per document (about a second each), with a fresh profile in a
temporary folder, no network services and a timeout after which the whole process group
is killed (Debian's /usr/bin/chromium is a shell script that starts the browser, which
starts its own helpers). The page prints with its own ``@page`` rules and no browser
header or footer. When Chromium is missing or fails, ``html_to_pdf`` logs one line saying
why and returns None: callers keep serving the HTML they have.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import tempfile
from pathlib import Path

log = logging.getLogger(__name__)

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--no-pdf-header-footer",
)


def available(path: str | None) -> bool:
    """Whether ``path`` names an executable file (an empty path: PDFs turned off)."""
    return bool(path) and os.path.isfile(path) and os.access(path, os.X_OK)


def html_to_pdf(html: str, path: str | None, timeout: float = 60) -> bytes | None:
    """The PDF Chromium prints from ``html`` (a self-contained page), or None."""
    if not available(path):
        if path:
            log.warning("PDF: no Chromium at %s (CHROMIUM_PATH); the HTML is served instead", path)
        else:
            log.info("PDF: CHROMIUM_PATH is empty, PDFs are off; the HTML is served instead")
        return None
    with tempfile.TemporaryDirectory(prefix="academy-pdf-") as tmp:
        source, out = Path(tmp, "document.html"), Path(tmp, "document.pdf")
        source.write_text(html, encoding="utf-8")
        command = [
            path,
            *FLAGS,
            f"--user-data-dir={Path(tmp, 'profile')}",
            f"--print-to-pdf={out}",
            source.as_uri(),
        ]
        try:
            proc = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                start_new_session=True,  # its own process group, to be killed as one
            )
        except OSError as err:
            log.error("PDF: could not start Chromium at %s: %s", path, err)
            return None
        try:
            _, stderr = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            log.error("PDF: Chromium took longer than %ss and was stopped", timeout)
            return None
        data = out.read_bytes() if out.is_file() else b""
        if proc.returncode != 0 or not data.startswith(b"%PDF-"):
            log.error(
                "PDF: Chromium failed (exit %s, %d bytes written): %s",
                proc.returncode,
                len(data),
                _last_line(stderr),
            )
            return None
        return data


def _kill_group(proc: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate()


def _last_line(stderr: bytes) -> str:
    lines = [ln for ln in stderr.decode("utf-8", "replace").splitlines() if ln.strip()]
    useful = [ln for ln in lines if "dbus" not in ln.lower()]  # noise of a headless machine
    return (useful or lines or ["(no output)"])[-1][:300]
