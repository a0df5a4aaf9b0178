"""The structured module editor: one section per part, add/remove/reorder, Chinese
problems, a preview of the page the agent sees; YAML stays the stored form."""

from __future__ import annotations

from html.parser import HTMLParser

import yaml
from werkzeug.datastructures import MultiDict

from academy.content.yamlio import parse_yaml
from academy.extensions import db


class _FormFields(HTMLParser):
    """What a browser would post for the editor form as rendered (no JS)."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: list[tuple[str, str]] = []
        self._in_form = False
        self._textarea: str | None = None
        self._text: list[str] = []
        self._select: str | None = None
        self._option: dict | None = None
        self._first_option: str | None = None
        self._picked = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form" and "module-editor" in (a.get("class") or ""):
            self._in_form = True
        if not self._in_form:
            return
        if tag == "input" and a.get("name"):
            if a.get("type") == "checkbox":
                if "checked" in a:
                    self.fields.append((a["name"], a.get("value", "on")))
            else:
                self.fields.append((a["name"], a.get("value") or ""))
        elif tag == "textarea":
            self._textarea, self._text = a["name"], []
        elif tag == "select":
            self._select, self._first_option, self._picked = a["name"], None, False
        elif tag == "option" and self._select:
            self._option = {"value": a.get("value"), "selected": "selected" in a, "text": ""}

    def handle_data(self, data):
        if self._textarea is not None:
            self._text.append(data)
        if self._option is not None:
            self._option["text"] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self._in_form = False
        elif tag == "textarea" and self._textarea is not None:
            self.fields.append((self._textarea, "".join(self._text)))
            self._textarea = None
        elif tag == "option" and self._option is not None:
            value = (
                self._option["value"] if self._option["value"] is not None else self._option["text"]
            )
            if self._first_option is None:
                self._first_option = value
            if self._option["selected"] and not self._picked:
                self.fields.append((self._select, value))
                self._picked = True
            self._option = None
        elif tag == "select" and self._select:
            if not self._picked:
                self.fields.append((self._select, self._first_option or ""))
            self._select = None


def _form(client, slug: str) -> list[tuple[str, str]]:
    html = client.get(f"/learn/{slug}/edit").get_data(as_text=True)
    parser = _FormFields()
    parser.feed(html)
    return parser.fields


def _set(fields, name, value):
    return [(k, value if k == name else v) for k, v in fields]


def test_editor_shows_every_part_of_the_module_in_its_own_section(world, module, login_as):
    html = login_as(world.expert).get(f"/learn/{module.slug}/edit").get_data(as_text=True)
    for section in (
        "ed-guide",
        "ed-materials",
        "ed-steps",
        "ed-tell",
        "ed-mistakes",
        "ed-emergencies",
        "ed-practice",
        "ed-check",
    ):
        assert f'id="{section}"' in html
    assert 'value="死亡证明"' in html  # a material row
    assert "添加一项材料" in html and "删除" in html and "序号" in html
    assert "第 5 题" in html  # the check questions
    assert "高级：直接编辑源文件" in html


def test_unchanged_form_saves_nothing(world, module, login_as):
    client = login_as(world.expert)
    fields = [*_form(client, module.slug), ("action", "save")]
    resp = client.post(f"/learn/{module.slug}/edit", data=MultiDict(fields), follow_redirects=True)
    assert "内容没有变化" in resp.get_data(as_text=True)
    db.session.refresh(module)
    assert module.version == 1


def test_add_remove_and_reorder_save_as_yaml(world, module, login_as):
    client = login_as(world.expert)
    fields = _form(client, module.slug)
    fields = _set(fields, "materials-0-order", "9")  # 死亡证明 moves last
    fields = _set(fields, "materials-2-name", "户口簿")  # the blank row adds a material
    fields = _set(fields, "materials-2-form", "原件")
    fields.append(("mistakes-0-remove", "1"))
    fields = _set(fields, "mistakes-3-mistake", "没核对银行卡户名")  # added in the blank row
    fields = _set(fields, "mistakes-3-fix", "当场核对户名与申领人一致")
    fields = _set(fields, "title", "死亡待遇申领（新）")
    fields += [("action", "save"), ("note", "调整材料")]
    resp = client.post(f"/learn/{module.slug}/edit", data=MultiDict(fields))
    assert resp.status_code == 302, resp.get_data(as_text=True)
    db.session.refresh(module)
    assert module.version == 2
    stored, problems = parse_yaml(module.source, "x")  # YAML stays the storage format
    assert not problems
    names = [m["name"] for m in stored["guide"]["materials"]]
    assert names == ["继承人居民身份证", "户口簿", "死亡证明"]
    assert len(stored["mistakes"]) == 3
    assert stored["mistakes"][-1]["mistake"] == "没核对银行卡户名"
    assert "漏带继承关系证明" not in module.source  # the removed one
    assert stored["title"] == "死亡待遇申领（新）" == module.title
    assert len(stored["check"]) == 5 and stored["check"][1]["answer"] is False


def test_form_problems_are_named_in_the_editors_words(world, module, login_as):
    client = login_as(world.expert)
    fields = _set(_form(client, module.slug), "materials-1-copies", "0")
    fields = _set(fields, "materials-0-name", "")
    fields = _set(fields, "materials-0-note", "只写了备注")
    resp = client.post(f"/learn/{module.slug}/edit", data=MultiDict([*fields, ("action", "save")]))
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400
    assert "办理材料 第 2 条 · 份数" in html and "份数应为正整数" in html
    assert "办理材料 第 1 条 · 名称" in html and "应为非空文本" in html
    db.session.refresh(module)
    assert module.version == 1


def test_preview_is_the_agents_page_with_everything(world, module, login_as):
    client = login_as(world.expert)
    fields = _set(_form(client, module.slug), "title", "预览中的新标题")
    resp = client.post(
        f"/learn/{module.slug}/edit", data=MultiDict([*fields, ("action", "preview")])
    )
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "<h1>预览中的新标题" in html
    assert "死亡证明" in html  # materials
    for part in ("guide", "tell", "materials", "channel", "order", "form", "check"):
        assert f'id="{part}"' in html  # guide, the practices and the check
    assert "预览：代办员看到的页面" in html and 'value="save"' in html
    db.session.refresh(module)
    assert module.version == 1 and module.title != "预览中的新标题"
    # 保存 from the preview bar stores what was previewed.
    source = yaml.safe_dump(
        {**module.document, "title": "预览中的新标题"}, allow_unicode=True, sort_keys=False
    )
    client.post(
        f"/learn/{module.slug}/edit", data={"mode": "source", "source": source, "action": "save"}
    )
    db.session.refresh(module)
    assert module.title == "预览中的新标题"


def test_yaml_errors_are_explained_in_chinese(world, module, login_as):
    client = login_as(world.expert)
    bad = module.source.replace("title: ", "title: 标题: ", 1)
    resp = client.post(
        f"/learn/{module.slug}/edit", data={"mode": "source", "source": bad, "action": "preview"}
    )
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400
    assert "mapping values" not in html
    assert "中文“：”" in html
