"""Streamlit pieces the pages share: the cached service, the status badge, signal cards and
the password gate. Only the pages and ``dashboard.py`` import this module."""

from __future__ import annotations

import math

import streamlit as st

from config import get_settings
from engine.iceberg_evidence import CLEAR_STANDARD_ERRORS, HELD_SECONDS, PART_BEST
from engine.levels import STANDING_STANDARD_ERRORS, LevelSettings
from engine.signals import FACTOR_MAX_POINTS, ICEBERG_MAX_POINTS, ICEBERG_TYPES, MAX_POINTS
from feeds.service import MarketService, get_service

BADGES = {
    "connected": ("connected", "green"),
    "connecting": ("connecting", "blue"),
    "catching_up": ("catching up", "blue"),
    "reconnecting": ("reconnecting", "orange"),
    "login_required": ("login required", "red"),
    "market_closed": ("market closed", "gray"),
    "stopped": ("stopped", "gray"),
    "finished": ("replay finished", "gray"),
    "error": ("error", "red"),
}
MARKDOWN_COLOURS = {"ACCUMULATION": "green", "DISTRIBUTION": "red", "BUY": "blue", "SELL": "orange"}
FACTOR_LABELS = {
    "base": "signal type",
    "pcr": "PCR",
    "imbalance": "order imbalance",
    "institutional": "iceberg evidence",
    "volume_surge": "volume surge",
}


@st.cache_resource
def market_service() -> MarketService:
    """The process's market service (shared by every session)."""
    return get_service(get_settings())


def signal_store():
    """The signal store (the service's), or None with the reason shown to the user."""
    settings = get_settings()
    if not settings.enable_signal_persistence:
        st.info(
            "Signal persistence is off (ENABLE_SIGNAL_PERSISTENCE=false): nothing is stored, "
            "so there is no history to show."
        )
        return None
    service = market_service()
    if service.store is None:
        service.open_store()  # opens and upgrades the database if streaming has not yet
    if service.store is None:
        st.error(
            f"The signal database is unavailable: {service.database_error}. "
            "Check DATABASE_URL; see System Health."
        )
    return service.store


MISSING = "—"  # an empty cell: never "None" or "nan"


def dashed(frame, column_config: dict):
    """``frame`` styled so a missing number reads "—", every number formatted as its
    ``column_config`` says (a Styler's text is what the table shows)."""
    formatters = {}
    for name, config in column_config.items():
        kind = (config.get("type_config") or {}) if isinstance(config, dict) else {}
        if name not in frame or kind.get("type") != "number":
            continue
        pattern = kind.get("format")
        if pattern == "percent":
            formatters[name] = "{:.2%}".format
        elif pattern:
            formatters[name] = lambda value, pattern=pattern: pattern % value
        else:
            formatters[name] = "{:g}".format
    return frame.style.format(formatters, na_rep=MISSING, subset=list(formatters))


def status_badge(status: dict) -> None:
    """The feed's state as a coloured badge, with tick rate and last-tick age."""
    label, colour = BADGES.get(status["state"], (status["state"], "gray"))
    if status["state"] == "reconnecting" and status["reconnects"]:
        label = f"reconnecting ({status['reconnects']})"
    st.badge(label, color=colour)
    st.caption(f"{status['source']} · {feed_rate(status)} · last tick {tick_age(status)}")


def feed_rate(status: dict) -> str:
    """Ticks a second of the running source, or what it is doing instead."""
    if status["state"] == "catching_up":
        return status["detail"]
    if status["state"] in ("stopped", "error", "login_required", "finished"):
        return "-"
    return f"{status['ticks_per_s']:.0f} ticks/s"


def tick_age(status: dict) -> str:
    age = status["last_tick_age_s"]
    return "-" if age is None else f"{age:.1f} s ago"


def _number(value: float, digits: int = 2) -> str:
    return (
        "n/a"
        if value is None or (isinstance(value, float) and math.isnan(value))
        else (f"{value:.{digits}f}")
    )


