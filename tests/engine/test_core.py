"""SignalEngine end to end on synthetic flow: signals, gates and the snapshot."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from engine import PCRResult, SignalEngine, SignalType, UnknownInstrumentError
from engine.pcr import PcrBias
from engine.synthetic import interleave, steady_flow
from engine.ticks import empty_ticks

START = 1_763_005_500  # 2025-11-13 09:15 IST
WATCHLIST = {101: "ICEBERG", 202: "QUIET", 303: "OTHER"}


def feed(engine: SignalEngine, ticks: np.ndarray) -> list:
    """Deliver ticks one exchange second at a time, as the market thread would."""
    signals = []
    times = ticks["exchange_timestamp"]
    for second in np.unique(times):
        signals += engine.update(ticks[times == second])
    return signals


def normal_session(
    start: int,
    seconds: int,
    volumes: dict[int, int] | None = None,
    tokens=tuple(WATCHLIST),
    traded_per_second: int = 100,
):
    """Balanced two-sided flow for ``tokens``, continuing from their ``volumes``."""
    volumes = volumes or {}
    return interleave(
        *[
            steady_flow(
                token,
                start,
                seconds,
                traded_per_second=traded_per_second,
                trade_at="mid",
                start_volume=volumes.get(token, 1_000_000),
            )
            for token in tokens
        ]
    )


def iceberg(
    start: int,
    seconds: int,
    start_volume: int,
    token: int = 101,
    side: str = "bid",
    traded_per_second: int = 180,
    display: int = 1_500,
):
    # Sellers hit a bid whose best level shows ``display`` and comes back to it each time
    # the flow eats through it (every 8 or 9 seconds, one order coming back); behind it,
    # 100 a level. 180 a second, under twice the normal flow (a surge would count against
    # an ACCUMULATION).
    heavy, light = 20_000, 500
    bid, ask = (light, heavy) if side == "bid" else (heavy, light)
    buy_total, sell_total = (50_000, 200_000) if side == "bid" else (200_000, 50_000)
    ticks = steady_flow(
        token,
        start,
        seconds,
        traded_per_second=traded_per_second,
        bid_depth=bid,
        ask_depth=ask,
        trade_at=side,
        start_volume=start_volume,
        total_buy_quantity=buy_total,
        total_sell_quantity=sell_total,
    )
    traded = ticks["volume_traded"] - start_volume
    ticks[f"{side}_qty"][:, 0] = display - traded % display
    return ticks


def warm_session() -> np.ndarray:
    """The opening ten minutes: a minute before the first trade (it teaches the level
    tracker the touches' usual arrivals; it judges no level before it has seen quiet
    seconds), then normal flow."""
    return np.concatenate(
        [normal_session(START, 59, traded_per_second=0), normal_session(START + 60, 540)]
    )


def warm_engine(settings, **overrides) -> tuple[SignalEngine, np.ndarray]:
    engine = SignalEngine(settings.model_copy(update=overrides), WATCHLIST)
    warm = warm_session()
    assert feed(engine, warm) == []
    return engine, warm


def last_volume(ticks: np.ndarray, token: int) -> int:
    return int(ticks[ticks["instrument_token"] == token]["volume_traded"][-1])


def episode(warm: np.ndarray, start: int, seconds: int, side: str = "bid") -> np.ndarray:
    """An iceberg on ICEBERG while the other two trade normally."""
    quiet = normal_session(
        start, seconds, {t: last_volume(warm, t) for t in (202, 303)}, tokens=(202, 303)
    )
    return interleave(iceberg(start, seconds, last_volume(warm, 101), side=side), quiet)


def test_an_iceberg_bid_under_visible_selling_gives_one_accumulation(settings):
    engine, warm = warm_engine(settings)
    signals = feed(engine, episode(warm, START + 601, 180))
    assert [(s.symbol, s.signal_type) for s in signals] == [("ICEBERG", SignalType.ACCUMULATION)]
    signal = signals[0]
    # The level evidence: the tracker holds a hidden buyer at the bid, and it scored.
    assert [(i.symbol, i.side) for i in engine.icebergs()] == [("ICEBERG", "BID")]
    assert signal.factors["institutional"] >= 1
    # The signal says which hidden order it rests on and what each evidence rule gave.
    (iceberg,) = engine.icebergs()
    factors = signal.factors
    assert factors["iceberg_price"] == iceberg.price
    assert factors["iceberg_refills"] >= 1 and factors["iceberg_hidden"] > 0
    assert factors["iceberg_clear"] >= 2.0  # an iceberg stands behind a signal only so
    assert factors["iceberg_held_seconds"] >= 30
    parts = [factors[f"evidence_{name}"] for name in ("pace", "time", "size", "clear", "displays")]
    assert max(sum(parts), 0) == factors["institutional"]
    assert signal.order_imbalance < 0
    assert signal.confidence >= settings.min_confidence
    assert signal.factors["total"] == sum(
        signal.factors[name]
        for name in ("base", "pcr", "imbalance", "institutional", "volume_surge")
    )
    assert signal.stop_loss < signal.entry < signal.target
    assert signal.reward_risk >= settings.min_reward_risk - 1e-9
    assert signal.timestamp.utcoffset().total_seconds() == 19_800


def test_an_iceberg_ask_under_visible_buying_gives_distribution(settings):
    engine, warm = warm_engine(settings)
    signals = feed(engine, episode(warm, START + 601, 180, side="ask"))
    assert [s.signal_type for s in signals] == [SignalType.DISTRIBUTION]
    assert signals[0].target < signals[0].entry < signals[0].stop_loss
    (iceberg,) = engine.icebergs()  # the hidden seller the signal names is the ask's
    assert iceberg.side == "ASK" and signals[0].factors["iceberg_price"] == iceberg.price


def test_min_confidence_gates_signals(settings):
    engine, warm = warm_engine(settings)
    # A bearish PCR counts against the hidden buyer: at most 7 of 11 points, 6.4 < 7.
    engine.set_pcr("ICEBERG", 0.5)
    assert feed(engine, episode(warm, START + 601, 180)) == []
    snapshot = engine.snapshot()
    assert "ACCUMULATION" in snapshot["state"].tolist()
    assert 0 < snapshot["confidence"].max() < settings.min_confidence


def test_cooldown_keeps_a_second_episode_quiet_until_it_expires(settings):
    # MIN_CONFIDENCE 6: repeated icebergs raise the volume baseline and so lower the surge
    # points; this test is about the cool-down alone.
    engine, warm = warm_engine(settings, signal_cooldown_seconds=600, min_confidence=6)
    first = episode(warm, START + 601, 120)
    assert len(feed(engine, first)) == 1
    calm = normal_session(START + 722, 120, {t: last_volume(first, t) for t in WATCHLIST})
    feed(engine, calm)
    again = episode(calm, START + 843, 120)
    assert feed(engine, again) == []  # 242 s after the first signal: still cooling down
    # A lull (nothing trades on ICEBERG for 400 s, its book as it was) ends the hidden
    # buyer; the next one is a new order.
    calm = interleave(
        iceberg(START + 964, 400, last_volume(again, 101), traded_per_second=0),
        normal_session(
            START + 964, 400, {t: last_volume(again, t) for t in (202, 303)}, tokens=(202, 303)
        ),
    )
    feed(engine, calm)
    assert len(feed(engine, episode(calm, START + 1365, 120))) == 1


def test_one_hidden_order_is_signalled_once_however_often_it_comes_back(settings):
    # A short cool-down; the hidden buyer absorbs selling, the flow turns balanced for two
    # minutes (its price still held, so the same order is still there), then the selling
    # comes back: the same iceberg, not a new one, so no second ACCUMULATION.
    engine, warm = warm_engine(settings, signal_cooldown_seconds=60)
    first = episode(warm, START + 601, 180)
    assert len(feed(engine, first)) == 1
    [iceberg] = engine.icebergs()
    calm = normal_session(START + 782, 120, {t: last_volume(first, t) for t in WATCHLIST})
    feed(engine, calm)
    assert feed(engine, episode(calm, START + 903, 180)) == []
    assert [i.first_seen for i in engine.icebergs()] == [iceberg.first_seen]


def test_daily_cap_counts_across_symbols_and_resets_next_ist_day(settings):
    engine, warm = warm_engine(settings, max_daily_signals=1, signal_cooldown_seconds=0)
    both = interleave(
        iceberg(START + 601, 180, last_volume(warm, 101)),
        iceberg(START + 601, 180, last_volume(warm, 202), token=202),
        steady_flow(
            303,
            START + 601,
            180,
            traded_per_second=100,
            trade_at="mid",
            start_volume=last_volume(warm, 303),
        ),
    )
    signals = feed(engine, both)
    assert len(signals) == 1 and engine.signals_today == 1
    tomorrow = START + 86_400
    next_day = normal_session(tomorrow, 600)
    feed(engine, next_day)
    assert engine.signals_today == 0
    assert len(feed(engine, episode(next_day, tomorrow + 601, 180))) == 1


def test_ticks_of_unknown_instruments_are_counted_and_ignored(settings):
    engine = SignalEngine(settings, WATCHLIST)
    stray = steady_flow(999, START, 5)
    engine.update(stray)
    assert engine.unknown_ticks == len(stray)
    assert engine.snapshot()["ticks"].sum() == 0


def test_update_rejects_arrays_that_are_not_ticks(settings):
    engine = SignalEngine(settings, WATCHLIST)
    with pytest.raises(TypeError, match="TICK_DTYPE"):
        engine.update(np.zeros(3))


def test_snapshot_has_one_row_per_instrument_with_live_metrics(settings):
    engine, _ = warm_engine(settings)
    frame = engine.snapshot()
    assert isinstance(frame, pd.DataFrame)
    assert sorted(frame["symbol"]) == sorted(WATCHLIST.values())
    for column in (
        "last_price",
        "institutional_ratio",
        "order_imbalance",
        "volume_surge",
        "price_state",
        "pcr",
        "state",
        "confidence",
        "rank_points",
    ):
        assert column in frame.columns
    assert frame["ready"].all()
    assert frame["institutional_ratio"].round(6).tolist() == [0.3, 0.3, 0.3]


def test_snapshot_is_not_changed_by_later_updates(settings):
    engine, warm = warm_engine(settings)
    before = engine.snapshot()
    ticks_before = before["ticks"].copy()
    feed(engine, normal_session(START + 601, 10, {t: last_volume(warm, t) for t in WATCHLIST}))
    assert before["ticks"].equals(ticks_before)
    assert (engine.snapshot()["ticks"] > ticks_before).all()


def test_set_pcr_feeds_the_score_and_unknown_symbols_are_named(settings):
    engine, warm = warm_engine(settings)
    engine.set_pcr("ICEBERG", PCRResult(1.5, 1.1, PcrBias.BULLISH, 3, 2, 1, 1))
    signals = feed(engine, episode(warm, START + 601, 180))
    assert signals[0].pcr == 1.5 and signals[0].pcr_bias == "BULLISH"
    assert signals[0].factors["pcr"] == 4
    with pytest.raises(UnknownInstrumentError, match="NIFTY50 is not on the watchlist"):
        engine.set_pcr("NIFTY50", 1.0)
    with pytest.raises(ValueError, match="non-negative"):
        engine.set_pcr("ICEBERG", -1)


def test_ltp_only_ticks_update_the_price_but_not_the_flow(settings):
    engine = SignalEngine(settings, WATCHLIST)
    ltp = empty_ticks(1)
    ltp["instrument_token"], ltp["mode"], ltp["last_price"] = 101, 1, 123.45
    engine.update(ltp)
    row = engine.snapshot().set_index("symbol").loc["ICEBERG"]
    assert row["last_price"] == 123.45 and not row["ready"]


def test_a_mock_pcr_is_shown_but_scores_as_unknown(settings):
    from engine.pcr import mock_pcr

    engine, warm = warm_engine(settings)
    engine.set_pcr("ICEBERG", mock_pcr())
    signals = feed(engine, episode(warm, START + 601, 180))
    row = engine.snapshot().set_index("symbol").loc["ICEBERG"]
    assert row["pcr"] == 1.0 and row["pcr_origin"] == "mock"
    # Unknown: no points, and left out of what could be scored (12 less the PCR's 4).
    assert signals[0].factors["pcr"] == 0 and signals[0].factors["max"] == 8
    assert signals[0].factors["pcr_origin"] == "mock"


def test_a_watchlist_change_keeps_what_was_learned_about_the_kept_symbols(settings):
    start = 1_763_005_500
    streams = {
        101: steady_flow(101, start, 900, price=100.0),
        202: steady_flow(202, start, 900, price=50.0, traded_per_second=900, trade_at="bid"),
        303: steady_flow(303, start, 900, price=20.0),
    }
    before = SignalEngine(settings, {101: "AAA", 202: "BBB"})
    feed = interleave(streams[101], streams[202])
    seconds = feed["exchange_timestamp"]
    for second in range(start, start + 600):
        before.update(feed[seconds == second])
    after = SignalEngine(settings, {202: "BBB", 303: "CCC"})
    assert after.continue_from(before) == ["BBB"]
    columns = ["institutional_ratio", "order_imbalance", "volume_surge", "atr", "ready", "ticks"]
    old = before.snapshot().set_index("symbol").loc["BBB", columns]
    new = after.snapshot().set_index("symbol").loc["BBB", columns]
    assert old.to_dict() == new.to_dict() and bool(new["ready"])
    assert len(after.history_frame("BBB")) == len(before.history_frame("BBB"))
    # Both go on the same way for the kept symbol; the new one starts from nothing.
    later = interleave(streams[101], streams[202], streams[303])
    seconds = later["exchange_timestamp"]
    for second in range(start + 600, start + 660):
        batch = later[seconds == second]
        before.update(batch[batch["instrument_token"] != 303])
        after.update(batch[batch["instrument_token"] != 101])
    old = before.snapshot().set_index("symbol").loc["BBB", columns]
    new = after.snapshot().set_index("symbol").loc["BBB", columns]
    assert old.to_dict() == new.to_dict()
    assert after.snapshot().set_index("symbol").loc["CCC", "ticks"] == 60  # only since the change


def test_a_packet_from_the_future_is_rejected_and_never_blinds_the_engine(settings):
    engine, warm = warm_engine(settings)
    rogue = steady_flow(202, START + 600 + 10**8, 0, start_volume=last_volume(warm, 202) + 10)
    assert engine.update(rogue, received_at=START + 600) == []
    assert engine.future_ticks == 1 and engine.state.now == START + 600
    # The iceberg that follows is seen as if the rogue packet had never come.
    ticks = episode(warm, START + 601, 180)
    signals = []
    for second in np.unique(ticks["exchange_timestamp"]):
        batch = ticks[ticks["exchange_timestamp"] == second]
        signals += engine.update(batch, received_at=float(second) + 0.3)
    assert [s.signal_type for s in signals] == [SignalType.ACCUMULATION]
    assert engine.state.stale_ticks == 0 and engine.future_ticks == 1


def test_an_absurdly_old_packet_is_rejected_and_counted(settings):
    engine, _ = warm_engine(settings)
    ancient = steady_flow(101, 946_684_800, 0)  # 2000-01-01
    engine.update(ancient, received_at=START + 601)
    assert engine.ancient_ticks == 1
    assert engine.snapshot().set_index("symbol").loc["ICEBERG", "last_price"] != 0


def test_an_older_packet_never_overwrites_the_quote(settings):
    engine = SignalEngine(settings, WATCHLIST)
    newer = steady_flow(101, START + 10, 0, price=101.0, bid_depth=5_000)
    older = steady_flow(101, START + 5, 0, price=99.0, bid_depth=90_000)
    engine.update(newer)
    engine.update(older)
    row = engine.snapshot().set_index("symbol").loc["ICEBERG"]
    assert row["last_price"] == pytest.approx(100.95)  # newer's bid, where it traded
    assert engine.state.bid_depth[0] == 5_000


def locked_at_upper_circuit(start: int, seconds: int, start_volume: int) -> np.ndarray:
    """Bids only, trades at the limit; an ask flickers for one second in the middle."""
    ticks = steady_flow(
        101,
        start,
        seconds,
        traded_per_second=300,
        bid_depth=50_000,
        trade_at="bid",
        start_volume=start_volume,
    )
    ticks["ask_price"], ticks["ask_qty"], ticks["ask_orders"] = 0.0, 0, 0
    flicker = seconds // 2
    ticks["ask_price"][flicker, 0], ticks["ask_qty"][flicker, 0] = 100.05, 25
    return ticks


def test_a_stock_locked_at_its_circuit_is_shown_locked_and_never_scored(settings):
    engine, warm = warm_engine(settings)
    quiet = normal_session(
        START + 601, 180, {t: last_volume(warm, t) for t in (202, 303)}, tokens=(202, 303)
    )
    ticks = interleave(locked_at_upper_circuit(START + 601, 180, last_volume(warm, 101)), quiet)
    bought_before = engine.state.totals["buy_volume"][0]
    assert feed(engine, ticks) == []
    row = engine.snapshot().set_index("symbol").loc["ICEBERG"]
    assert row["book_state"] == "bid only: locked at upper circuit"
    assert row["state"] == ""
    # The volume hit the bid (the only quote): none of it went to the flickering ask.
    assert engine.state.totals["buy_volume"][0] == bought_before
    assert np.isnan(engine._published["ask_ratio"][0])


def test_the_daily_cap_and_cool_downs_are_taken_up_from_signals_already_issued(settings):
    engine, warm = warm_engine(settings, max_daily_signals=2)
    # Earlier today (before a restart): one signal on QUIET at 09:20 and one on ICEBERG
    # five minutes ago; yesterday's does not count against today's cap.
    issued = [
        ("QUIET", "SELL", START + 300),
        ("ICEBERG", "BUY", START + 300),
        ("OTHER", "BUY", START - 86_400),
    ]
    assert engine.restore_gates(issued, START + 600) == 2
    assert engine.signals_today == 2
    assert feed(engine, episode(warm, START + 601, 180)) == []  # cap reached, cooling down
    fresh, _ = warm_engine(settings, max_daily_signals=3)
    fresh.restore_gates([("QUIET", "SELL", START + 300)], START + 600)
    assert len(feed(fresh, episode(warm, START + 601, 180))) == 1
    assert fresh.signals_today == 2
    # ICEBERG's BUY five minutes ago quiets its long signals: the hidden buyer's
    # ACCUMULATION waits out the cool-down ...
    cooling, _ = warm_engine(settings)
    cooling.restore_gates([("ICEBERG", "BUY", START + 300)], START + 600)
    assert feed(cooling, episode(warm, START + 601, 180)) == []
    # ... which a SELL's does not: a signal the other way is no repeat of it.
    reversed_, _ = warm_engine(settings)
    reversed_.restore_gates([("ICEBERG", "SELL", START + 300)], START + 600)
    signals = feed(reversed_, episode(warm, START + 601, 180))
    assert [s.signal_type for s in signals] == [SignalType.ACCUMULATION]


def test_a_book_that_is_always_thin_is_judged_against_its_own_normal(settings):
    # THIN shows 1,000 on the bid while 250 a second hit it, all day: a ratio of 15, normal
    # for it. A level that never changes is one episode: one signal, not one every cool-down
    # all day.
    thin = iceberg(START, 3_000, 1_000_000)
    judged = SignalEngine(settings.model_copy(update={"min_confidence": 6}), {101: "THIN"})
    signals = feed(judged, thin)
    assert len(signals) <= 1
    row = judged.snapshot().iloc[0]
    assert row["institutional_ratio"] >= 2 * settings.institutional_threshold
    assert abs(row["ratio_z"]) < settings.min_ratio_z


def test_no_accumulation_in_the_opening_minutes(settings):
    engine, warm = warm_engine(settings, opening_quiet_minutes=20)
    assert feed(engine, episode(warm, START + 601, 180)) == []  # 09:25-09:28, still quiet


def test_the_days_volume_delta_counts_buyers_less_sellers_and_starts_again_each_day(settings):
    engine = SignalEngine(settings, {101: "AAA"})
    # 60 s of sellers hitting the bid (250 a second), then 60 s of buyers lifting the offer.
    sold = steady_flow(101, START, 60, traded_per_second=250, trade_at="bid")
    bought = steady_flow(
        101,
        START + 61,
        59,
        traded_per_second=100,
        trade_at="ask",
        start_volume=int(sold["volume_traded"][-1]) + 100,
    )
    feed(engine, np.concatenate([sold, bought]))
    delta = engine.snapshot().set_index("symbol").loc["AAA", "cvd"]
    assert delta == pytest.approx(-250 * 60 + 100 * 60)
    # The next day's first ticks start it from zero.
    tomorrow = steady_flow(101, START + 86_400, 10, traded_per_second=100, trade_at="ask")
    feed(engine, tomorrow)
    assert engine.snapshot().set_index("symbol").loc["AAA", "cvd"] == pytest.approx(100 * 10)
