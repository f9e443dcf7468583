"""What the level tracker's active icebergs say about each instrument, for the signal rules.

Rule: an instrument has a **hidden buyer** when the level tracker (:mod:`engine.levels`)
holds an active iceberg at its best bid (refills at one price that has held, more traded
there than the book ever showed), and a **hidden seller** likewise at its best ask. How
strong that evidence is, in points (the institutional factor of :mod:`engine.signals`),
one point each for:

* **refills**: at least twice the tracker's minimum (``2 x LevelSettings.min_refills``);
* **size**: revealed hidden volume of at least the instrument's typical minute of volume
  (its own baseline, so a thin stock's iceberg is judged on its own scale);
* **time**: the price held at least ``HELD_SECONDS`` (two minutes);
* **unusual**: the institutional ratio of that side is unusual for the instrument (robust z
  against its own history at least ``MIN_RATIO_Z``), the original time-normalised measure.

All arrays are per instrument row.
"""

from __future__ import annotations

import numpy as np

HELD_SECONDS = 120
MAX_POINTS = 4


def evidence_points(
    active: np.ndarray,
    refills: np.ndarray,
    hidden: np.ndarray,
    held: np.ndarray,
    typical_minute_volume: np.ndarray,
    side_z: tuple[np.ndarray, np.ndarray],
    min_refills: int,
    min_ratio_z: float,
) -> np.ndarray:
    """Points per instrument and side, (instruments, 2): column 0 the hidden buyer at the
    bid, column 1 the hidden seller at the ask; 0 where none is active. ``active``,
    ``refills``, ``hidden`` (shares) and ``held`` (seconds) come from
    :meth:`engine.levels.LevelTracker.evidence`; ``side_z`` is the (bid, ask) robust z of
    each side's institutional ratio (NaN unknown)."""
    typical = np.nan_to_num(np.asarray(typical_minute_volume, dtype=np.float64), nan=np.inf)
    z = np.stack([np.asarray(side_z[0]), np.asarray(side_z[1])], axis=1)
    points = (
        (refills >= 2 * min_refills).astype(np.int8)
        + (hidden >= typical[:, None]).astype(np.int8)
        + (held >= HELD_SECONDS).astype(np.int8)
        + (np.nan_to_num(z, nan=-np.inf) >= min_ratio_z).astype(np.int8)
    )
    return np.where(active, points, 0).astype(np.int8)
