"""Question bank files: every question type validated, problems named by field."""

import copy

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from academy.questions.bankfile import dump_bank, parse_bank, question_problems, readable_name
from tests.content_samples import valid_bank
from tests.unit.qstrategies import ROUND_TRIP, comparable, question

ITEMS = {"pension"}


def parse(data):
    questions, problems = parse_bank(data, "question_banks/b.yaml", ITEMS)
    return questions, {p.field: p.reason for p in problems}


def test_sample_bank_parses_every_type():
    questions, problems = parse(valid_bank("b", "pension"))
    assert problems == {}
    by_type = {q.type: q for q in questions}
    assert set(by_type) == {
        "multichoice",
        "truefalse",
        "shortanswer",
        "numerical",
        "matching",
        "ordering",
        "essay",
    }
    assert (
        by_type["truefalse"].answers[1].text == "false"
        and by_type["truefalse"].answers[1].fraction == 1.0
    )
    assert by_type["numerical"].tolerance == 0.0 and by_type["numerical"].answers[0].text == "60"
    assert by_type["matching"].pairs[0] == ("残疾人证", "残联")
    assert by_type["essay"].grader_info.startswith("先安抚")
    assert all(q.item == "pension" and q.category == "登记申领/测试" for q in questions)
    assert questions[0].dimension == "knowledge"
    # A question without a name is titled by its text, never by an identifier like "b-q01".
    assert questions[0].name == readable_name(questions[0].text)
    assert "q01" not in questions[0].name and questions[0].name


def _broken(mutate):
    data = copy.deepcopy(valid_bank("b", "pension"))
    mutate(data["questions"])
    return parse(data)[1]


@pytest.mark.parametrize(
    ("mutate", "field", "reason"),
    [
        (lambda q: q[0]["answers"][0].update(fraction=50), "questions[0](q01).answers", "得分 100"),
        (lambda q: q[0]["answers"].pop(), "questions[0](q01).answers", "至少需要 3 个"),
        (
            lambda q: q[2]["answers"][0].update(fraction=30),
            "questions[2](q03).answers",
            "之和应为 100",
        ),
        (lambda q: q[1].update(answer="否"), "questions[1](q02).answer", "true 或 false"),
        (lambda q: q[3]["answers"][0].update(fraction=90), "questions[3](q04).answers", "得分 100"),
        (
            lambda q: q[4]["answers"][0].update(value="六十"),
            "questions[4](q05).answers[0].value",
            "数字",
        ),
        (
            lambda q: q[4]["answers"][0].update(tolerance=-1),
            "questions[4](q05).answers[0].tolerance",
            "非负",
        ),
        (lambda q: q[5]["pairs"].pop(), "questions[5](q06).pairs", "3 组"),
        (lambda q: q[6].update(order=["a", "a", "b"]), "questions[6](q07).order", "不能重复"),
        (lambda q: q[7].pop("grader_info"), "questions[7](q08).grader_info", "评分要点"),
        (lambda q: q[0].update(type="cloze"), "questions[0](q01).type", "未知题型"),
        (lambda q: q[0].update(dimension="礼仪"), "questions[0](q01).dimension", "业务知识"),
        (lambda q: q[0].update(difficulty=5), "questions[0](q01).difficulty", "1、2 或 3"),
        (lambda q: q[1].update(id="q01"), "questions[1](q01).id", "重复"),
        (lambda q: q[1].update(pairs=[]), "questions[1](q02).pairs", "不使用此字段"),
        (
            lambda q: q[0]["answers"][1].update(fraction=150),
            "questions[0](q01).answers[1].fraction",
            "-100",
        ),
        (lambda q: q[0].update(item="nope"), "questions[0](q01).item", "不在目录"),
    ],
)
def test_each_rule_names_the_field(mutate, field, reason):
    problems = _broken(mutate)
    assert field in problems, problems
    assert reason in problems[field]


def test_bank_level_problems():
    _, problems = parse({"slug": "b", "title": "t", "questions": [], "extra": 1, "item": "x"})
    assert problems == {
        "questions": "应为非空列表",
        "extra": "未知字段",
        "item": "事项 “x” 不在目录 courses/catalogue.yaml 中",
    }
    assert parse([1])[1] == {"(文件)": "文件顶层应为映射（键: 值）"}


@ROUND_TRIP
@given(st.lists(question(), min_size=1, max_size=6))
def test_dump_then_parse_gives_the_same_questions(questions):
    for q in questions:
        q.text_format = "markdown"  # bank files are Markdown
        q.item = q.item and "pension"
        q.category = "登记申领/测试"
    fit = [q for q in questions if not question_problems(q)]  # the banks' policy is stricter
    data = dump_bank("b", "题库", fit, category="登记申领/测试")
    text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
    parsed, problems = parse_bank(yaml.safe_load(text), "b.yaml", {"pension"})
    if fit:
        assert problems == []
        assert [comparable(q) for q in parsed] == [comparable(q) for q in fit]
