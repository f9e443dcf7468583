"""Performance: did the signals work? Automatic outcomes and the trader's own trades, apart."""

from __future__ import annotations

import math

import streamlit as st

import analytics
import charts
from config import get_settings
from database import HistoryFilter
from engine.sessions import IST
from engine.signals import direction_of
from trade_entry import PRICE_BAND, TradeInput, check_trade
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
    f"({settings.risk_horizon_minutes} min, the plan's horizon, or 15:30 IST). **Net** is what "
    f"the plan's size would have kept after {settings.slippage_ticks:g} tick(s) of slippage a "
    "fill and an intraday round trip's charges (brokerage, STT, exchange, SEBI, stamp duty, "
    "GST); a win is a positive R. The charts and tables below are net."
)
gross_figures = analytics.summarize(outcomes)
net_outcomes = analytics.net_view(outcomes) if not outcomes.empty else outcomes
figures = analytics.summarize(net_outcomes)


def win_rate_text(summary: dict) -> str:
    if summary["total"] == 0:
        return "n/a"
    if summary["small_sample"]:  # counts, not a percentage that looks surer than it is
        return f"{summary['wins']} of {summary['total']}"
    return f"{summary['win_rate']:.0%}"


columns = st.columns(3)
columns[0].metric("Signals in the database", f"{store.count(HistoryFilter()):,}")
columns[1].metric("Decided outcomes", gross_figures["total"])
columns[2].metric("Win rate, net", win_rate_text(figures), help="Wilson 95% interval below")


def headline(summary: dict) -> list[str]:
    """One column of the gross / net table."""
    return [
        win_rate_text(summary),
        ratio(summary["avg_pnl_pct"], 3, "%"),
        ratio(summary["avg_r"]),
        ratio(summary["expectancy_r"], 2, " R"),
        ratio(summary["profit_factor"]),
        ratio(summary["total_r"], 1, " R"),
    ]


st.dataframe(
    {
        "": ["Win rate", "Average P/L", "Average R", "Expectancy", "Profit factor", "Total"],
        "Gross": headline(gross_figures),
        "Net of costs": headline(figures),
    },
    hide_index=True,
    key="gross_net",
)
st.markdown(
    f"**Win rate, net:** {analytics.describe_win_rate(figures['wins'], figures['total'])} · "
    f"gross: {analytics.describe_win_rate(gross_figures['wins'], gross_figures['total'])}"
)

if outcomes.empty:
    st.info(
        "No signal has reached its target, stop or expiry yet. Outcomes are recorded "
        "automatically while monitoring runs; come back after a few signals have played out."
    )
else:
    outcomes = net_outcomes.copy()
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
    st.markdown(analytics.best_and_worst(by_type))
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

TRADE_COLUMNS = {
    "recorded_at": st.column_config.DatetimeColumn("Recorded (IST)", format="YYYY-MM-DD HH:mm"),
    "symbol": st.column_config.TextColumn("Symbol"),
    "signal_type": st.column_config.TextColumn("Signal"),
    "side": st.column_config.TextColumn("Side"),
    "confidence": st.column_config.NumberColumn("Confidence", format="%.1f"),
    "entry_price": st.column_config.NumberColumn("Entry (₹)", format="%.2f"),
    "exit_price": st.column_config.NumberColumn("Exit (₹)", format="%.2f"),
    "quantity": st.column_config.NumberColumn("Quantity (shares)", format="%d"),
    "pnl": st.column_config.NumberColumn("P/L (₹)", format="%+,.2f"),
    "pnl_pct": st.column_config.NumberColumn("P/L %", format="%+.2f%%"),
    "r_multiple": st.column_config.NumberColumn("R", format="%+.2f"),
    "entry_time": st.column_config.DatetimeColumn("Entered (IST)", format="YYYY-MM-DD HH:mm"),
    "exit_time": st.column_config.DatetimeColumn("Exited (IST)", format="YYYY-MM-DD HH:mm"),
    "notes": st.column_config.TextColumn("Notes"),
}


