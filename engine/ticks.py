"""Kite binary frames to numpy tick arrays.

A Kite WebSocket binary message ("frame") is big-endian: a 2-byte packet count, then for each
packet a 2-byte length and the packet itself. A packet's length says its kind:

====== ===================================================================
bytes  kind
====== ===================================================================
8      LTP mode: token, last price
28     index, quote mode: token, last price, high, low, open, close, change
32     index, full mode: the 28 bytes plus the exchange timestamp
44     quote mode: price, last quantity, average price, volume, buy/sell quantities, OHLC
184    full mode: the 44 bytes plus last trade time, OI and 5 levels of depth each side
====== ===================================================================

``parse_kite_frame`` turns one frame into one row of :data:`TICK_DTYPE` per packet, in frame
order, without a Python loop over packets when every packet has the same length (the common
full-mode frame) and with one cheap loop over the 2-byte length headers otherwise.

Conventions of the output, identical to kiteconnect's tick dicts where those have the field:

* Prices are floats: the integer in the packet divided by the segment's divisor (CDS 1e7,
  BCD and NCO 1e4, every other segment 100).
* A field the packet kind does not carry is ``0`` for counts and times, and ``NaN`` for prices
  (``average_traded_price``, OHLC of an LTP packet, depth prices), because a price of 0 would be
  a real-looking number.
* Times (``last_trade_time``, ``exchange_timestamp``) are epoch seconds, ``0`` where absent.
* ``mode`` is :data:`MODE_LTP`, :data:`MODE_QUOTE` or :data:`MODE_FULL` (names in
  :data:`MODE_NAMES`); ``tradable`` is False for the indices segment.
"""

from __future__ import annotations

import struct

import numpy as np

MODE_LTP = 1
MODE_QUOTE = 2
MODE_FULL = 3
MODE_NAMES = {MODE_LTP: "ltp", MODE_QUOTE: "quote", MODE_FULL: "full"}

SEGMENT_CDS = 3
SEGMENT_BCD = 6
SEGMENT_INDICES = 9
SEGMENT_NCO = 12

DEPTH_LEVELS = 5
PACKET_LENGTHS = (8, 28, 32, 44, 184)

TICK_DTYPE = np.dtype(
    [
        ("instrument_token", np.uint32),
        ("mode", np.uint8),
        ("tradable", np.bool_),
        ("last_price", np.float64),
        ("last_traded_quantity", np.int64),
        ("average_traded_price", np.float64),
        ("volume_traded", np.int64),
        ("total_buy_quantity", np.int64),
        ("total_sell_quantity", np.int64),
        ("open", np.float64),
        ("high", np.float64),
        ("low", np.float64),
        ("close", np.float64),
        ("change", np.float64),  # percent change of last_price against close, 0 if close is 0
        ("last_trade_time", np.int64),
        ("oi", np.int64),
        ("oi_day_high", np.int64),
        ("oi_day_low", np.int64),
        ("exchange_timestamp", np.int64),
        ("bid_qty", np.int64, (DEPTH_LEVELS,)),
        ("bid_price", np.float64, (DEPTH_LEVELS,)),
        ("bid_orders", np.int32, (DEPTH_LEVELS,)),
        ("ask_qty", np.int64, (DEPTH_LEVELS,)),
        ("ask_price", np.float64, (DEPTH_LEVELS,)),
        ("ask_orders", np.int32, (DEPTH_LEVELS,)),
    ]
)
"""One tick, field names as in kiteconnect's tick dicts; depth flattened to (5,) arrays."""

_U4 = ">u4"
_DEPTH_ENTRY = np.dtype([("qty", _U4), ("price", _U4), ("orders", ">u2"), ("_pad", ">u2")])

