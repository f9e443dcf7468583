"""One-minute bars of every instrument, for risk on the horizon a trade is held.

Rows are instruments, columns minutes (a ring of ``capacity`` minutes). Bars are folded from
the rolling state's completed time buckets (their high, low and close of last traded prices,
continuous session only), so a bar holds every print, however the ticks were batched. The
day's high and low (IST day) are kept beside them.

From the bars, for the rows a caller asks about:

* :func:`horizon_atr`: the mean true range of ``bar_minutes``-minute bars (built from the
  one-minute ones, ending at the last completed minute) over ``lookback_minutes``: the
  volatility of the holding horizon, which the bid-ask bounce of a few seconds barely moves;
* :func:`typical_minute_range`: the median high-low range of one minute, the floor no stop
  should sit inside.
"""

from __future__ import annotations

import warnings

import numpy as np

from engine.sessions import ist_day


class MinuteBars:
    """High, low and close a minute per instrument over the last ``capacity`` (>= 2)
    minutes, and the day's high and low."""

    def __init__(self, instruments: int, capacity: int = 120) -> None:
        if capacity < 2:
            raise ValueError(f"minute bars need a capacity of at least 2, not {capacity}")
        self.capacity = int(capacity)
        shape = (instruments, self.capacity)
        self.high = np.full(shape, np.nan)
        self.low = np.full(shape, np.nan)
        self.close = np.full(shape, np.nan)
        self.column_minute = np.full(self.capacity, -1, dtype=np.int64)
        self.day_high = np.full(instruments, np.nan)
        self.day_low = np.full(instruments, np.nan)
        self._day = -1
        self._folded = -1  # buckets below this are folded in

    def take_rows(self, previous: MinuteBars, rows, from_rows) -> None:
        """Continue ``previous``'s bars, instrument ``from_rows`` becoming ``rows``."""
        if previous.capacity != self.capacity:
            raise ValueError("can only continue minute bars of the same capacity")
        for name in ("high", "low", "close", "day_high", "day_low"):
            getattr(self, name)[rows] = getattr(previous, name)[from_rows]
        self.column_minute = previous.column_minute.copy()
        self._day, self._folded = previous._day, previous._folded

    def fold(self, state) -> None:
        """Fold in the buckets ``state`` (``engine.state.RollingFlowState``) has completed
        since the last call."""
        done = state.ranged_through  # buckets below it are complete
        start = max(self._folded, done - state.history_buckets)
        for bucket in range(start, done):
            column = bucket % state.history_buckets
            if state.column_bucket[column] != bucket:
                continue
            high = state.prices["high"][:, column]
            if np.all(np.isnan(high)):
                continue
            at = bucket * state.bucket_seconds
            day = int(ist_day(at))
            if day != self._day:
                self._day = day
                self.day_high[:] = np.nan
                self.day_low[:] = np.nan
            minute = at // 60
            slot = minute % self.capacity
            if self.column_minute[slot] != minute:
                self.column_minute[slot] = minute
                self.high[:, slot] = self.low[:, slot] = self.close[:, slot] = np.nan
            low, close = state.prices["low"][:, column], state.prices["close"][:, column]
            self.high[:, slot] = np.fmax(self.high[:, slot], high)
            self.low[:, slot] = np.fmin(self.low[:, slot], low)
            self.close[:, slot] = np.where(np.isnan(close), self.close[:, slot], close)
            self.day_high = np.fmax(self.day_high, high)
            self.day_low = np.fmin(self.day_low, low)
        self._folded = max(self._folded, done)

    def window(self, rows, end_minute: int, minutes: int):
        """High, low, close of ``rows`` for the ``minutes`` minutes before ``end_minute``
        (exclusive), oldest first; NaN where a minute is not held."""
        wanted = np.arange(end_minute - minutes, end_minute)
        slots = wanted % self.capacity
        held = self.column_minute[slots] == wanted
        rows = np.asarray(rows)
        out = []
        for array in (self.high, self.low, self.close):
            values = array[np.ix_(rows, slots)]
            values[:, ~held] = np.nan
            out.append(values)
        return out


def horizon_atr(high, low, close, bar_minutes: int) -> np.ndarray:
    """Mean true range of ``bar_minutes``-minute bars made from one-minute ``high``, ``low``,
    ``close`` (rows x minutes, oldest first; the last group ends at the last column). NaN
    where no bar traded."""
    k = max(int(bar_minutes), 1)
    n, minutes = high.shape
    groups = minutes // k
    if groups == 0:
        return np.full(n, np.nan)
    cut = minutes - groups * k  # drop the oldest minutes that do not fill a bar
    shape = (n, groups, k)
    with warnings.catch_warnings():  # an all-NaN bar (nothing traded) is normal
        warnings.simplefilter("ignore", RuntimeWarning)
        bar_high = np.nanmax(high[:, cut:].reshape(shape), axis=2)
        bar_low = np.nanmin(low[:, cut:].reshape(shape), axis=2)
    closes = close[:, cut:].reshape(shape)
    # A bar's close is its last minute's close that traded.
    last = k - 1 - np.argmax(~np.isnan(closes[:, :, ::-1]), axis=2)
    bar_close = np.take_along_axis(closes, last[:, :, None], axis=2)[:, :, 0]
    previous = np.concatenate([np.full((n, 1), np.nan), bar_close[:, :-1]], axis=1)
    true_range = np.fmax(
        bar_high - bar_low,
        np.fmax(np.abs(bar_high - previous), np.abs(bar_low - previous)),
    )
    traded = ~np.isnan(true_range)
    count = traded.sum(axis=1)
    return np.divide(np.nansum(true_range, axis=1), count, out=np.full(n, np.nan), where=count > 0)


def typical_minute_range(high, low) -> np.ndarray:
    """Median one-minute high-low range per row (NaN where no minute traded)."""
    ranges = high - low
    out = np.full(len(ranges), np.nan)
    traded = ~np.all(np.isnan(ranges), axis=1)
    out[traded] = np.nanmedian(ranges[traded], axis=1) if traded.any() else np.nan
    return out
