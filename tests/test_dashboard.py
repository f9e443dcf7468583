"""The dashboard's pages, driven through Streamlit's AppTest."""

from __future__ import annotations

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

import config
import database
from auth import hash_password
from feeds import service as service_module
from tests.sources import IdleSource
from tests.waiting import wait_for


@pytest.fixture
def make_app(tmp_path, monkeypatch):
    """An AppTest of dashboard.py with a fresh service; extra env vars per test."""

    def make(**env: str) -> AppTest:
        defaults = {
            "DATA_DIR": str(tmp_path),
            "SIMULATOR_WARMUP_SECONDS": "120",
            "SIMULATOR_SPEED": "50",
            "WATCHLIST": "RELIANCE,TCS",
        }
        for name, value in {**defaults, **env}.items():
            monkeypatch.setenv(name, value)
        config.get_settings.cache_clear()
        monkeypatch.setattr(service_module, "_service", None)
        st.cache_resource.clear()  # the pages cache the service and the password gate
        return AppTest.from_file("../dashboard.py", default_timeout=30)

    yield make
    if service_module._service is not None:
        service_module._service.stop()
    config.get_settings.cache_clear()


@pytest.fixture
def app(make_app):
    return make_app()


def texts(test: AppTest) -> str:
    parts = [e.value for e in test.markdown] + [e.value for e in test.info]
    parts += [e.value for e in test.warning] + [e.value for e in test.error]
    parts += [e.value for e in test.caption] + [e.value for e in test.success]
    return "\n".join(str(part) for part in parts)


def button(test: AppTest, label: str):
    return next(b for b in test.button if b.label == label)


def test_the_live_page_shows_the_simulated_feed_labelled_as_such(app):
    app.run()
    assert not app.exception
    assert app.title[0].value == "Order-flow dashboard"
    assert "SIMULATED DATA" in texts(app)
    service = service_module._service
    assert service is not None and wait_for(lambda: service.ticks_total > 0, 30)
    app.run()
    watchlist = next(t.value for t in app.dataframe if "vwap_distance_pct" in t.value)
    # The distance from the day's VWAP comes from the feed's average traded price: a real
    # figure for every instrument, not the last price compared with itself.
    assert watchlist["vwap_distance_pct"].notna().all()
    assert (watchlist["vwap_distance_pct"].abs() > 0).any()


def test_futures_aliases_stream_and_the_live_page_names_their_contract(make_app):
    from engine.sessions import ist_today
    from feeds.instruments import monthly_contract

    app = make_app(WATCHLIST="RELIANCE,NFO:NIFTY-I,BSE:TCS")
    app.run()
    service = service_module._service
    assert wait_for(lambda: service.ticks_total > 0, 30)
    contract, _ = monthly_contract("NIFTY", ist_today(), 0)
    assert sorted(service.status()["symbols"]) == sorted(["RELIANCE", f"NFO:{contract}", "BSE:TCS"])
    app.run()
    assert f"NFO:NIFTY-I → NFO:{contract}" in texts(app)
    assert set(service.snapshot().metrics["symbol"]) == {"RELIANCE", f"NFO:{contract}", "BSE:TCS"}


def test_signals_render_as_cards_with_levels_and_factor_points(make_app):
    # The default watchlist on a market that is not scripted: on two symbols an hour of it
    # may bring no signal at all (about one ACC/DIS in three instrument-hours).
    app = make_app(MIN_CONFIDENCE="5", WATCHLIST=",".join(config.DEFAULT_WATCHLIST))
    app.run()
    service = service_module._service
    assert wait_for(lambda: service.signals_total > 0, 90), "no simulated signal"
    app.run()
    assert not app.exception
    rendered = texts(app)
    signal = service.snapshot().active[0]
    assert f"{signal.symbol}" in rendered
    assert "points" in rendered and "signal type" in rendered
    assert "Confidence" in {metric.label for metric in app.metric}
    for level in ("Entry", "target", "stop", "reward:risk", f"{signal.entry:.2f}"):
        assert level in rendered
    assert any(kind in rendered for kind in ("ACCUMULATION", "DISTRIBUTION", "BUY", "SELL"))
    assert app.dataframe, "the watchlist table is missing"
    assert wait_for(lambda: service.outcomes_total > 0, 60)
    app.run()
    assert "Recently closed:" in texts(app)


