"""The item-quality lint (academy/questions/quality.py) on synthetic banks and module checks:
a test-wise candidate's cues are counted as the session's measuring script counts them."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from academy.questions import quality as ql
from academy.questions.spec import Answer, Question


def single(stem: str, options: list[str], key: int, where: str = "q") -> ql.Item:
    return ql.Item(
        where, "single", stem, tuple(options), tuple(i == key for i in range(len(options)))
    )


def test_longest_and_shortest_need_a_unique_extreme():
    assert ql.item_cues(single("问？", ["甲", "乙乙", "丙丙丙"], 2)) == ("longest",)
    assert ql.item_cues(single("问？", ["甲", "乙乙", "丙丙丙"], 0)) == ("shortest",)
    # A tie for the longest is no cue; the middle option is neither.
    assert ql.item_cues(single("问？", ["甲甲甲", "乙", "丙丙丙"], 0)) == ()
    assert ql.item_cues(single("问？", ["甲", "乙乙", "丙丙丙"], 1)) == ()
    # Surrounding whitespace does not count.
    assert "longest" not in ql.item_cues(single("问？", ["  甲甲  ", "乙乙", "丙"], 0))


def test_two_options_are_not_measured():
    item = single("问？", ["甲", "乙乙乙"], 1)
    assert ql.item_cues(item) == ()
    assert ql.measure([item]).single == 0


def test_echo_is_the_option_sharing_most_stem_bigrams():
    stem = "村民办理居住证需要到哪里"
    item = single(stem, ["派出所户籍窗口", "办理居住证的窗口", "镇社保所窗口"], 1)
    assert "echo" in ql.item_cues(item)
    assert "echo" not in ql.item_cues(
        single(stem, ["派出所户籍窗口", "办理居住证的窗口", "镇社保所"], 0)
    )


def test_absolutes_only_in_distractors_give_the_key_away():
    item = single("问？", ["一律不能代办", "凭委托书可以代办", "任何人都能代办"], 1)
    assert "absolutes" in ql.item_cues(item)
    # An absolute in the key, or in no option, is no cue of this kind.
    assert "absolutes" not in ql.item_cues(single("问？", ["必须本人到场", "可以代办", "邮寄"], 0))
    assert "absolutes" not in ql.item_cues(single("问？", ["甲", "乙", "丙"], 0))


def test_multi_k_longest_is_a_stable_sort():
    keys = (True, False, True, False)
    hit = ql.Item("q", "multi", "问？", ("甲甲甲", "乙", "丙丙丙", "丁"), keys)
    assert ql.item_cues(hit) == ("multi_longest",)
    # A tie at the cut goes to the earlier option, as the measuring script sorts.
    tie = ql.Item(
        "q", "multi", "问？", ("甲甲甲", "乙乙", "丙丙", "丁"), (True, False, True, False)
    )
    assert ql.item_cues(tie) == ()


def test_strike_the_extremes_guess_finds_an_overcorrected_key():
    # The key is the middle option: striking the longest and the shortest leaves only it.
    assert ql.middle_guess(single("问？", ["甲", "乙乙", "丙丙丙"], 1)) == 1.0
    assert ql.middle_guess(single("问？", ["甲", "乙乙", "丙丙丙"], 2)) == 0.0
    # Four options: two remain after striking, so one in two.
    assert ql.middle_guess(single("问？", ["甲", "乙乙", "丙丙", "丁丁丁"], 1)) == 0.5
    # All of one length: nothing is struck, a plain guess.
    assert ql.middle_guess(single("问？", ["甲乙", "丙丁", "戊己"], 0)) == pytest.approx(1 / 3)
    overcorrected = ql.measure([single(f"问{i}？", ["甲", "乙乙", "丙丙丙"], 1) for i in range(5)])
    assert overcorrected.share("middle") == 1.0 and overcorrected.share("longest") == 0.0
    assert "去掉最长最短再猜 100.0%" in overcorrected.line()


def test_figures_and_chance():
    items = [
        single("一？", ["甲", "乙乙", "丙丙丙"], 2),
        single("二？", ["甲", "乙乙", "丙丙丙", "丁丁丁丁"], 0),
        ql.Item("t1", "truefalse", "对吗？", truth=True),
        ql.Item("t2", "truefalse", "错吗？", truth=False),
        ql.Item("t3", "truefalse", "错吗？", truth=False),
        ql.Item("e", "other", "简答"),
    ]
    f = ql.measure(items)
    assert (f.single, f.longest, f.shortest, f.tf, f.tf_true) == (2, 1, 1, 3, 1)
    assert f.share("chance") == pytest.approx((1 / 3 + 1 / 4) / 2)
    assert f.share("longest") == 0.5
    assert f.share("multi_longest") is None
    assert "判断 3 题：答案为“对” 33.3%" in f.line()


def _bank(questions: list[dict]) -> dict:
    return {"slug": "b", "title": "题库", "questions": questions}


def _distinct_stem(i: int, salt: int = 0) -> str:
    """A stem unlike every other one (eight characters of its own)."""
    return "".join(chr(0x4E00 + 997 * salt + 8 * i + k) for k in range(8)) + "？"


def _mc(i: int, options: list[str], key: int) -> dict:
    return {
        "id": f"q{i:02d}",
        "type": "multichoice",
        "text": _distinct_stem(i),
        "answers": [{"text": t, "fraction": 100 if j == key else 0} for j, t in enumerate(options)],
    }


def test_bank_items_read_single_multiple_and_truefalse():
    bank = _bank(
        [
            _mc(1, ["甲", "乙乙", "丙丙丙"], 2),
            {
                "id": "q02",
                "type": "multichoice",
                "single": False,
                "text": "多选？",
                "answers": [
                    {"text": "甲", "fraction": 50},
                    {"text": "乙", "fraction": 50},
                    {"text": "丙", "fraction": -50},
                    {"text": "丁", "fraction": 0},
                ],
            },
            {"id": "q03", "type": "truefalse", "text": "判断", "answer": True},
            {"id": "q04", "type": "essay", "text": "论述"},
        ]
    )
    items = ql.bank_items(bank)
    assert [(i.where, i.kind) for i in items] == [
        ("questions[0](q01)", "single"),
        ("questions[1](q02)", "multi"),
        ("questions[2](q03)", "truefalse"),
        ("questions[3](q04)", "other"),
    ]
    assert items[1].keys == (True, True, False, False)


def test_module_check_items():
    check = [
        {"type": "single", "text": "问？", "options": [
            {"text": "甲", "correct": False}, {"text": "乙乙", "correct": False},
            {"text": "丙丙丙", "correct": True}]},
        {"type": "truefalse", "text": "判断", "answer": False},
        {"type": "multiple", "text": "多选", "options": [
            {"text": "甲", "correct": True}, {"text": "乙", "correct": True},
            {"text": "丙", "correct": False}, {"text": "丁", "correct": False}]},
    ]  # fmt: skip
    f = ql.measure(ql.module_items({"check": check}))
    assert (f.single, f.longest, f.tf, f.tf_true, f.multi) == (1, 1, 1, 0, 1)


def test_a_bank_with_the_key_mostly_longest_is_beyond_the_file_threshold():
    cued = ql.measure(
        ql.bank_items(
            _bank([_mc(i, ["甲", "乙乙", "丙丙丙"], 2 if i < 3 else 1) for i in range(4)])
        )
    )
    assert cued.longest == 3
    assert ql.file_reasons(cued) == [
        "正确选项是唯一最长项的单选题占 75.0%（3/4），单个题库上限 50.0%"
    ]
    half = ql.measure(
        ql.bank_items(
            _bank([_mc(i, ["甲", "乙乙", "丙丙丙"], 2 if i < 2 else 1) for i in range(4)])
        )
    )
    assert ql.file_reasons(half) == []
    # Three single-answer questions are too few to judge a bank by.
    few = ql.measure(ql.bank_items(_bank([_mc(i, ["甲", "乙乙", "丙丙丙"], 2) for i in range(3)])))
    assert ql.file_reasons(few) == []


def test_totals_thresholds_and_minimum_counts():
    t = ql.Thresholds()
    f = ql.Figures(single=20, chance=20 / 3, longest=8, shortest=7, echo=9, absolutes=0)
    assert ql.total_reasons(f, t) == ["正确选项是唯一最长项的单选题占 40.0%（8/20），上限 35.0%"]
    f.longest = 7  # 35 % is allowed
    assert ql.total_reasons(f, t) == []
    assert ql.total_reasons(ql.Figures(single=20, echo=10), t) == [
        "正确选项与题干重复最多的单选题占 50.0%（10/20），上限 45.0%"
    ]
    # Fewer than 20 single-answer questions: no judgement on the shares.
    assert ql.total_reasons(ql.Figures(single=19, longest=19), t) == []
    # True/false balance: 40–60 % keyed true, from 10 questions.
    assert ql.total_reasons(ql.Figures(tf=10, tf_true=4), t) == []
    assert ql.total_reasons(ql.Figures(tf=10, tf_true=6), t) == []
    assert ql.total_reasons(ql.Figures(tf=10, tf_true=3), t) == [
        "判断题答案为“对”的占 30.0%（3/10），应在 40.0%–60.0% 之间"
    ]
    assert ql.total_reasons(ql.Figures(tf=9, tf_true=0), t) == []
    assert ql.total_reasons(ql.Figures(multi=10, multi_longest=4), t) == [
        "最长的几项恰好是正确选项的多选题占 40.0%（4/10），上限 35.0%"
    ]


def test_near_duplicates_by_similarity_of_normalised_stems():
    a = ql.Stem("a.yaml", "q1", "村民补领身份证，需要带哪些材料？")
    b = ql.Stem("b.yaml", "q2", "村民补领身份证，需要带哪些材料")  # punctuation only
    c = ql.Stem("c.yaml", "q3", "村民补领社保卡，需要带哪些材料？")  # another item
    d = ql.Stem("d.yaml", "q4", "**村民**补领身份证,需要带哪些材料?")  # markdown, half-width
    e = ql.Stem("e.yaml", "q5", "村民补领身份证，需要带哪一些材料？")  # a word added
    found = ql.near_duplicates([a, b, c, d, e])
    assert [(x.path, y.path, round(s, 2)) for x, y, s in found] == [
        ("a.yaml", "b.yaml", 1.0),
        ("a.yaml", "d.yaml", 1.0),
        ("a.yaml", "e.yaml", 0.97),
        ("b.yaml", "d.yaml", 1.0),
        ("b.yaml", "e.yaml", 0.97),
        ("d.yaml", "e.yaml", 0.97),
    ]
    assert ql.similarity(ql.normalise_stem(a.text), ql.normalise_stem(c.text)) < 0.85
    long = (
        "代办员在为村民办理城乡居民养老保险参保登记时，"
        "发现村民的户口簿地址与身份证不一致，应当先做什么？"
    )
    changed = long.replace("先做什么", "先做哪件事")
    assert [k for k, _ in ql.similar_stems(changed, [(1, long), (2, c.text), (3, "")])] == [1]
    assert ql.similar_stems("", [(1, long)]) == []


@dataclass
class Doc:
    path: str
    data: dict


def test_lint_content_reports_files_totals_and_duplicates():
    cued = _bank([_mc(i, ["甲", "乙乙", "丙丙丙"], 2) for i in range(25)])
    module = {
        "check": [
            {"type": "truefalse", "text": cued["questions"][0]["text"], "answer": True},
        ]
    }
    report = ql.lint_content(
        {
            "question_banks": [Doc("question_banks/b.yaml", cued)],
            "courses": [Doc("courses/m.yaml", module)],
        }
    )
    reasons = [str(p) for p in report.problems]
    assert (
        "question_banks/b.yaml: (题目质量): "
        "正确选项是唯一最长项的单选题占 100.0%（25/25），单个题库上限 50.0%" in reasons
    )
    assert (
        "question_banks/: (题目质量·题库合计): "
        "正确选项是唯一最长项的单选题占 100.0%（25/25），上限 35.0%" in reasons
    )
    assert (
        "courses/m.yaml: check[0].text: 题干与 question_banks/b.yaml questions[0](q00) 相同"
        in reasons
    )
    assert report.overall.single == 25 and report.overall.tf == 1
    assert report.lines()[-1] == "重复或几乎相同的题干：1 对"


def test_editor_warnings_for_one_question():
    spec = Question(
        type="multichoice",
        name="x",
        text="村民补领身份证，下列哪项正确？",
        answers=[
            Answer("必须本人到场采集人像和指纹", 1.0),
            Answer("子女代办", 0.0),
            Answer("代为签名", 0.0),
        ],
    )
    warnings = ql.item_warnings(ql.spec_item(spec))
    assert warnings == [ql.CUE_WARNINGS["longest"]]
    tf = Question(
        type="truefalse", name="t", text="对吗", answers=[Answer("true", 0.0), Answer("false", 1.0)]
    )
    assert ql.spec_item(tf).truth is False
    assert ql.item_warnings(ql.spec_item(tf)) == []


def test_ordering_questions_are_compared_with_their_steps():
    def ordering(qid: str, steps: list[str]) -> dict:
        return {
            "id": qid,
            "type": "ordering",
            "text": "请把办理步骤排成正确的顺序。",
            "order": steps,
        }

    electricity = _bank([ordering("q01", ["查询户号", "核对户名和金额", "扫码付款", "保存凭证"])])
    phone = _bank([ordering("q01", ["核对手机号码", "选择充值面额", "付款", "提醒查收短信"])])
    again = _bank([ordering("q02", ["查询户号", "核对户名和金额", "扫码付款", "保存凭证"])])
    docs = [Doc("question_banks/e.yaml", electricity), Doc("question_banks/p.yaml", phone)]
    assert ql.lint_content({"question_banks": docs}).duplicates == []
    docs.append(Doc("question_banks/x.yaml", again))
    found = ql.lint_content({"question_banks": docs}).duplicates
    assert [(a.path, b.path) for a, b, _ in found] == [
        ("question_banks/e.yaml", "question_banks/x.yaml")
    ]
