"""Entry, target, stop-loss and position size for a trade held over a horizon.

``atr`` is the volatility of the holding horizon (``engine.bars.horizon_atr``: the true range
of horizon-sized bars, not of a few seconds). For a long (ACCUMULATION, BUY):

* the stop sits below the entry by ``stop_atr_multiple`` ATRs; or, where an ``anchor`` price
  is known (the hidden buyer's price, or the low the price held), just beyond it:
  ``anchor_buffer`` ATRs below the anchor;
* never closer than ``floor`` (the instrument's typical one-minute range times a setting, and
  the spread) nor ``min_stop_ticks`` ticks, and rounded down to the tick grid (never closer);
* the target sits ``min_reward_risk`` times that risk above the entry, rounded up.

A short (DISTRIBUTION, SELL) mirrors it. Rounding away from the entry keeps the reward:risk at
or above ``min_reward_risk`` exactly. All arrays are per signal.

:func:`position_size` turns the plan into a quantity: the capital's risk budget over the
risk a share, never more than the capital buys. :func:`in_the_way` names what stands between
the entry and the target, and :func:`uncovered_costs` says when the plan's costs (slippage
both ways and a round trip's charges) would take all the target's gain: a plan nobody could
earn, shown as such.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.charges import net_pnl

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
    floor: np.ndarray | float = 0.0,
    anchor: np.ndarray | None = None,
    anchor_buffer: float = 0.25,
) -> RiskLevels:
    """Levels for ``direction`` +1 (long) or -1 (short) at ``entry`` with volatility ``atr``.

    ``atr``, ``floor`` and ``anchor`` are in price units (a NaN ``atr`` counts as no
    volatility, a NaN ``anchor`` as none known). ``tick_size`` > 0 in price units.
    """
    direction = np.asarray(direction, dtype=np.float64)
    tick = np.broadcast_to(np.asarray(tick_size, dtype=np.float64), direction.shape)
    if np.any(tick <= 0):
        raise ValueError("tick_size must be positive")
    if np.any((direction != 1) & (direction != -1)):
        raise ValueError("direction must be +1 (long) or -1 (short)")
    entry = np.round(np.asarray(entry, dtype=np.float64) / tick) * tick
    atr = np.nan_to_num(np.asarray(atr, dtype=np.float64))
    distance = stop_atr_multiple * atr
    if anchor is not None:
        anchor = np.asarray(anchor, dtype=np.float64)
        beyond = np.maximum(direction * (entry - anchor), 0.0) + anchor_buffer * atr
        distance = np.where(np.isnan(anchor), distance, beyond)
    floor = np.nan_to_num(np.asarray(floor, dtype=np.float64))
    distance = np.maximum(np.maximum(distance, floor), min_stop_ticks * tick)
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


def position_size(
    entry: np.ndarray,
    stop: np.ndarray,
    capital: float,
    risk_pct: float,
    lot_size: np.ndarray | int = 1,
) -> np.ndarray:
    """Whole lots of ``lot_size`` shares risking ``risk_pct`` percent of ``capital`` (rupees)
    from ``entry`` to ``stop``, never costing more than ``capital``; ``risk_pct`` 0 buys the
    whole capital's worth. 0 where not even one lot fits."""
    entry = np.asarray(entry, dtype=np.float64)
    lot = np.asarray(lot_size, dtype=np.float64)
    risk = np.abs(entry - np.asarray(stop, dtype=np.float64))
    affordable = np.floor(capital / (entry * lot))
    if risk_pct > 0:
        budget = capital * risk_pct / 100
        by_risk = np.floor(np.divide(budget, risk * lot, out=np.zeros_like(risk), where=risk > 0))
        affordable = np.minimum(affordable, by_risk)
    return (np.maximum(affordable, 0) * lot).astype(np.int64)


def in_the_way(
    direction: int,
    entry: float,
    target: float,
    day_high: float,
    day_low: float,
    hidden_price: float = float("nan"),
) -> str:
    """What stands between ``entry`` and ``target``: the day's high for a long (low for a
    short) and a hidden order on the other side (a seller at the ask for a long); "" if
    nothing is known to."""

    def between(price: float) -> bool:
        return (
            bool(np.isfinite(price))
            and direction * (price - entry) > 0
            and (direction * (target - price) > 0)
        )

    notes = []
    extreme, name = (day_high, "day high") if direction > 0 else (day_low, "day low")
    if between(extreme):
        notes.append(f"{name} {extreme:g} before the target")
    if between(hidden_price):
        side = "seller" if direction > 0 else "buyer"
        notes.append(f"hidden {side} at {hidden_price:g}")
    return "; ".join(notes)


def uncovered_costs(
    direction, entry, target, stop, quantity, tick_size, slippage_ticks: float, rates
) -> list[str]:
    """Per plan, ``"costs ₹C (N R) exceed the target's ₹G"`` when reaching the target would
    still lose money after slippage and charges (``rates``: an ``engine.charges.ChargeRates``),
    else "" (and "" for an unsized plan)."""
    quantity = np.asarray(quantity, dtype=np.float64)
    sized = quantity > 0
    result = net_pnl(
        direction,
        entry,
        target,
        stop,
        np.where(sized, quantity, 1.0),
        tick_size,
        slippage_ticks,
        rates,
    )
    costs = result.slippage + result.charges
    risk = np.abs(np.asarray(entry, dtype=np.float64) - np.asarray(stop)) * quantity
    notes = []
    for k in range(len(quantity)):
        if not sized[k] or result.net_pnl[k] > 0:
            notes.append("")
            continue
        in_r = f" ({costs[k] / risk[k]:.1f} R)" if risk[k] > 0 else ""
        gain = result.gross_pnl[k]
        notes.append(f"costs ₹{costs[k]:,.0f}{in_r} exceed the target's ₹{gain:,.0f}")
    return notes
