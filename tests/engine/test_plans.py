"""Trade plans on the holding horizon: one-minute bars, stops beyond the hidden order, sizes."""

from __future__ import annotations

import numpy as np
import pytest

from engine import SignalEngine, SignalType
from engine.bars import MinuteBars, horizon_atr, typical_minute_range
from engine.charges import ZERODHA_INTRADAY_EQUITY
from engine.risk import in_the_way, position_size, risk_levels, uncovered_costs
from engine.state import RollingFlowState
from engine.synthetic import steady_flow
from tests.engine.test_core import START, WATCHLIST, episode, feed, warm_session


def swinging(ticks: np.ndarray, token: int, amplitude: float = 0.5) -> np.ndarray:
    """``token``'s quote swings ``amplitude`` up and back down every minute, on the grid."""
    mine = ticks["instrument_token"] == token
    elapsed = ticks["exchange_timestamp"][mine] - START
    offset = np.round(amplitude / 2 * (1 - np.cos(2 * np.pi * elapsed / 60)) / 0.05) * 0.05
    ticks = ticks.copy()
    for name in ("last_price",):
        ticks[name][mine] += offset
    for name in ("bid_price", "ask_price"):
        ticks[name][mine] += offset[:, None]
    return ticks


def test_minute_bars_hold_every_print_of_their_minute_and_the_day_extremes():
    state = RollingFlowState(1, 5, 180, 30)
    bars = MinuteBars(1, capacity=30)
    ticks = steady_flow(7, START, 179, trade_at="mid")
    ticks["last_price"] = 100 + (np.arange(180) % 60) * 0.05  # 100.00 -> 102.95 each minute
    ticks["last_price"][90] = 90.0  # one low print mid-way through the second minute
    # All three minutes arrive in one batch: the bars still see each print.
    state.ingest(np.zeros(len(ticks), dtype=np.int64), ticks)
    state.ingest(np.zeros(1, dtype=np.int64), steady_flow(7, START + 200, 0, trade_at="mid"))
    state.complete_buckets()
    bars.fold(state)
    high, low, close = bars.window([0], (START + 180) // 60, 3)
    assert high[0].tolist() == pytest.approx([102.95] * 3)
    assert low[0].tolist() == pytest.approx([100.0, 90.0, 100.0])
    assert close[0].tolist() == pytest.approx([102.95] * 3)
    assert (bars.day_low[0], bars.day_high[0]) == (90.0, pytest.approx(102.95))


def test_horizon_atr_is_the_true_range_of_bars_of_the_horizon():
    # Six one-minute bars, two bars of three minutes: the first ranges 100-102 (2); the
    # second 103-106, and from the first bar's close (101) to its high 5.
    high = np.array([[101.0, 102, 101, 106, 105, 104]])
    low = np.array([[100.0, 100, 100, 104, 104, 103]])
    close = np.array([[100.5, 101, 101, 105, 104, 103.5]])
    assert horizon_atr(high, low, close, 3)[0] == pytest.approx((2 + 5) / 2)
    assert typical_minute_range(high, low)[0] == pytest.approx(1.0)  # 1 2 1 2 1 1
    # Minutes that did not trade are skipped; nothing traded at all is NaN.
    high[0, :3] = low[0, :3] = close[0, :3] = np.nan
    assert horizon_atr(high, low, close, 3)[0] == pytest.approx(3.0)
    assert np.isnan(horizon_atr(np.full((1, 6), np.nan), *[np.full((1, 6), np.nan)] * 2, 3)[0])


def test_an_accumulation_stop_sits_beyond_the_hidden_buyers_price_and_never_inside_the_floor():
    levels = risk_levels(
        np.array([1, 1, -1]),
        np.array([100.0, 100.0, 100.0]),
        np.array([2.0, 2.0, 2.0]),
        0.05,
        floor=np.array([0.5, 5.0, 0.5]),
        anchor=np.array([99.0, 99.0, 101.0]),
        anchor_buffer=0.25,
    )
    # Beyond the anchor by a quarter ATR; the second's floor of 5 wins; the short mirrors.
    assert levels.stop_loss.tolist() == pytest.approx([98.5, 95.0, 101.5])
    assert levels.target.tolist() == pytest.approx([103.0, 110.0, 97.0])


def test_position_size_spends_the_risk_budget_never_more_than_the_capital():
    size = position_size(
        np.array([100.0, 100.0, 5_000.0]),
        np.array([99.0, 99.9, 4_990.0]),
        capital=100_000,
        risk_pct=1.0,
    )
    # 1,000 rupees at risk: 1,000 shares at 1 rupee of risk; 10,000 at 0.10 but the capital
    # buys only 1,000; 20 shares of 5,000 cost all of it.
    assert size.tolist() == [1_000, 1_000, 20]
    assert position_size(np.array([100.0]), np.array([99.0]), 100_000, 0.0).tolist() == [1_000]
    assert position_size(np.array([100.0]), np.array([99.0]), 50, 1.0).tolist() == [0]


def test_the_plan_names_what_stands_between_entry_and_target():
    assert in_the_way(1, 100.0, 104.0, 102.5, 95.0, 103.0) == (
        "day high 102.5 before the target; hidden seller at 103"
    )
    assert in_the_way(-1, 100.0, 96.0, 105.0, 99.0) == "day low 99 before the target"
    assert in_the_way(1, 100.0, 104.0, 106.0, 95.0) == ""


def test_a_plan_says_when_its_costs_would_take_the_whole_target():
    notes = uncovered_costs(
        np.array([1, 1, -1]),
        np.array([1419.7, 100.0, 100.0]),
        np.array([1420.1, 104.0, 96.0]),
        np.array([1419.5, 98.0, 102.0]),
        np.array([70, 500, 0]),
        np.array([0.05, 0.05, 0.05]),
        1.0,
        ZERODHA_INTRADAY_EQUITY,
    )
    # 70 shares for 0.40 a share: 28 rupees; a tick of slippage each way (7) and the round
    # trip's charges (brokerage 2 x 20, STT 24.85, exchange 5.90, stamp 2.98, SEBI 0.20,
    # GST 8.30) come to 89, 6.4 times the 14 rupees at risk.
    assert notes[0] == "costs ₹89 (6.4 R) exceed the target's ₹28"
    assert notes[1:] == ["", ""]  # 2,000 rupees of target covers its costs; unsized: nothing


def test_a_signal_plans_on_the_holding_horizon_not_on_a_few_seconds(settings):
    # Ten minutes in which ICEBERG swings half a rupee every minute, then a hidden buyer at
    # a steady price: the stop must lie outside one minute's swing, not a few ticks away.
    overrides = {"capital": 1_000_000, "risk_per_trade_pct": 0.1}
    engine = SignalEngine(settings.model_copy(update=overrides), WATCHLIST)
    warm = swinging(warm_session(), 101)
    assert feed(engine, warm) == []
    signals = feed(engine, episode(warm, START + 601, 180))
    [signal] = [s for s in signals if s.signal_type == SignalType.ACCUMULATION]
    risk = signal.entry - signal.stop_loss
    assert risk >= 0.5 - 1e-9  # the typical one-minute range
    assert signal.stop_loss < 99.95  # below the held low (the bid it traded at)
    assert signal.reward_risk >= settings.min_reward_risk - 1e-9
    assert signal.quantity == int(1_000 // risk)  # 0.1 % of 10 lakh at risk
    assert signal.plan_note == "day high 100.5 before the target"


def test_a_futures_plan_is_sized_in_whole_lots(settings):
    overrides = {"capital": 10_000_000, "risk_per_trade_pct": 0.1}
    engine = SignalEngine(settings.model_copy(update=overrides), WATCHLIST, lot_sizes={101: 75})
    warm = swinging(warm_session(), 101)
    feed(engine, warm)
    [signal] = [s for s in feed(engine, episode(warm, START + 601, 180)) if s.symbol == "ICEBERG"]
    risk = signal.entry - signal.stop_loss
    assert signal.quantity % 75 == 0 and signal.quantity > 0
    assert signal.quantity == int(10_000 // (risk * 75)) * 75  # 0.1 % of 1 crore at risk
