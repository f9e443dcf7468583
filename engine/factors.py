"""Order-flow factors besides the institutional ratio, each a function over instruments.

All arrays are per instrument. Divisions are guarded: an undefined factor is NaN, never an error.
"""

from __future__ import annotations

import numpy as np

PRICE_UNKNOWN, PRICE_STABLE, PRICE_CAPPED, PRICE_RISING, PRICE_FALLING, PRICE_DRIFTING = range(6)
PRICE_STATE_NAMES = np.array(["UNKNOWN", "STABLE", "CAPPED", "RISING", "FALLING", "DRIFTING"])


def order_imbalance(buy_quantity: np.ndarray, sell_quantity: np.ndarray) -> np.ndarray:
    """``(buy - sell) / (buy + sell)`` in -1..1: +1 all bids, -1 all offers, 0 if both empty."""
    buy = np.asarray(buy_quantity, dtype=np.float64)
    sell = np.asarray(sell_quantity, dtype=np.float64)
    total = buy + sell
    return np.divide(buy - sell, total, out=np.zeros(total.shape), where=total > 0)


def volume_surge(
    window_volume: np.ndarray,
    window_seconds: np.ndarray,
    baseline_volume: np.ndarray,
    baseline_seconds: np.ndarray,
    min_baseline_seconds: float,
) -> np.ndarray:
    """Volume rate in the window over the instrument's own baseline rate (1.0 = usual).

    Rates are shares per second of observed flow. NaN until the baseline has at least
    ``min_baseline_seconds`` of observation and some volume, so a quiet start is not a surge.
    """
    window_rate = np.divide(
        window_volume,
        window_seconds,
        out=np.zeros(np.shape(window_volume)),
        where=np.asarray(window_seconds) > 0,
    )
    known = (np.asarray(baseline_seconds) >= min_baseline_seconds) & (
        np.asarray(baseline_volume) > 0
    )
    baseline_rate = np.divide(
        baseline_volume, baseline_seconds, out=np.ones(np.shape(baseline_volume)), where=known
    )
    return np.where(known, window_rate / baseline_rate, np.nan)


def true_range(high: np.ndarray, low: np.ndarray, previous_close: np.ndarray) -> np.ndarray:
    """``max(high, previous close) - min(low, previous close)``, price units.

    A missing previous close (NaN) leaves the plain range; a bucket without trades is NaN.
    """
    return np.fmax(high, previous_close) - np.fmin(low, previous_close)


def price_move(last_price: np.ndarray, window_open: np.ndarray, atr: np.ndarray) -> np.ndarray:
    """Price change over the window in units of the instrument's ATR (NaN if unknown)."""
    move = np.full(np.shape(last_price), np.nan)
    return np.divide(np.asarray(last_price) - window_open, atr, out=move, where=np.asarray(atr) > 0)


def price_state(
    move_atr: np.ndarray,
    imbalance: np.ndarray,
    stable_move_atr: float,
    trend_move_atr: float,
    imbalance_threshold: float,
) -> np.ndarray:
    """Label each instrument's price action (codes index :data:`PRICE_STATE_NAMES`).

    RISING / FALLING: moved at least ``trend_move_atr`` ATRs. STABLE: within
    ``stable_move_atr``. CAPPED: stable although visible buying leads by at least
    ``imbalance_threshold`` (buyers cannot lift it). DRIFTING: in between. UNKNOWN: no ATR yet.
    """
    move = np.asarray(move_atr)
    stable = np.abs(move) <= stable_move_atr
    return np.select(
        [
            np.isnan(move),
            move >= trend_move_atr,
            move <= -trend_move_atr,
            stable & (np.asarray(imbalance) >= imbalance_threshold),
            stable,
        ],
        [PRICE_UNKNOWN, PRICE_RISING, PRICE_FALLING, PRICE_CAPPED, PRICE_STABLE],
        default=PRICE_DRIFTING,
    ).astype(np.int8)


def vwap_distance_pct(last_price: np.ndarray, vwap: np.ndarray) -> np.ndarray:
    """Distance of the last price from the day's VWAP, percent of VWAP (NaN if unknown)."""
    vwap = np.asarray(vwap, dtype=np.float64)
    return np.divide(
        (np.asarray(last_price) - vwap) * 100,
        vwap,
        out=np.full(vwap.shape, np.nan),
        where=vwap > 0,
    )
