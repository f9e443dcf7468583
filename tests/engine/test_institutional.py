"""The time-normalised institutional ratio: worked example and invariance."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.institutional import (
    ABSORBED_ASK,
    ABSORBED_BID,
    detect_institutional_activity_normalized,
    side_ratios,
    strongest_side,
)
from engine.selftest import engine_ratio


def test_worked_example_equal_shown_and_traded_is_one_and_not_flagged():
    activity = detect_institutional_activity_normalized(10_000, 10_000, 60, threshold=2.5)
    assert float(activity.ratio) == 1.0
    assert not bool(activity.flagged)


def test_worked_example_small_book_heavy_trade_is_fifteen_and_flagged():
    activity = detect_institutional_activity_normalized(15_000, 1_000, 60, threshold=2.5)
    assert float(activity.ratio) == 15.0
    assert bool(activity.flagged)


def test_ratio_is_per_reference_period_not_per_window():
    one_minute = detect_institutional_activity_normalized(15_000, 1_000, 60)
    five_minutes = detect_institutional_activity_normalized(75_000, 1_000, 300)
    assert float(one_minute.ratio) == float(five_minutes.ratio) == 15.0


def test_no_depth_or_no_time_gives_nan_not_a_division_error():
    activity = detect_institutional_activity_normalized([100, 100], [0, 1_000], [60, 0])
    assert np.isnan(activity.ratio).all()
    assert not activity.flagged.any()


def test_negative_volume_is_rejected():
    with pytest.raises(ValueError, match="negative"):
        detect_institutional_activity_normalized(-1, 1_000, 60)


def test_absorption_picks_the_side_that_was_hit():
    ratio, side = strongest_side(
        *side_ratios(
            buy_volume=np.array([0.0, 30_000.0, 0.0]),
            sell_volume=np.array([15_000.0, 0.0, 0.0]),
            bid_depth_seconds=np.array([60_000.0, 600_000.0, 0.0]),
            ask_depth_seconds=np.array([600_000.0, 60_000.0, 0.0]),
        )
    )
    assert ratio[:2].tolist() == [15.0, 30.0]
    assert side.tolist() == [ABSORBED_BID, ABSORBED_ASK, 0]


@settings(max_examples=40, deadline=None)
@given(
    step=st.sampled_from([1, 2, 3, 5, 7]),
    window=st.sampled_from([30, 60, 120, 300]),
    rate=st.sampled_from([40.0, 250.0, 1_000.0]),
    depth=st.sampled_from([500, 1_000, 20_000]),
)
def test_engine_ratio_is_invariant_to_tick_rate_and_window_length(step, window, rate, depth):
    from config import Settings

    base = Settings(_env_file=None)
    expected = rate * 60 / depth
    assert engine_ratio(base, step, window, rate, depth) == pytest.approx(expected, rel=1e-9)


def test_engine_reproduces_the_worked_example_from_ticks(settings):
    # 250 shares a second hitting a bid that shows 1,000: 15,000 a minute against 1,000.
    assert engine_ratio(settings, 1, 60, 250.0, 1_000) == pytest.approx(15.0)
    # 10,000 a minute trading against 10,000 shown.
    ratio = engine_ratio(settings, 1, 60, 10_000 / 60, 10_000)
    assert ratio == pytest.approx(1.0, rel=1e-3)
