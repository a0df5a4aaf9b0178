"""Pure learning rules: practice checking, scoring, status, plans."""

from datetime import date

import pytest

from academy.learning import rules
from academy.learning.models import ProgressStatus
from tests.content_samples import valid_module

DOC = valid_module("x")
MATERIALS = DOC["practice"]["materials"]["options"]
CHANNEL = DOC["practice"]["channel"]["options"]
STEPS = DOC["practice"]["order"]["steps"]
FIELDS = DOC["practice"]["form"]["fields"]
GOOD_FORM = {f["id"]: f["expected"] for f in FIELDS}


def test_choice_right_answer():
    result = rules.check_choice(MATERIALS, ["m1", "m2"], single=False)
    assert result.correct and result.answer == ["m1", "m2"]


def test_choice_wrong_pick_explains_why_and_missed_ones_are_named():
    result = rules.check_choice(MATERIALS, ["m1", "m3"], single=False)
    assert not result.correct
    messages = {f.target: f.message for f in result.feedback if not f.ok}
    assert "不需要" in messages["m3"]
    assert "漏选" in messages["m2"]


@pytest.mark.parametrize("chosen", [["zz"], ["m1", "m1"], []])
def test_choice_tampered_input_is_rejected(chosen):
    with pytest.raises(rules.PracticeInputError):
        rules.check_choice(MATERIALS, chosen, single=False)


def test_single_choice_needs_exactly_one():
    with pytest.raises(rules.PracticeInputError):
        rules.check_choice(CHANNEL, ["c1", "c2"], single=True)
    assert rules.check_choice(CHANNEL, ["c1"], single=True).correct
    wrong = rules.check_choice(CHANNEL, ["c3"], single=True)
    assert not wrong.correct and any("户口注销" in f.message for f in wrong.feedback)


def test_order_correct_and_wrong():
    assert rules.check_order(STEPS, {0: 1, 1: 2, 2: 3, 3: 4}).correct
    wrong = rules.check_order(STEPS, {0: 2, 1: 1, 2: 3, 3: 4})
    assert not wrong.correct
    assert {f.target for f in wrong.feedback} == {"0", "1"}
    assert "应是第 1 步" in wrong.feedback[0].message


@pytest.mark.parametrize(
    "positions", [{0: 1, 1: 1, 2: 3, 3: 4}, {0: 1, 1: 2, 2: 3}, {0: 1, 1: 2, 2: 3, 3: 9}]
)
def test_order_must_be_a_permutation(positions):
    with pytest.raises(rules.PracticeInputError):
        rules.check_order(STEPS, positions)


def test_display_order_is_stable_and_never_the_answer():
    for seed in ("1:a", "2:a", "3:b"):
        order = rules.display_order(4, seed)
        assert sorted(order) == [0, 1, 2, 3] and order != [0, 1, 2, 3]
        assert rules.display_order(4, seed) == order


def test_form_all_correct_with_full_width_and_spaces():
    values = dict(GOOD_FORM)
    values["id_number"] = "".join(chr(ord(c) + 0xFEE0) for c in GOOD_FORM["id_number"])
    values["name"] = " 张阿大 "
    assert rules.check_form(FIELDS, values).correct


def test_form_reports_each_field_problem():
    values = dict(GOOD_FORM, name="", phone="12345", death_date="2026-13-01")
    values["id_number"] = GOOD_FORM["id_number"][:-1] + "0"
    result = rules.check_form(FIELDS, values)
    messages = {f.target: f.message for f in result.feedback}
    assert "不能空着" in messages["name"]
    assert "校验位" in messages["id_number"]
    assert "电话号码" in messages["phone"]
    assert "日期格式" in messages["death_date"]
    other = rules.check_form(FIELDS, dict(GOOD_FORM, relation="配偶"))
    assert "不一致" in {f.target: f.message for f in other.feedback}["relation"]


@pytest.mark.parametrize(
    "values", [dict(GOOD_FORM, hacked="1"), dict(GOOD_FORM, relation="外星人")]
)
def test_form_tampering_is_rejected(values):
    with pytest.raises(rules.PracticeInputError):
        rules.check_form(FIELDS, values)


def _answers():
    return {0: frozenset({0}), 1: False, 2: frozenset({0, 1}), 3: False, 4: frozenset({0})}


def test_check_pass_mark_is_four_of_five():
    assert rules.score_check(DOC["check"], _answers()).passed
    one_wrong = rules.score_check(DOC["check"], _answers() | {1: True})
    assert one_wrong.passed and one_wrong.correct == [True, False, True, True, True]
    two_wrong = rules.score_check(DOC["check"], _answers() | {1: True, 4: frozenset({1})})
    assert not two_wrong.passed and two_wrong.score == pytest.approx(0.6)


@pytest.mark.parametrize(
    "answers",
    [
        {0: frozenset({0})},
        _answers() | {0: frozenset({0, 1})},
        _answers() | {0: frozenset({7})},
        _answers() | {1: frozenset({0})},
    ],
)
def test_check_rejects_incomplete_or_impossible_answers(answers):
    with pytest.raises(rules.PracticeInputError):
        rules.score_check(DOC["check"], answers)


