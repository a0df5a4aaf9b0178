"""Leitner schedule, weak-item ranking and the choice of a practice session."""

from datetime import date, timedelta

import pytest

from academy.practice import rules
from academy.practice.rules import Candidate, CardState, ItemRecord

TODAY = date(2026, 3, 10)


# --- boxes and intervals ---------------------------------------------------------------


@pytest.mark.parametrize(("box", "up"), [(1, 2), (2, 3), (3, 4), (4, 5), (5, 5)])
def test_right_answer_moves_up_one_box_at_most_five(box, up):
    assert rules.next_box(box, 1.0) == up


@pytest.mark.parametrize("box", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("fraction", [0.0, 0.5, 0.998])
def test_wrong_or_partial_answer_goes_back_to_box_one(box, fraction):
    assert rules.next_box(box, fraction) == 1


def test_right_threshold_tolerates_rounding():
    assert rules.is_right(0.999) and rules.is_right(1.0000000001)
    assert not rules.is_right(0.9989)


def test_intervals_double_per_box():
    assert rules.BOX_INTERVAL_DAYS == (1, 2, 4, 8, 16)
    assert [rules.interval_days(b) for b in range(1, 6)] == [1, 2, 4, 8, 16]


@pytest.mark.parametrize(
    ("box", "fraction", "expected"),
    [
        (None, 0.0, (1, TODAY + timedelta(days=1))),  # new and wrong: tomorrow
        (None, 1.0, (2, TODAY + timedelta(days=2))),  # new and right: box 2
        (3, 1.0, (4, TODAY + timedelta(days=8))),
        (5, 1.0, (5, TODAY + timedelta(days=16))),  # stays in the last box
        (5, 0.5, (1, TODAY + timedelta(days=1))),  # a partial answer counts as wrong
    ],
)
def test_schedule_due_on_is_answered_day_plus_interval(box, fraction, expected):
    assert rules.schedule(box, fraction, TODAY) == expected


@pytest.mark.parametrize("box", [0, 6, -1, True, 2.0])
def test_box_out_of_range_is_refused(box):
    with pytest.raises(ValueError):
        rules.next_box(box, 1.0)


@pytest.mark.parametrize("fraction", [None, float("nan"), -0.5, 1.5])
def test_fraction_out_of_range_is_refused(fraction):
    with pytest.raises(ValueError):
        rules.schedule(1, fraction, TODAY)


# --- weak items ------------------------------------------------------------------------


def _rec(item_id, freq=3, passed=True, recent=(), questions=5, name=None):
    return ItemRecord(item_id, name or f"事项{item_id}", freq, questions, passed, tuple(recent))


def test_accuracy_over_latest_answers_only():
    assert rules.accuracy(()) is None
    assert rules.accuracy((1.0, 0.0, 0.5, 1.0)) == 0.5  # partial counts as not right
    assert rules.accuracy((1.0,) * 3 + (0.0,) * 20, n=3) == 1.0


def test_never_practised_and_not_passed_come_first():
    ranked = rules.rank_weak_items(
        [
            _rec(1, passed=True, recent=(0.0, 0.0)),  # practised, passed, 0 %
            _rec(2, passed=True, recent=()),  # never practised
            _rec(3, passed=False, recent=(1.0, 1.0)),  # module not passed
        ]
    )
    # never practised counts as 0 % and goes before the unpassed one at 100 %
    assert [w.item_id for w in ranked] == [2, 3, 1]


def test_lowest_recent_accuracy_first_then_frequency():
    ranked = rules.rank_weak_items(
        [
            _rec(1, freq=5, recent=(1.0, 1.0)),
            _rec(2, freq=1, recent=(0.0, 1.0)),
            _rec(3, freq=4, recent=(1.0, 0.0)),
            _rec(4, freq=2, recent=(0.0, 0.0)),
        ]
    )
    assert [w.item_id for w in ranked] == [4, 3, 2, 1]


def test_new_agent_starts_with_the_most_frequent_items():
    ranked = rules.rank_weak_items(
        [_rec(1, freq=2, passed=False), _rec(2, freq=5, passed=False), _rec(3, freq=4)]
    )
    assert [w.item_id for w in ranked] == [2, 3, 1]
    assert ranked[0].reason == "还没练过，模块未通过"


def test_items_without_practicable_questions_are_left_out():
    ranked = rules.rank_weak_items([_rec(1, questions=0), _rec(2)])
    assert [w.item_id for w in ranked] == [2]


def test_weak_reason_names_accuracy():
    (w,) = rules.rank_weak_items([_rec(1, recent=(1.0, 0.0, 0.0, 0.0))])
    assert w.reason == "近 4 题答对 25%"


# --- choosing a session ------------------------------------------------------------------


def _cand(qid, item=1, qtype="multichoice", retired=False, difficulty=None):
    return Candidate(qid, item, qtype, retired, difficulty)


def _card(qid, days_from_today, box=1):
    return CardState(qid, box, TODAY + timedelta(days=days_from_today))


def test_due_cards_first_most_overdue_first_then_new():
    pool = [_cand(q) for q in range(1, 8)]
    cards = {1: _card(1, 0), 2: _card(2, -3), 3: _card(3, -1, box=2), 4: _card(4, 5)}
    chosen = rules.select_session(pool, cards, [1], TODAY, size=10)
    assert chosen[:3] == [2, 3, 1]  # due: 3 days late, 1 day late, today
    assert chosen[3:6] == [5, 6, 7]  # then never-practised questions
    assert chosen[6:] == [4]  # then, as extra, the card not due yet


def test_new_questions_come_from_the_weakest_item_first():
    pool = [_cand(q, item=10) for q in (1, 2)] + [_cand(q, item=20) for q in (3, 4, 5, 6)]
    chosen = rules.select_session(pool, {}, [20, 10], TODAY, size=5, per_item=3)
    assert chosen == [3, 4, 5, 1, 2]


def test_new_questions_of_an_item_easier_first():
    pool = [_cand(1, difficulty=3), _cand(2, difficulty=1), _cand(3)]
    assert rules.select_session(pool, {}, [1], TODAY) == [2, 3, 1]


def test_session_never_exceeds_size_nor_repeats():
    pool = [_cand(q) for q in range(1, 30)] + [_cand(5), _cand(6)]
    cards = {5: _card(5, -1), 6: _card(6, -2)}
    chosen = rules.select_session(pool, cards, [1, 1], TODAY, size=10)
    assert len(chosen) == 10 and len(set(chosen)) == 10
    assert chosen[:2] == [6, 5]


@pytest.mark.parametrize("qtype", ["essay", "description"])
def test_not_auto_marked_questions_are_never_drawn(qtype):
    pool = [_cand(1, qtype=qtype), _cand(2, qtype="truefalse"), _cand(3, qtype=qtype)]
    cards = {3: _card(3, -5)}  # even a due card of such a type
    assert rules.select_session(pool, cards, [1], TODAY) == [2]


def test_retired_questions_are_never_drawn():
    pool = [_cand(1, retired=True), _cand(2, retired=True), _cand(3)]
    assert rules.select_session(pool, {1: _card(1, -1)}, [1], TODAY) == [3]


def test_new_questions_only_from_ranked_items_but_due_cards_from_any():
    pool = [_cand(1, item=99), _cand(2, item=99), _cand(3, item=None), _cand(4, item=1)]
    cards = {2: _card(2, -1)}
    assert rules.select_session(pool, cards, [1], TODAY) == [2, 4]


def test_empty_pool_gives_empty_session_and_size_must_be_positive():
    assert rules.select_session([], {}, [], TODAY) == []
    with pytest.raises(ValueError):
        rules.select_session([_cand(1)], {}, [1], TODAY, size=0)


# --- messages -------------------------------------------------------------------------------


def test_comeback_lines_group_by_day():
    days = [TODAY + timedelta(days=1)] * 3 + [TODAY + timedelta(days=4)]
    assert rules.comeback(days, TODAY) == ["3 道题明天再练", "1 道题过 4 天（3 月 14 日）再练"]


def test_verdicts():
    assert rules.verdict(1.0) == "答对了"
    assert rules.verdict(0.5) == "部分正确（得 50%）"
    assert rules.verdict(0.0) == "答错了"


def test_box_shares_are_steps_of_five_and_visible_when_nonzero():
    assert rules.box_shares([0, 0, 0, 0, 0]) == [0, 0, 0, 0, 0]
    assert rules.box_shares([10, 5, 1, 0, 0]) == [100, 50, 10, 0, 0]
    assert rules.box_shares([200, 1, 0, 0, 0])[1] == 5


def test_incomplete_answers_are_asked_again():
    assert rules.incomplete("multichoice", None) == "请先作答再提交。"
    assert rules.incomplete("ordering", {"partial": [1, None]})
    assert rules.incomplete("matching", ["a", None])
    assert rules.incomplete("matching", ["a", "b"]) is None
    assert rules.incomplete("ordering", [1, 0]) is None
