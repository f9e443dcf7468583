"""Live Signals: active signals as cards, the watchlist and charts, refreshed every second."""

from __future__ import annotations

import streamlit as st

import charts
from config import get_settings
from ui import feed_rate, iceberg_table, market_service, signal_card, tick_age

settings = get_settings()
service = market_service()

st.title("Order-flow dashboard")

OUTCOME_ICONS = {"target": "✅", "stop": "⛔", "expired": "⌛"}
WATCHLIST_COLUMNS = {
    "symbol": st.column_config.TextColumn("Symbol", pinned=True),
    "last_price": st.column_config.NumberColumn("Last", format="%.2f"),
    "change_pct": st.column_config.NumberColumn("Change %", format="%+.2f%%"),
    "vwap_distance_pct": st.column_config.NumberColumn(
        "vs VWAP",
        help="The last price against the day's average traded price (Kite's VWAP), percent",
        format="%+.2f%%",
    ),
    "institutional_ratio": st.column_config.ProgressColumn(
        "Institutional ratio",
        help="Traded volume per minute over the visible depth of the absorbed side",
        format="%.2f",
        min_value=0.0,
        max_value=max(2 * settings.institutional_threshold, 1.0),
    ),
    "ratio_z": st.column_config.NumberColumn(
        "vs own normal (z)",
        help="How unusual the ratio is for this instrument (robust z against its history)",
        format="%+.1f",
    ),
    "absorbed_side": st.column_config.TextColumn("Absorbed"),
    "book_state": st.column_config.TextColumn(
        "Book",
        help="two-sided, or locked (one side empty: a circuit limit); a locked book "
        "is never scored",
    ),
    "order_imbalance": st.column_config.NumberColumn(
        "Imbalance", help="-1 visible selling .. +1 visible buying", format="%+.2f"
    ),
    "volume_surge": st.column_config.NumberColumn("Volume surge", format="%.1fx"),
    "price_state": st.column_config.TextColumn("Price"),
    "pcr": st.column_config.NumberColumn("PCR", format="%.2f"),
    "pcr_origin": st.column_config.TextColumn("PCR source"),
    "state": st.column_config.TextColumn("State", help="The signal type the rules see now"),
    "confidence": st.column_config.NumberColumn("Confidence", format="%.1f"),
    "rank_points": st.column_config.NumberColumn("Rank", format="%.1f"),
}


def has_ticks(status: dict, metrics) -> bool:
    """True once the feed has delivered ticks for the watchlist (something to draw)."""
    return not metrics.empty and status["ticks_total"] > 0


def empty_state(status: dict, metrics) -> bool:
    """Tell the user what to do when there is nothing to show; True if nothing else shows."""
    if not service.running:
        if status["login_required"]:
            st.info("Kite needs a login: open **Kite login** in the sidebar, then Start.")
        else:
            st.info(
                "Not monitoring. Choose a data source and press **Start Monitoring** in the "
                "sidebar (the simulator needs no account)."
            )
        return True
    if status["state"] == "market_closed":
        st.info(
            f"The market is {status['market_phase'].replace('_', ' ')}: NSE trades 09:15-15:30 "
            "IST on weekdays. Signals appear once ticks arrive; the simulator source works "
            "any time."
        )
        return True
    if not has_ticks(status, metrics):
        st.info("Waiting for the first ticks...")
        return True
    return False


def cards_signature(snapshot) -> tuple:
    """What the signal cards show: they are drawn again only when this changes."""
    status = snapshot.status
    return (
        service.running,
        status["state"] in ("market_closed", "login_required"),
        status["ticks_total"] == 0,
        status["daily_cap_reached"],
        tuple((s.symbol, str(s.signal_type), s.timestamp) for s in snapshot.active),
        tuple((s.symbol, o.signal_id) for s, o in snapshot.outcomes[-6:]),
    )


@st.fragment(run_every=1.0)
def status_panel() -> None:
    """The feed's figures, every second; when the signals change, the whole page runs again
    so the cards below follow (they are not re-sent otherwise)."""
    snapshot = service.snapshot()
    status, metrics = snapshot.status, snapshot.metrics
    if cards_signature(snapshot) != st.session_state.get("cards_shown"):
        st.rerun()
    if status["simulated"]:
        st.warning("SIMULATED DATA: the embedded simulator, not the market.", icon="🧪")
    feed, rate, age_column, today = st.columns(4)
    feed.metric("Feed", status["state"].replace("_", " "))
    rate.metric("Rate", feed_rate(status))
    age_column.metric("Last tick", tick_age(status))
    today.metric("Signals today", status["signals_today"], help="This source, this IST day")
    if status["detail"] and status["state"] != "catching_up":
        st.info(status["detail"])
    if status["daily_cap_reached"]:
        st.warning(
            f"Daily cap reached: {status['signals_today']} "
            f"{'signal' if status['signals_today'] == 1 else 'signals'} issued today "
            f"(MAX_DAILY_SIGNALS = {settings.max_daily_signals}). No new signal until the next "
            "trading day's open, 09:15 IST; open signals are still followed."
        )
    if empty_state(status, metrics):
        return

    seen = st.session_state.get("signals_seen")
    if seen is not None and seen < status["signals_total"]:
        fresh = min(status["signals_total"] - seen, len(snapshot.signals))
        for signal in snapshot.signals[len(snapshot.signals) - fresh :]:
            st.toast(
                f"{signal.signal_type} {signal.symbol}: confidence {signal.confidence:.1f}/10",
                icon="🔔",
            )
    st.session_state["signals_seen"] = status["signals_total"]
    ready = int(metrics["ready"].sum())
    if ready < len(metrics):
        st.caption(
            f"Warming up: {ready} of {len(metrics)} symbols have a full "
            f"{settings.window_seconds}-second window."
        )


