"""Backtest: what would these settings have done on the sessions I recorded?

Replays recordings (``RECORD_FRAMES``) or simulator seeds through the same engine and outcome
tracker the live page runs, for a grid of settings, in processes across the machine's cores;
stores each run in the database and charts net expectancy by setting with its interval.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from backtest import BacktestError, parse_grid, run_grid, session_of, setting_names
from config import get_settings
from ui import dashed, signal_store

settings = get_settings()
st.title("Backtest")
st.markdown(
    "Replays sessions through the live engine at full speed, for every combination of the "
    "values below, and follows each signal to its target, stop or expiry, **net of costs** "
    f"({settings.slippage_ticks:g} tick(s) of slippage a fill and an intraday round trip's "
    "charges). Each frame is seen in the order it was recorded: nothing later can change a "
    "signal. Record sessions with `RECORD_FRAMES=true`; `sim:SEED` is an hour of the "
    "event-driven book simulator (SIMULATED, not the market)."
)
store = signal_store()

recordings = sorted((Path(settings.data_dir) / "recordings").glob("*.kfr"), reverse=True)
GRID_FIELDS = {
    "min_confidence": "MIN_CONFIDENCE",
    "opening_quiet_minutes": "OPENING_QUIET_MINUTES",
    "risk_horizon_minutes": "RISK_HORIZON_MINUTES",
    "stop_atr_multiple": "STOP_ATR_MULTIPLE",
    "min_reward_risk": "MIN_REWARD_RISK",
}

with st.form("backtest"):
    chosen = st.multiselect(
        "Recordings",
        [path.name for path in recordings],
        placeholder="None recorded yet" if not recordings else "Choose recordings",
    )
    seeds = st.text_input("Simulator sessions", "sim:101", help="Comma-separated sim:SEED")
    st.caption("Values to try (comma-separated; each combination is one setting)")
    columns = st.columns(len(GRID_FIELDS))
    values = {
        name: column.text_input(label, f"{getattr(settings, name):g}")
        for column, (name, label) in zip(columns, GRID_FIELDS.items(), strict=True)
    }
    run = st.form_submit_button("Run backtest", icon=":material/play_arrow:")

if run:
    names = [str(Path(settings.data_dir) / "recordings" / name) for name in chosen]
    names += [seed.strip() for seed in seeds.split(",") if seed.strip()]
    try:
        if not names:
            raise BacktestError("choose a recording or give a simulator session")
        sessions = [session_of(name) for name in names]
        grid = parse_grid([f"{k}={v}" for k, v in values.items() if v.strip()], settings)
    except BacktestError as error:
        st.error(str(error))
        st.stop()
    bar = st.progress(0.0, text=f"0 of {len(grid)} settings")

    def progress(done: int, total: int) -> None:
        bar.progress(done / total, text=f"{done} of {total} settings")

    rows = run_grid(settings, grid, sessions, progress=progress)
    labels = [session.label for session in sessions]
    if store is not None:
        st.session_state["backtest_run"] = store.save_backtest(labels, rows)
    st.session_state["backtest_rows"] = (labels, rows)

shown = st.session_state.get("backtest_rows")
if store is not None:
    runs = store.backtest_runs()
    if not runs.empty:
        options = runs["run_id"].tolist()
        current = st.session_state.get("backtest_run")
        picked = st.selectbox(
            "Stored runs",
            options,
            index=options.index(current) if current in options else 0,
            format_func=lambda run_id: (
                f"{runs.set_index('run_id').loc[run_id, 'run_at']:%Y-%m-%d %H:%M} IST · "
                f"{runs.set_index('run_id').loc[run_id, 'settings']} settings"
            ),
        )
        shown = store.backtest_results(picked)
if not shown:
    st.info("No backtest has run yet: choose sessions and values above and press **Run**.")
    st.stop()

labels, rows = shown
if any(label.startswith("sim:") or label.endswith("(simulated)") for label in labels):
    st.warning("Includes SIMULATED sessions (a simulator, not the market).", icon="🧪")
names, shared = setting_names(rows)
st.caption("Sessions: " + ", ".join(labels) + (f" · every setting: {shared}" if shared else ""))
frame = pd.DataFrame(
    {
        "Setting": names,
        "Signals": [row["signals"] for row in rows],
        "Decided": [row["decided"] for row in rows],
        "Win rate (net)": [row["win_rate"] for row in rows],
        "95% CI low": [row["win_rate_low"] for row in rows],
        "95% CI high": [row["win_rate_high"] for row in rows],
        "Net E[R]": [row["net_expectancy_r"] for row in rows],
        "Gross E[R]": [row["gross_expectancy_r"] for row in rows],
        "Profit factor": [row["profit_factor"] for row in rows],
        "Max drawdown (R)": [row["max_drawdown_r"] for row in rows],
        "Precision": [row["precision"] for row in rows],
        "Recall": [row["recall"] for row in rows],
    }
)
numbers = frame.columns.drop("Setting")
frame[numbers] = frame[numbers].astype(float)  # a figure that does not exist is blank
BACKTEST_COLUMNS = {
    "Win rate (net)": st.column_config.NumberColumn(format="percent"),
    "95% CI low": st.column_config.NumberColumn(format="percent"),
    "95% CI high": st.column_config.NumberColumn(format="percent"),
    "Net E[R]": st.column_config.NumberColumn(format="%+.2f"),
    "Gross E[R]": st.column_config.NumberColumn(format="%+.2f"),
    "Profit factor": st.column_config.NumberColumn(format="%.2f"),
    "Max drawdown (R)": st.column_config.NumberColumn(format="%.1f"),
    "Precision": st.column_config.NumberColumn(format="%.2f"),
    "Recall": st.column_config.NumberColumn(format="%.2f"),
    "Signals": st.column_config.NumberColumn(format="%d"),
    "Decided": st.column_config.NumberColumn(format="%d"),
}
st.dataframe(dashed(frame, BACKTEST_COLUMNS), hide_index=True, column_config=BACKTEST_COLUMNS)
decided = [row for row in rows if row["net_expectancy_r"] is not None]
if decided:
    names = frame["Setting"][[row["net_expectancy_r"] is not None for row in rows]].tolist()
    middle = [row["net_expectancy_r"] for row in decided]
    high = [
        (row["net_expectancy_high"] - row["net_expectancy_r"])
        if row["net_expectancy_high"] is not None
        else 0.0
        for row in decided
    ]
    figure = go.Figure(
        go.Scatter(
            x=names,
            y=middle,
            mode="markers",
            marker={"size": 10},
            error_y={"type": "data", "array": high, "visible": True},
            name="net expectancy",
        )
    )
    figure.add_hline(y=0, line_dash="dot")
    figure.update_layout(
        title="Net expectancy by setting (R a trade, 95% interval)",
        yaxis_title="R",
        height=360,
        margin={"t": 50, "b": 40},
    )
    st.plotly_chart(figure, key="expectancy", width="stretch")
else:
    st.caption("No setting had a decided outcome: nothing to chart.")
