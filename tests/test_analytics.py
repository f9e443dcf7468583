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
            "net_wins": [0, 2, 0],
            "net_r_total": [-0.5, 3.0, 0.0],
        }
    )
    series = analytics.daily_series(daily, window=2, net=False)
    assert series["cumulative_r"].tolist() == [5.0, 5.0]
    assert series["rolling_win_rate"].tolist() == [0.75, 0.75]
    net = analytics.daily_series(daily, window=2)  # net of costs unless asked otherwise
    assert net["cumulative_r"].tolist() == [2.5, 2.5]
    assert net["rolling_win_rate"].tolist() == [0.5, 0.5]


def test_the_net_view_reads_the_figures_after_costs():
    outcomes = pd.DataFrame(
        {
            "r_multiple": [2.0, -1.0, 0.1],
            "pnl_pct": [0.2, -0.1, 0.01],
            "net_r": [1.6, -1.4, -0.3],
            "net_pnl_pct": [0.16, -0.14, -0.03],
        }
    )
    gross, net = analytics.summarize(outcomes), analytics.summarize(analytics.net_view(outcomes))
    assert (gross["wins"], net["wins"]) == (2, 1)
    assert net["total_r"] == pytest.approx(-0.1) and gross["total_r"] == pytest.approx(1.1)


def test_best_and_worst_say_weakest_for_a_type_that_still_won():
    import pandas as pd

    from analytics import best_and_worst

    both_won = pd.DataFrame(
        {"signal_type": ["SELL", "BUY"], "total_r": [3.0, 2.0], "outcomes": [3, 1]}
    )
    line = best_and_worst(both_won)
    assert "weakest: **BUY** (+2.0 R over 1 outcome)" in line and "worst" not in line
    mixed = both_won.assign(total_r=[3.0, -1.0])
    assert "worst: **BUY** (-1.0 R over 1 outcome)" in best_and_worst(mixed)
    assert best_and_worst(both_won.head(1)).startswith("Only type so far: **SELL**")


def test_health_charts_start_at_zero_and_win_rate_labels_sit_under_the_bars():
    import pandas as pd

    import charts

    flat = pd.DataFrame({"ticks_per_s": [10.345, 10.36]}, index=pd.to_datetime([0, 5], unit="s"))
    figure = charts.time_series_chart(flat, "ticks_per_s", "Ticks per second", "#3498db")
    assert figure.layout.yaxis.range[0] == 0 and figure.layout.yaxis.range[1] > 10.36
    groups = pd.DataFrame(
        {
            "signal_type": ["BUY"],
            "win_rate": [1.0],
            "ci_low": [0.2],
            "ci_high": [1.0],
            "outcomes": [1],
        }
    )
    chart = charts.win_rate_chart(groups, "signal_type", "Win rate by type")
    assert chart.data[0].text is None and list(chart.layout.xaxis.ticktext) == ["BUY<br>n=1"]


def test_the_csv_name_says_its_filters_and_floats_are_rounded(tmp_path):
    from datetime import date

    from database import HistoryFilter, SignalStore
    from tests.db_rows import signal_dict

    assert HistoryFilter().file_name() == "signals-all.csv"
    named = HistoryFilter(
        symbols=("TCS",), start=date(2026, 11, 1), end=date(2026, 11, 24), min_confidence=7
    ).file_name()
    assert named == "signals-2026-11-01_to_2026-11-24-TCS-confidence7-10.csv"
    store = SignalStore(f"sqlite:///{tmp_path / 'csv.db'}")
    store.migrate()
    from datetime import UTC, datetime

    store.write_batch([signal_dict("c1", datetime.now(UTC), entry=100.123456789)], [])
    assert b"100.1235" in store.history_csv(HistoryFilter()) and b"100.123456" not in (
        store.history_csv(HistoryFilter())
    )


def test_missing_numbers_read_as_a_dash_and_numbers_as_their_columns_say():
    import streamlit as st

    from ui import dashed

    frame = pd.DataFrame(
        {"pnl_pct": [1.234, None], "r": [2.0, float("nan")], "symbol": ["TCS", None]}
    )
    config = {
        "pnl_pct": st.column_config.NumberColumn("P/L %", format="%+.2f%%"),
        "r": st.column_config.NumberColumn("R", format="%+.2f"),
        "symbol": st.column_config.TextColumn("Symbol"),
    }
    rows = dashed(frame, config).to_string().splitlines()
    assert rows[1].split() == ["0", "+1.23%", "+2.00", "TCS"]
    assert rows[2].split()[:3] == ["1", "—", "—"]  # an open signal's P/L and R
