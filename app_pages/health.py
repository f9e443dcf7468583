"""System Health: what ``GET /health`` reports, with the session's tick rate and memory."""

from __future__ import annotations

import streamlit as st

import charts
from config import get_settings
from monitoring import health_check, resource_sampler
from ui import market_service, status_badge

settings = get_settings()
service = market_service()
sampler = resource_sampler(service)

st.title("System health")
STATUS_COLOURS = {"ok": "green", "degraded": "orange", "down": "red"}


@st.fragment(run_every=2.0)
def health_panel() -> None:
    report = health_check(service, settings)
    st.badge(report["status"].upper(), color=STATUS_COLOURS[report["status"]])
    for reason in report["reasons"]:
        st.warning(reason)
    feed, machine = report["feed"], report["resources"]
    status_badge(feed)
    columns = st.columns(4)
    columns[0].metric("Ticks total", f"{feed['ticks_total']:,}")
    columns[1].metric("Frames dropped", feed["frames_dropped"])
    columns[2].metric("Frame errors", feed["frame_errors"])
    columns[3].metric("Reconnects", feed["reconnects"])
    if feed["connections"]:
        st.caption(
            f"{feed['instruments']:,} instruments over {len(feed['connections'])} connections"
        )
        st.dataframe(
            feed["connections"],
            hide_index=True,
            column_config={
                "connection": "Connection",
                "instruments": "Instruments",
                "connected": st.column_config.CheckboxColumn("Connected"),
                "state": "State",
                "reconnects": "Reconnects",
                "last_frame_age_s": st.column_config.NumberColumn("Last frame (s ago)"),
            },
        )
    columns = st.columns(4)
    columns[0].metric("CPU (machine)", f"{machine['cpu_percent']:.0f}%")
    columns[1].metric("Memory (machine)", f"{machine['memory_percent']:.0f}%")
    columns[2].metric("Disk", f"{machine['disk_percent']:.0f}%")
    columns[3].metric("Process memory", f"{machine['process_rss_mib']:.0f} MiB")
    store = report["database"]
    if store.get("enabled"):
        columns = st.columns(4)
        columns[0].metric(
            "Signals written (this run)",
            store.get("written_signals", 0),
            help="By the writer since the server started; the database's total is on the "
            "Performance page",
        )
        columns[1].metric("Outcomes written (this run)", store.get("written_outcomes", 0))
        columns[2].metric("Database queue", store.get("queued", 0))
        columns[3].metric("Rows dropped", store.get("dropped", 0))
        st.caption(
            f"Database {store['url']} · schema version {store.get('schema_version', '?')} · "
            f"{store.get('retries', 0)} retries"
            + (f" · {store['error']}" if store["error"] else "")
        )
    else:
        st.caption("Signal persistence is off (ENABLE_SIGNAL_PERSISTENCE=false).")
    history = sampler.frame()
    if len(history) >= 2:
        left, right = st.columns(2)
        left.plotly_chart(
            charts.time_series_chart(history, "ticks_per_s", "Ticks per second", "#3498db"),
            key="ticks_chart",
        )
        right.plotly_chart(
            charts.time_series_chart(history, "rss_mib", "Process memory (MiB)", "#9b59b6"),
            key="memory_chart",
        )
    else:
        st.caption("Charts of tick rate and memory appear after a few samples (every 5 s).")
    if report["breakers"]:
        st.subheader("Circuit breakers")
        st.dataframe(report["breakers"], hide_index=True)
    st.caption(f"Version {report['version']} · up {report['uptime_s'] / 60:.0f} min")
    with st.expander("Raw /health JSON"):
        st.json(report)


health_panel()
