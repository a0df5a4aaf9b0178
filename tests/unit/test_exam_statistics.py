"""Item statistics against values worked by hand, and the edge cases that have no answer."""

from __future__ import annotations

import math

import pytest

from academy.exams import statistics as st


def _matrix(rows: dict[int, list[float | None]], points: float = 1.0, version_of=None):
    """Observations and totals from {attempt: [fraction per question 1..k or None]}; the
    question of slot p is question p (version 100 + p unless ``version_of`` says)."""
    obs, totals = [], []
    for attempt, fractions in rows.items():
        score = maximum = 0.0
        for slot, f in enumerate(fractions, 1):
            if f is None:
                continue
            v = version_of(attempt, slot) if version_of else 100 + slot
            obs.append(st.Observation(attempt, slot, slot, v, f, points))
            score += f * points
            maximum += points
        totals.append(st.Total(attempt, score, maximum, passed=score / maximum >= 0.6))
    return obs, totals


# A 4 × 3 right/wrong matrix worked by hand:
#   A: 1 1 1   B: 1 1 0   C: 1 0 0   D: 0 0 0
HAND = {1: [1, 1, 1], 2: [1, 1, 0], 3: [1, 0, 0], 4: [0, 0, 0]}


def test_facility_and_sd_by_hand():
    obs, totals = _matrix(HAND)
    stats = st.analyse(obs, totals)
    q1, q2, q3 = (stats.by_question[q] for q in (1, 2, 3))
    assert (q1.n, q1.facility, q2.facility, q3.facility) == (4, 0.75, 0.5, 0.25)
    # q1: deviations .25 .25 .25 -.75 → squares sum .75, / (n-1) = .25 → sd .5
    assert q1.sd == pytest.approx(0.5)
    assert q2.sd == pytest.approx(math.sqrt(1 / 3))


def test_discrimination_is_correlation_with_the_other_questions():
    obs, totals = _matrix(HAND)
    q1 = st.analyse(obs, totals).by_question[1]
    # q1 = [1,1,1,0]; rest (q2+q3 out of 2) = [1, .5, 0, 0]
    # Sxy = .375, Sxx = .75, Syy = .6875 → r = .375 / sqrt(.515625) = .52223
    assert q1.discrimination == pytest.approx(0.375 / math.sqrt(0.75 * 0.6875))
    assert q1.discrimination == pytest.approx(0.52223, abs=1e-5)
    # Not the uncorrected item-total r, which would include q1 itself in the total.
    uncorrected = st.pearson([1, 1, 1, 0], [3, 2, 1, 0])
    assert q1.discrimination < uncorrected


def test_upper_lower_index_by_hand():
    obs, totals = _matrix(HAND)
    stats = st.analyse(obs, totals)
    # n = 4: groups of round(.27 × 4) = 1 — upper is A, lower is D.
    assert stats.by_question[1].upper_lower == 1.0
    assert stats.by_question[3].upper_lower == 1.0
    # Ten candidates: groups of 3.
    pairs = [(i / 10, 1.0 if i in (0, 7, 8) else 0.0) for i in range(10)]
    # lower (0, .1, .2): 1, 0, 0 → 1/3; upper (.7, .8, .9): 1, 1, 0 → 2/3
    assert st.upper_lower(pairs) == pytest.approx(1 / 3)


def test_cronbach_alpha_by_hand():
    obs, totals = _matrix(HAND)
    # item variances .25 + 1/3 + .25 = .8333; total variance (3,2,1,0) = 5/3
    # alpha = 3/2 × (1 − .8333 / 1.6667) = .75
    assert st.analyse(obs, totals).summary.alpha == pytest.approx(0.75)


def test_exam_summary():
    obs, totals = _matrix(HAND)
    s = st.analyse(obs, totals).summary
    assert s.n == 4
    assert s.mean_percent == pytest.approx(50.0)
    assert s.median_percent == pytest.approx(50.0)  # (66.7 + 33.3) / 2
    assert s.sd_percent == pytest.approx(100 / 3 * math.sqrt(5 / 3))
    assert s.pass_rate == 0.5  # A and B reach 60 %


def _repeat(rows: dict[int, list], times: int) -> dict[int, list]:
    """The same answers from ``times`` × as many candidates."""
    return {a + len(rows) * k: list(f) for k in range(times) for a, f in rows.items()}


def test_negative_discrimination_is_flagged():
    # Q3 is answered right by the weak candidates only.
    rows = _repeat({1: [1, 1, 0], 2: [1, 1, 0], 3: [0, 0, 1], 4: [0, 1, 1]}, 8)  # 32
    obs, totals = _matrix(rows)
    q3 = st.analyse(obs, totals).by_question[3]
    assert q3.n == 32 and q3.discrimination < 0
    assert q3.negative and "negative" in q3.flags and not q3.too_few
    assert q3.upper_lower < 0


def test_very_easy_and_very_hard_items_are_flagged():
    rows = {a: [1, 0, 1 if a % 2 else 0] for a in range(1, 31)}  # 30 candidates
    stats = st.analyse(*_matrix(rows))
    assert "easy" in stats.by_question[1].flags  # facility 1.0
    assert "hard" in stats.by_question[2].flags  # facility 0.0
    assert stats.by_question[3].flags == ()  # 0.5, and it discriminates


