"""Question bank pages: who may use them, list and search, the editor for every type,
read-only content questions, retire/restore, versions, import and export."""

from __future__ import annotations

import dataclasses
import io
import re
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml

from academy.audit.models import AuditEvent
from academy.catalogue.models import ItemCategory
from academy.content.loader import ContentDoc
from academy.extensions import db
from academy.questions import services
from academy.questions.models import Dimension, Question, QuestionVersion
from tests import factories
from tests.content_samples import valid_bank


@pytest.fixture(autouse=True)
def _imports_in_tmp(app, tmp_path, monkeypatch):
    """Keep uploads of the tests out of the real instance folder."""
    monkeypatch.setattr(app, "instance_path", str(tmp_path))
    return tmp_path


@pytest.fixture
def bank(world):
    bank = factories.web_bank("网页题库", world.item)
    db.session.commit()
    return bank


@pytest.fixture
def expert(login_as, world):
    return login_as(world.expert)


def count(model=Question) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def text(resp) -> str:
    return resp.get_data(as_text=True)


def plain(resp) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", text(resp)))


# --- permissions -------------------------------------------------------------------------


def test_agents_and_township_heads_get_403(world, login_as, bank):
    question = factories.web_question(bank, "multichoice", world.item)
    db.session.commit()
    urls = [
        "/questions/",
        f"/questions/{question.id}",
        f"/questions/{question.id}/versions",
        f"/questions/{question.id}/edit",
        "/questions/new/multichoice",
        "/questions/banks/",
        "/questions/banks/new",
        "/questions/import",
        "/questions/import/template.xlsx",
        "/questions/export?fmt=gift",
    ]
    for user in (world.agent_user, world.east_head):
        client = login_as(user)
        for url in urls:
            assert client.get(url).status_code == 403, (user.username, url)
        resp = client.post(f"/questions/{question.id}/retire", data={"reason": "x"})
        assert resp.status_code == 403
        assert (
            "题库"
            not in re.findall(r'<nav class="wrap nav".*?</nav>', text(client.get("/home")), re.S)[0]
        )
    assert not question.retired
    for user in (world.expert, world.admin):
        client = login_as(user)
        for url in urls:
            assert client.get(url).status_code == 200, (user.username, url)
        assert 'href="/questions/"' in text(client.get("/home"))


def test_anonymous_users_are_sent_to_login(client, world):
    resp = client.get("/questions/")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]


# --- list, filters, search -----------------------------------------------------------------


def test_list_filters_search_and_counts(world, expert, bank):
    other_item = factories.item("电费缴纳", category=ItemCategory.PAYMENT)
    a = factories.web_question(bank, "multichoice", world.item, text="补领身份证要带什么？")
    b = factories.web_question(bank, "truefalse", other_item, dimension="etiquette", difficulty=1)
    c = factories.web_question(bank, "essay", world.item, dimension="emergency", difficulty=3)
    services.retire_question(world.expert, c, "过时")
    db.session.commit()

    def names(query: str) -> set[str]:
        html = text(expert.get(f"/questions/?{query}"))
        return {q.name for q in (a, b, c) if f">{q.name}</a>" in html}

    assert names("") == {a.name, b.name}
    assert names("q=身份证") == {a.name}  # found in the text of the current version
    assert names(f"q={b.name}") == {b.name}
    assert names("type=truefalse") == {b.name}
    assert names("dimension=etiquette") == {b.name}
    assert names("difficulty=2") == {a.name}
    assert names("category=payment") == {b.name}
    assert names(f"item={other_item.id}") == {b.name}
    assert names("status=retired") == {c.name}
    assert names("status=all&dimension=emergency") == {c.name}
    assert names(f"bank={bank.id}&q=no-such-text") == set()
    assert "没有符合条件的题目" in text(expert.get("/questions/?q=no-such-text"))
    html = plain(expert.get("/questions/"))
    assert "全部 2" in html and "选择题 1" in html and "判断题 1" in html
    # Bad filter values are ignored, not errors.
    assert expert.get("/questions/?bank=abc&difficulty=9&type=cloze&status=x").status_code == 200
    # Edits are searchable in their newest version only.
    spec = services.spec_of(a)
    spec.text = "换领社保卡的材料？"
    services.revise_question(world.expert, a, spec)
    db.session.commit()
    assert names("q=身份证") == set() and names("q=社保卡") == {a.name}


