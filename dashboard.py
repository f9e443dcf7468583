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

SOURCES = ["simulator", "kite", "replay"]


def kite_login() -> None:
    """Kite's login flow as a trader does it; errors are shown, secrets never are."""
    from kiteconnect.exceptions import KiteException

    from feeds import kite

    with st.expander("Kite login", expanded=service.status()["login_required"]):
        api_key = st.text_input("API key", settings.kite_api_key)
        api_secret = st.text_input(
            "API secret", settings.kite_api_secret.get_secret_value(), type="password"
        )
        login_settings = settings.model_copy(update={"kite_api_key": api_key})
        if st.button("Generate Login URL"):
            try:
                st.markdown(f"[Log in to Kite]({kite.login_url(login_settings)})")
            except ValueError as error:
                st.error(str(error))
        pasted = st.text_input("request_token, or the whole redirect URL")
        if st.button("Complete Login"):
            try:
                kite.complete_login(login_settings, pasted, api_secret)
                st.success("Logged in. Press Start Monitoring.")
            except (ValueError, KiteException) as error:
                st.error(f"Kite login failed: {error}")
            except OSError as error:
                st.error(f"Kite could not be reached: {type(error).__name__}")


with st.sidebar:
    st.header("Market data")
    status = service.status()
    source_name = st.selectbox("Data source", SOURCES, index=SOURCES.index(service.source_name))
    st.caption(f"Status: **{status['state']}**")
    if source_name == "kite":
        kite_login()
    symbols_text = st.text_area("Symbols, one per line", "\n".join(service.symbols))
    start, stop = st.columns(2)
    if start.button("Start Monitoring", type="primary"):
        from config import parse_symbols

        report = service.start(source_name, parse_symbols(symbols_text))
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
    seen = st.session_state.get("signals_seen")
    if seen is not None:
        for signal in snapshot.signals[seen:] if seen <= len(snapshot.signals) else ():
            st.toast(f"{signal.signal_type} {signal.symbol}: confidence {signal.confidence:.1f}")
    st.session_state["signals_seen"] = len(snapshot.signals)
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
