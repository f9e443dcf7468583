"""The live Kite path against loopback fakes: the real kiteconnect classes, real sockets."""

from __future__ import annotations

from datetime import timedelta

import pytest
from kiteconnect.exceptions import TokenException

from config import Settings
from feeds import kite
from feeds.breaker import CircuitOpenError
from feeds.service import MarketService
from feeds.simulator import simulated_instruments
from tests.feeds.kite_fakes import GOOD_TOKEN, FakeKiteApi, FakeKiteTicker, option_chain
from tests.waiting import wait_for

SYMBOLS = ["RELIANCE", "TCS", "INFY"]


@pytest.fixture
def fakes():
    instruments, _ = simulated_instruments(SYMBOLS)
    options = option_chain(["RELIANCE"])
    api, ticker = FakeKiteApi(instruments, options), FakeKiteTicker(instruments)
    yield api, ticker
    api.close()
    ticker.close()
    kite.credentials.clear()


def settings_for(fakes, tmp_path, **overrides) -> Settings:
    api, ticker = fakes
    values = dict(
        data_source="kite",
        kite_api_key="key",
        kite_api_secret="secret",
        kite_access_token=GOOD_TOKEN,
        kite_root=api.root,
        kite_ticker_root=ticker.root,
        kite_login_uri=f"{api.root}/connect/login",
        data_dir=str(tmp_path),
        watchlist=",".join([*SYMBOLS, "NOTANSE"]),
        feed_watchdog_seconds=2,
        pcr_refresh_seconds=3600,
    )
    values.update(overrides)
    return Settings(_env_file=None, **values)


def streaming(service: MarketService, more_than: int = 0, timeout: float = 20) -> bool:
    return wait_for(lambda: service.ticks_total > more_than, timeout)


def test_normal_stream_subscribes_in_full_mode_and_reports_unknown_symbols(fakes, tmp_path):
    _, ticker = fakes
    service = MarketService(settings_for(fakes, tmp_path))
    report = service.start()
    try:
        assert report.monitored == SYMBOLS and report.invalid == ["NOTANSE (not found on NSE)"]
        assert streaming(service)
        tokens = sorted(i for i, _ in service.source.instruments.items())
        assert ("mode", ["full", tokens]) in [
            (a, [v[0], sorted(v[1])]) if a == "mode" else (a, v) for a, v in ticker.subscriptions
        ]
        status = service.status()
        assert status["state"] == "connected" and status["connected"] is True
        assert status["simulated"] is False
        assert GOOD_TOKEN not in str(status)
        # Each instrument's tick from the instruments dump reaches the engine.
        ticks = service.snapshot().metrics.set_index("symbol")["tick_size"]
        assert ticks.to_dict() == {"RELIANCE": 0.05, "TCS": 0.1, "INFY": 0.05}
    finally:
        service.stop()


def test_an_abrupt_drop_reconnects_and_resubscribes(fakes, tmp_path):
    _, ticker = fakes
    service = MarketService(settings_for(fakes, tmp_path))
    service.start()
    try:
        assert streaming(service)
        ticker.drop()
        assert wait_for(lambda: service.source.reconnects >= 1, 20)
        before = service.ticks_total
        assert streaming(service, before, 30)
        assert ticker.connections >= 2
        assert sum(1 for action, _ in ticker.subscriptions if action == "subscribe") >= 2
    finally:
        service.stop()


def test_a_frozen_socket_is_dropped_by_the_watchdog_and_recovers(fakes, tmp_path):
    _, ticker = fakes
    service = MarketService(settings_for(fakes, tmp_path))
    service.start()
    try:
        assert streaming(service)
        ticker.freeze = True
        assert wait_for(lambda: ticker.connections >= 2, 30)
        ticker.freeze = False
        before = service.ticks_total
        assert streaming(service, before, 30)
        assert service.status()["state"] == "connected"
    finally:
        service.stop()


def test_a_25_second_outage_ends_in_a_reconnect(fakes, tmp_path):
    _, ticker = fakes
    service = MarketService(settings_for(fakes, tmp_path))
    service.start()
    try:
        assert streaming(service)
        ticker.outage(25)
        assert wait_for(lambda: service.status()["state"] == "reconnecting", 10)
        before = service.ticks_total
        assert streaming(service, before, 60)
        assert service.status()["state"] == "connected"
        assert service.source.reconnects >= 1
    finally:
        service.stop()


def test_a_token_rejected_on_upgrade_ends_in_login_required_not_a_loop(fakes, tmp_path):
    _, ticker = fakes
    ticker.token = "the-exchange-revoked-it"
    service = MarketService(settings_for(fakes, tmp_path))
    service.start()
    try:
        assert wait_for(lambda: service.status()["state"] == "login_required", 20)
        attempts = ticker.attempts
        wait_for(lambda: False, 8)
        assert ticker.attempts <= attempts + 1, "kept reconnecting with a rejected token"
    finally:
        service.stop()


def test_a_token_error_text_after_upgrade_ends_in_login_required(fakes, tmp_path):
    _, ticker = fakes
    ticker.reject_with_text = True
    service = MarketService(settings_for(fakes, tmp_path))
    service.start()
    try:
        assert wait_for(lambda: service.status()["state"] == "login_required", 20)
    finally:
        service.stop()


def test_no_token_or_a_rejected_one_at_start_asks_for_login(fakes, tmp_path):
    service = MarketService(settings_for(fakes, tmp_path, kite_access_token=""))
    report = service.start()
    assert "login required" in report.error
    assert service.status()["state"] == "login_required"
    service = MarketService(settings_for(fakes, tmp_path, kite_access_token="stale"))
    report = service.start()
    assert "login required" in report.error and "stale" not in report.error


