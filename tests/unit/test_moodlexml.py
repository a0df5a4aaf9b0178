"""Moodle XML import/export, on a file shaped like the ones Moodle 4.x exports
(question/format/xml/format.php, qtype_ordering's export_to_xml)."""

from __future__ import annotations

import dataclasses
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from academy.questions import moodlexml
from academy.questions.spec import Answer, ExportError, ParseError, Question
from tests.unit.qstrategies import ROUND_TRIP, comparable, lossless, question

MOODLE_EXPORT = """<?xml version="1.0" encoding="UTF-8"?>
<quiz>
<!-- question: 0  -->
  <question type="category">
    <category>
      <text>$course$/top/默认：村级代办/证明证照</text>
    </category>
    <info format="moodle_auto_format">
      <text>身份证等证照类事项</text>
    </info>
    <idnumber></idnumber>
  </question>

<!-- question: 101  -->
  <question type="multichoice">
    <name>
      <text>身份证补领-本人到场</text>
    </name>
    <questiontext format="html">
      <text><![CDATA[<p dir="ltr">村民补领居民身份证，下列哪项说法<b>正确</b>？</p>]]></text>
    </questiontext>
    <generalfeedback format="html">
      <text><![CDATA[<p>须本人到场。</p>]]></text>
    </generalfeedback>
    <defaultgrade>1.0000000</defaultgrade>
    <penalty>0.3333333</penalty>
    <hidden>0</hidden>
    <idnumber>ID-101</idnumber>
    <single>true</single>
    <shuffleanswers>true</shuffleanswers>
    <answernumbering>ABCD</answernumbering>
    <showstandardinstruction>0</showstandardinstruction>
    <correctfeedback format="html">
      <text>你的答案正确。</text>
    </correctfeedback>
    <partiallycorrectfeedback format="html">
      <text>你的答案部分正确。</text>
    </partiallycorrectfeedback>
    <incorrectfeedback format="html">
      <text>你的答案不正确。</text>
    </incorrectfeedback>
    <shownumcorrect/>
    <answer fraction="100" format="html">
      <text>必须本人到场采集人像和指纹</text>
      <feedback format="html">
        <text>对，人证合一。</text>
      </feedback>
    </answer>
    <answer fraction="0" format="html">
      <text>可由子女拿户口簿代办</text>
      <feedback format="html">
        <text>不对。</text>
      </feedback>
    </answer>
    <answer fraction="0" format="html">
      <text>代办员可以代为签名领取</text>
      <feedback format="html">
        <text></text>
      </feedback>
    </answer>
    <hint format="html">
      <text>想想“人证合一”。</text>
    </hint>
    <tags>
      <tag><text>item:id-card-renewal-home-service</text></tag>
      <tag><text>dimension:knowledge</text></tag>
      <tag><text>difficulty:1</text></tag>
      <tag><text>身份证</text></tag>
    </tags>
  </question>

<!-- question: 102  -->
  <question type="multichoice">
    <name>
      <text>上门代办-规范做法</text>
    </name>
    <questiontext format="moodle_auto_format">
      <text>代办员上门服务时，正确的做法有：</text>
    </questiontext>
    <generalfeedback format="moodle_auto_format">
      <text></text>
    </generalfeedback>
    <defaultgrade>1.0000000</defaultgrade>
    <penalty>0.3333333</penalty>
    <hidden>0</hidden>
    <idnumber></idnumber>
    <single>false</single>
    <shuffleanswers>false</shuffleanswers>
    <answernumbering>abc</answernumbering>
    <answer fraction="50" format="moodle_auto_format">
      <text>出示工作证件</text>
      <feedback format="moodle_auto_format"><text></text></feedback>
    </answer>
    <answer fraction="50" format="moodle_auto_format">
      <text>一次性告知办理时限</text>
      <feedback format="moodle_auto_format"><text></text></feedback>
    </answer>
    <answer fraction="-100" format="moodle_auto_format">
      <text>替老人保管身份证原件</text>
      <feedback format="moodle_auto_format"><text>原件应当面交还。</text></feedback>
    </answer>
    <answer fraction="0" format="moodle_auto_format">
      <text>先办理后补材料</text>
      <feedback format="moodle_auto_format"><text></text></feedback>
    </answer>
  </question>

<!-- question: 103  -->
  <question type="truefalse">
    <name>
      <text>不得代签名</text>
    </name>
    <questiontext format="plain_text">
      <text>代办员可以替村民在申请表上代签名。</text>
    </questiontext>
    <generalfeedback format="plain_text">
      <text></text>
    </generalfeedback>
    <defaultgrade>1.0000000</defaultgrade>
    <penalty>1.0000000</penalty>
    <hidden>0</hidden>
    <idnumber></idnumber>
    <answer fraction="0" format="moodle_auto_format">
      <text>true</text>
      <feedback format="plain_text">
        <text>不对：须本人签名。</text>
      </feedback>
    </answer>
    <answer fraction="100" format="moodle_auto_format">
      <text>false</text>
      <feedback format="plain_text">
        <text>正确。</text>
      </feedback>
    </answer>
  </question>

<!-- question: 104  -->
  <question type="shortanswer">
    <name>
      <text>户籍证件</text>
    </name>
    <questiontext format="markdown">
      <text>办理身份证需要带 **____**。</text>
    </questiontext>
    <generalfeedback format="markdown">
      <text></text>
    </generalfeedback>
    <defaultgrade>1.0000000</defaultgrade>
    <penalty>0.3333333</penalty>
    <hidden>0</hidden>
    <idnumber></idnumber>
    <usecase>0</usecase>
    <answer fraction="100" format="moodle_auto_format">
      <text>户口簿</text>
      <feedback format="markdown"><text></text></feedback>
    </answer>
    <answer fraction="90" format="moodle_auto_format">
      <text>户口本</text>
      <feedback format="markdown"><text>写全称更好。</text></feedback>
    </answer>
  </question>

<!-- question: 105  -->
  <question type="numerical">
    <name>
      <text>换领工本费</text>
    </name>
    <questiontext format="html">
      <text><![CDATA[<p>换领身份证的工本费是多少元？</p>]]></text>
    </questiontext>
    <generalfeedback format="html">
      <text></text>
    </generalfeedback>
    <defaultgrade>1.0000000</defaultgrade>
    <penalty>0.3333333</penalty>
    <hidden>0</hidden>
    <idnumber></idnumber>
    <answer fraction="100" format="moodle_auto_format">
      <text>20</text>
      <feedback format="html"><text>对。</text></feedback>
      <tolerance>0</tolerance>
    </answer>
    <answer fraction="50" format="moodle_auto_format">
      <text>20.5</text>
      <feedback format="html"><text></text></feedback>
      <tolerance>1.5</tolerance>
    </answer>
    <answer fraction="0" format="moodle_auto_format">
      <text>*</text>
      <feedback format="html"><text>请查看收费标准。</text></feedback>
      <tolerance>0</tolerance>
    </answer>
    <units>
      <unit>
        <multiplier>1</multiplier>
        <unit_name>元</unit_name>
      </unit>
    </units>
    <unitgradingtype>0</unitgradingtype>
    <unitpenalty>0.1000000</unitpenalty>
    <showunits>3</showunits>
    <unitsleft>0</unitsleft>
  </question>

<!-- question: 0  -->
  <question type="category">
    <category>
      <text>$course$/top/默认：村级代办/通用</text>
    </category>
  </question>

<!-- question: 106  -->
  <question type="matching">
    <name>
      <text>事项分类</text>
    </name>
    <questiontext format="html">
      <text>把事项和类别配对。</text>
    </questiontext>
    <generalfeedback format="html">
      <text></text>
    </generalfeedback>
    <defaultgrade>1.0000000</defaultgrade>
    <penalty>0.3333333</penalty>
    <hidden>0</hidden>
    <idnumber></idnumber>
    <shuffleanswers>true</shuffleanswers>
    <subquestion format="html">
      <text>居民身份证补领</text>
      <answer>
        <text>证明证照</text>
      </answer>
    </subquestion>
    <subquestion format="html">
      <text>电费缴纳</text>
      <answer>
        <text>充值缴费</text>
      </answer>
    </subquestion>
    <subquestion format="html">
      <text>出生登记</text>
      <answer>
        <text>登记申领</text>
      </answer>
    </subquestion>
  </question>

<!-- question: 107  -->
  <question type="essay">
    <name>
      <text>材料不齐怎么办</text>
    </name>
    <questiontext format="html">
      <text>村民材料不齐，你会怎样一次性告知？</text>
    </questiontext>
    <generalfeedback format="html">
      <text></text>
    </generalfeedback>
    <defaultgrade>5.0000000</defaultgrade>
    <penalty>0.0000000</penalty>
    <hidden>0</hidden>
    <idnumber></idnumber>
    <responseformat>editor</responseformat>
    <responserequired>1</responserequired>
    <responsefieldlines>15</responsefieldlines>
    <minwordlimit></minwordlimit>
    <maxwordlimit></maxwordlimit>
    <attachments>0</attachments>
    <attachmentsrequired>0</attachmentsrequired>
    <maxbytes>0</maxbytes>
    <filetypeslist></filetypeslist>
    <graderinfo format="html">
      <text>缺什么、去哪开、多久办结。</text>
    </graderinfo>
    <responsetemplate format="html">
      <text></text>
    </responsetemplate>
  </question>

<!-- question: 108  -->
  <question type="description">
    <name>
      <text>说明</text>
    </name>
    <questiontext format="html">
      <text>以下题目以当地办事指南为准。</text>
    </questiontext>
    <generalfeedback format="html">
      <text></text>
    </generalfeedback>
    <defaultgrade>0.0000000</defaultgrade>
    <penalty>0.0000000</penalty>
    <hidden>0</hidden>
    <idnumber></idnumber>
  </question>

<!-- question: 109  -->
  <question type="ordering">
    <name>
      <text>代办流程</text>
    </name>
    <questiontext format="html">
      <text>按顺序排列。</text>
    </questiontext>
    <generalfeedback format="html">
      <text></text>
    </generalfeedback>
    <defaultgrade>1.0000000</defaultgrade>
    <penalty>0.3333333</penalty>
    <hidden>0</hidden>
    <idnumber></idnumber>
    <layouttype>VERTICAL</layouttype>
    <selecttype>ALL</selecttype>
    <selectcount>0</selectcount>
    <gradingtype>ABSOLUTE_POSITION</gradingtype>
    <showgrading>SHOW</showgrading>
    <numberingstyle>none</numberingstyle>
    <answer fraction="1.0000000" format="html">
      <text>核对材料</text>
    </answer>
    <answer fraction="2.0000000" format="html">
      <text>登记台账</text>
    </answer>
    <answer fraction="3.0000000" format="html">
      <text>提交镇便民服务中心</text>
    </answer>
  </question>

</quiz>
"""


