"""What would these settings have done on the sessions I recorded?

A **session** is a frame recording (``feeds.recording``: what the app records with
``RECORD_FRAMES``) or a seed of the event-driven book simulator (``sim:SEED``, which also
knows its icebergs). A **setting** is the app's settings with some values changed. For each
setting, every session is replayed through the same engine the app runs, at full speed, and
each signal is followed by the same outcome tracker (target, stop, expiry on the holding
horizon; costs and net R), exactly as live:

* frames go in the order they were recorded, each with its own exchange clock, so an engine
  update sees only what had happened by then: nothing later can change a signal or its plan;
* a session that ends with signals still open closes them at their last price (expired);
* the PCR is unknown (a recording holds no option chain), as for a live run without one.

Per setting: signals, decided outcomes, the net win rate with its Wilson 95 % interval, net
expectancy in R with its 95 % interval, profit factor, maximum drawdown in R (both net), the
gross expectancy beside them, and on simulator sessions the precision and recall of
ACCUMULATION / DISTRIBUTION against the simulator's icebergs.

Settings run in parallel in processes (the engine holds the GIL while it works), one setting
a process, every session inside it; inside the app the processes come from a fresh server
process, so a backtest never copies the app's threads.
"""

from __future__ import annotations

import itertools
import math
import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from analytics import wilson_interval
from engine import SignalEngine, parse_kite_frame
from engine.outcomes import outcome_tracker, plan_quantity

# Settings a grid may vary (each changes which signals a replay issues or how they are
# planned and costed), and how to read their values from text.
GRID_SETTINGS = (
    "min_confidence",
    "opening_quiet_minutes",
    "risk_horizon_minutes",
    "stop_atr_multiple",
    "stop_buffer_atr",
    "stop_floor_ranges",
    "min_reward_risk",
    "min_ratio_z",
    "slippage_ticks",
)
SIMULATOR_START = 1_763_005_500  # 09:15 IST: a simulated session opens with the market


class BacktestError(ValueError):
    """A session or a setting the backtester cannot use, with what was wrong."""


@dataclass(frozen=True)
class Session:
    """A recording (``path``) or a simulator seed (``seed``), ``instruments`` x ``minutes``."""

    name: str
    path: Path | None = None
    seed: int | None = None
    instruments: int = 12
    minutes: int = 60
    simulated: bool = True  # a simulator's session (a seed, or a recording of one)

    @property
    def label(self) -> str:
        """The name, marked when it is not the market."""
        return (
            self.name if self.seed is not None or not self.simulated else f"{self.name} (simulated)"
        )


def session_of(text: str, instruments: int = 12, minutes: int = 60) -> Session:
    """``sim:SEED`` or the path of a recording (checked to exist)."""
    if text.startswith("sim:"):
        try:
            seed = int(text[4:])
        except ValueError:
            raise BacktestError(
                f"{text!r}: a simulator session is sim:SEED, SEED a whole number"
            ) from None
        return Session(text, seed=seed, instruments=instruments, minutes=minutes)
    from feeds.recording import RecordingError, read_metadata

    path = Path(text)
    if not path.is_file():
        raise BacktestError(f"{text}: no such recording")
    try:
        simulated = bool(read_metadata(path).get("simulated", False))
    except RecordingError as error:
        raise BacktestError(str(error)) from None
    return Session(path.name, path=path, simulated=simulated)


def parse_grid(assignments: Sequence[str], settings) -> list[dict]:
    """``NAME=VALUE[,VALUE...]`` (a name given more than once adds values) into the list of
    settings to run: every combination, each a dict of the changed values."""
    values: dict[str, list] = {}
    for assignment in assignments:
        name, _, text = assignment.partition("=")
        key = name.strip().lower()
        if not text or key not in GRID_SETTINGS:
            raise BacktestError(
                f"--set {assignment!r}: give NAME=VALUE with NAME one of "
                + ", ".join(s.upper() for s in GRID_SETTINGS)
            )
        kind = type(getattr(settings, key))
        for item in text.split(","):
            try:
                value = kind(item.strip())
            except ValueError:
                raise BacktestError(
                    f"--set {key.upper()}: {item!r} is not a {kind.__name__}"
                ) from None
            values.setdefault(key, [])
            if value not in values[key]:
                values[key].append(value)
    names = list(values)
    grid = [dict(zip(names, combo, strict=True)) for combo in itertools.product(*values.values())]
    for changed in grid:  # the settings' own checks, before any work
        try:
            settings.model_validate({**settings.model_dump(), **changed})
        except ValueError as error:
            raise BacktestError(f"setting {changed}: {error}") from None
    return grid or [{}]


