"""Replay benchmark: a simulated session of many instruments through parser and engine.

Generates ``--minutes`` of a simulated session for ``--instruments`` instruments (one
full-mode frame per second, as Kite sends), records it, then replays the recording as fast
as possible through ``parse_kite_frame`` and ``SignalEngine.update``. Prints ticks per
second, the share of one core the work would take at Kite's real rate (one frame a second),
and the process's memory across the replay (it must stay flat).

Target: over 1 million ticks per second, flat memory.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from config import Settings
from engine import SignalEngine, parse_kite_frame
from feeds.recording import FrameRecorder, read_frames
from feeds.simulator import MarketSimulator, synthetic_instruments

SESSION_START = 1_763_005_500  # 09:15 IST


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instruments", type=int, default=3_000)
    parser.add_argument("--minutes", type=int, default=60)
    arguments = parser.parse_args()
    instruments = synthetic_instruments(arguments.instruments, seed=1)
    seconds = arguments.minutes * 60
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "session.kfr"
        started = time.perf_counter()
        simulator = MarketSimulator(instruments, SESSION_START, seed=1)
        with FrameRecorder(path, chunk_frames=60) as recorder:
            for second in range(seconds):
                recorder.write(simulator.frame(), SESSION_START + second)
        generated = time.perf_counter() - started
        replay(path, instruments, seconds, generated, arguments.instruments)


def replay(path: Path, instruments, seconds: int, generated: float, count: int) -> None:
    engine = SignalEngine(
        Settings(_env_file=None), {i.instrument_token: i.symbol for i in instruments}
    )
    process = psutil.Process()
    rss = []
    busy = ticks = signals = 0
    frames = 0
    for index, (_, frame) in enumerate(read_frames(path)):  # streamed, not held in memory
        frames += 1
        begin = time.perf_counter()
        batch = parse_kite_frame(frame)
        signals += len(engine.update(batch))
        busy += time.perf_counter() - begin
        ticks += len(batch)
        if index % 300 == 0:
            rss.append(process.memory_info().rss / 2**20)
    rss.append(process.memory_info().rss / 2**20)
    print(
        f"# {count:,} instruments x {seconds:,} s simulated "
        f"({ticks:,} ticks, generated in {generated:.0f} s)"
    )
    print(f"parse + engine: {ticks / busy:,.0f} ticks/s ({busy / frames * 1e3:.2f} ms a frame)")
    print(f"one core at Kite's rate (a frame a second): {busy / seconds:.1%}")
    print(f"signals: {signals}")
    print(f"RSS MiB after warm-up {rss[1]:.0f}, at the end {rss[-1]:.0f}, peak {max(rss):.0f}")


if __name__ == "__main__":
    main()
