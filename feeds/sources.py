"""Frame sources that run offline: the embedded simulator and the replay of a recording.

A source resolves its watchlist into instruments (reporting unknown symbols by name), then
runs a thread that hands raw Kite frames to ``deliver(frame, arrival, clock)``: ``arrival``
is the wall-clock time, ``clock`` the exchange's clock at that moment when it is not the wall
clock (the simulator's own time, a recording's), which the engine checks timestamps against.
Offline sources wait for room in the service's queue (back-pressure) instead of dropping
frames: nothing is lost, and a replay gives the same signals every time.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from engine.pcr import PCRResult, calculate_real_pcr
from feeds.book_simulator import BookSimulator, book_instruments_like
from feeds.recording import ReadReport, read_frames, read_metadata
from feeds.simulator import TICK_SIZE, simulated_instruments

log = logging.getLogger("feeds.sources")

Deliver = Callable[..., bool]  # deliver(frame, arrival, clock=None) -> accepted


class FrameSource:
    """Base of every source: a name, its instruments, a thread and a status."""

    name = "source"
    simulated = False  # data that is not the market's (labelled in the UI)
    live = False  # a live feed drops frames on a full queue rather than wait
    round_the_clock = False  # trades at any hour (the simulator): no NSE session phases
    live_from = 0.0  # exchange time from which frames are live; before it, catch-up history

    def __init__(self, settings, symbols: list[str]) -> None:
        self.settings = settings
        self.symbols = symbols
        self.instruments: dict[int, str] = {}
        self.tick_sizes: dict[int, float] = {}  # token -> price tick, rupees
        self.invalid_symbols: list[str] = []  # entries not monitored, each with its reason
        self.lot_sizes: dict[int, int] = {}  # units a lot, where the exchange trades in lots
        self.contracts: dict[str, str] = {}  # a futures alias's live contract: its entry
        self.state = "stopped"
        self.detail = ""
        self.reconnects = 0
        self.login_required = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def connected(self) -> bool:
        return self.state == "connected"

    def resolve(self) -> None:
        """Fill ``instruments`` and ``invalid_symbols`` from ``symbols``."""
        raise NotImplementedError

    def start(self, deliver: Deliver) -> None:
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._guarded_run, args=(deliver,), name=f"{self.name}-source", daemon=True
        )
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self.state = "stopped"

    def fetch_pcr(self, symbol: str) -> PCRResult | None:
        """The latest PCR of ``symbol``'s options, or None if this source has none."""
        return None

    def connection_status(self) -> list[dict]:
        """Each network connection of the source (Kite's WebSockets); none for the others."""
        return []

    def _guarded_run(self, deliver: Deliver) -> None:
        try:
            self._run(deliver)
        except Exception as error:  # a source failure is a state, never a crash
            log.exception("%s source failed", self.name)
            self.state, self.detail = "error", f"{type(error).__name__}: {error}"

    def _run(self, deliver: Deliver) -> None:
        raise NotImplementedError


BOOK_SESSION_SECONDS = 3_600  # the simulator's market runs in sessions of an hour