def test_list_queries_do_not_grow_with_the_rows(world, expert, bank, app):
    def statements(url: str) -> int:
        seen = []
        listener = lambda *args: seen.append(1)  # noqa: E731
        sa.event.listen(db.engine, "before_cursor_execute", listener)
        try:
            assert expert.get(url).status_code == 200
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", listener)
        return len(seen)

    factories.web_question(bank, "multichoice", world.item)
    db.session.commit()
    few = statements("/questions/?q=题干"), statements("/questions/banks/")
    for kind in factories.SPEC_KINDS * 3:
        factories.web_question(bank, kind, factories.item())
    db.session.commit()
    assert (statements("/questions/?q=题干"), statements("/questions/banks/")) == few


# --- creating every type -----------------------------------------------------------------


def form(world, bank, **fields) -> dict:
    data = {
        "bank": str(bank.id),
        "text": "村民补领身份证，下列哪项正确？",
        "text_format": "markdown",
        "item": str(world.item.id),
        "dimension": "knowledge",
        "difficulty": "2",
        "action": "save",
    }
    data.update(fields)
    return data


def rows(prefix: str, *values: dict) -> dict:
    return {f"{prefix}-{i}-{k}": v for i, row in enumerate(values) for k, v in row.items()}


CREATE = {
    "multichoice": {
        "single": "single",
        **rows(
            "answers",
            {"text": "本人到场", "fraction": "100", "feedback": "对"},
            {"text": "子女代办", "fraction": "0"},
            {"text": "邻居代签", "fraction": "0"},
            {"text": "", "fraction": "0"},
        ),
    },
    "multiple": {
        "single": "multiple",
        **rows(
            "answers",
            {"text": "登记信息", "fraction": "50"},
            {"text": "恢复后补录", "fraction": "50"},
            {"text": "让其回家", "fraction": "-50"},
            {"text": "不予理睬", "fraction": "-100"},
        ),
    },
    "truefalse": {"truth": "false", "feedback_true": "不对", "feedback_false": "正确"},
    "shortanswer": rows(
        "answers",
        {"text": "户口簿", "fraction": "100"},
        {"text": "户口本", "fraction": "100"},
        {"text": "户口*", "fraction": "50"},
    ),
    "numerical": {
        **rows(
            "answers",
            {"text": "60", "tolerance": "0", "fraction": "100"},
            {"text": "59", "tolerance": "1", "fraction": "50"},
        ),
        "other_feedback": "法定时限 60 日",
    },
    "matching": rows(
        "pairs",
        {"left": "残疾人证", "right": "残联"},
        {"left": "身份证", "right": "派出所"},
        {"left": "低保", "right": "民政"},
        {"left": "", "right": ""},
    ),
    "ordering": {"steps-0": "受理", "steps-1": "初审", "steps-2": "复核", "steps-3": ""},
    "essay": {"grader_info": "先安抚情绪，再一次性告知。"},
    "description": {"item": "", "dimension": "", "difficulty": ""},
}


