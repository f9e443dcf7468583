"""The event-driven book simulator: Kite frames, jitter, and ground truth from its agents."""

from __future__ import annotations

import threading
from dataclasses import replace
from itertools import pairwise

import numpy as np

from engine import parse_kite_frame
from engine.ticks import encode_kite_frame
from feeds.book_simulator import STRANDED_SECONDS, TICK, BookSimulator, book_instruments

START = 1_763_005_500


def encode_frame_now(simulator: BookSimulator) -> bytes:
    """The simulator's snapshot of this moment, as a Kite frame (no jitter)."""
    return encode_kite_frame(simulator._snapshot())


def session(seed: int, seconds: int = 1_800, count: int = 8):
    instruments = book_instruments(count, seed=seed)
    simulator = BookSimulator(instruments, START, seed=seed, session_seconds=seconds)
    frames = [simulator.frame() for _ in range(seconds)]
    return instruments, simulator, frames


def test_frames_parse_and_the_same_seed_gives_the_same_session():
    _, first, frames = session(5, seconds=300)
    _, second, again = session(5, seconds=300)
    assert frames == again and first.icebergs == second.icebergs
    ticks = np.concatenate([parse_kite_frame(frame) for frame in frames if len(frame) > 2])
    assert (np.diff(ticks["volume_traded"].reshape(-1, 8)[:, 0]) >= 0).all()
    spread = (ticks["ask_price"][:, 0] - ticks["bid_price"][:, 0]) / 0.05
    assert np.median(spread) <= 2  # a two-sided book around a tick wide, from the events


def test_a_session_is_the_same_draw_whichever_thread_steps_it():
    # The app builds its simulator on one thread and steps it on its source's thread.
    _, _, frames = session(7, seconds=120)
    built = BookSimulator(book_instruments(8, seed=7), START, seed=7, session_seconds=120)
    stepped: list[bytes] = []
    worker = threading.Thread(target=lambda: stepped.extend(built.frame() for _ in range(120)))
    worker.start()
    worker.join()
    assert stepped == frames


def test_sessions_stepped_by_turns_on_one_thread_draw_their_own_numbers():
    one = BookSimulator(book_instruments(4, seed=8), START, seed=8)
    other = BookSimulator(book_instruments(4, seed=8), START, seed=8)
    turns = [(one.frame(), other.frame()) for _ in range(60)]
    # One seed, one draw: neither takes numbers from the other's turns.
    assert all(mine == theirs for mine, theirs in turns)


def test_snapshots_are_sometimes_skipped_or_repeated_as_kite_sends_them():
    _, _, frames = session(6, seconds=600)
    sizes = [len(parse_kite_frame(frame)) for frame in frames]
    stamps = [
        int(parse_kite_frame(frame)["exchange_timestamp"][0]) for frame in frames if len(frame) > 2
    ]
    assert sizes.count(0) > 0  # skipped seconds
    assert len(stamps) - len(set(stamps)) > 0  # repeated snapshots


def test_ground_truth_is_what_the_agents_did():
    instruments, simulator, _ = session(7, seconds=3_600, count=12)
    thin = {i.symbol for i in instruments if i.thin}
    rates = [i.volume_rate for i in instruments]
    assert max(rates) / min(rates) > 4  # liquidity varies several-fold
    assert simulator.icebergs, "no iceberg agent in an hour"
    for iceberg in simulator.icebergs:
        assert iceberg.symbol not in thin  # thin books are confounders, never agents
        assert iceberg.start <= iceberg.end
        assert iceberg.ended in ("completed", "broken", "session end")
        assert iceberg.executed <= iceberg.peak + iceberg.hidden_total
        if iceberg.native:
            assert iceberg.hidden_total <= 9 * iceberg.peak  # disclosed >= 10 % of the order
        if iceberg.ended == "completed":
            assert iceberg.executed == iceberg.peak + iceberg.hidden_total
    kinds = {episode.kind for episode in simulator.episodes}
    assert kinds >= {"news", "spoof", "momentum"}


def test_the_last_traded_quantity_is_the_last_fill_not_the_seconds_volume():
    _, _, frames = session(8, seconds=600, count=6)
    ticks = [parse_kite_frame(frame) for frame in frames if len(frame) > 2]
    seconds = [
        (a, b)
        for a, b in pairwise(ticks)
        if b["exchange_timestamp"][0] > a["exchange_timestamp"][0]
    ]
    traded = np.concatenate([b["volume_traded"] - a["volume_traded"] for a, b in seconds])
    last = np.concatenate([b["last_traded_quantity"] for _, b in seconds])
    busy = traded > 0
    assert busy.sum() > 500
    assert (last[busy] <= traded[busy]).all()  # one trade of the second's
    assert (last[busy] < traded[busy]).mean() > 0.5  # most seconds hold several fills
    assert np.median(last[busy]) > 1  # a real size, not a placeholder