def parse(text: str | bytes) -> list[Question]:
    return moodlexml.parse(text)


def problems(text: str | bytes) -> list[tuple[int | None, str]]:
    with pytest.raises(ParseError) as err:
        moodlexml.parse(text)
    return err.value.problems


def quiz(*questions: str) -> str:
    return '<?xml version="1.0" encoding="UTF-8"?>\n<quiz>\n' + "\n".join(questions) + "</quiz>\n"


def test_moodle_export_is_read_question_by_question():
    qs = parse(MOODLE_EXPORT)
    assert [q.type for q in qs] == [
        "multichoice",
        "multichoice",
        "truefalse",
        "shortanswer",
        "numerical",
        "matching",
        "essay",
        "description",
        "ordering",
    ]
    mc, multi, tf, sa, num, match, essay, desc, order = qs
    assert mc.name == "身份证补领-本人到场" and mc.single and mc.text_format == "html"
    assert mc.text == '<p dir="ltr">村民补领居民身份证，下列哪项说法<b>正确</b>？</p>'
    assert mc.general_feedback == "<p>须本人到场。</p>"
    assert [(a.text, a.fraction, a.feedback) for a in mc.answers] == [
        ("必须本人到场采集人像和指纹", 1.0, "对，人证合一。"),
        ("可由子女拿户口簿代办", 0.0, "不对。"),
        ("代办员可以代为签名领取", 0.0, ""),
    ]
    assert (mc.item, mc.dimension, mc.difficulty) == (
        "id-card-renewal-home-service",
        "knowledge",
        1,
    )
    assert not multi.single and [a.fraction for a in multi.answers] == [0.5, 0.5, -1.0, 0.0]
    assert multi.text_format == "moodle" and multi.item is None
    assert tf.text_format == "plain"
    assert [a for a in tf.as_json()["answers"] if a["fraction"] == 1.0] == [
        {"text": "false", "fraction": 1.0, "feedback": "正确。"}
    ]
    assert [a.feedback for a in tf.answers] == ["不对：须本人签名。", "正确。"]
    assert sa.text_format == "markdown"
    assert [(a.text, a.fraction) for a in sa.answers] == [("户口簿", 1.0), ("户口本", 0.9)]
    assert [(a.text, a.fraction, a.tolerance) for a in num.answers] == [
        ("20", 1.0, 0.0),
        ("20.5", 0.5, 1.5),
    ]
    assert num.other_feedback == "请查看收费标准。" and num.as_json()["tolerance"] == 0.0
    assert match.pairs == [
        ("居民身份证补领", "证明证照"),
        ("电费缴纳", "充值缴费"),
        ("出生登记", "登记申领"),
    ]
    assert essay.grader_info == "缺什么、去哪开、多久办结。"
    assert desc.text == "以下题目以当地办事指南为准。"
    assert order.order == ["核对材料", "登记台账", "提交镇便民服务中心"]


