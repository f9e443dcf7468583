"""Entry, target and stop-loss for both sides."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.risk import risk_levels


def test_long_levels_from_volatility():
    levels = risk_levels(np.array([1]), np.array([1_500.0]), np.array([2.0]), 0.05)
    assert levels.stop_loss[0] == 1_497.0 and levels.target[0] == 1_506.0


def test_short_levels_mirror_the_long_ones():
    levels = risk_levels(np.array([-1]), np.array([1_500.0]), np.array([2.0]), 0.05)
    assert levels.stop_loss[0] == 1_503.0 and levels.target[0] == 1_494.0


def test_no_volatility_gives_the_minimum_stop():
    levels = risk_levels(
        np.array([1]), np.array([100.0]), np.array([np.nan]), 0.05, min_stop_ticks=3
    )
    assert levels.stop_loss[0] == pytest.approx(99.85)


def test_bad_direction_or_tick_is_rejected():
    with pytest.raises(ValueError, match="direction"):
        risk_levels(np.array([0]), np.array([100.0]), np.array([1.0]), 0.05)
    with pytest.raises(ValueError, match="tick_size"):
        risk_levels(np.array([1]), np.array([100.0]), np.array([1.0]), 0.0)


@given(
    direction=st.sampled_from([1, -1]),
    entry_ticks=st.integers(20, 2_000_000),
    atr=st.floats(0, 500),
    tick=st.sampled_from([0.05, 0.01, 0.0025, 1.0]),
    reward_risk=st.sampled_from([1.0, 1.5, 2.0, 3.0]),
)
def test_levels_sit_on_the_tick_grid_on_the_right_side_with_the_minimum_reward(
    direction, entry_ticks, atr, tick, reward_risk
):
    entry = entry_ticks * tick
    levels = risk_levels(
        np.array([direction]), np.array([entry]), np.array([atr]), tick, min_reward_risk=reward_risk
    )
    stop, target = levels.stop_loss[0], levels.target[0]
    assert direction * (levels.entry[0] - stop) > 0
    assert direction * (target - levels.entry[0]) > 0
    for price in (stop, target):
        assert abs(price / tick - round(price / tick)) < 1e-6
    assert levels.reward_risk[0] >= reward_risk - 1e-6