class SimulatorSource(FrameSource):
    """The embedded default: a simulated NSE session for the watchlist, no credentials.

    The market is :class:`feeds.book_simulator.BookSimulator`'s: order books driven by limit
    orders, cancellations, market orders and iceberg agents, in sessions of an hour (each
    continues the last one's prices and volume), so what the dashboard finds in it is found,
    not scripted.

    On start it replays up to ``SIMULATOR_WARMUP_SECONDS`` of simulated history at once so the
    baselines are ready (the status says "catching up"), then runs at ``SIMULATOR_SPEED``
    simulated seconds per second. The session opens with an iceberg on the first symbol just
    before the live edge, so a fresh dashboard has something to show.

    The simulated clock only moves forward: the last simulated second and each symbol's last
    price are kept in ``DATA_DIR/simulator-clock.json``, and a restart (Stop/Start, a
    watchlist change, a new server) continues after them. Its warm-up is shortened rather
    than replay time an earlier run already reported, so nothing it said is said again.
    """

    name = "simulator"
    simulated = True
    round_the_clock = True  # so the dashboard can be tried at any hour
    CLOCK_FILE = "simulator-clock.json"

    def __init__(self, settings, symbols: list[str]) -> None:
        super().__init__(settings, symbols)
        self.simulator: BookSimulator | None = None
        self.warmup_frames = 0
        self._known: list = []
        self._clock_path = Path(settings.data_dir) / self.CLOCK_FILE

    def resolve(self) -> None:
        known, self.invalid_symbols = simulated_instruments(self.symbols)
        self.instruments = {i.instrument_token: i.symbol for i in known}
        self.tick_sizes = {i.instrument_token: TICK_SIZE for i in known}
        self.contracts = {i.symbol: i.entry for i in known if i.entry}
        if not known:
            raise ValueError(
                "none of the symbols is known to the simulator: " + ", ".join(self.symbols)
            )
        self._known = known

    def start(self, deliver: Deliver) -> None:
        # Only now has an earlier run (stopped just before) written down where it got to.
        self._begin_session()
        super().start(deliver)

    def _begin_session(self) -> None:
        reached, prices = self.reached()
        known = [
            replace(i, price=prices[i.symbol]) if prices.get(i.symbol, 0) > 0 else i
            for i in self._known
        ]
        self.live_from = max(int(time.time()), reached + 1)
        start = max(self.live_from - self.settings.simulator_warmup_seconds, reached + 1)
        self.warmup_frames = self.live_from - start
        self._sessions = 0
        self.simulator = BookSimulator(
            book_instruments_like(known, self.settings.simulator_seed),
            start,
            seed=self.settings.simulator_seed,
            session_seconds=BOOK_SESSION_SECONDS,
            demo_at=max(0, self.warmup_frames - 30),
        )

    def reached(self) -> tuple[int, dict[str, float]]:
        """The last second an earlier run simulated (0 when none did) and its last prices."""
        try:
            kept = json.loads(self._clock_path.read_text())
            prices = {str(k): float(v) for k, v in kept.get("prices", {}).items()}
            return int(kept["reached"]), prices
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return 0, {}

    def _keep_clock(self) -> None:
        """Write down how far the simulated clock has run (atomically)."""
        simulator = self.simulator
        if simulator is None or simulator.now < simulator.start:
            return
        try:
            self._clock_path.parent.mkdir(parents=True, exist_ok=True)
            partial = self._clock_path.with_suffix(".tmp")
            _, prices = self.reached()  # symbols not watched now keep their last price
            prices.update(simulator.last_prices())
            partial.write_text(json.dumps({"reached": int(simulator.now), "prices": prices}))
            os.replace(partial, self._clock_path)
        except OSError as error:
            log.warning("could not keep the simulator's clock: %s", error)

    def _run(self, deliver: Deliver) -> None:
        simulator = self.simulator
        assert simulator is not None, "resolve() first"
        self.state = "connected"
        try:
            self._stream(simulator, deliver)
        finally:
            self._keep_clock()

    def _frame(self) -> bytes:
        """The next simulated second; at a session's end the next session takes over."""
        simulator = self.simulator
        if simulator.now >= simulator.start + simulator.session_seconds - 1:
            self._sessions += 1
            simulator = self.simulator = simulator.continued(
                self.settings.simulator_seed + self._sessions
            )
        return simulator.frame()

    def _stream(self, simulator: BookSimulator, deliver: Deliver) -> None:
        for _ in range(self.warmup_frames):
            if self._stop.is_set():
                return
            frame = self._frame()
            deliver(frame, time.time(), self.simulator.now)
        interval = 1.0 / self.settings.simulator_speed
        due = kept = time.monotonic()
        while not self._stop.is_set():
            frame = self._frame()
            deliver(frame, time.time(), self.simulator.now)
            due += interval
            if due - kept >= 1.0:  # about once a second of wall time
                self._keep_clock()
                kept = due
            delay = due - time.monotonic()
            if delay > 0:
                self._stop.wait(delay)
            elif delay < -5:  # fell far behind (a paused machine): do not burst to catch up
                due = time.monotonic()

    def fetch_pcr(self, symbol: str) -> PCRResult | None:
        if self.simulator is None or symbol not in self.instruments.values():
            return None
        chain = self.simulator.option_chain(symbol)
        return calculate_real_pcr(
            chain,
            self.settings.pcr_bullish_above,
            self.settings.pcr_bearish_below,
            origin="simulated",
        )


class ReplaySource(FrameSource):
    """Feeds a recording back through the same path, at ``REPLAY_SPEED`` (0 = at once)."""

    name = "replay"

    def __init__(self, settings, symbols: list[str]) -> None:
        super().__init__(settings, symbols)
        self.path = Path(settings.replay_file)
        self.report = ReadReport()

    def resolve(self) -> None:
        if not self.path.is_file():
            raise FileNotFoundError(f"REPLAY_FILE {self.path} does not exist")
        metadata = read_metadata(self.path)
        recorded = {int(token): symbol for token, symbol in metadata.get("instruments", {}).items()}
        self.simulated = bool(metadata.get("simulated", False))
        self.round_the_clock = bool(metadata.get("round_the_clock", metadata.get("simulated")))
        wanted = set(self.symbols)
        self.instruments = {t: s for t, s in recorded.items() if s in wanted} or recorded
        missing = sorted(wanted - set(recorded.values())) if recorded else []
        self.invalid_symbols = [f"{symbol} (not in the recording)" for symbol in missing]

    def _run(self, deliver: Deliver) -> None:
        speed = self.settings.replay_speed
        self.state = "connected"
        first_arrival = started = None
        for arrival, frame in read_frames(self.path, self.report):
            if self._stop.is_set():
                return
            if speed > 0:
                if first_arrival is None:
                    first_arrival, started = arrival, time.monotonic()
                delay = (arrival - first_arrival) / speed - (time.monotonic() - started)
                if delay > 0 and self._stop.wait(delay):
                    return
            deliver(frame, time.time(), arrival)
        self.state = "finished"
        self.detail = f"replayed {self.report.frames} frames" + (
            f"; stopped early: {self.report.damaged}" if self.report.damaged else ""
        )
