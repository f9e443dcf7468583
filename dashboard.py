"""The dashboard script that ``streamlit_app.App`` runs for each browser session."""

from __future__ import annotations

import streamlit as st

from config import ConfigError, get_settings
from engine import selftest
from feeds.service import get_service

st.set_page_config(page_title="Order-flow dashboard", layout="wide")

try:
    settings = get_settings()
except ConfigError as error:
    st.error(str(error))
    st.stop()


@st.cache_resource
def market_service():
    return get_service(settings)


service = market_service()

with st.sidebar:
    st.header("Market data")
    status = service.status()
    st.caption(f"Source: **{status['source']}** ({status['state']})")
    symbols_text = st.text_area("Symbols, one per line", "\n".join(service.symbols))
    start, stop = st.columns(2)
    if start.button("Start Monitoring", type="primary"):
        from config import parse_symbols

        report = service.start(symbols=parse_symbols(symbols_text))
        if report.error:
            st.error(report.error)
        if report.invalid:
            st.error("Not found, not monitored: " + ", ".join(report.invalid))
    if stop.button("Stop Monitoring"):
        service.stop()
    if st.button("Run Self-Tests"):
        for result in selftest.run(settings):
            icon = ":material/check_circle:" if result.passed else ":material/error:"
            st.markdown(f"{icon} **{result.name}**: {'passed' if result.passed else 'FAILED'}")
            st.caption(result.detail)

st.title("Order-flow dashboard")


@st.fragment(run_every=1.0)
def live_panel() -> None:
    snapshot = service.snapshot()
    status = snapshot.status
    if status["simulated"]:
        st.warning("SIMULATED DATA: the embedded simulator, not the market.", icon="🧪")
    left, middle, right, last = st.columns(4)
    left.metric("Feed", status["state"])
    middle.metric("Ticks / s", f"{status['ticks_per_s']:.0f}")
    age = status["last_tick_age_s"]
    right.metric("Last tick", "never" if age is None else f"{age:.1f} s ago")
    last.metric("Signals today", status["signals_today"])
    if status["detail"]:
        st.info(status["detail"])
    if not service.running:
        st.info("Not monitoring. Press **Start Monitoring** in the sidebar.")
        return
    st.subheader("Signals")
    if not snapshot.signals:
        st.caption(f"No signal yet: none has reached MIN_CONFIDENCE = {settings.min_confidence:g}.")
    for signal in reversed(snapshot.signals[-10:]):
        st.markdown(
            f"**{signal.signal_type}** {signal.symbol} at {signal.timestamp:%H:%M:%S} — "
            f"confidence {signal.confidence:.1f}/10, rank {signal.rank_points:.1f}/15, "
            f"entry {signal.entry:.2f}, target {signal.target:.2f}, stop {signal.stop_loss:.2f}"
        )
        st.caption(", ".join(f"{k} {v}" for k, v in signal.factors.items()))
    st.subheader("Watchlist")
    st.dataframe(
        snapshot.metrics[
            [
                "symbol",
                "last_price",
                "change_pct",
                "institutional_ratio",
                "absorbed_side",
                "order_imbalance",
                "volume_surge",
                "price_state",
                "pcr",
                "pcr_origin",
                "state",
                "confidence",
            ]
        ],
        hide_index=True,
        width="stretch",
    )


live_panel()