def signal_card(signal, horizon_minutes: int | None = None) -> None:
    """One signal as a bordered card: type in its colour, scores, levels and the plan's size
    and obstacles, PCR and factors."""
    kind = str(signal.signal_type)
    colour = MARKDOWN_COLOURS.get(kind, "gray")
    with st.container(border=True):
        # The title has the card's whole width: a type never breaks mid-word.
        st.markdown(f"#### :{colour}[{kind}] {signal.symbol}")
        head, score = st.columns([3, 2])
        caught_up = " · :gray-badge[from the warm-up]" if signal.factors.get("catch_up") else ""
        head.markdown(
            f"{signal.timestamp:%H:%M:%S} IST · {'long' if signal.direction > 0 else 'short'} · "
            f"rank **{signal.rank_points:.1f}/15**{caught_up}"
        )
        score.metric("Confidence", f"{signal.confidence:.1f}/10")
        st.markdown(
            f"Entry **{_number(signal.entry)}** · target :green[**{_number(signal.target)}**] · "
            f"stop :red[**{_number(signal.stop_loss)}**] · reward:risk "
            f"**{_number(signal.reward_risk, 1)}:1**"
        )
        plan = [f"{horizon_minutes}-minute plan"] if horizon_minutes else []
        if signal.quantity > 0:
            at_risk = signal.quantity * abs(signal.entry - signal.stop_loss)
            plan.append(f"size **{signal.quantity:,}** shares (₹{at_risk:,.0f} at risk)")
        if signal.plan_note:
            plan.append(f"in the way: {signal.plan_note}")
        if plan:
            st.caption(" · ".join(plan))
        hidden_order = iceberg_evidence_line(signal.factors, str(signal.signal_type))
        if hidden_order:  # what an ACCUMULATION / DISTRIBUTION rests on, first
            st.caption(hidden_order)
        origin = signal.factors.get("pcr_origin", "none")
        pcr_text = (
            "PCR unknown"
            if math.isnan(signal.pcr)
            else f"PCR {signal.pcr:.2f} {signal.pcr_bias} ({origin}"
            + (
                f", expiry {signal.factors['pcr_expiry']})"
                if "pcr_expiry" in signal.factors
                else ")"
            )
        )
        st.caption(
            f"Whole-book institutional ratio {_number(signal.institutional_ratio)} "
            f"({signal.factors.get('absorbed_side') or 'n/a'} side absorbed more) · order "
            f"imbalance {signal.order_imbalance:+.2f} · volume surge "
            f"{_number(signal.volume_surge, 1)}x · {pcr_text}"
        )
        st.caption(factor_breakdown(signal.factors, str(signal.signal_type)))


def _duration(seconds: int) -> str:
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes} min {rest} s" if minutes else f"{rest} s"


EVIDENCE_LABELS = {  # the rules that give points (engine.iceberg_evidence.PART_BEST)
    "pace": "pace",
    "time": f"held {_duration(HELD_SECONDS)}",
    "size": "size",
    "clear": "clear of its noise",
}


def iceberg_evidence_line(factors: dict, signal_type: str = "") -> str:
    """The hidden order an ACCUMULATION or DISTRIBUTION rests on, as it stood when the
    signal fired, and the points of each evidence rule (see
    :mod:`engine.iceberg_evidence`), e.g. ``Hidden buyer at 1419.95: 4 refills, 3,200
    shares beyond what the book showed (4.1 standard errors clear), held 2 min 10 s at the
    touch · evidence: pace 2/2 · ...``. Empty for other types and for signals stored before
    signals kept it."""
    if signal_type not in ICEBERG_TYPES or "iceberg_price" not in factors:
        return ""
    who = "Hidden buyer" if signal_type == "ACCUMULATION" else "Hidden seller"
    parts = [
        f"{label} **{factors.get(f'evidence_{name}', 0)}**/{PART_BEST[name]}"
        for name, label in EVIDENCE_LABELS.items()
    ]
    if factors.get("evidence_displays", 0) < 0:
        parts.append(f"more than five displays hidden **{factors['evidence_displays']}**")
    refills = factors.get("iceberg_refills", 0)
    return (
        f"{who} at **{_number(factors['iceberg_price'])}**: {refills} refill"
        f"{'' if refills == 1 else 's'}, {factors.get('iceberg_hidden', 0):,} shares beyond what "
        f"the book showed ({factors.get('iceberg_clear', 0):.1f} standard errors clear), held "
        f"{_duration(factors.get('iceberg_held_seconds', 0))} at the touch · evidence: "
        + " · ".join(parts)
    )