def test_the_active_icebergs_table_reads_each_ones_size_and_how_clear_it_stands():
    def page():
        from engine.levels import Iceberg
        from ui import iceberg_table

        start = 1_763_006_100  # 09:25 IST
        common = dict(side="BID", traded=0.0, first_seen=start, detected_at=start + 40)
        iceberg_table(
            [
                Iceberg(symbol="AAA", price=100.0, peak=500.0, refills=4, hidden_volume=2_000.0,
                        last_seen=start + 90, native=True, state="active", hidden_se=500.0,
                        total_low=2_500.0, total=4_000.0, total_high=5_000.0, total_capped=True,
                        **common),
                Iceberg(symbol="BBB", price=50.0, peak=100.0, refills=2, hidden_volume=3_000.0,
                        last_seen=start + 60, native=False, state="active", hidden_se=900.0,
                        **common),
                Iceberg(symbol="CCC", price=20.0, peak=100.0, refills=3, hidden_volume=800.0,
                        last_seen=start + 60, native=True, state="active", hidden_se=500.0,
                        **common),
            ]
        )  # fmt: skip

    app = AppTest.from_function(page).run()
    assert not app.exception
    table = app.dataframe[0].value
    # Most hidden volume first; its standard errors clear as the evidence reads them.
    assert list(table["Symbol"]) == ["BBB", "AAA", "CCC"]
    assert table["Clear (s.e.)"].tolist() == pytest.approx(
        [3_000 / 900.0006, 2_000 / 500.001, 800 / 500.001]
    )
    # One that has faded back into its noise (1.6 standard errors) stays listed, marked.
    assert table["Behind signals"].tolist() == ["yes", "yes", "no: faded"]
    assert table["Estimated total"].tolist() == ["—", "4,000 (2,500-≤5,000)", "—"]
    assert table["Kind"].tolist() == ["synthetic", "native", "native"]
    assert table["Held"].tolist() == ["1.0 min", "1.5 min", "1.0 min"]


def test_a_cards_factor_line_explains_iceberg_and_momentum_signals():
    from ui import factor_breakdown

    accumulation = {"base": 3, "pcr": 0, "imbalance": 0, "institutional": 3, "volume_surge": 0}
    assert factor_breakdown({**accumulation, "total": 6, "max": 8}, "ACCUMULATION") == (
        "signal type **3**/3 · PCR no view · order imbalance not scored · "
        "iceberg evidence **3**/5 · volume surge **0** = **6/8** points"
    )
    surged = {**accumulation, "volume_surge": -2, "total": 4, "max": 8}
    line = factor_breakdown(surged, "DISTRIBUTION")
    assert "volume surge **-2** (a surge counts against)" in line
    assert line.endswith("**4/8** points")
    confirmed = factor_breakdown({**accumulation, "pcr": 4, "total": 10, "max": 12}, "ACCUMULATION")
    assert "PCR **4**/4" in confirmed and "iceberg evidence **3**/5" in confirmed
    buy = {"base": 2, "pcr": 4, "imbalance": 3, "institutional": 0, "volume_surge": 1}
    line = factor_breakdown({**buy, "total": 10, "max": 17}, "BUY")
    assert "PCR **4**/4" in line and "order imbalance **3**/3" in line
    assert "iceberg evidence **0**/5" in line
    assert "volume surge **1**/2" in line and line.endswith("**10/17** points")
    # A signal stored when the evidence scored 0-4 shows its own scale, with or without a PCR.
    old = {**accumulation, "institutional": 2, "total": 5, "max": 7}
    line = factor_breakdown(old, "ACCUMULATION")
    assert "PCR no view" in line and "iceberg evidence **2**/4" in line
    assert line.endswith("**5/7** points")
    line = factor_breakdown({**old, "pcr": 4, "total": 9, "max": 11}, "ACCUMULATION")
    assert "PCR **4**/4" in line and "iceberg evidence **2**/4" in line
    line = factor_breakdown({**buy, "total": 10, "max": 16}, "BUY")
    assert "iceberg evidence **0**/4" in line and line.endswith("**10/16** points")