@pytest.mark.parametrize("kind", list(CREATE))
def test_create_every_type(world, expert, bank, kind):
    qtype = "multichoice" if kind == "multiple" else kind
    resp = expert.get(f"/questions/new/{qtype}?bank={bank.id}")
    assert resp.status_code == 200 and f'selected value="{world.item.id}"' in text(resp)
    resp = expert.post(f"/questions/new/{qtype}", data=form(world, bank, **CREATE[kind]))
    assert resp.status_code == 302, plain(resp)[-1500:]
    question = db.session.scalar(sa.select(Question).order_by(Question.id.desc()))
    assert resp.headers["Location"].endswith(f"/questions/{question.id}")
    spec = services.spec_of(question)
    assert question.qtype == qtype and question.bank_id == bank.id
    assert spec.text == "村民补领身份证，下列哪项正确？" and spec.text_format == "markdown"
    assert question.name == spec.name == "村民补领身份证，下列哪项正确？"  # default name
    assert question.versions[0].author_id == world.expert.id
    if kind == "description":
        assert (question.item_id, question.dimension, question.difficulty) == (None, None, None)
    else:
        assert (question.item_id, question.dimension, question.difficulty) == (
            world.item.id,
            Dimension.KNOWLEDGE,
            2,
        )
    expected = {
        "multichoice": lambda: (
            [(a.text, a.fraction) for a in spec.answers]
            == [("本人到场", 1.0), ("子女代办", 0.0), ("邻居代签", 0.0)]
            and spec.single
            and spec.answers[0].feedback == "对"
        ),
        "multiple": lambda: (
            not spec.single and [a.fraction for a in spec.answers] == [0.5, 0.5, -0.5, -1.0]
        ),
        "truefalse": lambda: (
            [(a.text, a.fraction, a.feedback) for a in spec.answers]
            == [("true", 0.0, "不对"), ("false", 1.0, "正确")]
        ),
        "shortanswer": lambda: [a.text for a in spec.answers] == ["户口簿", "户口本", "户口*"],
        "numerical": lambda: (
            [(a.text, a.tolerance, a.fraction) for a in spec.answers]
            == [("60", 0.0, 1.0), ("59", 1.0, 0.5)]
            and spec.other_feedback == "法定时限 60 日"
        ),
        "matching": lambda: (
            spec.pairs == [("残疾人证", "残联"), ("身份证", "派出所"), ("低保", "民政")]
        ),
        "ordering": lambda: spec.order == ["受理", "初审", "复核"],
        "essay": lambda: spec.grader_info == "先安抚情绪，再一次性告知。",
        "description": lambda: spec.answers == [],
    }[kind]
    assert expected(), spec
    detail = plain(expert.get(f"/questions/{question.id}"))
    assert "考生看到的样子" in detail and "答案与评分" in detail


def test_bad_input_is_shown_on_the_form_and_nothing_is_saved(world, expert, bank):
    before = count()
    data = form(
        world,
        bank,
        text="",
        dimension="",
        **rows("answers", {"text": "甲", "fraction": "50"}, {"text": "", "feedback": "孤立的反馈"}),
    )
    resp = expert.post("/questions/new/multichoice", data=data)
    assert resp.status_code == 422
    html = plain(resp)
    for message in (
        "题干不能为空",
        "维度应为：业务知识、服务规范、应急处置",
        "选择题至少需要 2 个选项",
        "第 2 行填写了反馈或误差，但没有填写内容",
    ):
        assert message in html
    resp = expert.post(
        "/questions/new/numerical",
        data=form(
            world, bank, **rows("answers", {"text": "六十", "tolerance": "x", "fraction": "100"})
        ),
    )
    assert resp.status_code == 422
    assert "数值题的答案 “六十” 不是数字" in plain(resp) and "第 1 行的误差 “x” 不是数字" in plain(
        resp
    )
    resp = expert.post("/questions/new/essay", data=form(world, bank, item=""))
    assert "评分要点" in plain(resp) and "缺少事项" in plain(resp)
    resp = expert.post("/questions/new/truefalse", data=form(world, bank))
    assert "请选择正确答案是“对”还是“错”" in plain(resp)
    resp = expert.post(
        "/questions/new/matching",
        data=form(world, bank, **rows("pairs", {"left": "a", "right": ""})),
    )
    assert "配对题至少需要 3 组配对" in plain(resp) and "右边都不能为空" in plain(resp)
    resp = expert.post(
        "/questions/new/ordering", data={**form(world, bank), "bank": "", "steps-0": "a"}
    )
    assert resp.status_code == 422 and "排序题至少需要 3 项" in plain(resp)
    assert count() == before


