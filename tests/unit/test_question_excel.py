"""The Excel question template: it parses to its own examples, every convention an expert
may use is read, and bad rows name their row (as Excel shows it) and column."""

from __future__ import annotations

import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import Workbook, load_workbook

from academy.questions import excel
from academy.questions.spec import Answer, ExportError, ParseError, Question
from academy.questions.types import QUESTION_TYPES
from tests.unit.qstrategies import ROUND_TRIP, comparable, question

HEADERS = [
    "题型", "题目名称", "题干", "正确答案", "选项A", "选项B", "选项C", "选项D",
    "反馈A", "反馈B", "误差", "总体反馈", "评分要点", "事项", "维度", "难度", "类别",
]  # fmt: skip


def book(*rows: dict, headers: list[str] = HEADERS, title: str = "题目") -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = title
    sheet.append(headers)
    for row in rows:
        sheet.append([row.get(h) for h in headers])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def one(**row) -> Question:
    (q,) = excel.parse(book(row))
    return q


def problems(*rows: dict, **kwargs) -> list[tuple[int | None, str]]:
    with pytest.raises(ParseError) as err:
        excel.parse(book(*rows, **kwargs))
    return err.value.problems


def test_template_parses_to_its_examples():
    parsed = excel.parse(excel.template())
    assert [comparable(q) for q in parsed] == [comparable(q) for q in excel.EXAMPLES]
    assert [q.line for q in parsed] == list(range(2, 2 + len(excel.EXAMPLES)))
    labels = {QUESTION_TYPES[q.type].excel_label(q) for q in parsed}
    assert labels == set(excel.kinds())  # one example per type


def test_template_has_a_notes_sheet_and_drop_down_lists():
    workbook = load_workbook(io.BytesIO(excel.template()))
    assert workbook.sheetnames == ["题目", "说明"]
    sheet = workbook["题目"]
    assert [c.value for c in sheet[1]][:7] == [
        "题型",
        "事项",
        "维度",
        "难度",
        "题目名称",
        "题干",
        "正确答案",
    ]
    assert sheet.freeze_panes == "A2"
    lists = {dv.formula1 for dv in sheet.data_validations.dataValidation}
    assert '"单选,多选,判断,填空,数值,配对,排序,简答,说明"' in lists
    notes = [row[0].value for row in workbook["说明"].iter_rows()]
    assert "正确答案" in notes and "选项A…" in notes


def test_choice_questions():
    q = one(
        题型="单选", 题干="选一个", 选项A="甲", 选项B="乙", 选项C="丙", 正确答案="b", 反馈B="对"
    )
    assert q.type == "multichoice" and q.single
    assert [(a.text, a.fraction, a.feedback) for a in q.answers] == [
        ("甲", 0.0, ""),
        ("乙", 1.0, "对"),
        ("丙", 0.0, ""),
    ]
    q = one(
        题型="多选题",
        题干="选几个",
        选项A="甲",
        选项B="乙",
        选项C="丙",
        选项D="丁",
        正确答案="A、C，D",
    )
    assert not q.single and [a.fraction for a in q.answers] == [
        0.3333333,
        0.0,
        0.3333333,
        0.3333333,
    ]
    q = one(
        题型="多选",
        题干="部分分",
        选项A="甲",
        选项B="乙",
        选项C="丙",
        正确答案="A：50％, B:50%，C: -100%",
    )
    assert [a.fraction for a in q.answers] == [0.5, 0.5, -1.0]


def test_true_false_words_and_feedback_columns():
    for word, truth in (("对", True), ("错", False), ("正确", True), ("×", False), ("t", True)):
        q = one(题型="判断", 题干="说法", 正确答案=word, 反馈A="答对时", 反馈B="答错时")
        rights = [a["text"] for a in q.as_json()["answers"] if a["fraction"] == 1.0]
        assert rights == ["true" if truth else "false"]
        assert [a.feedback for a in q.answers] == ["答对时", "答错时"]


def test_short_answer_simple_and_with_options():
    q = one(题型="填空", 题干="要带____", 正确答案="户口簿|户口本")
    assert [(a.text, a.fraction) for a in q.answers] == [("户口簿", 1.0), ("户口本", 1.0)]
    q = one(题型="填空", 题干="要带____", 选项A="户口簿", 选项B="户口本", 反馈B="写全称")
    assert [(a.text, a.fraction, a.feedback) for a in q.answers] == [
        ("户口簿", 1.0, ""),
        ("户口本", 1.0, "写全称"),
    ]
    q = one(题型="填空", 题干="要带____", 选项A="户口簿", 选项B="户口本", 正确答案="A:100%,B:50%")
    assert [a.fraction for a in q.answers] == [1.0, 0.5]