def record_trade_form(signal_id: str, signal) -> None:
    """The trade form for one signal: pre-filled from it, every field checked as you type."""
    side = "long" if direction_of(signal["signal_type"]) > 0 else "short"
    signal_time = signal["signal_time"].to_pydatetime()
    st.caption(
        f"**{signal['symbol']}** · {signal['signal_type']} · **{side}** · signal at "
        f"{signal_time:%Y-%m-%d %H:%M:%S} IST · entry {signal['entry']:.2f} · target "
        f"{signal['target']:.2f} · stop {signal['stop_loss']:.2f}"
    )
    key = f"trade-{signal_id}"
    left, middle, right = st.columns(3)
    entry = left.number_input(
        "Entry price (₹)",
        value=float(signal["entry"]),
        step=0.05,
        format="%.2f",
        key=f"{key}-entry",
    )
    exit_price = middle.number_input(
        "Exit price (₹)",
        value=None,
        step=0.05,
        format="%.2f",
        key=f"{key}-exit",
        placeholder="where you got out",
    )
    quantity = right.text_input("Quantity (shares)", value="1", key=f"{key}-quantity")
    left, right = st.columns(2)
    naive_signal_time = signal_time.astimezone(IST).replace(tzinfo=None, second=0, microsecond=0)
    entry_time = left.datetime_input(
        "Entry time (IST)", value=naive_signal_time, key=f"{key}-entered", step=60
    )
    exit_time = right.datetime_input("Exit time (IST)", value=None, key=f"{key}-exited", step=60)
    confirmed = st.checkbox(
        f"The prices are right (allow more than {PRICE_BAND:.0%} from the signal's entry)",
        key=f"{key}-confirmed",
    )
    notes = st.text_input("Notes", key=f"{key}-notes")
    trade = TradeInput(
        quantity,
        entry,
        exit_price,
        entry_time.replace(tzinfo=IST) if entry_time else None,
        exit_time.replace(tzinfo=IST) if exit_time else None,
        confirmed,
    )
    errors, shares = check_trade(trade, float(signal["entry"]), signal_time)
    tried = f"{key}-tried"
    if st.button("Record trade", key=f"{key}-record"):
        st.session_state[tried] = True
        if not errors:
            row = store.add_manual_trade(
                signal_id, entry, exit_price, shares, notes, trade.entry_time, trade.exit_time
            )
            st.session_state[tried] = False
            st.success(
                f"Recorded a {side} trade: P/L ₹{row['pnl']:+,.2f} ({row['pnl_pct']:+.2f}%)."
            )
    if st.session_state.get(tried) and errors:  # shown once tried, gone once fixed
        for message in errors.values():
            st.error(message)


st.subheader("Your trades")
if not settings.enable_performance_tracking:
    st.info("Manual trade tracking is off (ENABLE_PERFORMANCE_TRACKING=false).")
    st.stop()
st.caption("Real trades you took on a signal; kept apart from the automatic outcomes above.")
recent = store.recent_signals()
if recent.empty:
    st.info("Record a trade once a signal has been stored.")
else:
    recent = recent.set_index("id")

    def label(signal_id: str) -> str:
        row = recent.loc[signal_id]
        side = "long" if direction_of(row["signal_type"]) > 0 else "short"
        return (
            f"{row['signal_time']:%Y-%m-%d %H:%M} {row['symbol']} {row['signal_type']} "
            f"({side}) @ {row['entry']:.2f}"
        )

    signal_id = st.selectbox(
        "Signal you traded",
        list(recent.index),
        format_func=label,
        index=None,
        placeholder="Choose the signal (newest first)",
    )
    if signal_id is not None:
        record_trade_form(signal_id, recent.loc[signal_id])
trades = store.manual_trades()
if not trades.empty:
    wins = int((trades["pnl"] > 0).sum())
    columns = st.columns(3)
    columns[0].metric("Trades", len(trades))
    columns[1].metric("Net P/L", f"₹{trades['pnl'].sum():+,.2f}")
    columns[2].metric("Average R", ratio(trades["r_multiple"].astype(float).mean()))
    st.markdown(f"**Win rate:** {analytics.describe_win_rate(wins, len(trades))}")
    st.dataframe(
        trades.drop(columns=["id"]),
        column_config=TRADE_COLUMNS,
        hide_index=True,
        width="stretch",
    )
