"""Signal History: every stored signal and its outcome, filtered, charted and downloadable."""

from __future__ import annotations

from datetime import timedelta

import streamlit as st

import analytics
import charts
from database import MAX_QUERY_ROWS, OUTCOMES, HistoryFilter
from engine.sessions import ist_today
from ui import dashed, signal_store

st.title("Signal history")
store = signal_store()
if store is None:
    st.stop()

SIGNAL_TYPES = ["ACCUMULATION", "DISTRIBUTION", "BUY", "SELL"]
HISTORY_COLUMNS = {
    "signal_time": st.column_config.DatetimeColumn("Time (IST)", format="YYYY-MM-DD HH:mm:ss"),
    "symbol": st.column_config.TextColumn("Symbol"),
    "signal_type": st.column_config.TextColumn("Type"),
    "confidence": st.column_config.NumberColumn("Confidence", format="%.1f"),
    "rank_points": st.column_config.NumberColumn("Rank", format="%.1f"),
    "entry": st.column_config.NumberColumn("Entry", format="%.2f"),
    "target": st.column_config.NumberColumn("Target", format="%.2f"),
    "stop_loss": st.column_config.NumberColumn("Stop", format="%.2f"),
    "quantity": st.column_config.NumberColumn("Size (shares)", format="%d"),
    "outcome": st.column_config.TextColumn("Outcome"),
    "exit_price": st.column_config.NumberColumn("Exit", format="%.2f"),
    "pnl_pct": st.column_config.NumberColumn("P/L %", format="%+.2f%%"),
    "r_multiple": st.column_config.NumberColumn("R", format="%+.2f"),
    "net_pnl_pct": st.column_config.NumberColumn("Net P/L %", format="%+.2f%%"),
    "net_r": st.column_config.NumberColumn("Net R", format="%+.2f"),
    "mfe_pct": st.column_config.NumberColumn("MFE %", format="%.2f%%"),
    "mae_pct": st.column_config.NumberColumn("MAE %", format="%.2f%%"),
    "minutes_to_outcome": st.column_config.NumberColumn("Minutes", format="%.1f"),
    "institutional_ratio": st.column_config.NumberColumn("Inst. ratio", format="%.2f"),
    "pcr": st.column_config.NumberColumn("PCR", format="%.2f"),
    "source": st.column_config.TextColumn("Source"),
    "simulated": st.column_config.CheckboxColumn("Simulated"),
}

with st.container(border=True):
    left, middle, right = st.columns(3)
    symbols = left.multiselect("Symbol", store.symbols(), placeholder="All symbols")
    types = middle.multiselect("Signal type", SIGNAL_TYPES, placeholder="All types")
    outcomes = right.multiselect("Outcome", list(OUTCOMES), placeholder="All outcomes")
    left, right = st.columns(2)
    low, high = left.slider("Confidence", 0.0, 10.0, (0.0, 10.0), step=0.5)
    today = ist_today()  # trade dates are IST days
    days = right.date_input("Dates (IST)", (today - timedelta(days=30), today), max_value=today)

start, end = (days[0], days[-1]) if isinstance(days, tuple) and days else (None, None)
filters = HistoryFilter(
    symbols=tuple(symbols),
    signal_types=tuple(types),
    min_confidence=low,
    max_confidence=high,
    start=start,
    end=end,
    outcomes=tuple(outcomes),
)
matching = store.count(filters)
history = store.history(filters)
if matching == 0:
    st.info(
        "No stored signal matches these filters. Signals are stored as they fire: start "
        "monitoring on the Live Signals page, or widen the dates."
    )
    st.stop()

if history["simulated"].any():
    st.warning(
        "Includes SIMULATED signals (from the embedded simulator, not the market).", icon="🧪"
    )
shown = f"showing the newest {MAX_QUERY_ROWS:,}" if matching > len(history) else "all shown"
st.caption(f"**{matching:,}** {'signal matches' if matching == 1 else 'signals match'} ({shown}).")
st.dataframe(
    dashed(history[list(HISTORY_COLUMNS)], HISTORY_COLUMNS),  # open signals: "—", not None
    column_config=HISTORY_COLUMNS,
    hide_index=True,
    width="stretch",
)
st.download_button(
    "Download CSV",
    data=lambda: store.history_csv(filters),
    file_name=filters.file_name(),
    mime="text/csv",
    icon=":material/download:",
)

st.subheader("Performance over time")
st.caption("R and win rates net of slippage and charges (see Performance).")
per_type = store.daily_summary(filters)
series = analytics.daily_series(per_type)
left, right = st.columns(2)
left.plotly_chart(charts.signals_per_day_chart(per_type), key="per_day")
right.plotly_chart(charts.cumulative_r_chart(series), key="cumulative_r")
st.plotly_chart(charts.rolling_win_rate_chart(series), key="rolling_win_rate")
