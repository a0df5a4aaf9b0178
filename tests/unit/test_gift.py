"""GIFT import/export, checked against what Moodle's qformat_gift does with the same text
(question/format/gift/format.php)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from academy.questions import gift
from academy.questions.spec import Answer, ExportError, ParseError, Question
from tests.unit.qstrategies import ROUND_TRIP, comparable, lossless, question


def one(text: str | bytes) -> Question:
    questions = gift.parse(text)
    assert len(questions) == 1
    return questions[0]


def problems(text: str | bytes) -> list[tuple[int | None, str]]:
    with pytest.raises(ParseError) as err:
        gift.parse(text)
    return err.value.problems


def answers(q: Question) -> list[tuple[str, float, str]]:
    return [(a.text, a.fraction, a.feedback) for a in q.answers]


# -- multiple choice ------------------------------------------------------------------------


def test_multiple_choice_single_answer_with_feedback():
    q = one("Who's buried in Grant's tomb?{~Grant#No. ~Jefferson =no one#Right!}")
    assert q.type == "multichoice" and q.single
    assert q.text == "Who's buried in Grant's tomb?"
    assert answers(q) == [("Grant", 0.0, "No."), ("Jefferson", 0.0, ""), ("no one", 1.0, "Right!")]


def test_multiple_choice_answers_on_separate_lines():
    q = one("村民补领身份证需要？{\n  =本人到场\n  ~子女代办\n  ~代办员代签\n}")
    assert answers(q) == [("本人到场", 1.0, ""), ("子女代办", 0.0, ""), ("代办员代签", 0.0, "")]


def test_multiple_answers_with_weights_make_a_multiple_choice_question():
    q = one(
        "What two people are entombed in Grant's tomb? {\n"
        "~%-100%No one\n~%50%Grant\n~%50%Grant's wife\n~%-100%Grant's father\n}"
    )
    assert q.type == "multichoice" and not q.single
    assert [a.fraction for a in q.answers] == [-1.0, 0.5, 0.5, -1.0]


def test_decimal_weights_keep_seven_decimals_of_the_fraction():
    q = one("三选二{~%33.33333%甲 ~%33.33333%乙 ~%33.33334%丙 ~%-100%丁}")
    assert [a.fraction for a in q.answers] == [0.3333333, 0.3333333, 0.3333334, -1.0]


def test_an_equals_sign_makes_it_single_choice_even_with_partial_weights():
    q = one("选一个{=最好 ~%50%次好 ~错}")
    assert q.single
    assert [a.fraction for a in q.answers] == [1.0, 0.5, 0.0]


def test_missing_word_puts_a_blank_where_the_answers_were():
    q = one("Grant is {~buried =entombed ~living} in Grant's tomb.")
    assert q.type == "multichoice"
    assert q.text == "Grant is _____ in Grant's tomb."
    q = one("村民补领身份证须{=本人 ~子女 ~邻居}到场办理。")
    assert q.text == "村民补领身份证须_____到场办理。"
    assert q.as_json()["type"] == "multichoice"


def test_missing_word_short_answer():
    q = one("办理身份证要带{=户口簿 =户口本}原件。")
    assert q.type == "shortanswer"
    assert q.text == "办理身份证要带_____原件。"


# -- true / false ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("block", "truth"), [("{T}", True), ("{TRUE}", True), ("{F}", False), ("{FALSE}", False)]
)
def test_true_false(block, truth):
    q = one("代办员可以代村民签名。" + block)
    assert q.type == "truefalse"
    assert q.as_json()["answers"] == [
        {"text": "true", "fraction": 1.0 if truth else 0.0, "feedback": ""},
        {"text": "false", "fraction": 0.0 if truth else 1.0, "feedback": ""},
    ]


def test_true_false_feedback_first_for_a_wrong_answer_then_for_a_right_one():
    q = one("可以代签名。{FALSE#不对，须本人签名。#对，不能代签。}")
    # Moodle: the first # is shown when the learner is wrong, the second when right.
    assert answers(q) == [("true", 0.0, "不对，须本人签名。"), ("false", 1.0, "对，不能代签。")]
    q = one("须本人签名。{T#错了#答对了}")
    assert answers(q) == [("true", 1.0, "答对了"), ("false", 0.0, "错了")]
    assert q.as_json()["answers"] == [
        {"text": "true", "fraction": 1.0, "feedback": "答对了"},
        {"text": "false", "fraction": 0.0, "feedback": "错了"},
    ]


def test_true_false_is_case_sensitive_like_moodle():
    # {true} is not T/TRUE: Moodle reads it as a short answer without "=" — a problem here.
    ((line, reason),) = problems("说法正确。{true}")
    assert line == 1 and "“true” 前缺少 “=”" in reason


# -- short answer ---------------------------------------------------------------------------


def test_short_answer_with_weights_and_feedback():
    q = one("Who's buried in Grant's tomb?{=no one#对 =nobody =%50%Grant#一半分}")
    assert q.type == "shortanswer"
    assert answers(q) == [("no one", 1.0, "对"), ("nobody", 1.0, ""), ("Grant", 0.5, "一半分")]


def test_a_single_short_answer():
    q = one("身份证的有效期最长是____。{=长期}")
    assert answers(q) == [("长期", 1.0, "")]


# -- numerical ------------------------------------------------------------------------------


def test_numerical_exact_and_tolerance():
    q = one("When was Ulysses S. Grant born?{#1822}")
    assert q.type == "numerical" and answers(q) == [("1822", 1.0, "")]
    assert q.tolerance == 0.0
    q = one("When was Ulysses S. Grant born?{#1822:5}")
    assert q.answers[0].text == "1822" and q.tolerance == 5.0
    assert q.as_json()["tolerance"] == 5.0


def test_numerical_range_becomes_midpoint_and_half_range():
    q = one("工本费在多少元之间？{#50..70}")
    assert q.answers[0].text == "60" and q.tolerance == 10.0
    q = one("温度{#-1.5..2.5}")
    assert q.answers[0].text == "0.5" and q.tolerance == 2.0


def test_several_numerical_answers_with_weights_feedback_and_other_answer_feedback():
    q = one("When was Grant born?{#\n=1822:0#对\n=%50%1822:2#差一点\n~#再想想\n}")
    assert [(a.text, a.fraction, a.feedback, a.tolerance) for a in q.answers] == [
        ("1822", 1.0, "对", 0.0),
        ("1822", 0.5, "差一点", 2.0),
    ]
    assert q.other_feedback == "再想想"
    assert [(a["text"], a["tolerance"]) for a in q.as_json()["answers"]] == [
        ("1822", 0.0),
        ("1822", 2.0),
        ("*", None),
    ]
    assert q.as_json()["answers"][2] == {
        "text": "*",
        "fraction": 0.0,
        "feedback": "再想想",
        "tolerance": None,
    }


def test_numerical_catch_all_answer_with_its_feedback_and_no_marks():
    q = one("多少元？{#=20#对 =%0%*#不对，是 20 元}")
    assert answers(q) == [("20", 1.0, "对")] and q.other_feedback == "不对，是 20 元"
    # Moodle would give any number these marks; the academy keeps "*" for feedback only.
    ((line, reason),) = problems("多少元？{#=20 =%50%*#差不多}")
    assert line == 1 and "“*”（其他答案）" in reason and "0%" in reason


def test_numerical_decimals_and_negative_values():
    q = one("π 约等于？{#3.1416:0.0005}")
    assert q.answers[0].text == "3.1416" and q.tolerance == 0.0005
    assert one("低于零度？{#-5}").answers[0].text == "-5"
    assert one("科学计数{#1.5e3}").answers[0].text == "1500"


# -- matching, essay, description, ordering -------------------------------------------------


def test_matching():
    q = one(
        "Match the following countries with their capitals. {\n"
        "=Canada -> Ottawa\n=Italy  -> Rome\n=Japan -> Tokyo\n=India -> New Delhi\n}"
    )
    assert q.type == "matching"
    assert q.pairs == [
        ("Canada", "Ottawa"),
        ("Italy", "Rome"),
        ("Japan", "Tokyo"),
        ("India", "New Delhi"),
    ]
    assert q.as_json()["pairs"][0] == ["Canada", "Ottawa"]


def test_essay_and_its_general_feedback():
    q = one("村民材料不齐时，你会怎样一次性告知？{}")
    assert q.type == "essay" and q.answers == [] and q.general_feedback == ""
    q = one("说说上门服务的要点。{####要点：证件、时限、签收。}")
    assert q.type == "essay" and q.general_feedback == "要点：证件、时限、签收。"


def test_description_has_no_answer_block():
    q = one("::说明::以下题目以当地办事指南为准。")
    assert q.type == "description" and q.text == "以下题目以当地办事指南为准。"


def test_ordering_in_qtype_ordering_form():
    q = one(
        "::流程::按顺序排列。{>3 ALL VERTICAL ABSOLUTE_POSITION SHOW\n"
        "核对材料\n登记台账\n提交镇便民服务中心\n}"
    )
    assert q.type == "ordering"
    assert q.order == ["核对材料", "登记台账", "提交镇便民服务中心"]


def test_ordering_with_too_few_items_or_an_unknown_setting():
    assert problems("排序{>2 ALL\n甲\n乙\n}") == [(1, "排序题至少需要 3 项，每行一项（现有 2 项）")]
    ((line, reason),) = problems("排序{>3 SIDEWAYS\n甲\n乙\n丙\n}")
    assert line == 1 and "SIDEWAYS" in reason


# -- general feedback, names, formats -------------------------------------------------------


def test_general_feedback_after_the_last_four_hashes():
    q = one("选一个{=甲#对 ~乙 ####甲是对的，因为……}")
    assert q.general_feedback == "甲是对的，因为……"
    assert answers(q)[0] == ("甲", 1.0, "对")
    q = one("判断{T####解析}")
    assert q.type == "truefalse" and q.general_feedback == "解析"


def test_title_names_the_question():
    q = one("::身份证-补领::村民补领身份证需要？{=本人到场 ~子女代办}")
    assert q.name == "身份证-补领" and q.text == "村民补领身份证需要？"


def test_without_a_title_the_name_is_the_text_as_moodle_shortens_it():
    assert one("村民补领身份证需要？{=本人 ~子女}").name == "村民补领身份证需要？"
    long_cjk = "代" * 100
    assert one(long_cjk + "{=甲 ~乙}").name == "代" * 77 + "..."
    words = " ".join(["word"] * 30)  # 149 characters
    name = one(words + "{=a ~b}").name
    assert name == "word " * 15 + "..."  # cut after the last space that fits, as Moodle does
    assert one("<p>带 <b>HTML</b> 的题干</p>{=a ~b}").name == "带 HTML 的题干"


@pytest.mark.parametrize("fmt", ["html", "markdown", "plain", "moodle"])
def test_format_prefix_sets_the_text_format(fmt):
    q = one(f"::名称::[{fmt}]**题干**{{=甲 ~乙}}")
    assert q.text_format == fmt and q.text == "**题干**"


def test_default_format_is_moodle_and_unknown_prefixes_stay_in_the_text():
    assert one("题干{=甲 ~乙}").text_format == "moodle"
    q = one("[注意]题干{=甲 ~乙}")
    assert q.text == "[注意]题干" and q.text_format == "moodle"


def test_format_prefix_on_answers_and_feedback_is_read_and_dropped():
    q = one("[html]<p>题干</p>{=[html]<b>甲</b>#[html]<i>对</i> ~乙}")
    assert q.text_format == "html"
    assert answers(q)[0] == ("<b>甲</b>", 1.0, "<i>对</i>")


# -- escapes, encodings, blocks -------------------------------------------------------------


@pytest.mark.parametrize(
    ("escaped", "char"),
    [("\\~", "~"), ("\\=", "="), ("\\#", "#"), ("\\{", "{"), ("\\}", "}"), ("\\:", ":")],
)
def test_each_escape_in_text_answers_and_names(escaped, char):
    q = one(f"::名{escaped}称::题{escaped}干{{={escaped}对 ~错{escaped}#反{escaped}馈}}")
    assert q.name == f"名{char}称"
    assert q.text == f"题{char}干"
    assert answers(q) == [(f"{char}对", 1.0, ""), (f"错{char}", 0.0, f"反{char}馈")]


def test_newline_and_backslash_escapes():
    q = one("第一行\\n第二行 C:\\\\temp \\d{=甲\\n乙 ~丙}")
    assert q.text == "第一行\n第二行 C:\\temp \\d"
    assert q.answers[0].text == "甲\n乙"


def test_multi_line_text_keeps_its_lines():
    q = one("::多行::第一行\n第二行\n{=甲 ~乙}")
    assert q.text == "第一行\n第二行"


def test_bom_and_windows_line_endings():
    data = "\ufeff// 注释\r\n::甲::题一{T}\r\n\r\n::乙::题二\r\n{=a ~b}\r\n".encode()
    q1, q2 = gift.parse(data)
    assert (q1.name, q1.line) == ("甲", 2)
    assert (q2.name, q2.text, q2.line) == ("乙", "题二", 4)


def test_old_mac_line_endings():
    assert [q.name for q in gift.parse("::一::题{T}\r\r::二::题{F}\r")] == ["一", "二"]


def test_blank_lines_separate_questions_and_lines_are_numbered():
    qs = gift.parse("\n\n::一::题{T}\n\n\n   \n::二::题{F}\n")
    assert [(q.name, q.line) for q in qs] == [("一", 3), ("二", 7)]


# -- categories, comments, academy tags -----------------------------------------------------


def test_category_applies_to_the_questions_that_follow():
    qs = gift.parse(
        "::零::无类别{T}\n\n$CATEGORY: $course$/top/证明证照\n\n::一::题{T}\n\n::二::题{F}\n\n"
        "$CATEGORY: 充值缴费/电费\n\n::三::题{T}"
    )
    assert [q.category for q in qs] == [None, "top/证明证照", "top/证明证照", "充值缴费/电费"]
    assert qs[1].as_json()["category"] == "top/证明证照"


def test_category_line_directly_followed_by_a_question():
    q = one("$CATEGORY: 证明证照\n::一::题{T}")
    assert (q.category, q.name) == ("证明证照", "一")


def test_comments_are_ignored_including_moodle_tags():
    q = one("// question: 12  name: x\n// [tag:身份证] [id:q12]\n::一::题{T}\n// 结尾注释")
    assert (q.name, q.item, q.dimension, q.difficulty) == ("一", None, None, None)


def test_academy_comment_sets_item_dimension_and_difficulty():
    q = one(
        "// academy: item=id-card-renewal-home-service dimension=etiquette difficulty=3\n"
        "::一::题{T}"
    )
    assert (q.item, q.dimension, q.difficulty) == ("id-card-renewal-home-service", "etiquette", 3)
    assert one("// academy: dimension=应急处置\n::一::题{T}").dimension == "emergency"


def test_academy_comment_in_its_own_block_applies_to_the_next_question_only():
    q1, q2 = gift.parse("// academy: difficulty=2\n\n::一::题{T}\n\n::二::题{F}")
    assert (q1.difficulty, q2.difficulty) == (2, None)


def test_academy_grader_comment_sets_essay_grader_info():
    q = one("// academy-grader: 要点一\\n要点二\n::一::论述{}")
    assert q.grader_info == "要点一\n要点二"


def test_bad_academy_tags_name_the_comment_line():
    found = problems(
        "::零::题{T}\n\n// academy: item=Bad_Slug dimension=finance difficulty=5 oops\n::一::题{T}"
    )
    assert [line for line, _ in found] == [3, 3, 3, 3]
    reasons = " ".join(reason for _, reason in found)
    assert "Bad_Slug" in reasons and "finance" in reasons and "“5”" in reasons
    assert "oops" in reasons


# -- bad input: every problem, with its line ------------------------------------------------


def test_unclosed_brace_names_its_line():
    assert problems("::一::题{T}\n\n::二::题干\n{=甲\n~乙\n") == [
        (4, "答案块的 “{” 没有对应的 “}”")
    ]


def test_closing_brace_without_opening_or_before_it():
    ((line, reason),) = problems("题干 } 多了{")
    assert line == 1 and "“}” 出现在 “{” 之前" in reason
    ((line, reason),) = problems("::一::\n题干 }")
    assert line == 2 and "没有 “{”" in reason


def test_two_answer_blocks_are_a_problem():
    ((line, reason),) = problems("题{=甲 ~乙}\n又一个{T}")
    assert line == 2 and "只能有一个答案块" in reason


def test_unknown_answer_prefix():
    ((line, reason),) = problems("::一::题干{\n甲\n~乙\n=丙\n}")
    assert line == 2 and "“甲” 前缺少 “=”（正确）或 “~”（错误）" in reason
    ((line, reason),) = problems("首都是？{Paris}")
    assert line == 1 and "“Paris” 前缺少 “=”" in reason


def test_bad_weight():
    ((line, reason),) = problems("题{\n=甲\n~%五十%乙\n}")
    assert line == 3 and "%五十%" in reason and "不正确" in reason


def test_matching_needs_three_pairs():
    assert problems("配对{=甲 -> 1 =乙 -> 2}") == [(1, "配对题至少需要 3 组配对（现有 2 组）")]


def test_matching_pair_without_arrow_and_empty_right_side():
    found = problems("配对{\n=甲 -> 1\n=乙 2\n=丙 -> \n=丁 -> 4\n}")
    assert [line for line, _ in found] == [3, 4]
    assert "缺少 “->”" in found[0][1] and "右边不能为空" in found[1][1]


def test_matching_with_distractors_an_empty_left_side_is_an_extra_wrong_answer():
    q = one("配对{\n=甲 -> 1\n=乙 -> 2\n=丙 -> 3\n= -> 4\n=->5\n}")
    assert q.type == "matching"
    assert q.pairs == [("甲", "1"), ("乙", "2"), ("丙", "3"), ("", "4"), ("", "5")]
    assert q.as_json()["pairs"][3] == ["", "4"]
    assert gift.parse(gift.export([q]))[0].pairs == q.pairs
    # Three real pairs are still needed: distractors do not count.
    assert problems("配对{=甲 -> 1 =乙 -> 2 = -> 3}") == [
        (1, "配对题至少需要 3 组配对（现有 2 组）")
    ]


def test_numerical_not_a_number_names_the_answer_line():
    found = problems("::年份::哪一年？{#\n=1822:2\n=一八二二\n=1822:两\n}")
    assert found == [
        (3, "数值题的答案 “一八二二” 不是数字"),
        (4, "误差 “两” 不是数字"),
    ]
    assert problems("范围{#70..50}") == [(1, "数值范围 “70..50” 的下限大于上限")]
    assert problems("负误差{#60:-1}") == [(1, "误差 “-1” 不能为负数")]
    assert problems("空{#}") == [(1, "数值题缺少答案，如 {#60} 或 {#60:2}")]


def test_multiple_choice_checks_like_moodle_saving_it():
    assert problems("只有一个{~甲}") == [(1, "选择题至少需要 2 个选项（现有 1 个）")]
    assert problems("没有对的{~%50%甲 ~乙}") == [(1, "多选题正确选项的得分之和应为 100%，现为 50%")]
    assert problems("超范围{=甲 ~%150%乙}")[0][1].startswith("答案 “乙” 的得分 150%")


def test_title_without_closing_colons():
    assert problems("::名称 题干{T}") == [(1, "题目名称缺少结尾的 “::”（名称中的冒号请写成 \\:）")]


def test_empty_files():
    assert problems("") == [(1, "文件中没有题目")]
    assert problems(b"\xef\xbb\xbf\n\n  \n") == [(1, "文件中没有题目")]
    assert problems("// 只有注释\n$CATEGORY: 空类别\n") == [(1, "文件中没有题目")]


def test_not_utf8():
    ((line, reason),) = problems("::一::题{T}\n\n::二::身份证{T}".encode("gbk"))
    assert line == 1 and "UTF-8" in reason


def test_every_problem_in_the_file_is_reported_and_nothing_is_returned():
    found = problems("::好::题{T}\n\n::坏一::题{=甲\n\n::好::题{F}\n\n::坏二::数{#abc}")
    assert [line for line, _ in found] == [3, 7]


# -- export ---------------------------------------------------------------------------------


def test_export_writes_moodle_style_gift():
    q = Question(
        type="multichoice",
        name="名称: 一",
        text="选 {一} 个 = ~ #",
        answers=[Answer("甲", 1.0, "对#"), Answer("乙", 0.0), Answer("丙", -0.5)],
        general_feedback="解析\n第二行",
        category="证明证照",
        item="id-card-renewal-home-service",
        dimension="knowledge",
        difficulty=2,
    )
    assert gift.export([q]) == (
        "$CATEGORY: $course$/证明证照\n\n"
        "// academy: item=id-card-renewal-home-service dimension=knowledge difficulty=2\n"
        "::名称\\: 一::选 \\{一\\} 个 \\= \\~ \\#{\n"
        "\t=甲#对\\#\n\t~乙\n\t~%-50%丙\n\t####解析\\n第二行\n}\n"
    )
    assert comparable(one(gift.export([q]))) == comparable(q)


def test_export_true_false_and_numerical_like_moodle():
    tf = Question(
        type="truefalse",
        name="判断",
        text="题",
        answers=[Answer("true", 0.0, "错了"), Answer("false", 1.0, "")],
    )
    assert "{TRUE" not in gift.export([tf]) and "::判断::题{FALSE#错了}" in gift.export([tf])
    num = Question(
        type="numerical",
        name="数",
        text="题",
        answers=[Answer("60", 1.0, "", 2.0), Answer("55", 0.5, "近", 0.0)],
        other_feedback="再想想",
    )
    assert "{#\n\t=60:2\n\t=%50%55:0#近\n\t~#再想想\n}" in gift.export([num])


def test_export_refuses_what_gift_cannot_carry_and_can_skip_it():
    bad = Question(type="shortanswer", name="箭头", text="题", answers=[Answer("a->b", 1.0)])
    good = Question(type="essay", name="好", text="题")
    with pytest.raises(ExportError) as err:
        gift.export([good, bad])
    ((position, reason),) = err.value.problems
    assert position == 2 and "->" in reason
    out = gift.export([good, bad], skip_unsupported=True)
    assert "// 未导出第 2 题 “箭头”" in out
    assert [q.name for q in gift.parse(out)] == ["好"]


def test_export_refuses_invalid_questions():
    with pytest.raises(ExportError) as err:
        gift.export([Question(type="matching", name="少", text="题", pairs=[("a", "b")])])
    assert "至少需要 3 组" in err.value.problems[0][1]


def test_text_that_looks_like_a_format_prefix_survives():
    q = Question(type="essay", name="n", text="[html]不是格式", general_feedback="[plain]也不是")
    assert comparable(one(gift.export([q]))) == comparable(q)


def test_reads_moodles_own_export():
    exported = (
        "// question: 0  name: Switch category to $course$/top/默认\n"
        "$CATEGORY: $course$/top/默认\n\n\n"
        "// question: 101  name: 填空\n"
        "::填空::[html]<p>要带____。</p>{\n"
        "\t=%100%户口簿#[html]<p>对</p>\n"
        "\t=%50%户口本#\n"
        "}\n\n\n"
        "// question: 102  name: 数值\n"
        "::数值::[html]<p>多少元？</p>{#\n"
        "\t=%100%20:0#\n"
        "\t~#[html]<p>不对</p>\n"
        "}\n"
    )
    sa, num = gift.parse(exported)
    assert sa.category == "top/默认" and sa.text == "<p>要带____。</p>"
    assert answers(sa) == [("户口簿", 1.0, "<p>对</p>"), ("户口本", 0.5, "")]
    assert answers(num) == [("20", 1.0, "")] and num.other_feedback == "<p>不对</p>"


# -- round trip -----------------------------------------------------------------------------


@ROUND_TRIP
@given(
    st.lists(question(), min_size=1, max_size=6),
    st.sampled_from([None, "证明证照/居民身份证", "top/充值缴费: 电费"]),
)
def test_round_trip(questions, category):
    for q in questions:
        q.category = category
    parsed = gift.parse(gift.export(questions))
    assert [comparable(q) for q in parsed] == [comparable(q) for q in questions]
    assert all(lossless(q) for q in parsed)  # and `flask questions parse` prints it all
