"""Every shipped case is valid, has a complication, and its best path solves the errand in one
visit with the full automatic score whatever complication is drawn."""

from __future__ import annotations

import pytest

from academy.content.loader import load_content
from academy.simulations import rules
from tests.simcases import ROOT

BUNDLE = load_content(ROOT)
CASES = BUNDLE.documents["simulations"]


def test_case_files_have_no_problems_and_enough_cases_ship():
    assert [p for p in BUNDLE.problems if p.path.startswith("simulations/")] == []
    assert len(CASES) >= 5


def test_every_item_category_has_a_case():
    category = {i.slug: i.category for i in BUNDLE.items}
    covered = {category[d.data["items"][0]] for d in CASES}
    assert len(covered) == 4, covered


@pytest.mark.parametrize("doc", CASES, ids=lambda d: d.data["slug"])
def test_best_path_solves_with_full_score_for_every_draw(doc):
    case = rules.Case(doc.data)
    assert any(s["kind"] == "complication" for s in doc.data["steps"])
    drawn = set()
    for seed in range(12):
        drawn.add(tuple(sorted(case.drawn_events(seed).items())))
        best = rules.extreme_path(case, seed)
        assert case.step(best[-1].step_id)["outcome"] == "solved"
        assert rules.score_run(case, seed, best).auto_total == 100
    assert len(drawn) > 1, "the complication should vary between runs"


@pytest.mark.parametrize("doc", CASES, ids=lambda d: d.data["slug"])
def test_best_and_worst_path_walked_backwards_match_the_search_over_every_path(doc):
    """The quick walk (each step weighed once) and the exhaustive search over simple paths
    choose the same path, best and worst, whatever is drawn."""
    for seed in range(8):
        for best in (True, False):
            quick = rules._extreme_path_acyclic(rules.Case(doc.data), seed, best)
            search = rules._extreme_path_search(rules.Case(doc.data), seed, best)
            assert quick, "every shipped case reaches an end"
            assert [(p.step_id, p.response) for p in quick] == [
                (p.step_id, p.response) for p in search
            ]
