"""Signal rules and the explainable confidence score.

Rules (all per instrument; an instrument must be ``ready``):

=============  ==============================================================================
ACCUMULATION   a hidden buyer at the bid (an active iceberg of the level tracker: refills at
               one price that held while more traded there than the book ever showed) and no
               hidden seller at the ask, under selling in the **trade flow** (the window's
               seller-initiated volume above its buyer-initiated volume)
DISTRIBUTION   the mirror: a hidden seller at the ask under buying in the trade flow
BUY            strong visible buying (book imbalance >= STRONG_IMBALANCE), volume surge
               (>= VOLUME_SURGE_THRESHOLD), price rising (move >= TREND_MOVE_ATR), and PCR not
               bearish (a bullish PCR confirms and scores; a bearish one vetoes)
SELL           the mirror of BUY
=============  ==============================================================================

The conditions are mutually exclusive, so an instrument has at most one candidate type. The
iceberg holding its price is the "stable price" of accumulation: no ATR test is needed, and
momentum that simply bounces between bid and ask is not mistaken for absorption. The trade
flow need only lean the iceberg's way, not pass IMBALANCE_THRESHOLD: an iceberg supplies
liquidity to whoever trades against it (Frey and Sandas, 2009) and is not caused by one-sided
flow, so how one-sided the flow is neither gates nor scores the signal (see below).

Confidence. Each factor gives points, kept in ``Signal.factors``:

=================  ==============  ====================================================
factor             ACC / DIS       BUY / SELL
=================  ==============  ====================================================
base               3               2
pcr                4 / 0: the PCR's bias confirms / contradicts; a neutral or unknown PCR
                   says nothing and is left out of the total
institutional      0-5: iceberg evidence in the signal's favour (a hidden buyer for the
                   long types, a hidden seller for the short ones): the pace of its
                   refills (0-2), time held, size, and its hidden volume standing four
                   standard errors clear now, less 2 (never below 0) when that volume is
                   more than five displays (:mod:`engine.iceberg_evidence`)
imbalance          not scored      3 / 2: the visible book's pressure in the rule's
                                   direction >= STRONG / >= threshold
volume_surge       -2 at a surge   2 / 1: surge >= 2 x threshold / >= threshold
                   (>= threshold)
=================  ==============  ====================================================

Why the iceberg signals score differently: an iceberg supplies liquidity to whoever trades
against it (Frey and Sandas, 2009), so how one-sided the flow is says nothing about whether
the hidden order is there (the flow need only lean its way, see above); and in a volume
surge (news, a run) the crowd refills the touch too, so the volume no visible order explains
is weaker evidence of one hidden order: a surge counts against ACC/DIS. On the book
simulator's tuning seeds, ACC/DIS signals with surge points were right 0.18 of the time and
those with the top imbalance points 0.29, against 0.48 for all.

``confidence = 10 x points / possible``, rounded to one decimal and kept within 0-10:
``possible`` is 12 for ACC/DIS (base, PCR and institutional at their best) and 17 for
BUY/SELL (every factor's best), less the PCR's 4 when the PCR has no opinion, so a missing
input neither helps nor caps a signal (an ACCUMULATION on a stock without options can reach
10). A linear map rather than clamping keeps every factor able to move the score.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

import numpy as np

from engine import iceberg_evidence

FACTOR_NAMES = ("base", "pcr", "imbalance", "institutional", "volume_surge")
FACTOR_MAX_POINTS = {
    "base": 3,
    "pcr": 4,
    "imbalance": 3,
    "institutional": iceberg_evidence.MAX_POINTS,
    "volume_surge": 2,
}
MAX_POINTS = sum(FACTOR_MAX_POINTS.values())  # 17
# What an ACCUMULATION or DISTRIBUTION can score: flow imbalance is not scored for them and
# a volume surge only counts against them.
ICEBERG_MAX_POINTS = sum(FACTOR_MAX_POINTS[name] for name in ("base", "pcr", "institutional"))
SURGE_PENALTY = 2  # points an ACC/DIS loses in a volume surge (the crowd refills the touch)


class SignalType(StrEnum):
    ACCUMULATION = "ACCUMULATION"
    DISTRIBUTION = "DISTRIBUTION"
    BUY = "BUY"
    SELL = "SELL"


LONG_TYPES = frozenset({SignalType.ACCUMULATION, SignalType.BUY})
ICEBERG_TYPES = frozenset({SignalType.ACCUMULATION, SignalType.DISTRIBUTION})


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
    possible: np.ndarray  # the points each candidate could score (see the module docstring)

    @property
    def signal_type(self) -> np.ndarray:
        return SIGNAL_TYPE_NAMES[self.signal_code]


def _tiered(value: np.ndarray, low: float, high: float, low_points: int, high_points: int):
    value = np.nan_to_num(value, nan=-np.inf)
    return np.where(value >= high, high_points, np.where(value >= low, low_points, 0))


def generate_signal(
    order_imbalance,
    volume_surge,
    price_move_atr,
    pcr_bias,
    settings,
    ready=True,
    hidden=None,
    evidence=None,
    tape_imbalance=None,
) -> SignalCandidates:
    """Classify instruments into signal candidates and score them (see the module docstring).

    Arrays (or scalars) per instrument: ``order_imbalance`` of the visible book and
    ``tape_imbalance`` of the window's trade flow (buyer- minus seller-initiated volume over
    both; the book's when not given), -1..1; ``pcr_bias`` +1 bullish, -1 bearish, 0 neutral,
    NaN unknown. ``hidden`` (instruments x 2, bool) and ``evidence`` (instruments x 2,
    points) come from :func:`engine.iceberg_evidence.total_points`: column 0 a hidden
    buyer at the bid, column 1 a hidden seller at the ask (none when not given).
    ``settings`` supplies the thresholds (``config.Settings``).
    """
    imbalance = np.atleast_1d(np.asarray(order_imbalance, dtype=np.float64))
    shape = imbalance.shape
    tape = imbalance if tape_imbalance is None else np.asarray(tape_imbalance, np.float64)
    tape = np.broadcast_to(np.nan_to_num(tape, nan=0.0), shape)
    surge = np.broadcast_to(np.asarray(volume_surge, dtype=np.float64), shape)
    move = np.broadcast_to(np.asarray(price_move_atr, dtype=np.float64), shape)
    bias = np.broadcast_to(np.asarray(pcr_bias, dtype=np.float64), shape)
    ready = np.broadcast_to(np.asarray(ready, dtype=bool), shape)
    sides = (*shape, 2)
    hidden = np.broadcast_to(np.zeros(sides, bool) if hidden is None else hidden, sides)
    evidence = np.broadcast_to(0 if evidence is None else evidence, sides)

    surging = np.nan_to_num(surge, nan=0.0) >= settings.volume_surge_threshold
    # An iceberg supplies liquidity: it needs the other side's flow to be there, not to be
    # one-sided (how one-sided it is scores under ``imbalance``).
    accumulation = hidden[:, 0] & ~hidden[:, 1] & (tape < 0)
    distribution = hidden[:, 1] & ~hidden[:, 0] & (tape > 0)
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
    opinion = ~np.isnan(bias) & (bias != 0)  # a PCR that leans one way
    pcr_points = np.where(opinion & (bias * direction > 0), 4, 0)
    pressure = imbalance * direction  # momentum follows the visible book (ACC/DIS: unscored)
    # Only a hidden order in the signal's favour is evidence for it: a buyer at the bid for
    # the long signals, a seller at the ask for the short ones. A hidden seller soaking up
    # the buying behind a BUY is evidence against it and scores nothing.
    favour = np.where(direction > 0, evidence[:, 0], evidence[:, 1])
    iceberg = code <= 2  # ACCUMULATION or DISTRIBUTION (where active)
    points = {
        "base": np.where(iceberg, 3, 2),
        "pcr": pcr_points,
        "imbalance": np.where(
            iceberg,
            0,
            _tiered(pressure, settings.imbalance_threshold, settings.strong_imbalance, 2, 3),
        ),
        "institutional": favour,
        "volume_surge": np.where(
            iceberg,
            -SURGE_PENALTY * surging,
            _tiered(
                surge, settings.volume_surge_threshold, 2 * settings.volume_surge_threshold, 1, 2
            ),
        ),
    }
    points = {name: np.where(active, value, 0).astype(np.int8) for name, value in points.items()}
    total = sum(points.values())
    possible = np.where(iceberg, ICEBERG_MAX_POINTS, MAX_POINTS) - np.where(
        opinion, 0, FACTOR_MAX_POINTS["pcr"]
    )
    confidence = np.clip(np.round(10.0 * total / possible, 1), 0.0, 10.0)
    return SignalCandidates(
        signal_code=code, points=points, confidence=confidence, possible=possible
    )
