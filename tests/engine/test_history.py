"""The charts' bounded metric history."""

from __future__ import annotations

import numpy as np
import pytest

from engine.history import MetricHistory


def metrics(value: float, instruments: int = 3) -> dict:
    return {
        "last_price": np.full(instruments, value),
        "institutional_ratio": np.full(instruments, value / 10),
        "order_imbalance": np.arange(instruments, dtype=float),
        "cvd": np.full(instruments, -value),
    }


def test_one_sample_per_slot_and_oldest_first():
    history = MetricHistory(3, capacity=10, sample_seconds=5)
    assert history.record(100, metrics(1.0))
    assert not history.record(102, metrics(2.0))  # same 5-s slot
    assert history.record(105, metrics(3.0))
    times, series = history.series(2)
    assert times.tolist() == [100, 105]
    assert series["last_price"].tolist() == [1.0, 3.0]
    assert series["order_imbalance"].tolist() == [2.0, 2.0]
    assert series["cvd"].tolist() == [-1.0, -3.0]
    assert history.revision == 2


def test_the_ring_keeps_memory_fixed_and_drops_the_oldest():
    history = MetricHistory(2, capacity=4, sample_seconds=1)
    for second in range(1, 50):
        history.record(second, metrics(float(second), 2))
    times, prices = history.matrix("last_price")
    assert times.tolist() == [47, 48, 49]  # capacity - 1: never the slot written next
    assert prices[:, 0].tolist() == [47.0, 48.0, 49.0]
    assert len(history) == 3


def test_engine_history_frame_uses_exchange_time_in_ist(settings):
    from engine import SignalEngine
    from engine.synthetic import interleave, steady_flow

    engine = SignalEngine(settings, {101: "AAA", 202: "BBB"})
    start = 1_700_000_000
    ticks = interleave(steady_flow(101, start, 30), steady_flow(202, start, 30, price=50.0))
    for second in np.unique(ticks["exchange_timestamp"]):
        engine.update(ticks[ticks["exchange_timestamp"] == second])
    frame = engine.history_frame("AAA")
    assert len(frame) >= 5
    assert str(frame.index.tz) == "Asia/Kolkata"
    assert frame["last_price"].notna().all()
    assert frame.index[0].utcoffset().total_seconds() == 5.5 * 3600
    assert frame.index[0].timestamp() == start
    matrix = engine.history_matrix("institutional_ratio")
    assert list(matrix.columns) == ["AAA", "BBB"]


def test_capacity_below_two_is_refused():
    with pytest.raises(ValueError, match="at least 2"):
        MetricHistory(1, capacity=1, sample_seconds=5)
