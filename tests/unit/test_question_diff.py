"""What the version history says changed between two versions of a question."""

from academy.questions.diff import diff_versions
from academy.questions.display import answer_summary, render_text
from academy.questions.services import version_data
from tests.factories import question_spec


def data(kind="multichoice", **over):
    fields = {"name": "同一题", "text": "谁可以申领？", **over}
    return version_data(question_spec(kind, "pension", **fields))


def labels(old, new, qtype="multichoice"):
    return {c.label: c.detail for c in diff_versions(old, new, qtype)}


def test_first_version_and_no_change():
    assert [c.label for c in diff_versions(None, data(), "multichoice")] == ["新建"]
    assert diff_versions(data(), data(), "multichoice") == []


def test_text_name_and_feedback_are_named():
    old = data()
    new = data(text="谁有权申领死亡待遇？", general_feedback="依据第 17 条。")
    new["name"] = "改名"
    changes = labels(old, new)
    assert changes["题干"] == "“谁可以申领？” → “谁有权申领死亡待遇？”"
    assert changes["题目名称"] == "“同一题” → “改名”"
    assert changes["总体反馈"] == "“依据《社会保险法》。” → “依据第 17 条。”"
    assert set(changes) == {"题干", "题目名称", "总体反馈"}


def test_options_marks_and_feedback_of_a_choice_question():
    old = data()
    new = data()
    new["answers"][1]["fraction"] = 0.5  # 子女代办 now half right
    new["answers"][0]["feedback"] = "人证合一，须本人采集指纹。"
    new["answers"].append({"text": "村医代办", "fraction": 0.0, "feedback": "", "tolerance": None})
    changes = labels(old, new)
    assert changes["选项"] == "新增 “村医代办”"
    assert changes["正确答案/分值"] == "“子女代办” 0% → 50%"
    assert changes["反馈"] == "“本人到场” 的反馈已修改"


def test_renamed_removed_and_reordered_options():
    old = data()
    renamed = data()
    renamed["answers"][2]["text"] = "邻居代为签名"
    assert labels(old, renamed)["选项"] == "“邻居代签” 改为 “邻居代为签名”"
    reordered = data()
    reordered["answers"].reverse()
    assert labels(old, reordered) == {"选项": "顺序调整"}
    fewer = data()
    del fewer["answers"][1:]
    assert labels(old, fewer)["选项"] == "删除 “子女代办”；删除 “邻居代签”"


def test_single_to_multiple_and_true_false_answer():
    multiple = data()
    multiple["single"] = False
    assert labels(data(), multiple) == {"单选/多选": "单选 → 多选"}
    old, new = data("truefalse"), data("truefalse")
    new["answers"][0]["fraction"], new["answers"][1]["fraction"] = 1.0, 0.0
    new["answers"][1]["feedback"] = "改了"
    changes = labels(old, new, "truefalse")
    assert changes["正确答案/分值"] == "错 → 对"
    assert changes["反馈"] == "答 “错” 时的反馈已修改"


def test_numerical_tolerance_pairs_order_and_grader_info():
    old, new = data("numerical"), data("numerical")
    new["answers"][0]["tolerance"] = 2.0
    assert labels(old, new, "numerical") == {"误差": "“60” ±0 → ±2"}
    old, new = data("matching"), data("matching")
    new["pairs"][2] = ["低保", "乡镇民政办"]
    assert labels(old, new, "matching") == {"配对": "“低保 → 民政” 改为 “低保 → 乡镇民政办”"}
    old, new = data("ordering"), data("ordering")
    new["order"] = ["受理", "复核", "初审"]
    assert labels(old, new, "ordering") == {"排序步骤": "顺序调整"}
    old, new = data("essay"), data("essay")
    new["grader_info"] = ""
    assert labels(old, new, "essay")["评分要点"].startswith("删除")


def test_long_texts_are_shortened():
    new = data(text="很长" * 50)
    detail = labels(data(), new)["题干"]
    assert detail.endswith("…”") and len(detail) < 60


def test_html_text_is_sanitised_and_plain_text_escaped():
    html = render_text(
        '<p onclick="x()">好</p><script>alert(1)</script><img src="http://x">', "html"
    )
    assert str(html) == "<p>好</p>"
    assert str(render_text("<b>不是标签</b>\n第二行", "plain")) == (
        "<p>&lt;b&gt;不是标签&lt;/b&gt;<br>第二行</p>"
    )
    assert "<strong>加粗</strong>" in str(render_text("**加粗** <i>x</i>", "markdown"))
    assert "<i>" not in str(render_text("**加粗** <i>x</i>", "moodle"))


def test_answer_summaries():
    assert answer_summary(question_spec("multichoice")) == "正确：本人到场（共 3 项）"
    assert answer_summary(question_spec("truefalse")) == "正确：错"
    assert answer_summary(question_spec("numerical")) == "60 ± 0 | 30 ± 5（50%）"
    assert answer_summary(question_spec("ordering")) == "受理 → 初审 → 复核"
