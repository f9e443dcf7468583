"""What the level tracker's active icebergs say about each instrument, for the signal rules.

Rule: an instrument has a **hidden buyer** when the level tracker (:mod:`engine.levels`)
holds an active iceberg at its best bid (refills at one price that has held, more traded
there than the book ever showed, and hidden volume still at least two standard errors clear
of its noise now: :meth:`engine.levels.LevelTracker.evidence`), and a **hidden seller**
likewise at its best ask. How strong that evidence is, in points (the institutional factor
of :mod:`engine.signals`):

* **pace** (0-2): the refills come at a measured pace, one order coming back as it is
  filled: at most ``MEASURED_PACE`` (6) a minute of the price's hold (its seconds at the
  touch) scores 2, at most ``BUSY_PACE`` (10) scores 1. A level that "refills" every few
  seconds is a busy queue the crowd keeps topping up: each arrival there looks like a refill;
* **time** (1): the price held at the touch at least ``HELD_SECONDS`` (half a minute);
* **size** (1): revealed hidden volume of at least ``SIZE_MINUTES`` (a fifth) of the
  instrument's typical minute of volume (its own baseline, so a thin stock's iceberg is judged
  on its own scale);
* **clear** (1): revealed hidden volume that stands, now, at least ``CLEAR_STANDARD_ERRORS``
  (4) standard errors clear of what the level's usual arrivals and the guessed sides of its
  trades could explain. The tracker calls an iceberg the first second its hidden volume
  passes 3.5 (``LevelSettings.min_z``), a test made every second of every level, so some
  levels pass it once by chance and then fall back into their noise; a hidden order keeps
  revealing itself and stays clear. Without a confirming PCR it decides whether an iceberg
  with two of the other points reaches the default ``MIN_CONFIDENCE`` of 7. On the tuning
  seeds 1-30 this point took the signals at confidence 7 or more from 126 right of 145 (0.87)
  to 110 of 120 (0.92), false ones an instrument-hour from 0.05 to 0.03, for 107 icebergs
  found instead of 123 of 522 (seeds 31-60: 0.85 to 0.91, 105 found to 87). 3.75 standard
  errors gave 0.91 and 0.89 for 118 and 91 found, 4.5 0.94 and 0.91 for 100 and 74; four,
  because the unseen seeds have run a few points below the tuning ones;
* **displays** (-2, never below 0 in all): revealed hidden volume of more than
  ``MAX_DISPLAYS`` (5) times the level's peak. A hidden order shows itself a display at a
  time: each refill brings its peak back, and the tracker finds it once a few have come back
  and stood clear of the noise. Hidden volume worth many displays was gathered some other
  way: from a busy queue's many small arrivals, which the usual rate guessed short (its
  "refills" are a few ordinary orders, so its peak is small against what it gathered), or
  from refills lost among them. On the tuning seeds ACC/DIS signals on levels past five
  displays were right 0.61 of the time (43 of 71 of confidence 7 or more), those at five or
  fewer 0.95 (80 of 84).

The pace, time and size points are those that ranked the tracker's detections by how often
they were right on the book simulator's tuning seeds (:mod:`feeds.detection_quality`): 0 to 4
of them were right 0.27, 0.26, 0.50, 0.72 and 0.94 of the time (337 detections on seeds
1-30). The count of refills, a full minute of hidden volume, two minutes held and an unusual
institutional ratio, scored before, ranked them backwards (an old, busy level looks like
that as much as an iceberg does). Those figures, and the ones above, were measured on a
simulated market whose prices barely moved. Since its prices move as a listed stock's do (a
value that takes a random step every second; :mod:`feeds.book_simulator`), a hidden order
the price comes down to is traded against hard and used up fast, and lives its minute or two
at the touch rarely: the pace bars went from 4 and 6 refills a minute to 6 and 10 and the
time point from a minute held to half a minute (and the tracker's ``min_held_seconds`` from
30 to 20). On tuning seeds 1-30, ACC/DIS at the default went from 57 of 58 right, 57 of 417
agents found, to 90 of 91 and 89 found (three refills a minute 45 to 54 of 94, the median
time to detect 53 s to 46 s; 31-60 with the new bars: 89 of 89, 85 of 415), measured before
a native iceberg's display came back at once in the simulator; after, 90 of 92 and 89 of 418,
94 of 94 and 90 of 416.

All arrays are per instrument row.
"""

