"""The many-facet Rasch estimate fits a very consistent panel too (marks close to a Guttman
pattern): the expected raw scores match the observed ones and the judges' severities come
out in the simulated order — a chief judge must not be shown severities from an estimate
that went round in circles."""

from __future__ import annotations

import math
import random

import numpy as np

from academy.competition import rasch


def test_the_estimate_fits_a_very_consistent_panel():
    rng = random.Random(3)
    ability = [rng.gauss(0, 1) for _ in range(50)]
    severity = [rng.gauss(0, 0.5) for _ in range(8)]
    obs = []
    for c, a in enumerate(ability):
        for j in rng.sample(range(8), 3):
            for i in range(6):
                share = 1 / (1 + math.exp(-(a - severity[j] + rng.gauss(0, 0.3))))
                obs.append(rasch.Observation(c, j, i, min(3, max(0, round(share * 3)))))
    r = rasch.estimate(obs, max_iterations=300)
    assert r.max_residual < 0.5, r.max_residual  # observed ≈ expected raw scores
    est = [r.judges[j].measure for j in range(8)]
    assert np.corrcoef(est, severity)[0, 1] > 0.8
