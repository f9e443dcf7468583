"""Watchlist entries to instruments: exchanges, aliases and their rollover, the reasons."""

from __future__ import annotations

from datetime import date, timedelta

from feeds.instruments import parse_entries, resolve
from tests.feeds.instrument_dumps import last_thursday, sample_dump

TODAY = date(2026, 1, 12)  # a Monday; January's contracts expire on the 29th


def test_entries_are_trimmed_upper_cased_prefixed_and_commented():
    text = " reliance, NSE:RELIANCE\nbse:reliance  # the BSE line\n# a comment\n\nNFO:nifty-i"
    assert parse_entries(text) == ["NSE:RELIANCE", "BSE:RELIANCE", "NFO:NIFTY-I"]


def test_each_exchange_resolves_with_its_tick_and_lot_and_duplicates_are_one():
    dump = sample_dump(TODAY)
    entries = parse_entries("RELIANCE, NSE:RELIANCE, BSE:RELIANCE, TCS, NFO:NIFTY26JANFUT")
    found = resolve(entries, dump, TODAY)
    assert found.problems == []
    assert [i.symbol for i in found.instruments] == [
        "RELIANCE",
        "BSE:RELIANCE",
        "TCS",
        "NFO:NIFTY26JANFUT",
    ]
    tcs, future = found.instruments[2], found.instruments[3]
    assert (tcs.tick_size, tcs.lot_size) == (0.1, 1)
    assert (future.lot_size, future.expiry, future.underlying) == (75, date(2026, 1, 29), "NIFTY")


def test_aliases_name_the_nearest_next_and_third_live_future_and_roll_after_expiry():
    dump = sample_dump(TODAY)
    entries = parse_entries(
        "NFO:NIFTY-I, NFO:NIFTY-II, NFO:NIFTY-III, MCX:CRUDEOIL-I, CDS:USDINR-I"
    )
    found = resolve(entries, dump, TODAY)
    assert [i.tradingsymbol for i in found.instruments] == [
        "NIFTY26JANFUT",
        "NIFTY26FEBFUT",
        "NIFTY26MARFUT",
        "CRUDEOIL26JANFUT",
        "USDINR26JANFUT",
    ]
    assert found.instruments[0].is_alias and found.instruments[0].entry == "NFO:NIFTY-I"
    expiry = last_thursday(2026, 1)
    on_the_day = resolve(["NFO:NIFTY-I"], dump, expiry).instruments[0]
    assert on_the_day.tradingsymbol == "NIFTY26JANFUT"  # still the nearest on its last day
    rolled = resolve(["NFO:NIFTY-I", "NFO:NIFTY-III"], dump, expiry + timedelta(days=1))
    assert rolled.instruments[0].tradingsymbol == "NIFTY26FEBFUT"
    assert rolled.problems == [("NFO:NIFTY-III", "no third live future of NIFTY on NFO")]


def test_what_cannot_be_resolved_is_named_with_its_reason_and_the_rest_is_kept():
    dump = sample_dump(TODAY)
    entries = parse_entries("RELIANCE, NSE:NOSUCH, XYZ:RELIANCE, NFO:NIFTY25DECFUT, NFO:GOLD-I")
    found = resolve(entries, dump, TODAY)
    assert [i.symbol for i in found.instruments] == ["RELIANCE"]
    assert found.problems == [
        ("NSE:NOSUCH", "not found on NSE"),
        ("XYZ:RELIANCE", "no such exchange 'XYZ' (one of NSE, BSE, NFO, BFO, MCX, CDS)"),
        ("NFO:NIFTY25DECFUT", "expired on 2025-12-25"),
        ("NFO:GOLD-I", "no nearest live future of GOLD on NFO"),
    ]
