"""Each instrument's own normal: a robust z-score that an always-thin book cannot game."""

from __future__ import annotations

import numpy as np

from engine.baseline import RobustBaseline


def test_unknown_until_enough_history_then_unusual_only_against_its_own_normal():
    baseline = RobustBaseline(2, min_samples=12)
    rng = np.random.default_rng(1)
    thin, liquid = 12.0, 0.4  # the thin book's ratio is always "high"
    for bucket in range(200):
        if bucket == 11:
            assert np.isnan(baseline.z(np.array([thin, liquid]))).all()
        baseline.add(np.array([thin, liquid]) * rng.uniform(0.8, 1.25, 2))
    z_normal = baseline.z(np.array([thin, liquid]))
    assert np.all(np.abs(z_normal) < 1.0)
    z_spike = baseline.z(np.array([thin, 12.0]))  # the liquid one at the thin one's level
    assert z_spike[1] > 5 and abs(z_spike[0]) < 1.0


def test_an_unusual_stretch_given_little_weight_barely_moves_the_normal():
    baseline = RobustBaseline(1, min_samples=12)
    for _ in range(100):
        baseline.add(np.array([0.4]))
    for _ in range(36):  # three minutes of an iceberg
        baseline.add(np.array([15.0]), weight=0.1)
    assert baseline.z(np.array([15.0]))[0] > 3
