"""The dashboard script that ``streamlit_app.App`` runs for each browser session.

It checks the settings and the optional password, draws the sidebar (data source, Kite
login, symbols, start/stop, self-tests) and hands over to the page the user chose.
"""

from __future__ import annotations

import logging

import streamlit as st

from config import ConfigError, get_settings, parse_symbols
from engine import selftest
from ui import kite_login_allowed, market_service, password_gate, server_address, status_badge

log = logging.getLogger("ui")

st.set_page_config(page_title="Order-flow dashboard", page_icon="📈", layout="wide")
# Metric values and card titles scale with the window, so nothing is cut short ("conn...") or
# broken mid-word ("DISTRIBUT / ION") on a tablet or a phone; static CSS, no script.
st.html(
    """<style>
[data-testid="stMetricValue"] { font-size: clamp(1.05rem, 0.9vw + 0.75rem, 2.25rem); }
[data-testid="stMetricValue"] > div { text-overflow: clip; }
[data-testid="stMarkdownContainer"] h4 {
  font-size: clamp(1.05rem, 0.6vw + 0.8rem, 1.5rem); word-break: keep-all; hyphens: none;
}
</style>"""
)

try:
    settings = get_settings()
except ConfigError as error:
    st.error(str(error))
    st.stop()

if not password_gate(settings):
    st.stop()

service = market_service()

SOURCES = ["simulator", "kite", "replay"]


def answer(key: str, said: list[tuple[str, str]] | None = None, valid_for: str = "") -> None:
    """Show what a button's click said (``said``: Streamlit call and text, in order) and keep
    it for the runs after. A button is True only in the run its click starts, and the live
    page runs the whole script again whenever a signal arrives: without this, that rerun
    would wipe an error a second after it appeared. ``valid_for`` ties the answer to an
    input (an API key): once the input changes, the answer is no longer shown."""
    if said is not None:
        st.session_state[key] = (valid_for, said)
    kept_for, kept = st.session_state.get(key, ("", []))
    if kept_for != valid_for:
        return
    for call, text in kept:
        getattr(st, call)(text)


def kite_login() -> None:
    """Kite's login flow as a trader does it; errors are shown, secrets never are.

    No secret is ever sent to the browser: a widget's value travels to the page even when
    masked, so the secret field starts empty and falls back to the server's KITE_API_SECRET.
    On a server reachable beyond this machine the panel needs the password gate, or anyone on
    the network could log the server into their own Kite account.
    """
    from kiteconnect.exceptions import KiteException

    from feeds import kite

    if not kite_login_allowed(settings):
        st.warning(
            "The Kite login is hidden: this server listens beyond localhost "
            f"(server.address {server_address() or 'unset: every interface'}) without a "
            "password. Set APP_PASSWORD_HASH (python auth.py makes one), or give "
            "KITE_ACCESS_TOKEN in .env."
        )
        return
    with st.expander("Kite login", expanded=service.status()["login_required"]):
        api_key = st.text_input("API key", settings.kite_api_key)
        configured = bool(settings.kite_api_secret.get_secret_value())
        api_secret = st.text_input(
            "API secret",
            type="password",
            placeholder="configured on the server" if configured else "",
            help="Leave empty to use KITE_API_SECRET from the server's .env"
            if configured
            else "Or set KITE_API_SECRET in the server's .env",
        )
        if configured:
            st.caption("An API secret is configured on the server; it is never shown here.")
        login_settings = settings.model_copy(update={"kite_api_key": api_key})
        said = None
        if st.button("Generate Login URL"):
            try:
                said = [
                    ("markdown", f"[Log in to Kite]({kite.login_url(login_settings)})"),
                    ("caption", "After logging in, Kite redirects you: paste that address below."),
                ]
            except ValueError as error:
                said = [("error", str(error))]
        answer("kite_login_url", said, valid_for=api_key)
        pasted = st.text_input("request_token, or the whole redirect URL")
        said = None
        if st.button("Complete Login"):
            try:
                kite.complete_login(login_settings, pasted, api_secret)
                said = [("success", "Logged in. Press Start Monitoring.")]
            except (ValueError, KiteException) as error:
                said = [("error", f"Kite login failed: {error}")]
            except OSError as error:
                log.warning("Kite login: Kite unreachable (%s)", type(error).__name__)
                said = [("error", f"Kite could not be reached: {type(error).__name__}")]
        answer("kite_login_result", said)


