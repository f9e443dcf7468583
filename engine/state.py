"""Rolling per-instrument order-flow state in preallocated ring buffers.

Rows are instruments, columns are time buckets of ``bucket_seconds`` of exchange time; the
ring holds ``history_buckets`` columns and ``column_bucket[c]`` says which absolute bucket
(``exchange_timestamp // bucket_seconds``) column ``c`` currently holds. A batch of ticks is
folded in with array operations only: sorted once by (instrument, time), then reduced per
(instrument, bucket) group with ``np.*.reduceat``.

What a bucket accumulates, per instrument, from consecutive full-mode ticks ``prev -> tick``:

* ``buy_volume`` / ``sell_volume``: the increase of the cumulative ``volume_traded``, split by
  the quote rule (traded above the previous mid: buyer-initiated, below: seller-initiated, at
  the mid or without a quote: half each). Shares.
* ``flow_seconds``: the time those increments took, seconds.
* ``bid_depth_seconds`` / ``ask_depth_seconds``: the visible 5-level depth shown at ``prev``
  held until ``tick`` (sample and hold), shares x seconds.
* ``open`` / ``high`` / ``low`` / ``close``: last traded prices in the bucket.

Volume is never negative or phantom: the first tick of an instrument, the first after a new IST
day, a counter that went backwards (a restart), and a silence longer than ``max_gap_seconds``
only set the baseline. Ticks older than the instrument's last tick are ignored for flow.
"""

from __future__ import annotations

import numpy as np

from engine.ticks import MODE_FULL

IST_OFFSET_SECONDS = 19_800  # UTC+05:30
FLOW_FIELDS = (
    "buy_volume",
    "sell_volume",
    "flow_seconds",
    "bid_depth_seconds",
    "ask_depth_seconds",
)


def ist_day(epoch_seconds: np.ndarray) -> np.ndarray:
    """Days since the epoch in India Standard Time (a trading day's number)."""
    return (np.asarray(epoch_seconds, dtype=np.int64) + IST_OFFSET_SECONDS) // 86_400


def _shift_right(values: np.ndarray, fill) -> np.ndarray:
    shifted = np.empty_like(values)
    shifted[0] = fill
    shifted[1:] = values[:-1]
    return shifted