def test_preview_and_more_rows_save_nothing(world, expert, bank):
    data = form(world, bank, action="preview", **CREATE["matching"])
    resp = expert.post("/questions/new/matching", data=data)
    html = text(resp)
    assert (
        resp.status_code == 200 and "预览（尚未保存）" in html and "<option>派出所</option>" in html
    )
    resp = expert.post("/questions/new/matching", data={**data, "action": "more"})
    assert 'name="pairs-6-left"' in text(resp)  # 4 posted rows + 3 more
    assert count() == 0


def test_edit_makes_a_version_a_no_op_says_so_and_tags_are_audited(world, expert, bank):
    question = factories.web_question(bank, "multichoice", world.item)
    db.session.commit()
    page = text(expert.get(f"/questions/{question.id}/edit"))
    assert 'value="本人到场"' in page and "保存后生成第 2 版" in page
    spec = services.spec_of(question)
    data = form(
        world,
        bank,
        name=spec.name,
        text=spec.text,
        general_feedback=spec.general_feedback,
        single="single",
        **rows(
            "answers",
            *[
                {"text": a.text, "fraction": f"{a.fraction * 100:g}", "feedback": a.feedback}
                for a in spec.answers
            ],
        ),
    )
    resp = expert.post(f"/questions/{question.id}/edit", data=data, follow_redirects=True)
    assert "题目内容没有变化，未生成新版本" in text(resp)
    assert count(QuestionVersion) == 1
    resp = expert.post(
        f"/questions/{question.id}/edit",
        data={**data, "text": "修改后的题干", "difficulty": "3", "note": "按新规"},
        follow_redirects=True,
    )
    assert "已保存为第 2 版" in text(resp) and "标签（事项、维度、难度）已更新" in text(resp)
    db.session.expire_all()
    assert question.current_version == 2 and question.difficulty == 3
    assert (
        question.versions[1].note == "按新规" and question.versions[1].author_id == world.expert.id
    )
    tagged = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "question.tagged")
    ).all()
    assert len(tagged) == 1
    history = plain(expert.get(f"/questions/{question.id}/versions"))
    assert "第 2 版" in history and "题干 ：“" in history and "按新规" in history
    assert "修改题目“" in history  # the tag change, from the audit trail
    # Only the tags change: no new version.
    resp = expert.post(
        f"/questions/{question.id}/edit",
        data={**data, "text": "修改后的题干", "difficulty": "1"},
        follow_redirects=True,
    )
    assert "未生成新版本" in text(resp) and "标签" in text(resp)
    assert count(QuestionVersion) == 2


def test_content_questions_are_read_only_with_a_copy_action(world, expert, bank):
    data = valid_bank("pension-bank", world.item.slug)
    services.sync_banks(
        [ContentDoc("question_banks/pension-bank.yaml", data, yaml.safe_dump(data))]
    )
    question = db.session.scalar(sa.select(Question).where(Question.key == "pension-bank/q01"))
    db.session.commit()
    page = plain(expert.get(f"/questions/{question.id}"))
    assert "此题属于县里统一维护的题库，不能在网页上直接修改" in page
    assert "flask" not in page and ".yaml" not in page and "pension-bank-q01" not in page
    assert "复制为新题" in page and f"/questions/{question.id}/edit" not in text(
        expert.get(f"/questions/{question.id}")
    )
    resp = expert.get(f"/questions/{question.id}/edit")
    assert resp.status_code == 302
    before = question.current_version
    resp = expert.post(f"/questions/{question.id}/edit", data=form(world, bank, text="改"))
    assert resp.status_code == 302
    resp = expert.post(
        f"/questions/{question.id}/retire", data={"reason": "x"}, follow_redirects=True
    )
    assert "不能在网页上直接修改" in text(resp)
    db.session.expire_all()
    assert question.current_version == before and not question.retired
    resp = expert.post(f"/questions/{question.id}/copy", data={"bank": str(bank.id)})
    copy = db.session.scalar(sa.select(Question).where(Question.bank_id == bank.id))
    assert resp.headers["Location"].endswith(f"/questions/{copy.id}")
    assert services.spec_of(copy).text == services.spec_of(question).text
    assert expert.get(f"/questions/{copy.id}/edit").status_code == 200


