"""Many-facet Rasch estimate of a judged round — pure, numpy only.

Model (Linacre's rating-scale many-facet model, as in the FACETS program):

    log( P(x = k) / P(x = k − 1) ) = B_n − D_i − C_j − F_k

B_n candidate ability, D_i criterion difficulty, C_j judge severity (higher = harsher),
F_k the k-th step of the shared rating scale (Σ F_k = 0). Observations are categories
0 … m: a judgement criterion's level (0–3) as it is; a measurement criterion's points
mapped onto the same four categories (``round(points / max × 3)``).

Estimated by joint maximum likelihood (JMLE) with damped Newton steps, each facet centred
at 0 except the candidates. A candidate (or judge, criterion) with an extreme raw score —
every mark the top or the bottom category — has no finite estimate; as FACETS and Winsteps
do, its raw score is pulled in by 0.3 of a score point before estimating.

Fit per element: outfit mean-square (mean of squared standardised residuals) and infit
mean-square (information-weighted); both expect 1.0; above about 1.5 marks are erratic
(noise), below about 0.5 too predictable (e.g. a judge who always gives the middle level).

The official totals stay the raw aggregation in rules.py; this only informs moderation.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import numpy as np

EXTREME_ADJUSTMENT = 0.3
MAX_STEP = 1.0  # logits per iteration
MISFIT_HIGH = 1.5
MISFIT_LOW = 0.5


@dataclass(frozen=True)
class Observation:
    candidate: Hashable
    judge: Hashable
    criterion: Hashable
    category: int


@dataclass(frozen=True)
class Element:
    key: Hashable
    measure: float  # logits
    se: float
    infit: float
    outfit: float
    observations: int
    raw: float
    extreme: bool = False

    @property
    def misfit(self) -> str | None:
        if self.observations < 5:
            return None
        if max(self.infit, self.outfit) > MISFIT_HIGH:
            return "noisy"  # 评分不稳定
        if self.infit < MISFIT_LOW:
            return "muted"  # 评分过于集中
        return None


@dataclass(frozen=True)
class RaschResult:
    candidates: dict[Hashable, Element]
    judges: dict[Hashable, Element]
    criteria: dict[Hashable, Element]
    thresholds: tuple[float, ...]  # F_1..F_m
    iterations: int
    converged: bool
    max_residual: float  # largest |observed − expected| raw score of a non-extreme element


def categories_for_points(points: float, max_points: float, levels: int = 3) -> int:
    if max_points <= 0:
        return 0
    return int(min(levels, max(0, round(points / max_points * levels))))


def estimate(
    observations: Sequence[Observation],
    categories: int = 4,
    *,
    max_iterations: int = 500,
    tolerance: float = 1e-4,
) -> RaschResult:
    if not observations:
        raise ValueError("no observations")
    m = categories - 1
    n_keys, n_idx = _index([o.candidate for o in observations])
    j_keys, j_idx = _index([o.judge for o in observations])
    i_keys, i_idx = _index([o.criterion for o in observations])
    x = np.fromiter((o.category for o in observations), dtype=float, count=len(observations))
    if x.min() < 0 or x.max() > m:
        raise ValueError(f"categories must be within 0..{m}")

    obs_cat = np.bincount(x.astype(int), minlength=categories).astype(float)
    theta = np.zeros(len(n_keys))
    judge = np.zeros(len(j_keys))
    crit = np.zeros(len(i_keys))
    steps = np.zeros(m)  # F_1..F_m
    used_steps = obs_cat[1:] > 0  # a step into an empty category stays unestimated (0)

    facets = [(n_idx, len(n_keys)), (j_idx, len(j_keys)), (i_idx, len(i_keys))]
    raws, counts, targets, extremes = [], [], [], []
    for idx, size in facets:
        raw = np.bincount(idx, weights=x, minlength=size)
        cnt = np.bincount(idx, minlength=size).astype(float)
        top = cnt * m
        ext = (raw <= 0) | (raw >= top)
        target = np.clip(raw, EXTREME_ADJUSTMENT, top - EXTREME_ADJUSTMENT)
        raws.append(raw)
        counts.append(cnt)
        targets.append(target)
        extremes.append(ext)
    # observed count at or above each step h (for the step estimates)
    obs_ge = np.array([obs_cat[h:].sum() for h in range(1, m + 1)])

    converged = False
    iterations = 0
    while iterations < max_iterations:
        iterations += 1
        change = 0.0
        # candidates: dL/dB = Σ(x − E)
        for f, (idx, size) in enumerate(facets):
            # Candidates first, then judges, criteria and steps against expectations that
            # include the candidates' move: updating all facets from the same expectations
            # overshoots and never settles when the panel is very consistent.
            if f < 2:
                eta = theta[n_idx] - crit[i_idx] - judge[j_idx]
                expected, variance, p = _moments(eta, steps, m)
            exp_sum = np.bincount(idx, weights=expected, minlength=size)
            var_sum = np.bincount(idx, weights=variance, minlength=size)
            delta = (targets[f] - exp_sum) / np.maximum(var_sum, 1e-9)
            delta = np.clip(delta, -MAX_STEP, MAX_STEP)
            if f == 0:
                theta += delta
            elif f == 1:
                judge -= delta
            else:
                crit -= delta
            change = max(change, float(np.abs(delta).max()))
        judge -= judge.mean()
        crit -= crit.mean()
        # steps: dL/dF_h = E#(X ≥ h) − O#(X ≥ h); curvature −Σ P(X≥h)(1 − P(X≥h))
        ge = np.cumsum(p[:, ::-1], axis=1)[:, ::-1][:, 1:]  # P(X ≥ h), h = 1..m
        exp_ge = ge.sum(axis=0)
        var_ge = (ge * (1 - ge)).sum(axis=0)
        d_steps = np.where(used_steps, (exp_ge - obs_ge) / np.maximum(var_ge, 1e-9), 0.0)
        d_steps = np.clip(d_steps, -MAX_STEP, MAX_STEP)
        steps += d_steps
        if used_steps.any():
            steps[used_steps] -= steps[used_steps].mean()
        change = max(change, float(np.abs(d_steps).max()))
        if change < tolerance:
            converged = True
            break

    eta = theta[n_idx] - crit[i_idx] - judge[j_idx]
    expected, variance, _ = _moments(eta, steps, m)
    resid = x - expected
    z2 = resid**2 / np.maximum(variance, 1e-9)
    params = [theta, judge, crit]
    keysets = [n_keys, j_keys, i_keys]
    out = []
    max_residual = 0.0
    for f, (idx, size) in enumerate(facets):
        var_sum = np.bincount(idx, weights=variance, minlength=size)
        exp_sum = np.bincount(idx, weights=expected, minlength=size)
        outfit = np.bincount(idx, weights=z2, minlength=size) / np.maximum(counts[f], 1)
        infit = np.bincount(idx, weights=resid**2, minlength=size) / np.maximum(var_sum, 1e-9)
        ok = ~extremes[f]
        if ok.any():
            max_residual = max(max_residual, float(np.abs(targets[f] - exp_sum)[ok].max()))
        out.append(
            {
                key: Element(
                    key,
                    float(params[f][k]),
                    float(1 / np.sqrt(max(var_sum[k], 1e-9))),
                    float(infit[k]),
                    float(outfit[k]),
                    int(counts[f][k]),
                    float(raws[f][k]),
                    bool(extremes[f][k]),
                )
                for k, key in enumerate(keysets[f])
            }
        )
    return RaschResult(
        out[0],
        out[1],
        out[2],
        tuple(float(s) for s in steps),
        iterations,
        converged,
        max_residual,
    )


def _index(keys: Sequence[Hashable]) -> tuple[list[Hashable], np.ndarray]:
    order: dict[Hashable, int] = {}
    idx = np.fromiter((order.setdefault(k, len(order)) for k in keys), dtype=np.int64)
    return list(order), idx


def _moments(eta: np.ndarray, steps: np.ndarray, m: int):
    """Expected category, its variance and the category probabilities per observation."""
    k = np.arange(m + 1)
    cum_steps = np.concatenate([[0.0], np.cumsum(steps)])
    logits = eta[:, None] * k[None, :] - cum_steps[None, :]
    logits -= logits.max(axis=1, keepdims=True)
    p = np.exp(logits)
    p /= p.sum(axis=1, keepdims=True)
    expected = p @ k
    variance = p @ (k**2) - expected**2
    return expected, variance, p
