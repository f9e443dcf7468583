"""The level tracker: refills at a held price reveal hidden size; a consumed level does not."""

from __future__ import annotations

import numpy as np
import pytest

from engine.levels import F_HIDDEN, I_REFILLS, LevelSettings, LevelTracker
from engine.synthetic import steady_flow

START = 1_763_005_500  # 09:15 IST
SETTLED = START + 600  # 09:25 IST: the opening minutes (OPENING_QUIET_MINUTES 10) are over


def book(
    seconds: int,
    bid_qty,
    bid_orders,
    volume_per_second: int,
    last_at: str = "bid",
    start: int = START,
):
    """One instrument whose best bid (100.00) shows ``bid_qty[t]`` in ``bid_orders[t]``."""
    ticks = steady_flow(101, start, seconds - 1, traded_per_second=volume_per_second)
    ticks["bid_price"][:, 0], ticks["ask_price"][:, 0] = 100.0, 100.05
    ticks["bid_qty"][:, 0] = bid_qty
    ticks["bid_orders"][:, 0] = bid_orders
    ticks["last_price"] = 100.0 if last_at == "bid" else 100.05
    return ticks


def quiet_lead(end: int = START, seconds: int = 20) -> np.ndarray:
    """``seconds`` without a trade just before ``end``, the touch a tick lower (so no level
    is held from them): they teach the tracker the touches' usual arrivals (none here),
    without which it judges no level."""
    return steady_flow(101, end - seconds, seconds - 1, traded_per_second=0, price=99.95)


def feed(tracker: LevelTracker, ticks: np.ndarray) -> list:
    ended = []
    for second in range(len(ticks)):
        ended += tracker.update(np.zeros(1, dtype=np.int64), ticks[second : second + 1])
    return ended


def test_a_native_iceberg_refills_its_display_and_is_found_then_broken():
    # A bid shows 500 in 5 orders; 300 shares a second hit it; every few seconds the same
    # order's display comes back (the order count never rises).
    shown = [500, 200] * 20 + [500]
    tracker = LevelTracker(["AAA"])
    feed(tracker, quiet_lead())
    ticks = book(len(shown), shown, [5] * len(shown), 300)
    assert feed(tracker, ticks) == []
    [active] = tracker.active()
    assert (active.side, active.price, active.state) == ("BID", 100.0, "active")
    assert active.refills >= 3 and active.native
    assert active.hidden_volume >= 1_000  # 12,000 traded against a level that showed 500
    # The table's "clear" reading is the evidence's: hidden volume over its standard error.
    live, _, hidden, _, _, standard_error = tracker.evidence()
    assert live[0, 0] and active.standard_errors_clear >= 3.5  # called at 3.5, or more
    assert active.standard_errors_clear == pytest.approx(hidden[0, 0] / standard_error[0, 0])
    # Were its hidden volume to sink back into its noise (the usual arrivals guessed over a
    # long hold explaining more of what traded), the table would keep it but no signal could
    # claim it below two standard errors clear.
    kept = tracker.level[0, 0, F_HIDDEN]
    for standard_errors, claimed in ((0.0, False), (1.9, False), (2.1, True)):
        tracker.level[0, 0, F_HIDDEN] = standard_errors * standard_error[0, 0]
        assert tracker.evidence()[0][0, 0] == claimed, standard_errors
        [record] = tracker.active()
        assert record.standing == claimed, standard_errors  # the table reads the same rule
    tracker.level[0, 0, F_HIDDEN] = kept
    # The price trades through: the bid drops a tick.
    through = steady_flow(101, START + len(shown), 0, start_volume=int(ticks["volume_traded"][-1]))
    through["bid_price"][:, 0], through["ask_price"][:, 0] = 99.95, 100.0
    through["last_price"] = 99.95
    [ended] = tracker.update(np.zeros(1, dtype=np.int64), through)
    assert ended.state == "broken" and ended.refills == active.refills