def test_categories_apply_to_the_questions_that_follow_without_course_prefix():
    qs = parse(MOODLE_EXPORT)
    assert {q.category for q in qs[:5]} == {"top/默认：村级代办/证明证照"}
    assert {q.category for q in qs[5:]} == {"top/默认：村级代办/通用"}


def test_lines_are_those_of_the_question_elements():
    qs = parse(MOODLE_EXPORT)
    lines = MOODLE_EXPORT.splitlines()
    for q in qs:
        assert lines[q.line - 1].strip().startswith("<question type=")


def test_export_then_import_gives_the_same_questions():
    qs = parse(MOODLE_EXPORT)
    again = parse(moodlexml.export(qs))
    assert [comparable(q) for q in again] == [comparable(q) for q in qs]


def test_export_uses_cdata_only_where_needed_and_splits_its_end_marker():
    q = Question(type="description", name="n", text="a ]]> b <tag> & 'c'")
    out = moodlexml.export([q])
    assert "<text>n</text>" in out
    assert "<![CDATA[a ]]]]><![CDATA[> b <tag> & 'c']]>" in out
    assert parse(out)[0].text == q.text


def test_text_formats_and_moodles_fallback_to_html():
    def fmt(attribute: str) -> str:
        return parse(
            quiz(
                f'<question type="description"><name><text>n</text></name>'
                f"<questiontext {attribute}><text>t</text></questiontext></question>"
            )
        )[0].text_format

    assert fmt('format="moodle_auto_format"') == "moodle"
    assert fmt('format="plain_text"') == "plain"
    assert fmt('format="markdown"') == "markdown"
    assert fmt('format="wiki_like"') == "plain"
    assert fmt('format="something"') == "html"
    assert fmt("") == "html"