def factor_breakdown(factors: dict, signal_type: str = "") -> str:
    """The points each factor gave, e.g. ``signal type 3/3 · PCR no view · ... = 6/8``: a
    PCR without a view is left out of the total, and an ACCUMULATION or DISTRIBUTION does not
    score the flow's imbalance and loses points in a volume surge (see
    :mod:`engine.signals`). The iceberg evidence's best is read from the signal's own
    ``max``, so a signal stored when that factor had fewer points shows its own scale."""
    iceberg = signal_type in ICEBERG_TYPES
    best = ICEBERG_MAX_POINTS if iceberg else MAX_POINTS  # with a PCR view
    possible = factors.get("max", best)
    no_pcr_view = possible <= best - FACTOR_MAX_POINTS["pcr"]
    scored = [
        name
        for name in FACTOR_MAX_POINTS
        if not (name == "pcr" and no_pcr_view)
        and not (iceberg and name in ("imbalance", "volume_surge"))
    ]
    best_of = {
        **FACTOR_MAX_POINTS,
        "institutional": possible
        - sum(FACTOR_MAX_POINTS[name] for name in scored if name != "institutional"),
    }
    parts = []
    for name, label in FACTOR_LABELS.items():
        points = factors.get(name, 0)
        if name == "pcr" and no_pcr_view:
            parts.append(f"{label} no view")
        elif iceberg and name == "imbalance":
            parts.append(f"{label} not scored")
        elif iceberg and name == "volume_surge":
            parts.append(f"{label} **{points}**" + (" (a surge counts against)" if points else ""))
        else:
            parts.append(f"{label} **{points}**/{best_of[name]}")
    total = factors.get("total", sum(factors.get(name, 0) for name in FACTOR_LABELS))
    return " · ".join(parts) + f" = **{total}/{possible}** points"


LOOPBACK_ADDRESSES = {"127.0.0.1", "localhost", "::1"}


def server_address() -> str:
    """The address Streamlit listens on (``server.address``; empty means every interface)."""
    return str(st.get_option("server.address") or "")


def kite_login_allowed(settings) -> bool:
    """The Kite login panel is shown on a server only this machine can reach, or behind the
    password gate: elsewhere any visitor could log the server into their own account."""
    local = server_address() in LOOPBACK_ADDRESSES
    return local or bool(settings.app_password_hash.get_secret_value())


def password_gate(settings) -> bool:
    """True when no password is configured or this session has given it; else render the form.

    Attempts are throttled process-wide (see :mod:`auth`).
    """
    encoded = settings.app_password_hash.get_secret_value()
    if not encoded or st.session_state.get("authenticated"):
        return True
    gate = _gate(encoded)
    st.title("Order-flow dashboard")
    with st.form("login"):
        password = st.text_input("Password", type="password")
        submitted = st.form_submit_button("Unlock")
    if submitted:
        attempt = gate.attempt(password)
        if attempt.accepted:
            st.session_state["authenticated"] = True
            st.rerun()
        elif attempt.throttled:
            st.error(f"Too many wrong attempts. Try again in {math.ceil(attempt.wait_seconds)} s.")
        else:
            st.error("Wrong password.")
    return False


@st.cache_resource
def _gate(encoded: str):
    from auth import PasswordGate

    return PasswordGate(encoded)