def test_numerical_forms():
    q = one(题型="数值", 题干="多少元", 正确答案="20", 误差="0.5")
    assert [(a.text, a.tolerance) for a in q.answers] == [("20", 0.5)]
    q = one(
        题型="数值",
        题干="多少元",
        选项A="60±2",
        选项B="*",
        反馈B="再想想",
        选项C="50..70",
        选项D="５５：１",
        正确答案="A,D",
    )
    assert [(a.text, a.fraction, a.tolerance) for a in q.answers] == [
        ("60", 1.0, 2.0),
        ("60", 0.0, 10.0),
        ("55", 1.0, 1.0),
    ]
    assert q.other_feedback == "再想想"


def test_matching_ordering_essay_description():
    q = one(题型="配对", 题干="配对", 选项A="甲 -> 1", 选项B="乙→2", 选项C="丙 => 3")
    assert q.pairs == [("甲", "1"), ("乙", "2"), ("丙", "3")]
    q = one(题型="排序", 题干="排序", 选项A="一", 选项B="二", 选项C="三")
    assert q.order == ["一", "二", "三"]
    q = one(题型="简答", 题干="论述", 评分要点="要点")
    assert q.type == "essay" and q.grader_info == "要点"
    q = one(题型="说明", 题干="说明文字", 题目名称="", 总体反馈="附注")
    assert q.type == "description" and q.name == "说明文字" and q.general_feedback == "附注"


def test_tags_category_and_default_format():
    q = one(
        题型="简答",
        题干="t",
        事项="electricity-bill",
        维度="服务规范",
        难度=2,
        类别="充值缴费/电费",
    )
    assert (q.item, q.dimension, q.difficulty) == ("electricity-bill", "etiquette", 2)
    assert q.category == "充值缴费/电费" and q.text_format == "plain"
    assert one(题型="简答", 题干="t", 维度="emergency").dimension == "emergency"


def test_columns_in_any_order_extra_columns_and_more_options():
    headers = [
        "备注",
        "选项 b",
        "题干",
        "选项A",
        "题型",
        "正确答案",
        "选项G",
        "选项F",
        "选项E",
        "选项D",
        "选项C",
    ]
    q = one_with(headers, {"题型": "单选", "题干": "t", "选项A": "1", "选项 b": "2", "选项C": "3",
                           "选项D": "4", "选项E": "5", "选项F": "6", "选项G": "7", "正确答案": "G",
                           "备注": "随便写"})  # fmt: skip
    assert [a.text for a in q.answers] == ["1", "2", "3", "4", "5", "6", "7"]
    assert q.answers[6].fraction == 1.0


def one_with(headers: list[str], row: dict) -> Question:
    (q,) = excel.parse(book(row, headers=headers))
    return q


def test_another_sheet_name_is_read_when_there_is_no_question_sheet():
    (q,) = excel.parse(book({"题型": "简答", "题干": "t"}, title="Sheet1"))
    assert q.type == "essay"


# -- bad rows ---------------------------------------------------------------------------------


def test_bad_rows_name_row_and_column():
    found = problems(
        {"题型": "单选", "题干": "好题", "选项A": "甲", "选项B": "乙", "正确答案": "A"},
        {"题型": "问答", "题干": "t"},
        {"题型": "单选", "题干": "", "选项A": "甲", "选项B": "乙", "正确答案": "AB"},
        {"题型": "多选", "题干": "t", "选项A": "甲", "选项C": "丙", "正确答案": "E"},
        {"题型": "判断", "题干": "t", "正确答案": "可能"},
        {"题型": "数值", "题干": "t", "正确答案": "二十", "误差": "-1"},
        {"题型": "配对", "题干": "t", "选项A": "甲 1", "选项B": "乙 -> 2"},
        {
            "题型": "排序",
            "题干": "t",
            "选项A": "一",
            "选项B": "二",
            "选项C": "三",
            "正确答案": "ABC",
        },
        {"题型": "简答", "题干": "t", "难度": 5, "维度": "财务", "事项": "Bad Slug"},
        {"题型": "单选", "题干": "t", "选项A": "甲", "选项B": "乙", "反馈D": "多余"},
    )
    assert found == [
        (
            3,
            "题型（A 列）：“问答” 不是可用的题型，应为："
            "单选、多选、判断、填空、数值、配对、排序、简答、说明",
        ),
        (4, "题干（C 列）：题干不能为空"),
        (4, "正确答案（D 列）：单选题只能有一个正确答案（部分得分请写 A:100%, B:50%）"),
        (5, "选项B（F 列）：选项为空，但后面还有选项：请按 A、B、C… 连续填写"),
        (5, "正确答案（D 列）：“E” 应为已填写的选项字母，如 B 或 ACD"),
        (6, "正确答案（D 列）：判断题的正确答案应为 对 或 错"),
        (7, "误差（K 列）：误差 “-1” 应为非负数"),
        (7, "正确答案（D 列）：“二十” 不是数字"),
        (8, "选项A（E 列）：配对应写成 “左 -> 右”，如 “户口簿 -> 户籍证明”，而不是 “甲 1”"),
        (9, "正确答案（D 列）：排序题（选项按正确顺序填写）不填正确答案，请留空"),
        (10, "事项（N 列）：事项标识 “Bad Slug” 应为小写字母、数字和连字符，如 id-card-renewal"),
        (
            10,
            "维度（O 列）：维度 “财务” 不正确，应为 "
            "knowledge（业务知识）、etiquette（服务规范）、emergency（应急处置）",
        ),
        (10, "难度（P 列）：难度 “5” 不正确，应为 1、2 或 3"),
        (11, "正确答案（D 列）：缺少正确答案：填选项字母，如 B（多选如 ACD）"),
    ]


