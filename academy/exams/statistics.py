"""Item statistics of an exam, by classical test theory (as Moodle's quiz statistics report).

Pure functions: the graded matrix in, numbers out; no database, no request.

The matrix is one :class:`Observation` per drawn question of a graded attempt (its fraction
0..1 and its points), plus each attempt's total (:class:`Total`). From it:

- **facility** of a question: the mean fraction (0 = nobody right, 1 = everybody right);
- **sd**: the sample standard deviation (n − 1) of the fractions;
- **discrimination**: the corrected item-total correlation — Pearson's r (point-biserial for a
  right/wrong item) between the item's fraction and the candidate's score on the *other*
  questions of the paper, as a fraction of their points. Correcting (leaving the item out of
  the total) keeps an item from correlating with itself, which matters on short papers;
  because the rest is a fraction of its own maximum, candidates who drew different questions
  (random draws) are comparable;
- **upper-lower index** (Kelley's D): the item's facility among the best 27 % of the
  candidates who had it, minus its facility among the weakest 27 % (ranked by the paper's
  percent; ties at the cut by attempt order). Groups have at least one candidate;
- **Cronbach's alpha** of the paper, computed over *slots* — the positions of the paper — as
  Moodle does for random questions: every attempt has the same number of questions of each
  section in the same positions (the order is shuffled only within a section), so slot p of
  every attempt is "a question of section s" and every attempt has every slot. Only
  attempts that have every slot count (all of them, unless a blueprint changed);
- flags: negative discrimination, very easy (facility > 0.9), very hard (facility < 0.2) —
  only from ``MIN_ANSWERS`` answers (30 by default, ``ITEM_STATS_MIN_ANSWERS`` in the app's
  config). Below it an item is labelled 样本不足 instead: with n answers the standard error
  of a correlation is about 1/√n (0.18 at 30, 0.32 at 10), so a "negative" discrimination
  of a good question is common on a small sample, and a facility of 1.0 from five agents
  says little. The numbers are shown whatever the sample, with the sample size.

Statistics are grouped per question (all its versions) and per question version.
A statistic that cannot be computed (fewer than two candidates, everybody with the same
score, nobody had the question) is ``None``, never 0.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

UPPER_LOWER_SHARE = 0.27
EASY_ABOVE = 0.9
HARD_BELOW = 0.2
MIN_ANSWERS = 30

FLAG_LABELS = {
    "negative": "区分度为负：高分考生反而答错更多，请检查答案与题意",
    "easy": "过易（难度系数 > 0.9）",
    "hard": "过难（难度系数 < 0.2）",
}
FEW_LABEL = "样本不足（作答少于 {n} 人次，不判断过难、过易或区分度为负）"


@dataclass(frozen=True)
class Observation:
    """One drawn question of one graded attempt."""

    attempt_id: int
    slot: int  # position in the paper, 1-based
    question_id: int
    version_id: int
    fraction: float  # 0..1
    points: float  # what the question was worth in this attempt

    @property
    def score(self) -> float:
        return self.fraction * self.points


@dataclass(frozen=True)
class Total:
    """A graded attempt's result."""

    attempt_id: int
    score: float
    max_score: float
    passed: bool | None = None

    @property
    def fraction(self) -> float | None:
        return self.score / self.max_score if self.max_score > 0 else None


# --- small statistics ----------------------------------------------------------------------


def mean(xs: Sequence[float]) -> float | None:
    return sum(xs) / len(xs) if xs else None


def median(xs: Sequence[float]) -> float | None:
    if not xs:
        return None
    s = sorted(xs)
    mid = len(s) // 2
    return s[mid] if len(s) % 2 else (s[mid - 1] + s[mid]) / 2


def sample_variance(xs: Sequence[float]) -> float | None:
    n = len(xs)
    if n < 2:
        return None
    m = sum(xs) / n
    return sum((x - m) ** 2 for x in xs) / (n - 1)


def sample_sd(xs: Sequence[float]) -> float | None:
    var = sample_variance(xs)
    return None if var is None else math.sqrt(var)


