"""A bounded time series of each instrument's headline metrics, for the charts.

The engine samples last price, institutional ratio, order imbalance and the day's cumulative
volume delta (``cvd``) for every instrument once per ``sample_seconds`` of exchange time into
fixed ring buffers (float32), so a trading day never grows memory: ``capacity x instruments
x 4 x 4`` bytes in all. ``revision`` counts the samples taken: a chart of an unchanged
revision need not be drawn again.

One writer (the thread calling ``SignalEngine.update``) and any number of readers: a reader
never returns the slot the writer fills next, so it sees complete samples only.
"""

from __future__ import annotations

import numpy as np

SERIES = ("last_price", "institutional_ratio", "order_imbalance", "cvd")


class MetricHistory:
    """Ring buffers of ``SERIES`` sampled every ``sample_seconds`` of exchange time."""

    def __init__(self, instruments: int, capacity: int, sample_seconds: int) -> None:
        if capacity < 2:
            raise ValueError(f"history capacity must be at least 2 samples, not {capacity}")
        self.sample_seconds = max(int(sample_seconds), 1)
        self.capacity = int(capacity)
        self._times = np.zeros(self.capacity, dtype=np.int64)
        self._values = {
            name: np.full((self.capacity, instruments), np.nan, np.float32) for name in SERIES
        }
        self._count = 0
        self._last_slot_time = -1

    def record(self, now: int, metrics: dict) -> bool:
        """Store one sample if ``now`` entered a new sampling slot; True when it did."""
        slot_time = int(now) - int(now) % self.sample_seconds
        if now <= 0 or slot_time <= self._last_slot_time:
            return False
        slot = self._count % self.capacity
        self._times[slot] = int(now)
        for name, buffer in self._values.items():
            buffer[slot] = metrics[name]
        self._last_slot_time = slot_time
        self._count += 1
        return True

    def take_rows(self, previous: MetricHistory, rows, from_rows) -> None:
        """Continue ``previous``'s samples, instrument ``from_rows`` becoming ``rows``."""
        if previous.capacity != self.capacity:
            raise ValueError("can only continue a history of the same capacity")
        self._times = previous._times.copy()
        for name, buffer in self._values.items():
            buffer[:, rows] = previous._values[name][:, from_rows]
        self._count, self._last_slot_time = previous._count, previous._last_slot_time

    @property
    def revision(self) -> int:
        return self._count

    def __len__(self) -> int:
        return min(self._count, self.capacity - 1)

    def _slots(self) -> np.ndarray:
        count = self._count
        kept = min(count, self.capacity - 1)  # never the slot being written next
        return np.arange(count - kept, count) % self.capacity

    def series(self, row: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Exchange times (epoch seconds) and each series of instrument ``row``, oldest first."""
        slots = self._slots()
        values = {
            name: buffer[slots, row].astype(np.float64) for name, buffer in self._values.items()
        }
        return self._times[slots], values

    def matrix(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """Exchange times and one series for every instrument: shape (samples, instruments)."""
        slots = self._slots()
        return self._times[slots], self._values[name][slots].astype(np.float64)
