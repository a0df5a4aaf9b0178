"""Every main page renders for the roles that may see it (no 500s, Chinese text)."""

import pytest

PAGES = [
    ("admin", "/home", "代办员队伍概况"),
    ("admin", "/townships", "镇街管理"),
    ("admin", "/villages", "村（社区）"),
    ("admin", "/villages/new", "新增村社"),
    ("admin", "/roster/", "代办员花名册"),
    ("admin", "/roster/new", "新增代办员"),
    ("admin", "/admin/users", "账号管理"),
    ("admin", "/admin/users/new", "新建账号"),
    ("admin", "/audit/", "操作记录"),
    ("admin", "/items/", "高频事项目录"),
    ("admin", "/certificates/archive", "批量下载证书"),
    ("east_head", "/home", "东镇"),
    ("east_head", "/roster/", "代办员花名册"),
    ("east_head", "/certificates/archive", "符合条件的证书 0 张"),
    ("expert", "/home", "专家工作台"),
    ("agent_user", "/home", "东一村"),
    ("agent_user", "/account/password", "修改密码"),
]


@pytest.mark.parametrize(("who", "url", "text"), PAGES)
def test_page_renders_for_role(world, login_as, who, url, text):
    client = login_as(getattr(world, who))
    resp = client.get(url)
    assert resp.status_code == 200, resp.get_data(as_text=True)[:2000]
    assert text in resp.get_data(as_text=True)