def test_the_average_traded_price_is_the_days_volume_weighted_price():
    _, simulator, frames = session(9, seconds=900, count=6)
    ticks = np.concatenate([parse_kite_frame(frame) for frame in frames if len(frame) > 2])
    traded = ticks["volume_traded"] > 0
    average, last = ticks["average_traded_price"][traded], ticks["last_price"][traded]
    assert (average >= ticks["low"][traded] - 0.01).all()
    assert (average <= ticks["high"][traded] + 0.01).all()
    assert (average != last).mean() > 0.5  # the day's average, not the last print
    # The simulator's own record of what traded gives the last figure, to the paisa.
    final = parse_kite_frame(encode_frame_now(simulator))
    expected = simulator.value / simulator.volume
    assert np.allclose(final["average_traded_price"], expected, atol=0.005 + 1e-9)
    # A day's average moves less from second to second than the last price does.
    by_instrument = ticks[traded]["instrument_token"]
    for token in np.unique(by_instrument):
        mine = by_instrument == token
        assert np.abs(np.diff(average[mine])).mean() < np.abs(np.diff(last[mine])).mean()


def test_the_whole_books_quantity_counts_an_icebergs_display_but_not_its_reserve():
    instruments = book_instruments(12, seed=7)
    simulator = BookSimulator(instruments, START, seed=7, session_seconds=1_800)
    seen = 0
    for _ in range(1_800):
        simulator.step()
        ticks = parse_kite_frame(encode_frame_now(simulator))
        assert (ticks["total_buy_quantity"] >= ticks["bid_qty"].sum(axis=1)).all()
        assert (ticks["total_sell_quantity"] >= ticks["ask_qty"].sum(axis=1)).all()
        for row in np.flatnonzero(simulator.ice_int[:, 0] == 1):
            display, reserve = simulator.ice[row, 2], simulator.ice[row, 3]
            buyer = simulator.ice_int[row, 1] > 0
            total = ticks["total_buy_quantity" if buyer else "total_sell_quantity"][row]
            resting = (simulator.bid if buyer else simulator.ask)[row].sum()
            assert total == int(resting + display)  # shown, so counted; the reserve is not
            seen += reserve > 0
    assert seen > 100  # agents with a reserve behind their display were checked


def test_every_level_shown_with_shares_is_shown_with_an_order():
    # A fill that leaves shares at a price leaves at least the order they rest in (Kite never
    # shows quantity at a price with no order there).
    _, _, frames = session(5, seconds=1_800, count=12)
    levels = 0
    for frame in frames:
        ticks = parse_kite_frame(frame)
        for side in ("bid", "ask"):
            shown = ticks[f"{side}_qty"] > 0
            assert (ticks[f"{side}_orders"][shown] >= 1).all()
            levels += int(shown.sum())
    assert levels > 100_000


def test_each_agent_records_how_clear_of_its_levels_own_scatter_it_stood():
    _, simulator, _ = session(7, seconds=3_600, count=12)
    filled = [i for i in simulator.icebergs if i.executed > i.peak]
    assert filled and all(i.clarity > 0 for i in filled)
    assert all(np.isnan(i.clarity) or i.clarity == 0 for i in simulator.icebergs if i.executed == 0)
    # More hidden fills on the same kind of level stand clearer of it: clarity grows with
    # the hidden volume over its typical scatter (checked across the session's agents).
    scattered = [i for i in filled if np.isfinite(i.clarity)]
    hidden = np.array([i.executed - i.peak for i in scattered], dtype=float)
    clarity = np.array([i.clarity for i in scattered])
    assert np.corrcoef(np.log(hidden), np.log(clarity))[0, 1] > 0.3


def test_prices_move_as_much_as_each_instruments_volatility_says():
    """The value's random walk reaches the traded price: over an hour each liquid book's
    minute returns scatter about as its day's volatility says (a day is 375 minutes), not
    the few ticks an hour a book with no news drifts by."""
    instruments = book_instruments(12, seed=3)
    simulator = BookSimulator(instruments, START, seed=3, session_seconds=3_600)
    prices = []
    for _ in range(3_600):
        simulator.step()
        prices.append(list(simulator.last_prices().values()))
    minutes = np.log(np.array(prices)[::60])
    scatter = np.diff(minutes, axis=0).std(axis=0)
    expected = np.array([i.volatility for i in instruments]) / np.sqrt(375)
    liquid = ~np.array([i.thin for i in instruments])
    ratio = scatter[liquid] / expected[liquid]
    assert (ratio > 0.6).all() and (ratio < 1.6).all(), ratio
    assert len({round(i.volatility, 4) for i in instruments}) > 6  # drawn per instrument