def test_missing_name_gets_moodles_default_name():
    (q,) = parse(
        quiz(
            '<question type="essay"><questiontext format="html">'
            "<text><![CDATA[<p>说说一次性告知</p>]]></text></questiontext></question>"
        )
    )
    assert q.name == "说说一次性告知"


def test_old_truefalse_with_localised_answers_is_read_true_then_false():
    (q,) = parse(
        quiz(
            '<question type="truefalse"><name><text>n</text></name>'
            "<questiontext><text>t</text></questiontext>"
            '<answer fraction="100"><text>对</text></answer>'
            '<answer fraction="0"><text>错</text></answer></question>'
        )
    )
    assert q.as_json()["answers"][0]["text"] == "true"


def test_unknown_types_are_problems_naming_their_position_and_line():
    text = quiz(
        '<question type="category"><category><text>$course$/top</text></category></question>',
        '<question type="cloze"><name><text>完形</text></name></question>',
        '<question type="essay"><name><text>好</text></name>'
        "<questiontext><text>t</text></questiontext></question>",
        '<question type="calculated"><name><text>计算</text></name></question>',
        "<question><name><text>无类型</text></name></question>",
    )
    found = problems(text)
    assert [line for line, _ in found] == [4, 6, 7]
    assert found[0][1].startswith("第 2 题：不支持的题型 “cloze”")
    assert found[1][1].startswith("第 4 题：不支持的题型 “calculated”")
    assert "缺少 type" in found[2][1]