def test_no_level_is_judged_before_quiet_seconds_have_taught_the_usual_arrivals():
    # The same refills on a book that has traded every second since it was first seen: its
    # usual arrivals at the touch are unknown (only a second without trades shows them), so
    # the refills may be just the usual orders joining; nothing is called an iceberg.
    shown = [500, 200] * 20 + [500]
    tracker = LevelTracker(["AAA"])
    feed(tracker, book(len(shown), shown, [5] * len(shown), 300))
    assert tracker.active() == []
    # Quiet seconds (the touch gaining nothing while nothing trades) teach them; then the
    # same pattern is one.
    lull = book(20, [500] * 20, [5] * 20, 0, start=START + len(shown))
    lull["volume_traded"] = tracker.prev[0, 5]
    lull["bid_price"][:, 0] = 99.95  # the touch a tick lower: a new level follows
    more = book(len(shown), shown, [5] * len(shown), 300, start=START + len(shown) + 20)
    more["volume_traded"] += int(tracker.prev[0, 5]) - int(more["volume_traded"][0]) + 300
    feed(tracker, np.concatenate([lull, more]))
    assert [i.side for i in tracker.active()] == ["BID"]


def test_of_two_touches_that_both_refill_the_one_that_explains_less_is_the_iceberg():
    # Both touches hold 500 throughout; every other second 300 trade and print at the bid,
    # and in between 600 print at the ask. Each side's volume came from the print, so each
    # touch looks refilled; the ask's hidden volume is twice the bid's, and only the ask is
    # called an iceberg (alone, the bid's would be one too).
    seconds = 80
    ticks = book(seconds, [500] * seconds, [5] * seconds, 0)
    ticks["ask_qty"][:, 0], ticks["ask_orders"][:, 0] = 500, 5
    at_ask = np.arange(seconds) % 2 == 1
    ticks["volume_traded"] = 1_000_000 + np.cumsum(np.where(at_ask, 600, 300)) - 300
    ticks["last_price"] = np.where(at_ask, 100.05, 100.0)
    both = LevelTracker(["AAA"])
    feed(both, quiet_lead())
    feed(both, ticks)
    assert [i.side for i in both.active()] == ["ASK"]
    bid_only = ticks.copy()
    bid_only["volume_traded"] = 1_000_000 + np.cumsum(np.where(at_ask, 0, 300)) - 300
    alone = LevelTracker(["AAA"])
    feed(alone, quiet_lead())
    feed(alone, bid_only)
    assert [i.side for i in alone.active()] == ["BID"]


def test_volume_that_took_out_the_offer_was_buying_whatever_printed_last():
    # The bid holds 500 throughout and nothing sells into it. Every third second a buyer
    # takes out the whole offer (600 at 100.05; the best ask moves up a tick) and the
    # second's last print is a small sell at the bid; new offers come back at 100.05 next.
    seconds = 90
    ticks = book(seconds, [500] * seconds, [5] * seconds, 0)
    ticks["ask_qty"][:, 0], ticks["ask_orders"][:, 0] = 600, 6
    taken = np.arange(seconds) % 3 == 1
    ticks["ask_price"][taken] += 0.05  # the offer's levels a tick higher: 100.05 is gone
    ticks["volume_traded"] = 1_000_000 + np.cumsum(np.where(taken, 600, 0))
    tracker = LevelTracker(["AAA"])
    feed(tracker, quiet_lead())
    feed(tracker, ticks)
    assert tracker.active() == []
    assert tracker.level[0, 0, F_HIDDEN] == 0.0  # the bid revealed no hidden volume
    # Had the offer held (the same volume printing at the bid, the ask not moving), that
    # volume would have been selling the bid absorbed: a hidden buyer.
    held = ticks.copy()
    held["ask_price"][taken] -= 0.05
    alone = LevelTracker(["AAA"])
    feed(alone, quiet_lead())
    feed(alone, held)
    assert [i.side for i in alone.active()] == ["BID"]


def test_refills_at_a_price_that_gives_way_within_seconds_are_no_iceberg():
    # The same refills for 20 s (a news crowd re-posting at a touch that soon breaks): the
    # price has not held long enough to call it a hidden order.
    shown = [500, 200] * 10
    tracker = LevelTracker(["AAA"])
    feed(tracker, quiet_lead())
    feed(tracker, book(len(shown), shown, [5] * len(shown), 300))
    assert tracker.active() == []
    # Ten seconds more at the same price and it is one.
    more = book(len(shown) + 12, [500, 200] * 16, [5] * 32, 300)[len(shown) :]
    feed(tracker, more)
    assert [i.side for i in tracker.active()] == ["BID"]


