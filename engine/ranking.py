"""Relative rank (0-15 points) of each instrument against the rest of the watchlist now.

Three measures each give up to 5 points by percentile among the ranked instruments:
institutional ratio, absolute order imbalance, and volume surge. The percentile of a value is
the share of ranked instruments whose value is at or below it, so the strongest instrument on
every measure gets 15 and a lone instrument gets 15 too. Unknown (NaN) measures give 0 points;
instruments outside ``ranked`` get 0.
"""

from __future__ import annotations

import numpy as np

POINTS_PER_MEASURE = 5.0


def percentile_points(values: np.ndarray, ranked: np.ndarray) -> np.ndarray:
    """``POINTS_PER_MEASURE`` x the percentile of each value among the ranked, known values."""
    values = np.asarray(values, dtype=np.float64)
    known = ranked & ~np.isnan(values)
    points = np.zeros(values.shape)
    population = np.sort(values[known])
    if population.size:
        at_or_below = np.searchsorted(population, values[known], side="right")
        points[known] = POINTS_PER_MEASURE * at_or_below / population.size
    return points


def rank_points(
    institutional_ratio: np.ndarray,
    order_imbalance: np.ndarray,
    volume_surge: np.ndarray,
    ranked: np.ndarray,
) -> np.ndarray:
    """0-15 points per instrument, rounded to one decimal."""
    ranked = np.asarray(ranked, dtype=bool)
    total = (
        percentile_points(institutional_ratio, ranked)
        + percentile_points(np.abs(order_imbalance), ranked)
        + percentile_points(volume_surge, ranked)
    )
    return np.round(total, 1)
