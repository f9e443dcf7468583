"""Trading phases: only continuous-session flow reaches the windows."""

from __future__ import annotations

from datetime import datetime

import numpy as np

from engine import SignalEngine
from engine.sessions import in_continuous_session, ist_today, session_end
from engine.synthetic import steady_flow

DAY = 1_763_001_000  # 2025-11-13 08:00 IST


def at(hour: int, minute: int) -> int:
    return DAY + (hour - 8) * 3600 + minute * 60


def test_continuous_session_is_0915_to_1530_ist():
    times = np.array([at(9, 14), at(9, 15), at(15, 29), at(15, 30), at(15, 45)])
    assert in_continuous_session(times).tolist() == [False, True, True, False, False]
    assert session_end(at(10, 0)) == at(15, 30)


def test_ist_today_is_the_ist_date_not_utc():
    late_utc = datetime.fromisoformat("2026-11-24T20:00:00+00:00")  # 01:30 IST on the 25th
    assert str(ist_today(late_utc)) == "2026-11-25"


def test_the_auction_and_the_closing_session_never_reach_the_windows(settings):
    engine = SignalEngine(settings, {101: "AAA"})
    # Pre-open 09:00-09:08: orders collected; the auction's match lands as one volume jump
    # at 09:15 against the pre-open book.
    pre_open = steady_flow(101, at(9, 0), 480, traded_per_second=0, bid_depth=500)
    engine.update(pre_open)
    jump = steady_flow(101, at(9, 15), 0, start_volume=5_000_000)
    engine.update(jump)
    assert engine.state.totals["buy_volume"].sum() + engine.state.totals["sell_volume"].sum() == 0
    continuous = steady_flow(101, at(9, 15) + 1, 60, traded_per_second=100, start_volume=5_000_100)
    for second in range(61):
        engine.update(continuous[second : second + 1])
    traded = engine.state.totals["buy_volume"].sum() + engine.state.totals["sell_volume"].sum()
    assert traded == 6_100  # 61 s x 100 after the 09:15:00 tick set the baseline
    closing = steady_flow(101, at(15, 40), 600, traded_per_second=900, start_volume=9_000_000)
    engine.update(closing)
    assert engine.snapshot()["last_price"].iloc[0] == closing["last_price"][-1]  # quotes go on
    after = engine.state.totals["buy_volume"].sum() + engine.state.totals["sell_volume"].sum()
    assert after == 0  # the morning has left the ring and nothing of 15:40-15:50 entered


def test_a_round_the_clock_engine_folds_every_tick(settings):
    engine = SignalEngine(settings, {101: "AAA"}, continuous_only=False)
    engine.update(steady_flow(101, at(20, 0), 30, traded_per_second=100))
    assert engine.state.totals["sell_volume"].sum() == 3_000
