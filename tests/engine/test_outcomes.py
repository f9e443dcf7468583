"""Outcome tracking: target, stop, expiry, excursions, R multiples."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pytest

from engine.outcomes import OutcomeTracker
from engine.sessions import IST, session_end

# 2026-11-24 10:00 IST
T0 = int(datetime(2026, 11, 24, 10, 0, tzinfo=IST).timestamp())


def prices(*values: float) -> np.ndarray:
    return np.array(values, dtype=float)


def test_a_long_signal_reaches_its_target_with_excursions_and_r():
    tracker = OutcomeTracker(horizon_seconds=3600)
    tracker.open("a", row=1, direction=1, entry=100.0, target=102.0, stop=99.0, opened=T0)
    assert tracker.update(prices(50.0, 99.5), T0 + 60) == []  # adverse 0.5
    assert tracker.update(prices(50.0, 101.0), T0 + 120) == []
    [outcome] = tracker.update(prices(50.0, 102.5), T0 + 180)  # gaps through the target
    assert outcome.outcome == "target" and outcome.exit_price == 102.5
    assert outcome.pnl_pct == pytest.approx(2.5)
    assert outcome.r_multiple == pytest.approx(2.5)
    assert outcome.mfe_pct == pytest.approx(2.5) and outcome.mae_pct == pytest.approx(0.5)
    assert outcome.minutes_to_outcome == 3.0 and outcome.win
    assert len(tracker) == 0


def test_a_short_signal_stopped_out_and_others_keep_running():
    tracker = OutcomeTracker(horizon_seconds=3600)
    tracker.open("short", row=0, direction=-1, entry=200.0, target=196.0, stop=202.0, opened=T0)
    tracker.open("long", row=1, direction=1, entry=50.0, target=51.0, stop=49.0, opened=T0)
    [outcome] = tracker.update(prices(202.0, 50.2), T0 + 30)
    assert (outcome.signal_id, outcome.outcome, outcome.r_multiple) == ("short", "stop", -1.0)
    assert outcome.pnl_pct == pytest.approx(-1.0) and not outcome.win
    assert tracker.ids == ["long"]


def test_expiry_at_the_horizon_and_at_the_session_end():
    tracker = OutcomeTracker(horizon_seconds=600)
    tracker.open("horizon", row=0, direction=1, entry=100.0, target=110.0, stop=95.0, opened=T0)
    [first] = tracker.update(prices(101.0, 10.0), T0 + 600)
    assert (first.signal_id, first.outcome, first.exit_price) == ("horizon", "expired", 101.0)
    assert first.r_multiple == pytest.approx(0.2) and first.minutes_to_outcome == 10.0


def test_a_signal_at_1528_expires_at_its_last_price_of_the_day_not_at_the_next_gap():
    tracker = OutcomeTracker(horizon_seconds=3600)
    late = session_end(T0) - 120  # 15:28 IST
    tracker.open("close", row=0, direction=-1, entry=10.0, target=9.0, stop=11.0, opened=late)
    assert tracker.update(prices(10.2), late + 60) == []  # 15:29, against the short
    # The next price an hour after the close gaps far through the stop: not this signal's.
    [outcome] = tracker.update(prices(13.0), session_end(T0) + 3600)
    assert outcome.outcome == "expired" and outcome.exit_price == 10.2
    assert outcome.r_multiple == pytest.approx(-0.2)
    assert outcome.minutes_to_outcome == 2.0  # counted to 15:30, not to the late tick
    assert outcome.closed_at.hour == 15 and outcome.closed_at.minute == 30
    assert outcome.mae_pct == pytest.approx(2.0)  # 10.2 against 10, not 13


def test_a_signal_with_no_price_before_its_deadline_expires_flat_at_entry():
    tracker = OutcomeTracker(horizon_seconds=600)
    tracker.open("a", row=0, direction=1, entry=100.0, target=110.0, stop=95.0, opened=T0)
    [outcome] = tracker.update(prices(80.0), T0 + 7200)
    assert (outcome.outcome, outcome.exit_price, outcome.r_multiple) == ("expired", 100.0, 0.0)


def test_prices_from_before_the_signal_never_decide_it():
    tracker = OutcomeTracker(horizon_seconds=600)
    tracker.open("a", row=0, direction=1, entry=100.0, target=101.0, stop=99.0, opened=T0)
    # A replay after a restart: the price traded 20 s before the signal.
    assert tracker.update(prices(90.0), T0 + 30, price_time=np.array([T0 - 20])) == []
    [outcome] = tracker.update(prices(101.0), T0 + 31, price_time=np.array([T0 + 31]))
    assert outcome.outcome == "target" and outcome.mae_pct == 0.0


def test_a_price_exactly_at_a_level_hits_it():
    tracker = OutcomeTracker(horizon_seconds=600)
    tracker.open("stop", row=0, direction=1, entry=100.0, target=102.0, stop=99.0, opened=T0)
    tracker.open("target", row=1, direction=-1, entry=50.0, target=49.0, stop=51.0, opened=T0)
    closed = {o.signal_id: o for o in tracker.update(prices(99.0, 49.0), T0 + 5)}
    assert (closed["stop"].outcome, closed["stop"].r_multiple) == ("stop", -1.0)
    assert (closed["target"].outcome, closed["target"].r_multiple) == ("target", 1.0)


def test_a_gap_through_the_stop_is_the_loss_it_was():
    tracker = OutcomeTracker(horizon_seconds=600)
    tracker.open("a", row=0, direction=1, entry=100.0, target=102.0, stop=99.0, opened=T0)
    assert tracker.update(prices(101.5), T0 + 5) == []
    [outcome] = tracker.update(prices(96.0), T0 + 6)  # jumped past the stop
    assert (outcome.outcome, outcome.exit_price, outcome.r_multiple) == ("stop", 96.0, -4.0)


def test_levels_that_are_not_distinct_and_a_direction_of_zero_are_refused():
    tracker = OutcomeTracker(horizon_seconds=600)
    with pytest.raises(ValueError, match="distinct"):
        tracker.open("x", row=0, direction=1, entry=100.0, target=101.0, stop=100.0, opened=T0)
    with pytest.raises(ValueError, match="direction"):
        tracker.open("x", row=0, direction=0, entry=100.0, target=101.0, stop=99.0, opened=T0)


def test_a_price_not_yet_seen_is_not_an_outcome():
    tracker = OutcomeTracker(horizon_seconds=600)
    tracker.open("a", row=0, direction=1, entry=100.0, target=101.0, stop=99.0, opened=T0)
    assert tracker.update(prices(np.nan), T0 + 10) == []
    assert len(tracker) == 1


def test_a_target_inside_the_costs_wins_gross_and_loses_net():
    from engine.charges import round_trip_charges

    tracker = OutcomeTracker(horizon_seconds=3600, slippage_ticks=1)
    # A plan two ticks wide on 1,000 shares of a 1,400-rupee stock, as the old plans were.
    tracker.open("thin", 0, 1, 1_400.0, 1_400.10, 1_399.95, T0, quantity=1_000, tick_size=0.05)
    [outcome] = tracker.update(prices(1_400.10), T0 + 60)
    assert outcome.outcome == "target" and outcome.win  # gross: +2 R
    charges = round_trip_charges(1_400.05, 1_400.05, 1_000)  # both fills a tick worse
    assert outcome.costs == pytest.approx(100.0 + charges, abs=1e-3)  # 2 ticks x 1,000 + charges
    assert outcome.net_r == pytest.approx((100.0 - outcome.costs) / 50.0, abs=1e-3)
    assert outcome.net_r < -1  # net, the "win" lost more than the whole planned risk
    assert outcome.quantity == 1_000


def test_quantity_must_be_positive():
    tracker = OutcomeTracker(horizon_seconds=3600)
    with pytest.raises(ValueError, match="quantity"):
        tracker.open("q", 0, 1, 100.0, 102.0, 99.0, T0, quantity=0)