def test_a_cards_iceberg_line_names_the_hidden_order_and_each_evidence_rule():
    from ui import iceberg_evidence_line

    factors = {
        "iceberg_price": 1419.95,
        "iceberg_refills": 4,
        "iceberg_hidden": 3200,
        "iceberg_clear": 4.1,
        "iceberg_held_seconds": 130,
        "evidence_pace": 2,
        "evidence_time": 1,
        "evidence_size": 0,
        "evidence_clear": 1,
        "evidence_displays": 0,
    }
    assert iceberg_evidence_line(factors, "ACCUMULATION") == (
        "Hidden buyer at **1419.95**: 4 refills, 3,200 shares beyond what the book showed "
        "(4.1 standard errors clear), held 2 min 10 s at the touch · evidence: pace **2**/2 · "
        "held 30 s **1**/1 · size **0**/1 · clear of its noise **1**/1"
    )
    many = iceberg_evidence_line(
        {**factors, "iceberg_price": 3450.0, "evidence_displays": -2}, "DISTRIBUTION"
    )
    assert many.startswith("Hidden seller at **3450.00**")  # a price as the entry shows it
    assert many.endswith("more than five displays hidden **-2**")
    assert iceberg_evidence_line(factors, "BUY") == ""
    assert iceberg_evidence_line({"base": 3}, "ACCUMULATION") == ""  # stored before it was kept


def test_stop_and_start_monitoring_from_the_sidebar_with_a_bad_symbol(app):
    app.run()
    button(app, "Stop Monitoring").click().run()
    assert "Not monitoring" in texts(app)
    assert service_module._service.running is False
    app.sidebar.text_area[0].set_value("reliance\nNOTREAL\n").run()
    button(app, "Start Monitoring").click().run()
    assert "Not monitored: NOTREAL (not simulated)" in texts(app)
    assert service_module._service.symbols == ["RELIANCE", "NOTREAL"]
    assert service_module._service.status()["symbols"] == ["RELIANCE"]
    # The live page runs the whole script again when the signals change (a fresh start
    # does): the error stays until the next start or stop.
    app.run()
    assert "Not monitored: NOTREAL (not simulated)" in texts(app)
    button(app, "Stop Monitoring").click().run()
    assert "Not monitored" not in texts(app).replace("Not monitoring", "")


def test_self_tests_render_their_results(app):
    app.run()
    button(app, "Run Self-Tests").click().run()
    app.run()  # a rerun (the live page's, when a signal arrives) keeps the results
    rendered = texts(app)
    for name in (
        "time normalisation",
        "order imbalance",
        "confidence bounds",
        "thread safety",
        "risk calculation",
    ):
        assert f"**{name}**: passed" in rendered


def test_no_signal_yet_says_which_threshold_holds_them_back(make_app):
    app = make_app(MIN_CONFIDENCE="10", SIMULATOR_SPEED="1")
    app.run()
    service = service_module._service
    assert wait_for(lambda: service.ticks_total > 0, 30)
    app.run()
    assert "none has passed MIN_CONFIDENCE = 10/10" in texts(app)


