"""Exam rules: overrides, start and deadline, the draw (property-based), totals, review."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from academy.exams import rules

T0 = datetime(2026, 12, 1, 1, 0)
BASE = rules.Settings(60, T0, T0 + timedelta(days=7), 2)


# --- overrides -----------------------------------------------------------------------------


def test_without_overrides_the_exam_settings_apply():
    eff = rules.effective_settings(BASE)
    assert eff.settings == BASE
    assert set(eff.sources.values()) == {"exam"}
    assert eff.reasons == ()


def test_agent_override_wins_over_township_field_by_field():
    township = rules.Override(
        "township", "镇街网络中断", extra_minutes=10, closes_at=T0 + timedelta(days=9)
    )
    agent = rules.Override("agent", "视力不好", extra_minutes=30)
    eff = rules.effective_settings(BASE, township, agent)
    assert eff.settings.time_limit_minutes == 90  # the agent's 30, not the township's 10
    assert eff.sources["time_limit_minutes"] == "agent"
    assert eff.settings.closes_at == T0 + timedelta(days=9)  # only the township set it
    assert eff.sources["closes_at"] == "township"
    assert eff.settings.attempts_allowed == 2 and eff.sources["attempts_allowed"] == "exam"
    assert eff.reasons == ("视力不好", "镇街网络中断")


def test_extra_time_and_attempts_keep_unlimited_exams_unlimited():
    base = rules.Settings(None, None, None, None)
    eff = rules.effective_settings(
        base, agent=rules.Override("agent", "x", extra_minutes=20, extra_attempts=1)
    )
    assert eff.settings == base
    assert eff.reasons == ()


def test_extra_attempts_add_to_the_exams():
    eff = rules.effective_settings(BASE, rules.Override("township", "补考", extra_attempts=1))
    assert eff.settings.attempts_allowed == 3


# --- starting and deadlines ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "used", "expected"),
    [
        (T0 - timedelta(minutes=1), 0, "尚未开始"),
        (T0, 0, None),
        (T0 + timedelta(days=7), 0, "截止"),
        (T0 + timedelta(days=1), 1, None),
        (T0 + timedelta(days=1), 2, "次数已用完"),
    ],
)
def test_start_problem(now, used, expected):
    problem = rules.start_problem(BASE, now, used)
    if expected is None:
        assert problem is None
    else:
        assert expected in problem


def test_deadline_is_the_time_limit_but_never_after_closing():
    assert rules.attempt_deadline(T0, BASE) == T0 + timedelta(minutes=60)
    late = T0 + timedelta(days=7) - timedelta(minutes=20)
    assert rules.attempt_deadline(late, BASE) == BASE.closes_at
    assert rules.attempt_deadline(T0, rules.Settings(None, None, None, None)) is None


def test_overdue_at_the_deadline_exactly():
    deadline = T0 + timedelta(minutes=60)
    assert not rules.is_overdue(deadline, deadline - timedelta(seconds=1))
    assert rules.is_overdue(deadline, deadline)
    assert rules.seconds_left(deadline, deadline + timedelta(seconds=5)) == 0


# --- the draw ------------------------------------------------------------------------------


def test_draw_meets_the_counts_without_repeats_and_is_reproducible():
    cells = [
        rules.Cell(0, "1", 3, tuple(range(1, 11))),
        rules.Cell(0, "2", 2, tuple(range(11, 16))),
    ]
    first = rules.draw(cells, {}, seed=42)
    assert [len(c) for c in first] == [3, 2]
    assert set(first[0]) <= set(range(1, 11)) and set(first[1]) <= set(range(11, 16))
    assert rules.draw(cells, {}, seed=42) == first
    assert any(rules.draw(cells, {}, seed=s) != first for s in range(1, 20))


def test_draw_prefers_unseen_then_least_recently_seen():
    cells = [rules.Cell(0, "any", 3, tuple(range(1, 7)))]
    seen = {1: 100.0, 2: 200.0, 3: 300.0, 4: 400.0}
    chosen = rules.draw(cells, seen, seed=7)[0]
    assert set(chosen) == {5, 6, 1}  # the two unseen, then the oldest seen


def test_draw_moves_questions_between_overlapping_cells():
    # Greedy in any order could give the shared question 3 to the wrong cell.
    cells = [rules.Cell(0, "any", 2, (1, 2, 3)), rules.Cell(1, "any", 1, (3,))]
    for seed in range(30):
        a, b = rules.draw(cells, {1: 1.0, 2: 2.0}, seed)  # 3 is the most attractive for cell 0
        assert b == [3] and set(a) == {1, 2}


def test_draw_reports_the_cell_that_cannot_be_filled():
    with pytest.raises(rules.DrawError) as err:
        rules.draw([rules.Cell(1, "3", 4, (1, 2))], {}, 0)
    assert err.value.cell.section == 1 and err.value.available == 2 and not err.value.overlap
    with pytest.raises(rules.DrawError) as err:
        rules.draw([rules.Cell(0, "any", 2, (1, 2)), rules.Cell(1, "any", 1, (1, 2))], {}, 0)
    assert err.value.overlap


@st.composite
def blueprints(draw_):
    n_questions = draw_(st.integers(3, 40))
    cells = []
    for section in range(draw_(st.integers(1, 4))):
        pool = draw_(st.sets(st.integers(1, n_questions), min_size=1, max_size=n_questions))
        cells.append(
            rules.Cell(section, "any", draw_(st.integers(0, len(pool))), tuple(sorted(pool)))
        )
    seen = draw_(
        st.dictionaries(
            st.integers(1, n_questions), st.floats(0, 1e6, allow_nan=False), max_size=20
        )
    )
    return cells, seen, draw_(st.integers(0, 2**48))


def _feasible(cells) -> bool:
    """Brute force: is there any assignment (Hall's condition on every subset of cells)?"""
    from itertools import combinations

    for r in range(1, len(cells) + 1):
        for subset in combinations(cells, r):
            if sum(c.count for c in subset) > len({q for c in subset for q in c.pool}):
                return False
    return True


@settings(max_examples=300, deadline=None)
@given(blueprints())
def test_draw_property_counts_distinct_reproducible_and_unseen_first(case):
    cells, seen, seed = case
    if not _feasible(cells):
        with pytest.raises(rules.DrawError):
            rules.draw(cells, seen, seed)
        return
    chosen = rules.draw(cells, seen, seed)
    flat = [q for qs in chosen for q in qs]
    assert len(flat) == len(set(flat)), "a question twice in one attempt"
    for cell, qs in zip(cells, chosen, strict=True):
        assert len(qs) == cell.count and set(qs) <= set(cell.pool)
    assert rules.draw(cells, seen, seed) == chosen
    # With a single cell the preference is exact: an unseen question is left out only if
    # every chosen question is unseen, and a seen one is taken only if older than the rest.
    if len(cells) == 1:
        (cell,), (qs,) = cells, chosen
        left_out = set(cell.pool) - set(qs)
        unseen_left = [q for q in left_out if q not in seen]
        if unseen_left:
            assert all(q not in seen for q in qs)
        taken_seen = [seen[q] for q in qs if q in seen]
        left_seen = [seen[q] for q in left_out if q in seen]
        if taken_seen and left_seen:
            assert max(taken_seen) <= min(left_seen)


def test_arrange_keeps_sections_in_order_and_shuffles_inside_from_the_seed():
    sections = [[5, 3, 9], [1, 2]]
    assert rules.arrange(sections, shuffle=False, seed=1) == [3, 5, 9, 1, 2]
    mixed = rules.arrange(sections, shuffle=True, seed=1)
    assert set(mixed[:3]) == {3, 5, 9} and set(mixed[3:]) == {1, 2}
    assert rules.arrange(sections, shuffle=True, seed=1) == mixed


# --- totals and review ---------------------------------------------------------------------


def test_totals_count_pending_essays_and_percent():
    t = rules.totals([(1.0, 1.0), (0.5, 1.0), (None, 4.0)])
    assert (t.score, t.max_score, t.pending) == (1.5, 6.0, 1)
    assert t.percent == 25.0
    assert rules.passed(60.0, 60.0) and not rules.passed(59.99, 60.0)


@pytest.mark.parametrize(
    ("when", "finished", "closes", "allowed"),
    [
        ("never", True, None, False),
        ("after_submit", False, None, False),
        ("after_submit", True, T0 + timedelta(days=1), True),
        ("after_close", True, T0 + timedelta(days=1), False),
        ("after_close", True, T0 - timedelta(minutes=1), True),
    ],
)
def test_review_allowed(when, finished, closes, allowed):
    assert rules.review_allowed(when, finished, closes, T0) is allowed


def test_check_counts_names_the_problem():
    assert rules.check_counts({"1": 3, "any": 0}) == []
    assert rules.check_counts({"4": 1}) == ["未知的难度“4”"]
    assert "0–200" in rules.check_counts({"2": -1})[0]