# Wire layouts, each prefixed with the 2-byte length header so a uniform frame can be viewed
# with np.frombuffer directly, header included.
_WIRE = {
    8: np.dtype([("len", ">u2"), ("instrument_token", _U4), ("last_price", _U4)]),
    28: np.dtype(
        [
            ("len", ">u2"),
            ("instrument_token", _U4),
            ("last_price", _U4),
            ("high", _U4),
            ("low", _U4),
            ("open", _U4),
            ("close", _U4),
            ("_change", ">i4"),
        ]
    ),
    32: np.dtype(
        [
            ("len", ">u2"),
            ("instrument_token", _U4),
            ("last_price", _U4),
            ("high", _U4),
            ("low", _U4),
            ("open", _U4),
            ("close", _U4),
            ("_change", ">i4"),
            ("exchange_timestamp", _U4),
        ]
    ),
    44: np.dtype(
        [
            ("len", ">u2"),
            ("instrument_token", _U4),
            ("last_price", _U4),
            ("last_traded_quantity", _U4),
            ("average_traded_price", _U4),
            ("volume_traded", _U4),
            ("total_buy_quantity", _U4),
            ("total_sell_quantity", _U4),
            ("open", _U4),
            ("high", _U4),
            ("low", _U4),
            ("close", _U4),
        ]
    ),
    184: np.dtype(
        [
            ("len", ">u2"),
            ("instrument_token", _U4),
            ("last_price", _U4),
            ("last_traded_quantity", _U4),
            ("average_traded_price", _U4),
            ("volume_traded", _U4),
            ("total_buy_quantity", _U4),
            ("total_sell_quantity", _U4),
            ("open", _U4),
            ("high", _U4),
            ("low", _U4),
            ("close", _U4),
            ("last_trade_time", _U4),
            ("oi", _U4),
            ("oi_day_high", _U4),
            ("oi_day_low", _U4),
            ("exchange_timestamp", _U4),
            ("bid", _DEPTH_ENTRY, (DEPTH_LEVELS,)),
            ("ask", _DEPTH_ENTRY, (DEPTH_LEVELS,)),
        ]
    ),
}
_PRICE_FIELDS = ("last_price", "average_traded_price", "open", "high", "low", "close")
_COUNT_FIELDS = (
    "last_traded_quantity",
    "volume_traded",
    "total_buy_quantity",
    "total_sell_quantity",
    "last_trade_time",
    "oi",
    "oi_day_high",
    "oi_day_low",
    "exchange_timestamp",
)
_MODE_OF_LENGTH = {8: MODE_LTP, 28: MODE_QUOTE, 32: MODE_FULL, 44: MODE_QUOTE, 184: MODE_FULL}
_HEADER = struct.Struct(">H")


class FrameError(ValueError):
    """A Kite binary frame that is truncated or inconsistent; the message names the offset."""


def price_divisor(instrument_token: np.ndarray) -> np.ndarray:
    """Divisor that turns the wire's integer prices into rupees (or the contract's currency)."""
    segment = np.asarray(instrument_token) & 0xFF
    divisor = np.full(segment.shape, 100.0)
    divisor[segment == SEGMENT_CDS] = 1e7
    divisor[(segment == SEGMENT_BCD) | (segment == SEGMENT_NCO)] = 1e4
    return divisor


def empty_ticks(count: int = 0) -> np.ndarray:
    """``count`` ticks with every field at its "absent" value (0, or NaN for prices)."""
    ticks = np.zeros(count, dtype=TICK_DTYPE)
    for name in (*_PRICE_FIELDS, "bid_price", "ask_price"):
        ticks[name] = np.nan
    return ticks


def _packet_offsets(payload: bytes, count: int) -> tuple[np.ndarray, np.ndarray]:
    """Offsets (of each packet's length header) and lengths of the ``count`` packets."""
    size = len(payload)
    first_length = _HEADER.unpack_from(payload, 2)[0] if size >= 4 else -1
    if count and first_length in _WIRE and size == 2 + count * (2 + first_length):
        # Uniform frame: check every header with one strided view instead of walking.
        headers = np.ndarray(
            (count,), dtype=">u2", buffer=payload, offset=2, strides=(2 + first_length,)
        )
        if np.all(headers == first_length):
            offsets = 2 + np.arange(count, dtype=np.int64) * (2 + first_length)
            return offsets, np.full(count, first_length, dtype=np.int64)
    offsets = np.empty(count, dtype=np.int64)
    lengths = np.empty(count, dtype=np.int64)
    position = 2
    unpack = _HEADER.unpack_from
    for index in range(count):
        if position + 2 > size:
            raise FrameError(
                f"frame truncated: packet {index + 1} of {count} has no length header at "
                f"offset {position} (frame is {size} bytes)"
            )
        length = unpack(payload, position)[0]
        if length not in _WIRE:
            raise FrameError(
                f"packet {index + 1} of {count} at offset {position} claims {length} bytes; "
                f"Kite packets are {', '.join(map(str, PACKET_LENGTHS))} bytes"
            )
        if position + 2 + length > size:
            raise FrameError(
                f"frame truncated: packet {index + 1} of {count} at offset {position} needs "
                f"{length} bytes, only {size - position - 2} remain"
            )
        offsets[index] = position
        lengths[index] = length
        position += 2 + length
    if position != size:
        raise FrameError(
            f"{size - position} unexpected bytes at offset {position} after the last of "
            f"{count} packets"
        )
    return offsets, lengths


def _fill(ticks: np.ndarray, rows: np.ndarray | slice, wire: np.ndarray, length: int) -> None:
    """Copy one packet kind's wire records into ``ticks[rows]``, scaling prices."""
    token = wire["instrument_token"].astype(np.uint32)
    divisor = price_divisor(token)
    ticks["instrument_token"][rows] = token
    ticks["mode"][rows] = _MODE_OF_LENGTH[length]
    ticks["tradable"][rows] = (token & 0xFF) != SEGMENT_INDICES
    names = wire.dtype.names
    for name in _PRICE_FIELDS:
        if name in names:
            ticks[name][rows] = wire[name] / divisor
    for name in _COUNT_FIELDS:
        if name in names:
            ticks[name][rows] = wire[name]
    if "close" in names:
        last_price = wire["last_price"] / divisor
        close = wire["close"] / divisor
        change = np.zeros(len(token))
        np.divide((last_price - close) * 100, close, out=change, where=close != 0)
        ticks["change"][rows] = change
    if length == 184:
        column = divisor[:, None]
        for side in ("bid", "ask"):
            depth = wire[side]
            ticks[f"{side}_qty"][rows] = depth["qty"]
            ticks[f"{side}_price"][rows] = depth["price"] / column
            ticks[f"{side}_orders"][rows] = depth["orders"]