def test_retire_and_restore_through_the_page(world, expert, bank):
    question = factories.web_question(bank, "truefalse", world.item)
    db.session.commit()
    resp = expert.post(
        f"/questions/{question.id}/retire", data={"reason": ""}, follow_redirects=True
    )
    assert "请填写停用原因" in text(resp)
    resp = expert.post(
        f"/questions/{question.id}/retire", data={"reason": "政策调整"}, follow_redirects=True
    )
    assert "新的考试不会再抽到" in plain(resp) and "这道题已停用：政策调整" in plain(resp)
    db.session.expire_all()
    assert question.retired
    resp = expert.post(
        f"/questions/{question.id}/restore", data={"reason": ""}, follow_redirects=True
    )
    assert "已恢复使用" in text(resp)
    db.session.expire_all()
    assert not question.retired


def test_banks_list_and_create(world, expert, bank):
    factories.web_question(bank, "essay", world.item)
    db.session.commit()
    assert "1 道在用" in plain(expert.get("/questions/banks/"))
    resp = expert.post("/questions/banks/new", data={"title": "", "item": "", "category": ""})
    assert resp.status_code == 400 or "请填写题库名称" in plain(resp)
    assert "请填写题库名称" in plain(resp)
    resp = expert.post(
        "/questions/banks/new",
        data={"title": "身份证 专题", "item": "", "category": "证明证照/居民身份证"},
    )
    assert resp.status_code == 302
    assert "web-bank" in plain(expert.get(resp.headers["Location"], follow_redirects=True))


# --- import --------------------------------------------------------------------------------

GIFT = """$CATEGORY: $course$/top/证明证照

::身份证补领::村民补领身份证，下列哪项说法正确？{
  =必须本人到场#对，人证合一。
  ~可由子女代办
  ~代办员可以代签
}

::不得代签名::代办员可以替村民代签名。{F#不对。#正确。}

// academy: item={item} dimension=etiquette difficulty=3
::工本费::换领身份证的工本费是多少元？{#20:0}
"""

BROKEN_GIFT = "::好::题{T}\n\n::坏::题干{\n=甲\n~乙\n\n::数::年份{#\n=1822\n=一八二二\n}\n"


def upload(client, data: bytes, filename: str, **fields):
    payload = {"file": (io.BytesIO(data), filename), "fmt": "", "bank": "", "new_title": ""}
    payload.update(fields)
    return client.post("/questions/import", data=payload, content_type="multipart/form-data")


def test_import_preview_then_confirm(world, expert, bank, tmp_path):
    data = GIFT.replace("{item}", world.item.slug).encode()
    resp = upload(
        expert,
        data,
        "题库.gift",
        new_title="Moodle 题目",
        item=str(world.item.id),
        dimension="knowledge",
        difficulty="1",
    )
    html = plain(resp)
    assert resp.status_code == 200, html[-2000:]
    assert (
        "校验通过，共 3 道题" in html and "新建的题库《Moodle 题目》（类别 top/证明证照）" in html
    )
    assert "身份证补领" in html and "正确：必须本人到场" in html and "正确：错" in html
    assert "服务规范 · 难度 3" in html and "业务知识 · 难度 1" in html
    assert count() == 0 and len(list(Path(tmp_path, "imports").iterdir())) == 1
    token = re.search(r'name="token" type="hidden" value="([0-9a-f]+)"', text(resp)).group(1)
    resp = expert.post("/questions/import/confirm", data={"token": token})
    assert resp.status_code == 302
    created = db.session.scalars(sa.select(Question).order_by(Question.id)).all()
    assert [q.name for q in created] == ["身份证补领", "不得代签名", "工本费"]
    assert created[0].bank.title == "Moodle 题目" and created[0].bank.category == "top/证明证照"
    assert (
        created[2].dimension == Dimension.ETIQUETTE and created[0].dimension == Dimension.KNOWLEDGE
    )
    events = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "question.imported")
    ).all()
    assert len(events) == 1 and events[0].details["count"] == 3
    assert list(Path(tmp_path, "imports").iterdir()) == []
    # A second confirmation imports nothing more.
    expert.post("/questions/import/confirm", data={"token": token})
    assert count() == 3


