"""Rolling per-instrument order-flow state in preallocated ring buffers.

Rows are instruments, columns are time buckets of ``bucket_seconds`` of exchange time; the
ring holds ``history_buckets`` columns and ``column_bucket[c]`` says which absolute bucket
(``exchange_timestamp // bucket_seconds``) column ``c`` currently holds. A batch of ticks is
folded in with array operations only: sorted once by (instrument, time), then reduced per
(instrument, bucket) group with ``np.*.reduceat``.

What a bucket accumulates, per instrument, from consecutive full-mode ticks ``prev -> tick``:

* ``buy_volume`` / ``sell_volume``: the increase of the cumulative ``volume_traded``, split by
  the quote before it: above the previous mid buyer-initiated, below seller-initiated, at the
  mid half each. With only a bid quoted (nobody offering: a stock locked at its upper
  circuit) the volume hit that bid; with only an ask it lifted that ask; with no quote at all
  it is attributed to neither side. Shares.
* ``flow_seconds``: the time those increments took, seconds.
* ``bid_depth_seconds`` / ``ask_depth_seconds``: the visible 5-level depth shown at ``prev``
  held until ``tick`` (sample and hold), shares x seconds.
* ``bid_quoted_seconds`` / ``ask_quoted_seconds``: the part of ``flow_seconds`` during which
  that side showed a quote, seconds (a side seen only for a moment is not a side to measure
  absorption against).
* ``open`` / ``high`` / ``low`` / ``close``: last traded prices in the bucket.

Volume is never negative, phantom or counted twice: the first tick of an instrument, the first
after a new IST day and a silence longer than ``max_gap_seconds`` only set the baseline, and
the baseline is the day's highest cumulative volume, so a packet reporting less (out of order
or corrupt) adds nothing and the next one is not counted twice. Ticks older than the
instrument's last tick are ignored for flow and never overwrite its quote. Only ticks of the
continuous session feed the flow (see :mod:`engine.sessions`).
"""

from __future__ import annotations

import numpy as np

from engine.factors import true_range
from engine.sessions import in_continuous_session, ist_day
from engine.ticks import MODE_FULL

FLOW_FIELDS = (
    "buy_volume",
    "sell_volume",
    "flow_seconds",
    "bid_depth_seconds",
    "ask_depth_seconds",
    "bid_quoted_seconds",
    "ask_quoted_seconds",
)


def _buy_share(price: np.ndarray, best_bid: np.ndarray, best_ask: np.ndarray) -> np.ndarray:
    """Share of a volume increment the buyer initiated, by the quote before it.

    Two-sided quote: above the mid 1, below 0, at the mid 0.5. Only a bid (nobody offering,
    e.g. a stock locked at its upper circuit): the trades hit that bid, 0. Only an ask: 1.
    No quote at all: NaN, the volume is attributed to neither side.
    """
    has_bid, has_ask = best_bid > 0, best_ask > 0
    mid = (best_bid + best_ask) / 2
    two_sided = np.where(price > mid, 1.0, np.where(price < mid, 0.0, 0.5))
    return np.where(
        has_bid & has_ask, two_sided, np.where(has_bid, 0.0, np.where(has_ask, 1.0, np.nan))
    )


def _side_depth(quantities: np.ndarray) -> np.ndarray:
    """Shares shown over a side's levels, per tick: the columns added one by one (a strided
    field of the tick records sums several times faster so than along its rows)."""
    depth = quantities[:, 0].astype(np.float64)
    for level in range(1, quantities.shape[1]):
        depth += quantities[:, level]
    return depth


