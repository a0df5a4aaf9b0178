"""Pure rules of simulation cases: the validator (every structural error, all at once), the
best path, scoring and the step-kind registry."""

from __future__ import annotations

import copy

import pytest
import yaml

from academy.simulations import kinds, rules
from tests.simcases import SAMPLE

ITEMS = {"resident-pension-death-benefit", "after-death-joint"}
PATH = "simulations/x.yaml"


@pytest.fixture
def case() -> dict:
    return yaml.safe_load(SAMPLE.read_text(encoding="utf-8"))


def _step(data: dict, sid: str) -> dict:
    return next(s for s in data["steps"] if s["id"] == sid)


def _problems(data) -> list[str]:
    return [f"{p.field}: {p.reason}" for p in rules.check_case(PATH, data, ITEMS)]


def test_shipped_sample_is_valid(case):
    assert rules.check_case(PATH, case, ITEMS) == []


def test_duplicate_step_id(case):
    case["steps"].append(copy.deepcopy(_step(case, "greet")))
    assert any(p.startswith("greet: 步骤标识重复") for p in _problems(case))


def test_missing_target(case):
    _step(case, "who_applies")["options"][0]["next"] = "nowhere"
    assert "who_applies: 下一步 “nowhere” 不存在" in _problems(case)


def test_unreachable_step(case):
    case["steps"].append(
        {"id": "orphan", "kind": "dialogue", "text": "没人来过这里", "next": "end_solved"}
    )
    assert "orphan: 从起始步骤走不到这一步（多余的步骤）" in _problems(case)


def test_dead_end_and_cycle_without_exit(case):
    # form now leads into a loop of two dialogues that never reaches an end
    _step(case, "form")["next"] = "loop_a"
    case["steps"] += [
        {"id": "loop_a", "kind": "dialogue", "text": "再说一遍", "next": "loop_b"},
        {"id": "loop_b", "kind": "dialogue", "text": "又说一遍", "next": "loop_a"},
    ]
    problems = _problems(case)
    assert "loop_a: 循环没有出口：从这里走不到任何结局" in problems
    assert "loop_b: 循环没有出口：从这里走不到任何结局" in problems
    assert "form: 从这里走不到任何结局" in problems
    # tell_once is now unreachable as well
    assert "tell_once: 从起始步骤走不到这一步（多余的步骤）" in problems


def test_a_cycle_with_an_exit_is_fine(case):
    _step(case, "greet")["next"] = "first_reply"
    opts = _step(case, "who_applies")["options"]
    opts[1]["next"] = "greet"  # the wrong answer goes back to the start: a loop with exits
    assert _problems(case) == []


def test_no_solved_end(case):
    for s in case["steps"]:
        if s["kind"] == "end":
            s["outcome"] = "failed"
    assert "steps: 没有“一次办结”（outcome: solved）的结局" in _problems(case)


def test_scores_out_of_bounds_and_unknown_dimension(case):
    opt = _step(case, "first_reply")["options"][0]
    opt["score"] = {"服务规范": 30, "礼貌": 1}
    _step(case, "materials")["points"] = 50
    problems = _problems(case)
    assert "first_reply.options[0].score.服务规范: 分值 30 超出范围（-10–10）" in problems
    assert any(p.startswith("first_reply.options[0].score.礼貌: 未知维度") for p in problems)
    assert "materials.points: 分值 50 超出范围（1–20）" in problems


def test_unknown_item_kind_event_and_learn_section(case):
    case["items"] = ["no-such-item"]
    _step(case, "greet")["kind"] = "dance"
    _step(case, "draw_complication")["draw"][0]["event"] = "earthquake"
    _step(case, "materials")["learn"] = "#nowhere"
    problems = _problems(case)
    assert "items[0]: 事项 “no-such-item” 不在目录 courses/catalogue.yaml 中" in problems
    assert any(p.startswith("greet.kind: 未知步骤类型 “dance”") for p in problems)
    assert any(p.startswith("draw_complication.draw[0].event: 应为") for p in problems)
    assert any(p.startswith("materials.learn: 章节应为") for p in problems)


def test_every_problem_reported_at_once(case):
    case["rubric"]["weights"]["业务知识"] = 10
    _step(case, "who_applies")["options"][0]["best"] = False
    _step(case, "form")["fields"][1]["expected"] = "330624194605180315"  # bad check digit
    del case["persona"]["gender"]
    problems = _problems(case)
    assert len(problems) >= 4
    assert "rubric.weights: 权重之和应为 100，现为 70" in problems
    assert any(p.startswith("who_applies.options: 应恰好有 1 个选项标 best") for p in problems)
    assert any(p.startswith("form.fields[1].expected") for p in problems)
    assert "persona.gender: 应为 female 或 male（用于画头像）" in problems