with st.sidebar:
    st.header("Market data")
    source_name = st.selectbox("Data source", SOURCES, index=SOURCES.index(service.source_name))

    # Filled after the buttons below, so the badge shows what a Start or Stop just did.
    status_slot = st.container()
    if source_name == "kite":
        kite_login()
    uploaded = st.file_uploader(
        "Watchlist file", type=["txt"], help="One entry a line, # comments: replaces the list"
    )
    listed = "\n".join(service.symbols)
    if uploaded is not None:
        try:
            listed = "\n".join(parse_symbols(uploaded.getvalue().decode("utf-8")))
        except UnicodeDecodeError:
            st.error(f"{uploaded.name} is not a UTF-8 text file")
    symbols_text = st.text_area(
        "Symbols, one per line",
        listed,
        key=f"symbols-{uploaded.file_id if uploaded else ''}",
        help="EXCHANGE:TRADINGSYMBOL, a bare symbol is NSE: RELIANCE, BSE:RELIANCE, "
        "NFO:NIFTY-I (the nearest NIFTY future), MCX:CRUDEOIL-II",
    )
    said = None
    if st.button("Start Monitoring", type="primary", width="stretch"):
        report = service.start(source_name, parse_symbols(symbols_text))
        said = [("error", report.error)] if report.error else []
        if report.invalid:
            said.append(("error", "Not monitored: " + "; ".join(report.invalid)))
        elif not report.error:
            said.append(("success", f"Monitoring {len(report.monitored)} symbols."))
    if st.button("Stop Monitoring", width="stretch"):
        service.stop()
        said = []  # what the last start said no longer holds
    answer("start_report", said)

    @st.fragment(run_every=2.0)
    def sidebar_status() -> None:
        status_badge(service.status())

    with status_slot:
        sidebar_status()
    if service.alerts.enabled:
        said = None
        if st.button("Send test alert"):
            said = [
                ("success", f"{channel}: sent")
                if result == "sent"
                else ("error", f"{channel}: {result}")
                for channel, result in service.alerts.send_test().items()
            ]
        answer("test_alert", said)
    said = None
    if st.button("Run Self-Tests"):
        said = []
        for result in selftest.run(settings):
            icon = ":material/check_circle:" if result.passed else ":material/error:"
            said.append(
                ("markdown", f"{icon} **{result.name}**: {'passed' if result.passed else 'FAILED'}")
            )
            said.append(("caption", result.detail))
    answer("self_tests", said)

pages = [
    st.Page("app_pages/live.py", title="Live Signals", icon=":material/monitoring:", default=True),
    st.Page("app_pages/history.py", title="Signal History", icon=":material/history:"),
    st.Page("app_pages/performance.py", title="Performance", icon=":material/insights:"),
    st.Page("app_pages/backtest.py", title="Backtest", icon=":material/replay:"),
    st.Page(
        "app_pages/detection.py",
        title="Detection Quality",
        icon=":material/science:",
        url_path="detection-quality",
    ),
    st.Page("app_pages/api_docs.py", title="API", icon=":material/api:", url_path="api-docs"),
    # Its own path: /health is the JSON route.
    st.Page(
        "app_pages/health.py",
        title="System Health",
        icon=":material/health_and_safety:",
        url_path="system-health",
    ),
]
try:
    st.navigation(pages).run()
except Exception as error:  # st.stop/st.rerun are BaseExceptions and pass through
    log.exception("page failed")
    st.error(
        f"This page hit an unexpected error ({type(error).__name__}). The details are in the "
        "log (DATA_DIR/logs/orderflow.log); the market feed keeps running."
    )