def pearson(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    """Pearson's r; None with fewer than two pairs or when either side does not vary."""
    n = len(xs)
    if n != len(ys):
        raise ValueError("xs and ys differ in length")
    if n < 2:
        return None
    mx, my = sum(xs) / n, sum(ys) / n
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
    sxx = sum((x - mx) ** 2 for x in xs)
    syy = sum((y - my) ** 2 for y in ys)
    if sxx <= 1e-12 or syy <= 1e-12:
        return None
    return max(-1.0, min(1.0, sxy / math.sqrt(sxx * syy)))


def upper_lower(pairs: Sequence[tuple[float, float]], share: float = UPPER_LOWER_SHARE):
    """Kelley's D from (paper percent or fraction, item fraction) per candidate: facility in
    the top ``share`` minus facility in the bottom ``share``. None with fewer than two
    candidates or when all have the same paper score (nobody is "upper")."""
    n = len(pairs)
    if n < 2 or max(p for p, _ in pairs) - min(p for p, _ in pairs) <= 1e-12:
        return None
    k = max(1, int(share * n + 0.5))
    ranked = sorted(range(n), key=lambda i: (pairs[i][0], -i))  # stable: earlier wins a tie
    lower = [pairs[i][1] for i in ranked[:k]]
    upper = [pairs[i][1] for i in ranked[-k:]]
    return sum(upper) / k - sum(lower) / k


def cronbach_alpha(rows: Iterable[Mapping[Hashable, float]]) -> float | None:
    """Alpha from one mapping per candidate: item (slot) -> score. Only candidates with the
    items every candidate has are used (the common slots); None with fewer than two items
    or candidates, or when the totals do not vary."""
    rows = list(rows)
    if not rows:
        return None
    common = set(rows[0])
    for r in rows[1:]:
        common &= set(r)
    items = sorted(common, key=repr)
    k = len(items)
    if k < 2 or len(rows) < 2:
        return None
    item_var = [sample_variance([r[i] for r in rows]) for i in items]
    total_var = sample_variance([sum(r[i] for i in items) for r in rows])
    if total_var is None or total_var <= 1e-12:
        return None
    return k / (k - 1) * (1 - sum(v or 0.0 for v in item_var) / total_var)


# --- item statistics -----------------------------------------------------------------------


@dataclass(frozen=True)
class ItemStats:
    n: int
    facility: float | None
    sd: float | None
    discrimination: float | None
    upper_lower: float | None
    min_answers: int = MIN_ANSWERS  # flags only from this many answers

    @property
    def enough(self) -> bool:
        return self.n >= self.min_answers

    @property
    def too_few(self) -> bool:
        """Answered, but too few times to label the item (样本不足)."""
        return 0 < self.n < self.min_answers

    @property
    def few_label(self) -> str:
        return FEW_LABEL.format(n=self.min_answers)

    @property
    def flags(self) -> tuple[str, ...]:
        if not self.enough:
            return ()
        out = []
        if self.discrimination is not None and self.discrimination < 0:
            out.append("negative")
        if self.facility is not None and self.facility > EASY_ABOVE:
            out.append("easy")
        if self.facility is not None and self.facility < HARD_BELOW:
            out.append("hard")
        return tuple(out)

    @property
    def negative(self) -> bool:
        return "negative" in self.flags


EMPTY = ItemStats(0, None, None, None, None)


def rest_fraction(total: Total, obs: Observation) -> float | None:
    """The candidate's score on the other questions of the paper, as a fraction of their
    points (None when the paper has no other scored question)."""
    rest_max = total.max_score - obs.points
    if rest_max <= 1e-12:
        return None
    return max(0.0, min(1.0, (total.score - obs.score) / rest_max))


def item_stats(
    observations: Sequence[Observation],
    totals: Mapping[int, Total],
    min_answers: int = MIN_ANSWERS,
) -> ItemStats:
    """The statistics of one item (a question, or a version) from its observations."""
    obs = [o for o in observations if o.attempt_id in totals]
    if not obs:
        return EMPTY
    fractions = [o.fraction for o in obs]
    pairs = [(rest_fraction(totals[o.attempt_id], o), o.fraction) for o in obs]
    pairs = [(r, f) for r, f in pairs if r is not None]
    ranked = [
        (totals[o.attempt_id].fraction, o.fraction)
        for o in obs
        if totals[o.attempt_id].fraction is not None
    ]
    return ItemStats(
        n=len(obs),
        facility=mean(fractions),
        sd=sample_sd(fractions),
        discrimination=pearson([f for _, f in pairs], [r for r, _ in pairs]),
        upper_lower=upper_lower(ranked),
        min_answers=min_answers,
    )


# --- the exam ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExamSummary:
    n: int
    mean_percent: float | None
    median_percent: float | None
    sd_percent: float | None
    alpha: float | None
    pass_rate: float | None  # among graded attempts with a pass/fail


def summary(totals: Iterable[Total], observations: Iterable[Observation]) -> ExamSummary:
    totals = list(totals)
    percents = [100.0 * t.fraction for t in totals if t.fraction is not None]
    decided = [t.passed for t in totals if t.passed is not None]
    by_attempt: dict[int, dict[int, float]] = defaultdict(dict)
    for o in observations:
        by_attempt[o.attempt_id][o.slot] = o.score
    known = {t.attempt_id for t in totals}
    return ExamSummary(
        n=len(totals),
        mean_percent=mean(percents),
        median_percent=median(percents),
        sd_percent=sample_sd(percents),
        alpha=cronbach_alpha(r for a, r in by_attempt.items() if a in known),
        pass_rate=(sum(1 for p in decided if p) / len(decided)) if decided else None,
    )


@dataclass
class ExamStatistics:
    summary: ExamSummary
    by_question: dict[int, ItemStats] = field(default_factory=dict)
    by_version: dict[int, ItemStats] = field(default_factory=dict)


def analyse(
    observations: Sequence[Observation],
    totals: Sequence[Total],
    question_ids: Iterable[int] = (),
    min_answers: int = MIN_ANSWERS,
) -> ExamStatistics:
    """Everything for one exam. ``question_ids``: questions to report even if nobody had them
    (e.g. a fixed question of a section added later): they get n = 0 and no statistics.
    ``min_answers``: items answered fewer times get no flags (样本不足)."""
    by_id = {t.attempt_id: t for t in totals}
    per_question: dict[int, list[Observation]] = defaultdict(list)
    per_version: dict[int, list[Observation]] = defaultdict(list)
    for o in observations:
        per_question[o.question_id].append(o)
        per_version[o.version_id].append(o)
    result = ExamStatistics(summary(totals, observations))
    for q in question_ids:
        result.by_question[q] = EMPTY
    for q, obs in per_question.items():
        result.by_question[q] = item_stats(obs, by_id, min_answers)
    for v, obs in per_version.items():
        result.by_version[v] = item_stats(obs, by_id, min_answers)
    return result
