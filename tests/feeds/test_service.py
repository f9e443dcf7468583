"""The market service end to end on the offline sources."""

from __future__ import annotations

import itertools
import logging
import threading
import time
import urllib.request
from datetime import UTC, date, datetime, timedelta

import pytest

from config import Settings
from feeds.recording import FrameRecorder
from feeds.service import MarketService
from feeds.simulator import MarketSimulator, simulated_instruments
from feeds.sources import FrameSource
from tests.sources import IdleSource
from tests.waiting import wait_for

START = 1_763_005_500


def fast(tmp_path, **overrides) -> Settings:
    values = dict(
        simulator_speed=200.0,
        simulator_warmup_seconds=900,
        data_dir=str(tmp_path),
        watchlist="RELIANCE,TCS,INFY,SBIN",
        pcr_refresh_seconds=5.0,
    )
    values.update(overrides)
    return Settings(_env_file=None, **values)


def test_simulator_streams_ticks_and_signals_without_a_browser(tmp_path):
    service = MarketService(fast(tmp_path))
    report = service.start()
    try:
        assert report.monitored == ["RELIANCE", "TCS", "INFY", "SBIN"] and not report.invalid
        assert wait_for(lambda: service.signals_total >= 1, timeout=60)
        assert wait_for(lambda: service.ticks_total >= 900 * 4, timeout=60)
        status = service.status()
        assert status["state"] == "connected" and status["simulated"] is True
        assert status["ticks_per_s"] > 0 and status["last_tick_age_s"] < 5
        assert status["frame_errors"] == status["frames_dropped"] == 0
        snapshot = service.snapshot()
        assert sorted(snapshot.metrics["symbol"]) == ["INFY", "RELIANCE", "SBIN", "TCS"]
        # The demo hidden buyer near the live edge is found by the level tracker (whether it
        # becomes an ACCUMULATION also depends on the simulated PCR's view at the time).
        live_from = service.source.live_from
        assert wait_for(
            lambda: any(
                i.symbol == "RELIANCE" and i.side == "BID" and i.last_seen >= live_from - 60
                for i in [*service.engine.ended_icebergs, *service.engine.icebergs()]
            ),
            timeout=60,
        )
        # Signals from the warm-up's history are marked as such; live ones are not.
        live_from = service.source.live_from
        for signal in service.snapshot().signals:
            caught_up = signal.timestamp.timestamp() < live_from
            assert bool(signal.factors.get("catch_up")) == caught_up, signal
        assert wait_for(
            lambda: (service.snapshot().metrics["pcr_origin"] == "simulated").all(), timeout=30
        )
    finally:
        service.stop()
    assert service.status()["state"] == "stopped"


def test_unknown_symbols_are_named_and_the_rest_still_stream(tmp_path):
    service = MarketService(fast(tmp_path))
    report = service.start(symbols=["RELIANCE", "NOTASTOCK"])
    try:
        assert report.monitored == ["RELIANCE"] and report.invalid == ["NOTASTOCK (not simulated)"]
        assert wait_for(lambda: service.ticks_total > 0, timeout=30)
        assert service.status()["invalid_symbols"] == ["NOTASTOCK (not simulated)"]
    finally:
        service.stop()


def test_a_watchlist_of_only_unknown_symbols_is_an_error_not_a_crash(tmp_path):
    service = MarketService(fast(tmp_path))
    report = service.start(symbols=["FOO"])
    assert report.error and "FOO" in report.error
    assert service.status()["state"] == "error"


def test_watchlist_changes_and_restarts_are_safe_from_many_threads(tmp_path):
    service = MarketService(fast(tmp_path, simulator_warmup_seconds=30))
    errors: list[BaseException] = []

    def churn(symbols):
        try:
            for _ in range(3):
                service.set_watchlist(symbols)
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=churn, args=(s,)) for s in (["TCS"], ["INFY", "ITC"])]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    try:
        assert not errors
        assert wait_for(lambda: service.ticks_total > 0, timeout=30)
        assert service.status()["symbols"] in (["TCS"], ["INFY", "ITC"])
    finally:
        service.stop()