def test_status_transitions_and_resume():
    done = {p: {"correct": True} for p in rules.PRACTICE_PARTS}
    assert rules.progress_status(False, {}, False) == ProgressStatus.NOT_STARTED
    assert rules.progress_status(True, {}, False) == ProgressStatus.IN_PROGRESS
    half = {"materials": {"correct": True}, "channel": {"correct": False}}
    assert rules.progress_status(True, half, True) == ProgressStatus.IN_PROGRESS
    assert rules.progress_status(True, done, False) == ProgressStatus.PRACTISED
    assert rules.progress_status(True, done, True) == ProgressStatus.PASSED
    assert rules.resume_section(half, ProgressStatus.IN_PROGRESS) == "channel"
    assert rules.resume_section(done, ProgressStatus.PRACTISED) == "check"
    assert rules.resume_section({}, ProgressStatus.IN_PROGRESS) == "guide"


def test_plan_order_and_progress():
    specs = [
        rules.PlanItemSpec(1, 2, "a", "甲"),
        rules.PlanItemSpec(2, 5, "b", "乙"),
        rules.PlanItemSpec(3, 5, "a", "丙"),
    ]
    assert rules.plan_order(specs) == [3, 2, 1]
    due = rules.plan_due(date(2026, 1, 1), 30)
    assert due == date(2026, 1, 31)
    p = rules.plan_progress([3, 2, 1], {3}, due, date(2026, 2, 1))
    assert (p.passed, p.total, p.overdue, p.next_item_id, p.percent) == (1, 3, True, 2, 33)
    assert not rules.plan_progress([3, 2, 1], {3}, due, due).overdue  # due day itself is not late
    assert not rules.plan_progress([3, 2, 1], {1, 2, 3}, due, date(2027, 1, 1)).overdue


def test_document_changes_names_changed_paths():
    old = valid_module("x")
    new = valid_module("x")
    new["tell_once"] = "新的话"
    new["guide"]["fee"] = "收费"
    assert rules.document_changes(old, new) == ["guide.fee", "tell_once"]


PLACE = [
    {"id": "location", "label": "房屋坐落", "type": "text", "expected": "澄潭街道横联村"},
    {"id": "amount", "label": "金额（元）", "type": "number", "expected": 1000},
    {"id": "day", "label": "申请日期", "type": "date", "expected": "2026-03-05"},
    {"id": "name", "label": "姓名", "type": "text", "expected": "阿依古丽·买买提"},
]


@pytest.mark.parametrize(
    "values",
    [
        {"location": "横联村", "amount": "1,000", "day": "2026年3月5日", "name": "阿依古丽•买买提"},
        {
            "location": "新昌县澄潭街道横联村",
            "amount": "1000元",
            "day": "2026-3-5",
            "name": "阿依古丽・买买提",
        },
        {
            "location": "澄潭街道 横联村",
            "amount": "１０００",
            "day": "2026/03/05",
            "name": "阿依古丽 · 买买提",
        },
        {
            "location": "澄潭街道横联村",
            "amount": "1000.0",
            "day": "2026.3.5",
            "name": "阿依古丽·买买提",
        },
    ],
)
def test_form_accepts_what_a_person_would_call_the_same(values):
    result = rules.check_form(PLACE, values)
    assert result.correct, [f.message for f in result.feedback]


def test_form_says_what_is_missing_when_near():
    fields = [
        {
            "id": "address",
            "label": "户籍地址",
            "type": "text",
            "expected": "浙江省新昌县澄潭街道横联村8号",
        },
        {"id": "day", "label": "申请日期", "type": "date", "expected": "2026-03-05"},
        {"id": "amount", "label": "金额（元）", "type": "number", "expected": 1000},
    ]
    result = rules.check_form(fields, {"address": "横联村", "day": "2026年3月6日", "amount": "100"})
    messages = {f.target: f.message for f in result.feedback}
    assert "少了“浙江省新昌县澄潭街道……8号”" in messages["address"]
    assert "日不对" in messages["day"]
    assert "不一致" in messages["amount"]
    # A different place that merely ends the same way is not the same place.
    other = rules.check_form(PLACE[:1], {"location": "联村"})
    assert not other.correct


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-3-5", date(2026, 3, 5)),
        ("2026年03月05日", date(2026, 3, 5)),
        ("20260305", date(2026, 3, 5)),
        ("2026-2-30", None),
        ("明天", None),
    ],
)
def test_parse_form_date(text, expected):
    assert rules.parse_form_date(text) == expected


def test_check_retake_waits_only_after_a_failed_try():
    from datetime import datetime

    at = datetime(2026, 3, 1, 8, 0)
    assert rules.check_retake_at(at, False, 30) == datetime(2026, 3, 1, 8, 30)
    assert rules.check_retake_at(at, True, 30) is None  # passed: no wait
    assert rules.check_retake_at(at, False, 0) is None  # no wait configured
    assert rules.check_retake_at(None, False, 30) is None  # never tried


def test_check_option_order_is_a_stable_permutation():
    assert sorted(rules.check_option_order(4, "a:1")) == [0, 1, 2, 3]
    assert rules.check_option_order(4, "a:1") == rules.check_option_order(4, "a:1")
    assert len({tuple(rules.check_option_order(4, f"a:{i}")) for i in range(20)}) > 1
    assert rules.check_option_order(0, "x") == []


def test_check_last_try_reads_what_submit_check_keeps():
    from datetime import datetime

    kept = {
        "check": {"correct": [True], "score": 0.6, "passed": False, "at": "2026-03-01T08:00:00"}
    }
    assert rules.check_last_try(kept) == (datetime(2026, 3, 1, 8, 0), False)
    assert rules.check_last_try({"check": {"correct": [True], "score": 1.0}}) == (None, True)
    assert rules.check_last_try({}) == (None, False)
    assert rules.check_last_try({"check": {"at": "garbage", "score": 0.2}}) == (None, False)
