"""Pure rules of simulation cases: validating a case file (fields and graph), the best path,
scoring a run over the three dimensions, and the debrief. No database, no request."""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from academy.simulations.kinds import (
    DIMENSIONS,
    EVENTS,
    ID_RE,
    MODULE_SECTIONS,
    OUTCOMES,
    STEP_KINDS,
    Checker,
    Complication,
    Context,
    Taken,
)

TOP_KEYS = {
    "slug",
    "title",
    "items",
    "summary",
    "setting",
    "persona",
    "rubric",
    "tell_once",
    "start",
    "steps",
}
REQUIRED = ("slug", "title", "items", "summary", "persona", "rubric", "tell_once", "steps")
SETTINGS = {
    "station": "村民来服务站",
    "phone": "村民打电话来",
    "home": "上门走访",
    "market": "赶场日",
}
PHONES = {"none": "没有手机", "basic": "老人机", "smart": "智能手机"}
GENDERS = ("female", "male")
SEARCH_LIMIT = 200_000  # steps explored when looking for the best path


def pick_fraction(right: set[str], picked: set[str], n_options: int) -> float:
    """Share of a pick step's points: right picks minus wrong picks over the right ones,
    never below 0 (asking for a wrong paper costs the villager a trip too)."""
    if not right:
        return 0.0
    hits = len(right & picked)
    wrong = len(picked - right)
    return max(0.0, (hits - wrong) / len(right))


# --- validation ---------------------------------------------------------------------------------


def check_case(path: str, data: Any, item_slugs: set[str]) -> list:
    """Every problem of a case file at once, as Problems ``path: step id: reason``."""
    c = Checker(path)
    if not isinstance(data, dict):
        c.add("(文件)", "文件顶层应为映射（键: 值）")
        return c.problems
    for key in REQUIRED:
        if key not in data or data[key] in (None, "", []):
            c.add(key, "缺少必填字段")
    for key in sorted(set(data) - TOP_KEYS, key=str):
        c.add(str(key), "未知字段")
    slug = data.get("slug")
    if slug is not None and (not isinstance(slug, str) or not _slug_ok(slug)):
        c.add("slug", "应为小写英文字母、数字和连字符组成的标识")
    for key in ("title", "summary"):
        if key in data:
            c.text(data, key, "(案例)")
    items = data.get("items")
    if items is not None:
        if not isinstance(items, list) or not items:
            c.add("items", "应为事项标识（slug）的列表，至少 1 个")
        else:
            for i, ref in enumerate(items):
                if not isinstance(ref, str) or ref not in item_slugs:
                    c.add(f"items[{i}]", f"事项 “{ref}” 不在目录 courses/catalogue.yaml 中")
    if data.get("setting", "station") not in SETTINGS:
        c.add("setting", f"应为：{'、'.join(SETTINGS)}")
    _check_persona(c, data.get("persona"))
    _check_rubric(c, data.get("rubric"))
    tell = data.get("tell_once")
    if tell is not None and c.listing(tell, "tell_once", 2, 12):
        for i, line in enumerate(tell):
            if not isinstance(line, str) or not line.strip():
                c.add(f"tell_once[{i}]", "应为非空文本（要一次告知村民的一件事）")
    steps = data.get("steps")
    if isinstance(steps, list) and steps:
        _check_steps(c, data, steps, item_slugs)
    elif steps is not None:
        c.add("steps", "应为步骤列表")
    return c.problems


def _slug_ok(slug: str) -> bool:
    from academy.content.catalogue import SLUG_RE

    return bool(SLUG_RE.match(slug))


def _check_persona(c: Checker, persona: Any) -> None:
    if persona is None:
        return
    if not isinstance(persona, dict):
        c.add("persona", "应为映射（name、age、situation …）")
        return
    for key in ("name", "situation", "literacy", "temperament"):
        c.text(persona, key, "persona")
    age = persona.get("age")
    if isinstance(age, bool) or not isinstance(age, int) or not 16 <= age <= 110:
        c.add("persona.age", "年龄应为 16–110 的整数")
    if persona.get("phone") not in PHONES:
        c.add("persona.phone", f"应为：{'、'.join(PHONES)}（{'、'.join(PHONES.values())}）")
    if persona.get("gender") not in GENDERS:
        c.add("persona.gender", "应为 female 或 male（用于画头像）")
    details = persona.get("details")
    if details is not None and c.listing(details, "persona.details", 1, 8):
        for i, d in enumerate(details):
            if not isinstance(d, str) or not d.strip():
                c.add(f"persona.details[{i}]", "应为非空文本")