def parse_kite_frame(payload: bytes) -> np.ndarray:
    """Parse one Kite WebSocket binary message into a :data:`TICK_DTYPE` array.

    One row per packet, in the order of the frame. A heartbeat (fewer than 2 bytes) gives an
    empty array. A frame whose headers do not add up (truncated, unknown packet length,
    trailing bytes) raises :class:`FrameError` naming the offset; no partial rows are returned.
    """
    payload = bytes(payload) if not isinstance(payload, bytes) else payload
    if len(payload) < 2:
        return empty_ticks(0)
    count = _HEADER.unpack_from(payload, 0)[0]
    offsets, lengths = _packet_offsets(payload, count)
    ticks = empty_ticks(count)
    if count == 0:
        return ticks
    first = int(lengths[0])
    if np.all(lengths == first):
        # Validated headers of one length tile the frame exactly: view it in place.
        wire = np.frombuffer(payload, dtype=_WIRE[first], count=count, offset=2)
        _fill(ticks, slice(None), wire, first)
        return ticks
    for length in np.unique(lengths):
        rows = np.flatnonzero(lengths == length)
        _fill(ticks, rows, _gather(payload, offsets[rows], int(length)), int(length))
    return ticks


def _gather(payload: bytes, offsets: np.ndarray, length: int) -> np.ndarray:
    """Copy the packets at ``offsets`` (header included) into one contiguous wire array."""
    raw = np.frombuffer(payload, dtype=np.uint8)
    index = offsets[:, None] + np.arange(2 + length)
    return raw[index].view(_WIRE[length]).reshape(len(offsets))


def packet_length(mode: np.ndarray, instrument_token: np.ndarray) -> np.ndarray:
    """Wire length of each tick's packet: what Kite sends for that mode and segment."""
    index = (np.asarray(instrument_token) & 0xFF) == SEGMENT_INDICES
    mode = np.asarray(mode)
    return np.select(
        [mode == MODE_LTP, index & (mode == MODE_QUOTE), index, mode == MODE_QUOTE],
        [8, 28, 32, 44],
        default=184,
    )


def encode_kite_frame(ticks: np.ndarray) -> bytes:
    """Build the Kite binary frame that :func:`parse_kite_frame` reads back as ``ticks``.

    The inverse of the parser, used by the simulator, the replay tests and the benchmarks so
    that every source speaks the exact bytes of the Kite WebSocket. Prices are rounded to the
    segment's integer units; each tick's ``mode`` and segment choose its packet length.
    """
    ticks = np.asarray(ticks, dtype=TICK_DTYPE)
    count = len(ticks)
    if count > 0xFFFF:
        raise ValueError(f"a Kite frame holds at most 65535 packets, not {count}")
    lengths = packet_length(ticks["mode"], ticks["instrument_token"])
    parts: list[tuple[np.ndarray, np.ndarray]] = []
    for length in np.unique(lengths):
        rows = np.flatnonzero(lengths == length)
        parts.append((rows, _to_wire(ticks[rows], int(length))))
    header = _HEADER.pack(count)
    if len(parts) == 1:
        return header + parts[0][1].tobytes()
    records: list[bytes] = [b""] * count
    for rows, wire in parts:
        for row, record in zip(rows.tolist(), wire, strict=True):
            records[row] = record.tobytes()
    return header + b"".join(records)


def _to_wire(ticks: np.ndarray, length: int) -> np.ndarray:
    wire = np.zeros(len(ticks), dtype=_WIRE[length])
    divisor = price_divisor(ticks["instrument_token"])
    wire["len"] = length
    names = wire.dtype.names
    wire["instrument_token"] = ticks["instrument_token"]
    for name in _PRICE_FIELDS:
        if name in names:
            wire[name] = np.rint(np.nan_to_num(ticks[name]) * divisor)
    for name in _COUNT_FIELDS:
        if name in names:
            wire[name] = ticks[name]
    if "_change" in names:
        wire["_change"] = np.rint(np.nan_to_num(ticks["change"]) * 100)
    if length == 184:
        column = divisor[:, None]
        for side in ("bid", "ask"):
            wire[side]["qty"] = ticks[f"{side}_qty"]
            wire[side]["price"] = np.rint(np.nan_to_num(ticks[f"{side}_price"]) * column)
            wire[side]["orders"] = ticks[f"{side}_orders"]
    return wire