def improved_for(seconds, length: int = 40) -> np.ndarray:
    """The refilling bid of the tests above for ``length`` seconds, with the spread two ticks
    wide and a 100-share bid a tick better in front of it in ``seconds`` (filled, then the
    touch is back at 100.00)."""
    shown = [500, 200] * (length // 2)
    ticks = book(len(shown), shown, [5] * len(shown), 300)
    ticks["ask_price"][:, 0] = 100.10
    for second in seconds:
        ticks["bid_price"][second, 1], ticks["bid_qty"][second, 1] = 100.0, shown[second]
        ticks["bid_orders"][second, 1] = 5
        ticks["bid_price"][second, 0], ticks["bid_qty"][second, 0] = 100.05, 100
        ticks["bid_orders"][second, 0] = 1
    return ticks


# The passed-level stories below are told against a half-minute hold (the default is 20 s).
HALF_MINUTE = LevelSettings(min_held_seconds=30)


def hidden_buyers_at_100(seconds, length: int = 40) -> list:
    tracker = LevelTracker(["AAA"], HALF_MINUTE)
    feed(tracker, quiet_lead())
    feed(tracker, improved_for(seconds, length))
    return [i for i in tracker.active() if i.price == 100.0]


def test_a_better_bid_gone_within_half_a_minute_leaves_the_level_its_story():
    # An order a tick better, filled at once (one snapshot) or within seconds, does not make
    # the hidden buyer behind it a new order: its price has held 34-39 s at the touch, so it
    # is one.
    for seconds in ([20], [20, 21], range(20, 26)):
        [active] = hidden_buyers_at_100(seconds)
        assert active.first_seen == START, list(seconds)
    # The seconds behind the better bid are not held at the touch: 15 of the 40 leave 25 s,
    # too short to call.
    assert hidden_buyers_at_100(range(10, 25)) == []
    # In front for 29 s of 80, the level's story goes on (51 s at the touch: called) ...
    [active] = hidden_buyers_at_100(range(20, 49), length=80)
    assert active.first_seen == START
    # ... for 32 s, the better bid has held: a new touch, and the level behind it starts
    # again when the touch comes back, its 28 s since too short to call.
    assert hidden_buyers_at_100(range(20, 52), length=80) == []
    # ... and so is one back after 32 s of better bids that never held a price (100.05 and
    # 100.10 in turn): half a minute is the most a level may spend behind.
    ticks = improved_for(range(20, 52), length=80)
    ticks["bid_price"][21:52:2, 0] = 100.10
    tracker = LevelTracker(["AAA"], HALF_MINUTE)
    feed(tracker, quiet_lead())
    feed(tracker, ticks)
    assert [i for i in tracker.active() if i.price == 100.0] == []


def test_a_level_taken_back_is_not_taken_back_again_once_called_and_ended():
    # Passed for a snapshot at 25 s and taken back, the level is called (31 s), then passed
    # again at 40 s: a called iceberg that leaves the top ends there. The touch back at its
    # price within half a minute of the first pass is a new level, not the old one again.
    tracker = LevelTracker(["AAA"], HALF_MINUTE)
    feed(tracker, quiet_lead())
    [ended] = feed(tracker, improved_for([25, 40, 41], length=60))
    assert (ended.price, ended.first_seen, ended.state) == (100.0, START, "completed")
    assert [i for i in tracker.active() if i.price == 100.0] == []  # 17 s since: too short


def test_a_level_eaten_away_by_trades_is_no_iceberg():
    shown = [3_000 - 200 * t for t in range(13)]  # each trade simply consumes it
    tracker = LevelTracker(["AAA"])
    assert feed(tracker, book(len(shown), shown, [30 - 2 * t for t in range(13)], 200)) == []
    assert tracker.active() == []


def test_refills_that_come_with_new_orders_are_visible_supply_not_hidden():
    shown = [500, 200, 500, 200, 500, 200, 500, 200, 500]
    orders = [5, 3, 8, 6, 11, 9, 14, 12, 17]  # every refill is several new orders
    tracker = LevelTracker(["AAA"])
    feed(tracker, book(len(shown), shown, orders, 300))
    assert tracker.active() == []


def test_hidden_volume_of_many_more_displays_than_refills_is_no_iceberg():
    # The bid holds 500 while 300 a second trade there: a crowd keeps it up, two new orders
    # a second (no refill), save one second in which it came back with none new (a refill of
    # 300). The quantity alone would credit a hidden order with some 300 a second; one
    # refill brings back one display, so the rest came some other way.
    seconds = 41
    orders = [5 + 2 * t for t in range(seconds)]
    orders[20:] = [o - 2 for o in orders[20:]]  # second 20: no new order
    ticks = book(seconds, [500] * seconds, orders, 300, start=SETTLED)
    crowded = LevelTracker(["AAA"])
    feed(crowded, quiet_lead(SETTLED))
    feed(crowded, ticks)
    assert crowded.active() == []
    assert crowded.level_int[0, 0, I_REFILLS] == 1  # the one refill was seen
    # Without the bound, the same quantities make an iceberg of the crowd.
    unbounded = LevelTracker(["AAA"], LevelSettings(max_hidden_per_refill=float("inf")))
    feed(unbounded, quiet_lead(SETTLED))
    feed(unbounded, ticks)
    assert [i.side for i in unbounded.active()] == ["BID"]


def test_the_usual_arrivals_are_learned_only_from_seconds_without_trades():
    from engine.levels import A_N, A_Y

    # Every second trades, the last print at the ask, while the bid quietly loses 100 a
    # second (selling the last print hides): nothing to learn arrivals from.
    tracker = LevelTracker(["AAA"])
    feed(tracker, book(20, [3_000 - 100 * t for t in range(20)], [30] * 20, 300, "ask"))
    assert tracker.arrivals[0, 0, A_N] == 0
    # Seconds without a trade: the bid's growth is its usual net arrivals.
    quiet = book(31, [1_000 + 50 * t for t in range(31)], [10 + t for t in range(31)], 0)
    quiet["exchange_timestamp"] += 20
    quiet["volume_traded"] = tracker.prev[0, 5]
    feed(tracker, quiet)
    assert tracker.arrivals[0, 0, A_N] >= 25
    assert tracker.arrivals[0, 0, A_Y] > 40  # shares a second, from its first quiet seconds


def test_a_touch_the_book_explained_does_not_owe_its_past_to_a_later_iceberg():
    # 40 s of a held bid shrinking by more than traded there (cancellations: the book
    # explains everything, and more), then a native iceberg at the same price.
    shrinking = book(41, [5_000 - 100 * t for t in range(41)], [50] * 41, 50)
    refilling = book(60, [500, 200] * 30, [5] * 60, 300)
    refilling["exchange_timestamp"] += 41
    refilling["volume_traded"] += (
        int(shrinking["volume_traded"][-1] - refilling["volume_traded"][0]) + 300
    )
    tracker = LevelTracker(["AAA"])
    feed(tracker, quiet_lead())
    feed(tracker, shrinking)
    assert tracker.active() == []
    for second in range(len(refilling)):
        tracker.update(np.zeros(1, dtype=np.int64), refilling[second : second + 1])
        if tracker.active():
            break
    # Found within 15 s: its evidence started again when the book had explained it all,
    # instead of first paying back the shrinking book's 2,000 shares and its 5,000 peak.
    assert tracker.active() and second <= 15, second


def test_the_engine_runs_the_tracker_on_its_batches_and_publishes_the_icebergs(settings):
    from engine import SignalEngine

    engine = SignalEngine(settings, {101: "AAA"})
    engine.update(quiet_lead(SETTLED))
    shown = [500, 200] * 20 + [500]
    ticks = book(len(shown), shown, [5] * len(shown), 300, start=SETTLED)
    for second in range(len(ticks)):
        engine.update(ticks[second : second + 1])
    [iceberg] = engine.icebergs()
    assert (iceberg.symbol, iceberg.side, iceberg.state) == ("AAA", "BID", "active")


def test_the_opening_minutes_find_no_iceberg_until_they_settle(settings):
    from engine import SignalEngine

    # The same refills from 09:24:20: nothing in the opening minutes (their flow is the
    # opening's, and the usual arrivals are still being learned), found soon after 09:25.
    engine = SignalEngine(settings, {101: "AAA"})
    engine.update(quiet_lead(SETTLED - 40))
    shown = [500, 200] * 60
    ticks = book(len(shown), shown, [5] * len(shown), 300, start=SETTLED - 40)
    found_at = None
    for second in range(len(ticks)):
        engine.update(ticks[second : second + 1])
        if engine.icebergs() and found_at is None:
            found_at = int(ticks["exchange_timestamp"][second])
    assert found_at is not None and SETTLED <= found_at <= SETTLED + 20, found_at - SETTLED
    # Without the opening's treatment the same book is an iceberg before 09:25.
    raw = SignalEngine(settings.model_copy(update={"opening_quiet_minutes": 0}), {101: "AAA"})
    raw.update(quiet_lead(SETTLED - 40))
    for second in range(40):
        raw.update(ticks[second : second + 1])
    assert raw.icebergs()


def test_the_engine_estimates_each_icebergs_total_and_hands_over_the_ended_ones(settings):
    from engine import SignalEngine

    engine = SignalEngine(settings, {101: "AAA"})
    engine.update(quiet_lead(SETTLED))
    engine.sizes.learn([5, 10, 20, 30, 40, 60], [True] * 6)  # a stored history
    shown = [500, 200] * 20 + [500]
    ticks = book(len(shown), shown, [5] * len(shown), 300, start=SETTLED)
    for second in range(len(ticks)):
        engine.update(ticks[second : second + 1])
    [iceberg] = engine.icebergs()
    assert iceberg.total_low <= iceberg.total <= iceberg.total_high
    assert iceberg.total_low >= iceberg.peak * (1 + iceberg.refills)  # at least what was seen
    described = iceberg.as_json()
    assert described["first_seen"].endswith("+05:30") and described["total"] == round(iceberg.total)
    # Just found, it stands clear of its noise, as the API says: behind signals.
    assert described["standard_errors_clear"] == round(iceberg.standard_errors_clear, 2) >= 3.5
    assert described["standing"] is True
    assert engine.take_ended_icebergs() == []
    through = steady_flow(
        101, SETTLED + len(shown), 0, start_volume=int(ticks["volume_traded"][-1])
    )
    through["bid_price"][:, 0], through["ask_price"][:, 0] = 99.95, 100.0
    through["last_price"] = 99.95
    engine.update(through)
    [ended] = engine.take_ended_icebergs()
    assert ended.state == "broken" and engine.take_ended_icebergs() == []
    assert len(engine.sizes) == 7 and engine.icebergs() == ()


def crowd_session(crowd: float, busy_seconds: int = 90) -> np.ndarray:
    """240 quiet seconds (no trades; the touch gains or loses 100 shares a second at random,
    the levels behind it gain 400 and lose it again by turns), then ``busy_seconds`` (even)
    of a native iceberg's pattern at the bid while ``crowd`` times the usual orders arrive
    behind the touch (and are cancelled again)."""
    steps = np.random.default_rng(3).choice([-100, 100], 239)
    touch = 5_000 + np.concatenate([[0], np.cumsum(steps)])
    quiet = book(240, touch, 20 + (touch - 5_000) // 100, 0, start=SETTLED)
    quiet["bid_qty"][:, 1:] = np.array([2_000, 2_400] * 120)[:, None]
    quiet["ask_qty"][:, 1:] = np.array([2_000, 2_400] * 120)[:, None]
    half = busy_seconds // 2
    busy = book(busy_seconds, [500, 200] * half, [5] * busy_seconds, 300, start=SETTLED + 240)
    busy["volume_traded"] += int(quiet["volume_traded"][-1]) - int(busy["volume_traded"][0]) + 300
    behind = np.array([2_000, 2_000 + 400 * crowd] * half)[:, None]
    busy["bid_qty"][:, 1:] = busy["ask_qty"][:, 1:] = behind
    return np.concatenate([quiet, busy])


def test_orders_crowding_in_behind_the_touch_explain_its_refills():
    # Usual flow behind the touch: the refills are more than the usual arrivals, an iceberg.
    usual = LevelTracker(["AAA"])
    feed(usual, crowd_session(1.0))
    assert [i.side for i in usual.active()] == ["BID"]
    # Eight times the usual orders arrive behind it (news, a crowd): more arrive at the
    # touch too, so the same refills are what the crowd brings, not a hidden order.
    crowded = LevelTracker(["AAA"])
    feed(crowded, crowd_session(8.0))
    assert crowded.active() == []


def test_evidence_gathered_in_a_burst_is_not_kept_for_after_it():
    # 150 s of the refills while 1.6 times the usual orders arrive behind the touch: more
    # than the crowd explains, but in a crowd one hidden order's refills cannot be told from
    # everyone re-posting, so none of it stands as evidence once the burst passes.
    from engine.levels import BID, F_HIDDEN

    tracker = LevelTracker(["AAA"])
    feed(tracker, crowd_session(1.6, busy_seconds=150))
    assert tracker.active() == [] and tracker.level[0, BID, F_HIDDEN] == 0
    usual = LevelTracker(["AAA"])
    feed(usual, crowd_session(1.0, busy_seconds=150))
    assert usual.level[0, BID, F_HIDDEN] > 10_000


def burst_then_calm(calm_seconds: int = 150) -> np.ndarray:
    """``crowd_session`` with a minute's burst (1.6 times the usual orders behind the
    touch), then the same refills at the bid for ``calm_seconds`` (even) with the usual
    orders behind it again."""
    burst = crowd_session(1.6, busy_seconds=60)
    half = calm_seconds // 2
    start = int(burst["exchange_timestamp"][-1]) + 1
    calm = book(calm_seconds, [500, 200] * half, [5] * calm_seconds, 300, start=start)
    calm["volume_traded"] += int(burst["volume_traded"][-1]) - int(calm["volume_traded"][0]) + 300
    calm["bid_qty"][:, 1:] = calm["ask_qty"][:, 1:] = np.array([2_000, 2_400] * half)[:, None]
    return np.concatenate([burst, calm])


def test_the_minute_after_a_burst_gathers_no_evidence_either():
    # The crowd of a burst goes on re-posting for a while after the pace behind the touch
    # falls back: a level is judged only on what trades a minute after the burst.
    from engine.levels import LevelSettings

    ticks = burst_then_calm()
    calm_from = int(ticks["exchange_timestamp"][-150])
    waited = LevelTracker(["AAA"])
    feed(waited, ticks)
    [iceberg] = waited.active()
    # Judged from the second the burst passed, the same refills are called a minute sooner.
    at_once = LevelTracker(["AAA"], LevelSettings(after_burst_seconds=0))
    feed(at_once, ticks)
    [early] = at_once.active()
    assert early.detected_at - calm_from < 60
    assert iceberg.detected_at - early.detected_at >= 55
    assert early.first_seen == iceberg.first_seen  # the price's age is kept either way


def test_the_usual_rates_error_is_shared_by_every_second_it_is_guessed_for():
    # A minute without trades teaches the bid's usual arrivals (its queue wanders);
    # then 300 shares a second trade there while it shows 500 throughout. Each trade second
    # guesses the arrivals from the same learned rate, so the error of that rate is one
    # error repeated: its variance over T seconds grows as T^2, not T.
    from engine.levels import BID, F_GUESSED

    quiet, busy = 60, 101
    wobble = np.random.default_rng(0).normal(0, 40, quiet).round()
    shown = [*(500 + np.cumsum(wobble)), *[500] * busy]
    ticks = book(len(shown), shown, [5] * len(shown), 300, start=SETTLED)
    ticks["volume_traded"] = 1_000_000 + 300 * np.maximum(np.arange(len(ticks)) - quiet, 0)
    tracker = LevelTracker(["AAA"])
    side_guess = 300 * 300 / 4  # a second's volume, either side's: variance V^2 / 4
    arrivals = {}
    for second in range(len(ticks)):
        tracker.update(np.zeros(1, dtype=np.int64), ticks[second : second + 1])
        traded_seconds = second - quiet
        if traded_seconds in (20, 100):
            guessed = tracker.level[0, BID, F_GUESSED] - traded_seconds * side_guess
            arrivals[traded_seconds] = guessed
    # Independent seconds would give 5 times the variance for 5 times the seconds.
    assert arrivals[20] > 0 and arrivals[100] / arrivals[20] >= 8, arrivals
