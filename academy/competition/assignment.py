"""Assign judges to candidates — pure, no database.

Each candidate is marked by ``per_candidate`` distinct judges, never by a judge whose home
township is the candidate's own (conflict of interest), with the load spread as evenly as
the constraints allow: the largest number of candidates any judge marks is the smallest
possible (found by a maximum flow for each trial load, binary-searched), and the order of
ties is shuffled by a seed so that a draw is random but reproducible.

Infeasible constraints raise :class:`AssignmentInfeasible` carrying every reason found
(in Chinese, naming the candidates), never a partial assignment.
"""

from __future__ import annotations

import math
import random
from collections import deque
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass


class AssignmentInfeasible(ValueError):
    def __init__(self, reasons: Sequence[str]):
        super().__init__("；".join(reasons))
        self.reasons = list(reasons)


@dataclass(frozen=True)
class Person:
    """A candidate (``township`` = where they serve) or a judge (``township`` = home
    township, None for a judge with no township, e.g. from a county department)."""

    key: Hashable
    township: Hashable | None
    label: str = ""

    @property
    def name(self) -> str:
        return self.label or str(self.key)


def eligible(candidate: Person, judge: Person) -> bool:
    return judge.township is None or judge.township != candidate.township


class _Flow:
    """Dinic's maximum flow on a small graph (a few thousand edges)."""

    def __init__(self, n: int):
        self.n = n
        self.graph: list[list[int]] = [[] for _ in range(n)]
        self.to: list[int] = []
        self.cap: list[int] = []

    def add(self, u: int, v: int, c: int) -> int:
        self.graph[u].append(len(self.to))
        self.to.append(v)
        self.cap.append(c)
        self.graph[v].append(len(self.to))
        self.to.append(u)
        self.cap.append(0)
        return len(self.to) - 2

    def max_flow(self, s: int, t: int) -> int:
        flow = 0
        while True:
            level = [-1] * self.n
            level[s] = 0
            queue = deque([s])
            while queue:
                u = queue.popleft()
                for e in self.graph[u]:
                    if self.cap[e] > 0 and level[self.to[e]] < 0:
                        level[self.to[e]] = level[u] + 1
                        queue.append(self.to[e])
            if level[t] < 0:
                return flow
            it = [0] * self.n
            while True:
                pushed = self._push(s, t, math.inf, level, it)
                if not pushed:
                    break
                flow += pushed

    def _push(self, s: int, t: int, limit: float, level: list[int], it: list[int]) -> int:
        # Iterative DFS along the level graph; returns the bottleneck pushed (0 if none).
        path: list[int] = []
        u = s
        while True:
            if u == t:
                pushed = min(self.cap[e] for e in path)
                for e in path:
                    self.cap[e] -= pushed
                    self.cap[e ^ 1] += pushed
                return int(pushed)
            edges = self.graph[u]
            while it[u] < len(edges):
                e = edges[it[u]]
                v = self.to[e]
                if self.cap[e] > 0 and level[v] == level[u] + 1:
                    break
                it[u] += 1
            else:
                if not path:
                    return 0
                level[u] = -1  # dead end: prune
                e = path.pop()
                u = self.to[e ^ 1]
                it[u] += 1
                continue
            path.append(edges[it[u]])
            u = self.to[edges[it[u]]]