def test_below_the_minimum_sample_nothing_is_labelled_but_numbers_are_shown():
    # The same pattern from 4 and from 29 candidates: the numbers, but no label.
    for rows in (
        {1: [1, 1, 0], 2: [1, 1, 0], 3: [0, 0, 1], 4: [0, 1, 1]},
        {a: [1, 0, 1 if a % 2 else 0] for a in range(1, 30)},
    ):
        stats = st.analyse(*_matrix(rows))
        for q in (1, 2, 3):
            item = stats.by_question[q]
            assert item.flags == () and not item.negative
            assert item.too_few and item.n == len(rows) and item.facility is not None
            assert item.few_label == "样本不足（作答少于 30 人次，不判断过难、过易或区分度为负）"
    # The minimum is a parameter (the app's ITEM_STATS_MIN_ANSWERS).
    rows = {1: [1, 1, 0], 2: [1, 1, 0], 3: [0, 0, 1], 4: [0, 1, 1]}
    q3 = st.analyse(*_matrix(rows), min_answers=4).by_question[3]
    assert q3.negative and not q3.too_few
    assert not st.EMPTY.too_few  # nobody answered: no sample at all, nothing to say


def test_all_equal_scores_have_no_discrimination():
    rows = {a: [1, 0.5, 0] for a in range(1, 6)}
    stats = st.analyse(*_matrix(rows))
    for q in (1, 2, 3):
        s = stats.by_question[q]
        assert s.discrimination is None and s.upper_lower is None
        assert s.sd == 0.0
    assert stats.summary.alpha is None  # totals do not vary
    assert stats.summary.sd_percent == 0.0


def test_one_candidate_gives_facility_only():
    stats = st.analyse(*_matrix({1: [1, 0]}))
    q1 = stats.by_question[1]
    assert (q1.n, q1.facility) == (1, 1.0)
    assert q1.sd is None and q1.discrimination is None and q1.upper_lower is None
    assert stats.summary.alpha is None and stats.summary.sd_percent is None
    assert stats.summary.mean_percent == 50.0


def test_a_question_nobody_had_is_reported_without_statistics():
    stats = st.analyse(*_matrix(HAND), question_ids=[1, 2, 3, 99])
    nobody = stats.by_question[99]
    assert nobody.n == 0
    assert (nobody.facility, nobody.sd, nobody.discrimination, nobody.upper_lower) == (None,) * 4
    assert nobody.flags == ()
    empty = st.analyse([], [])
    assert empty.summary.n == 0 and empty.summary.mean_percent is None
    assert empty.summary.pass_rate is None and empty.summary.alpha is None


def test_random_draws_use_only_the_candidates_who_had_the_question():
    # Slot 2 was drawn from a pool: attempts 1–2 got question 2, attempts 3–4 question 5.
    rows = {1: [1, 1, 1], 2: [1, 1, 0], 3: [1, 0, 0], 4: [0, 0, 0]}
    obs, totals = _matrix(rows)
    obs = [
        st.Observation(o.attempt_id, o.slot, 5, 105, o.fraction, o.points)
        if o.slot == 2 and o.attempt_id > 2
        else o
        for o in obs
    ]
    stats = st.analyse(obs, totals)
    assert stats.by_question[2].n == 2 and stats.by_question[2].facility == 1.0
    assert stats.by_question[5].n == 2 and stats.by_question[5].facility == 0.0
    # Alpha over slots is the same as before: every attempt still has three slots.
    assert stats.summary.alpha == pytest.approx(0.75)


def test_statistics_per_version_and_per_question():
    # Question 1 was revised: attempts 1–2 drew version 11, attempts 3–4 version 12.
    obs, totals = _matrix(
        HAND, version_of=lambda a, slot: (11 if a <= 2 else 12) if slot == 1 else 100 + slot
    )
    stats = st.analyse(obs, totals)
    assert stats.by_question[1].n == 4 and stats.by_question[1].facility == 0.75
    assert stats.by_version[11].n == 2 and stats.by_version[11].facility == 1.0
    assert stats.by_version[12].n == 2 and stats.by_version[12].facility == 0.5
    assert stats.by_version[11].discrimination is None  # everybody right on version 11


def test_points_weight_the_rest_score_and_alpha():
    # Same pattern with 5 points per question: facility and r do not change.
    plain = st.analyse(*_matrix(HAND))
    weighted = st.analyse(*_matrix(HAND, points=5.0))
    assert weighted.by_question[1].discrimination == pytest.approx(
        plain.by_question[1].discrimination
    )
    assert weighted.summary.alpha == pytest.approx(plain.summary.alpha)


def test_alpha_uses_only_complete_rows_and_needs_two_items():
    assert st.cronbach_alpha([{1: 1.0}, {1: 0.0}]) is None
    rows = [{1: 1, 2: 1, 3: 1}, {1: 1, 2: 1, 3: 0}, {1: 1, 2: 0, 3: 0}, {1: 0, 2: 0, 3: 0}]
    assert st.cronbach_alpha(rows) == pytest.approx(0.75)
    assert st.cronbach_alpha([*rows, {1: 1}]) is None  # only slot 1 common to all: k = 1


def test_pearson_edge_cases():
    assert st.pearson([], []) is None
    assert st.pearson([1], [1]) is None
    assert st.pearson([1, 1], [0, 1]) is None
    assert st.pearson([0, 1], [0, 1]) == pytest.approx(1.0)
    with pytest.raises(ValueError):
        st.pearson([1, 2], [1])
