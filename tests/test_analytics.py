"""Performance figures: win rates with intervals, profit factor, expectancy, groupings."""

from __future__ import annotations

import math

import pandas as pd
import pytest

import analytics


def outcomes(r_values, types=None, confidence=None) -> pd.DataFrame:
    n = len(r_values)
    return pd.DataFrame(
        {
            "r_multiple": r_values,
            "pnl_pct": [r / 2 for r in r_values],
            "signal_type": types or ["BUY"] * n,
            "confidence": confidence or [8.0] * n,
            "closed_at": pd.date_range("2026-11-24 10:00", periods=n, freq="min"),
        }
    )


def test_wilson_interval_matches_known_values():
    low, high = analytics.wilson_interval(8, 10)
    assert low == pytest.approx(0.4902, abs=1e-4) and high == pytest.approx(0.9433, abs=1e-4)
    assert analytics.wilson_interval(0, 0) == (0.0, 1.0)
    low, high = analytics.wilson_interval(0, 5)
    assert low == 0.0 and 0.4 < high < 0.5


def test_summary_figures():
    figures = analytics.summarize(outcomes([2.0, 2.0, -1.0, -1.0, 0.5]))
    assert figures["total"] == 5 and figures["wins"] == 3
    assert figures["win_rate"] == pytest.approx(0.6)
    assert figures["profit_factor"] == pytest.approx(4.5 / 2.0)
    assert figures["expectancy_r"] == pytest.approx(2.5 / 5)
    assert figures["avg_r"] == pytest.approx(0.5) and figures["total_r"] == pytest.approx(2.5)
    assert figures["avg_pnl_pct"] == pytest.approx(0.25)
    assert figures["small_sample"]
    assert math.isnan(analytics.summarize(outcomes([]))["win_rate"])


def test_small_samples_say_so_and_large_ones_give_a_rate_with_interval():
    assert analytics.describe_win_rate(3, 5).startswith("3 of 5 won (95% CI")
    assert "too few" in analytics.describe_win_rate(3, 5)
    text = analytics.describe_win_rate(30, 50)
    assert text.startswith("60% (95% CI 46%-72%") and "n = 50" in text


def test_groupings_by_type_and_confidence_bucket():
    frame = outcomes(
        [2.0, -1.0, 2.0, 2.0],
        types=["BUY", "BUY", "SELL", "SELL"],
        confidence=[7.3, 7.9, 9.0, 10.0],
    )
    by_type = analytics.by_group(frame, "signal_type").set_index("signal_type")
    assert by_type.loc["BUY", "win_rate"] == 0.5 and by_type.loc["SELL", "win_rate"] == 1.0
    frame["bucket"] = analytics.confidence_bucket(frame["confidence"])
    assert frame["bucket"].astype(str).tolist() == ["7-8", "7-8", "9-10", "9-10"]
    assert analytics.equity_curve(frame).tolist() == [2.0, 1.0, 3.0, 5.0]


def test_daily_series_accumulates_r_and_rolls_the_win_rate():
    daily = pd.DataFrame(
        {
            "trade_date": pd.to_datetime(["2026-11-23", "2026-11-23", "2026-11-24"]),
            "signal_type": ["BUY", "SELL", "BUY"],
            "signals": [3, 2, 4],
            "decided": [2, 2, 0],
            "wins": [1, 2, 0],
            "r_total": [1.0, 4.0, 0.0],
        }
    )
    series = analytics.daily_series(daily, window=2)
    assert series["cumulative_r"].tolist() == [5.0, 5.0]
    assert series["rolling_win_rate"].tolist() == [0.75, 0.75]
