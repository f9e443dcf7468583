"""The market service: one per process, owning the source, the engine and the market thread.

Data flows one way: the source thread delivers raw frames into a bounded queue; the market
thread parses each frame and folds it into the engine (one frame, one update, so a replay
gives the same signals every time); pages read :meth:`MarketService.snapshot` from any
thread. The market thread never calls Streamlit and never waits on the network: PCR is
fetched by its own thread and handed over through a queue.

Start, stop and watchlist changes are safe from any thread. A malformed frame, a failing
source or an engine error is counted and logged, never fatal to the thread.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd

import database
from engine import FrameError, Signal, SignalEngine, parse_kite_frame
from engine.outcomes import Outcome, OutcomeTracker
from engine.pcr import mock_pcr
from feeds.market_hours import market_phase
from feeds.recording import FrameRecorder
from feeds.sources import FrameSource, ReplaySource, SimulatorSource

log = logging.getLogger("feeds.service")

SourceFactory = Callable[[object, list[str]], FrameSource]


def default_sources() -> dict[str, SourceFactory]:
    """Sources by ``DATA_SOURCE`` name."""
    sources: dict[str, SourceFactory] = {"simulator": SimulatorSource, "replay": ReplaySource}
    try:
        from feeds.kite import KiteSource

        sources["kite"] = KiteSource
    except ImportError:  # pragma: no cover - the Kite source ships with the app
        pass
    return sources


@dataclass(frozen=True)
class StartReport:
    """What starting a source resolved: monitored symbols, and those it could not find."""

    monitored: list[str]
    invalid: list[str]
    error: str = ""


@dataclass(frozen=True)
class MarketSnapshot:
    """An immutable view for the pages."""

    metrics: pd.DataFrame
    signals: tuple[Signal, ...]
    status: dict = field(default_factory=dict)
    active: tuple[Signal, ...] = ()  # signals still open (no target, stop or expiry yet)
    outcomes: tuple[tuple[Signal, Outcome], ...] = ()  # recently closed, oldest first


class MarketService:
    """Source + engine + market thread, with a status for the health endpoint."""

    def __init__(
        self, settings, sources: dict[str, SourceFactory] | None = None, store=None
    ) -> None:
        self.settings = settings
        self.sources = sources or default_sources()
        self.store = store  # database.SignalStore, opened on first start when None
        self.writer = None  # database.SignalWriter
        self.database_error = ""
        self.tracker = OutcomeTracker(settings.outcome_horizon_minutes * 60)
        self._open: dict[str, Signal] = {}  # signal id -> signal, while its outcome is open
        self._outcomes: deque[tuple[Signal, Outcome]] = deque(maxlen=500)
        self.outcomes_total = 0
        self._lock = threading.RLock()
        self._queue: queue.Queue[tuple[bytes, float]] = queue.Queue(settings.frame_queue_size)
        self._pcr_updates: queue.SimpleQueue = queue.SimpleQueue()
        self._listeners: list[Callable[[Signal], None]] = []
        self._signals: deque[Signal] = deque(maxlen=500)
        self._rates: deque[tuple[float, int]] = deque(maxlen=600)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.source: FrameSource | None = None
        self.engine: SignalEngine | None = None
        self.recorder: FrameRecorder | None = None
        self.source_name = settings.data_source
        self.symbols = settings.symbols
        self.invalid_symbols: list[str] = []
        self.error = ""
        self.login_required = False
        self.ticks_total = 0
        self.frames_total = 0
        self.frames_dropped = 0
        self.frame_errors = 0
        self.engine_errors = 0
        self.signals_total = 0
        self.last_frame_at = 0.0
        self.last_tick_at = 0.0
        self.started_at = 0.0

    # ----------------------------------------------------------------------- lifecycle
    def add_signal_listener(self, listener: Callable[[Signal], None]) -> None:
        """Call ``listener(signal)`` on the market thread for each new signal (keep it quick)."""
        self._listeners.append(listener)

    @property
    def running(self) -> bool:
        return self.source is not None

    def start(self, source: str | None = None, symbols: list[str] | None = None) -> StartReport:
        """Start streaming (stopping what runs). Unknown symbols are reported, not fatal."""
        with self._lock:
            self.stop()
            previous_engine, previous_source = self.engine, self.source_name
            name = source or self.source_name
            symbols = symbols if symbols is not None else self.symbols
            if name not in self.sources:
                self.error = f"unknown data source {name!r}; choose one of {sorted(self.sources)}"
                return StartReport([], list(symbols), self.error)
            candidate = self.sources[name](self.settings, list(symbols))
            self.source_name, self.symbols = name, list(symbols)
            try:
                candidate.resolve()
            except Exception as error:
                self.error = str(error)
                self.login_required = bool(getattr(candidate, "login_required", False))
                self.invalid_symbols = list(getattr(candidate, "invalid_symbols", []))
                log.warning("could not start %s: %s", name, error)
                return StartReport([], self.invalid_symbols, self.error)
            self.error, self.login_required = "", False
            self.invalid_symbols = candidate.invalid_symbols
            self.engine = SignalEngine(self.settings, candidate.instruments)
            if candidate.live and previous_engine is not None and previous_source == name:
                # The live market went on while we restarted: keep the kept symbols' windows
                # and baselines rather than warming up again.
                kept = self.engine.continue_from(previous_engine)
                log.info("carried the state of %d symbols over", len(kept))
            self._reset_counters()
            self.open_store()
            self._resume_open_signals(name)
            if self.settings.record_frames and name != "replay":
                self.recorder = self._open_recorder(candidate)
            self._stop.clear()
            self._queue = queue.Queue(self.settings.frame_queue_size)
            # A fresh hand-over queue per run: a late PCR of the last watchlist never arrives.
            self._pcr_updates = pcr_updates = queue.SimpleQueue()
            self.source = candidate
            self._threads = [
                threading.Thread(target=self._market_loop, name="market", daemon=True),
                threading.Thread(
                    target=self._pcr_loop, args=(candidate, pcr_updates), name="pcr", daemon=True
                ),
            ]
            for thread in self._threads:
                thread.start()
            candidate.start(self._deliver)
            log.info("started %s for %d symbols", name, len(candidate.instruments))
            return StartReport(list(candidate.instruments.values()), self.invalid_symbols)

    def stop(self) -> None:
        """Stop the source and the market thread; what was queued is processed first."""
        with self._lock:
            if self.source is None:
                return
            self.source.stop()
            self._stop.set()
            for thread in self._threads:
                thread.join(10)
            if self.recorder is not None:
                self.recorder.close()
                self.recorder = None
            self.source = None
            log.info("stopped %s", self.source_name)

    def set_watchlist(self, symbols: list[str]) -> StartReport:
        """Monitor ``symbols`` instead (restarts the source, keeps the process; on a live feed
        the symbols kept keep their rolling state)."""
        return self.start(self.source_name, symbols)

    def close(self) -> None:
        """Stop streaming and write what the database writer still holds (at shutdown)."""
        self.stop()
        if self.writer is not None:
            self.writer.close()
            self.writer = None
        if self.store is not None:
            self.store.close()

    # ------------------------------------------------------------------- persistence
    def open_store(self) -> None:
        """Open and upgrade the database once; a failure disables persistence, loudly."""
        with self._lock:
            self._open_store_locked()

    def _open_store_locked(self) -> None:
        if not self.settings.enable_signal_persistence or self.writer is not None:
            return
        try:
            if self.store is None:
                self.store = database.SignalStore(database.database_url(self.settings))
            self.store.migrate()
        except Exception as error:
            from logs import redact  # a malformed URL's message can quote the URL

            message = f"database unavailable: {type(error).__name__}: {error}"
            self.database_error = redact(message.splitlines()[0][:300])
            log.error("%s; signals are not being stored", self.database_error)
            self.store = None
            return
        self.database_error = ""
        self.writer = database.SignalWriter(
            self.store, self.settings.db_queue_size, self.settings.db_batch_size
        )

    def _resume_open_signals(self, source_name: str) -> None:
        """Follow again the open signals of this source from the last horizon (restart)."""
        self.tracker = OutcomeTracker(self.settings.outcome_horizon_minutes * 60)
        self._open = {}
        if self.store is None or source_name == "replay" or self.engine is None:
            return
        since = datetime.now(UTC) - timedelta(minutes=self.settings.outcome_horizon_minutes)
        if self.writer is not None:
            self.writer.flush(5)  # signals of the run just stopped, before reading them back
        try:
            rows = self.store.open_signals(since)
        except Exception as error:
            log.warning("could not load open signals to resume: %s", error)
            return
        for row in rows:
            if row["source"] != source_name or row["symbol"] not in self.engine.symbols:
                continue
            self._follow(row["id"], database.signal_from_row(row))
        if self._open:
            log.info("resumed tracking %d open signals", len(self._open))

    def _follow(self, signal_id: str, signal: Signal) -> None:
        assert self.engine is not None
        self.tracker.open(
            signal_id,
            self.engine.row_of(signal.symbol),
            signal.direction,
            signal.entry,
            signal.target,
            signal.stop_loss,
            int(signal.timestamp.timestamp()),
        )
        self._open[signal_id] = signal

    def _record(self, signal: Signal) -> None:
        """Follow a new signal's outcome and queue it for the database (market thread)."""
        signal_id = database.new_signal_id()
        try:
            self._follow(signal_id, signal)
        except ValueError as error:  # levels the tracker cannot follow: stored, not tracked
            log.warning("not tracking %s %s: %s", signal.signal_type, signal.symbol, error)
        if self.writer is not None:
            source = self.source
            self.writer.submit_signal(
                database.signal_row(
                    signal, signal_id, self.source_name, bool(source and source.simulated)
                )
            )

    def _track_outcomes(self, engine: SignalEngine) -> None:
        if not len(self.tracker):
            return
        for outcome in self.tracker.update(engine.state.last_price, engine.state.now):
            signal = self._open.pop(outcome.signal_id, None)
            if signal is not None:
                self._outcomes.append((signal, outcome))
            self.outcomes_total += 1
            if self.writer is not None:
                self.writer.submit_outcome(database.outcome_row(outcome))

    def _reset_counters(self) -> None:
        self.ticks_total = self.frames_total = self.frames_dropped = 0
        self.frame_errors = self.engine_errors = self.signals_total = 0
        self.last_frame_at = self.last_tick_at = 0.0
        self.started_at = time.time()
        self._signals.clear()
        self._rates.clear()

    def _open_recorder(self, source: FrameSource) -> FrameRecorder:
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        path = Path(self.settings.data_dir) / "recordings" / f"{source.name}-{stamp}.kfr"
        metadata = {
            "instruments": {str(token): symbol for token, symbol in source.instruments.items()},
            "source": source.name,
            "simulated": source.simulated,
        }
        return FrameRecorder(path, metadata)

    # -------------------------------------------------------------------- the threads
    def _deliver(self, frame: bytes, arrival: float) -> bool:
        """Called by the source thread. Live sources drop on a full queue; others wait."""
        source = self.source
        if source is not None and not source.live:
            while not self._stop.is_set():
                try:
                    self._queue.put((frame, arrival), timeout=0.2)
                    return True
                except queue.Full:
                    continue
            return False
        try:
            self._queue.put_nowait((frame, arrival))
            return True
        except queue.Full:
            self.frames_dropped += 1
            return False

    def _market_loop(self) -> None:
        engine = self.engine
        assert engine is not None
        while True:
            try:
                frame, arrival = self._queue.get(timeout=0.2)
            except queue.Empty:
                if self._stop.is_set():
                    return
                continue
            while True:
                try:
                    symbol, pcr = self._pcr_updates.get_nowait()
                except queue.Empty:
                    break
                try:
                    engine.set_pcr(symbol, pcr)
                except (KeyError, ValueError) as error:  # never let one PCR stop the ticks
                    log.warning("PCR for %s ignored: %s", symbol, error)
            self._process(engine, frame, arrival)
            try:
                self._track_outcomes(engine)
            except Exception:
                self.engine_errors += 1
                log.exception("outcome tracking failed on this frame")

    def _process(self, engine: SignalEngine, frame: bytes, arrival: float) -> None:
        self.frames_total += 1
        self.last_frame_at = arrival
        if self.recorder is not None:
            self.recorder.write(frame, arrival)
        try:
            ticks = parse_kite_frame(frame)
        except FrameError as error:
            self.frame_errors += 1
            log.warning("dropped a malformed frame of %d bytes: %s", len(frame), error)
            return
        if len(ticks) == 0:
            return  # heartbeat
        try:
            signals = engine.update(ticks)
        except Exception:
            self.engine_errors += 1
            log.exception("engine update failed; the frame is skipped")
            return
        self.ticks_total += len(ticks)
        self.last_tick_at = arrival
        self._rates.append((arrival, len(ticks)))
        for signal in signals:
            self.signals_total += 1
            self._signals.append(signal)
            self._record(signal)
            for listener in self._listeners:
                try:
                    listener(signal)
                except Exception:
                    log.exception("a signal listener failed")

    def _pcr_loop(self, source: FrameSource, updates: queue.SimpleQueue) -> None:
        """Fetch PCR for every symbol now and then; the REST calls never block ticks."""
        settings = self.settings
        while not self._stop.is_set():
            for symbol in list(source.instruments.values()):
                if self._stop.is_set():
                    return
                try:
                    result = source.fetch_pcr(symbol)
                except Exception as error:
                    log.warning("PCR for %s failed: %s", symbol, error)
                    result = None
                if result is None and source.name == "kite":
                    result = mock_pcr()
                if result is not None:
                    updates.put((symbol, result))
            interval = settings.pcr_refresh_seconds
            if source.simulated and source.name == "simulator":
                interval /= settings.simulator_speed
            self._stop.wait(interval)

    # ------------------------------------------------------------------------ readers
    def ticks_per_second(self, now: float | None = None, span: float = 10.0) -> float:
        now = time.time() if now is None else now
        recent = [(at, count) for at, count in list(self._rates) if now - at <= span]
        if not recent:
            return 0.0
        elapsed = max(now - recent[0][0], 1.0)
        return sum(count for _, count in recent) / elapsed

    def status(self) -> dict:
        """The feed's state for the sidebar badge and ``/health``. No secrets."""
        now = time.time()
        source = self.source
        phase = market_phase(datetime.now(UTC), self.settings.holidays)
        if source is None:
            state = (
                "login_required" if self.login_required else "error" if self.error else "stopped"
            )
        elif source.login_required:
            state = "login_required"
        elif source.live and phase != "open" and not self.last_tick_at:
            state = "market_closed"
        else:
            state = source.state
        return {
            "source": self.source_name,
            "state": state,
            "simulated": bool(source and source.simulated),
            "connected": bool(source and source.connected),
            "login_required": bool(self.login_required or (source and source.login_required)),
            "detail": self.error or (source.detail if source else ""),
            "symbols": list(source.instruments.values()) if source else [],
            "invalid_symbols": list(self.invalid_symbols),
            "ticks_total": self.ticks_total,
            "ticks_per_s": round(self.ticks_per_second(now), 1),
            "last_tick_age_s": round(now - self.last_tick_at, 1) if self.last_tick_at else None,
            "reconnects": source.reconnects if source else 0,
            "frames_total": self.frames_total,
            "frames_dropped": self.frames_dropped,
            "frame_errors": self.frame_errors,
            "engine_errors": self.engine_errors,
            "queue_depth": self._queue.qsize(),
            "signals_total": self.signals_total,
            "signals_today": self.engine.signals_today if self.engine else 0,
            "signals_open": len(self._open),
            "outcomes_total": self.outcomes_total,
            "market_open": phase == "open",
            "market_phase": phase,
            "uptime_s": round(now - self.started_at, 1) if self.started_at else 0.0,
        }

    def snapshot(self) -> MarketSnapshot:
        engine = self.engine
        metrics = engine.snapshot() if engine is not None else pd.DataFrame()
        signals = tuple(self._signals)
        return MarketSnapshot(
            metrics, signals, self.status(), self.active_signals(), tuple(self._outcomes)
        )

    def active_signals(self) -> tuple[Signal, ...]:
        """The signals whose outcome is still open (no target, stop or expiry yet)."""
        return tuple(self._open.copy().values())

    def database_status(self) -> dict:
        """The store's state for health: never the URL's password."""
        if not self.settings.enable_signal_persistence:
            return {"enabled": False}
        status = {
            "enabled": True,
            "url": database.redacted(database.database_url(self.settings)),
            "error": self.database_error,
        }
        if self.writer is not None:
            status.update(self.writer.status())
            status["schema_version"] = database.SCHEMA_VERSION
        return status

    def history(self, symbol: str) -> pd.DataFrame:
        """``symbol``'s sampled price, institutional ratio and imbalance, for the charts."""
        engine = self.engine
        if engine is None or symbol not in engine.symbols:
            return pd.DataFrame(columns=["last_price", "institutional_ratio", "order_imbalance"])
        return engine.history_frame(symbol)

    def wait_for(self, condition: Callable[[], bool], timeout: float) -> bool:
        """Poll ``condition`` until true or ``timeout`` seconds pass (tests, tools)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                return True
            time.sleep(0.05)
        return condition()


_service: MarketService | None = None
_service_lock = threading.Lock()


def get_service(settings) -> MarketService:
    """The process's one market service, started on first use when ``AUTO_START`` is on."""
    global _service
    with _service_lock:
        if _service is None:
            _service = MarketService(settings)
            if settings.auto_start:
                _service.start()
        return _service
