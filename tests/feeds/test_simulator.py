"""The simulator: real Kite frames, a deterministic session, and detectable ground truth."""

from __future__ import annotations

from kiteconnect import KiteTicker

from engine import calculate_real_pcr, parse_kite_frame
from feeds.simulator import (
    MarketSimulator,
    simulated_instruments,
    synthetic_instruments,
)

START = 1_763_005_500  # 2025-11-13 09:15 IST


def test_frames_are_what_kiteconnect_itself_parses():
    instruments, _ = simulated_instruments(["RELIANCE", "TCS", "INFY"])
    simulator = MarketSimulator(instruments, START, seed=1)
    frame = simulator.frame()
    reference = KiteTicker.__new__(KiteTicker)._parse_binary(frame)
    parsed = parse_kite_frame(frame)
    assert [t["mode"] for t in reference] == ["full"] * 3
    assert [t["instrument_token"] for t in reference] == parsed["instrument_token"].tolist()
    assert [t["last_price"] for t in reference] == parsed["last_price"].tolist()
    assert [len(t["depth"]["buy"]) for t in reference] == [5, 5, 5]


def test_one_packet_per_instrument_per_simulated_second():
    instruments = synthetic_instruments(25)
    simulator = MarketSimulator(instruments, START, seed=2)
    first, second = parse_kite_frame(simulator.frame()), parse_kite_frame(simulator.frame())
    assert len(first) == len(second) == 25
    assert set(first["exchange_timestamp"]) == {START}
    assert set(second["exchange_timestamp"]) == {START + 1}
    assert (second["volume_traded"] >= first["volume_traded"]).all()
    assert (first["bid_price"][:, 0] < first["ask_price"][:, 0]).all()


def test_the_same_seed_gives_the_same_session():
    instruments, _ = simulated_instruments(["SBIN", "ITC"])
    one, two = (
        MarketSimulator(instruments, START, seed=5),
        MarketSimulator(instruments, START, seed=5),
    )
    assert one.episodes == two.episodes
    assert all(one.frame() == two.frame() for _ in range(50))


def test_unknown_symbols_are_reported_by_name():
    instruments, unknown = simulated_instruments(["RELIANCE", "NIFTY50", "FOO"])
    assert [i.symbol for i in instruments] == ["RELIANCE"]
    assert unknown == ["NIFTY50 (not simulated)", "FOO (not simulated)"]


def test_the_simulator_takes_the_watchlist_syntax_and_invents_contracts_for_aliases():
    from datetime import date

    symbols = ["BSE:RELIANCE", "NFO:NIFTY-I", "NFO:NIFTY-II", "MCX:CRUDEOIL-I", "CDS:USDINR-I"]
    instruments, unknown = simulated_instruments(symbols, today=date(2026, 1, 28))
    assert [(i.symbol, i.entry) for i in instruments] == [
        ("BSE:RELIANCE", ""),
        ("NFO:NIFTY26FEBFUT", "NFO:NIFTY-I"),  # January's expired on Tuesday the 27th
        ("NFO:NIFTY26MARFUT", "NFO:NIFTY-II"),
        ("MCX:CRUDEOIL26FEBFUT", "MCX:CRUDEOIL-I"),
    ]
    assert unknown == ["CDS:USDINR-I (not simulated)"]
    segments = [i.instrument_token & 0xFF for i in instruments]
    assert segments == [4, 2, 2, 7]  # Kite's segment codes: BSE, NFO, NFO, MCX
    assert len({i.instrument_token for i in instruments}) == 4


def test_simulated_option_chain_gives_a_pcr_labelled_simulated():
    instruments, _ = simulated_instruments(["INFY"])
    simulator = MarketSimulator(instruments, START, seed=3)
    simulator.step()
    result = calculate_real_pcr(simulator.option_chain("INFY"), origin="simulated")
    assert result.available and 0.3 < result.pcr < 3
    assert result.origin == "simulated"