def test_problem_prints_as_path_step_reason(case):
    _step(case, "who_applies")["options"][0]["next"] = "nowhere"
    (problem,) = rules.check_case(PATH, case, ITEMS)
    assert str(problem) == f"{PATH}: who_applies: 下一步 “nowhere” 不存在"


# --- engine and scoring ------------------------------------------------------------------------


def test_draws_are_reproducible_and_vary(case):
    c = rules.Case(case)
    assert c.drawn_events(7) == c.drawn_events(7)
    drawn = {c.drawn_events(seed)["draw_complication"] for seed in range(40)}
    assert drawn == {"outage", "no_hukou"}
    assert {c.persona_detail(s) for s in range(40)} == set(case["persona"]["details"])


@pytest.mark.parametrize("seed", range(6))
def test_best_path_reaches_solved_with_full_auto_score(case, seed):
    c = rules.Case(case)
    best = rules.extreme_path(c, seed)
    assert c.step(best[-1].step_id)["outcome"] == "solved"
    score = rules.score_run(c, seed, best, marks={"tell_once": 6})
    assert score.total == 100 and score.auto_total == 100 and score.pending == 0
    worst = rules.extreme_path(c, seed, best=False)
    assert rules.score_run(c, seed, worst).total < 20


def test_a_loop_in_the_case_still_gives_the_best_simple_path(case):
    # the wrong answer goes back to the start: the walk backwards meets the loop, and the
    # best path is found by the search over simple paths (never round the loop)
    _step(case, "greet")["next"] = "first_reply"
    _step(case, "who_applies")["options"][1]["next"] = "greet"
    c = rules.Case(case)
    for seed in range(4):
        best = rules.extreme_path(c, seed)
        ids = [p.step_id for p in best]
        assert len(ids) == len(set(ids)) and c.step(ids[-1])["outcome"] == "solved"
        assert rules.score_run(c, seed, best, marks={"tell_once": 6}).total == 100
        worst = [p.step_id for p in rules.extreme_path(c, seed, best=False)]
        assert len(worst) == len(set(worst)) and c.step(worst[-1])["kind"] == "end"


def test_pending_reply_counts_zero_until_marked(case):
    c = rules.Case(case)
    best = rules.extreme_path(c, 1)
    pending = rules.score_run(c, 1, best)
    assert pending.pending == 1 and pending.total < 100 and pending.auto_total == 100
    half = rules.score_run(c, 1, best, marks={"tell_once": 3})
    assert pending.total < half.total < 100


def test_pick_fraction():
    assert rules.pick_fraction({"a", "b"}, {"a", "b"}, 5) == 1
    assert rules.pick_fraction({"a", "b"}, {"a"}, 5) == 0.5
    assert rules.pick_fraction({"a", "b"}, {"a", "c"}, 5) == 0
    assert rules.pick_fraction({"a", "b"}, {"c", "d", "e"}, 5) == 0


def test_weighted_total_uses_rubric_weights(case):
    c = rules.Case(case)
    score = rules.Score  # noqa: F841 (type only)
    percent, total = rules._weighted_percent(
        {"业务知识": 10, "服务规范": 0, "应急处置": 5},
        {"业务知识": 10, "服务规范": 10, "应急处置": 10},
        c.weights,
    )
    assert percent == {"业务知识": 100.0, "服务规范": 0.0, "应急处置": 50.0}
    assert total == pytest.approx(40 + 0 + 15)


def test_a_step_scores_only_on_its_first_visit(case):
    c = rules.Case(case)
    taken = rules.take_step(c, "first_reply", "comfort_local", 0)
    once = [rules.PathStep("first_reply", "comfort_local", taken)]
    twice = once * 3
    assert rules.score_run(c, 0, once).points == rules.score_run(c, 0, twice).points


def test_choice_refuses_an_option_not_offered(case):
    c = rules.Case(case)
    with pytest.raises(kinds.StepInputError):
        rules.take_step(c, "first_reply", "no_such_option", 0)


def test_check_mark_bounds():
    assert rules.check_mark("4.5", 6) == 4.5
    for bad in ("-1", "7", "abc", "2.3"):
        with pytest.raises(ValueError):
            rules.check_mark(bad, 6)


def test_registry_complete_and_a_missing_kind_is_reported():
    assert kinds.check_registry() == []
    assert kinds.check_registry({"quiz"}) == ["quiz"]