def iceberg_table(icebergs) -> None:
    """The icebergs the level tracker holds active, most hidden volume first."""
    st.subheader("Active icebergs")
    rows = [
        {
            "Symbol": i.symbol,
            "Side": "hidden buyer (bid)" if i.side == "BID" else "hidden seller (ask)",
            "Price": i.price,
            "Refills": i.refills,
            "Peak": i.peak,
            "Hidden revealed": i.hidden_volume,
            "± s.e.": i.hidden_se,
            "Clear (s.e.)": i.standard_errors_clear,
            "Behind signals": "yes" if i.standing else "no: faded",
            "Estimated total": dashed_range(i.total_low, i.total, i.total_high, i.total_capped),
            "Kind": "native" if i.native else "synthetic",
            "Held": f"{(i.last_seen - i.first_seen) / 60:.1f} min",
        }
        for i in sorted(icebergs, key=lambda i: -i.hidden_volume)
    ]
    st.dataframe(
        rows,
        hide_index=True,
        width="stretch",
        column_config={
            "Price": st.column_config.NumberColumn(format="%.2f"),
            "Peak": st.column_config.NumberColumn(format="%,.0f", help="Display size, shares"),
            "Hidden revealed": st.column_config.NumberColumn(
                format="%,.0f", help="Traded at the price beyond anything the book showed"
            ),
            "± s.e.": st.column_config.NumberColumn(
                format="%,.0f",
                help="Standard error of the revealed hidden volume: how far the guesses "
                "behind it (arrivals unseen during trades, the side each second traded on) "
                "may be off",
            ),
            "Clear (s.e.)": st.column_config.NumberColumn(
                format="%.1f",
                help="How many standard errors the revealed hidden volume stands clear of its "
                f"level's own noise now: an iceberg is called at {LevelSettings().min_z:g}; "
                f"under {STANDING_STANDARD_ERRORS:g} it has faded back into that noise and "
                "stands behind no signal; at "
                f"{CLEAR_STANDARD_ERRORS:g} or more it scores the evidence's clear point (a "
                "hidden order keeps revealing itself, a busy level that passed once by chance "
                "falls back)",
            ),
            "Behind signals": st.column_config.TextColumn(
                help="Whether it can stand behind an ACCUMULATION / DISTRIBUTION now: "
                f"faded when it stands less than {STANDING_STANDARD_ERRORS:g} standard errors "
                "clear (its evidence has sunk back into its level's noise; it stays listed "
                "until its price breaks or goes quiet)"
            ),
            "Estimated total": st.column_config.TextColumn(
                help="The whole order, shares: median (5-90 % interval) from how many refills "
                "(peaks of revealed hidden volume) the icebergs seen so far survived; ≤ marks "
                "a bound (the largest count seen, or a native order's nine refills). A native "
                "one's median is held to nine refills (NSE/BSE disclosed quantity); its "
                "interval's top reaches past them once longer icebergs have been seen"
            ),
            "Kind": st.column_config.TextColumn(
                help="native: it came back without new orders (NSE/BSE disclosed quantity); "
                "synthetic: as new orders. An algorithm re-posting slices often looks native "
                "too (its new order is one among the queue's own)"
            ),
        },
    )
    st.caption(
        "Detection quality on simulated ground truth is on the **Detection quality** page: "
        "treat an iceberg as a hint, not a certainty."
    )


def dashed_range(low: float, middle: float, high: float, capped: bool) -> str:
    """``12,000 (9,000-≤15,000)``; a dash when nothing is estimated yet."""
    if middle != middle:  # NaN
        return "—"
    top = f"≤{high:,.0f}" if capped else f"{high:,.0f}"
    return f"{middle:,.0f} ({low:,.0f}-{top})"


__all__ = [
    "factor_breakdown",
    "feed_rate",
    "iceberg_table",
    "kite_login_allowed",
    "market_service",
    "password_gate",
    "server_address",
    "signal_card",
    "status_badge",
    "tick_age",
]
