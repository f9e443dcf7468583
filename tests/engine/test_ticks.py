"""parse_kite_frame against kiteconnect's own parser, and against broken input."""

from __future__ import annotations

import struct
from datetime import datetime

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from kiteconnect import KiteTicker

from engine.ticks import (
    MODE_NAMES,
    TICK_DTYPE,
    FrameError,
    encode_kite_frame,
    parse_kite_frame,
)

KITE = KiteTicker.__new__(KiteTicker)  # _parse_binary uses no instance state
SEGMENTS = [1, 2, 3, 4, 5, 6, 7, 8, 9, 12]
U32 = st.integers(0, 2**32 - 1)
U16 = st.integers(0, 2**16 - 1)


@st.composite
def packets(draw) -> bytes:
    """One random packet of a random kind, raw wire bytes (any values, any segment)."""
    token = draw(st.integers(0, 2**24 - 1)) << 8 | draw(st.sampled_from(SEGMENTS))
    length = draw(st.sampled_from([8, 28, 32, 44, 184]))
    words = draw(st.lists(U32, min_size=(length - 4) // 4, max_size=(length - 4) // 4))
    if length == 184:
        body = struct.pack(">16I", *words[:15], draw(U32))[:60]
        depth = b"".join(
            struct.pack(">IIHH", draw(U32), draw(U32), draw(U16), draw(U16)) for _ in range(10)
        )
        return struct.pack(">I", token) + body + depth
    return struct.pack(">I", token) + struct.pack(f">{len(words)}I", *words)


def frame(packet_list: list[bytes]) -> bytes:
    return struct.pack(">H", len(packet_list)) + b"".join(
        struct.pack(">H", len(packet)) + packet for packet in packet_list
    )


def epoch(value) -> int:
    return 0 if value is None else int(value.timestamp())


def assert_same_as_kiteconnect(parsed: np.ndarray, reference: list[dict]) -> None:
    assert len(parsed) == len(reference)
    for row, tick in zip(parsed, reference, strict=True):
        assert int(row["instrument_token"]) == tick["instrument_token"]
        assert MODE_NAMES[int(row["mode"])] == tick["mode"]
        assert bool(row["tradable"]) == tick["tradable"]
        assert row["last_price"] == tick["last_price"]
        for key in (
            "last_traded_quantity",
            "volume_traded",
            "total_buy_quantity",
            "total_sell_quantity",
            "oi",
            "oi_day_high",
            "oi_day_low",
        ):
            if key in tick:
                assert row[key] == tick[key], key
        if "average_traded_price" in tick:
            assert row["average_traded_price"] == tick["average_traded_price"]
        if "ohlc" in tick:
            for key in ("open", "high", "low", "close"):
                assert row[key] == tick["ohlc"][key], key
            assert row["change"] == tick["change"]
        else:
            assert np.isnan(row["close"])
        if "exchange_timestamp" in tick:
            assert row["exchange_timestamp"] == epoch(tick["exchange_timestamp"])
        else:
            assert row["exchange_timestamp"] == 0
        if "last_trade_time" in tick:
            assert row["last_trade_time"] == epoch(tick["last_trade_time"])
        if "depth" in tick:
            for side, prefix in (("buy", "bid"), ("sell", "ask")):
                levels = tick["depth"][side]
                assert list(row[f"{prefix}_qty"]) == [level["quantity"] for level in levels]
                assert list(row[f"{prefix}_price"]) == [level["price"] for level in levels]
                assert list(row[f"{prefix}_orders"]) == [level["orders"] for level in levels]
        else:
            assert np.all(row["bid_qty"] == 0) and np.all(np.isnan(row["ask_price"]))


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.lists(packets(), min_size=1, max_size=12))
def test_parser_matches_kiteconnect_field_by_field_on_random_mixed_frames(packet_list):
    payload = frame(packet_list)
    assert_same_as_kiteconnect(parse_kite_frame(payload), KITE._parse_binary(payload))


@settings(max_examples=50, deadline=None)
@given(st.integers(1, 40), st.sampled_from([8, 28, 32, 44, 184]), st.data())
def test_parser_matches_kiteconnect_on_uniform_frames(count, length, data):
    packet_list = [p for p in (data.draw(packets()) for _ in range(count * 3)) if len(p) == length][
        :count
    ] or [data.draw(packets().filter(lambda p: len(p) == length))]
    payload = frame(packet_list)
    assert_same_as_kiteconnect(parse_kite_frame(payload), KITE._parse_binary(payload))


def test_segment_divisors_follow_kite():
    ticks = np.zeros(4, dtype=TICK_DTYPE)
    ticks["mode"] = 1
    ticks["instrument_token"] = [(1 << 8) | 3, (1 << 8) | 6, (1 << 8) | 12, (1 << 8) | 1]
    ticks["last_price"] = [83.1234567, 83.1234, 5123.4567, 2950.05]
    parsed = parse_kite_frame(encode_kite_frame(ticks))
    assert parsed["last_price"].tolist() == [83.1234567, 83.1234, 5123.4567, 2950.05]


def test_indices_are_not_tradable():
    ticks = np.zeros(2, dtype=TICK_DTYPE)
    ticks["mode"] = 3
    ticks["instrument_token"] = [256265, 738561]  # NIFTY 50 (segment 9), RELIANCE (NSE)
    parsed = parse_kite_frame(encode_kite_frame(ticks))
    assert parsed["tradable"].tolist() == [False, True]


def test_heartbeat_and_empty_frame_give_no_rows():
    assert len(parse_kite_frame(b"\x00")) == 0
    assert len(parse_kite_frame(b"")) == 0
    assert len(parse_kite_frame(b"\x00\x00")) == 0


def test_fields_a_packet_kind_lacks_are_zero_or_nan():
    payload = frame([struct.pack(">II", 738561, 295005)])
    row = parse_kite_frame(payload)[0]
    assert row["last_price"] == 2950.05
    assert row["volume_traded"] == 0 and row["exchange_timestamp"] == 0
    assert np.isnan(row["average_traded_price"]) and np.isnan(row["open"])


def test_encoder_round_trips_a_full_tick():
    ticks = np.zeros(1, dtype=TICK_DTYPE)
    ticks["instrument_token"] = 738561
    ticks["mode"] = 3
    ticks["last_price"] = 2950.05
    ticks["close"] = 2900.0
    ticks["volume_traded"] = 1_234_567
    ticks["exchange_timestamp"] = int(datetime(2025, 11, 13, 10, 0).timestamp())
    ticks["bid_qty"] = [10, 20, 30, 40, 50]
    ticks["bid_price"] = [2950.0, 2949.95, 2949.9, 2949.85, 2949.8]
    ticks["ask_price"] = 2950.1
    row = parse_kite_frame(encode_kite_frame(ticks))[0]
    assert row["volume_traded"] == 1_234_567
    assert row["bid_qty"].tolist() == [10, 20, 30, 40, 50]
    assert row["bid_price"].tolist() == [2950.0, 2949.95, 2949.9, 2949.85, 2949.8]
    assert row["change"] == pytest.approx((2950.05 - 2900) * 100 / 2900)


def test_truncated_frame_names_the_offset():
    payload = frame([struct.pack(">II", 738561, 295005)] * 3)
    with pytest.raises(FrameError, match=r"offset 22"):
        parse_kite_frame(payload[:-3])


def test_unknown_packet_length_is_rejected_with_its_offset():
    payload = struct.pack(">HH", 2, 8) + struct.pack(">II", 1, 2) + struct.pack(">H", 9) + b"x" * 9
    with pytest.raises(FrameError, match=r"packet 2 of 2 at offset 12 claims 9 bytes"):
        parse_kite_frame(payload)


def test_trailing_bytes_are_an_inconsistent_frame():
    payload = frame([struct.pack(">II", 738561, 295005)]) + b"\x01\x02"
    with pytest.raises(FrameError, match=r"2 unexpected bytes at offset 12"):
        parse_kite_frame(payload)


def test_frame_error_is_a_value_error():
    assert issubclass(FrameError, ValueError)


@settings(max_examples=2000, deadline=None)
@given(st.binary(max_size=600))
def test_random_bytes_give_a_frame_error_or_valid_rows(payload):
    try:
        parsed = parse_kite_frame(payload)
    except FrameError:
        return
    assert parsed.dtype == TICK_DTYPE
    expected_rows = struct.unpack_from(">H", payload)[0] if len(payload) >= 2 else 0
    assert len(parsed) == expected_rows
    assert set(np.unique(parsed["mode"])) <= {1, 2, 3}


@settings(max_examples=300, deadline=None)
@given(st.lists(packets(), min_size=1, max_size=6), st.data())
def test_corrupting_a_valid_frame_never_yields_garbage(packet_list, data):
    payload = bytearray(frame(packet_list))
    position = data.draw(st.integers(0, len(payload) - 1))
    payload[position] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(1, len(payload)))
    try:
        parsed = parse_kite_frame(bytes(payload[:cut]))
    except FrameError:
        return
    # What parses must be exactly what kiteconnect makes of the same bytes.
    assert_same_as_kiteconnect(parsed, KITE._parse_binary(bytes(payload[:cut])))