from __future__ import annotations

import numpy as np

MEASURED_PACE = 6.0  # refills a minute, at most: 2 points
BUSY_PACE = 10.0  # refills a minute, at most: 1 point
HELD_SECONDS = 30
SIZE_MINUTES = 0.2  # revealed hidden volume in the instrument's typical minutes of volume
MAX_DISPLAYS = 5.0  # revealed hidden volume in the level's peaks, at most, or ...
DISPLAYS_PENALTY = 2  # ... this many points off
CLEAR_STANDARD_ERRORS = 4.0  # hidden volume now, in its standard errors: 1 point

# The rules above, by name, as the signal's factors and the dashboard's cards spell them out,
# and the most each gives (displays only takes away).
PART_BEST = {"pace": 2, "time": 1, "size": 1, "clear": 1, "displays": 0}
EVIDENCE_PARTS = tuple(PART_BEST)
MAX_POINTS = sum(PART_BEST.values())  # 5


def evidence_parts(
    refills: np.ndarray,
    hidden: np.ndarray,
    held: np.ndarray,
    typical_minute_volume: np.ndarray,
    peak: np.ndarray | None = None,
    standard_error: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Each rule's points per instrument and side, (instruments, 2) int8 arrays named as
    :data:`EVIDENCE_PARTS`: pace 0-2, time 0-1, size 0-1, clear 0-1 (0 without
    ``standard_error``), displays -2 or 0 (0 without ``peak``), wherever an iceberg is
    active or not (:func:`total_points` adds them up). Column 0 is the hidden buyer at the
    bid, column 1 the hidden seller at the ask. ``refills``, ``hidden`` (shares), ``held``
    (seconds), ``peak`` (shares; none: no displays test) and ``standard_error`` (of
    ``hidden``, shares; none: no clear point) come from
    :meth:`engine.levels.LevelTracker.evidence`; ``typical_minute_volume`` (shares, NaN
    unknown: no size point) per instrument."""
    typical = np.nan_to_num(np.asarray(typical_minute_volume, dtype=np.float64), nan=np.inf)
    held = np.asarray(held, dtype=np.float64)
    hidden = np.asarray(hidden, dtype=np.float64)
    pace = np.divide(
        60.0 * np.asarray(refills, dtype=np.float64),
        held,
        out=np.full(held.shape, np.inf),
        where=held > 0,
    )
    zero = np.zeros(held.shape, dtype=np.int8)
    parts = {
        "pace": (pace <= MEASURED_PACE).astype(np.int8) + (pace <= BUSY_PACE),
        "time": (held >= HELD_SECONDS).astype(np.int8),
        "size": (hidden >= SIZE_MINUTES * typical[:, None]).astype(np.int8),
        "clear": zero,
        "displays": zero,
    }
    if standard_error is not None:
        clear = hidden >= CLEAR_STANDARD_ERRORS * np.asarray(standard_error)
        parts["clear"] = clear.astype(np.int8)
    if peak is not None:
        many = hidden > MAX_DISPLAYS * np.asarray(peak, dtype=np.float64)
        parts["displays"] = (-DISPLAYS_PENALTY * many).astype(np.int8)
    return parts


def total_points(active: np.ndarray, parts: dict[str, np.ndarray]) -> np.ndarray:
    """Points per instrument and side, (instruments, 2): the points of
    :func:`evidence_parts` added up, never below 0, where ``active`` (an iceberg stands
    there: :meth:`engine.levels.LevelTracker.evidence`), 0 elsewhere."""
    total = sum(parts[name].astype(np.int16) for name in EVIDENCE_PARTS)
    return np.where(active, np.maximum(total, 0), 0).astype(np.int8)
