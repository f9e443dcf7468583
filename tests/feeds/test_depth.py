"""The visible book of the charted symbols through time, and its heatmap."""

from __future__ import annotations

import numpy as np

import charts
from engine.synthetic import interleave, steady_flow
from feeds.depth import DepthHistory

START = 1_763_005_500


def test_watched_books_are_kept_a_snapshot_a_second_and_the_least_recent_is_dropped():
    depth = DepthHistory(capacity=5, max_instruments=2)
    depth.watch(101)
    ticks = interleave(steady_flow(101, START, 7), steady_flow(202, START, 7))
    for second in range(8):
        depth.record(ticks[ticks["exchange_timestamp"] == START + second])
    depth.record(ticks[ticks["exchange_timestamp"] == START + 7])  # a repeat: ignored
    frame = depth.frame(101)
    book, trades = frame[frame["side"] != "trade"], frame[frame["side"] == "trade"]
    assert len(trades) == 5  # the ring's capacity, newest kept
    assert set(book["side"]) == {"bid", "ask"} and len(book) == 5 * 10
    assert trades["quantity"].iloc[1:].eq(250).all()  # volume traded between snapshots
    assert depth.frame(202).empty  # never asked for
    depth.watch(202)
    depth.watch(303)  # a third: 101, the least recently asked for, goes
    assert depth.frame(101).empty


def test_the_heatmap_has_the_book_the_price_the_trades_and_the_signals():
    depth = DepthHistory()
    depth.watch(101)
    ticks = steady_flow(101, START, 30)
    for second in range(31):
        depth.record(ticks[second : second + 1])
    figure = charts.depth_heatmap(depth.frame(101), [], "AAA")
    kinds = [trace.type for trace in figure.data]
    assert kinds[:3] == ["heatmap", "scatter", "scatter"]
    heat = figure.data[0]
    assert np.nanmax(np.asarray(heat.z, dtype=float)) == 2_000  # 10,000 over 5 levels
