"""Time-normalised institutional (iceberg) ratio.

The ratio measures how many times the visible order book was traded through per reference
period (60 s by default): traded volume per second, times the reference period, over the
time-averaged visible depth. A book that shows 1,000 shares while 15,000 trade in a minute was
refilled fifteen times: someone is hiding size behind it.

Dividing volume by the time it took and depth by the time it was shown is what makes the ratio
independent of the tick rate and of the window length: the same flow gives the same ratio
whether it is sampled every second or every five, over one minute or five.

Which depth: the engine classifies each volume increment by the side it traded against
(quote rule) and divides it by the depth of that side, the side being absorbed. Selling that
keeps hitting a small bid is absorbed by a hidden buyer (``bid`` absorption); buying that keeps
lifting a small ask is absorbed by a hidden seller (``ask`` absorption). The instrument's
institutional ratio is the larger of the two, and the side it came from is reported with it.
All arrays are per instrument (axis 0).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

ABSORBED_BID = 1  # selling absorbed by a small bid: a hidden buyer
ABSORBED_ASK = -1  # buying absorbed by a small ask: a hidden seller
ABSORBED_NONE = 0


@dataclass(frozen=True)
class InstitutionalActivity:
    """Ratio per instrument (NaN where undefined) and whether it reaches the threshold."""

    ratio: np.ndarray
    flagged: np.ndarray


def institutional_ratio(
    traded_volume: np.ndarray,
    depth_seconds: np.ndarray,
    reference_seconds: float = 60.0,
) -> np.ndarray:
    """Book turnovers per ``reference_seconds`` from window totals.

    ``traded_volume`` (shares) traded while ``depth_seconds`` (shares x seconds, the time
    integral of the visible depth) accumulated. NaN where no depth was seen.
    """
    traded_volume = np.asarray(traded_volume, dtype=np.float64)
    depth_seconds = np.asarray(depth_seconds, dtype=np.float64)
    ratio = np.full(np.broadcast(traded_volume, depth_seconds).shape, np.nan)
    np.divide(traded_volume * reference_seconds, depth_seconds, out=ratio, where=depth_seconds > 0)
    return ratio


def detect_institutional_activity_normalized(
    traded_volume: np.ndarray | float,
    visible_depth: np.ndarray | float,
    elapsed_seconds: np.ndarray | float,
    threshold: float = 2.5,
    reference_seconds: float = 60.0,
) -> InstitutionalActivity:
    """Flag hidden size: traded volume per unit time against the visible depth.

    Parameters
    ----------
    traded_volume : shares traded during ``elapsed_seconds`` (>= 0).
    visible_depth : time-averaged visible depth of the absorbed side over the same time,
        shares (> 0; NaN ratio otherwise).
    elapsed_seconds : length of the observation, seconds (> 0; NaN ratio otherwise).
    threshold : ratio at or above which activity is flagged (> 0).
    reference_seconds : the period the ratio is expressed per (> 0), 60 s by default.

    ``ratio = traded_volume / elapsed_seconds * reference_seconds / visible_depth``.
    Worked example over one minute: 10,000 shown and 10,000 traded gives 1.0 (not flagged);
    1,000 shown and 15,000 traded gives 15.0 (flagged at 2.5).
    """
    if threshold <= 0 or reference_seconds <= 0:
        raise ValueError("threshold and reference_seconds must be positive")
    traded_volume = np.asarray(traded_volume, dtype=np.float64)
    visible_depth = np.asarray(visible_depth, dtype=np.float64)
    elapsed_seconds = np.asarray(elapsed_seconds, dtype=np.float64)
    if np.any(traded_volume < 0):
        raise ValueError("traded_volume cannot be negative")
    depth_seconds = np.where(elapsed_seconds > 0, visible_depth * elapsed_seconds, np.nan)
    ratio = institutional_ratio(traded_volume, np.nan_to_num(depth_seconds), reference_seconds)
    flagged = np.nan_to_num(ratio, nan=0.0) >= threshold
    return InstitutionalActivity(ratio=ratio, flagged=flagged)


def side_ratios(
    buy_volume: np.ndarray,
    sell_volume: np.ndarray,
    bid_depth_seconds: np.ndarray,
    ask_depth_seconds: np.ndarray,
    reference_seconds: float = 60.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Institutional ratio of each side: ``(bid_ratio, ask_ratio)``.

    Seller-initiated volume is measured against the bid it hit (a hidden buyer absorbing),
    buyer-initiated volume against the ask it lifted (a hidden seller). NaN where that side
    showed no depth.
    """
    bid_ratio = institutional_ratio(sell_volume, bid_depth_seconds, reference_seconds)
    ask_ratio = institutional_ratio(buy_volume, ask_depth_seconds, reference_seconds)
    return bid_ratio, ask_ratio


def strongest_side(bid_ratio: np.ndarray, ask_ratio: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The larger of the two sides' ratios and its side (ties go to the bid): the side being
    absorbed. Side is :data:`ABSORBED_BID`, :data:`ABSORBED_ASK` or :data:`ABSORBED_NONE` (no
    depth seen on either)."""
    ratio = np.fmax(bid_ratio, ask_ratio)
    side = np.where(
        np.isnan(ratio),
        ABSORBED_NONE,
        np.where(
            np.nan_to_num(bid_ratio, nan=-1.0) >= np.nan_to_num(ask_ratio, nan=-1.0),
            ABSORBED_BID,
            ABSORBED_ASK,
        ),
    ).astype(np.int8)
    return ratio, side