def _grouped_running_max(values: np.ndarray, rows: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Running maximum of ``values`` within each run of equal (row, day), rows sorted."""
    group = np.cumsum(np.append(True, (rows[1:] != rows[:-1]) | (day[1:] != day[:-1])))
    # Lift each group above every earlier one so one running maximum serves all groups.
    offset = (group - 1).astype(np.int64) * (int(values.max()) - int(values.min()) + 1)
    lifted = values - values.min() + offset
    return np.maximum.accumulate(lifted) - offset + values.min()


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
        # Rings are (instruments, columns) stored column by column (Fortran order): a batch
        # writes one column and the windows read whole columns, each then contiguous.
        self.flow = {name: np.zeros((n, h), order="F") for name in FLOW_FIELDS}
        self.prices = {
            name: np.full((n, h), np.nan, order="F") for name in ("open", "high", "low", "close")
        }
        # Sums over every column the ring holds, kept as values are added and columns
        # released, so a baseline over the whole history costs O(instruments), not O(ring).
        self.totals = {name: np.zeros(n) for name in FLOW_FIELDS}
        # True range of each completed bucket, and its running sum and count per instrument.
        self.true_range = np.full((n, h), np.nan, order="F")
        self.range_sum = np.zeros(n)
        self.range_count = np.zeros(n)
        self.ranged_through = 0  # buckets before this one have their true range
        # Last full-mode tick of each instrument: the "prev" of the next one.
        self.last_time = np.zeros(n, dtype=np.int64)
        self.last_volume = np.zeros(n, dtype=np.int64)
        self.last_bid_depth = np.zeros(n)
        self.last_ask_depth = np.zeros(n)
        self.last_best_bid = np.full(n, np.nan)  # NaN: that side showed no quote
        self.last_best_ask = np.full(n, np.nan)
        # Latest quote of each instrument, any mode, for display and the factors.
        self.last_price = np.full(n, np.nan)
        self.change = np.full(n, np.nan)
        self.volume_traded = np.zeros(n, dtype=np.int64)
        self.average_traded_price = np.full(n, np.nan)
        self.total_buy_quantity = np.zeros(n, dtype=np.int64)
        self.total_sell_quantity = np.zeros(n, dtype=np.int64)
        self.bid_depth = np.zeros(n)
        self.ask_depth = np.zeros(n)
        self.best_bid = np.full(n, np.nan)  # of the latest full tick, NaN when not quoted
        self.best_ask = np.full(n, np.nan)
        self.tick_count = np.zeros(n, dtype=np.int64)
        self.last_tick_time = np.zeros(n, dtype=np.int64)
        self.now = 0  # engine clock: the newest exchange timestamp seen, epoch seconds
        self.revision = 0  # bumps whenever a bucket other than the newest one changes
        # Cumulative volume delta of the IST day: buyer- minus seller-initiated volume, shares.
        self.session_delta = np.zeros(n)
        self.delta_day = np.zeros(n, dtype=np.int64)
        self.stale_ticks = 0
        self.gaps = 0

    # What belongs to the ring as a whole rather than to one instrument's row.
    SHARED = frozenset(
        {
            "column_bucket",
            "ranged_through",
            "now",
            "revision",
            "stale_ticks",
            "gaps",
            "bucket_seconds",
            "history_buckets",
            "max_gap_seconds",
        }
    )

    def take_rows(self, previous: RollingFlowState, rows: np.ndarray, from_rows: np.ndarray):
        """Continue ``previous``: its clock and ring position, and for ``rows`` the history
        of its ``from_rows`` (a watchlist change on a live feed keeps what was learned)."""
        if (previous.bucket_seconds, previous.history_buckets) != (
            self.bucket_seconds,
            self.history_buckets,
        ):
            raise ValueError("can only continue a state with the same buckets")
        for name, value in vars(previous).items():
            if name in self.SHARED:
                setattr(self, name, value.copy() if isinstance(value, np.ndarray) else value)
            elif isinstance(value, dict):
                for key, array in value.items():
                    getattr(self, name)[key][rows] = array[from_rows]
            elif isinstance(value, np.ndarray):
                getattr(self, name)[rows] = value[from_rows]

    @property
    def now_bucket(self) -> int:
        return self.now // self.bucket_seconds

    def ingest(self, rows: np.ndarray, ticks: np.ndarray, continuous_only: bool = True) -> None:
        """Fold a batch of ticks (``rows[i]`` is the instrument row of ``ticks[i]``).

        With ``continuous_only`` only ticks of the continuous session (09:15-15:30 IST) feed
        the flow windows; the others still update the quote (see :mod:`engine.sessions`).
        """
        if len(ticks) == 0:
            return
        per_row = np.bincount(rows, minlength=len(self.tick_count))
        self.tick_count += per_row
        unique = bool(per_row.max() <= 1)
        if not unique:
            # Sort by (instrument, exchange time), arrival order kept among equal times, so
            # the last tick of each instrument's run is its newest.
            order = np.lexsort((ticks["exchange_timestamp"], rows))
            rows, ticks = rows[order], ticks[order]
        columns = {
            name: ticks[name]
            for name in (
                "mode",
                "exchange_timestamp",
                "last_price",
                "close",
                "change",
                "average_traded_price",
                "volume_traded",
                "total_buy_quantity",
                "total_sell_quantity",
            )
        }
        columns["bid_depth"] = _side_depth(ticks["bid_qty"])
        columns["ask_depth"] = _side_depth(ticks["ask_qty"])
        # A side is quoted when its best level shows a price and a quantity (0 = empty level).
        columns["best_bid"] = np.where(
            (ticks["bid_price"][:, 0] > 0) & (ticks["bid_qty"][:, 0] > 0),
            ticks["bid_price"][:, 0],
            np.nan,
        )
        columns["best_ask"] = np.where(
            (ticks["ask_price"][:, 0] > 0) & (ticks["ask_qty"][:, 0] > 0),
            ticks["ask_price"][:, 0],
            np.nan,
        )
        self._update_quotes(rows, columns, unique)
        times = columns["exchange_timestamp"]
        full = (columns["mode"] == MODE_FULL) & (times > 0)
        fresh = full & (times >= self.last_time[rows])
        self.stale_ticks += int(np.count_nonzero(full & ~fresh))
        if continuous_only:
            fresh &= in_continuous_session(times)
        if not np.all(fresh):
            rows = rows[fresh]
            columns = {name: value[fresh] for name, value in columns.items()}
            unique = unique or bool(np.all(rows[1:] != rows[:-1]))
        if len(rows):
            self._ingest_flow(rows, columns, unique)

    def _update_quotes(self, rows: np.ndarray, columns: dict, unique: bool) -> None:
        """Latest quote of each instrument: the newest tick of its (sorted) run wins, and only
        when it is not older than the quote already held (an old packet never overwrites)."""
        if unique:
            r, latest = rows, slice(None)
        else:
            latest = np.append(rows[1:] != rows[:-1], True)
            r = rows[latest]
        t = {name: value[latest] for name, value in columns.items()}
        times = t["exchange_timestamp"]
        # Packets without a timestamp (LTP and quote modes) cannot be ordered: they apply.
        current = (times == 0) | (times >= self.last_tick_time[r])
        if not np.all(current):
            r = r[current]
            t = {name: value[current] for name, value in t.items()}
            times = times[current]
        self.last_price[r] = t["last_price"]
        self.last_tick_time[r] = np.maximum(self.last_tick_time[r], times)
        has_close = ~np.isnan(t["close"])
        self.change[r[has_close]] = t["change"][has_close]
        quote = ~np.isnan(t["average_traded_price"])
        rq = r[quote]
        self.volume_traded[rq] = t["volume_traded"][quote]
        self.average_traded_price[rq] = t["average_traded_price"][quote]
        self.total_buy_quantity[rq] = t["total_buy_quantity"][quote]
        self.total_sell_quantity[rq] = t["total_sell_quantity"][quote]
        full = quote & (t["mode"] == MODE_FULL)
        self.bid_depth[r[full]] = t["bid_depth"][full]
        self.ask_depth[r[full]] = t["ask_depth"][full]
        self.best_bid[r[full]] = t["best_bid"][full]
        self.best_ask[r[full]] = t["best_ask"][full]
        if len(times):
            newest = int(times.max())
            if newest > self.now:
                self.now = newest

    def _ingest_flow(self, rows: np.ndarray, columns: dict, unique: bool) -> None:
        times, volume, price = (
            columns["exchange_timestamp"],
            columns["volume_traded"].astype(np.int64),
            columns["last_price"],
        )
        bid_depth, ask_depth = columns["bid_depth"], columns["ask_depth"]
        best_bid, best_ask = columns["best_bid"], columns["best_ask"]
        day = ist_day(times)
        if unique:
            first = np.ones(len(rows), dtype=bool)
            last = slice(None)
        else:
            first = rows != _shift_right(rows, -1)
            last = np.append(rows[1:] != rows[:-1], True)
        held_time = self.last_time[rows]
        same_day_as_held = (held_time > 0) & (ist_day(held_time) == day)
        # The day's highest cumulative volume is the baseline: a packet that reports less
        # (out of order, or corrupt) neither adds volume nor lowers the baseline, so the next
        # packet is not counted twice.
        held_volume = np.maximum(volume, self.last_volume[rows])
        volume = np.where(first & same_day_as_held, held_volume, volume)
        if not unique:
            volume = _grouped_running_max(volume, rows, day)
        if unique:
            prev_time, prev_volume = held_time, self.last_volume[rows]
            prev_bid, prev_ask = self.last_bid_depth[rows], self.last_ask_depth[rows]
            prev_best_bid, prev_best_ask = self.last_best_bid[rows], self.last_best_ask[rows]
        else:
            prev_time = np.where(first, held_time, _shift_right(times, 0))
            prev_volume = np.where(first, self.last_volume[rows], _shift_right(volume, 0))
            prev_bid = np.where(first, self.last_bid_depth[rows], _shift_right(bid_depth, 0))
            prev_ask = np.where(first, self.last_ask_depth[rows], _shift_right(ask_depth, 0))
            prev_best_bid = np.where(
                first, self.last_best_bid[rows], _shift_right(best_bid, np.nan)
            )
            prev_best_ask = np.where(
                first, self.last_best_ask[rows], _shift_right(best_ask, np.nan)
            )

        elapsed = times - prev_time
        known = prev_time > 0
        gap = known & (elapsed > self.max_gap_seconds)
        linked = known & ~gap & (day == ist_day(prev_time))
        self.gaps += int(np.count_nonzero(gap))
        increment = np.where(linked, np.maximum(volume - prev_volume, 0), 0).astype(np.float64)
        seconds = np.where(linked, elapsed, 0).astype(np.float64)
        buy_share = _buy_share(price, prev_best_bid, prev_best_ask)
        attributed = ~np.isnan(buy_share)
        buy_volume = np.where(attributed, increment * np.nan_to_num(buy_share), 0.0)
        sell_volume = np.where(attributed, increment - buy_volume, 0.0)
        self._add_delta(rows, day, buy_volume - sell_volume, unique)

        # Carry the newest full tick of each instrument forward (sorted: last of each run).
        carried = rows[last]
        self.last_time[carried] = times[last]
        self.last_volume[carried] = volume[last]
        self.last_bid_depth[carried] = bid_depth[last]
        self.last_ask_depth[carried] = ask_depth[last]
        self.last_best_bid[carried] = best_bid[last]
        self.last_best_ask[carried] = best_ask[last]

        bucket = times // self.bucket_seconds
        in_ring = bucket > self.now_bucket - self.history_buckets
        if not np.all(in_ring):
            self.stale_ticks += int(np.count_nonzero(~in_ring))
            rows, bucket, price = rows[in_ring], bucket[in_ring], price[in_ring]
            buy_volume, sell_volume, seconds = (
                buy_volume[in_ring],
                sell_volume[in_ring],
                seconds[in_ring],
            )
            prev_bid, prev_ask = prev_bid[in_ring], prev_ask[in_ring]
            prev_best_bid, prev_best_ask = prev_best_bid[in_ring], prev_best_ask[in_ring]
            if len(rows) == 0:
                return
        self._claim_columns(bucket)
        values = {
            "buy_volume": buy_volume,
            "sell_volume": sell_volume,
            "flow_seconds": seconds,
            "bid_depth_seconds": prev_bid * seconds,
            "ask_depth_seconds": prev_ask * seconds,
            "bid_quoted_seconds": np.where(prev_best_bid > 0, seconds, 0.0),
            "ask_quoted_seconds": np.where(prev_best_ask > 0, seconds, 0.0),
        }
        column = bucket % self.history_buckets
        if unique:  # one tick per instrument: every tick is its own (instrument, bucket) group
            starts = ends = slice(None)
            total, highest, lowest = (lambda value: value), price, price
        else:
            new_group = (rows != _shift_right(rows, -1)) | (bucket != _shift_right(bucket, -1))
            starts = np.flatnonzero(new_group)
            ends = np.append(starts[1:], len(rows)) - 1

            def total(value: np.ndarray) -> np.ndarray:
                return np.add.reduceat(value, starts)

            highest = np.maximum.reduceat(price, starts)
            lowest = np.minimum.reduceat(price, starts)
        # The (instrument, column) cell of each group: each group is one cell.
        cell_rows = rows[starts]
        cell = (cell_rows, column[starts])
        for name, value in values.items():
            added = total(value)
            self.flow[name][cell] += added
            if unique:
                self.totals[name][cell_rows] += added
            else:
                np.add.at(self.totals[name], cell_rows, added)
        opens, closes = self.prices["open"], self.prices["close"]
        highs, lows = self.prices["high"], self.prices["low"]
        opened = opens[cell]
        opens[cell] = np.where(np.isnan(opened), price[starts], opened)
        closes[cell] = price[ends]
        highs[cell] = np.fmax(highs[cell], highest)
        lows[cell] = np.fmin(lows[cell], lowest)
        if np.any(bucket != self.now_bucket):
            self.revision += 1

    def _add_delta(self, rows, day, delta, unique: bool) -> None:
        """Fold ticks' signed volume into each instrument's day delta (a new IST day starts
        it again at 0; ticks of an older day than the one held are left out)."""
        if unique:
            newer = day > self.delta_day[rows]
            self.session_delta[rows[newer]] = 0.0
            self.delta_day[rows[newer]] = day[newer]
            self.session_delta[rows] += np.where(day == self.delta_day[rows], delta, 0.0)
            return
        newest = self.delta_day.copy()
        np.maximum.at(newest, rows, day)
        restart = newest > self.delta_day
        self.session_delta[restart] = 0.0
        self.delta_day = newest
        np.add.at(self.session_delta, rows, np.where(day == newest[rows], delta, 0.0))

    def _claim_columns(self, bucket: np.ndarray) -> None:
        """Point the columns of the batch's buckets at them, releasing what they held."""
        # Nearly every batch is one bucket's: no sort needed for it.
        low, high = bucket.min(), bucket.max()
        wanted = np.array([low]) if low == high else np.unique(bucket)
        columns = wanted % self.history_buckets
        reused = self.column_bucket[columns] != wanted
        if np.any(reused):
            self._release(columns[reused])
            self.column_bucket[columns[reused]] = wanted[reused]

    def _release(self, columns: np.ndarray) -> None:
        """Empty ``columns``, taking what they held out of the running totals."""
        for name, array in self.flow.items():
            self.totals[name] -= array[:, columns].sum(axis=1)
            array[:, columns] = 0.0
        for array in self.prices.values():
            array[:, columns] = np.nan
        ranges = self.true_range[:, columns]
        self.range_sum -= np.nansum(ranges, axis=1)
        self.range_count -= np.count_nonzero(~np.isnan(ranges), axis=1)
        self.true_range[:, columns] = np.nan
        self.column_bucket[columns] = -1
        self.revision += 1

    def complete_buckets(self) -> None:
        """Fix the true range of buckets that ended, and drop buckets older than the ring.

        A bucket's true range is taken when the clock moves past it; a tick that arrives for
        it later still counts in the flow, not in the range.
        """
        now_bucket, h = self.now_bucket, self.history_buckets
        held = self.column_bucket
        stale = np.flatnonzero((held >= 0) & (held <= now_bucket - h))
        if stale.size:
            self._release(stale)
        for bucket in range(max(self.ranged_through, now_bucket - h + 1), now_bucket):
            column = bucket % h
            if held[column] != bucket:
                continue
            previous = (bucket - 1) % h
            previous_close = (
                self.prices["close"][:, previous]
                if held[previous] == bucket - 1
                else np.full(len(self.range_sum), np.nan)
            )
            ranges = true_range(
                self.prices["high"][:, column], self.prices["low"][:, column], previous_close
            )
            self.true_range[:, column] = ranges
            traded = ~np.isnan(ranges)
            self.range_sum[traded] += ranges[traded]
            self.range_count += traded
        self.ranged_through = max(self.ranged_through, now_bucket)

    def average_true_range(self) -> np.ndarray:
        """Mean true range per completed bucket in the ring, price units (NaN if none)."""
        return np.divide(
            self.range_sum,
            self.range_count,
            out=np.full(self.range_sum.shape, np.nan),
            where=self.range_count > 0,
        )

    def columns_between(self, first_bucket: int, last_bucket: int) -> np.ndarray:
        """Ring columns holding buckets ``first_bucket..last_bucket``, oldest first."""
        held = self.column_bucket
        columns = np.flatnonzero((held >= first_bucket) & (held <= last_bucket))
        return columns[np.argsort(held[columns])]
