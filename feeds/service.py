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

import atexit
import logging
import queue
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

import pandas as pd

import database
from alerts import Alerts, channels_of, outcome_alert, signal_alert, watch_feed
from config import parse_symbols
from engine import FrameError, Signal, SignalEngine, parse_kite_frame
from engine.history import SERIES
from engine.levels import Iceberg
from engine.outcomes import Outcome, OutcomeTracker, outcome_tracker, plan_quantity
from engine.pcr import mock_pcr
from engine.sessions import IST, day_start_epoch, ist_day
from feeds.depth import DepthHistory
from feeds.market_hours import market_phase
from feeds.recording import FrameRecorder
from feeds.sources import FrameSource, ReplaySource, SimulatorSource

log = logging.getLogger("feeds.service")
KNOWN_EVENT_DAYS = 30  # how far back stored signals are recognised when produced again
ICEBERG_HISTORY_DAYS = 30  # how far back stored icebergs teach the hidden-size estimate

SourceFactory = Callable[[object, list[str]], FrameSource]


def clock_of(signal: Signal) -> float:
    """The exchange epoch seconds of ``signal``."""
    return signal.timestamp.timestamp() if signal.timestamp is not None else 0.0


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


@dataclass(eq=False)
class _Run:
    """One start of a source: its engine, outcome tracker, threads, stop flag and queues.

    Nothing here is shared with another run, so a thread that outlives its stop (a PCR call
    stuck on a slow server) can only ever touch its own run, and ends when it wakes.
    """

    number: int
    name: str
    source: FrameSource
    engine: SignalEngine
    tracker: OutcomeTracker
    frames: queue.Queue
    stop: threading.Event = field(default_factory=threading.Event)
    pcr_updates: queue.SimpleQueue = field(default_factory=queue.SimpleQueue)
    open: dict[str, Signal] = field(default_factory=dict)  # signal id -> signal, while open
    # Events already reported, (token, type, exchange second): never issued twice.
    known: set[tuple[int, str, int]] = field(default_factory=set)
    threads: list[threading.Thread] = field(default_factory=list)
    recorder: FrameRecorder | None = None