def test_unknown_types_are_skipped_with_the_reason_and_the_rest_imported():
    text = quiz(
        '<question type="category"><category><text>$course$/top</text></category></question>',
        '<question type="multianswer"><name><text>完形</text></name>'
        "<questiontext><text>{1:SHORTANSWER:=a}</text></questiontext></question>",
        '<question type="essay"><name><text>好</text></name>'
        "<questiontext><text>t</text></questiontext></question>",
        '<question type="random"><name><text>随机</text></name></question>',
    )
    questions, skipped = moodlexml.parse_skipping(text)
    assert [q.name for q in questions] == ["好"] and questions[0].category == "top"
    assert [(s.position, s.line, s.name, s.qtype) for s in skipped] == [
        (2, 4, "完形", "multianswer"),
        (4, 6, "随机", "random"),
    ]
    assert "完形填空" in skipped[0].reason and "跳过" in skipped[0].reason
    assert "essay" in skipped[0].reason  # names what can be imported
    with pytest.raises(ParseError) as err:
        moodlexml.parse_skipping(quiz('<question type="calculated"></question>'))
    assert "不支持的题型 “calculated”（计算题）" in err.value.problems[0][1]
    assert "没有可导入的题目" in err.value.problems[-1][1]


def test_numerical_catch_all_and_per_answer_tolerance():
    text = quiz(
        '<question type="numerical"><name><text>n</text></name>'
        "<questiontext><text>多少元？</text></questiontext>"
        '<answer fraction="100"><text>20</text><tolerance>0</tolerance>'
        "<feedback><text>对</text></feedback></answer>"
        '<answer fraction="50"><text>20</text><tolerance>5</tolerance></answer>'
        '<answer fraction="0"><text>*</text><feedback><text>再想想</text></feedback></answer>'
        "</question>",
    )
    (q,) = moodlexml.parse(text)
    assert [(a.text, a.fraction, a.tolerance) for a in q.answers] == [
        ("20", 1.0, 0.0),
        ("20", 0.5, 5.0),
    ]
    assert q.other_feedback == "再想想"
    assert moodlexml.parse(moodlexml.export([q]))[0] == dataclasses.replace(q, line=3)
    scored = text.replace('fraction="0"><text>*', 'fraction="50"><text>*')
    ((_, reason),) = problems(scored)
    assert "“*”（其他答案）" in reason


def test_matching_distractors_round_trip():
    text = quiz(
        '<question type="matching"><name><text>c</text></name>'
        "<questiontext><text>t</text></questiontext>"
        + "".join(
            f"<subquestion><text>{left}</text><answer><text>{right}</text></answer></subquestion>"
            for left, right in (("甲", "1"), ("乙", "2"), ("", "干扰"), ("丙", "3"))
        )
        + "</question>",
    )
    (q,) = moodlexml.parse(text)
    assert q.pairs == [("甲", "1"), ("乙", "2"), ("", "干扰"), ("丙", "3")]
    assert moodlexml.parse(moodlexml.export([q]))[0].pairs == q.pairs


def test_every_problem_is_reported():
    text = quiz(
        '<question type="multichoice"><name><text>a</text></name>'
        "<questiontext><text>t</text></questiontext>"
        '<answer fraction="五十"><text>甲</text></answer>'
        '<answer fraction="0"><text>乙</text></answer></question>',
        '<question type="numerical"><name><text>b</text></name>'
        "<questiontext><text>t</text></questiontext>"
        '<answer fraction="100"><text>二十</text><tolerance>0</tolerance></answer></question>',
        '<question type="matching"><name><text>c</text></name>'
        "<questiontext><text>t</text></questiontext>"
        "<subquestion><text>甲</text><answer><text>1</text></answer></subquestion>"
        "<subquestion><text></text><answer><text>干扰</text></answer></subquestion>"
        "</question>",
        '<question type="essay"><name><text>d</text></name>'
        "<questiontext><text></text></questiontext></question>",
    )
    found = problems(text)
    reasons = [reason for _, reason in found]
    assert [line for line, _ in found] == [3, 3, 4, 4, 5, 6]
    assert "第 1 题：得分 fraction=“五十” 不是数字" in reasons
    assert "第 2 题：数值题的答案 “二十” 不是数字" in reasons
    assert not any("干扰" in r for r in reasons)  # a distractor is fine; too few pairs is not
    assert any(r.startswith("第 3 题：配对题至少需要 3 组配对") for r in reasons)
    assert "第 4 题：题干不能为空" in reasons