class BrokenFramesSource(FrameSource):
    """A live source that sends a malformed frame between good ones, then floods."""

    name = "broken"
    live = True

    def resolve(self) -> None:
        instruments, _ = simulated_instruments(["SBIN"])
        self.simulator = MarketSimulator(instruments, START, seed=1)
        self.instruments = {i.instrument_token: i.symbol for i in instruments}

    def _run(self, deliver) -> None:
        self.state = "connected"
        deliver(self.simulator.frame(), 1.0)
        deliver(b"\x00\x01\x00\x08\x00\x00", 2.0)  # claims 8 bytes, has 2
        deliver(self.simulator.frame(), 3.0)
        for _ in range(5_000):
            deliver(self.simulator.frame(), 4.0)


def test_malformed_frames_are_counted_and_a_full_queue_drops_with_a_count(tmp_path):
    settings = fast(tmp_path, frame_queue_size=10)
    service = MarketService(settings, sources={"broken": BrokenFramesSource})
    service.start(source="broken")
    try:
        assert wait_for(lambda: service.frame_errors == 1, timeout=30)
        assert wait_for(lambda: service.frames_dropped > 0, timeout=30)
        # every frame is either processed or counted as dropped: none vanishes
        assert wait_for(lambda: service.frames_total + service.frames_dropped == 5_003, timeout=60)
        status = service.status()
        assert status["engine_errors"] == 0
    finally:
        service.stop()


def record_session(path, seconds: int) -> None:
    instruments, _ = simulated_instruments(["RELIANCE", "TCS", "INFY", "SBIN", "ITC"])
    simulator = MarketSimulator(instruments, START, seed=9, demo_start=600)
    metadata = {
        "instruments": {str(i.instrument_token): i.symbol for i in instruments},
        "simulated": True,
    }
    with FrameRecorder(path, metadata) as recorder:
        for second in range(seconds):
            recorder.write(simulator.frame(), arrival=START + second)


def replay_signals(tmp_path, path) -> list[tuple]:
    settings = fast(
        tmp_path,
        data_source="replay",
        replay_file=str(path),
        replay_speed=0,
        watchlist="RELIANCE,TCS,INFY,SBIN,ITC",
        max_daily_signals=100,
        signal_cooldown_seconds=0,
        # Every signal, whatever its confidence: the scripted scenarios' bids refill every
        # second or two, a pace that scores no iceberg-evidence points (a busy queue).
        min_confidence=1,
    )
    service = MarketService(settings)
    service.start()
    try:
        assert wait_for(lambda: service.status()["state"] == "finished", timeout=120)
        assert wait_for(lambda: service.status()["queue_depth"] == 0, timeout=60)
        service.stop()
        return [
            (s.symbol, str(s.signal_type), s.confidence, s.entry, s.timestamp)
            for s in service.snapshot().signals
        ]
    finally:
        service.stop()


def test_replaying_a_recording_gives_the_same_signals_every_time(tmp_path):
    path = tmp_path / "session.kfr"
    record_session(path, 3_600)
    first, second = replay_signals(tmp_path, path), replay_signals(tmp_path, path)
    assert len(first) >= 3
    assert first == second


def test_replay_of_a_missing_file_is_explained(tmp_path):
    settings = fast(tmp_path, data_source="replay", replay_file=str(tmp_path / "none.kfr"))
    report = MarketService(settings).start()
    assert "does not exist" in report.error


def test_the_service_records_what_it_receives(tmp_path):
    from feeds.recording import read_frames, read_metadata

    service = MarketService(fast(tmp_path, record_frames=True, simulator_warmup_seconds=60))
    service.start()
    assert wait_for(lambda: service.frames_total >= 60, timeout=30)
    service.stop()
    recordings = list((tmp_path / "recordings").glob("simulator-*.kfr"))
    assert len(recordings) == 1
    assert read_metadata(recordings[0])["simulated"] is True
    assert len(list(read_frames(recordings[0]))) == service.frames_total


@pytest.mark.parametrize("name", ["nonsense"])
def test_an_unknown_source_name_is_explained(tmp_path, name):
    report = MarketService(fast(tmp_path)).start(source=name)
    assert "unknown data source" in report.error