def _check_rubric(c: Checker, rubric: Any) -> None:
    if rubric is None:
        return
    if not isinstance(rubric, dict) or not isinstance(rubric.get("weights"), dict):
        c.add("rubric.weights", "应写三个维度的权重，如 {业务知识: 40, 服务规范: 30, 应急处置: 30}")
        return
    weights = rubric["weights"]
    for dim in weights:
        if dim not in DIMENSIONS:
            c.add(f"rubric.weights.{dim}", f"未知维度，应为：{'、'.join(DIMENSIONS)}")
    values = list(weights.values())
    if any(isinstance(w, bool) or not isinstance(w, int) or w < 0 for w in values):
        c.add("rubric.weights", "权重应为非负整数")
    elif sum(values) != 100:
        c.add("rubric.weights", f"权重之和应为 100，现为 {sum(values)}")
    pass_mark = rubric.get("pass", 60)
    if isinstance(pass_mark, bool) or not isinstance(pass_mark, int) or not 0 < pass_mark <= 100:
        c.add("rubric.pass", "及格分应为 1–100 的整数")


def _check_steps(c: Checker, data: dict, steps: list, item_slugs: set[str]) -> None:
    ids: dict[str, int] = {}
    valid: dict[str, dict] = {}
    for i, step in enumerate(steps):
        if not isinstance(step, dict):
            c.add(f"steps[{i}]", "应为映射（id、kind …）")
            continue
        sid = step.get("id")
        if not isinstance(sid, str) or not ID_RE.match(sid):
            c.add(f"steps[{i}].id", "应为小写字母开头的标识，如 greet、ask_materials")
            continue
        if sid in ids:
            c.add(sid, f"步骤标识重复（第 {ids[sid] + 1} 步已用）")
            continue
        ids[sid] = i
        kind = STEP_KINDS.get(step.get("kind"))
        if kind is None:
            known = "、".join(STEP_KINDS)
            c.add(f"{sid}.kind", f"未知步骤类型 “{step.get('kind')}”，可选：{known}")
            continue
        before = len(c.problems)
        kind.check(c, step, sid)
        _check_learn(c, step.get("learn"), f"{sid}.learn", data.get("items"), item_slugs)
        if len(c.problems) == before:
            valid[sid] = step
    start = data.get("start", steps[0].get("id") if isinstance(steps[0], dict) else None)
    if start not in ids:
        c.add("start", f"起始步骤 “{start}” 不存在")
        return
    if len(valid) != len(ids):
        return  # graph checks need every step readable
    _check_graph(c, start, valid)


def _check_learn(c: Checker, learn: Any, where: str, items: Any, item_slugs: set[str]) -> None:
    """``learn: <item-slug>#<section>`` or ``#<section>`` (the case's first item)."""
    if learn is None:
        return
    if not isinstance(learn, str) or "#" not in learn:
        c.add(where, "应写成 事项标识#章节，如 resident-pension-death-benefit#mistakes")
        return
    slug, section = learn.split("#", 1)
    if slug and slug not in item_slugs:
        c.add(where, f"事项 “{slug}” 不在目录中")
    if not slug and not (isinstance(items, list) and items):
        c.add(where, "案例没有 items，请写出事项标识")
    if section not in MODULE_SECTIONS:
        c.add(where, f"章节应为：{'、'.join(MODULE_SECTIONS)}")


def graph_edges(steps: Mapping[str, dict]) -> dict[str, list[str]]:
    return {sid: STEP_KINDS[s["kind"]].targets(s) for sid, s in steps.items()}


