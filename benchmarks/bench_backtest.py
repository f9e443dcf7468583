"""Backtest benchmark: plan widths against the market's own moves, and grid throughput.

1. **Stops against the noise.** Simulated sessions of the event-driven book simulator
   (``--seeds``) go through the engine at MIN_CONFIDENCE 1 (every plan counts, not only the
   confident ones). At each signal it takes the instrument's median absolute 5-minute move
   over the half hour before (from one-minute closes) and prints the median, over signals,
   of stop distance / that move: for today's plans (the holding horizon's bars) and for the
   old rule (1.5 ATRs of 5-second buckets scaled to the 60-second window, at least 2 ticks).
   Target: today's ratio >= 1.
2. **Throughput.** A recorded session of ``--instruments`` instruments for ``--minutes``
   (the embedded simulator, one full frame a second) is backtested over a grid of
   ``--settings`` settings on one process and on every core: ticks a second per core and in
   all, and the speed-up (close to the number of cores when the grid parallelises).
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from backtest import Session, run_grid
from config import Settings
from engine import SignalEngine, parse_kite_frame
from feeds.book_simulator import BookSimulator, book_instruments
from feeds.recording import FrameRecorder
from feeds.simulator import MarketSimulator, synthetic_instruments

SESSION_START = 1_763_005_500  # 09:15 IST
ICEBERG_TYPES = ("ACCUMULATION", "DISTRIBUTION")


def stop_ratios(settings: Settings, seeds, instruments: int, minutes: int, book: bool) -> dict:
    """Median stop distance over the median |5-minute move| before each signal, on the
    event-driven book simulator (``book``) or the embedded one."""
    now_ratios: dict[str, list] = {"ACC/DIS": [], "BUY/SELL": []}
    old_ratios: dict[str, list] = {"ACC/DIS": [], "BUY/SELL": []}
    for seed in seeds:
        if book:
            universe = book_instruments(instruments, seed=seed)
            simulator = BookSimulator(
                universe, SESSION_START, seed=seed, session_seconds=minutes * 60
            )
        else:
            universe = synthetic_instruments(instruments, seed=seed)
            simulator = MarketSimulator(universe, SESSION_START, seed=seed)
        engine = SignalEngine(
            settings.model_copy(update={"min_confidence": 1, "max_daily_signals": 10_000}),
            {i.instrument_token: i.symbol for i in universe},
        )
        for _ in range(minutes * 60):
            ticks = parse_kite_frame(simulator.frame())
            if len(ticks) == 0:
                continue
            for signal in engine.update(ticks):
                row = engine.row_of(signal.symbol)
                _, _, close = engine.bars.window([row], engine.state.now // 60, 30)
                moves = np.abs(close[0, 5:] - close[0, :-5])
                moves = moves[~np.isnan(moves)]
                if len(moves) < 5:  # not half an hour of history yet
                    continue
                typical = float(np.median(moves))
                if typical <= 0:
                    continue
                tick = engine.tick_size_of(signal.symbol)
                window_atr = float(engine.snapshot().set_index("symbol").loc[signal.symbol, "atr"])
                old = max(settings.stop_atr_multiple * window_atr, settings.min_stop_ticks * tick)
                group = "ACC/DIS" if signal.signal_type in ICEBERG_TYPES else "BUY/SELL"
                now_ratios[group].append(abs(signal.entry - signal.stop_loss) / typical)
                old_ratios[group].append(old / typical)
    return {
        group: (
            len(now_ratios[group]),
            float(np.median(now_ratios[group])) if now_ratios[group] else math.nan,
            float(np.median(old_ratios[group])) if old_ratios[group] else math.nan,
        )
        for group in now_ratios
    }


def throughput(settings: Settings, instruments: int, minutes: int, settings_count: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "session.kfr"
        universe = synthetic_instruments(instruments, seed=3)
        simulator = MarketSimulator(universe, SESSION_START, seed=3)
        metadata = {
            "instruments": {str(i.instrument_token): i.symbol for i in universe},
            "simulated": True,
        }
        with FrameRecorder(path, metadata, chunk_frames=60) as recorder:
            for second in range(minutes * 60):
                recorder.write(simulator.frame(), SESSION_START + second)
        session = Session(path.name, path=path)
        grid = [{"min_confidence": float(c)} for c in np.linspace(5, 9, settings_count)]
        cores = os.cpu_count() or 1
        timings = {}
        for workers in sorted({1, cores}):
            started = time.perf_counter()
            rows = run_grid(settings, grid, [session], workers=workers)
            timings[workers] = time.perf_counter() - started
            ticks = sum(row["ticks"] for row in rows)
            per_setting = timings[workers] / len(grid) * workers
            print(
                f"{workers} process(es): {len(grid)} settings x {instruments} instruments x "
                f"{minutes} min in {timings[workers]:.1f} s · {ticks / timings[workers]:,.0f} "
                f"ticks/s in all, {ticks / timings[workers] / workers:,.0f} per core · "
                f"{per_setting:.1f} s a setting"
            )
        if cores > 1:
            print(f"speed-up on {cores} cores: {timings[1] / timings[cores]:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="201,202")
    parser.add_argument("--sim-instruments", type=int, default=12)
    parser.add_argument("--sim-minutes", type=int, default=90)
    parser.add_argument("--instruments", type=int, default=100)
    parser.add_argument("--minutes", type=int, default=30)
    parser.add_argument("--settings", type=int, default=4)
    arguments = parser.parse_args()
    settings = Settings(_env_file=None)
    seeds = [int(s) for s in arguments.seeds.split(",")]
    for book, name in ((True, "event-driven book simulator"), (False, "scenario simulator")):
        ratios = stop_ratios(
            settings, seeds, arguments.sim_instruments, arguments.sim_minutes, book
        )
        for group, (count, now, old) in ratios.items():
            print(
                f"{name}, {group}: stop distance / median |5-min move| over the half hour "
                f"before, median of {count} signals (seeds {arguments.seeds}): {now:.2f} on the "
                f"holding horizon ({settings.risk_horizon_minutes} min) · {old:.2f} with the "
                "old window-ATR rule · target >= 1"
            )
    throughput(settings, arguments.instruments, arguments.minutes, arguments.settings)


if __name__ == "__main__":
    main()
