"""Engine benchmarks: the frame parser against kiteconnect's, and SignalEngine.update.

Run with ``make bench`` (or ``.venv/bin/python benchmarks/bench_engine.py``). Fixed seed;
prints medians over repeated runs and ratios against kiteconnect's own ``_parse_binary``
measured in the same run, so the ratios hold on any machine.

Targets: parsing >= 200x kiteconnect on full-mode frames and >= 50x on mixed frames; one
``update`` of 9,000 instruments under 10 ms.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from kiteconnect import KiteTicker

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from config import Settings
from engine import SignalEngine, encode_kite_frame, parse_kite_frame
from engine.ticks import MODE_FULL, MODE_LTP, MODE_QUOTE, empty_ticks

SEED = 20_251_113
SESSION_START = 1_763_005_500  # 09:15 IST


def median_seconds(function, repeats: int, inner: int = 1) -> float:
    timings = []
    for _ in range(repeats):
        started = time.perf_counter()
        for _ in range(inner):
            function()
        timings.append((time.perf_counter() - started) / inner)
    return statistics.median(timings)


class SyntheticMarket:
    """A vectorised random market: one full-mode tick per instrument per second."""

    def __init__(self, instruments: int, rng: np.random.Generator) -> None:
        self.rng = rng
        self.tokens = (np.arange(instruments, dtype=np.int64) + 1000) << 8 | 1  # NSE segment
        self.price = rng.uniform(50, 5_000, instruments).round(1)
        self.volume = rng.integers(10_000, 1_000_000, instruments)

    def batch(self, second: int) -> np.ndarray:
        n = len(self.tokens)
        rng = self.rng
        self.price = np.maximum(1.0, self.price + rng.normal(0, 0.05, n).round(2))
        self.volume = self.volume + rng.poisson(200, n)
        ticks = empty_ticks(n)
        ticks["instrument_token"] = self.tokens
        ticks["mode"] = MODE_FULL
        ticks["tradable"] = True
        ticks["last_price"] = self.price
        ticks["last_traded_quantity"] = rng.integers(1, 500, n)
        ticks["average_traded_price"] = self.price
        ticks["volume_traded"] = self.volume
        ticks["total_buy_quantity"] = rng.integers(10_000, 500_000, n)
        ticks["total_sell_quantity"] = rng.integers(10_000, 500_000, n)
        for field in ("open", "high", "low", "close"):
            ticks[field] = self.price
        ticks["exchange_timestamp"] = SESSION_START + second
        ticks["last_trade_time"] = SESSION_START + second
        levels = np.arange(5) * 0.05
        ticks["bid_price"] = (self.price - 0.05)[:, None] - levels
        ticks["ask_price"] = (self.price + 0.05)[:, None] + levels
        ticks["bid_qty"] = rng.integers(1, 5_000, (n, 5))
        ticks["ask_qty"] = rng.integers(1, 5_000, (n, 5))
        ticks["bid_orders"] = rng.integers(1, 50, (n, 5))
        ticks["ask_orders"] = rng.integers(1, 50, (n, 5))
        return ticks


def mixed_frame(market: SyntheticMarket, rng: np.random.Generator, count: int) -> bytes:
    ticks = market.batch(0)[:count].copy()
    ticks["mode"] = rng.choice([MODE_LTP, MODE_QUOTE, MODE_FULL], count)
    index = rng.random(count) < 0.1
    ticks["instrument_token"][index] = (
        ticks["instrument_token"][index] & np.uint32(0xFFFFFF00)
    ) | 9
    return encode_kite_frame(ticks)


def bench_parser(repeats: int) -> list[tuple[str, float, float, float]]:
    rng = np.random.default_rng(SEED)
    market = SyntheticMarket(3_000, rng)
    kite = KiteTicker.__new__(KiteTicker)
    frames = {
        "full-mode frame, 3,000 packets": encode_kite_frame(market.batch(0)),
        "mixed frame, 3,000 packets (ltp/quote/full, 10% indices)": mixed_frame(market, rng, 3_000),
    }
    rows = []
    for name, payload in frames.items():
        ours = median_seconds(lambda payload=payload: parse_kite_frame(payload), repeats, 20)
        theirs = median_seconds(lambda payload=payload: kite._parse_binary(payload), repeats)
        rows.append((name, ours, theirs, theirs / ours))
    return rows


def bench_update(instruments: int, repeats: int, warm_seconds: int) -> tuple[float, float]:
    """Median and 95th-percentile seconds of one update with one tick per instrument."""
    rng = np.random.default_rng(SEED)
    market = SyntheticMarket(instruments, rng)
    settings = Settings(_env_file=None)
    engine = SignalEngine(settings, {int(t): f"S{t}" for t in market.tokens})
    for second in range(warm_seconds):
        engine.update(market.batch(second))
    batches = [market.batch(warm_seconds + second) for second in range(repeats)]
    timings = []
    for batch in batches:
        started = time.perf_counter()
        engine.update(batch)
        timings.append(time.perf_counter() - started)
    return statistics.median(timings), float(np.percentile(timings, 95))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15, help="timed runs per measurement")
    parser.add_argument("--quick", action="store_true", help="fewer runs (smoke test)")
    arguments = parser.parse_args()
    repeats = 3 if arguments.quick else arguments.repeats

    print(
        f"# {platform.processor() or platform.machine()}, Python {platform.python_version()}, "
        f"numpy {np.__version__}, seed {SEED}"
    )
    print("\n## parse_kite_frame vs kiteconnect KiteTicker._parse_binary (median)")
    print(f"{'frame':<58} {'ours':>10} {'kiteconnect':>12} {'ratio':>8}")
    for name, ours, theirs, ratio in bench_parser(repeats):
        print(f"{name:<58} {ours * 1e3:>8.3f}ms {theirs * 1e3:>10.2f}ms {ratio:>7.0f}x")

    print("\n## SignalEngine.update, one full tick per instrument (after a 5-minute warm-up)")
    print(f"{'instruments':>11} {'median':>10} {'p95':>10} {'ticks/s':>12}")
    warm = 60 if arguments.quick else 300
    for instruments in (3_000, 9_000):
        median, p95 = bench_update(instruments, max(repeats * 4, 20), warm)
        print(
            f"{instruments:>11,} {median * 1e3:>8.2f}ms {p95 * 1e3:>8.2f}ms "
            f"{instruments / median:>12,.0f}"
        )


if __name__ == "__main__":
    main()
