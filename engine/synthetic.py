"""Deterministic synthetic tick streams for self-tests, tests and benchmarks.

Not market data: every stream here is generated from its arguments so that a check can know
the true answer (a worked ratio, an imbalance) in advance.
"""

from __future__ import annotations

import numpy as np

from engine.ticks import MODE_FULL, empty_ticks


def steady_flow(
    instrument_token: int,
    start: int,
    seconds: int,
    step: int = 1,
    traded_per_second: float = 250.0,
    bid_depth: int = 10_000,
    ask_depth: int = 10_000,
    price: float = 100.0,
    trade_at: str = "bid",
    start_volume: int = 1_000_000,
    total_buy_quantity: int | None = None,
    total_sell_quantity: int | None = None,
    tick_size: float = 0.05,
    price_drift_per_second: float = 0.0,
) -> np.ndarray:
    """Full-mode ticks every ``step`` seconds over ``[start, start + seconds]`` (epoch seconds).

    Volume grows by ``traded_per_second`` exactly; 5-level depth totals ``bid_depth`` and
    ``ask_depth`` split evenly; trades print at the best ``bid``, ``ask`` or ``mid``, so the
    engine's quote rule classifies them as seller-, buyer-initiated or half each.
    """
    times = np.arange(start, start + seconds + 1, step, dtype=np.int64)
    ticks = empty_ticks(len(times))
    elapsed = times - start
    mid = np.round((price + price_drift_per_second * elapsed) / tick_size) * tick_size
    best_bid, best_ask = mid - tick_size, mid + tick_size
    ticks["instrument_token"] = instrument_token
    ticks["mode"] = MODE_FULL
    ticks["tradable"] = True
    ticks["exchange_timestamp"] = times
    ticks["last_trade_time"] = times
    ticks["volume_traded"] = start_volume + np.round(traded_per_second * elapsed).astype(np.int64)
    ticks["last_price"] = {"bid": best_bid, "ask": best_ask, "mid": mid}[trade_at]
    ticks["average_traded_price"] = price
    ticks["open"] = ticks["high"] = ticks["low"] = ticks["close"] = price
    ticks["change"] = 0.0
    levels = np.arange(5) * tick_size
    ticks["bid_price"] = best_bid[:, None] - levels
    ticks["ask_price"] = best_ask[:, None] + levels
    ticks["bid_qty"] = bid_depth // 5
    ticks["ask_qty"] = ask_depth // 5
    ticks["bid_qty"][:, 0] += bid_depth % 5
    ticks["ask_qty"][:, 0] += ask_depth % 5
    ticks["bid_orders"] = ticks["ask_orders"] = 3
    ticks["total_buy_quantity"] = (
        bid_depth * 10 if total_buy_quantity is None else total_buy_quantity
    )
    ticks["total_sell_quantity"] = (
        ask_depth * 10 if total_sell_quantity is None else total_sell_quantity
    )
    return ticks


def interleave(*streams: np.ndarray) -> np.ndarray:
    """Merge tick streams by exchange time (stable), as a feed would deliver them."""
    merged = np.concatenate(streams)
    return merged[np.argsort(merged["exchange_timestamp"], kind="stable")]
