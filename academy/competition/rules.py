"""Pure competition rules: marking schemes, aggregation of the panel's marks, moderation
flags, round and competition totals, ranking with the stated tie-break, awards.

No database and no request. Numbers are floats rounded only for display.

Marking follows WorldSkills' two kinds of aspect:
- *measurement*: objective, the judge awards 0 … ``max_points`` points;
- *judgement*: the judge picks a level 0–3, each level with a written descriptor; the
  criterion is worth ``max_points`` and earns ``level / 3 × max_points``.

Panel aggregation per candidate and criterion: the mean of the judges' marks; with at
least ``trim_from`` (5) judges the highest and the lowest mark are dropped first (one of
each, even when several judges gave it). A candidate is flagged for moderation on a
criterion when the panel's marks spread more than the criterion's threshold (judgement:
more than 1 level; measurement: more than 20 % of the maximum, unless set).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

JUDGEMENT_LEVELS = 3  # levels 0..3
DIMENSIONS = ("knowledge", "etiquette", "emergency")
DIMENSION_LABELS = {"knowledge": "业务知识", "etiquette": "服务规范", "emergency": "应急处置"}
DEFAULT_TRIM_FROM = 5
DEFAULT_MEASUREMENT_SPREAD = 0.2  # share of max_points


class CriterionKind(StrEnum):
    MEASUREMENT = "measurement"
    JUDGEMENT = "judgement"


@dataclass(frozen=True)
class Criterion:
    key: Hashable
    kind: CriterionKind
    max_points: float
    dimension: str
    # Judgement: more than this many levels apart flags; measurement: more than this many points.
    spread_limit: float | None = None

    def limit(self) -> float:
        if self.spread_limit is not None:
            return self.spread_limit
        if self.kind == CriterionKind.JUDGEMENT:
            return 1.0
        return DEFAULT_MEASUREMENT_SPREAD * self.max_points

    def valid_mark(self, value: float) -> bool:
        if self.kind == CriterionKind.JUDGEMENT:
            return value in range(JUDGEMENT_LEVELS + 1)
        return 0 <= value <= self.max_points

    def points(self, aggregated: float) -> float:
        if self.kind == CriterionKind.JUDGEMENT:
            return aggregated / JUDGEMENT_LEVELS * self.max_points
        return aggregated


def mark_problem(criterion: Criterion, value: object) -> str | None:
    """Why a judge's mark is refused, in Chinese (None when it is acceptable)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "评分必须是数字"
    if value != value:  # NaN
        return "评分必须是数字"
    if criterion.kind == CriterionKind.JUDGEMENT:
        if value not in range(JUDGEMENT_LEVELS + 1):
            return f"评判类指标只能打 0、1、2、3 级，收到 {value:g}"
        return None
    if not 0 <= value <= criterion.max_points:
        return f"测量类指标的得分应在 0 到 {criterion.max_points:g} 分之间，收到 {value:g}"
    return None


def aggregate(values: Sequence[float], trim_from: int = DEFAULT_TRIM_FROM) -> float:
    """Panel mean; with ``trim_from`` or more marks drop one highest and one lowest."""
    if not values:
        raise ValueError("no marks to aggregate")
    ordered = sorted(values)
    if len(ordered) >= trim_from:
        ordered = ordered[1:-1]
    return sum(ordered) / len(ordered)


def spread(values: Sequence[float]) -> float:
    return max(values) - min(values) if values else 0.0


@dataclass(frozen=True)
class Flag:
    candidate: Hashable
    criterion: Hashable
    marks: tuple[float, ...]
    spread: float
    limit: float


@dataclass
class RoundResult:
    candidate: Hashable
    points: float = 0.0
    max_points: float = 0.0
    by_dimension: dict[str, float] = field(default_factory=dict)
    max_by_dimension: dict[str, float] = field(default_factory=dict)
    by_criterion: dict[Hashable, float] = field(default_factory=dict)
    missing: list[Hashable] = field(default_factory=list)  # criteria without any mark
    flags: list[Flag] = field(default_factory=list)

    @property
    def percent(self) -> float:
        return 100.0 * self.points / self.max_points if self.max_points else 0.0

    def dimension_percent(self, dimension: str) -> float | None:
        top = self.max_by_dimension.get(dimension)
        return 100.0 * self.by_dimension.get(dimension, 0.0) / top if top else None


Marks = Mapping[tuple[Hashable, Hashable], Mapping[Hashable, float]]
"""``{(candidate, criterion): {judge: value}}``"""


def score_round(
    criteria: Sequence[Criterion],
    candidates: Iterable[Hashable],
    marks: Marks,
    *,
    trim_from: int = DEFAULT_TRIM_FROM,
) -> dict[Hashable, RoundResult]:
    """Each candidate's points on a judged round, by dimension and criterion, with flags."""
    out: dict[Hashable, RoundResult] = {}
    for cand in candidates:
        res = RoundResult(cand)
        for crit in criteria:
            res.max_points += crit.max_points
            res.max_by_dimension[crit.dimension] = (
                res.max_by_dimension.get(crit.dimension, 0.0) + crit.max_points
            )
            values = list((marks.get((cand, crit.key)) or {}).values())
            if not values:
                res.missing.append(crit.key)
                continue
            pts = crit.points(aggregate(values, trim_from))
            res.by_criterion[crit.key] = pts
            res.points += pts
            res.by_dimension[crit.dimension] = res.by_dimension.get(crit.dimension, 0.0) + pts
            s = spread(values)
            if s > crit.limit() + 1e-9:
                res.flags.append(Flag(cand, crit.key, tuple(sorted(values)), s, crit.limit()))
        out[cand] = res
    return out