@dataclass(frozen=True)
class MarketSnapshot:
    """An immutable view for the pages."""

    metrics: pd.DataFrame
    signals: tuple[Signal, ...]
    status: dict = field(default_factory=dict)
    active: tuple[Signal, ...] = ()  # signals still open (no target, stop or expiry yet)
    outcomes: tuple[tuple[Signal, Outcome], ...] = ()  # recently closed, oldest first
    icebergs: tuple[Iceberg, ...] = ()  # active now, with their estimated totals


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
        self._outcomes: deque[tuple[Signal, Outcome]] = deque(maxlen=500)
        self.outcomes_total = 0
        self._lock = threading.RLock()
        self._listeners: list[Callable[[Signal], None]] = []
        self._signals: deque[Signal] = deque(maxlen=500)
        self._rates: deque[tuple[float, int]] = deque(maxlen=600)
        self._run: _Run | None = None  # the current run, kept after a stop for the pages
        self._runs = 0
        self.source: FrameSource | None = None  # the running source, None when stopped
        self.engine: SignalEngine | None = None  # the last run's engine (kept after a stop)
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
        # The visible book of the charted symbols, for the depth heatmap (feeds/depth.py).
        self.depth = DepthHistory()
        # Alerts (alerts.py): new signals and outcomes from the market thread, feed trouble
        # from a watcher thread; delivery on the alerts' own thread.
        self.alerts = Alerts(
            channels_of(settings),
            settings.alert_min_confidence,
            tuple(parse_symbols(settings.alert_symbols)),
            settings.alert_queue_size,
        )
        self._closing = threading.Event()
        if self.alerts.enabled:
            threading.Thread(
                target=watch_feed,
                args=(self, self.alerts, self._closing),
                name="alerts-watch",
                daemon=True,
            ).start()

    # ----------------------------------------------------------------------- lifecycle
    def add_signal_listener(self, listener: Callable[[Signal], None]) -> None:
        """Call ``listener(signal)`` on the market thread for each new signal (keep it quick)."""
        self._listeners.append(listener)

    @property
    def running(self) -> bool:
        return self.source is not None

    @property
    def recorder(self) -> FrameRecorder | None:
        run = self._run
        return run.recorder if run is not None and self.source is not None else None

    def start(self, source: str | None = None, symbols: list[str] | None = None) -> StartReport:
        """Start streaming ``source`` for ``symbols``, replacing what runs.

        All or nothing: the new source is resolved (login, instruments) before anything is
        stopped, so a source that cannot start leaves the running one streaming and says why.
        Unknown symbols are reported, not fatal.
        """
        with self._lock:
            name = source or self.source_name
            symbols = list(symbols if symbols is not None else self.symbols)
            if name not in self.sources:
                return self._refused(
                    name,
                    f"unknown data source {name!r}; choose one of {sorted(self.sources)}",
                    symbols,
                )
            candidate = self.sources[name](self.settings, symbols)
            try:
                candidate.resolve()
            except Exception as error:
                log.warning("could not start %s: %s", name, error)
                return self._refused(
                    name,
                    str(error),
                    list(getattr(candidate, "invalid_symbols", [])),
                    bool(getattr(candidate, "login_required", False)),
                )
            previous_engine, previous_source = self.engine, self.source_name
            self.stop()
            self.error, self.login_required = "", False
            self.source_name, self.symbols = name, symbols
            self.invalid_symbols = candidate.invalid_symbols
            engine = SignalEngine(
                self.settings,
                candidate.instruments,
                tick_sizes=candidate.tick_sizes,
                continuous_only=not candidate.round_the_clock,
                lot_sizes=candidate.lot_sizes,
            )
            if candidate.live and previous_engine is not None and previous_source == name:
                # The live market went on while we restarted: keep the kept symbols' windows
                # and baselines rather than warming up again.
                kept = engine.continue_from(previous_engine)
                log.info("carried the state of %d symbols over", len(kept))
            self.engine = engine
            self._reset_counters()
            self.open_store()
            self._runs += 1
            run = _Run(
                self._runs,
                name,
                candidate,
                engine,
                outcome_tracker(self.settings),
                queue.Queue(self.settings.frame_queue_size),
            )
            self._resume_open_signals(run)
            self._take_up_stored_signals(run)
            self._learn_stored_icebergs(run)
            if self.settings.record_frames and name != "replay":
                run.recorder = self._open_recorder(candidate)
            run.threads = [
                threading.Thread(
                    target=self._market_loop,
                    args=(run,),
                    name=f"market-{run.number}",
                    daemon=True,
                ),
                threading.Thread(
                    target=self._pcr_loop, args=(run,), name=f"pcr-{run.number}", daemon=True
                ),
            ]
            self._run, self.source = run, candidate
            _started.add(self)
            for thread in run.threads:
                thread.start()
            candidate.start(partial(self._deliver, run))
            log.info("started %s for %d symbols", name, len(candidate.instruments))
            return StartReport(list(candidate.instruments.values()), self.invalid_symbols)

    def _refused(
        self, name: str, error: str, invalid: list[str], login_required: bool = False
    ) -> StartReport:
        """A start that failed: the running source (if any) keeps running."""
        self.login_required = login_required
        if self.source is None:
            self.error, self.source_name = error, name
            self.invalid_symbols = invalid
        return StartReport([], invalid, error)

    def stop(self) -> None:
        """Stop the source and the run's threads; what was queued is processed first.

        The market thread is given time to drain its queue; a PCR thread waiting on a slow
        REST call is not waited for: its run's stop flag ends it when the call returns, and
        a call that fails after the stop (its server gone meanwhile) is not reported.
        """
        with self._lock:
            run = self._run
            if self.source is None or run is None:
                return
            run.source.stop()
            run.stop.set()
            market, pcr = run.threads
            market.join(10)
            if market.is_alive():
                # Still draining: it may yet decide a signal the next run resumes (the
                # store keeps the first decision).
                log.warning("the stopped %s run is still processing its queued frames", run.name)
            pcr.join(0.5)
            if run.recorder is not None:
                run.recorder.close()
            self.source = None
            self._rates.clear()
            log.info("stopped %s", run.name)

    def set_watchlist(self, symbols: list[str]) -> StartReport:
        """Monitor ``symbols`` instead (restarts the source, keeps the process; on a live feed
        the symbols kept keep their rolling state)."""
        return self.start(self.source_name, symbols)

    def close(self) -> None:
        """Stop streaming and write what the database writer still holds (at shutdown)."""
        self.stop()
        self._closing.set()
        self.alerts.close()
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

    def _resume_open_signals(self, run: _Run) -> None:
        """Follow again the open signals of this source from the last horizon (restart)."""
        if self.store is None or run.name == "replay":
            return
        since = datetime.now(UTC) - timedelta(minutes=self.settings.risk_horizon_minutes)
        if self.writer is not None:
            self.writer.flush(5)  # signals of the run just stopped, before reading them back
        try:
            rows = self.store.open_signals(since)
        except Exception as error:
            log.warning("could not load open signals to resume: %s", error)
            return
        for row in rows:
            if row["source"] != run.name or row["symbol"] not in run.engine.symbols:
                continue
            self._follow(run, row["id"], database.signal_from_row(row))
        if run.open:
            log.info("resumed tracking %d open signals", len(run.open))

    def _take_up_stored_signals(self, run: _Run) -> None:
        """What this source already stored: today's signals count against the day's cap and
        restart their symbols' cool-downs (a crash or a Stop/Start gives no fresh quota), and
        every recent event is recognised when a warm-up or a replay produces it again: not
        stored, counted or shown a second time."""
        if self.store is None:
            return
        since = datetime.now(UTC) - timedelta(days=KNOWN_EVENT_DAYS)
        try:
            events = self.store.signal_events(run.name, since)
        except Exception as error:
            log.warning("could not read the stored signals of %s: %s", run.name, error)
            return
        run.known = {(token, kind, at) for _, token, kind, at in events}
        if run.name == "replay":  # a replay is history: no day of its own to cap
            return
        now = int(time.time())
        start = day_start_epoch(ist_day(now))
        today = [(symbol, kind, at) for symbol, _, kind, at in events if at >= start]
        counted = run.engine.restore_gates(today, now)
        if counted:
            log.info("%d signals already issued today count against MAX_DAILY_SIGNALS", counted)

    def _learn_stored_icebergs(self, run: _Run) -> None:
        """The stored icebergs of the last ICEBERG_HISTORY_DAYS teach the hidden-size
        estimate how many refills icebergs survive, before today's first one ends."""
        if self.store is None or len(run.engine.sizes):
            return  # no store, or carried over from the engine this one continues
        since = (datetime.now(IST) - timedelta(days=ICEBERG_HISTORY_DAYS)).date()
        try:
            refills, completed, entries = self.store.iceberg_lifetimes(since)
        except Exception as error:
            log.warning("could not read the stored icebergs: %s", error)
            return
        run.engine.sizes.learn(refills, completed, entries)

    def _follow(self, run: _Run, signal_id: str, signal: Signal) -> None:
        run.tracker.follow(
            signal_id,
            signal,
            run.engine.row_of(signal.symbol),
            run.engine.tick_size_of(signal.symbol),
            plan_quantity(signal, self.settings),
        )
        run.open[signal_id] = signal

    def _record(self, run: _Run, signal: Signal) -> None:
        """Follow a new signal's outcome and queue it for the database (market thread)."""
        signal_id = database.new_signal_id()
        try:
            self._follow(run, signal_id, signal)
        except ValueError as error:  # levels the tracker cannot follow: stored, not tracked
            log.warning("not tracking %s %s: %s", signal.signal_type, signal.symbol, error)
        if self.writer is not None:
            self.writer.submit_signal(
                database.signal_row(signal, signal_id, run.name, run.source.simulated)
            )

    def _track_outcomes(self, run: _Run) -> None:
        if not len(run.tracker):
            return
        state = run.engine.state
        for outcome in run.tracker.update(state.last_price, state.now, state.last_tick_time):
            signal = run.open.pop(outcome.signal_id, None)
            if signal is not None and run is self._run:
                self._outcomes.append((signal, outcome))
                if not signal.factors.get("catch_up"):
                    self.alerts.submit(outcome_alert(signal, outcome, run.source.simulated))
            self.outcomes_total += 1
            if self.writer is not None:
                self.writer.submit_outcome(database.outcome_row(outcome))

    def _reset_counters(self) -> None:
        self.ticks_total = self.frames_total = self.frames_dropped = 0
        self.future_ticks = self.ancient_ticks = 0
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
            "round_the_clock": source.round_the_clock,
        }
        return FrameRecorder(path, metadata)

    # -------------------------------------------------------------------- the threads
    def _deliver(self, run: _Run, frame: bytes, arrival: float, clock: float | None = None) -> bool:
        """Called by ``run``'s source thread with a frame that arrived at ``arrival`` (wall
        clock) and ``clock`` (the exchange's clock then, when it differs: the simulator's
        time, a recording's). Live sources drop on a full queue; others wait."""
        item = (frame, arrival, arrival if clock is None else clock)
        if not run.source.live:
            while not run.stop.is_set():
                try:
                    run.frames.put(item, timeout=0.2)
                    return True
                except queue.Full:
                    continue
            return False
        try:
            run.frames.put_nowait(item)
            return True
        except queue.Full:
            self.frames_dropped += 1
            return False

    def _market_loop(self, run: _Run) -> None:
        engine = run.engine
        while True:
            try:
                frame, arrival, clock = run.frames.get(timeout=0.2)
            except queue.Empty:
                if run.stop.is_set():
                    return
                continue
            while True:
                try:
                    symbol, pcr = run.pcr_updates.get_nowait()
                except queue.Empty:
                    break
                try:
                    engine.set_pcr(symbol, pcr)
                except (KeyError, ValueError) as error:  # never let one PCR stop the ticks
                    log.warning("PCR for %s ignored: %s", symbol, error)
            self._process(run, frame, arrival, clock)
            try:
                self._track_outcomes(run)
            except Exception:
                self.engine_errors += 1
                log.exception("outcome tracking failed on this frame")

    def _process(self, run: _Run, frame: bytes, arrival: float, clock: float) -> None:
        current = run is self._run
        engine = run.engine
        if current:
            self.frames_total += 1
            self.last_frame_at = arrival
        if run.recorder is not None:
            run.recorder.write(frame, clock)
        try:
            ticks = parse_kite_frame(frame)
        except FrameError as error:
            self.frame_errors += 1
            log.warning("dropped a malformed frame of %d bytes: %s", len(frame), error)
            return
        if len(ticks) == 0:
            return  # heartbeat
        if current:
            self.depth.record(ticks)
        future, ancient = engine.future_ticks, engine.ancient_ticks
        try:
            signals = engine.update(ticks, received_at=clock)
        except Exception:
            self.engine_errors += 1
            log.exception("engine update failed; the frame is skipped")
            return
        ended = engine.take_ended_icebergs()
        if self.writer is not None:
            for iceberg in ended:
                self.writer.submit_iceberg(
                    database.iceberg_row(iceberg, run.name, run.source.simulated)
                )
        if engine.future_ticks > future or engine.ancient_ticks > ancient:
            log.warning(
                "rejected %d ticks stamped ahead of their arrival and %d absurdly old ones",
                engine.future_ticks - future,
                engine.ancient_ticks - ancient,
            )
        if current:
            self.ticks_total += len(ticks)
            self.last_tick_at = arrival
            if clock >= run.source.live_from:  # a warm-up burst is catching up, not a rate
                self._rates.append((arrival, len(ticks)))
        for signal in signals:
            event = (signal.instrument_token, str(signal.signal_type), int(clock_of(signal)))
            if event in run.known:
                log.info("%s %s at %s was already reported", *event[1::-1], signal.timestamp)
                continue
            run.known.add(event)
            if event[2] < run.source.live_from:  # replayed history: marked as such
                signal = replace(signal, factors={**signal.factors, "catch_up": True})
            self._record(run, signal)
            if not current:
                continue
            self.signals_total += 1
            self._signals.append(signal)
            if not signal.factors.get("catch_up"):  # a warm-up's history is not news
                self.alerts.submit(signal_alert(signal, run.source.simulated))
            for listener in self._listeners:
                try:
                    listener(signal)
                except Exception:
                    log.exception("a signal listener failed")

    def _pcr_loop(self, run: _Run) -> None:
        """Fetch PCR for every symbol now and then; the REST calls never block ticks."""
        settings, source = self.settings, run.source
        while not run.stop.is_set():
            for symbol in list(source.instruments.values()):
                if run.stop.is_set():
                    return
                try:
                    result = source.fetch_pcr(symbol)
                except Exception as error:
                    if run.stop.is_set():
                        return  # stopped during the call: its failure is the stop's, not news
                    log.warning("PCR for %s failed: %s", symbol, error)
                    result = None
                if result is None and source.name == "kite":
                    result = mock_pcr()
                if result is not None:
                    run.pcr_updates.put((symbol, result))
            interval = settings.pcr_refresh_seconds
            if source.simulated and source.name == "simulator":
                interval /= settings.simulator_speed
            run.stop.wait(interval)

    # ------------------------------------------------------------------------ readers
    def ticks_per_second(self, now: float | None = None, span: float = 10.0) -> float:
        """Ticks a second of the running source over the last ``span`` seconds (0 stopped)."""
        if self.source is None:
            return 0.0
        now = time.time() if now is None else now
        recent = [(at, count) for at, count in list(self._rates) if now - at <= span]
        if not recent:
            return 0.0
        elapsed = max(now - recent[0][0], 1.0)
        return sum(count for _, count in recent) / elapsed

    def status(self) -> dict:
        """The feed's state for the sidebar badge and ``/health``. No secrets."""
        now = time.time()
        source, engine = self.source, self.engine
        phase = market_phase(datetime.now(UTC), self.settings.holidays)
        if source is None:
            state = (
                "login_required" if self.login_required else "error" if self.error else "stopped"
            )
        elif source.login_required:
            state = "login_required"
        elif source.live and phase != "open" and not self.last_tick_at:
            state = "market_closed"
        elif engine is not None and engine.state.now < source.live_from:
            state = "catching_up"
        else:
            state = source.state
        return {
            "source": self.source_name,
            "state": state,
            "simulated": bool(source and source.simulated),
            "connected": bool(source and source.connected),
            "login_required": bool(self.login_required or (source and source.login_required)),
            "detail": self.error
            or (
                f"catching up ({source.live_from - engine.state.now:,.0f} s of history)"
                if state == "catching_up"
                else source.detail
                if source
                else ""
            ),
            "symbols": list(source.instruments.values()) if source else [],
            "invalid_symbols": list(self.invalid_symbols),
            "contracts": dict(source.contracts) if source else {},  # live contract: its alias
            "instruments": len(source.instruments) if source else 0,  # subscribed
            # Kite: each WebSocket connection (instruments, connected, reconnects, last frame).
            "connections": source.connection_status() if source else [],
            "ticks_total": self.ticks_total,
            "ticks_per_s": round(self.ticks_per_second(now), 1),
            "last_tick_age_s": (
                round(now - self.last_tick_at, 1) if self.last_tick_at and source else None
            ),
            "reconnects": source.reconnects if source else 0,
            "frames_total": self.frames_total,
            "frames_dropped": self.frames_dropped,
            "frame_errors": self.frame_errors,
            "engine_errors": self.engine_errors,
            "queue_depth": self._run.frames.qsize() if self._run and source else 0,
            "future_ticks": engine.future_ticks if engine else 0,
            "ancient_ticks": engine.ancient_ticks if engine else 0,
            "signals_total": self.signals_total,
            "signals_today": engine.signals_today if engine else 0,
            "daily_cap_reached": bool(
                engine and engine.signals_today >= self.settings.max_daily_signals
            ),
            "signals_open": len(self._run.open) if self._run else 0,
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
            metrics,
            signals,
            self.status(),
            self.active_signals(),
            tuple(self._outcomes),
            engine.icebergs() if engine is not None else (),
        )

    def open_signal_ids(self) -> set[str]:
        """Stored ids of the signals whose outcome is still being followed."""
        run = self._run
        return set(run.open.copy()) if run is not None else set()

    def active_signals(self) -> tuple[Signal, ...]:
        """The signals whose outcome is still open (no target, stop or expiry yet)."""
        run = self._run
        return tuple(run.open.copy().values()) if run is not None else ()

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
        """``symbol``'s sampled price, institutional ratio, imbalance and cumulative volume
        delta, for the charts."""
        engine = self.engine
        if engine is None or symbol not in engine.symbols:
            return pd.DataFrame(columns=list(SERIES))
        return engine.history_frame(symbol)

    def depth_frame(self, symbol: str) -> pd.DataFrame:
        """``symbol``'s visible book over time (recorded from the first time it is asked
        for, so a chart fills in from then): ``feeds.depth.DepthHistory.frame``."""
        engine = self.engine
        if engine is None or symbol not in engine.symbols:
            return pd.DataFrame(columns=["time", "side", "price", "quantity"])
        token = engine.token_of(symbol)
        self.depth.watch(token)
        return self.depth.frame(token)

    def icebergs(self, symbol: str | None = None) -> list[Iceberg]:
        """The icebergs that ended lately and those active now (``symbol``'s, or all),
        oldest first: for the charts' markers."""
        engine = self.engine
        if engine is None:
            return []
        seen = list(engine.ended_icebergs.copy()) + list(engine.icebergs())
        return [i for i in seen if symbol is None or i.symbol == symbol]

    def history_revision(self) -> tuple[int, int]:
        """Changes whenever the charts' history has a new sample (or a new engine)."""
        engine = self.engine
        return (id(engine), engine.history.revision) if engine is not None else (0, 0)


_service: MarketService | None = None
_service_lock = threading.Lock()
# Every service that was started: at interpreter exit they are stopped, so no market thread
# is still inside compiled code (parser, level walk) while Python tears itself down.
_started: weakref.WeakSet[MarketService] = weakref.WeakSet()


@atexit.register
def _stop_every_service() -> None:
    for service in list(_started):
        try:
            service.stop()
        except Exception:  # exiting anyway: never let one failure skip the others
            log.debug("stopping a service at exit failed", exc_info=True)


def get_service(settings) -> MarketService:
    """The process's one market service, started on first use when ``AUTO_START`` is on."""
    global _service
    with _service_lock:
        if _service is None:
            _service = MarketService(settings)
            if settings.auto_start:
                _service.start()
        return _service
