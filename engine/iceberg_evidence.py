"""What the level tracker's active icebergs say about each instrument, for the signal rules.

Rule: an instrument has a **hidden buyer** when the level tracker (:mod:`engine.levels`)
holds an active iceberg at its best bid (refills at one price that has held, more traded
there than the book ever showed), and a **hidden seller** likewise at its best ask. How
strong that evidence is, in points (the institutional factor of :mod:`engine.signals`):

* **pace** (0-2): the refills come at a measured pace, one order coming back as it is
  filled: at most ``MEASURED_PACE`` (4) a minute of the price's hold scores 2, at most
  ``BUSY_PACE`` (6) scores 1. A level that "refills" every few seconds is a busy queue the
  crowd keeps topping up: each arrival there looks like a refill;
* **time** (1): the price held at least ``HELD_SECONDS`` (a minute);
* **size** (1): revealed hidden volume of at least ``SIZE_MINUTES`` (a fifth) of the
  instrument's typical minute of volume (its own baseline, so a thin stock's iceberg is judged
  on its own scale).

These are the points that ranked the tracker's detections by how often they were right on
the book simulator's tuning seeds (:mod:`feeds.detection_quality`): 0 to 4 points were right
0.27, 0.26, 0.50, 0.72 and 0.94 of the time (337 detections on seeds 1-30). The count of
refills, a full minute of hidden volume, two minutes held and an unusual institutional ratio,
scored before, ranked them backwards (an old, busy level looks like that as much as an
iceberg does).

All arrays are per instrument row.
"""

from __future__ import annotations

import numpy as np

MEASURED_PACE = 4.0  # refills a minute, at most: 2 points
BUSY_PACE = 6.0  # refills a minute, at most: 1 point
HELD_SECONDS = 60
SIZE_MINUTES = 0.2  # revealed hidden volume in the instrument's typical minutes of volume
MAX_POINTS = 4


def evidence_points(
    active: np.ndarray,
    refills: np.ndarray,
    hidden: np.ndarray,
    held: np.ndarray,
    typical_minute_volume: np.ndarray,
) -> np.ndarray:
    """Points per instrument and side, (instruments, 2): column 0 the hidden buyer at the
    bid, column 1 the hidden seller at the ask; 0 where none is active. ``active``,
    ``refills``, ``hidden`` (shares) and ``held`` (seconds) come from
    :meth:`engine.levels.LevelTracker.evidence`; ``typical_minute_volume`` (shares, NaN
    unknown: no size point) per instrument."""
    typical = np.nan_to_num(np.asarray(typical_minute_volume, dtype=np.float64), nan=np.inf)
    held = np.asarray(held, dtype=np.float64)
    pace = np.divide(
        60.0 * np.asarray(refills, dtype=np.float64),
        held,
        out=np.full(held.shape, np.inf),
        where=held > 0,
    )
    points = (
        (pace <= MEASURED_PACE).astype(np.int8)
        + (pace <= BUSY_PACE)
        + (held >= HELD_SECONDS)
        + (hidden >= SIZE_MINUTES * typical[:, None])
    )
    return np.where(active, points, 0).astype(np.int8)