class RollingFlowState:
    """Ring buffers and the last-seen values of every instrument (see the module docstring)."""

    def __init__(
        self,
        instrument_count: int,
        bucket_seconds: int,
        history_buckets: int,
        max_gap_seconds: int,
    ) -> None:
        if instrument_count < 0 or bucket_seconds <= 0 or history_buckets < 2:
            raise ValueError("need instrument_count >= 0, bucket_seconds > 0, history >= 2")
        n, h = instrument_count, history_buckets
        self.bucket_seconds = bucket_seconds
        self.history_buckets = history_buckets
        self.max_gap_seconds = max_gap_seconds
        self.column_bucket = np.full(h, -1, dtype=np.int64)
        self.flow = {name: np.zeros((n, h)) for name in FLOW_FIELDS}
        self.prices = {name: np.full((n, h), np.nan) for name in ("open", "high", "low", "close")}
        # Last full-mode tick of each instrument: the "prev" of the next one.
        self.last_time = np.zeros(n, dtype=np.int64)
        self.last_volume = np.zeros(n, dtype=np.int64)
        self.last_bid_depth = np.zeros(n)
        self.last_ask_depth = np.zeros(n)
        self.last_mid = np.full(n, np.nan)
        # Latest quote of each instrument, any mode, for display and the factors.
        self.last_price = np.full(n, np.nan)
        self.change = np.full(n, np.nan)
        self.volume_traded = np.zeros(n, dtype=np.int64)
        self.average_traded_price = np.full(n, np.nan)
        self.total_buy_quantity = np.zeros(n, dtype=np.int64)
        self.total_sell_quantity = np.zeros(n, dtype=np.int64)
        self.bid_depth = np.zeros(n)
        self.ask_depth = np.zeros(n)
        self.tick_count = np.zeros(n, dtype=np.int64)
        self.last_tick_time = np.zeros(n, dtype=np.int64)
        self.now = 0  # engine clock: the newest exchange timestamp seen, epoch seconds
        self.revision = 0  # bumps whenever a bucket other than the newest one changes
        self.stale_ticks = 0
        self.gaps = 0

    @property
    def now_bucket(self) -> int:
        return self.now // self.bucket_seconds

    def ingest(self, rows: np.ndarray, ticks: np.ndarray) -> None:
        """Fold a batch of ticks (``rows[i]`` is the instrument row of ``ticks[i]``)."""
        if len(ticks) == 0:
            return
        self._update_quotes(rows, ticks)
        full = (ticks["mode"] == MODE_FULL) & (ticks["exchange_timestamp"] > 0)
        if not np.all(full):
            rows, ticks = rows[full], ticks[full]
        fresh = ticks["exchange_timestamp"] >= self.last_time[rows]
        if not np.all(fresh):
            self.stale_ticks += int(np.count_nonzero(~fresh))
            rows, ticks = rows[fresh], ticks[fresh]
        if len(ticks) == 0:
            return
        self._ingest_flow(rows, ticks)

    def _update_quotes(self, rows: np.ndarray, ticks: np.ndarray) -> None:
        np.add.at(self.tick_count, rows, 1)
        # Latest tick per row wins: assign in arrival order, keeping the last occurrence.
        _, last_reversed = np.unique(rows[::-1], return_index=True)
        latest = len(rows) - 1 - last_reversed
        r, t = rows[latest], ticks[latest]
        self.last_price[r] = t["last_price"]
        self.last_tick_time[r] = np.maximum(self.last_tick_time[r], t["exchange_timestamp"])
        has_close = ~np.isnan(t["close"])
        self.change[r[has_close]] = t["change"][has_close]
        book = t["mode"] != 1
        quote = book & ~np.isnan(t["average_traded_price"])
        rq, tq = r[quote], t[quote]
        self.volume_traded[rq] = tq["volume_traded"]
        self.average_traded_price[rq] = tq["average_traded_price"]
        self.total_buy_quantity[rq] = tq["total_buy_quantity"]
        self.total_sell_quantity[rq] = tq["total_sell_quantity"]
        full = quote & (t["mode"] == MODE_FULL)
        self.bid_depth[r[full]] = t["bid_qty"][full].sum(axis=1)
        self.ask_depth[r[full]] = t["ask_qty"][full].sum(axis=1)
        newest = int(ticks["exchange_timestamp"].max())
        if newest > self.now:
            self.now = newest

    def _ingest_flow(self, rows: np.ndarray, ticks: np.ndarray) -> None:
        times = ticks["exchange_timestamp"]
        if np.bincount(rows).max() > 1:
            order = np.lexsort((times, rows))
            rows, ticks, times = rows[order], ticks[order], times[order]
            first = rows != _shift_right(rows, -1)
        else:
            first = np.ones(len(rows), dtype=bool)
        volume = ticks["volume_traded"]
        bid_depth = ticks["bid_qty"].sum(axis=1).astype(np.float64)
        ask_depth = ticks["ask_qty"].sum(axis=1).astype(np.float64)
        best_bid, best_ask = ticks["bid_price"][:, 0], ticks["ask_price"][:, 0]
        quoted = (best_bid > 0) & (best_ask > 0)
        mid = np.where(quoted, (best_bid + best_ask) / 2, np.nan)
        price = ticks["last_price"]

        prev_time = np.where(first, self.last_time[rows], _shift_right(times, 0))
        prev_volume = np.where(first, self.last_volume[rows], _shift_right(volume, 0))
        prev_bid = np.where(first, self.last_bid_depth[rows], _shift_right(bid_depth, 0))
        prev_ask = np.where(first, self.last_ask_depth[rows], _shift_right(ask_depth, 0))
        prev_mid = np.where(first, self.last_mid[rows], _shift_right(mid, np.nan))

        elapsed = times - prev_time
        gap = elapsed > self.max_gap_seconds
        linked = (prev_time > 0) & ~gap & (ist_day(times) == ist_day(prev_time))
        self.gaps += int(np.count_nonzero(gap & (prev_time > 0)))
        increment = np.where(linked & (volume >= prev_volume), volume - prev_volume, 0)
        increment = increment.astype(np.float64)
        seconds = np.where(linked, elapsed, 0).astype(np.float64)
        buy_share = np.where(price > prev_mid, 1.0, np.where(price < prev_mid, 0.0, 0.5))
        buy_volume = increment * buy_share

        # Carry the newest full tick of each instrument forward (sorted: last of each run).
        last = np.append(rows[1:] != rows[:-1], True)
        carried = rows[last]
        self.last_time[carried] = times[last]
        self.last_volume[carried] = volume[last]
        self.last_bid_depth[carried] = bid_depth[last]
        self.last_ask_depth[carried] = ask_depth[last]
        self.last_mid[carried] = mid[last]

        bucket = times // self.bucket_seconds
        in_ring = bucket > self.now_bucket - self.history_buckets
        if not np.all(in_ring):
            self.stale_ticks += int(np.count_nonzero(~in_ring))
            rows, bucket, price = rows[in_ring], bucket[in_ring], price[in_ring]
            buy_volume, increment, seconds = (
                buy_volume[in_ring],
                increment[in_ring],
                seconds[in_ring],
            )
            prev_bid, prev_ask = prev_bid[in_ring], prev_ask[in_ring]
            if len(rows) == 0:
                return
        self._claim_columns(bucket)
        values = {
            "buy_volume": buy_volume,
            "sell_volume": increment - buy_volume,
            "flow_seconds": seconds,
            "bid_depth_seconds": prev_bid * seconds,
            "ask_depth_seconds": prev_ask * seconds,
        }
        column = bucket % self.history_buckets
        new_group = (rows != _shift_right(rows, -1)) | (bucket != _shift_right(bucket, -1))
        starts = np.flatnonzero(new_group)
        ends = np.append(starts[1:], len(rows)) - 1
        group_rows, group_columns = rows[starts], column[starts]
        for name, value in values.items():
            self.flow[name][group_rows, group_columns] += np.add.reduceat(value, starts)
        opens = self.prices["open"]
        opened = opens[group_rows, group_columns]
        opens[group_rows, group_columns] = np.where(np.isnan(opened), price[starts], opened)
        self.prices["close"][group_rows, group_columns] = price[ends]
        highs, lows = self.prices["high"], self.prices["low"]
        highs[group_rows, group_columns] = np.fmax(
            highs[group_rows, group_columns], np.maximum.reduceat(price, starts)
        )
        lows[group_rows, group_columns] = np.fmin(
            lows[group_rows, group_columns], np.minimum.reduceat(price, starts)
        )
        if np.any(bucket != self.now_bucket):
            self.revision += 1

    def _claim_columns(self, bucket: np.ndarray) -> None:
        """Point the columns of the batch's buckets at them, clearing what they held."""
        wanted = np.unique(bucket)
        columns = wanted % self.history_buckets
        reused = self.column_bucket[columns] != wanted
        if not np.any(reused):
            return
        columns = columns[reused]
        for array in self.flow.values():
            array[:, columns] = 0.0
        for array in self.prices.values():
            array[:, columns] = np.nan
        self.column_bucket[columns] = wanted[reused]
        self.revision += 1

    def columns_between(self, first_bucket: int, last_bucket: int) -> np.ndarray:
        """Ring columns holding buckets ``first_bucket..last_bucket``, oldest first."""
        held = self.column_bucket
        columns = np.flatnonzero((held >= first_bucket) & (held <= last_bucket))
        return columns[np.argsort(held[columns])]
