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


def percentile_points(
    values: np.ndarray, ranked: np.ndarray, rows: np.ndarray | None = None
) -> np.ndarray:
    """``POINTS_PER_MEASURE`` x the percentile of each value among the ranked, known values.

    With ``rows``, only those instruments are scored (the population is still all of them).
    """
    values = np.asarray(values, dtype=np.float64)
    known = ranked & ~np.isnan(values)
    rows = np.arange(len(values)) if rows is None else np.asarray(rows)
    points = np.zeros(len(rows))
    scored = known[rows]
    if not scored.any():  # nothing to score: no sort of the whole watchlist
        return points
    population = np.sort(values[known])
    needles = values[rows][scored]
    # Binary search is several times faster with sorted needles (memory access in order).
    order = np.argsort(needles, kind="stable")
    at_or_below = np.empty(len(needles))
    at_or_below[order] = np.searchsorted(population, needles[order], side="right")
    points[scored] = POINTS_PER_MEASURE * at_or_below / population.size
    return points


def rank_points(
    institutional_ratio: np.ndarray,
    order_imbalance: np.ndarray,
    volume_surge: np.ndarray,
    ranked: np.ndarray,
    rows: np.ndarray | None = None,
) -> np.ndarray:
    """0-15 points per instrument (or per row of ``rows``), rounded to one decimal."""
    ranked = np.asarray(ranked, dtype=bool)
    total = (
        percentile_points(institutional_ratio, ranked, rows)
        + percentile_points(np.abs(order_imbalance), ranked, rows)
        + percentile_points(volume_surge, ranked, rows)
    )
    return np.round(total, 1)