def lock_problems(
    results: Mapping[Hashable, RoundResult],
    resolved: Iterable[tuple[Hashable, Hashable]] = (),
    expected_judges: Mapping[Hashable, int] | None = None,
    marks: Marks | None = None,
) -> list[str]:
    """Why a round cannot be locked yet: unmoderated flags, missing marks."""
    done = set(resolved)
    problems = []
    for cand, res in results.items():
        if res.missing:
            problems.append(f"选手 {cand} 还有 {len(res.missing)} 项指标没有评分")
        open_flags = [f for f in res.flags if (f.candidate, f.criterion) not in done]
        if open_flags:
            problems.append(f"选手 {cand} 有 {len(open_flags)} 项评分差异过大，需先复核")
        if expected_judges and marks is not None:
            need = expected_judges.get(cand, 0)
            for crit, judged in _judges_per_criterion(cand, marks).items():
                if judged < need:
                    problems.append(f"选手 {cand} 的指标 {crit} 只有 {judged}/{need} 名评委提交")
    return problems


def _judges_per_criterion(cand: Hashable, marks: Marks) -> dict[Hashable, int]:
    return {crit: len(v) for (c, crit), v in marks.items() if c == cand}


# --- the competition's total, ranking and awards ---------------------------------------------


def weighted_total(percents: Mapping[Hashable, float], weights: Mapping[Hashable, float]) -> float:
    """Σ weight × round percent / Σ weight over the rounds with a weight (missing round = 0)."""
    total_weight = sum(w for w in weights.values() if w > 0)
    if not total_weight:
        return 0.0
    return sum(w * percents.get(r, 0.0) for r, w in weights.items() if w > 0) / total_weight


@dataclass(frozen=True)
class Standing:
    candidate: Hashable
    total: float
    emergency: float  # the candidate's 应急处置 percent (tie-break 1)
    written: float  # the written round's percent (tie-break 2)


@dataclass(frozen=True)
class Ranked:
    rank: int
    standing: Standing
    tie_broken_by: str | None = None  # "emergency" | "written" | None


TIE_BREAK_RULE = "总分相同时，应急处置得分高者列前；仍相同的，笔试得分高者列前；再相同的并列。"


def rank(standings: Sequence[Standing], places: int = 2) -> list[Ranked]:
    """Competition ranking ("1224": equal keys share a rank, the next rank skips).

    Totals compare rounded to ``places`` decimals (what is published), then the tie-break.
    """

    def key(s: Standing) -> tuple[float, float, float]:
        return (-round(s.total, places), -round(s.emergency, places), -round(s.written, places))

    ordered = sorted(standings, key=lambda s: (key(s), str(s.candidate)))
    out: list[Ranked] = []
    for i, s in enumerate(ordered):
        if i and key(ordered[i - 1]) == key(s):
            out.append(Ranked(out[-1].rank, s, out[-1].tie_broken_by))
            continue
        broken = None
        neighbours = [ordered[i - 1]] if i else []
        if i + 1 < len(ordered):
            neighbours.append(ordered[i + 1])
        for n in neighbours:
            kn, ks = key(n), key(s)
            if kn[0] == ks[0]:
                broken = "emergency" if kn[1] != ks[1] else "written"
        out.append(Ranked(i + 1, s, broken))
    return out


AWARD_LABELS = {"first": "一等奖", "second": "二等奖", "third": "三等奖", "excellent": "优秀代办员"}


def awards(
    ranking: Sequence[Ranked],
    first: int = 1,
    second: int = 2,
    third: int = 3,
    excellent: int = 0,
    min_total: float = 0.0,
) -> dict[Hashable, str]:
    """Awards by rank: the first ``first`` places get 一等奖, and so on. Candidates tied on a
    boundary rank share the higher award (a tie is never split by an arbitrary order).
    Nobody below ``min_total`` gets an award."""
    out: dict[Hashable, str] = {}
    bounds = []
    edge = 0
    for award, count in (
        ("first", first),
        ("second", second),
        ("third", third),
        ("excellent", excellent),
    ):
        edge += count
        bounds.append((award, edge))
    for r in ranking:
        if r.standing.total < min_total:
            continue
        for award, edge in bounds:
            if r.rank <= edge:
                out[r.standing.candidate] = award
                break
    return out


# --- rater agreement (the plain figures beside the Rasch estimate) -----------------------------


@dataclass(frozen=True)
class JudgeAgreement:
    judge: Hashable
    marks: int
    mean_deviation: float  # mean of (own mark − mean of the other judges), in points/levels
    correlation: float | None  # with the other judges' mean; None when undefined


def judge_agreement(marks: Marks) -> dict[Hashable, JudgeAgreement]:
    """For each judge: how far above (+) or below (−) the rest of the panel they mark, and
    how well their marks follow the panel's, over every (candidate, criterion) shared."""
    pairs: dict[Hashable, list[tuple[float, float]]] = {}
    for panel in marks.values():
        if len(panel) < 2:
            continue
        total = sum(panel.values())
        for judge, value in panel.items():
            others = (total - value) / (len(panel) - 1)
            pairs.setdefault(judge, []).append((value, others))
    out = {}
    for judge, xs in pairs.items():
        dev = sum(a - b for a, b in xs) / len(xs)
        out[judge] = JudgeAgreement(judge, len(xs), dev, _pearson(xs))
    return out


def _pearson(xs: Sequence[tuple[float, float]]) -> float | None:
    n = len(xs)
    if n < 3:
        return None
    ma = sum(a for a, _ in xs) / n
    mb = sum(b for _, b in xs) / n
    va = sum((a - ma) ** 2 for a, _ in xs)
    vb = sum((b - mb) ** 2 for _, b in xs)
    if va == 0 or vb == 0:
        return None
    return sum((a - ma) * (b - mb) for a, b in xs) / (va * vb) ** 0.5