def test_signals_and_their_outcomes_are_stored_and_open_ones_resume_after_a_restart(tmp_path):
    from database import HistoryFilter, SignalStore, database_url

    config = fast(tmp_path)
    service = MarketService(config)
    service.start()
    try:
        # Stopped with its queue nearly empty: stopping processes what is queued first, and a
        # backlog (a loaded machine) could decide every open signal before they are read.
        assert wait_for(
            lambda: (
                service.outcomes_total >= 2
                and service.open_signal_ids()
                and service.engine.ended_icebergs
                and service.status()["queue_depth"] <= 2
            ),
            timeout=90,
        )
    finally:
        service.stop()
    signals_seen, outcomes_seen = service.signals_total, service.outcomes_total
    icebergs_seen = len(service.engine.ended_icebergs)
    left_open = service.open_signal_ids()
    assert left_open
    service.close()
    store = SignalStore(database_url(config))
    assert store.count(HistoryFilter()) == signals_seen
    stored = store.outcomes_frame()
    assert len(stored) == outcomes_seen
    assert set(stored["outcome"]) <= {"target", "stop", "expired"}
    assert stored["simulated"].all()
    history = store.history(HistoryFilter(outcomes=["open"]))
    assert set(history["id"]) == set(left_open)
    # Every iceberg that ended was stored, and a restart learns their lifetimes.
    assert len(store.icebergs(date(2000, 1, 1))) == icebergs_seen

    # A restart within the horizon follows the open signals again, and decides them only
    # on prices after each signal: never on the restarted warm-up's older ticks.
    restarted = MarketService(config)
    try:
        restarted.start()
        assert len(restarted.engine.sizes) == icebergs_seen
        assert restarted.open_signal_ids() == left_open
        assert restarted.status()["signals_open"] == len(left_open)
        assert wait_for(lambda: restarted.ticks_total >= 900 * 4, timeout=60)
    finally:
        restarted.close()
    outcomes = SignalStore(database_url(config)).outcomes_frame()
    assert (outcomes["closed_at"] >= outcomes["signal_time"]).all()