def test_the_page_says_when_the_daily_cap_is_reached(make_app):
    app = make_app(
        MAX_DAILY_SIGNALS="1", MIN_CONFIDENCE="5", WATCHLIST=",".join(config.DEFAULT_WATCHLIST)
    )
    app.run()
    service = service_module._service
    assert wait_for(lambda: service.signals_total >= 1, 90)
    app.run()
    rendered = texts(app)
    assert "Daily cap reached: 1 signal issued today (MAX_DAILY_SIGNALS = 1)" in rendered
    assert "none has passed MIN_CONFIDENCE" not in rendered


def test_after_stop_the_status_shows_no_rate_and_no_tick_age(app):
    app.run()
    service = service_module._service
    assert wait_for(lambda: service.ticks_total > 0, 30)
    button(app, "Stop Monitoring").click().run()
    labels = {metric.label: metric.value for metric in app.metric}
    assert labels["Feed"] == "stopped" and labels["Rate"] == "-" and labels["Last tick"] == "-"
    assert ":gray-badge[stopped]" in texts(app)  # the badge says what the page says


class ClosedMarketSource(IdleSource):
    """A live source that connects but gets no ticks, as Kite outside market hours."""

    name = "kite"


def test_a_closed_market_is_explained(make_app, monkeypatch):
    monkeypatch.setattr(service_module, "market_phase", lambda *_: "closed")
    monkeypatch.setattr(service_module, "default_sources", lambda: {"kite": ClosedMarketSource})
    app = make_app(DATA_SOURCE="kite")
    app.run()
    service = service_module._service
    assert wait_for(lambda: service.status()["state"] == "market_closed", 10)
    app.run()
    assert "The market is closed" in texts(app)
    assert "SIMULATED DATA" not in texts(app)


def test_the_health_page_shows_status_and_resources(app):
    app.run()
    app.switch_page("app_pages/health.py").run()
    assert not app.exception
    assert app.title[0].value == "System health"
    labels = {metric.label for metric in app.metric}
    assert {
        "Ticks total",
        "Process memory",
        "Frames dropped",
        "Signals written (this run)",
    } <= labels
    assert f"schema version {database.SCHEMA_VERSION}" in texts(app)


def test_the_password_gate_hides_everything_until_the_password_is_given(make_app):
    app = make_app(APP_PASSWORD_HASH=hash_password("open sesame", iterations=1_000))
    app.run()
    assert not app.sidebar.button and not app.metric
    app.text_input[0].input("wrong")
    app.button[0].click().run()
    assert "Wrong password." in texts(app)
    assert not app.sidebar.button
    app.text_input[0].input("open sesame")
    app.button[0].click().run()
    assert not app.exception
    assert app.title[0].value == "Order-flow dashboard"
    assert any(b.label == "Start Monitoring" for b in app.sidebar.button)


def test_repeated_wrong_passwords_are_throttled(make_app):
    app = make_app(APP_PASSWORD_HASH=hash_password("right", iterations=1_000))
    app.run()
    for _ in range(5):
        app.text_input[0].input("wrong")
        app.button[0].click().run()
    assert "Too many wrong attempts" in texts(app)
    assert "Try again in 0 s" not in texts(app)
    app.text_input[0].input("right")
    app.button[0].click().run()  # refused while locked, even with the right password
    assert not app.sidebar.button


def seed_store(data_dir) -> None:
    """Stored signals and outcomes as a day of monitoring would leave them."""
    from datetime import UTC, datetime, timedelta

    from database import SignalStore
    from tests.db_rows import outcome_dict, signal_dict

    store = SignalStore(f"sqlite:///{data_dir}/signals.db")
    store.migrate()
    now = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    signals, outcomes = [], []
    for n in range(12):
        when = now - timedelta(minutes=10 * n)
        kind = ["ACCUMULATION", "SELL", "BUY"][n % 3]
        signals.append(
            signal_dict(
                f"h{n}", when, symbol=["TCS", "INFY"][n % 2], signal_type=kind, confidence=7 + n % 4
            )
        )
        if n < 9:
            outcomes.append(
                outcome_dict(f"h{n}", when, 2.0 if n % 2 else -1.0, "target" if n % 2 else "stop")
            )
    store.write_batch(signals, outcomes)
    store.close()