def _frames(session: Session) -> tuple[dict[int, str], bool, Iterator[tuple[float, bytes]], list]:
    """The session's instruments, whether it trades round the clock, its frames with their
    exchange clocks, and its icebergs (simulator sessions; filled once the frames are read)."""
    if session.path is not None:
        from feeds.recording import read_frames, read_metadata

        metadata = read_metadata(session.path)
        instruments = {int(t): s for t, s in metadata.get("instruments", {}).items()}
        if not instruments:
            raise BacktestError(f"{session.name}: the recording names no instruments")
        clock = bool(metadata.get("round_the_clock", metadata.get("simulated", False)))
        return instruments, clock, read_frames(session.path), []
    from feeds.book_simulator import BookSimulator, book_instruments

    book = book_instruments(session.instruments, seed=session.seed)
    simulator = BookSimulator(
        book, SIMULATOR_START, seed=session.seed, session_seconds=session.minutes * 60
    )
    truth: list = []

    def frames():
        for second in range(session.minutes * 60):
            yield SIMULATOR_START + second, simulator.frame()
        truth.append(simulator)  # its last second closed every agent's record

    return {i.instrument_token: i.symbol for i in book}, False, frames(), truth


def replay(settings, session: Session) -> dict:
    """One session through the engine and the outcome tracker under ``settings``: the
    signals, their outcomes and (simulator sessions) how the ACC/DIS signals matched."""
    instruments, round_the_clock, frames, truth = _frames(session)
    engine = SignalEngine(settings, instruments, continuous_only=not round_the_clock)
    tracker = outcome_tracker(settings)
    signals, outcomes = [], []
    ticks_total = 0
    for clock, frame in frames:
        ticks = parse_kite_frame(frame)
        if len(ticks) == 0:
            continue
        ticks_total += len(ticks)
        for signal in engine.update(ticks, received_at=clock):
            tracker.follow(
                f"{session.name}#{len(signals)}",
                signal,
                engine.row_of(signal.symbol),
                engine.tick_size_of(signal.symbol),
                plan_quantity(signal, settings),
            )
            signals.append(signal)
        state = engine.state
        outcomes += tracker.update(state.last_price, state.now, state.last_tick_time)
    if len(tracker):  # the session ended: what is still open closes at its last price
        state = engine.state
        later = state.now + tracker.horizon_seconds + 1
        outcomes += tracker.update(state.last_price, later, np.zeros_like(state.last_tick_time))
    result = {"signals": signals, "outcomes": outcomes, "ticks": ticks_total}
    if truth:
        from feeds.detection_quality import detections_of, score_detections

        simulator = truth[0]
        book = simulator.instruments
        result["detection"] = score_detections(
            detections_of(
                [s for s in signals if str(s.signal_type) in ("ACCUMULATION", "DISTRIBUTION")]
            ),
            simulator.icebergs,
            simulator.episodes,
            {i.symbol for i in book if i.thin},
            len(book) * session.minutes / 60,
        )
    return result


def run_setting(settings, changed: dict, sessions: Sequence[Session]) -> dict:
    """Every session under ``settings`` with ``changed`` applied: one result row."""
    chosen = settings.model_copy(update=changed)
    started = time.perf_counter()
    signals = ticks = 0
    net_r, gross_r = [], []
    found = icebergs = right = detections = 0
    for session in sessions:
        result = replay(chosen, session)
        signals += len(result["signals"])
        ticks += result["ticks"]
        for outcome in result["outcomes"]:
            net_r.append(outcome.net_r)
            gross_r.append(outcome.r_multiple)
        quality = result.get("detection")
        if quality is not None:
            found, icebergs = found + quality.found, icebergs + quality.icebergs
            right, detections = right + quality.true_positives, detections + quality.detections
    seconds = time.perf_counter() - started
    return {
        "setting": changed,
        "signals": signals,
        **summary(np.array(net_r, dtype=float), np.array(gross_r, dtype=float)),
        "precision": right / detections if detections else None,
        "recall": found / icebergs if icebergs else None,
        "ticks": ticks,
        "seconds": round(seconds, 3),
        "ticks_per_second": ticks / seconds if seconds > 0 else None,
    }