def _check_graph(c: Checker, start: str, steps: dict[str, dict]) -> None:
    edges = graph_edges(steps)
    for sid, targets in edges.items():
        for t in targets:
            if t not in steps:
                c.add(sid, f"下一步 “{t}” 不存在")
    if c.problems:
        return
    reachable = _reach(start, edges)
    for sid in steps:
        if sid not in reachable:
            c.add(sid, "从起始步骤走不到这一步（多余的步骤）")
    ends = {sid for sid, s in steps.items() if s["kind"] == "end"}
    reverse: dict[str, list[str]] = {sid: [] for sid in steps}
    for sid, targets in edges.items():
        for t in targets:
            reverse[t].append(sid)
    can_end: set[str] = set()
    todo = list(ends)
    while todo:
        sid = todo.pop()
        if sid in can_end:
            continue
        can_end.add(sid)
        todo.extend(reverse[sid])
    for sid in sorted(reachable - can_end, key=list(steps).index):
        if not edges[sid]:
            c.add(sid, "死路：这一步没有下一步，也不是结局")
        elif sid in _reach_from_targets(sid, edges):
            c.add(sid, "循环没有出口：从这里走不到任何结局")
        else:
            c.add(sid, "从这里走不到任何结局")
    if not any(steps[e]["outcome"] == "solved" and e in reachable for e in ends):
        c.add("steps", "没有“一次办结”（outcome: solved）的结局")


def _reach(start: str, edges: Mapping[str, list[str]]) -> set[str]:
    seen: set[str] = set()
    todo = [start]
    while todo:
        sid = todo.pop()
        if sid in seen:
            continue
        seen.add(sid)
        todo.extend(edges.get(sid, []))
    return seen


def _reach_from_targets(sid: str, edges: Mapping[str, list[str]]) -> set[str]:
    out: set[str] = set()
    for t in edges[sid]:
        out |= _reach(t, edges)
    return out


def graph_problems(steps: Mapping[str, dict], start: str) -> dict[str, str]:
    """Step id → why it is drawn in red (unreachable, dead end, cycle without exit)."""
    c = Checker("")
    _check_graph(c, start, dict(steps))
    return {p.field: p.reason for p in c.problems if p.field in steps}


# --- the case as the engine sees it --------------------------------------------------------------


@dataclass
class Case:
    doc: dict
    # Results that depend only on the document and the draws (the best path): a Case kept
    # for a version (services) computes each once. Never part of the case's value.
    memo: dict = field(default_factory=dict, repr=False, compare=False)

    @cached_property
    def steps(self) -> dict[str, dict]:
        """Step id → step (built once: ``step`` is asked for on every move)."""
        return {s["id"]: s for s in self.doc["steps"]}

    @cached_property
    def before_an_end(self) -> frozenset[str]:
        """Ids of the steps from which some way out reaches an end (whose step may finish
        the run and have it scored)."""
        return frozenset(
            sid
            for sid, step in self.steps.items()
            if any(
                self.steps.get(t, {}).get("kind") == "end"
                for t in STEP_KINDS[step["kind"]].targets(step)
            )
        )

    @property
    def start(self) -> str:
        return self.doc.get("start") or self.doc["steps"][0]["id"]

    @property
    def weights(self) -> dict[str, int]:
        w = self.doc["rubric"]["weights"]
        return {d: int(w.get(d, 0)) for d in DIMENSIONS}

    @property
    def pass_mark(self) -> int:
        return int(self.doc["rubric"].get("pass", 60))

    def step(self, sid: str) -> dict:
        return self.steps[sid]

    def persona_detail(self, seed: int) -> str | None:
        details = self.doc["persona"].get("details") or []
        return details[Context(seed).draw("persona", len(details))] if details else None

    def drawn_events(self, seed: int) -> dict[str, str]:
        ctx = Context(seed)
        return {
            sid: Complication.drawn(s, ctx)["id"]
            for sid, s in self.steps.items()
            if s["kind"] == "complication"
        }


@dataclass
class PathStep:
    step_id: str
    response: Any
    taken: Taken


def take_step(case: Case, sid: str, response: Any, seed: int) -> Taken:
    step = case.step(sid)
    return STEP_KINDS[step["kind"]].take(step, response, Context(seed))