def test_history_page_filters_and_offers_the_filtered_csv(make_app, tmp_path):
    seed_store(tmp_path)
    app = make_app(AUTO_START="false")
    app.run()
    app.switch_page("app_pages/history.py").run()
    assert not app.exception
    assert "**12** signals match" in texts(app)
    assert "SIMULATED" in texts(app)
    assert len(app.dataframe[0].value) == 12
    app.multiselect[0].select("TCS").run()
    assert "**6** signals match" in texts(app)
    assert set(app.dataframe[0].value["symbol"]) == {"TCS"}
    app.multiselect[2].select("open").run()
    assert "**1** signal matches" in texts(app)  # TCS is every even n; only n = 10 is open
    assert set(app.dataframe[0].value["outcome"]) == {"open"}


def test_history_page_says_what_to_do_when_empty(make_app):
    app = make_app(AUTO_START="false")
    app.run()
    app.switch_page("app_pages/history.py").run()
    assert not app.exception
    assert "No stored signal matches" in texts(app)


def test_performance_page_reports_small_samples_honestly_and_records_a_trade(make_app, tmp_path):
    seed_store(tmp_path)
    app = make_app(AUTO_START="false")
    app.run()
    app.switch_page("app_pages/performance.py").run()
    assert not app.exception
    rendered = texts(app)
    assert "4 of 9 won (95% CI" in rendered and "too few outcomes to judge" in rendered
    labels = {metric.label: metric.value for metric in app.metric}
    assert labels["Decided outcomes"] == "9"
    assert labels["Win rate, net"] == "4 of 9"  # a count, not "44%", below 30 outcomes
    table = app.dataframe[0].value.set_index("")
    assert table.loc["Profit factor", "Gross"] == f"{8.0 / 5.0:.2f}"
    # Net: each outcome paid 0.3 R of costs (wins +1.7 R, losses -1.3 R).
    assert table.loc["Profit factor", "Net of costs"] == f"{4 * 1.7 / (5 * 1.3):.2f}"
    assert table.loc["Total", "Net of costs"] == f"{4 * 1.7 - 5 * 1.3:.1f} R"
    assert {metric.label for metric in app.metric}.isdisjoint({"Trades", "Net P/L"})


def test_the_trade_form_is_prefilled_from_the_chosen_signal_and_names_each_bad_field(
    make_app, tmp_path
):
    from datetime import timedelta

    seed_store(tmp_path)
    app = make_app(AUTO_START="false")
    app.run()
    app.switch_page("app_pages/performance.py").run()
    picker = next(box for box in app.selectbox if box.label == "Signal you traded")
    assert picker.value is None  # never the newest signal by default
    picker.set_value("h1").run()  # a SELL on INFY at 100.00: a short
    assert "**short**" in texts(app)
    by_label = {box.label: box for box in app.number_input}
    assert by_label["Entry price (₹)"].value == 100.0  # the signal's entry
    quantity = next(box for box in app.text_input if box.label == "Quantity (shares)")
    quantity.input("2.5")
    by_label["Exit price (₹)"].set_value(1519.85)
    button(app, "Record trade").click().run()
    errors = [e.value for e in app.error]
    assert "Quantity: '2.5' is not a whole number of shares" in errors
    assert any(e.startswith("Exit price: 1,519.85 is") for e in errors)
    assert "Exit time: enter when you got out" in errors
    # Each error goes once its field is fixed.
    next(box for box in app.text_input if box.label == "Quantity (shares)").input("5").run()
    assert not any(e.startswith("Quantity") for e in (e.value for e in app.error))
    entered = next(box for box in app.datetime_input if box.label == "Entry time (IST)")
    exited = next(box for box in app.datetime_input if box.label == "Exit time (IST)")
    exited.set_value(entered.value - timedelta(minutes=5)).run()
    assert "Exit time: must be after the entry time" in [e.value for e in app.error]
    {b.label: b for b in app.number_input}["Exit price (₹)"].set_value(97.0)
    exited = next(box for box in app.datetime_input if box.label == "Exit time (IST)")
    exited.set_value(entered.value + timedelta(minutes=20)).run()
    button(app, "Record trade").click().run()
    assert not app.exception and not app.error, [e.value for e in app.error]
    assert "Recorded a short trade: P/L ₹+15.00 (+3.00%)." in texts(app)
    assert {metric.label for metric in app.metric} >= {"Trades", "Net P/L"}
    table = app.dataframe[-1].value
    assert table["side"].tolist() == ["short"] and table["quantity"].tolist() == [5]


