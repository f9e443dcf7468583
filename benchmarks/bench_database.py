"""Database benchmark: the writer's throughput beside a busy market thread, and history
queries over a large table.

1. Writer: a ``MarketService`` streams the simulator (its whole universe at 1000x speed)
   into its engine while a producer submits ``--signals`` signal rows to a
   ``SignalWriter`` on the same SQLite file. Prints rows written per second and the ticks the
   market thread processed per second meanwhile.
2. History: ``--rows`` stored signals (three quarters with an outcome) over ~250 trading days;
   times what one render of the Signal History page asks of the store (match count, newest
   10,000 rows, per-day summary) for typical filter sets.

Targets: a history render under 1 second over 1 million signals.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from config import Settings
from database import HistoryFilter, SignalStore, SignalWriter
from engine.sessions import IST
from feeds.service import MarketService
from feeds.simulator import UNIVERSE

TYPES = np.array(["ACCUMULATION", "DISTRIBUTION", "BUY", "SELL"])
SYMBOLS = np.array([f"SYM{n:03d}" for n in range(200)])


def rows(count: int, seed: int, start_id: int = 0) -> tuple[list[dict], list[dict]]:
    """``count`` signal rows over 250 trading days and outcomes for three quarters of them."""
    rng = np.random.default_rng(seed)
    first = datetime(2025, 11, 24, 3, 45, tzinfo=UTC)
    day = rng.integers(0, 250, count)
    second = rng.integers(0, 6 * 3600, count)
    kinds = TYPES[rng.integers(0, 4, count)]
    symbols = SYMBOLS[rng.integers(0, len(SYMBOLS), count)]
    confidence = np.round(rng.uniform(7, 10, count), 1)
    r = rng.choice([2.0, -1.0, 0.3, -0.4], count)
    signals, outcomes = [], []
    for n in range(count):
        when = first + timedelta(days=int(day[n]), seconds=int(second[n]))
        signal_id = f"{start_id + n:032x}"
        signals.append(
            {
                "id": signal_id,
                "symbol": str(symbols[n]),
                "instrument_token": n % 5000,
                "signal_type": str(kinds[n]),
                "confidence": float(confidence[n]),
                "rank_points": 12.0,
                "entry": 100.0,
                "target": 102.0,
                "stop_loss": 99.0,
                "institutional_ratio": 4.0,
                "order_imbalance": -0.4,
                "volume_surge": 2.0,
                "pcr": None,
                "pcr_bias": "UNKNOWN",
                "factors": {"total": 11},
                "signal_time": when,
                "trade_date": when.astimezone(IST).date(),
                "source": "simulator",
                "simulated": True,
            }
        )
        if n % 4:
            outcomes.append(
                {
                    "signal_id": signal_id,
                    "outcome": "target" if r[n] > 0 else "stop",
                    "exit_price": 100 + r[n],
                    "pnl_pct": float(r[n]),
                    "r_multiple": float(r[n]),
                    "mfe_pct": 1.0,
                    "mae_pct": 0.5,
                    "minutes_to_outcome": 12.0,
                    "closed_at": when + timedelta(minutes=12),
                }
            )
    return signals, outcomes


def write_all(store: SignalStore, signals: list[dict]) -> tuple[float, dict]:
    writer = SignalWriter(store, queue_size=len(signals) + 1, batch_size=500)
    started = time.perf_counter()
    for row in signals:
        writer.submit_signal(row)
    writer.flush(600)
    elapsed = time.perf_counter() - started
    writer.close()
    return elapsed, writer.status()


def writer_throughput(folder: Path, count: int) -> None:
    settings = Settings(
        _env_file=None,
        data_dir=str(folder),
        simulator_speed=1000,
        simulator_warmup_seconds=0,
        watchlist=",".join(UNIVERSE),
    )
    alone = SignalStore(f"sqlite:///{folder / 'alone.db'}")
    alone.migrate()
    elapsed, status = write_all(alone, rows(count, seed=5)[0])
    print(f"writer alone: {status['written_signals'] / elapsed:,.0f} signals/s")

    store = SignalStore(f"sqlite:///{folder / 'writer.db'}")
    store.migrate()
    service = MarketService(settings, store=SignalStore(f"sqlite:///{folder / 'writer.db'}"))
    service.start()
    signals = rows(count, seed=6, start_id=10**9)[0]
    ticks_before = service.ticks_total
    elapsed, status = write_all(store, signals)
    ticks = service.ticks_total - ticks_before
    service.close()
    print(
        f"writer beside the market thread: {status['written_signals']:,} signals in "
        f"{elapsed:.2f} s = {status['written_signals'] / elapsed:,.0f} signals/s (dropped "
        f"{status['dropped']}, retries {status['retries']}); the market thread meanwhile "
        f"{ticks / elapsed:,.0f} ticks/s ({len(service.symbols)} symbols at 1000x speed)"
    )


def history_queries(folder: Path, count: int) -> None:
    store = SignalStore(f"sqlite:///{folder / 'history.db'}")
    store.migrate()
    started = time.perf_counter()
    step = 50_000
    for offset in range(0, count, step):
        signals, outcomes = rows(min(step, count - offset), seed=offset, start_id=offset)
        store.write_batch(signals, outcomes)
    print(f"history: stored {count:,} signals in {time.perf_counter() - started:.0f} s")
    last = date(2025, 11, 24) + timedelta(days=249)
    cases = {
        "no filter (all dates)": HistoryFilter(),
        "last 30 days": HistoryFilter(start=last - timedelta(days=30), end=last),
        "one symbol, all dates": HistoryFilter(symbols=("SYM007",)),
        "type + confidence 9-10 + 30 days": HistoryFilter(
            signal_types=("BUY",), min_confidence=9, start=last - timedelta(days=30), end=last
        ),
        "outcome stop, 30 days": HistoryFilter(
            outcomes=("stop",), start=last - timedelta(days=30), end=last
        ),
        "open signals, all dates": HistoryFilter(outcomes=("open",)),
    }
    for name, filters in cases.items():
        times = []
        for _ in range(3):
            begin = time.perf_counter()
            matching = store.count(filters)
            shown = len(store.history(filters))
            store.daily_summary(filters)
            times.append(time.perf_counter() - begin)
        print(
            f"  {name:34s} {statistics.median(times) * 1000:7.0f} ms "
            f"({matching:,} match, {shown:,} shown)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--signals", type=int, default=50_000)
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        writer_throughput(Path(folder), arguments.signals)
        history_queries(Path(folder), arguments.rows)


if __name__ == "__main__":
    threading.current_thread().name = "bench"
    main()