def test_import_into_an_existing_bank_and_missing_tags(world, expert, bank):
    data = GIFT.replace("{item}", world.item.slug).encode()
    resp = upload(expert, data, "a.txt", bank=str(bank.id))
    assert resp.status_code == 422
    html = plain(resp)
    assert "共有 6 处问题，没有导入任何一道题" in html  # 2 questions × 3 missing tags
    assert "第 3 行" in html and "第 1 题 “身份证补领”：缺少事项" in html
    resp = upload(
        expert,
        data,
        "a.txt",
        bank=str(bank.id),
        item=str(world.item.id),
        dimension="knowledge",
        difficulty="2",
    )
    assert "题库《网页题库》" in plain(resp)
    token = re.search(r'name="token" type="hidden" value="([0-9a-f]+)"', text(resp)).group(1)
    expert.post("/questions/import/confirm", data={"token": token})
    assert db.session.scalar(sa.select(sa.func.count()).where(Question.bank_id == bank.id)) == 3


def test_bad_import_file_lists_every_line_and_writes_nothing(world, expert, bank, tmp_path):
    resp = upload(expert, BROKEN_GIFT.encode(), "broken.gift", bank=str(bank.id))
    assert resp.status_code == 422
    html = plain(resp)
    assert "没有导入任何一道题" in html
    assert "第 3 行 答案块的 “{” 没有对应的 “}”" in html
    assert "第 9 行 数值题的答案 “一八二二” 不是数字" in html
    assert count() == 0
    imports = Path(tmp_path, "imports")
    assert not imports.exists() or not any(imports.iterdir())
    resp = upload(expert, b"\x00\x01garbage", "x.xlsx", bank=str(bank.id))
    assert resp.status_code == 422 and "Excel" in plain(resp)
    resp = upload(expert, b"<quiz><question type='cloze'/></quiz>", "x.xml", bank=str(bank.id))
    assert resp.status_code == 422
    resp = upload(expert, b"x", "notes.doc", bank=str(bank.id))
    assert resp.status_code == 422 and "无法从扩展名判断文件格式" in plain(resp)
    resp = upload(expert, b"x", "a.gift")
    assert "请选择要导入的题库，或填写新题库的名称" in plain(resp)
    assert count() == 0


def test_import_size_limit(world, expert, bank, monkeypatch):
    from academy.questions import views

    monkeypatch.setattr(views, "FLOW", dataclasses.replace(views.FLOW, max_bytes=100))
    resp = upload(expert, b"x" * 200, "a.gift", bank=str(bank.id))
    assert resp.status_code == 413 and "文件超过" in plain(resp)


def test_import_confirm_without_a_preview(world, expert):
    resp = expert.post(
        "/questions/import/confirm", data={"token": "../../secret_key"}, follow_redirects=True
    )
    assert "没有待确认的导入" in text(resp)


# --- export --------------------------------------------------------------------------------


def test_export_downloads_and_format_problems(world, expert, bank):
    factories.web_question(bank, "multichoice", world.item)
    factories.web_question(bank, "ordering", world.item, general_feedback="按流程")
    db.session.commit()
    resp = expert.get(f"/questions/export?fmt=xml&bank={bank.id}")
    assert resp.status_code == 200 and resp.data.startswith(b"<?xml")
    assert "filename*=UTF-8''" in resp.headers["Content-Disposition"]
    assert "%E7%BD%91%E9%A1%B5%E9%A2%98%E5%BA%93.xml" in resp.headers["Content-Disposition"]
    resp = expert.get(f"/questions/export?fmt=xlsx&bank={bank.id}")
    assert resp.status_code == 200 and resp.data[:2] == b"PK"
    resp = expert.get(f"/questions/export?fmt=gift&bank={bank.id}")
    assert resp.status_code == 422 and "GIFT 无法表示排序题的总体反馈" in plain(resp)
    resp = expert.get(f"/questions/export?fmt=gift&bank={bank.id}&type=multichoice")
    assert resp.status_code == 200 and "::" in resp.get_data(as_text=True)
    assert "_%E7%AD%9B%E9%80%89%E7%BB%93%E6%9E%9C.gift" in resp.headers["Content-Disposition"]
    assert expert.get("/questions/export?fmt=pdf").status_code == 404
    assert expert.get("/questions/import/template.xlsx").data[:2] == b"PK"