def test_performance_defaults_to_market_outcomes_whenever_there_are_any(make_app, tmp_path):
    from datetime import UTC, datetime, timedelta

    from database import SignalStore
    from tests.db_rows import outcome_dict, signal_dict

    seed_store(tmp_path)  # nine simulated outcomes
    store = SignalStore(f"sqlite:///{tmp_path}/signals.db")
    when = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)
    store.write_batch(
        [
            {**signal_dict(f"m{n}", when + timedelta(minutes=n), simulated=False), "source": "kite"}
            for n in (1, 2)
        ],
        [outcome_dict("m1", when, 2.0, "target"), outcome_dict("m2", when, -1.0, "stop")],
    )
    store.close()
    app = make_app(AUTO_START="false")
    app.run()
    app.switch_page("app_pages/performance.py").run()
    assert not app.exception
    labels = {metric.label: metric.value for metric in app.metric}
    assert labels["Decided outcomes"] == "2" and labels["Win rate, net"] == "1 of 2"
    assert "SIMULATED outcomes" not in texts(app)


def test_kite_login_in_the_sidebar_explains_what_is_missing(app):
    app.run()
    app.sidebar.selectbox[0].select("kite").run()
    assert any(e.label == "Kite login" for e in app.sidebar.expander)
    button(app, "Generate Login URL").click().run()
    assert "KITE_API_KEY is not set" in texts(app)
    # The live page runs the script again when a signal arrives: the answer stays.
    app.run()
    assert "KITE_API_KEY is not set" in texts(app)
    app.sidebar.text_input[0].input("myapikey").run()
    assert "KITE_API_KEY is not set" not in texts(app)  # a key now: that answer is gone
    button(app, "Generate Login URL").click().run()
    assert any("api_key=myapikey" in e.value for e in app.sidebar.markdown)
    app.run()
    assert any("api_key=myapikey" in e.value for e in app.sidebar.markdown)
    app.sidebar.text_input[2].input("https://example.com/cb?status=success").run()
    button(app, "Complete Login").click().run()
    assert "set the API key and the API secret first" in texts(app)
    app.sidebar.text_input[1].input("s3cret-value-123").run()
    button(app, "Complete Login").click().run()
    assert "Kite login failed: paste the request_token, or the whole URL" in texts(app)


def test_a_configured_api_secret_is_never_a_widget_value(make_app):
    app = make_app(KITE_API_KEY="key123", KITE_API_SECRET="server-side-secret-456")
    app.run()
    app.sidebar.selectbox[0].select("kite").run()
    secret_box = next(box for box in app.sidebar.text_input if box.label == "API secret")
    assert secret_box.value == ""  # widget values travel to the browser, masked or not
    assert "configured on the server" in texts(app)
    assert all("server-side-secret-456" not in str(box.value) for box in app.text_input)


