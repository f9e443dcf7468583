"""The live Kite Connect feed: login, instruments, the ticker, and real PCR.

Known traps of ``kiteconnect`` handled here:

* Twisted's reactor starts once per process and can never be restarted, so a connection is
  ended with ``KiteTicker.close()``, never ``stop()``, and every call into the ticker after
  the first connect goes through ``reactor.callFromThread``.
* A socket that goes silent while staying open is not noticed by the library (pings still
  get pongs): a watchdog drops the connection when no frame came for
  ``FEED_WATCHDOG_SECONDS``, and the library reconnects.
* A rejected token (HTTP 403 on the upgrade, or an error text then a close) would otherwise
  reconnect forever: it ends retries and shows "login required".
* After every (re)connect the connection's instruments are subscribed again in full mode.
* Kite streams at most 3,000 instruments a connection and 3 connections an API key: the
  watchlist is sharded over up to ``KITE_MAX_CONNECTIONS`` connections of at most
  ``KITE_TOKENS_PER_CONNECTION`` instruments, each with its own watchdog, reconnects and
  resubscription, and a watchlist beyond that is refused with the numbers. The feed never
  relies on what Kite does past the limit.

Raw frames go straight to the service (``on_message``); the library's own dict parsing is
never used. The access token lives in memory only and is never logged.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import replace
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pandas as pd
from kiteconnect import KiteConnect, KiteTicker
from kiteconnect.exceptions import (
    DataException,
    InputException,
    NetworkException,
    PermissionException,
    TokenException,
)

from engine.pcr import PCRResult, calculate_real_pcr
from engine.sessions import ist_today
from feeds.breaker import CircuitBreaker, retry
from feeds.instruments import exchanges_of, qualified
from feeds.instruments import resolve as resolve_entries
from feeds.sources import Deliver, FrameSource
from logs import register_secret

log = logging.getLogger("feeds.kite")
QUOTE_BATCH = 500  # Kite's limit of instruments per quote call
TOKEN_ERRORS = ("403", "token", "api_key", "forbidden", "unauthori")


def transient_kite_error(error: BaseException) -> bool:
    """Worth retrying: network trouble, rate limits, Kite's 5xx. Never a bad token or input."""
    if isinstance(error, (TokenException, InputException, PermissionException)):
        return False
    code = getattr(error, "code", None)
    return isinstance(error, (NetworkException, DataException, OSError)) or (
        isinstance(code, int) and (code == 429 or code >= 500)
    )


class LoginRequiredError(RuntimeError):
    """No valid access token: the trader must log in to Kite again."""


class _Credentials:
    """The access token of this process, in memory only."""

    def __init__(self) -> None:
        self._token = ""
        self._lock = threading.Lock()

    def get(self, settings) -> str:
        with self._lock:
            return self._token or settings.kite_access_token.get_secret_value()

    def set(self, token: str) -> None:
        register_secret(token)
        with self._lock:
            self._token = token

    def clear(self) -> None:
        self.set("")


credentials = _Credentials()


def request_token_from(text: str) -> str:
    """The ``request_token`` from what the trader pasted: the token or the redirect URL."""
    text = text.strip()
    if "request_token=" in text:
        values = parse_qs(urlparse(text).query).get("request_token") or parse_qs(text).get(
            "request_token"
        )
        if values and values[0]:
            return values[0]
        raise ValueError("the pasted URL has an empty request_token")
    if not text or any(char in text for char in " /?&="):
        raise ValueError("paste the request_token, or the whole URL Kite redirected you to")
    return text


def client(settings, access_token: str = "") -> KiteConnect:
    """A KiteConnect pointed at ``KITE_ROOT`` (and ``KITE_LOGIN_URI`` for the login page)."""
    kite = KiteConnect(
        settings.kite_api_key, access_token=access_token or None, root=settings.kite_root
    )
    kite._default_login_uri = settings.kite_login_uri
    return kite


def login_url(settings) -> str:
    if not settings.kite_api_key:
        raise ValueError("KITE_API_KEY is not set")
    return client(settings).login_url()