class SlowRest:
    """A loopback HTTP server that answers every request after ``delay`` seconds."""

    def __init__(self, delay: float) -> None:
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                time.sleep(delay)
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b'{"status": "success", "data": {}}')

            def log_message(self, *_args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/quote"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def slow_pcr_source(url: str):
    class SlowPcrSource(IdleSource):
        """Streams nothing; its PCR comes from a REST server that takes its time."""

        name = "slow"

        def fetch_pcr(self, symbol):
            with urllib.request.urlopen(url, timeout=10) as response:
                response.read()
            return None

    return SlowPcrSource


def test_twenty_restarts_leave_only_the_last_runs_threads(tmp_path):
    rest = SlowRest(delay=1.0)
    service = MarketService(
        fast(tmp_path, enable_signal_persistence=False), {"slow": slow_pcr_source(rest.url)}
    )
    earlier: list[threading.Thread] = []
    try:
        for _ in range(20):
            assert service.start("slow").error == ""
            earlier += service._run.threads
            service.stop()
        service.start("slow")
        current = service._run.threads
        # Each stopped run's PCR thread ends when its slow call returns, never later.
        assert wait_for(lambda: not any(t.is_alive() for t in earlier), timeout=15), [
            t.name for t in earlier if t.is_alive()
        ]
        assert all(t.is_alive() for t in current)
    finally:
        service.close()
        rest.close()
    assert wait_for(lambda: not any(t.is_alive() for t in current), timeout=15)


def test_a_pcr_call_failing_after_its_run_stopped_is_not_reported(tmp_path, caplog):
    calls: list[str] = []
    in_flight, release = threading.Event(), threading.Event()

    class FlakyPcrSource(IdleSource):
        """Its first PCR call fails at once; the next hangs until released, then fails as a
        call does when its server has gone away meanwhile."""

        name = "flaky"

        def fetch_pcr(self, symbol):
            calls.append(symbol)
            if len(calls) > 1:
                in_flight.set()
                release.wait(10)
            raise ConnectionResetError(104, "Connection reset by peer")

    service = MarketService(
        fast(tmp_path, enable_signal_persistence=False), {"flaky": FlakyPcrSource}
    )
    with caplog.at_level(logging.WARNING, logger="feeds.service"):
        try:
            assert service.start("flaky").error == ""
            pcr_thread = service._run.threads[1]
            assert in_flight.wait(10)
            # A failure while the run streams is news: it is logged.
            assert caplog.text.count("PCR for") == 1 and "Connection reset" in caplog.text
            service.stop()
            release.set()  # the hanging call fails now, after the stop
            assert wait_for(lambda: not pcr_thread.is_alive(), timeout=10)
        finally:
            release.set()
            service.close()
    assert caplog.text.count("PCR for") == 1, caplog.text


def test_a_source_that_cannot_start_leaves_the_running_one_streaming(tmp_path):
    service = MarketService(fast(tmp_path, enable_signal_persistence=False))
    service.start("simulator")
    try:
        assert wait_for(lambda: service.ticks_total > 0, timeout=30)
        report = service.start("kite")  # no API key, no token: refused
        assert "login required" in report.error.lower()
        assert service.running and service.source_name == "simulator"
        before = service.ticks_total
        assert wait_for(lambda: service.ticks_total > before, timeout=30)
        assert wait_for(lambda: service.status()["state"] == "connected", timeout=30)
    finally:
        service.close()


def test_a_restart_takes_up_the_days_signal_count_and_cool_downs(tmp_path):
    from database import SignalStore, database_url
    from tests.db_rows import signal_dict

    config = fast(tmp_path, max_daily_signals=3)
    store = SignalStore(database_url(config))
    store.migrate()
    now = datetime.now(UTC)
    store.write_batch(
        [signal_dict(f"s{n}", now - timedelta(seconds=n), symbol="TCS") for n in range(3)], []
    )
    store.close()
    service = MarketService(config)
    try:
        service.start()
        assert service.status()["signals_today"] == 3
        # The stored ACCUMULATIONs cool TCS's long signals down, not its short ones.
        long, short = service.engine._main_gate.last_signal_time[service.engine.row_of("TCS")]
        assert long > 0 and short < 0
    finally:
        service.close()


def test_restarts_never_store_a_signal_twice_nor_an_outcome_before_its_signal(tmp_path):
    from database import HistoryFilter, SignalStore, database_url

    config = fast(tmp_path, signal_cooldown_seconds=120, max_daily_signals=1000)
    announced: dict[tuple, list] = {}  # the signals each run announced, by (server, run)

    def listen(service: MarketService, server: int) -> None:
        service.add_signal_listener(
            lambda signal: announced.setdefault((server, service._run.number), []).append(signal)
        )

    def run(action, service: MarketService, server: int) -> None:
        action()
        key = (server, service._run.number)
        assert wait_for(lambda: len(announced.get(key, [])) >= 1, 90), "no signal in this run"

    service = MarketService(config)
    listen(service, 0)
    try:
        run(service.start, service, 0)
        assert wait_for(lambda: service.outcomes_total >= 1, 90)
        service.stop()  # Stop, then Start
        run(service.start, service, 0)
        run(lambda: service.set_watchlist(["RELIANCE", "TCS", "HDFCBANK"]), service, 0)
    finally:
        service.close()
    restarted = MarketService(config)  # a new server on the same database
    listen(restarted, 1)
    try:
        run(restarted.start, restarted, 1)
    finally:
        restarted.close()

    store = SignalStore(database_url(config))
    history = store.history(HistoryFilter())
    runs = [announced[key] for key in sorted(announced)]
    assert len(runs) == 4
    shown = [signal for signals in runs for signal in signals]
    assert len(history) == len(shown)  # every signal shown was stored, none twice
    assert not history.duplicated(["symbol", "signal_type", "signal_time"]).any()
    # Each run continues where the one before stopped: none re-issues what was reported.
    for earlier, later in itertools.pairwise(runs):
        assert min(s.timestamp for s in later) > max(s.timestamp for s in earlier)
    outcomes = store.outcomes_frame()
    assert len(outcomes) >= 1
    assert (outcomes["closed_at"] >= outcomes["signal_time"]).all()


def test_exiting_with_the_feed_running_never_aborts_the_process(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    script = (
        "import sys, time\n"
        "from config import Settings\n"
        "from feeds.service import MarketService\n"
        f"settings = Settings(_env_file=None, data_dir={str(tmp_path)!r}, simulator_speed=1000,"
        " simulator_warmup_seconds=900, watchlist='RELIANCE,TCS,INFY,SBIN,ITC,LT')\n"
        "MarketService(settings).start()\n"
        "time.sleep(float(sys.argv[1]))\n"  # then exit with the market thread busy
    )
    root = Path(__file__).resolve().parents[2]
    for delay in ("0.2", "0.4", "0.6", "0.3", "0.5", "0.7", "0.25", "0.45"):
        done = subprocess.run(
            [sys.executable, "-c", script, delay], cwd=root, capture_output=True, timeout=120
        )
        assert done.returncode == 0, done.stderr.decode()[-500:]
