"""Entry, target and stop-loss from recent volatility, on the instrument's tick grid.

For a long (ACCUMULATION, BUY) the stop sits ``stop_atr_multiple`` ATRs below the entry, at
least ``min_stop_ticks`` ticks, rounded down to the tick grid (never closer); the target sits
``min_reward_risk`` times that risk above the entry, rounded up (never closer). A short
(DISTRIBUTION, SELL) mirrors it. Rounding away from the entry keeps the reward:risk at or
above ``min_reward_risk`` exactly. All arrays are per signal.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Rounding to a tick works on a tiny tolerance so that 100.05 / 0.05 does not land on
# 2000.9999999 and round a whole tick the wrong way.
_GRID_TOLERANCE = 1e-9


@dataclass(frozen=True)
class RiskLevels:
    entry: np.ndarray
    target: np.ndarray
    stop_loss: np.ndarray

    @property
    def reward_risk(self) -> np.ndarray:
        risk = np.abs(self.entry - self.stop_loss)
        return np.divide(
            np.abs(self.target - self.entry),
            risk,
            out=np.full(risk.shape, np.nan),
            where=risk > 0,
        )


def floor_to_tick(price: np.ndarray, tick_size: np.ndarray) -> np.ndarray:
    return np.floor(np.asarray(price) / tick_size + _GRID_TOLERANCE) * tick_size


def ceil_to_tick(price: np.ndarray, tick_size: np.ndarray) -> np.ndarray:
    return np.ceil(np.asarray(price) / tick_size - _GRID_TOLERANCE) * tick_size


def risk_levels(
    direction: np.ndarray,
    entry: np.ndarray,
    atr: np.ndarray,
    tick_size: np.ndarray | float,
    stop_atr_multiple: float = 1.5,
    min_reward_risk: float = 2.0,
    min_stop_ticks: int = 2,
) -> RiskLevels:
    """Levels for ``direction`` +1 (long) or -1 (short) at ``entry`` with volatility ``atr``.

    ``atr`` is in price units over the detection window (NaN is treated as no volatility,
    giving the minimum stop). ``tick_size`` > 0 in price units.
    """
    direction = np.asarray(direction, dtype=np.float64)
    tick = np.broadcast_to(np.asarray(tick_size, dtype=np.float64), direction.shape)
    if np.any(tick <= 0):
        raise ValueError("tick_size must be positive")
    if np.any((direction != 1) & (direction != -1)):
        raise ValueError("direction must be +1 (long) or -1 (short)")
    entry = np.round(np.asarray(entry, dtype=np.float64) / tick) * tick
    distance = np.maximum(np.nan_to_num(stop_atr_multiple * np.asarray(atr)), min_stop_ticks * tick)
    long = direction > 0
    stop = np.where(
        long, floor_to_tick(entry - distance, tick), ceil_to_tick(entry + distance, tick)
    )
    risk = np.abs(entry - stop)
    target = np.where(
        long,
        ceil_to_tick(entry + min_reward_risk * risk, tick),
        floor_to_tick(entry - min_reward_risk * risk, tick),
    )
    decimals = int(max(0, -np.floor(np.log10(tick.min())) + 2)) if tick.size else 2
    return RiskLevels(
        entry=np.round(entry, decimals),
        target=np.round(target, decimals),
        stop_loss=np.round(stop, decimals),
    )