def complete_login(settings, pasted: str, api_secret: str = "") -> None:
    """Exchange the request token for an access token and keep it in memory."""
    secret = api_secret or settings.kite_api_secret.get_secret_value()
    if not settings.kite_api_key or not secret:
        raise ValueError("set the API key and the API secret first")
    register_secret(secret)
    request_token = request_token_from(pasted)
    register_secret(request_token)
    session = client(settings).generate_session(request_token, api_secret=secret)
    credentials.set(session["access_token"])
    log.info("Kite login completed for user %s", session.get("user_id", "?"))


class _Connection:
    """One Kite WebSocket and the instruments it streams."""

    def __init__(self, number: int, tokens: list[int]) -> None:
        self.number = number
        self.tokens = tokens
        self.ticker: KiteTicker | None = None
        self.state, self.detail = "connecting", ""
        self.reconnects = 0
        self.connects = 0
        self.last_frame = 0.0

    def status(self, now: float) -> dict:
        return {
            "connection": self.number,
            "instruments": len(self.tokens),
            "connected": self.state == "connected",
            "state": self.state,
            "reconnects": self.reconnects,
            "last_frame_age_s": round(now - self.last_frame, 1) if self.last_frame else None,
        }


class KiteSource(FrameSource):
    name = "kite"
    live = True

    def __init__(self, settings, symbols: list[str]) -> None:
        super().__init__(settings, symbols)
        self.breaker = CircuitBreaker(
            "Kite REST", settings.breaker_failure_threshold, settings.breaker_reset_seconds
        )
        self._connections: list[_Connection] = []
        self._tokens: list[int] = []
        self._options: dict[str, pd.DataFrame] = {}  # option rows per exchange (NFO, BFO)
        self._underlying: dict[str, tuple[str, str]] = {}  # symbol: its options' exchange, name
        self._last_quote_call = 0.0

    # ------------------------------------------------------------------ instruments
    def _kite(self) -> KiteConnect:
        token = credentials.get(self.settings)
        if not token:
            self.login_required = True
            raise LoginRequiredError("Kite login required: no access token")
        return client(self.settings, token)

    def _instrument_dump(self, exchange: str) -> pd.DataFrame:
        """Kite's instruments of ``exchange``, fetched once a day and cached on disk."""
        cache = Path(self.settings.data_dir) / f"instruments-{exchange}-{ist_today()}.json"
        if cache.is_file():
            return pd.read_json(cache, orient="records")
        kite = self._kite()
        rows = retry(
            lambda: self.breaker.call(kite.instruments, exchange),
            attempts=3,
            transient=transient_kite_error,
        )
        frame = pd.DataFrame(rows).assign(exchange=exchange)
        cache.parent.mkdir(parents=True, exist_ok=True)
        frame.to_json(cache, orient="records", date_format="iso")
        return frame

    def resolve(self) -> None:
        """Resolve the watchlist's entries (``feeds.instruments``) against the instruments
        dumps of the exchanges they name."""
        self._kite()  # fails fast with "login required" if there is no token
        entries = [qualified(symbol) for symbol in self.symbols]
        try:
            dumps = [self._instrument_dump(exchange) for exchange in exchanges_of(entries)]
        except TokenException as error:
            self.login_required = True
            credentials.clear()
            raise LoginRequiredError(f"Kite login required: {error}") from None
        dump = pd.concat(dumps, ignore_index=True) if dumps else pd.DataFrame()
        found = resolve_entries(entries, dump, ist_today()) if len(dump) else None
        instruments = found.instruments if found else []
        self.instruments = {i.token: i.symbol for i in instruments}
        self.tick_sizes = {i.token: i.tick_size for i in instruments}
        self.lot_sizes = {i.token: i.lot_size for i in instruments}
        self.contracts = {i.symbol: i.entry for i in instruments if i.is_alias}
        self._underlying = {i.symbol: options_of(i) for i in instruments if options_of(i)}
        problems = found.problems if found else [(e, "no such exchange") for e in entries]
        self.invalid_symbols = [f"{e.removeprefix('NSE:')} ({why})" for e, why in problems]
        self._tokens = list(self.instruments)
        if not self.instruments:
            raise ValueError("none of the watchlist resolved: " + "; ".join(self.invalid_symbols))
        per, most = self.settings.kite_tokens_per_connection, self.settings.kite_max_connections
        if len(self._tokens) > per * most:
            raise ValueError(
                f"the watchlist resolves to {len(self._tokens):,} instruments; one API key "
                f"streams at most {per * most:,} ({most} connections of {per:,}, "
                "KITE_MAX_CONNECTIONS x KITE_TOKENS_PER_CONNECTION): shorten the watchlist"
            )

    # ------------------------------------------------------------------------ ticker
    def start(self, deliver: Deliver) -> None:
        from twisted.internet import reactor

        self._stop.clear()
        self.state, self.detail, self.login_required = "connecting", "", False
        per = self.settings.kite_tokens_per_connection
        self._connections = [
            _Connection(number + 1, self._tokens[first : first + per])
            for number, first in enumerate(range(0, len(self._tokens), per))
        ]
        for connection in self._connections:
            connection.ticker = self._ticker_for(connection, deliver)
            if reactor.running:
                reactor.callFromThread(connection.ticker.connect, threaded=True)
            else:
                connection.ticker.connect(threaded=True)  # starts the reactor, once a process
                deadline = time.monotonic() + 10
                while not reactor.running and time.monotonic() < deadline:
                    time.sleep(0.01)  # the next connections are made from the reactor thread
        self._thread = threading.Thread(target=self._watchdog, name="kite-watchdog", daemon=True)
        self._thread.start()

    def _ticker_for(self, connection: _Connection, deliver: Deliver) -> KiteTicker:
        ticker = KiteTicker(
            self.settings.kite_api_key,
            credentials.get(self.settings),
            root=self.settings.kite_ticker_root,
            reconnect_max_delay=5,
        )

        def on_message(_ws, payload, is_binary):
            if is_binary:
                connection.last_frame = time.monotonic()
                deliver(payload, time.time())

        def on_connect(ws, _response):
            if connection.connects:  # the library only reports retries after the first
                connection.reconnects += 1
                self.reconnects += 1
            connection.connects += 1
            connection.state, connection.detail = "connected", ""
            connection.last_frame = time.monotonic()
            ws.subscribe(connection.tokens)
            ws.set_mode(ws.MODE_FULL, connection.tokens)
            self._summarise()

        def on_trouble(_ws, code, reason):
            self._on_trouble(connection, code, reason)

        def on_reconnect(_ws, attempts):
            if not self.login_required:
                connection.state = "reconnecting"
                connection.detail = f"reconnecting (attempt {attempts})"
                self._summarise()

        def on_noreconnect(_ws):
            connection.state, connection.detail = "error", "gave up reconnecting to Kite"
            self._summarise()

        ticker.on_message, ticker.on_connect = on_message, on_connect
        ticker.on_close = ticker.on_error = on_trouble
        ticker.on_reconnect, ticker.on_noreconnect = on_reconnect, on_noreconnect
        return ticker

    def _summarise(self) -> None:
        """The source's state from its connections': connected when all are."""
        if self.login_required:
            return
        connections = self._connections
        troubled = [c for c in connections if c.state != "connected"]
        if not troubled:
            self.state, self.detail = "connected", ""
            return
        worst = troubled[0]
        self.state = worst.state if worst.state in ("error", "connecting") else "reconnecting"
        where = f"connection {worst.number} of {len(connections)}: " if len(connections) > 1 else ""
        self.detail = where + (worst.detail or worst.state)

    def connection_status(self) -> list[dict]:
        """Each connection: instruments, connected, state, reconnects, last frame age."""
        now = time.monotonic()
        return [connection.status(now) for connection in self._connections]

    def _on_trouble(self, connection: _Connection, code, reason) -> None:
        text = str(reason or "")
        if any(word in text.lower() for word in TOKEN_ERRORS):
            self.login_required = True
            self.state, self.detail = "login_required", "Kite rejected the access token"
            credentials.clear()
            self._close_tickers()
        elif not self._stop.is_set() and not self.login_required:
            connection.state, connection.detail = "reconnecting", f"connection lost ({code})"
            self._summarise()

    def _close_tickers(self) -> None:
        from twisted.internet import reactor

        for connection in self._connections:
            if connection.ticker is not None:  # close(), never stop(): see module docstring
                reactor.callFromThread(connection.ticker.close)

    def _watchdog(self) -> None:
        from twisted.internet import reactor

        limit = self.settings.feed_watchdog_seconds
        while not self._stop.wait(0.5):
            for connection in self._connections:
                ticker = connection.ticker
                silent = time.monotonic() - connection.last_frame
                if connection.state == "connected" and silent > limit and ticker and ticker.ws:
                    log.warning(
                        "connection %d: no frame for %.0f s on an open socket; reconnecting",
                        connection.number,
                        silent,
                    )
                    connection.state = "reconnecting"
                    connection.detail = f"silent for {silent:.0f} s"
                    connection.last_frame = time.monotonic()
                    self._summarise()
                    reactor.callFromThread(ticker.ws.dropConnection, abort=True)

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._close_tickers()
        if self._thread is not None:
            self._thread.join(timeout)
        self.state = "stopped"

    # --------------------------------------------------------------------------- PCR
    def fetch_pcr(self, symbol: str) -> PCRResult | None:
        """OI PCR of the nearest expiry of ``symbol``'s underlying's options (a future's
        underlying's, an index future's index options), or None when real PCR is off or the
        instrument has no options (commodities, currencies)."""
        if not self.settings.enable_real_pcr or symbol not in self._underlying:
            return None
        exchange, name = self._underlying[symbol]
        if exchange not in self._options:
            dump = self._instrument_dump(exchange)
            self._options[exchange] = dump[dump["instrument_type"].isin(["CE", "PE"])]
        options = self._options[exchange]
        options = options[options["name"] == name]
        if options.empty:
            return calculate_real_pcr(pd.DataFrame(columns=["strike", "type", "oi"]))
        expiry = pd.to_datetime(options["expiry"]).dt.date
        upcoming = expiry >= ist_today()
        nearest_expiry = expiry[upcoming].min()  # the weekly, where there is one
        nearest = options[upcoming & (expiry == nearest_expiry)]
        names = [f"{exchange}:{tradingsymbol}" for tradingsymbol in nearest["tradingsymbol"]]
        kite = self._kite()
        quotes: dict = {}
        for first in range(0, len(names), QUOTE_BATCH):
            wait = 1.0 - (time.monotonic() - self._last_quote_call)  # at most one call a second
            if wait > 0:
                time.sleep(wait)
            self._last_quote_call = time.monotonic()
            quotes.update(self.breaker.call(kite.quote, names[first : first + QUOTE_BATCH]))
        chain = pd.DataFrame(
            {
                "strike": nearest["strike"].to_numpy(),
                "type": nearest["instrument_type"].to_numpy(),
                "oi": [quotes.get(name, {}).get("oi", 0) or 0 for name in names],
                "volume": [quotes.get(name, {}).get("volume", 0) or 0 for name in names],
            }
        )
        result = calculate_real_pcr(
            chain, self.settings.pcr_bullish_above, self.settings.pcr_bearish_below, origin="real"
        )
        return replace(result, expiry=f"{nearest_expiry:%Y-%m-%d}")


# The index options behind an index (Kite's name of the index on NSE/BSE): NFO's, BFO's.
INDEX_OPTIONS = {
    "NIFTY 50": ("NFO", "NIFTY"),
    "NIFTY BANK": ("NFO", "BANKNIFTY"),
    "NIFTY FIN SERVICE": ("NFO", "FINNIFTY"),
    "NIFTY MID SELECT": ("NFO", "MIDCPNIFTY"),
    "SENSEX": ("BFO", "SENSEX"),
}


def options_of(instrument) -> tuple[str, str] | None:
    """Where ``instrument``'s PCR comes from: the exchange and name of its underlying's
    options. A stock (NSE or BSE) and its futures: NFO's stock options; an index future: its
    index's options (SENSEX on BFO); an index: its options. None for commodities and
    currencies."""
    if instrument.tradingsymbol in INDEX_OPTIONS:
        return INDEX_OPTIONS[instrument.tradingsymbol]
    if instrument.exchange in ("NSE", "BSE", "NFO"):
        return "NFO", instrument.underlying or instrument.tradingsymbol
    if instrument.exchange == "BFO":
        return "BFO", instrument.underlying
    return None