def test_xml_import_skips_unsupported_types_after_the_preview_says_so(world, expert, bank):
    data = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<quiz>\n'
        '<question type="multianswer"><name><text>完形</text></name>'
        "<questiontext><text>{1:SHORTANSWER:=户口簿}</text></questiontext></question>\n"
        '<question type="truefalse"><name><text>不得代签名</text></name>'
        "<questiontext><text>代办员可以替村民签名。</text></questiontext>"
        '<answer fraction="0"><text>true</text></answer>'
        '<answer fraction="100"><text>false</text></answer></question>\n'
        '<question type="calculated"><name><text>计算</text></name></question>\n'
        "</quiz>\n"
    ).encode()
    resp = upload(
        expert,
        data,
        "moodle.xml",
        bank=str(bank.id),
        item=str(world.item.id),
        dimension="knowledge",
        difficulty="1",
    )
    html = plain(resp)
    assert resp.status_code == 200, html[-2000:]
    assert "校验通过，共 1 道题" in html and "2 道题的题型本系统没有" in html
    assert "完形" in html and "完形填空（Cloze）" in html and "计算题" in html
    assert "第 1 题" in html and "第 3 题" in html
    token = re.search(r'name="token" type="hidden" value="([0-9a-f]+)"', text(resp)).group(1)
    assert expert.post("/questions/import/confirm", data={"token": token}).status_code == 302
    names = db.session.scalars(sa.select(Question.name).where(Question.bank_id == bank.id))
    assert list(names) == ["不得代签名"]


# --- item-quality warnings in the editor --------------------------------------------------


def test_the_editor_warns_of_cues_and_near_duplicate_stems_but_saves(world, expert, bank):
    cued = rows(
        "answers",
        {"text": "本人到场采集人像和指纹", "fraction": "100"},
        {"text": "子女一律可代办", "fraction": "0"},
        {"text": "任何人可代签", "fraction": "0"},
    )
    data = form(world, bank, action="preview", single="single", **cued)
    html = plain(expert.post("/questions/new/multichoice", data=data))
    assert "题目质量提示" in html
    assert "正确选项是唯一最长的一项" in html and "绝对词" in html
    # Saved anyway, the warnings flashed; a second question with almost the same stem is
    # told which question in use it repeats.
    resp = expert.post(
        "/questions/new/multichoice", data={**data, "action": "save"}, follow_redirects=True
    )
    assert resp.status_code == 200 and "已新建题目" in plain(resp)
    assert "题目质量提示：正确选项是唯一最长的一项" in plain(resp)
    first = db.session.scalar(sa.select(Question).order_by(Question.id.desc()))
    again = form(
        world,
        bank,
        action="preview",
        single="single",
        text="村民补领身份证，下列哪一项正确？",
        **rows(
            "answers",
            {"text": "本人到场", "fraction": "100"},
            {"text": "子女代办", "fraction": "0"},
            {"text": "邻居代签", "fraction": "0"},
        ),
    )
    html = plain(expert.post("/questions/new/multichoice", data=again))
    assert f"题干与在用的题目 #{first.id}" in html and "几乎相同" in html
    assert "正确选项是唯一最长的一项" not in html  # comparable options: no cue
    # Editing the question itself does not compare it with itself.
    page = plain(expert.post(f"/questions/{first.id}/edit", data={**data, "note": "改写"}))
    assert f"#{first.id}" not in page.split("题目质量提示")[-1][:200]