def summary(net_r: np.ndarray, gross_r: np.ndarray) -> dict:
    """The figures of a setting's decided outcomes (R after and before costs)."""
    decided = len(net_r)
    wins = int((net_r > 0).sum())
    low, high = wilson_interval(wins, decided)
    gains, losses = net_r[net_r > 0].sum(), -net_r[net_r <= 0].sum()
    expectancy = float(net_r.mean()) if decided else None
    spread = 1.96 * float(net_r.std(ddof=1)) / math.sqrt(decided) if decided > 1 else None
    equity = np.concatenate([[0.0], np.cumsum(net_r)])
    return {
        "decided": decided,
        "wins": wins,
        "win_rate": wins / decided if decided else None,
        "win_rate_low": low if decided else None,
        "win_rate_high": high if decided else None,
        "net_expectancy_r": expectancy,
        "net_expectancy_low": None if spread is None else expectancy - spread,
        "net_expectancy_high": None if spread is None else expectancy + spread,
        "gross_expectancy_r": float(gross_r.mean()) if decided else None,
        "profit_factor": (float(gains / losses) if losses > 0 else None) if decided else None,
        "max_drawdown_r": float(np.max(np.maximum.accumulate(equity) - equity)),
    }


def run_grid(
    settings,
    grid: Sequence[dict],
    sessions: Sequence[Session],
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[dict]:
    """Each setting of ``grid`` over ``sessions``, ``workers`` processes at a time (default:
    the machine's cores, at most one a setting); rows in the grid's order. ``progress(done,
    total)`` is called as settings finish."""
    workers = max(1, min(workers or os.cpu_count() or 1, len(grid)))
    if workers == 1:
        rows = []
        for index, changed in enumerate(grid):
            rows.append(run_setting(settings, changed, sessions))
            if progress:
                progress(index + 1, len(grid))
        return rows
    rows: list[dict | None] = [None] * len(grid)
    # A process with threads (the app) is never forked (a child could inherit a held lock):
    # its workers come from a fresh server that has imported the engine. A single-threaded
    # one (the command, a benchmark) forks, and the workers start with the engine compiled.
    if threading.active_count() == 1:
        context = multiprocessing.get_context("fork")
    else:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["backtest"])
    with ProcessPoolExecutor(workers, mp_context=context) as pool:
        futures = {
            pool.submit(run_setting, settings, changed, sessions): index
            for index, changed in enumerate(grid)
        }
        for done, future in enumerate(as_completed(futures), start=1):
            rows[futures[future]] = future.result()
            if progress:
                progress(done, len(grid))
    return rows  # type: ignore[return-value]


def setting_names(rows: Sequence[dict]) -> tuple[list[str], str]:
    """A short name per row from the values that differ between rows, and the values every
    row shares (``NAME=value, ...``; ``defaults`` when nothing was changed)."""
    settings = [row["setting"] for row in rows]
    keys = list(dict.fromkeys(key for setting in settings for key in setting))
    varying = [k for k in keys if len({repr(setting.get(k)) for setting in settings}) > 1]
    shared = [k for k in keys if k not in varying]

    def name(setting: dict, chosen: list[str]) -> str:
        return ", ".join(f"{k.upper()}={setting[k]:g}" for k in chosen if k in setting)

    names = [name(setting, varying) or "defaults" for setting in settings]
    return names, name(settings[0], shared) if settings else ""


def table(rows: Sequence[dict]) -> str:
    """The rows as aligned text, one line a setting."""
    lines = [
        f"{'setting':<40} {'signals':>7} {'decided':>7} {'win rate (95% CI)':>22} "
        f"{'net E[R] (95% CI)':>24} {'gross E[R]':>10} {'PF':>5} {'max DD':>7} "
        f"{'precision':>9} {'recall':>6}"
    ]

    def number(value, digits=2, signed=False):
        if value is None:
            return "n/a"
        return f"{value:+.{digits}f}" if signed else f"{value:.{digits}f}"

    names, shared = setting_names(rows)
    if shared:
        lines.insert(0, f"every setting: {shared}")
    for name, row in zip(names, rows, strict=True):
        rate = (
            "n/a"
            if row["win_rate"] is None
            else f"{row['win_rate']:.0%} ({row['win_rate_low']:.0%}-{row['win_rate_high']:.0%})"
        )
        expectancy = number(row["net_expectancy_r"], signed=True)
        if row["net_expectancy_low"] is not None:
            expectancy += f" ({row['net_expectancy_low']:+.2f}..{row['net_expectancy_high']:+.2f})"
        lines.append(
            f"{name:<40} {row['signals']:>7} {row['decided']:>7} {rate:>22} {expectancy:>24} "
            f"{number(row['gross_expectancy_r'], signed=True):>10} "
            f"{number(row['profit_factor']):>5} {number(row['max_drawdown_r'], 1):>7} "
            f"{number(row['precision']):>9} {number(row['recall']):>6}"
        )
    return "\n".join(lines)