def test_checks_after_the_cells_name_the_row():
    found = problems(
        {"题型": "配对", "题干": "t", "选项A": "甲 -> 1", "选项B": "乙 -> 2"},
        {"题型": "多选", "题干": "t", "选项A": "甲", "选项B": "乙", "正确答案": "A:50%"},
    )
    assert found == [
        (2, "配对题至少需要 3 组配对（现有 2 组）"),
        (3, "多选题正确选项的得分之和应为 100%，现为 50%"),
    ]


def test_feedback_without_its_option():
    row = {
        "题型": "单选",
        "题干": "t",
        "选项A": "甲",
        "选项C": "丙",
        "反馈B": "多余",
        "正确答案": "A",
    }
    assert problems(row) == [
        (2, "选项B（F 列）：选项为空，但后面还有选项：请按 A、B、C… 连续填写"),
        (2, "反馈B（J 列）：有反馈却没有选项B"),
    ]


def test_blank_rows_are_skipped_and_rows_keep_their_numbers():
    wb = Workbook()
    sheet = wb.active
    sheet.append(HEADERS)
    sheet.append([])
    sheet.append(["简答", None, "t"])
    out = io.BytesIO()
    wb.save(out)
    (q,) = excel.parse(out.getvalue())
    assert q.line == 3


def test_missing_headers_empty_sheet_and_not_a_workbook():
    assert problems({"题型": "简答"}, headers=["题型", "内容"]) == [
        (1, "找不到表头 题干：请使用本系统下载的模板，表头在第 1 行")
    ]
    assert problems(headers=HEADERS) == [(2, "表头下面没有题目")]
    with pytest.raises(ParseError) as err:
        excel.parse(b"not a workbook")
    assert err.value.problems == [(1, "文件不是 Excel 工作簿（.xlsx）。")]


# -- export -----------------------------------------------------------------------------------


def test_export_keeps_text_that_looks_like_a_formula_or_a_number():
    q = Question(
        type="shortanswer",
        name="=SUM(A1:A2)",
        text="0012",
        answers=[Answer("=1+1", 1.0), Answer("007", 0.5, "前导零")],
    )
    data = excel.export([q])
    cell = load_workbook(io.BytesIO(data))["题目"]["E2"]
    assert cell.value == "=SUM(A1:A2)" and cell.data_type == "s"
    assert comparable(excel.parse(data)[0]) == comparable(q)


def test_export_refuses_what_the_sheet_cannot_carry():
    qs = [
        Question(
            type="matching", name="m", text="t", pairs=[("a -> b", "1"), ("c", "2"), ("d", "3")]
        ),
        Question(type="truefalse", name="tf", text="t", answers=[Answer("true", 0.5)]),
    ]
    with pytest.raises(ExportError) as err:
        excel.export(qs)
    assert [p for p, _ in err.value.problems] == [1, 2]


@settings(ROUND_TRIP, max_examples=25)
@given(
    st.lists(question(description_feedback=True), min_size=1, max_size=5),
    st.lists(
        st.sampled_from([None, "证明证照/居民身份证", "top/充值缴费"]), min_size=5, max_size=5
    ),
)
def test_round_trip(questions, categories):
    for q, category in zip(questions, categories, strict=False):
        q.category = category
    parsed = excel.parse(excel.export(questions))
    assert [comparable(q) for q in parsed] == [comparable(q) for q in questions]
