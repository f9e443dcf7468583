"""Each instrument's own normal for a metric: a robust z-score against its history.

A stock whose book is always thin trades several books a minute all day: its institutional
ratio is always "high". What is unusual is a ratio high *for that instrument*. Per
instrument, the tracker keeps a running median ``m`` and a running mean absolute deviation
``d`` of ``log1p(value)``, each moved once per completed bucket (rows are instruments):

* ``m += step x sign(x - m)`` (a stochastic median: one outlier moves it one step, never far);
* ``d += rate x (|x - m| - d)``;

and scores ``z = (log1p(value) - m) / (1.4826 x d)`` (1.4826 x MAD estimates a normal
spread). Until an instrument has ``min_samples`` buckets its z is NaN (unknown).
"""

from __future__ import annotations

import numpy as np


class RobustBaseline:
    """Running robust location and spread of ``log1p(value)`` per instrument."""

    def __init__(
        self, instruments: int, rate: float = 0.02, step: float = 0.02, min_samples: int = 24
    ) -> None:
        if not (0 < rate <= 1 and step > 0 and min_samples >= 1):
            raise ValueError("need 0 < rate <= 1, step > 0 and min_samples >= 1")
        self.rate, self.step, self.min_samples = rate, step, min_samples
        self.median = np.zeros(instruments)
        self.deviation = np.zeros(instruments)
        self.samples = np.zeros(instruments, dtype=np.int64)

    def add(self, values: np.ndarray, weight: np.ndarray | float = 1.0) -> None:
        """Fold one bucket's value per instrument in (NaN: that instrument has none).

        ``weight`` (0-1 per instrument) slows learning: the engine gives a bucket it finds
        unusual a tenth of the weight, so an iceberg lasting minutes does not become the
        instrument's normal while it is being watched (a lasting change still does, slowly).
        """
        x = np.log1p(np.maximum(np.asarray(values, dtype=np.float64), 0.0))
        weight = np.broadcast_to(np.asarray(weight, dtype=np.float64), x.shape)
        seen = ~np.isnan(x)
        first = seen & (self.samples == 0)
        self.median[first] = x[first]
        later = seen & ~first
        w = weight[later]
        self.median[later] += w * self.step * np.sign(x[later] - self.median[later])
        deviation = np.abs(x[later] - self.median[later])
        self.deviation[later] += w * self.rate * (deviation - self.deviation[later])
        self.samples += seen

    def z(self, values: np.ndarray) -> np.ndarray:
        """How unusual ``values`` are for each instrument (NaN until it has a history)."""
        x = np.log1p(np.maximum(np.asarray(values, dtype=np.float64), 0.0))
        spread = 1.4826 * np.maximum(self.deviation, 0.05)  # never divide by a flat history
        z = (x - self.median) / spread
        return np.where(self.samples >= self.min_samples, z, np.nan)

    def take_rows(self, previous: RobustBaseline, rows: np.ndarray, from_rows: np.ndarray):
        for name in ("median", "deviation", "samples"):
            getattr(self, name)[rows] = getattr(previous, name)[from_rows]