def test_login_from_the_pasted_redirect_url_keeps_the_token_in_memory(fakes, tmp_path):
    api, _ = fakes
    settings = settings_for(fakes, tmp_path, kite_access_token="")
    assert kite.login_url(settings).startswith(f"{api.root}/connect/login?api_key=key")
    pasted = "https://example.com/cb?action=login&status=success&request_token=good-request-token"
    kite.complete_login(settings, pasted)
    assert kite.credentials.get(settings) == GOOD_TOKEN
    assert api.posted[-1]["request_token"] == "good-request-token"
    assert "secret" not in api.posted[-1].values()  # only the checksum travels
    with pytest.raises(TokenException, match="invalid or has expired"):
        kite.complete_login(settings, "expired-token")


def test_request_token_extraction_explains_bad_input():
    assert kite.request_token_from("  abc123 ") == "abc123"
    with pytest.raises(ValueError, match="empty request_token"):
        kite.request_token_from("https://x/cb?request_token=&status=success")
    with pytest.raises(ValueError, match="paste the request_token"):
        kite.request_token_from("https://x/cb?status=success")


def test_real_pcr_comes_from_the_nearest_expiry_chain(fakes, tmp_path):
    source = kite.KiteSource(settings_for(fakes, tmp_path, enable_real_pcr=True), SYMBOLS)
    source.resolve()
    result = source.fetch_pcr("RELIANCE")
    assert result.pcr == 1.5 and result.origin == "real"


def test_without_real_pcr_the_service_shows_a_mock_labelled_as_such(fakes, tmp_path):
    service = MarketService(settings_for(fakes, tmp_path, enable_real_pcr=False))
    service.start()
    try:
        assert wait_for(lambda: (service.snapshot().metrics["pcr_origin"] == "mock").all(), 20)
    finally:
        service.stop()


@pytest.mark.parametrize("status", [429, 500, 503])
def test_rest_failures_open_the_breaker_and_keep_requests_back(fakes, tmp_path, status):
    api, _ = fakes
    source = kite.KiteSource(settings_for(fakes, tmp_path, enable_real_pcr=True), SYMBOLS)
    source.resolve()
    api.fail_with = status
    before = len(api.requests)
    failures = 0
    while source.breaker.state == "closed":  # retried with back-off; each try counts
        with pytest.raises(Exception) as failure:
            source.fetch_pcr("RELIANCE")
        assert not isinstance(failure.value, CircuitOpenError)
        failures += 1
        assert failures <= 3
    sent = len(api.requests)
    assert sent - before == 3  # the threshold: three requests, then the circuit opens
    with pytest.raises(CircuitOpenError, match="Kite REST is failing"):
        source.fetch_pcr("RELIANCE")
    assert len(api.requests) == sent  # nothing left the machine while open
    assert source.breaker.state == "open"


def test_a_watchlist_change_on_the_live_feed_keeps_the_kept_symbols_state(fakes, tmp_path):
    service = MarketService(settings_for(fakes, tmp_path))
    service.start(symbols=["RELIANCE", "TCS"])
    try:
        assert wait_for(
            lambda: service.snapshot().metrics.set_index("symbol").loc["TCS", "ticks"] >= 20, 30
        )
        before = int(service.snapshot().metrics.set_index("symbol").loc["TCS", "ticks"])
        report = service.set_watchlist(["TCS", "INFY"])
        assert report.monitored == ["TCS", "INFY"]
        metrics = service.snapshot().metrics.set_index("symbol")
        assert metrics.loc["TCS", "ticks"] >= before  # carried over, not counted from zero
        assert metrics.loc["INFY", "ticks"] == 0
        assert streaming(service)
    finally:
        service.stop()


def test_a_futures_pcr_comes_from_its_underlyings_nearest_weekly_chain(tmp_path):
    from engine.sessions import ist_today
    from tests.feeds.instrument_dumps import future_rows

    today = ist_today()
    weekly = option_chain(["NIFTY"])  # PCR 1.5
    for row in weekly:
        row["expiry"] = (today + timedelta(days=2)).isoformat()
        row["tradingsymbol"] = "W" + row["tradingsymbol"]
    monthly = option_chain(["NIFTY"])  # later, and with the calls' OI 6,000: PCR 0.5
    for row in monthly:
        row["instrument_token"] += 500
        row["oi"] = 6_000 if row["instrument_type"] == "CE" else 3_000
    futures = future_rows("NFO", "NIFTY", today, 70_001, 75)
    futures += future_rows("MCX", "CRUDEOIL", today, 80_001, 100)
    instruments, _ = simulated_instruments(SYMBOLS)
    api = FakeKiteApi(instruments, weekly + monthly, futures)
    ticker = FakeKiteTicker(instruments)
    try:
        settings = settings_for((api, ticker), tmp_path, enable_real_pcr=True)
        source = kite.KiteSource(settings, ["NFO:NIFTY-I", "MCX:CRUDEOIL-I"])
        source.resolve()
        [nifty, crude] = sorted(source.instruments.values())
        result = source.fetch_pcr(crude if nifty.startswith("MCX") else nifty)
        assert result.pcr == 1.5 and result.origin == "real"
        assert result.expiry == (today + timedelta(days=2)).isoformat()  # the weekly
        assert source.fetch_pcr(nifty if nifty.startswith("MCX") else crude) is None
    finally:
        api.close()
        ticker.close()
        kite.credentials.clear()
