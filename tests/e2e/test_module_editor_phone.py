"""An expert edits a module on a 360 px phone with the structured editor."""

from __future__ import annotations

import pytest

from tests.e2e.waits import shown
from tests.factories import PASSWORD

pytestmark = pytest.mark.e2e


def test_expert_reorders_adds_previews_and_saves_on_a_phone(live_server, phone):
    base, slug = live_server["url"], live_server["ids"]["module"]
    phone.goto(base + "/login")
    phone.fill("#username", "expert-t")
    phone.fill("#password", PASSWORD)
    phone.click("button[type=submit]")
    phone.wait_for_url("**/home")
    phone.goto(f"{base}/learn/{slug}/edit")
    overflow = phone.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the editor scrolls sideways by {overflow}px"
    phone.fill("input[name=materials-0-order]", "9")  # 死亡证明 last
    phone.fill("textarea[name=mistakes-3-mistake]", "没核对银行卡户名")
    phone.fill("textarea[name=mistakes-3-fix]", "当场核对户名")
    phone.fill("#f-title", "死亡待遇申领（手机上改）")
    phone.click("button[value=preview]")
    # The agent's page, with the new title, every part, and a bar to save.
    assert shown(phone, "text=预览：代办员看到的页面。")
    assert phone.text_content("h1").strip().startswith("死亡待遇申领（手机上改）")
    for part in ("#guide", "#materials", "#order", "#form", "#check"):
        assert shown(phone, part)
    phone.click(".preview-bar button[value=save]")
    assert shown(phone, "text=已保存为第 2 版")
    phone.goto(f"{base}/learn/{slug}/edit")
    assert phone.input_value("input[name=materials-1-name]") == "死亡证明"
    assert phone.input_value("textarea[name=mistakes-3-mistake]") == "没核对银行卡户名"