def signal_cards(snapshot) -> None:
    """The open signals as cards and the latest outcomes: drawn on a page run only."""
    status, metrics = snapshot.status, snapshot.metrics
    if not service.running or status["state"] == "market_closed" or not has_ticks(status, metrics):
        return
    st.subheader("Active signals")
    active = sorted(snapshot.active, key=lambda s: (-s.rank_points, -s.confidence))
    if not active and not status["daily_cap_reached"]:
        st.info(
            "No active signal: none has passed MIN_CONFIDENCE = "
            f"{settings.min_confidence:g}/10 yet. Candidates below it show in the table's "
            "State column."
        )
    cards = st.columns(2)
    for index, signal in enumerate(active[:12]):
        with cards[index % 2]:
            signal_card(signal, settings.risk_horizon_minutes)
    closed = snapshot.outcomes[-6:]
    if closed:
        st.caption(
            "Recently closed: "
            + " · ".join(
                f"{OUTCOME_ICONS.get(outcome.outcome, '')} {signal.symbol} {signal.signal_type} "
                f"{outcome.outcome} {outcome.r_multiple:+.1f} R ({outcome.net_r:+.1f} R net)"
                for signal, outcome in reversed(closed)
            )
        )


@st.fragment(run_every=1.0)
def market_tables() -> None:
    """The active icebergs and the watchlist, every second."""
    snapshot = service.snapshot()
    status, metrics = snapshot.status, snapshot.metrics
    if not service.running or not has_ticks(status, metrics):
        return
    if snapshot.icebergs:
        iceberg_table(snapshot.icebergs)
    st.subheader("Watchlist")
    if status["contracts"]:
        st.caption(
            "Futures aliases, live contract: "
            + " · ".join(f"{alias} → {symbol}" for symbol, alias in status["contracts"].items())
        )
    st.dataframe(
        metrics[list(WATCHLIST_COLUMNS)],
        column_config=WATCHLIST_COLUMNS,
        hide_index=True,
        width="stretch",
    )


# The charts gain a point every 5-second bucket; redrawing them every other bucket halves
# their cost (most of a tab's) and loses nothing a trader reads off a 15-minute chart.
CHART_SECONDS = 10


@st.fragment(run_every=CHART_SECONDS)
def chart_panel() -> None:
    """The charts, on their own slower refresh, each figure rebuilt only when its data has a
    new sample: the second-by-second refresh above stays light."""
    snapshot = service.snapshot()
    metrics = snapshot.metrics
    if not has_ticks(snapshot.status, metrics):
        return
    st.plotly_chart(
        charts.watchlist_ratio_chart(metrics, settings.institutional_threshold),
        key="watchlist_ratio",
    )
    active = sorted(snapshot.active, key=lambda s: (-s.rank_points, -s.confidence))
    symbols = list(metrics["symbol"])
    default = active[0].symbol if active else symbols[0]
    chosen = st.selectbox("Chart symbol", symbols, index=symbols.index(default), key="chart_symbol")
    revision = (chosen, service.history_revision(), len(snapshot.signals))
    figures = st.session_state.get("chart_figures")
    if figures is None or figures[0] != revision:
        history = service.history(chosen)
        if len(history) < 2:
            st.caption("Charts fill in as the session runs (one point per bucket).")
            return
        figures = (
            revision,
            {
                "price": charts.price_chart(
                    history, snapshot.signals, chosen, service.icebergs(chosen)
                ),
                "cvd": charts.cvd_chart(history, chosen),
                "ratio": charts.ratio_chart(history, settings.institutional_threshold, chosen),
                "imbalance": charts.imbalance_chart(history, settings.imbalance_threshold, chosen),
            },
        )
        st.session_state["chart_figures"] = figures
    drawn = figures[1]
    depth = service.depth_frame(chosen)
    if depth["side"].eq("trade").sum() >= 2:
        st.plotly_chart(
            charts.depth_heatmap(depth, snapshot.signals, chosen, service.icebergs(chosen)),
            key="depth",
        )
    else:
        st.caption(f"The depth heatmap of {chosen} fills in from now (one snapshot a second).")
    st.plotly_chart(drawn["price"], key="price")
    st.plotly_chart(drawn["cvd"], key="cvd")
    left, right = st.columns(2)
    left.plotly_chart(drawn["ratio"], key="ratio")
    right.plotly_chart(drawn["imbalance"], key="imbalance")


# A page run (first visit, or the signals changed): the cards are drawn from the same
# snapshot whose signature the status panel compares against every second.
page_snapshot = service.snapshot()
st.session_state["cards_shown"] = cards_signature(page_snapshot)
status_panel()
signal_cards(page_snapshot)
market_tables()
chart_panel()