def weighted(points: Mapping[str, float], weights: Mapping[str, int]) -> float:
    return sum(points.get(d, 0.0) * weights.get(d, 0) for d in DIMENSIONS)


def _sum_first_visits(path: Sequence[PathStep]) -> dict[str, float]:
    total = {d: 0.0 for d in DIMENSIONS}
    seen: set[str] = set()
    for p in path:
        if p.step_id in seen:
            continue
        seen.add(p.step_id)
        for d, v in p.taken.points.items():
            total[d] += v
    return total


def _full_points(case: Case, path: Sequence[PathStep]) -> dict[str, float]:
    """Points of a path with free-text replies counted at full marks (the best one can do)."""
    total = {d: 0.0 for d in DIMENSIONS}
    seen: set[str] = set()
    for p in path:
        if p.step_id in seen:
            continue
        seen.add(p.step_id)
        step = case.step(p.step_id)
        pts = STEP_KINDS[step["kind"]].max_points(step) if p.taken.pending else p.taken.points
        for d, v in pts.items():
            total[d] += v
    return total


def extreme_path(case: Case, seed: int, best: bool = True) -> list[PathStep]:
    """The best (or worst) simple path from the start to an end for this run's draws: the
    highest weighted points (free text at full marks), then a solved outcome, then fewest
    steps. Weighed backwards from the ends (a search over simple paths where the graph has a
    cycle). The seed matters only through the complications it draws: the result is kept per
    draw."""
    memo_key = ("extreme", best, tuple(sorted(case.drawn_events(seed).items())))
    if memo_key not in case.memo:
        case.memo[memo_key] = _extreme_path(case, seed, best)
    return list(case.memo[memo_key])


_RANK = {"solved": 2, "second_trip": 1, "failed": 0}


def _path_key(
    points: Mapping[str, float], outcome: str | None, length: int, case: Case, best: bool
) -> tuple:
    """How good a path (or the rest of one) is: weighted points (free text at full marks),
    then the outcome, then fewer steps. Rounded so that the order in which points were added
    up (forwards in the search, backwards in the walk) never decides between equal paths."""
    w = round(weighted(points, case.weights), 9)
    rank = _RANK.get(outcome, 0)
    return (w, rank, -length) if best else (-w, -rank, -length)


class _Cycle(Exception):
    """The draws' graph has a cycle: the best path is a search over simple paths."""


def _extreme_path(case: Case, seed: int, best: bool) -> list[PathStep]:
    try:
        return _extreme_path_acyclic(case, seed, best)
    except _Cycle:
        return _extreme_path_search(case, seed, best)


def _extreme_path_acyclic(case: Case, seed: int, best: bool) -> list[PathStep]:
    """On a graph without cycles (every shipped case), the best way on from a step does not
    depend on how one got there: each step is weighed once, from the ends backwards
    (linear in the steps and their ways out). The same path as the search: among equally
    good ways out, the first offered (the search keeps the first it finds)."""
    ctx = Context(seed)
    steps = case.steps
    # step id → (points, outcome, length, path) of the best way from there to an end
    done: dict[str, tuple[dict[str, float], str | None, int, list[PathStep]] | None] = {}
    open_: set[str] = set()

    def rest(sid: str):
        if sid in done:
            return done[sid]
        if sid in open_:
            raise _Cycle(sid)
        open_.add(sid)
        step = steps[sid]
        kind = STEP_KINDS[step["kind"]]
        if step["kind"] == "end":
            taken = kind.take(step, None, ctx)
            result = (dict(taken.points), step.get("outcome"), 1, [PathStep(sid, None, taken)])
        else:
            result, result_key = None, None
            for response, taken in kind.alternatives(step, ctx):
                if taken.next is None:
                    continue
                on = rest(taken.next)
                if on is None:
                    continue
                here = kind.max_points(step) if taken.pending else taken.points
                points = dict(on[0])
                for d, v in here.items():
                    points[d] = points.get(d, 0.0) + v
                candidate = (points, on[1], on[2] + 1, [PathStep(sid, response, taken), *on[3]])
                candidate_key = _path_key(points, on[1], on[2] + 1, case, best)
                if result_key is None or candidate_key > result_key:
                    result, result_key = candidate, candidate_key
        open_.discard(sid)
        done[sid] = result
        return result

    found = rest(case.start)
    return found[3] if found else []


