"""`flask questions parse FILE`: JSON on stdout for GIFT, Moodle XML and Excel files,
`<file>:<line>: <reason>` on stderr and exit 1 for a broken one; never the database."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from academy.questions import excel, types
from academy.questions.models import Question as QuestionRow
from academy.questions.models import QuestionBank, QuestionVersion
from tests.unit.test_moodlexml import MOODLE_EXPORT

QUESTION_KEYS = [
    "type",
    "name",
    "text",
    "text_format",
    "single",
    "answers",
    "tolerance",
    "pairs",
    "general_feedback",
    "grader_info",
    "category",
    "item",
    "dimension",
    "difficulty",
]
GIFT = """// 村级代办题库
$CATEGORY: $course$/top/证明证照

// academy: item=id-card-renewal-home-service dimension=knowledge difficulty=1
::身份证补领::村民补领身份证，下列哪项说法正确？{
  =必须本人到场#对，人证合一。
  ~可由子女代办
  ~代办员可以代签
}

::不得代签名::代办员可以替村民代签名。{F#不对。#正确。}

::工本费::换领身份证的工本费是多少元？{#20:0}

村民补领身份证须{=本人 ~子女 ~邻居}到场。

::配对::事项与类别配对。{=身份证补领 -> 证明证照 =电费 -> 充值缴费 =出生登记 -> 登记申领}
"""


@pytest.fixture
def run(app, db_session):
    runner = app.test_cli_runner()

    def invoke(*args: str):
        return runner.invoke(args=["questions", "parse", *args])

    return invoke


def counts(db_session) -> list[int]:
    return [
        db_session.scalar(sa.select(sa.func.count()).select_from(model))
        for model in (QuestionBank, QuestionRow, QuestionVersion)
    ]


def check_shape(output: str) -> list[dict]:
    data = json.loads(output)
    assert list(data) == ["questions"]
    for q in data["questions"]:
        assert list(q) == QUESTION_KEYS
        assert q["type"] in types.names()
        assert isinstance(q["name"], str) and isinstance(q["text"], str)
        assert isinstance(q["single"], bool)
        for a in q["answers"]:
            numerical = q["type"] == "numerical"
            assert list(a) == [
                "text",
                "fraction",
                "feedback",
                *(["tolerance"] if numerical else []),
            ]
            assert isinstance(a["fraction"], float)
        assert q["tolerance"] is None or isinstance(q["tolerance"], float)
        assert all(isinstance(p, list) and len(p) == 2 for p in q["pairs"])
        assert q["category"] is None or isinstance(q["category"], str)
    return data["questions"]


def test_gift_file(run, tmp_path, db_session):
    path = tmp_path / "bank.gift"
    path.write_text(GIFT, encoding="utf-8")
    before = counts(db_session)
    result = run(str(path))
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    assert '"name": "身份证补领"' in result.stdout  # ensure_ascii=False
    assert '\n  "questions": [\n    {\n      "type": "multichoice",' in result.stdout  # indent 2
    questions = check_shape(result.stdout)
    assert questions[0] == {
        "type": "multichoice",
        "name": "身份证补领",
        "text": "村民补领身份证，下列哪项说法正确？",
        "text_format": "moodle",
        "single": True,
        "answers": [
            {"text": "必须本人到场", "fraction": 1.0, "feedback": "对，人证合一。"},
            {"text": "可由子女代办", "fraction": 0.0, "feedback": ""},
            {"text": "代办员可以代签", "fraction": 0.0, "feedback": ""},
        ],
        "tolerance": None,
        "pairs": [],
        "general_feedback": "",
        "grader_info": "",
        "category": "top/证明证照",
        "item": "id-card-renewal-home-service",
        "dimension": "knowledge",
        "difficulty": 1,
    }
    assert questions[1]["answers"][1] == {"text": "false", "fraction": 1.0, "feedback": "正确。"}
    assert questions[1]["answers"][0]["text"] == "true"
    assert questions[2]["answers"][0]["text"] == "20" and questions[2]["tolerance"] == 0.0
    assert questions[3]["type"] == "multichoice"
    assert questions[3]["text"] == "村民补领身份证须_____到场。"
    assert questions[4]["pairs"][0] == ["身份证补领", "证明证照"]
    assert counts(db_session) == before


def test_xml_file(run, tmp_path, db_session):
    path = tmp_path / "moodle.xml"
    path.write_text(MOODLE_EXPORT, encoding="utf-8")
    result = run(str(path))
    assert result.exit_code == 0, result.stderr
    questions = check_shape(result.stdout)
    assert len(questions) == 9
    assert questions[4]["type"] == "numerical" and questions[4]["tolerance"] == 0.0
    assert questions[0]["category"] == "top/默认：村级代办/证明证照"


def test_xlsx_file(run, tmp_path, db_session):
    path = tmp_path / "题库.xlsx"
    path.write_bytes(excel.template())
    before = counts(db_session)
    result = run(str(path))
    assert result.exit_code == 0, result.stderr
    questions = check_shape(result.stdout)
    assert [q["name"] for q in questions] == [q.name for q in excel.EXAMPLES]
    assert counts(db_session) == before


def test_format_option_overrides_the_extension(run, tmp_path, db_session):
    path = tmp_path / "export.dat"
    path.write_text(GIFT, encoding="utf-8")
    result = run(str(path))
    assert result.exit_code == 1 and "--format" in result.stderr
    result = run(str(path), "--format", "gift")
    assert result.exit_code == 0 and len(check_shape(result.stdout)) == 5


def test_broken_file_prints_every_problem_with_its_line(run, tmp_path, db_session):
    path = tmp_path / "broken.txt"
    path.write_text(
        "::好::题{T}\n\n::坏::题干{\n=甲\n~乙\n\n::数::年份{#\n=1822\n=一八二二\n}\n"
        "\n::配对::题{=a -> 1 =b -> 2}\n",
        encoding="utf-8",
    )
    before = counts(db_session)
    result = run(str(path))
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"{path}:3: 答案块的 “{{” 没有对应的 “}}”",
        f"{path}:9: 数值题的答案 “一八二二” 不是数字",
        f"{path}:12: 配对题至少需要 3 组配对（现有 2 组）",
    ]
    assert counts(db_session) == before


def test_broken_xml_and_xlsx(run, tmp_path, db_session):
    xml = tmp_path / "bad.xml"
    xml.write_text("<quiz>\n<question type='cloze'></question>\n</quiz>", encoding="utf-8")
    result = run(str(xml))
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr.startswith(f"{xml}:2: 第 1 题：不支持的题型 “cloze”")
    xlsx = tmp_path / "bad.xlsx"
    xlsx.write_bytes(b"PK\x03\x04 not really a zip")
    result = run(str(xlsx))
    assert result.exit_code == 1 and result.stderr.startswith(f"{xlsx}:1: ")


# --- flask questions import / export ---------------------------------------------------


@pytest.fixture
def cli(app, db_session):
    runner = app.test_cli_runner()
    return lambda *args: runner.invoke(args=["questions", *args])


def test_import_command_is_all_or_nothing(cli, world, tmp_path, db_session):
    from academy.questions.services import create_bank

    bank = create_bank(None, "命令行题库")
    db_session.commit()
    path = tmp_path / "bank.gift"
    path.write_text(GIFT.replace("id-card-renewal-home-service", world.item.slug), encoding="utf-8")
    before = counts(db_session)
    result = cli("import", str(path), "--bank", bank.slug)
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    missing = "缺少事项（考试按事项抽题）（文件中未标注，可在导入页选择默认值）"
    assert f"{path}:11: 第 2 题 “不得代签名”：{missing}" in lines
    assert lines[-1].startswith("共 ") and "没有导入任何题目" in lines[-1]
    assert counts(db_session) == before
    result = cli(
        "import", str(path), "--bank", bank.slug, "--item", world.item.slug,
        "--dimension", "knowledge", "--difficulty", "1",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert "导入 5 道题" in result.stdout
    assert counts(db_session)[1] == before[1] + 5
    assert cli("import", str(path), "--bank", "nope").exit_code == 1


def test_export_command_writes_a_file_or_lists_problems(cli, world, tmp_path, db_session):
    from tests import factories

    bank = factories.web_bank("导出题库")
    factories.web_question(bank, "multichoice", world.item)
    factories.web_question(bank, "ordering", world.item, general_feedback="按流程")
    db_session.commit()
    out = tmp_path / "out.xml"
    result = cli("export", "--bank", bank.slug, "--format", "xml", "-o", str(out))
    assert result.exit_code == 0, result.stderr
    assert out.read_text(encoding="utf-8").count("<question type=") == 2
    gift = tmp_path / "out.gift"
    result = cli("export", "--bank", bank.slug, "--format", "gift", "-o", str(gift))
    assert result.exit_code == 1 and "GIFT 无法表示排序题的总体反馈" in result.stderr
    assert not gift.exists()


def test_parse_names_the_skipped_questions_on_stderr(run, tmp_path, db_session):
    xml = tmp_path / "mixed.xml"
    xml.write_text(
        "<quiz>\n<question type='multianswer'><name><text>完形</text></name></question>\n"
        "<question type='essay'><name><text>简答</text></name>"
        "<questiontext><text>怎么办？</text></questiontext></question>\n</quiz>",
        encoding="utf-8",
    )
    result = run(str(xml))
    assert result.exit_code == 0, result.stderr
    assert [q["name"] for q in json.loads(result.stdout)["questions"]] == ["简答"]
    assert result.stderr.startswith(f"{xml}:2: 跳过第 1 题 “完形”：不支持的题型 “multianswer”")
