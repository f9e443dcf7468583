"""Signal rules and the explainable confidence score.

Rules (all per instrument, on the window's metrics; an instrument must be ``ready``):

=============  ==============================================================================
ACCUMULATION   institutional ratio >= threshold on the BID side (selling absorbed by a hidden
               buyer) and unusual for the instrument (robust z >= MIN_RATIO_Z against its own
               history), visible selling (order imbalance <= -IMBALANCE_THRESHOLD), price
               stable (|move| <= STABLE_MOVE_ATR)
DISTRIBUTION   the mirror: ratio >= threshold (and unusual) on the ASK side, visible buying,
               price capped
BUY            strong visible buying (imbalance >= STRONG_IMBALANCE), volume surge
               (>= VOLUME_SURGE_THRESHOLD), price rising (move >= TREND_MOVE_ATR), and PCR not
               bearish (a bullish PCR confirms and scores; a bearish one vetoes)
SELL           the mirror of BUY
=============  ==============================================================================

The conditions are mutually exclusive, so an instrument has at most one candidate type.

Confidence. Each factor gives points, kept in ``Signal.factors``:

=================  =====  ===========================================================
factor             points  when
=================  =====  ===========================================================
base               3 / 2  ACCUMULATION or DISTRIBUTION / BUY or SELL
pcr                4 2 1 0  bias confirms / neutral / no PCR / contradicts
imbalance          3 / 2  pressure in the rule's direction >= STRONG / >= threshold
institutional      3 / 2  ratio of the side in the signal's favour (the bid's for the long
                          types, the ask's for the short) >= 2 x threshold / >= threshold
volume_surge       2 / 1  surge >= 2 x threshold / >= threshold (0 below or unknown)
=================  =====  ===========================================================

The points (at most 15) map linearly to ``confidence = 10 x points / 15``, rounded to one
decimal and clamped to 0-10. A linear map rather than clamping the sum at 10 keeps every
factor able to move the score: with a clamp, 10 to 15 points would all read "10".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

import numpy as np

from engine.institutional import ABSORBED_ASK, ABSORBED_BID

FACTOR_NAMES = ("base", "pcr", "imbalance", "institutional", "volume_surge")
FACTOR_MAX_POINTS = {"base": 3, "pcr": 4, "imbalance": 3, "institutional": 3, "volume_surge": 2}
MAX_POINTS = sum(FACTOR_MAX_POINTS.values())  # 15


class SignalType(StrEnum):
    ACCUMULATION = "ACCUMULATION"
    DISTRIBUTION = "DISTRIBUTION"
    BUY = "BUY"
    SELL = "SELL"


LONG_TYPES = frozenset({SignalType.ACCUMULATION, SignalType.BUY})


def direction_of(signal_type: str) -> int:
    """+1 for the long signal types (ACCUMULATION, BUY), -1 for the short ones."""
    return 1 if signal_type in LONG_TYPES else -1


NO_SIGNAL = 0
SIGNAL_CODES = {
    SignalType.ACCUMULATION: 1,
    SignalType.DISTRIBUTION: 2,
    SignalType.BUY: 3,
    SignalType.SELL: 4,
}
SIGNAL_OF_CODE = {code: kind for kind, code in SIGNAL_CODES.items()}
SIGNAL_TYPE_NAMES = np.array(["", "ACCUMULATION", "DISTRIBUTION", "BUY", "SELL"])
# +1 for the long signals, -1 for the short ones, indexed by code.
SIGNAL_DIRECTION = np.array([0, 1, -1, 1, -1], dtype=np.int8)
# Sign of the visible order imbalance each rule looks for: iceberg signals fade the visible
# pressure (accumulation under visible selling), momentum signals follow it.
RULE_PRESSURE = np.array([0, -1, 1, 1, -1], dtype=np.int8)


@dataclass(frozen=True)
class Signal:
    """A signal that became active, with everything needed to act on it and to explain it."""

    symbol: str
    instrument_token: int
    signal_type: SignalType
    confidence: float  # 0-10
    rank_points: float  # 0-15, relative to the watchlist at that moment
    entry: float
    target: float
    stop_loss: float
    institutional_ratio: float
    order_imbalance: float  # -1..1, + is visible buying
    volume_surge: float  # window volume rate / baseline rate, NaN if no baseline yet
    pcr: float  # NaN when no PCR is known
    pcr_bias: str
    factors: dict[str, Any] = field(default_factory=dict)
    timestamp: datetime | None = None  # exchange time of the tick that completed it
    quantity: int = 0  # shares the plan sizes (CAPITAL, RISK_PER_TRADE_PCT); 0 unsized
    plan_note: str = ""  # what stands between the entry and the target

    @property
    def direction(self) -> int:
        return direction_of(self.signal_type)

    @property
    def reward_risk(self) -> float:
        risk = abs(self.entry - self.stop_loss)
        return abs(self.target - self.entry) / risk if risk > 0 else float("nan")

    def as_json(self) -> dict[str, Any]:
        """The signal as JSON-ready values (the API's and the alerts'; NaN as None)."""

        def number(value: float) -> float | None:
            return None if value != value else float(value)  # NaN is not equal to itself

        return {
            "symbol": self.symbol,
            "signal_type": str(self.signal_type),
            "time": self.timestamp.isoformat() if self.timestamp else None,
            "confidence": self.confidence,
            "rank_points": self.rank_points,
            "entry": self.entry,
            "target": self.target,
            "stop_loss": self.stop_loss,
            "quantity": self.quantity,
            "plan_note": self.plan_note,
            "pcr": number(self.pcr),
            "pcr_bias": self.pcr_bias,
            "factors": {
                k: v if isinstance(v, int | float | str | bool) else str(v)
                for k, v in self.factors.items()
            },
        }


@dataclass(frozen=True)
class SignalCandidates:
    """Per-instrument result of :func:`generate_signal`: a code per instrument (0 = none)."""

    signal_code: np.ndarray
    points: dict[str, np.ndarray]
    confidence: np.ndarray

    @property
    def signal_type(self) -> np.ndarray:
        return SIGNAL_TYPE_NAMES[self.signal_code]


def _tiered(value: np.ndarray, low: float, high: float, low_points: int, high_points: int):
    value = np.nan_to_num(value, nan=-np.inf)
    return np.where(value >= high, high_points, np.where(value >= low, low_points, 0))


def generate_signal(
    institutional_ratio,
    absorbed_side,
    order_imbalance,
    volume_surge,
    price_move_atr,
    pcr_bias,
    settings,
    ready=True,
    bid_ratio=None,
    ask_ratio=None,
    ratio_z=None,
) -> SignalCandidates:
    """Classify instruments into signal candidates and score them (see the module docstring).

    Arrays (or scalars) per instrument: ``absorbed_side`` is ABSORBED_BID / ABSORBED_ASK / 0;
    ``pcr_bias`` is +1 bullish, -1 bearish, 0 neutral, NaN unknown. ``settings`` supplies the
    thresholds (``config.Settings``). ``bid_ratio`` / ``ask_ratio`` are each side's own ratio
    (:func:`engine.institutional.side_ratios`); without them only ``institutional_ratio`` of
    the side in the signal's favour scores. ``ratio_z`` is how unusual the ratio is for each
    instrument (:mod:`engine.baseline`; NaN unknown): ACCUMULATION and DISTRIBUTION need it
    at least ``MIN_RATIO_Z``; without it that test is skipped.
    """
    ratio = np.atleast_1d(np.asarray(institutional_ratio, dtype=np.float64))
    shape = ratio.shape
    side = np.broadcast_to(absorbed_side, shape)
    imbalance = np.broadcast_to(np.asarray(order_imbalance, dtype=np.float64), shape)
    surge = np.broadcast_to(np.asarray(volume_surge, dtype=np.float64), shape)
    move = np.broadcast_to(np.asarray(price_move_atr, dtype=np.float64), shape)
    bias = np.broadcast_to(np.asarray(pcr_bias, dtype=np.float64), shape)
    ready = np.broadcast_to(np.asarray(ready, dtype=bool), shape)

    threshold = settings.institutional_threshold
    stable = np.abs(move) <= settings.stable_move_atr
    flagged = np.nan_to_num(ratio, nan=0.0) >= threshold
    if ratio_z is not None:
        unusual = np.broadcast_to(np.asarray(ratio_z, dtype=np.float64), shape)
        flagged = flagged & (np.nan_to_num(unusual, nan=-np.inf) >= settings.min_ratio_z)
    surging = np.nan_to_num(surge, nan=0.0) >= settings.volume_surge_threshold
    accumulation = (
        flagged & (side == ABSORBED_BID) & (imbalance <= -settings.imbalance_threshold) & stable
    )
    distribution = (
        flagged & (side == ABSORBED_ASK) & (imbalance >= settings.imbalance_threshold) & stable
    )
    buy = (
        (imbalance >= settings.strong_imbalance)
        & surging
        & (move >= settings.trend_move_atr)
        & ~(bias < 0)
    )
    sell = (
        (imbalance <= -settings.strong_imbalance)
        & surging
        & (move <= -settings.trend_move_atr)
        & ~(bias > 0)
    )
    code = np.select(
        [accumulation, distribution, buy, sell], [1, 2, 3, 4], default=NO_SIGNAL
    ).astype(np.int8)
    code[~ready] = NO_SIGNAL

    direction = SIGNAL_DIRECTION[code].astype(np.float64)
    active = code != NO_SIGNAL
    pcr_points = np.where(
        np.isnan(bias), 1, np.where(bias == 0, 2, np.where(bias * direction > 0, 4, 0))
    )
    pressure = imbalance * RULE_PRESSURE[code]
    # Only absorption in the signal's favour is evidence for it: a hidden buyer at the bid
    # for the long signals, a hidden seller at the ask for the short ones. A hidden seller
    # soaking up the buying behind a BUY is evidence against it and scores nothing.
    if bid_ratio is not None and ask_ratio is not None:
        bid = np.broadcast_to(np.asarray(bid_ratio, dtype=np.float64), shape)
        ask = np.broadcast_to(np.asarray(ask_ratio, dtype=np.float64), shape)
        supporting = np.where(direction > 0, bid, ask)
    else:
        supporting = np.where(side == direction, ratio, np.nan)
    points = {
        "base": np.where(code <= 2, 3, 2),
        "pcr": pcr_points,
        "imbalance": _tiered(
            pressure, settings.imbalance_threshold, settings.strong_imbalance, 2, 3
        ),
        "institutional": _tiered(supporting, threshold, 2 * threshold, 2, 3),
        "volume_surge": _tiered(
            surge, settings.volume_surge_threshold, 2 * settings.volume_surge_threshold, 1, 2
        ),
    }
    points = {name: np.where(active, value, 0).astype(np.int8) for name, value in points.items()}
    total = sum(points.values())
    confidence = np.clip(np.round(10.0 * total / MAX_POINTS, 1), 0.0, 10.0)
    return SignalCandidates(signal_code=code, points=points, confidence=confidence)