def test_malformed_xml_names_the_line():
    ((line, reason),) = problems("<quiz>\n<question type='essay'>\n</quiz>")
    assert line == 3 and reason.startswith("XML 格式不正确") and "mismatched tag" in reason
    ((line, reason),) = problems("<quiz>\n&nbsp;</quiz>")
    assert line == 2 and "undefined entity" in reason


def test_root_must_be_quiz_and_hold_questions():
    assert problems("<questions/>") == [(1, "根元素应为 <quiz>（Moodle XML），而不是 <questions>")]
    assert problems("<quiz>\n</quiz>") == [(1, "文件中没有题目")]


def test_encodings():
    text = quiz(
        '<question type="essay"><name><text>身份证</text></name>'
        "<questiontext><text>题</text></questiontext></question>"
    )
    assert parse(text.encode("utf-8"))[0].name == "身份证"
    assert parse(b"\xef\xbb\xbf" + text.encode("utf-8"))[0].name == "身份证"
    gbk = text.replace('encoding="UTF-8"', 'encoding="GBK"').encode("gbk")
    assert parse(gbk)[0].name == "身份证"
    ((line, reason),) = problems(gbk.replace("题".encode("gbk"), b"\xff\xff"))
    assert line == 3 and "GBK" in reason
    utf16 = text.replace('encoding="UTF-8"', 'encoding="UTF-16"').encode("utf-16")
    assert parse(utf16)[0].name == "身份证"


# -- safety ---------------------------------------------------------------------------------

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE quiz [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<quiz><question type="description"><name><text>&xxe;</text></name>
<questiontext><text>t</text></questiontext></question></quiz>"""

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<quiz><question type="description"><name><text>&lol9;</text></name>
<questiontext><text>t</text></questiontext></question></quiz>"""

REFUSED = "XML 文件含有 DOCTYPE 或实体声明，出于安全原因不予导入"


def test_external_entities_are_refused():
    assert problems(XXE) == [(2, REFUSED)]


def test_billion_laughs_is_refused_without_expanding():
    started = time.perf_counter()
    assert problems(BILLION_LAUGHS) == [(2, REFUSED)]
    assert time.perf_counter() - started < 1


def test_external_dtd_is_refused():
    text = b'<?xml version="1.0"?>\n<!DOCTYPE quiz SYSTEM "http://example.com/quiz.dtd">\n<quiz/>'
    assert problems(text) == [(2, REFUSED)]


# -- export ---------------------------------------------------------------------------------


def test_export_writes_tags_categories_and_ordering_like_moodle():
    qs = [
        Question(
            type="ordering",
            name="流程",
            text="排序",
            order=["甲", "乙", "丙"],
            category="证明证照",
            item="electricity-bill",
            difficulty=3,
        )
    ]
    out = moodlexml.export(qs)
    assert out.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<quiz>\n')
    assert "<text>$course$/证明证照</text>" in out
    assert '<answer fraction="2" format="moodle_auto_format">\n      <text>乙</text>' in out
    assert "<selecttype>ALL</selecttype>" in out
    assert "<tag><text>item:electricity-bill</text></tag>" in out
    assert "<tag><text>difficulty:3</text></tag>" in out
    assert [comparable(q) for q in parse(out)] == [comparable(q) for q in qs]


def test_export_refuses_invalid_questions_and_control_characters():
    bad = [
        Question(type="essay", name="ok", text="题"),
        Question(type="shortanswer", name="无答案", text="题"),
        Question(type="essay", name="控制", text="题\x01"),
        Question(type="numerical", name="数", text="题", answers=[Answer("abc", 1.0)]),
    ]
    with pytest.raises(ExportError) as err:
        moodlexml.export(bad)
    assert [position for position, _ in err.value.problems] == [2, 3, 4]
    assert "XML 不能表示的控制字符" in err.value.problems[1][1]


@ROUND_TRIP
@given(
    st.lists(question(description_feedback=True), min_size=1, max_size=6),
    st.sampled_from([None, "证明证照/居民身份证", "top/默认 & <其他>"]),
)
def test_round_trip(questions, category):
    for q in questions:
        q.category = category
    parsed = moodlexml.parse(moodlexml.export(questions))
    assert [comparable(q) for q in parsed] == [comparable(q) for q in questions]
    assert all(lossless(q) for q in parsed)  # and `flask questions parse` prints it all
