"""Performance: did the signals work? Automatic outcomes and the trader's own trades, apart."""

from __future__ import annotations

import math

import streamlit as st

import analytics
import charts
from config import get_settings
from database import HistoryFilter
from ui import signal_store

settings = get_settings()
st.title("Performance")
store = signal_store()
if store is None:
    st.stop()


def ratio(value: float, digits: int = 2, suffix: str = "") -> str:
    if value is None or math.isnan(value):
        return "n/a"
    return "∞" if math.isinf(value) else f"{value:.{digits}f}{suffix}"


outcomes = store.outcomes_frame()
# Market outcomes whenever there are any: a simulated win rate must never pass for a real one.
has_market = not outcomes.empty and not outcomes["simulated"].astype(bool).all()
scope = st.segmented_control(
    "Outcomes from",
    ["all sources", "market only", "simulated only"],
    default="market only" if has_market else "all sources",
)
if not outcomes.empty and scope == "market only":
    outcomes = outcomes[~outcomes["simulated"].astype(bool)]
elif not outcomes.empty and scope == "simulated only":
    outcomes = outcomes[outcomes["simulated"].astype(bool)]
if not outcomes.empty and outcomes["simulated"].astype(bool).any():
    st.warning("Includes SIMULATED outcomes (the embedded simulator, not the market).", icon="🧪")

st.subheader("Automatic outcomes")
st.caption(
    "Each signal is followed on the ticks after it until its target, its stop, or expiry "
    f"({settings.outcome_horizon_minutes} min or 15:30 IST). A win is a positive R."
)
figures = analytics.summarize(outcomes)
columns = st.columns(4)
columns[0].metric("Signals stored", f"{store.count(HistoryFilter()):,}")
columns[1].metric("Decided outcomes", figures["total"])
columns[2].metric("Average P/L", ratio(figures["avg_pnl_pct"], 3, "%"))
columns[3].metric("Average R", ratio(figures["avg_r"]))
columns = st.columns(4)
if figures["total"] == 0:
    win_rate = "n/a"
elif figures["small_sample"]:  # counts, not a percentage that looks surer than it is
    win_rate = f"{figures['wins']} of {figures['total']}"
else:
    win_rate = f"{figures['win_rate']:.0%}"
columns[0].metric("Win rate", win_rate, help="With its Wilson 95% interval below")
columns[1].metric("Profit factor", ratio(figures["profit_factor"]))
columns[2].metric("Expectancy", ratio(figures["expectancy_r"], 2, " R"))
columns[3].metric("Total", ratio(figures["total_r"], 1, " R"))
st.markdown(f"**Win rate:** {analytics.describe_win_rate(figures['wins'], figures['total'])}")

if outcomes.empty:
    st.info(
        "No signal has reached its target, stop or expiry yet. Outcomes are recorded "
        "automatically while monitoring runs; come back after a few signals have played out."
    )
else:
    by_type = analytics.by_group(outcomes, "signal_type")
    outcomes["confidence_bucket"] = analytics.confidence_bucket(outcomes["confidence"])
    by_confidence = analytics.by_group(outcomes, "confidence_bucket")
    left, right = st.columns(2)
    left.plotly_chart(
        charts.distribution_chart(outcomes["signal_type"].value_counts(), "Outcomes by type"),
        key="distribution",
    )
    right.plotly_chart(charts.equity_curve_chart(analytics.equity_curve(outcomes)), key="equity")
    left, right = st.columns(2)
    left.plotly_chart(
        charts.win_rate_chart(by_type, "signal_type", "Win rate by type"), key="by_type"
    )
    right.plotly_chart(
        charts.win_rate_chart(by_confidence, "confidence_bucket", "Win rate by confidence"),
        key="by_confidence",
    )
    ranked = by_type.sort_values("total_r", ascending=False)
    best, worst = ranked.iloc[0], ranked.iloc[-1]
    st.markdown(
        f"Best type: **{best['signal_type']}** ({best['total_r']:+.1f} R over "
        f"{best['outcomes']} outcomes) · worst: **{worst['signal_type']}** "
        f"({worst['total_r']:+.1f} R over {worst['outcomes']})"
    )
    group_columns = {
        "signal_type": st.column_config.TextColumn("Type"),
        "confidence_bucket": st.column_config.TextColumn("Confidence"),
        "wins": st.column_config.NumberColumn("Wins"),
        "outcomes": st.column_config.NumberColumn("Outcomes"),
        "win_rate": st.column_config.NumberColumn("Win rate", format="percent"),
        "ci_low": st.column_config.NumberColumn("95% CI low", format="percent"),
        "ci_high": st.column_config.NumberColumn("95% CI high", format="percent"),
        "avg_r": st.column_config.NumberColumn("Avg R", format="%+.2f"),
        "total_r": st.column_config.NumberColumn("Total R", format="%+.1f"),
        "profit_factor": st.column_config.NumberColumn("Profit factor", format="%.2f"),
    }
    left, right = st.columns(2)
    left.dataframe(by_type, column_config=group_columns, hide_index=True)
    right.dataframe(
        by_confidence.astype({"confidence_bucket": str}),
        column_config=group_columns,
        hide_index=True,
    )
    if figures["small_sample"]:
        st.caption(
            f"Fewer than {analytics.SMALL_SAMPLE} outcomes: read the intervals, not the rates."
        )

st.subheader("Your trades")
if not settings.enable_performance_tracking:
    st.info("Manual trade tracking is off (ENABLE_PERFORMANCE_TRACKING=false).")
    st.stop()
st.caption("Real trades you took on a signal; kept apart from the automatic outcomes above.")
recent = store.recent_signals()
if recent.empty:
    st.info("Record a trade once a signal has been stored.")
else:
    labels = {
        row.id: f"{row.signal_time:%Y-%m-%d %H:%M} {row.signal_type} {row.symbol} @ {row.entry:.2f}"
        for row in recent.itertuples()
    }
    with st.form("manual_trade", clear_on_submit=True):
        signal_id = st.selectbox("Signal", list(labels), format_func=labels.get)
        left, middle, right = st.columns(3)
        entry = left.number_input("Entry price", min_value=0.0, step=0.05, format="%.2f")
        exit_price = middle.number_input("Exit price", min_value=0.0, step=0.05, format="%.2f")
        quantity = right.number_input("Quantity", min_value=1, step=1, value=1)
        notes = st.text_input("Notes")
        if st.form_submit_button("Record trade"):
            try:
                row = store.add_manual_trade(signal_id, entry, exit_price, int(quantity), notes)
                st.success(f"Recorded: P/L {row['pnl']:+,.2f} ({row['pnl_pct']:+.2f}%).")
            except ValueError as error:
                st.error(f"Not recorded: {error}")
trades = store.manual_trades()
if not trades.empty:
    wins = int((trades["pnl"] > 0).sum())
    columns = st.columns(3)
    columns[0].metric("Trades", len(trades))
    columns[1].metric("Net P/L", f"{trades['pnl'].sum():+,.2f}")
    columns[2].metric("Average R", ratio(trades["r_multiple"].astype(float).mean()))
    st.markdown(f"**Win rate:** {analytics.describe_win_rate(wins, len(trades))}")
    st.dataframe(trades, hide_index=True, width="stretch")
