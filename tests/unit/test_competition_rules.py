"""Competition rules: marking, panel aggregation, moderation flags, totals, ranking, awards,
judge assignment and the many-facet Rasch estimate — pure, no database."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from academy.competition import rasch
from academy.competition.assignment import (
    AssignmentInfeasible,
    Person,
    assign_judges,
    eligible,
    loads,
)
from academy.competition.rules import (
    Criterion,
    CriterionKind,
    Ranked,
    Standing,
    aggregate,
    awards,
    judge_agreement,
    lock_problems,
    mark_problem,
    rank,
    score_round,
    weighted_total,
)

J = CriterionKind.JUDGEMENT
M = CriterionKind.MEASUREMENT


# --- marks and aggregation -------------------------------------------------------------------


def test_a_judgement_mark_is_a_level_and_a_measurement_within_its_points():
    polite = Criterion("礼貌用语", J, 6, "etiquette")
    materials = Criterion("材料齐全", M, 10, "knowledge")
    assert mark_problem(polite, 3) is None
    assert "0、1、2、3" in mark_problem(polite, 4)
    assert "0、1、2、3" in mark_problem(polite, 2.5)
    assert mark_problem(materials, 7.5) is None
    assert "0 到 10" in mark_problem(materials, 10.5)
    assert "0 到 10" in mark_problem(materials, -1)
    assert mark_problem(materials, float("nan")) == "评分必须是数字"
    assert mark_problem(materials, "7") == "评分必须是数字"
    assert mark_problem(materials, True) == "评分必须是数字"


def test_panel_mean_below_five_judges_and_trimmed_mean_from_five():
    assert aggregate([2, 3, 3]) == pytest.approx(8 / 3)
    assert aggregate([1, 2, 3, 3]) == pytest.approx(9 / 4)
    # five judges: drop one 0 and one 3, mean of 2, 2, 3
    assert aggregate([0, 2, 2, 3, 3]) == pytest.approx(7 / 3)
    # six judges, two of them give the same top mark: only one is dropped
    assert aggregate([1, 2, 2, 3, 3, 3]) == pytest.approx(10 / 4)
    with pytest.raises(ValueError):
        aggregate([])


def test_round_points_by_dimension_with_judgement_scaled_to_the_criterion():
    crits = [
        Criterion("k1", M, 10, "knowledge"),
        Criterion("e1", J, 6, "etiquette"),
        Criterion("x1", J, 9, "emergency"),
    ]
    marks = {
        ("A", "k1"): {"j1": 8, "j2": 9, "j3": 10},  # mean 9
        ("A", "e1"): {"j1": 2, "j2": 2, "j3": 3},  # mean 7/3 of 3 levels → 14/3 of 6 points
        ("A", "x1"): {"j1": 3, "j2": 3, "j3": 3},  # 9
    }
    res = score_round(crits, ["A"], marks)["A"]
    assert res.points == pytest.approx(9 + 14 / 3 + 9)
    assert res.max_points == 25
    assert res.percent == pytest.approx(100 * (9 + 14 / 3 + 9) / 25)
    assert res.by_dimension["etiquette"] == pytest.approx(14 / 3)
    assert res.dimension_percent("emergency") == pytest.approx(100)
    assert res.flags == [] and res.missing == []


def test_a_spread_of_more_than_one_level_flags_the_candidate_and_blocks_the_lock():
    crits = [Criterion("e1", J, 6, "etiquette"), Criterion("k1", M, 10, "knowledge")]
    marks = {
        ("A", "e1"): {"j1": 1, "j2": 3, "j3": 2},  # spread 2 > 1: flag
        ("A", "k1"): {"j1": 6, "j2": 8, "j3": 7},  # spread 2 = 20 % of 10: no flag
        ("B", "e1"): {"j1": 2, "j2": 3, "j3": 3},
        ("B", "k1"): {"j1": 5, "j2": 7.5, "j3": 7},  # spread 2.5 > 2: flag
    }
    res = score_round(crits, ["A", "B"], marks)
    assert [(f.candidate, f.criterion) for f in res["A"].flags] == [("A", "e1")]
    assert [(f.candidate, f.criterion) for f in res["B"].flags] == [("B", "k1")]
    problems = lock_problems(res)
    assert len(problems) == 2 and "复核" in problems[0]
    assert lock_problems(res, resolved=[("A", "e1"), ("B", "k1")]) == []


def test_a_criterion_nobody_marked_blocks_the_lock():
    crits = [Criterion("e1", J, 6, "etiquette"), Criterion("k1", M, 10, "knowledge")]
    res = score_round(crits, ["A"], {("A", "e1"): {"j1": 2}})
    assert res["A"].missing == ["k1"]
    assert "没有评分" in lock_problems(res)[0]
    marks = {("A", "e1"): {"j1": 2}, ("A", "k1"): {"j1": 5, "j2": 5}}
    res = score_round(crits, ["A"], marks)
    assert lock_problems(res, expected_judges={"A": 2}, marks=marks) == [
        "选手 A 的指标 e1 只有 1/2 名评委提交"
    ]


def test_weighted_total_of_rounds():
    assert weighted_total({"w": 80, "p": 60, "l": 90}, {"w": 40, "p": 30, "l": 30}) == (
        pytest.approx(0.4 * 80 + 0.3 * 60 + 0.3 * 90)
    )
    assert weighted_total({"w": 80}, {"w": 50, "l": 50}) == pytest.approx(40)
    assert weighted_total({}, {}) == 0


# --- ranking and awards ----------------------------------------------------------------------


def test_ties_broken_by_emergency_then_written_then_shared():
    s = [
        Standing("A", 90.0, 80, 70),
        Standing("B", 90.0, 85, 60),  # same total, higher 应急处置: ahead of A
        Standing("C", 90.0, 80, 75),  # same total and 应急处置 as A, higher written: ahead of A
        Standing("D", 95.0, 10, 10),
        Standing("E", 88.0, 50, 50),
        Standing("F", 88.0, 50, 50),  # identical on every key: shares the rank
        Standing("G", 87.999, 50, 50),  # rounds to 88.00 as published: shares it too
    ]
    r = rank(s)
    assert [(x.rank, x.standing.candidate) for x in r] == [
        (1, "D"),
        (2, "B"),
        (3, "C"),
        (4, "A"),
        (5, "E"),
        (5, "F"),
        (5, "G"),
    ]
    by = {x.standing.candidate: x.tie_broken_by for x in r}
    assert by["B"] == "emergency" and by["C"] == "written" and by["D"] is None


def test_awards_by_rank_and_ties_on_a_boundary_share_the_higher_award():
    r = [Ranked(1, Standing("A", 99, 0, 0)), Ranked(2, Standing("B", 97, 0, 0))]
    r += [Ranked(3, Standing("C", 95, 0, 0)), Ranked(3, Standing("D", 95, 0, 0))]
    r += [Ranked(5, Standing("E", 90, 0, 0)), Ranked(6, Standing("F", 40, 0, 0))]
    got = awards(r, first=1, second=1, third=1, excellent=2, min_total=60)
    assert got == {
        "A": "first",
        "B": "second",
        "C": "third",
        "D": "third",
        "E": "excellent",
    }


# --- rater agreement -------------------------------------------------------------------------


def test_judge_agreement_shows_a_harsh_judge_below_the_panel():
    marks = {}
    for c in range(6):
        base = c % 4
        marks[(c, "e1")] = {"fair1": base, "fair2": base, "harsh": max(0, base - 1)}
    ag = judge_agreement(marks)
    assert ag["harsh"].mean_deviation < -0.5
    assert ag["fair1"].mean_deviation > 0
    assert ag["harsh"].correlation is not None and ag["harsh"].correlation > 0.8
    assert ag["fair1"].marks == 6


# --- judge assignment ------------------------------------------------------------------------


def test_nobody_marks_a_candidate_from_their_own_township_and_loads_are_even():
    cands = [Person(f"c{i}", f"t{i % 12}") for i in range(36)]
    judges = [Person(f"j{i}", f"t{i % 12}" if i < 15 else None) for i in range(19)]
    a = assign_judges(cands, judges, 3, seed=7)
    town = {p.key: p.township for p in cands + judges}
    for c, js in a.items():
        assert len(js) == len(set(js)) == 3
        assert all(town[j] is None or town[j] != town[c] for j in js)
    load = loads(a)
    assert max(load.values()) - min(load.values(), default=0) <= 1
    assert sum(load.values()) == 108
    assert assign_judges(cands, judges, 3, seed=7) == a  # reproducible
    assert assign_judges(cands, judges, 3, seed=8) != a  # but a draw


def test_infeasible_assignment_names_every_candidate_short_of_judges():
    cands = [Person("c1", "沃洲镇", "A001"), Person("c2", "儒岙镇", "A002")]
    judges = [Person("j1", "沃洲镇"), Person("j2", "沃洲镇"), Person("j3", "儒岙镇")]
    with pytest.raises(AssignmentInfeasible) as err:
        assign_judges(cands, judges, 2)
    assert len(err.value.reasons) == 1
    assert "A001" in err.value.reasons[0] and "只有 1 名" in err.value.reasons[0]
    with pytest.raises(AssignmentInfeasible) as err:
        assign_judges(cands, [Person("j4", None), Person("j5", None)], 2, max_load=1)
    assert "少于需要的 4 人次" in err.value.reasons[0]


@settings(max_examples=60, deadline=None)
@given(
    n_cands=st.integers(0, 25),
    n_judges=st.integers(1, 9),
    towns=st.integers(1, 5),
    per=st.integers(1, 4),
    seed=st.integers(0, 10**6),
)
def test_assignment_properties(n_cands, n_judges, towns, per, seed):
    rng = random.Random(seed)
    cands = [Person(f"c{i}", rng.randrange(towns)) for i in range(n_cands)]
    judges = [Person(f"j{i}", rng.choice([*range(towns), None])) for i in range(n_judges)]
    feasible = all(sum(eligible(c, j) for j in judges) >= per for c in cands)
    if not feasible:
        with pytest.raises(AssignmentInfeasible):
            assign_judges(cands, judges, per, seed=seed)
        return
    a = assign_judges(cands, judges, per, seed=seed)
    assert set(a) == {c.key for c in cands}
    by_key = {p.key: p for p in cands + judges}
    for c, js in a.items():
        assert len(set(js)) == per
        assert all(eligible(by_key[c], by_key[j]) for j in js)
    # the busiest judge carries no more than any feasible assignment must: at least the
    # even share, and never more than the brute-force optimum found by trying each load
    if a:
        load = loads(a)
        busiest = max(load.values())
        assert busiest >= math.ceil(per * n_cands / n_judges)
        for lower in range(1, busiest):
            with pytest.raises(AssignmentInfeasible):
                assign_judges(cands, judges, per, seed=seed, max_load=lower)


# --- many-facet Rasch --------------------------------------------------------------------------


def _simulate(n=120, judges=8, criteria=6, per=4, severity=None, seed=3, erratic=None):
    rng = np.random.default_rng(seed)
    ability = rng.normal(0, 1, n)
    sev = np.array(severity if severity is not None else rng.normal(0, 0.5, judges))
    sev = sev - sev.mean()
    diff = rng.normal(0, 0.6, criteria)
    diff -= diff.mean()
    steps = np.array([-1.2, 0.0, 1.2])
    obs = []
    for c in range(n):
        for j in rng.choice(len(sev), per, replace=False):
            for i in range(criteria):
                if erratic is not None and j == erratic:
                    cat = int(rng.integers(0, 4))
                else:
                    logits = np.concatenate([[0], np.cumsum(ability[c] - diff[i] - sev[j] - steps)])
                    p = np.exp(logits - logits.max())
                    cat = int(rng.choice(4, p=p / p.sum()))
                obs.append(rasch.Observation(c, int(j), i, cat))
    return obs, ability, sev, diff


def test_two_judges_dichotomous_jmle_doubles_the_conditional_estimate():
    # Andersen (1973): with two items, JMLE estimates twice the (consistent) conditional
    # estimate ln(nA/nB). Every candidate scores 1 of 2: A gives the point 30 times, B 10.
    obs = []
    for c in range(40):
        a_gives = c < 30
        obs.append(rasch.Observation(c, "A", "k", 1 if a_gives else 0))
        obs.append(rasch.Observation(c, "B", "k", 0 if a_gives else 1))
    r = rasch.estimate(obs, categories=2)
    assert r.converged
    gap = r.judges["B"].measure - r.judges["A"].measure  # B is the harsher judge
    assert gap == pytest.approx(2 * math.log(30 / 10), abs=1e-3)
    assert all(e.measure == pytest.approx(0, abs=1e-3) for e in r.candidates.values())


def test_rasch_recovers_simulated_judge_severity_and_criterion_difficulty():
    obs, _, sev, diff = _simulate()
    r = rasch.estimate(obs)
    assert r.converged and r.max_residual < 0.05
    est_sev = np.array([r.judges[j].measure for j in range(len(sev))])
    est_diff = np.array([r.criteria[i].measure for i in range(len(diff))])
    assert np.corrcoef(est_sev, sev)[0, 1] > 0.95
    assert np.corrcoef(est_diff, diff)[0, 1] > 0.95
    assert abs(est_sev.mean()) < 1e-6 and abs(est_diff.mean()) < 1e-6
    thresholds = r.thresholds
    assert thresholds[0] < thresholds[1] < thresholds[2]


def test_rasch_singles_out_the_harsh_and_the_erratic_judge():
    obs, *_ = _simulate(severity=[0, 0, 0, 0, 0, 0, 0, 1.5], erratic=3, seed=5)
    r = rasch.estimate(obs)
    harshest = max(r.judges.values(), key=lambda e: e.measure)
    assert harshest.key == 7
    assert r.judges[3].misfit == "noisy"
    assert sum(e.misfit == "noisy" for e in r.judges.values()) == 1


def test_extreme_candidates_get_finite_measures():
    obs, *_ = _simulate(n=30, seed=9)
    obs += [rasch.Observation("star", j, i, 3) for j in range(3) for i in range(6)]
    obs += [rasch.Observation("zero", j, i, 0) for j in range(3) for i in range(6)]
    r = rasch.estimate(obs)
    star, zero = r.candidates["star"], r.candidates["zero"]
    assert star.extreme and zero.extreme
    assert math.isfinite(star.measure) and star.measure > max(
        e.measure for k, e in r.candidates.items() if k not in ("star", "zero")
    )
    assert zero.measure < min(e.measure for k, e in r.candidates.items() if k != "zero")


def test_measurement_points_map_onto_the_rating_scale():
    assert rasch.categories_for_points(0, 10) == 0
    assert rasch.categories_for_points(5, 10) == 2  # 1.5 rounds to even 2
    assert rasch.categories_for_points(10, 10) == 3
    assert rasch.categories_for_points(11, 10) == 3
    with pytest.raises(ValueError):
        rasch.estimate([rasch.Observation(1, 1, 1, 4)])