def assign_judges(
    candidates: Sequence[Person],
    judges: Sequence[Person],
    per_candidate: int = 3,
    *,
    seed: int = 0,
    max_load: int | None = None,
) -> dict[Hashable, list[Hashable]]:
    """Return ``{candidate key: [judge keys]}`` (each list sorted by the judges' order).

    Raises AssignmentInfeasible with every reason when it cannot be done.
    """
    reasons: list[str] = []
    if per_candidate < 1:
        reasons.append("每名选手的评委人数至少为 1")
    if len({j.key for j in judges}) != len(judges):
        reasons.append("评委名单有重复")
    if len({c.key for c in candidates}) != len(candidates):
        reasons.append("选手名单有重复")
    if reasons:
        raise AssignmentInfeasible(reasons)
    if not candidates:
        return {}
    for c in candidates:
        n = sum(eligible(c, j) for j in judges)
        if n < per_candidate:
            reasons.append(
                f"选手 {c.name}：本镇街以外的评委只有 {n} 名，少于每人需要的 {per_candidate} 名"
            )
    total = per_candidate * len(candidates)
    if max_load is not None and max_load * len(judges) < total:
        reasons.append(
            f"{len(judges)} 名评委每人最多评 {max_load} 名，共 {max_load * len(judges)} 人次，"
            f"少于需要的 {total} 人次"
        )
    if reasons:
        raise AssignmentInfeasible(reasons)

    rng = random.Random(seed)
    cands = list(candidates)
    jlist = list(judges)
    rng.shuffle(cands)
    rng.shuffle(jlist)
    low = max(1, math.ceil(total / len(jlist)))
    high = max_load if max_load is not None else len(cands)
    best: dict[Hashable, list[Hashable]] | None = None
    while low <= high:
        mid = (low + high) // 2
        result = _try(cands, jlist, per_candidate, mid)
        if result is None:
            low = mid + 1
        else:
            best, high = result, mid - 1
    if best is None:
        raise AssignmentInfeasible(
            [f"在每名评委最多评 {max_load} 名选手的限制下无法为每名选手安排 {per_candidate} 名评委"]
        )
    _even_out(best, cands, jlist)
    order = {j.key: i for i, j in enumerate(judges)}
    return {c.key: sorted(best[c.key], key=order.__getitem__) for c in candidates}


def _try(cands: list[Person], judges: list[Person], per: int, load: int):
    nc, nj = len(cands), len(judges)
    source, sink = nc + nj, nc + nj + 1
    flow = _Flow(nc + nj + 2)
    pair_edges: list[tuple[int, int, int]] = []
    for ci, c in enumerate(cands):
        flow.add(source, ci, per)
        for ji, j in enumerate(judges):
            if eligible(c, j):
                pair_edges.append((flow.add(ci, nc + ji, 1), ci, ji))
    for ji in range(nj):
        flow.add(nc + ji, sink, load)
    if flow.max_flow(source, sink) < per * nc:
        return None
    out: dict[Hashable, list[Hashable]] = {c.key: [] for c in cands}
    for edge, ci, ji in pair_edges:
        if flow.cap[edge] == 0:
            out[cands[ci].key].append(judges[ji].key)
    return out


def _even_out(
    assignment: dict[Hashable, list[Hashable]], cands: list[Person], judges: list[Person]
) -> None:
    """Move single marks from the busiest judges to the least busy while it narrows the
    spread (the flow fixed the maximum; this lifts the minimum)."""
    by_key = {c.key: c for c in cands}
    judge_by_key = {j.key: j for j in judges}
    load = {j.key: 0 for j in judges}
    for js in assignment.values():
        for j in js:
            load[j] += 1
    while True:
        moved = False
        for low_key in sorted(load, key=load.__getitem__):
            low = judge_by_key[low_key]
            for high_key in sorted(load, key=load.__getitem__, reverse=True):
                if load[high_key] - load[low_key] <= 1:
                    break
                for ck, js in assignment.items():
                    if high_key in js and low_key not in js and eligible(by_key[ck], low):
                        js[js.index(high_key)] = low_key
                        load[high_key] -= 1
                        load[low_key] += 1
                        moved = True
                        break
                if moved:
                    break
            if moved:
                break
        if not moved:
            return


def loads(assignment: Mapping[Hashable, Sequence[Hashable]]) -> dict[Hashable, int]:
    out: dict[Hashable, int] = {}
    for judges in assignment.values():
        for j in judges:
            out[j] = out.get(j, 0) + 1
    return out
