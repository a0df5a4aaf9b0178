"""Grading rules and the question type registry."""

import pytest

from academy.questions import rules
from academy.questions.types import QUESTION_TYPES, ResponseError, check_registry, get_type


def test_every_type_is_registered():
    assert check_registry() == []
    assert check_registry({"cloze"}) == ["cloze"]
    with pytest.raises(ResponseError):
        get_type("cloze")


def test_multichoice_partial_credit_by_weights():
    weights = [0.5, 0.5, -0.5, -0.5]
    assert rules.grade_multichoice(weights, {0, 1}, single=False) == 1.0
    assert rules.grade_multichoice(weights, {0}, single=False) == 0.5
    assert rules.grade_multichoice(weights, {0, 2}, single=False) == 0.0
    assert rules.grade_multichoice(weights, {2, 3}, single=False) == 0.0  # never negative
    assert rules.grade_multichoice([1.0, 0.0, -0.5], {2}, single=True) == 0.0
    assert rules.grade_multichoice([1.0, 0.3, 0.0], {1}, single=True) == 0.3


def test_shortanswer_is_width_case_and_space_insensitive_with_wildcards():
    answers = [("次月", 1.0), ("下个月", 1.0), ("Ｈｅｌｌｏ", 0.5), ("*跑一次*", 1.0)]
    assert rules.grade_shortanswer(answers, " 次 月 ") == 1.0
    assert rules.grade_shortanswer(answers, "hello") == 0.5
    assert rules.grade_shortanswer(answers, "最多跑一次改革") == 1.0
    assert rules.grade_shortanswer(answers, "当月") == 0.0
    assert rules.grade_shortanswer(answers, "") == 0.0


def test_numerical_tolerance_and_full_width_digits():
    answers = [(60.0, 0.0, 1.0), (60.0, 5.0, 0.5)]
    assert rules.grade_numerical(answers, "６０") == 1.0
    assert rules.grade_numerical(answers, "63") == 0.5
    assert rules.grade_numerical(answers, "66") == 0.0
    assert rules.grade_numerical(answers, "六十") == 0.0


def test_matching_and_ordering_partial():
    assert rules.grade_matching(
        ["残联", "派出所", "民政"], ["残联", "民政", "民政"]
    ) == pytest.approx(2 / 3)
    assert rules.grade_ordering(4, [0, 1, 3, 2]) == 0.5


def test_types_reject_malformed_responses():
    mc = {
        "answers": [{"text": "a", "fraction": 1.0}, {"text": "b", "fraction": 0.0}],
        "single": True,
    }
    assert QUESTION_TYPES["multichoice"].check(mc, [1]) == [1]
    for bad in ([0, 1], [5], ["0"], "0", [True]):
        with pytest.raises(ResponseError):
            QUESTION_TYPES["multichoice"].check(mc, bad)
    with pytest.raises(ResponseError):
        QUESTION_TYPES["truefalse"].check({}, "true")
    order = {"order": ["a", "b", "c"]}
    with pytest.raises(ResponseError):
        QUESTION_TYPES["ordering"].check(order, [0, 1])
    match = {"pairs": [["x", "1"], ["y", "2"], ["z", "3"]]}
    with pytest.raises(ResponseError):
        QUESTION_TYPES["matching"].check(match, ["1", "9", None])
    assert QUESTION_TYPES["essay"].grade({}, "text") is None


def test_truefalse_and_numerical_types_grade_stored_data():
    tf = {"answers": [{"text": "true", "fraction": 0.0}, {"text": "false", "fraction": 1.0}]}
    assert QUESTION_TYPES["truefalse"].grade(tf, False) == 1.0
    num = {"answers": [{"text": "60", "fraction": 1.0, "tolerance": 0.0}]}
    assert QUESTION_TYPES["numerical"].grade(num, "60") == 1.0