def _extreme_path_search(case: Case, seed: int, best: bool) -> list[PathStep]:
    """Exhaustive over simple paths (for a graph with cycles; capped at SEARCH_LIMIT)."""
    ctx = Context(seed)
    steps = case.steps
    found: list[tuple[tuple, list[PathStep]]] = []
    budget = [SEARCH_LIMIT]

    def key(path: list[PathStep]) -> tuple:
        outcome = steps[path[-1].step_id].get("outcome")
        return _path_key(_full_points(case, path), outcome, len(path), case, best)

    def walk(sid: str, path: list[PathStep], on_path: set[str]) -> None:
        budget[0] -= 1
        if budget[0] < 0:
            return
        step = steps[sid]
        kind = STEP_KINDS[step["kind"]]
        if step["kind"] == "end":
            done = [*path, PathStep(sid, None, kind.take(step, None, ctx))]
            found.append((key(done), done))
            return
        for response, taken in kind.alternatives(step, ctx):
            if taken.next in on_path or taken.next is None:
                continue
            walk(
                taken.next,
                [*path, PathStep(sid, response, taken)],
                on_path | {taken.next},
            )

    walk(case.start, [], {case.start})
    if not found:
        return []
    return max(found, key=lambda f: f[0])[1]


def random_path(case: Case, seed: int, rng: random.Random, limit: int = 200) -> list[PathStep]:
    ctx = Context(seed)
    sid = case.start
    path: list[PathStep] = []
    for _ in range(limit):
        step = case.step(sid)
        kind = STEP_KINDS[step["kind"]]
        if step["kind"] == "end":
            path.append(PathStep(sid, None, kind.take(step, None, ctx)))
            break
        response, taken = rng.choice(kind.alternatives(step, ctx))
        path.append(PathStep(sid, response, taken))
        sid = taken.next
    return path


# --- scoring -----------------------------------------------------------------------------------


@dataclass
class Score:
    points: dict[str, float]  # got, per dimension (expert marks included)
    maximum: dict[str, float]  # of the best path, per dimension
    percent: dict[str, float | None]  # per dimension, 0..100 (None: not tested in this case)
    total: float  # weighted, 0..100
    pending: int  # free-text replies not yet marked
    auto_points: dict[str, float] = field(default_factory=dict)
    auto_maximum: dict[str, float] = field(default_factory=dict)
    auto_total: float = 0.0  # the same over the automatically scored steps only

    @property
    def final(self) -> bool:
        return self.pending == 0


def _weighted_percent(
    got: Mapping[str, float], maximum: Mapping[str, float], weights: Mapping[str, int]
) -> tuple[dict[str, float | None], float]:
    percent: dict[str, float | None] = {}
    total_w = 0
    acc = 0.0
    for d in DIMENSIONS:
        m = maximum.get(d, 0.0)
        if m <= 0:
            percent[d] = None
            continue
        p = max(0.0, min(1.0, got.get(d, 0.0) / m))
        percent[d] = round(p * 100, 1)
        total_w += weights.get(d, 0)
        acc += p * weights.get(d, 0)
    return percent, round(acc / total_w * 100, 1) if total_w else 0.0