def test_nobody_posts_a_sell_at_or_under_a_hidden_buyers_display():
    """While a native hidden buyer's display shows, the best ask stays above its price (and
    a hidden seller's best bid below): what the value's fall brings is sellers trading
    against it, so it ends by being used up, not by asks posted across it."""
    simulator = BookSimulator(book_instruments(12, seed=5), START, seed=5, session_seconds=3_600)
    checked = 0
    for _ in range(3_600):
        simulator.step()
        for row in np.flatnonzero(simulator.ice_int[:, 0] == 1):
            if not simulator.ice_int[row, 2] or simulator.ice[row, 2] <= 0:
                continue  # synthetic, or nothing on show
            level = int(simulator.ice[row, 0])
            if simulator.ice_int[row, 1] > 0:
                assert np.flatnonzero(simulator.ask[row] > 0)[0] > level
            else:
                assert np.flatnonzero(simulator.bid[row] > 0)[-1] < level
            checked += 1
    assert checked > 500
    native = [i for i in simulator.icebergs if i.native and i.refills > 0]
    assert native and any(i.ended == "completed" for i in native)
    # None is traded through: one that ends broken was left behind and cancelled.
    assert all(i.end - i.start >= STRANDED_SECONDS for i in native if i.ended == "broken")


def test_an_agent_the_market_left_behind_is_cancelled():
    """An agent nothing traded against for five minutes, with better prices in front of it,
    is cancelled (broken), as an algorithm re-prices a passive order (a 3 % day here)."""
    instruments = [replace(i, volatility=0.03) for i in book_instruments(12, seed=4)]
    simulator = BookSimulator(instruments, START, seed=4, session_seconds=3_600)
    for _ in range(3_600):
        simulator.step()
    left = [i for i in simulator.icebergs if i.executed == 0 and i.ended == "broken"]
    assert any(i.end - i.start == STRANDED_SECONDS for i in left)
    assert all(i.end - i.start <= STRANDED_SECONDS for i in left)


def test_an_agent_left_beyond_the_price_grid_is_cancelled_not_a_broken_snapshot():
    """A book whose price nears an end of its grid is shifted back to the middle; a hidden
    buyer left so far below that its price falls off the grid then is cancelled (before,
    the next snapshot indexed past the grid)."""
    instruments = book_instruments(4, seed=4)
    simulator = BookSimulator(instruments, START, seed=4, session_seconds=600, demo_at=2)
    for _ in range(10):
        simulator.step()
    assert simulator.ice_int[0, 0] == 1 and simulator.ice_int[0, 1] > 0  # the hidden buyer
    simulator.ice[0, 0] -= 300  # the buyer 300 ticks under the market ...
    simulator.last[0] += 340  # ... which has climbed near the grid's top: shifted back
    for _ in range(5):
        parse_kite_frame(simulator.frame())
    buyer = next(i for i in simulator.icebergs if i.symbol == instruments[0].symbol)
    assert buyer.ended == "broken" and buyer.end - buyer.start < 20


def test_limit_orders_cluster_at_whole_rupees():
    """A price at a whole rupee gathers a deeper queue than its neighbours the same distance
    behind the touch: a share of the limit orders go to the round number near their quote, so
    a trader's 'support at 1,400' is a crowd of visible orders there (without it, nothing
    but a hidden order held a price against the value)."""
    instruments = [replace(i, thin=False) for i in book_instruments(6, seed=9)]
    simulator = BookSimulator(instruments, START, seed=9, session_seconds=1_800)
    depth = {(d, whole): [] for d in range(1, 6) for whole in (False, True)}
    for _ in range(1_800):
        simulator.step()
        for row in range(len(instruments)):
            best = np.flatnonzero(simulator.bid[row] > 0)
            if not len(best):
                continue
            for d in range(1, 6):
                level = best[-1] - d
                price = simulator._base[row] + level * TICK
                whole = abs(price - round(price)) < 1e-6
                depth[d, whole].append(simulator.bid[row, level])
    ratios = [np.mean(depth[d, True]) / np.mean(depth[d, False]) for d in range(1, 6)]
    assert min(len(v) for v in depth.values()) > 100
    assert all(r > 1.5 for r in ratios), ratios
