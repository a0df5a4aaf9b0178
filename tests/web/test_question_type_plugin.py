"""Adding a question type is one class and its template: a throw-away type, registered for
the test only, goes through a bank file, GIFT, Moodle XML and Excel (export then import),
the display helpers, the editor form and the question page, then is unregistered."""

from __future__ import annotations

import re

import pytest
import yaml
from jinja2 import ChoiceLoader, DictLoader
from wtforms import StringField

from academy.extensions import db
from academy.questions import bankfile, display, formats, types
from academy.questions.models import Question
from academy.questions.spec import Answer
from academy.questions.spec import Question as Spec
from academy.questions.types import QuestionType, question_type, unregister
from academy.questions.types.base import is_text
from tests import factories

TEMPLATE = """
{% macro answer(name, data, pres, response, dis, review) -%}
<input type="text" name="{{ name }}" value="{{ response or '' }}" class="keyword-answer" {{ dis }}>
{%- endmacro %}
{% macro candidate(p) -%}<input type="text" class="keyword-candidate" disabled>{%- endmacro %}
{% macro answers(p) -%}<p>关键词：{{ p.spec.answers[0].text }}</p>{%- endmacro %}
{% macro editor(form, e) -%}{{ e.qfield(form.keyword, 'answers') }}{%- endmacro %}
"""


def _keyword_type():
    @question_type("keyword")
    class Keyword(QuestionType):
        """A written answer that must contain a keyword: GIFT ``{@keyword}``."""

        label = "关键词题"
        help = "答案中含有关键词即得分。"
        bank_keys = frozenset({"keyword"})
        gift_order = -5  # a plugin type: claims its own syntax first
        xml_names = ("keyword",)
        excel_labels = {"关键词": {}}
        form_fields = {"keyword": StringField("关键词")}

        @classmethod
        def check(cls, data, response):
            if not isinstance(response, str) or len(response) > 200:
                raise types.ResponseError("答案应为不超过 200 字的文字")
            return response

        @classmethod
        def grade(cls, data, response):
            return 1.0 if data["answers"][0]["text"] in response else 0.0

        @classmethod
        def problems(cls, q, add):
            if len(q.answers) != 1:
                add("answers", "关键词题需要一个关键词")

        @classmethod
        def summary(cls, q):
            return "含关键词：" + q.answers[0].text

        @classmethod
        def from_editor(cls, form, q, problems):
            q.answers = [Answer((form.keyword.data or "").strip(), 1.0)]

        @classmethod
        def editor_data(cls, q):
            return {"keyword": q.answers[0].text if q.answers else ""}

        @classmethod
        def bank_read(cls, raw, q, ctx):
            if not is_text(raw.get("keyword")):
                ctx.add("keyword", "应为关键词文本")
            else:
                q.answers = [Answer(raw["keyword"].strip(), 1.0)]

        @classmethod
        def bank_dump(cls, q):
            return {"keyword": q.answers[0].text}

        @classmethod
        def gift_claims(cls, answers):
            return bool(answers) and answers.startswith("@")

        @classmethod
        def gift_read(cls, q, answers, at, reader):
            q.answers = [Answer(reader.text(answers[1:], q.text_format), 1.0)]

        @classmethod
        def gift_block(cls, q, w):
            return "{@" + w.text(q.answers[0].text, q.text_format) + "}"

        @classmethod
        def gift_unsupported(cls, q):
            return ["GIFT 无法表示关键词题的总体反馈"] if q.general_feedback else []

        @classmethod
        def xml_read(cls, el, q, x):
            q.answers = [Answer(x.text(el, "keyword"), 1.0)]

        @classmethod
        def xml_body(cls, q, w):
            return f"    <keyword>\n{w.writetext(q.answers[0].text, 3)}    </keyword>\n"

        @classmethod
        def excel_read(cls, row, q, letters):
            q.answers = [Answer(row.get(row.RIGHT), 1.0)]

        @classmethod
        def excel_write(cls, q, cells, w):
            cells[w.RIGHT] = q.answers[0].text
            return [], []

    return Keyword