def score_run(
    case: Case,
    seed: int,
    path: Sequence[PathStep],
    marks: Mapping[str, float] | None = None,
) -> Score:
    """Score of a run's path. ``marks``: step id → expert points of a free-text reply."""
    marks = marks or {}
    best = extreme_path(case, seed, best=True)
    maximum = _full_points(case, best)
    got = {d: 0.0 for d in DIMENSIONS}
    auto = {d: 0.0 for d in DIMENSIONS}
    auto_max = {d: 0.0 for d in DIMENSIONS}
    pending = 0
    seen: set[str] = set()
    for p in best:
        step = case.step(p.step_id)
        if step["kind"] != "free_text":
            for d, v in p.taken.points.items():
                auto_max[d] += v
    for p in path:
        if p.step_id in seen:
            continue
        seen.add(p.step_id)
        if p.taken.pending:
            step = case.step(p.step_id)
            if p.step_id in marks:
                got[step["dimension"]] += marks[p.step_id]
            else:
                pending += 1
            continue
        for d, v in p.taken.points.items():
            got[d] += v
            auto[d] += v
    percent, total = _weighted_percent(got, maximum, case.weights)
    _, auto_total = _weighted_percent(auto, auto_max, case.weights)
    return Score(
        points={d: round(v, 2) for d, v in got.items()},
        maximum=maximum,
        percent=percent,
        total=total,
        pending=pending,
        auto_points={d: round(v, 2) for d, v in auto.items()},
        auto_maximum=auto_max,
        auto_total=auto_total,
    )


def check_mark(points: Any, maximum: float) -> float:
    """An expert's mark for a free-text reply: a number 0..maximum (half points allowed)."""
    try:
        value = float(points)
    except (TypeError, ValueError):
        raise ValueError("分数应为数字") from None
    if not 0 <= value <= maximum:
        raise ValueError(f"分数应在 0–{maximum:g} 之间")
    if value * 2 != int(value * 2):
        raise ValueError("分数最小单位为 0.5 分")
    return value


# --- debrief -----------------------------------------------------------------------------------


@dataclass
class Mistake:
    step_id: str
    prompt: str
    did: str
    lost: float
    feedback: list[str]
    best: str
    learn: str | None  # "<item-slug>#<section>"


def step_prompt(step: dict) -> str:
    return (
        step.get("prompt")
        or step.get("title")
        or step.get("text")
        or STEP_KINDS[step["kind"]].label
    )


def learn_target(case: Case, step: dict) -> str | None:
    learn = step.get("learn")
    if not learn:
        return None
    slug, section = learn.split("#", 1)
    return f"{slug or case.doc['items'][0]}#{section}"


def mistakes(
    case: Case, seed: int, path: Sequence[PathStep], marks: Mapping[str, float] | None = None
) -> list[Mistake]:
    """Steps where the run lost points against the best that step allowed."""
    marks = marks or {}
    best_by_step = {p.step_id: p for p in extreme_path(case, seed, best=True)}
    out = []
    seen: set[str] = set()
    for p in path:
        step = case.step(p.step_id)
        if p.step_id in seen or not STEP_KINDS[step["kind"]].scored:
            continue
        seen.add(p.step_id)
        full = STEP_KINDS[step["kind"]].max_points(step)
        if p.taken.pending:
            if p.step_id not in marks:
                continue
            got = marks[p.step_id]
        else:
            got = weighted(p.taken.points, {d: 1 for d in DIMENSIONS})
        lost = sum(full.values()) - got
        wrong_choice = step["kind"] == "choice" and not p.taken.correct
        if lost <= 1e-9 and not wrong_choice:
            continue
        out.append(
            Mistake(
                p.step_id,
                step_prompt(step),
                p.taken.label,
                round(max(lost, 0.0), 2),
                p.taken.feedback,
                best_answer(step, best_by_step.get(p.step_id)),
                learn_target(case, step),
            )
        )
    return out


def best_answer(step: dict, best: PathStep | None) -> str:
    kind = step["kind"]
    if kind == "choice":
        opt = next(o for o in step["options"] if o.get("best"))
        return opt["text"]
    if kind in ("materials", "channel"):
        return "、".join(o["text"] for o in step["options"] if o["correct"])
    if kind == "form":
        return "；".join(
            f"{f['label']}：{f.get('expected') or '（可不填）'}" for f in step["fields"]
        )
    if kind == "free_text":
        return step["model_answer"]
    return best.taken.label if best else ""


def outcome_label(outcome: str | None) -> str:
    return OUTCOMES.get(outcome or "", "")


def event_label(event: str) -> str:
    return EVENTS.get(event, event)


def cases_items(docs: Iterable[dict]) -> set[str]:
    return {slug for d in docs for slug in d.get("items", [])}
