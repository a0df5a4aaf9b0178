"""Waiting for what a person would see, not for the first paint after a click.

``page.is_visible`` answers at once: after a click that posts a form, the answer can
come from the page being left rather than the page the server sent back (CI saw
exactly that once). ``shown`` waits, up to a bound, for the first match to appear.
"""

from __future__ import annotations

WAIT_MS = 5000


def shown(page, selector: str, timeout: float = WAIT_MS) -> bool:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.locator(selector).first.wait_for(state="visible", timeout=timeout)
    except PlaywrightTimeout:
        return False
    return True