@pytest.fixture
def keyword_type(app):
    kind = _keyword_type()
    loader = app.jinja_env.loader
    app.jinja_env.loader = ChoiceLoader([DictLoader({kind.template(): TEMPLATE}), loader])
    app.jinja_env.cache.clear()
    try:
        yield kind
    finally:
        unregister("keyword")
        app.jinja_env.loader = loader
        app.jinja_env.cache.clear()


def _spec(**over) -> Spec:
    values = dict(
        type="keyword",
        name="一次告知",
        text="村民材料不齐时，你应当怎么做？",
        answers=[Answer("一次性告知", 1.0)],
        text_format="markdown",
        item="id-card-renewal-home-service",
        dimension="etiquette",
        difficulty=2,
    )
    return Spec(**(values | over))


def test_a_new_type_is_checked_at_start_up(keyword_type, app):
    assert types.check_registry(templates=set(app.jinja_env.list_templates())) == []

    class Half(QuestionType):  # forgot its hooks
        label = "半成品"

    question_type("half")(Half)
    try:
        problems = types.check_registry(templates=set())
        assert "half: check not defined" in problems
        assert "half: template questions/types/half.html missing" in problems
    finally:
        unregister("half")


def test_a_new_type_goes_through_every_file_format(keyword_type):
    spec = _spec(category="证明证照")
    for name, fmt in formats.FORMATS.items():
        (back,) = fmt.parse(fmt.export([spec])).questions
        assert (back.type, back.answers, back.text, back.item) == (
            "keyword",
            spec.answers,
            spec.text,
            spec.item,
        ), name
    data = bankfile.dump_bank("kw", "关键词题库", [spec], item="id-card-renewal-home-service")
    assert data["questions"][0]["keyword"] == "一次性告知"
    parsed, problems = bankfile.parse_bank(
        yaml.safe_load(yaml.safe_dump(data, allow_unicode=True)),
        "kw.yaml",
        {"id-card-renewal-home-service"},
    )
    assert problems == [] and parsed[0].answers == spec.answers
    parsed, problems = bankfile.parse_bank(
        {**data, "questions": [{**data["questions"][0], "keyword": 3}]}, "kw.yaml", set()
    )
    assert any(p.field.endswith(".keyword") for p in problems)
    assert display.type_label(spec) == "关键词题"
    assert display.answer_summary(spec) == "含关键词：一次性告知"
    grade = types.get_type("keyword").grade
    assert grade({"answers": [{"text": "一次性告知"}]}, "要一次性告知所缺材料") == 1.0


def test_a_new_type_in_the_editor_and_on_its_page(keyword_type, world, login_as):
    bank = factories.web_bank("网页题库", world.item)
    db.session.commit()
    expert = login_as(world.expert)
    page = expert.get("/questions/new")
    assert "关键词题" in page.get_data(as_text=True)
    resp = expert.get(f"/questions/new/keyword?bank={bank.id}")
    assert resp.status_code == 200 and 'name="keyword"' in resp.get_data(as_text=True)
    resp = expert.post(
        "/questions/new/keyword",
        data={
            "bank": str(bank.id),
            "text": "村民材料不齐时，你应当怎么做？",
            "text_format": "markdown",
            "keyword": "一次性告知",
            "item": str(world.item.id),
            "dimension": "etiquette",
            "difficulty": "2",
            "action": "save",
        },
    )
    assert resp.status_code == 302, resp.get_data(as_text=True)
    question = db.session.scalar(db.select(Question).where(Question.qtype == "keyword"))
    html = expert.get(f"/questions/{question.id}").get_data(as_text=True)
    assert "keyword-candidate" in html and "关键词：一次性告知" in html
    html = expert.get(f"/questions/{question.id}/edit").get_data(as_text=True)
    assert re.search(r'name="keyword"[^>]*value="一次性告知"', html)
