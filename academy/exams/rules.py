"""Pure exam rules: effective settings with overrides, when an attempt may start and must
end, the random draw that meets the blueprint (preferring unseen questions), totals and
review. No database, no request; every time is explicit (naive UTC, like the models)."""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

DIFFICULTY_KEYS = ("1", "2", "3", "any")
DIFFICULTY_LABELS = {"1": "容易", "2": "中等", "3": "较难", "any": "不限难度"}


# --- settings and overrides ----------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    time_limit_minutes: int | None
    opens_at: datetime | None
    closes_at: datetime | None
    attempts_allowed: int | None  # None: unlimited


@dataclass(frozen=True)
class Override:
    scope: str  # "agent" or "township"
    reason: str
    extra_minutes: int | None = None
    opens_at: datetime | None = None
    closes_at: datetime | None = None
    extra_attempts: int | None = None


@dataclass(frozen=True)
class Effective:
    """The settings in force for one candidate, and where each one came from."""

    settings: Settings
    sources: Mapping[str, str] = field(default_factory=dict)  # field -> "exam"|"township"|"agent"
    reasons: tuple[str, ...] = ()

    def as_dict(self) -> dict:
        s = self.settings
        return {
            "time_limit_minutes": s.time_limit_minutes,
            "opens_at": s.opens_at.isoformat() if s.opens_at else None,
            "closes_at": s.closes_at.isoformat() if s.closes_at else None,
            "attempts_allowed": s.attempts_allowed,
            "sources": dict(self.sources),
            "reasons": list(self.reasons),
        }


def effective_settings(
    base: Settings, township: Override | None = None, agent: Override | None = None
) -> Effective:
    """Field by field, the most specific override that sets a field wins: an agent's over
    their township's over the exam's own. Extra minutes and attempts add to the exam's
    (an exam without a limit stays without one; unlimited attempts stay unlimited)."""
    sources = dict.fromkeys(
        ("time_limit_minutes", "opens_at", "closes_at", "attempts_allowed"), "exam"
    )
    reasons: list[str] = []
    settings = base

    def pick(attr: str):
        for o in (agent, township):
            if o is not None and getattr(o, attr) is not None:
                return o
        return None

    o = pick("extra_minutes")
    if o is not None and base.time_limit_minutes is not None:
        settings = replace(settings, time_limit_minutes=base.time_limit_minutes + o.extra_minutes)
        sources["time_limit_minutes"] = o.scope
    for attr in ("opens_at", "closes_at"):
        o = pick(attr)
        if o is not None:
            settings = replace(settings, **{attr: getattr(o, attr)})
            sources[attr] = o.scope
    o = pick("extra_attempts")
    if o is not None and base.attempts_allowed is not None:
        settings = replace(settings, attempts_allowed=base.attempts_allowed + o.extra_attempts)
        sources["attempts_allowed"] = o.scope
    for o in (agent, township):
        if o is not None and o.scope in sources.values() and o.reason not in reasons:
            reasons.append(o.reason)
    return Effective(settings, sources, tuple(reasons))


def start_problem(
    eff: Settings, now: datetime, attempts_used: int, has_open_attempt: bool = False
) -> str | None:
    """Why the candidate cannot start a new attempt now, or None."""
    if has_open_attempt:
        return None  # they resume it instead
    if eff.opens_at is not None and now < eff.opens_at:
        return f"考试尚未开始，开放时间：{fmt(eff.opens_at)}。"
    if eff.closes_at is not None and now >= eff.closes_at:
        return f"考试已于 {fmt(eff.closes_at)} 截止。"
    if eff.attempts_allowed is not None and attempts_used >= eff.attempts_allowed:
        return f"作答次数已用完（共 {eff.attempts_allowed} 次）。"
    return None


def attempt_deadline(started_at: datetime, eff: Settings) -> datetime | None:
    """When the attempt ends: the time limit after the start, but never after closing."""
    ends = [
        t
        for t in (
            started_at + timedelta(minutes=eff.time_limit_minutes)
            if eff.time_limit_minutes
            else None,
            eff.closes_at,
        )
        if t is not None
    ]
    return min(ends) if ends else None


def is_overdue(deadline: datetime | None, now: datetime) -> bool:
    return deadline is not None and now >= deadline


def seconds_left(deadline: datetime | None, now: datetime) -> int | None:
    if deadline is None:
        return None
    return max(0, int((deadline - now).total_seconds()))


def reopen_deadline(now: datetime, minutes: int) -> datetime:
    return now + timedelta(minutes=minutes)


def fmt(moment: datetime) -> str:
    """A UTC time as Beijing time for messages (the county works in UTC+8)."""
    from academy.timefmt import local_time

    return local_time(moment)


