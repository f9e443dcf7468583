"""What an intraday equity round trip costs in India, and the P/L net of it.

One table of rates (:data:`ZERODHA_INTRADAY_EQUITY`) with its source and the date it took
effect. For a round trip of ``quantity`` shares, bought at ``buy`` and sold at ``sell``
(rupees a share; a short sells first, the arithmetic is the same):

=========================  ===========================================================
charge                     on
=========================  ===========================================================
brokerage                  each executed order: the lower of ``brokerage_flat`` rupees
                           and ``brokerage_pct`` of the order's value
STT                        ``stt_sell_pct`` of the sell value
exchange transaction       ``exchange_pct[exchange]`` of the turnover (buy + sell value)
SEBI turnover fee          ``sebi_pct`` of the turnover
stamp duty                 ``stamp_buy_pct`` of the buy value
GST                        ``gst_pct`` of (brokerage + exchange transaction + SEBI fee)
=========================  ===========================================================

plus slippage: each of the two fills ``slippage_ticks`` ticks worse than the planned price.
Contract notes round STT and stamp duty per day and scrip; a single trade's estimate here
does not round. All functions take arrays (one element per trade) or scalars, in rupees.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np


@dataclass(frozen=True)
class ChargeRates:
    """Rates in percent of value unless named otherwise (see the module docstring)."""

    source: str
    effective: str  # ISO date the rates took effect
    brokerage_flat: float = 20.0  # rupees an executed order, at most
    brokerage_pct: float = 0.03
    stt_sell_pct: float = 0.025
    exchange_pct: dict[str, float] = field(default_factory=lambda: {"NSE": 0.00297, "BSE": 0.00375})
    sebi_pct: float = 0.0001  # Rs 10 a crore
    stamp_buy_pct: float = 0.003  # Rs 300 a crore
    gst_pct: float = 18.0


ZERODHA_INTRADAY_EQUITY = ChargeRates(
    source="zerodha.com/charges, equity intraday (NSE/BSE)",
    effective="2024-10-01",
)


def round_trip_charges(
    buy,
    sell,
    quantity,
    rates: ChargeRates = ZERODHA_INTRADAY_EQUITY,
    exchange: str = "NSE",
) -> np.ndarray:
    """Rupees a round trip of ``quantity`` shares bought at ``buy`` and sold at ``sell``
    costs in charges (slippage is not a charge: see :func:`net_pnl`)."""
    if exchange not in rates.exchange_pct:
        raise ValueError(f"no transaction charge rate for exchange {exchange!r}")
    buy_value = np.asarray(buy, dtype=np.float64) * quantity
    sell_value = np.asarray(sell, dtype=np.float64) * quantity
    turnover = buy_value + sell_value
    flat = rates.brokerage_flat
    brokerage = np.minimum(flat, buy_value * rates.brokerage_pct / 100) + np.minimum(
        flat, sell_value * rates.brokerage_pct / 100
    )
    transaction = turnover * rates.exchange_pct[exchange] / 100
    sebi = turnover * rates.sebi_pct / 100
    stt = sell_value * rates.stt_sell_pct / 100
    stamp = buy_value * rates.stamp_buy_pct / 100
    gst = (brokerage + transaction + sebi) * rates.gst_pct / 100
    return brokerage + transaction + sebi + stt + stamp + gst


def rates_of(settings, base: ChargeRates = ZERODHA_INTRADAY_EQUITY) -> ChargeRates:
    """``base`` with the brokerage ``settings`` give (BROKERAGE_FLAT, BROKERAGE_PCT)."""
    return replace(
        base, brokerage_flat=settings.brokerage_flat, brokerage_pct=settings.brokerage_pct
    )


@dataclass(frozen=True)
class NetResult:
    """A round trip's P/L after slippage and charges (arrays, one element per trade)."""

    gross_pnl: np.ndarray  # rupees at the planned prices
    slippage: np.ndarray  # rupees lost to the two fills' slippage
    charges: np.ndarray  # rupees
    net_pnl: np.ndarray  # rupees
    net_pnl_pct: np.ndarray  # of the entry value
    net_r: np.ndarray  # in multiples of the planned risk (entry to stop, times quantity)


def net_pnl(
    direction,
    entry,
    exit_price,
    stop,
    quantity,
    tick_size,
    slippage_ticks: float = 1.0,
    rates: ChargeRates = ZERODHA_INTRADAY_EQUITY,
    exchange: str = "NSE",
) -> NetResult:
    """Net P/L of trades in ``direction`` (+1 long, -1 short) from ``entry`` to
    ``exit_price`` for ``quantity`` (> 0) shares whose plan risked down to ``stop``."""
    direction = np.asarray(direction, dtype=np.float64)
    entry = np.asarray(entry, dtype=np.float64)
    exit_price = np.asarray(exit_price, dtype=np.float64)
    quantity = np.asarray(quantity, dtype=np.float64)
    if np.any(quantity <= 0):
        raise ValueError("quantity must be positive")
    slip = slippage_ticks * np.asarray(tick_size, dtype=np.float64)
    # Each fill is worse by the slippage: a long buys higher and sells lower.
    filled_entry = entry + direction * slip
    filled_exit = exit_price - direction * slip
    buy = np.where(direction > 0, filled_entry, filled_exit)
    sell = np.where(direction > 0, filled_exit, filled_entry)
    gross = direction * (exit_price - entry) * quantity
    slippage = 2 * slip * quantity
    charges = round_trip_charges(buy, sell, quantity, rates, exchange)
    net = gross - slippage - charges
    risk = np.abs(entry - np.asarray(stop, dtype=np.float64)) * quantity
    return NetResult(
        gross_pnl=gross,
        slippage=slippage,
        charges=charges,
        net_pnl=net,
        net_pnl_pct=net / (entry * quantity) * 100,
        net_r=np.divide(net, risk, out=np.full(net.shape, np.nan), where=risk > 0),
    )
