"""Rolling state: traded volume from the cumulative counter, never negative or phantom."""

from __future__ import annotations

import numpy as np

from engine.sessions import ist_day
from engine.state import RollingFlowState
from engine.synthetic import steady_flow

START = 1_763_005_500  # 2025-11-13 09:15 IST


def new_state(instruments: int = 1) -> RollingFlowState:
    return RollingFlowState(instruments, bucket_seconds=5, history_buckets=180, max_gap_seconds=30)


def traded(state: RollingFlowState) -> float:
    return float(state.flow["buy_volume"].sum() + state.flow["sell_volume"].sum())


def test_first_tick_sets_the_baseline_without_counting_the_days_volume():
    state = new_state()
    ticks = steady_flow(101, START, 0, start_volume=5_000_000)
    state.ingest(np.zeros(1, dtype=np.int64), ticks)
    assert traded(state) == 0.0


def test_traded_volume_is_the_increase_of_the_counter():
    state = new_state()
    ticks = steady_flow(101, START, 30, traded_per_second=100)
    state.ingest(np.zeros(len(ticks), dtype=np.int64), ticks)
    assert traded(state) == 3_000.0
    assert state.flow["flow_seconds"].sum() == 30.0


def test_batches_split_anywhere_give_the_same_state():
    whole, split = new_state(), new_state()
    ticks = steady_flow(101, START, 60, traded_per_second=77)
    whole.ingest(np.zeros(len(ticks), dtype=np.int64), ticks)
    for part in np.array_split(ticks, 7):
        split.ingest(np.zeros(len(part), dtype=np.int64), part)
    for name in whole.flow:
        assert np.array_equal(whole.flow[name], split.flow[name]), name


def test_a_packet_reporting_less_volume_neither_counts_nor_becomes_the_baseline():
    # 1,000 real shares trade in ten seconds; one packet in the middle reports 300 fewer
    # (out of order or corrupt). Counting from it as a new baseline gave 1,300.
    for batches in (1, 4, 11):  # the whole run at once, and split across batches
        state = new_state()
        ticks = steady_flow(101, START, 10, traded_per_second=100, start_volume=1_000_000)
        ticks["volume_traded"][5] -= 300
        for part in np.array_split(ticks, batches):
            state.ingest(np.zeros(len(part), dtype=np.int64), part)
        assert traded(state) == 1_000.0, batches
        assert (state.flow["buy_volume"] >= 0).all() and (state.flow["sell_volume"] >= 0).all()


def test_a_lower_counter_within_the_day_waits_until_it_passes_the_days_high():
    state = new_state()
    before = steady_flow(101, START, 10, traded_per_second=100, start_volume=1_000_000)
    after = steady_flow(101, START + 11, 10, traded_per_second=100, start_volume=0)
    ticks = np.concatenate([before, after])
    state.ingest(np.zeros(len(ticks), dtype=np.int64), ticks)
    assert traded(state) == 1_000.0  # nothing after the drop: it never regains 1,001,000
    assert (state.flow["buy_volume"] >= 0).all() and (state.flow["sell_volume"] >= 0).all()


def test_day_rollover_does_not_count_the_overnight_difference():
    state = new_state()
    evening = steady_flow(101, START + 6 * 3600, 5, traded_per_second=100, start_volume=9_000_000)
    morning_start = START + 24 * 3600
    morning = steady_flow(101, morning_start, 5, traded_per_second=100, start_volume=9_500_000)
    assert ist_day(evening["exchange_timestamp"][-1]) != ist_day(morning_start)
    state.ingest(np.zeros(len(evening), dtype=np.int64), evening)
    assert traded(state) == 500.0
    state.ingest(np.zeros(len(morning), dtype=np.int64), morning)
    # The evening has left the 15-minute ring; the morning adds its own 500 and not the
    # 500,000 between the close and the open.
    assert traded(state) == 500.0
    assert state.flow["flow_seconds"].sum() == 5.0


def test_a_long_silence_is_a_gap_not_a_burst():
    state = new_state()
    first = steady_flow(101, START, 5, traded_per_second=100)
    later = steady_flow(101, START + 300, 5, traded_per_second=100, start_volume=2_000_000)
    for part in (first, later):
        state.ingest(np.zeros(len(part), dtype=np.int64), part)
    assert traded(state) == 1_000.0
    assert state.gaps == 1


def test_out_of_order_ticks_are_ignored_for_flow():
    state = new_state()
    ticks = steady_flow(101, START, 20, traded_per_second=100)
    state.ingest(np.zeros(len(ticks), dtype=np.int64), ticks)
    before = traded(state)
    state.ingest(np.zeros(3, dtype=np.int64), ticks[:3])
    assert traded(state) == before
    assert state.stale_ticks == 3


def test_quote_rule_splits_volume_by_the_side_it_hit():
    state = new_state(3)
    streams = [
        steady_flow(token, START, 20, traded_per_second=100, trade_at=side)
        for token, side in ((1, "bid"), (2, "ask"), (3, "mid"))
    ]
    for row, ticks in enumerate(streams):
        state.ingest(np.full(len(ticks), row), ticks)
    buy = state.flow["buy_volume"].sum(axis=1)
    sell = state.flow["sell_volume"].sum(axis=1)
    assert buy.tolist() == [0.0, 2_000.0, 1_000.0]
    assert sell.tolist() == [2_000.0, 0.0, 1_000.0]


def test_ring_reuses_columns_without_leaking_old_buckets():
    state = RollingFlowState(1, bucket_seconds=5, history_buckets=12, max_gap_seconds=30)
    ticks = steady_flow(101, START, 600, traded_per_second=100)
    state.ingest(np.zeros(len(ticks), dtype=np.int64), ticks)
    # Only the last 12 buckets (60 s) remain: at most 60 s of flow.
    assert state.flow["flow_seconds"].sum() <= 60.0
    assert len(set(state.column_bucket.tolist())) == 12


def test_running_totals_always_equal_the_ring_they_summarise():
    rng = np.random.default_rng(3)
    state = RollingFlowState(4, bucket_seconds=5, history_buckets=12, max_gap_seconds=30)
    second = START
    for _ in range(60):
        second += int(rng.integers(1, 9))
        rows = rng.choice(4, size=int(rng.integers(1, 8)))
        ticks = np.concatenate(
            [
                steady_flow(
                    101 + int(row),
                    second - int(rng.integers(0, 3)),
                    0,
                    start_volume=int(rng.integers(1_000, 2_000)) * (second - START + 1),
                )
                for row in rows
            ]
        )
        state.ingest(rows, ticks)
        state.complete_buckets()
        for name, total in state.totals.items():
            assert np.allclose(total, state.flow[name].sum(axis=1), rtol=0, atol=1e-6), name
        assert np.allclose(state.range_sum, np.nansum(state.true_range, axis=1))
        assert np.array_equal(state.range_count, (~np.isnan(state.true_range)).sum(axis=1))