# --- the draw ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cell:
    """One demand of the blueprint: ``count`` questions out of ``pool`` (question ids)."""

    section: int  # index of the section in the blueprint
    key: str  # difficulty key, or "fixed"
    count: int
    pool: tuple[int, ...]


class DrawError(ValueError):
    """A cell cannot be filled: its pool is too small, or (``overlap``) big enough alone but
    not once other cells have taken the questions they share with it."""

    def __init__(self, cell: Cell, available: int, overlap: bool = False) -> None:
        super().__init__(f"section {cell.section} {cell.key}: {cell.count} > {available}")
        self.cell = cell
        self.available = available
        self.overlap = overlap


def draw(cells: Sequence[Cell], last_seen: Mapping[int, float], seed: int) -> list[list[int]]:
    """The questions of one attempt: for every cell ``count`` distinct questions of its pool,
    no question twice in the attempt. Preference: questions the candidate has never seen
    (in random order), then the least recently seen (``last_seen``: question id -> when,
    any increasing number). The same cells, history and seed give the same draw.

    Cells are served most constrained first; when a cell finds its pool taken, questions are
    moved between cells along an augmenting path (bipartite matching), so a draw is found
    whenever one exists. Raises DrawError for a cell that cannot be filled."""
    rng = random.Random(seed)
    every = sorted({q for c in cells for q in c.pool})
    tiebreak = {q: rng.random() for q in every}

    def preference(q: int) -> tuple:
        seen = last_seen.get(q)
        return (0, 0.0, tiebreak[q]) if seen is None else (1, seen, tiebreak[q])

    ranked = [sorted(set(c.pool), key=preference) for c in cells]
    order = sorted(range(len(cells)), key=lambda i: (len(ranked[i]) - cells[i].count, i))
    owner: dict[int, int] = {}  # question -> slot
    slot_cell: list[int] = []
    for i in order:
        cell = cells[i]
        if cell.count > len(ranked[i]):
            raise DrawError(cell, len(ranked[i]))
        for _ in range(cell.count):
            slot = len(slot_cell)
            slot_cell.append(i)
            if not _assign(slot, ranked, slot_cell, owner, set()):
                raise DrawError(cell, len(ranked[i]), overlap=True)
    chosen: list[list[int]] = [[] for _ in cells]
    for q, slot in owner.items():
        chosen[slot_cell[slot]].append(q)
    for qs in chosen:
        qs.sort(key=preference)
    return chosen


def _assign(slot, ranked, slot_cell, owner, visited) -> bool:
    for q in ranked[slot_cell[slot]]:
        if q in visited:
            continue
        visited.add(q)
        holder = owner.get(q)
        if holder is None or _assign(holder, ranked, slot_cell, owner, visited):
            owner[q] = slot
            return True
    return False


def arrange(sections: Sequence[Sequence[int]], shuffle: bool, seed: int) -> list[int]:
    """The order the candidate sees: section by section; within a section shuffled (from the
    seed) or by question id."""
    rng = random.Random(f"arrange:{seed}")
    out: list[int] = []
    for qs in sections:
        part = sorted(qs)
        if shuffle:
            rng.shuffle(part)
        out.extend(part)
    return out


# --- totals and review ---------------------------------------------------------------------


@dataclass(frozen=True)
class Totals:
    score: float
    max_score: float
    pending: int  # answers still to be marked by an expert

    @property
    def percent(self) -> float:
        return round(100.0 * self.score / self.max_score, 2) if self.max_score else 0.0


def totals(answers: Sequence[tuple[float | None, float]]) -> Totals:
    """``answers``: (score or None when not yet marked, points) per drawn question."""
    score = sum(s for s, _ in answers if s is not None)
    return Totals(
        round(score, 4), sum(p for _, p in answers), sum(1 for s, _ in answers if s is None)
    )


def passed(percent: float, pass_percent: float) -> bool:
    return percent + 1e-9 >= pass_percent


def review_allowed(
    review_when: str, finished: bool, closes_at: datetime | None, now: datetime
) -> bool:
    if review_when == "never" or not finished:
        return False
    if review_when == "after_close":
        return closes_at is None or now >= closes_at
    return True


def check_counts(counts: Mapping[str, object]) -> list[str]:
    """Problems of a section's difficulty counts (from a form or a stored blueprint)."""
    problems = []
    for key, value in counts.items():
        if key not in DIFFICULTY_KEYS:
            problems.append(f"未知的难度“{key}”")
        elif not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 200:
            problems.append(f"{DIFFICULTY_LABELS[key]}的题数应为 0–200 的整数")
    return problems