def test_the_kite_login_needs_the_password_on_a_server_reachable_from_the_network(
    make_app, monkeypatch
):
    import ui

    monkeypatch.setattr(ui, "server_address", lambda: "0.0.0.0")
    app = make_app()
    app.run()
    app.sidebar.selectbox[0].select("kite").run()
    assert not any(e.label == "Kite login" for e in app.sidebar.expander)
    assert "The Kite login is hidden" in texts(app)
    app = make_app(APP_PASSWORD_HASH=hash_password("pw", iterations=1_000))
    app.run()
    app.text_input[0].input("pw")
    app.button[0].click().run()
    app.sidebar.selectbox[0].select("kite").run()
    assert any(e.label == "Kite login" for e in app.sidebar.expander)


def test_the_detection_quality_page_runs_the_benchmark_and_shows_both_detectors(
    make_app, monkeypatch
):
    from feeds import detection_quality

    real = detection_quality.run_benchmark
    monkeypatch.setattr(  # one short seed keeps the test quick; the code path is the real one
        detection_quality,
        "run_benchmark",
        lambda settings: real(settings, seeds=(101,), instruments=6, minutes=20),
    )
    app = make_app(AUTO_START="false")
    app.run()
    app.switch_page("app_pages/detection.py").run()
    assert "No benchmark has run on this server yet" in texts(app)
    button(app, "Run the benchmark now (about 25 s)").click().run(timeout=120)
    assert not app.exception
    assert "SIMULATED" in texts(app) and "Seeds 101" in texts(app)
    table = app.table[0].value
    assert list(table.columns) == [
        "ACCUMULATION / DISTRIBUTION signals at this server's MIN_CONFIDENCE",
        "Level tracker (the icebergs the signals need)",
    ]
    assert table.loc["Recall"].str.contains(" of ").all()


def test_the_backtest_page_runs_a_grid_with_progress_and_keeps_the_run(make_app, tmp_path):
    from tests.backtest.test_backtest import iceberg_session, record

    record(tmp_path / "recordings" / "session.kfr", iceberg_session())
    app = make_app(AUTO_START="false")
    app.run()
    app.switch_page("app_pages/backtest.py").run()
    assert not app.exception
    assert "No backtest has run yet" in texts(app)
    app.multiselect[0].select("session.kfr")
    next(box for box in app.text_input if box.label == "Simulator sessions").input("")
    next(box for box in app.text_input if box.label == "OPENING_QUIET_MINUTES").input("10, 20")
    button(app, "Run backtest").click().run(timeout=120)
    assert not app.exception
    table = app.dataframe[0].value
    # The session's hidden buyer trades 09:25-09:28: a 20-minute quiet opening holds it back.
    assert table["Setting"].tolist() == ["OPENING_QUIET_MINUTES=10", "OPENING_QUIET_MINUTES=20"]
    assert "every setting: MIN_CONFIDENCE=" in texts(app)
    assert table["Signals"].tolist() == [1, 0]
    assert "Includes SIMULATED sessions" not in texts(app)
    # A fresh visit finds the stored run.
    again = make_app(AUTO_START="false")
    again.run()
    again.switch_page("app_pages/backtest.py").run()
    assert again.dataframe[0].value["Signals"].tolist() == [1, 0]


def test_the_backtest_page_names_a_bad_value(make_app):
    app = make_app(AUTO_START="false")
    app.run()
    app.switch_page("app_pages/backtest.py").run()
    next(box for box in app.text_input if box.label == "MIN_CONFIDENCE").input("high")
    button(app, "Run backtest").click().run()
    assert "--set MIN_CONFIDENCE: 'high' is not a float" in [e.value for e in app.error]


def test_the_api_page_renders_every_route_of_the_document(make_app):
    from api import openapi_document

    app = make_app(AUTO_START="false", API_TOKEN="t0k3n-for-the-page")
    app.run()
    app.switch_page("app_pages/api_docs.py").run()
    assert not app.exception
    assert "The API is on" in texts(app)
    labels = [expander.label for expander in app.expander]
    for path in openapi_document()["paths"]:
        assert any(path in label for label in labels), path
    assert "t0k3n-for-the-page" not in texts(app)
