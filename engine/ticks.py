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
order. One compiled pass (numba) walks the length headers and writes every field of every row
straight into the record array; what the Python level adds is the array allocation and, for a
broken frame, the walk that explains where it breaks. The field maps it follows are the same
tables the encoder uses, so the two stay each other's inverse.

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

import numba
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

# Fields are grouped by type so that each group is one contiguous block of the record: the
# parser fills all sixteen prices, or all nineteen counts, with one array operation.
PRICE_FIELDS = ("last_price", "average_traded_price", "open", "high", "low", "close")
COUNT_FIELDS = (
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
TICK_DTYPE = np.dtype(
    [(name, np.float64) for name in PRICE_FIELDS]
    + [
        ("bid_price", np.float64, (DEPTH_LEVELS,)),
        ("ask_price", np.float64, (DEPTH_LEVELS,)),
        ("change", np.float64),
    ]
    + [(name, np.int64) for name in COUNT_FIELDS]
    + [
        ("bid_qty", np.int64, (DEPTH_LEVELS,)),
        ("ask_qty", np.int64, (DEPTH_LEVELS,)),
        ("bid_orders", np.int32, (DEPTH_LEVELS,)),
        ("ask_orders", np.int32, (DEPTH_LEVELS,)),
        ("instrument_token", np.uint32),
        ("mode", np.uint8),
        ("tradable", np.bool_),
    ],
    align=True,  # records padded to 8 bytes, so every float and int sits aligned
)
"""One tick, field names as in kiteconnect's tick dicts; depth flattened to (5,) arrays.

``change`` is the percent change of ``last_price`` against ``close`` (0 if close is 0)."""

_PRICE_BLOCK = len(PRICE_FIELDS) + 2 * DEPTH_LEVELS  # 16 float64 from last_price on
_COUNT_BLOCK = len(COUNT_FIELDS) + 2 * DEPTH_LEVELS  # 19 int64 from last_traded_quantity on

# Where each field sits in a packet, as the index of its 4-byte big-endian word. Depth entry
# j (0-4 bids, 5-9 asks) of a full packet is words 16+3j (quantity), 17+3j (price) and the
# high half of 18+3j (orders). Per packet length: (block columns, packet words).
_DEPTH_PRICE_WORDS = list(range(17, 46, 3))
_DEPTH_QTY_WORDS = list(range(16, 46, 3))
_ORDER_WORDS = list(range(18, 46, 3))
_PRICE_WORDS = {
    8: ([0], [1]),
    28: ([0, 2, 3, 4, 5], [1, 4, 2, 3, 5]),
    32: ([0, 2, 3, 4, 5], [1, 4, 2, 3, 5]),
    44: (list(range(6)), [1, 3, 7, 8, 9, 10]),
    184: (list(range(16)), [1, 3, 7, 8, 9, 10, *_DEPTH_PRICE_WORDS]),
}
_COUNT_WORDS = {
    8: ([], []),
    28: ([], []),
    32: ([8], [7]),
    44: ([0, 1, 2, 3], [2, 4, 5, 6]),
    184: (list(range(19)), [2, 4, 5, 6, 11, 12, 13, 14, 15, *_DEPTH_QTY_WORDS]),
}

_CLOSE_WORD = {28: 5, 32: 5, 44: 10, 184: 10}
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


def _block(ticks: np.ndarray, first_field: str, columns: int, dtype) -> np.ndarray:
    """A (rows, columns) view of ``columns`` consecutive same-typed values from a field on."""
    start = TICK_DTYPE.fields[first_field][1]
    width = np.dtype(dtype).itemsize * columns
    return (
        ticks.view(np.uint8)
        .reshape(len(ticks), TICK_DTYPE.itemsize)[:, start : start + width]
        .view(dtype)
    )


def empty_ticks(count: int = 0) -> np.ndarray:
    """``count`` ticks with every field at its "absent" value (0, or NaN for prices)."""
    ticks = np.zeros(count, dtype=TICK_DTYPE)
    _block(ticks, "last_price", _PRICE_BLOCK, np.float64)[:] = np.nan
    return ticks


def _explain(payload: bytes, count: int) -> None:
    """Walk the length headers one by one and raise a FrameError saying where the frame
    breaks (called only when the compiled walk found that it does)."""
    size, position = len(payload), 2
    for index in range(count):
        if position + 2 > size:
            raise FrameError(
                f"frame truncated: packet {index + 1} of {count} has no length header at "
                f"offset {position} (frame is {size} bytes)"
            )
        length = _HEADER.unpack_from(payload, position)[0]
        if length not in _MODE_OF_LENGTH:
            raise FrameError(
                f"packet {index + 1} of {count} at offset {position} claims {length} bytes; "
                f"Kite packets are {', '.join(map(str, PACKET_LENGTHS))} bytes"
            )
        if position + 2 + length > size:
            raise FrameError(
                f"frame truncated: packet {index + 1} of {count} at offset {position} needs "
                f"{length} bytes, only {size - position - 2} remain"
            )
        position += 2 + length
    raise FrameError(
        f"{size - position} unexpected bytes at offset {position} after the last of {count} packets"
    )


# The compiled walk's tables, indexed by packet length: which packet word fills each price
# column / count column (-1: the kind lacks it), the close price's word, and the mode.
_PRICE_MAP = np.full((185, _PRICE_BLOCK), -1, dtype=np.int64)
_COUNT_MAP = np.full((185, _COUNT_BLOCK), -1, dtype=np.int64)
_CLOSE_MAP = np.full(185, -1, dtype=np.int64)
_MODE_MAP = np.zeros(185, dtype=np.uint8)
for _length in PACKET_LENGTHS:
    _PRICE_MAP[_length, _PRICE_WORDS[_length][0]] = _PRICE_WORDS[_length][1]
    _COUNT_MAP[_length, _COUNT_WORDS[_length][0]] = _COUNT_WORDS[_length][1]
    _CLOSE_MAP[_length] = _CLOSE_WORD.get(_length, -1)
    _MODE_MAP[_length] = _MODE_OF_LENGTH[_length]


@numba.njit(inline="always")
def _word(frame, at):  # pragma: no cover - compiled
    """The big-endian 32-bit word at byte ``at`` of ``frame``."""
    return (
        (np.int64(frame[at]) << 24)
        | (np.int64(frame[at + 1]) << 16)
        | (np.int64(frame[at + 2]) << 8)
        | np.int64(frame[at + 3])
    )


_FULL_PRICE_WORDS = np.array(_PRICE_WORDS[184][1], dtype=np.int64)
_FULL_COUNT_WORDS = np.array(_COUNT_WORDS[184][1], dtype=np.int64)
_T = numba.types
_FRAME = _T.Array(_T.uint8, 1, "C", readonly=True)  # np.frombuffer of the message's bytes


@numba.njit(
    _T.boolean(
        _FRAME,
        _T.int64,
        _T.int64[:, ::1],
        _T.int64[:, ::1],
        _T.int64[::1],
        _T.uint8[::1],
        _T.float64[:, :],
        _T.int64[:, :],
        _T.int32[:, :],
        _T.uint32[:],
        _T.uint8[:],
        _T.boolean[:],
        _T.float64[:],
    ),
    cache=True,
    nogil=True,
)
def _parse_packets(
    frame,
    count,
    price_map,
    count_map,
    close_map,
    mode_map,
    prices,
    counts,
    orders,
    tokens,
    modes,
    tradable,
    change,
):  # pragma: no cover - compiled; its behaviour is tested through parse_kite_frame
    """Walk the ``count`` packets of ``frame`` once and write every field of every row.

    Fields a kind lacks get their absent value (NaN prices, zero counts). Returns False at
    the first header that does not add up; the caller then explains it (:func:`_explain`).
    """
    size = frame.shape[0]
    position = 2
    for row in range(count):
        if position + 2 > size:
            return False
        length = (np.int64(frame[position]) << 8) | np.int64(frame[position + 1])
        if length > 184 or mode_map[length] == 0:
            return False
        body = position + 2
        if body + length > size:
            return False
        token = _word(frame, body)
        segment = token & 0xFF
        divisor = 100.0
        if segment == 3:
            divisor = 1e7
        elif segment == 6 or segment == 12:
            divisor = 1e4
        tokens[row] = token
        modes[row] = mode_map[length]
        tradable[row] = segment != 9
        if length == 184:  # the usual full packet: fixed words, no absent fields
            for column in range(16):
                prices[row, column] = _word(frame, body + 4 * _FULL_PRICE_WORDS[column]) / divisor
            for column in range(19):
                counts[row, column] = _word(frame, body + 4 * _FULL_COUNT_WORDS[column])
            for level in range(10):
                at = body + 72 + 12 * level
                orders[row, level] = (np.int64(frame[at]) << 8) | np.int64(frame[at + 1])
            close = prices[row, 5]
            change[row] = (prices[row, 0] - close) * 100 / close if close != 0 else 0.0
            position = body + length
            continue
        for column in range(price_map.shape[1]):
            word = price_map[length, column]
            if word < 0:
                prices[row, column] = np.nan
            else:
                at = body + 4 * word
                value = _word(frame, at)
                prices[row, column] = value / divisor
        for column in range(count_map.shape[1]):
            word = count_map[length, column]
            if word < 0:
                counts[row, column] = 0
            else:
                at = body + 4 * word
                counts[row, column] = _word(frame, at)
        for level in range(orders.shape[1]):
            if length == 184:
                at = body + 4 * (18 + 3 * level)
                orders[row, level] = (np.int64(frame[at]) << 8) | np.int64(frame[at + 1])
            else:
                orders[row, level] = 0
        change[row] = 0.0
        word = close_map[length]
        if word >= 0:
            at = body + 4 * word
            close = _word(frame, at) / divisor
            if close != 0:
                change[row] = (prices[row, 0] - close) * 100 / close
        position = body + length
    return position == size


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
    if count == 0:
        if len(payload) != 2:
            raise FrameError(f"{len(payload) - 2} unexpected bytes at offset 2 after 0 packets")
        return empty_ticks(0)
    ticks = np.empty(count, TICK_DTYPE)
    complete = _parse_packets(
        np.frombuffer(payload, dtype=np.uint8),
        count,
        _PRICE_MAP,
        _COUNT_MAP,
        _CLOSE_MAP,
        _MODE_MAP,
        _block(ticks, "last_price", _PRICE_BLOCK, np.float64),
        _block(ticks, "last_traded_quantity", _COUNT_BLOCK, np.int64),
        _block(ticks, "bid_orders", 2 * DEPTH_LEVELS, np.int32),
        ticks["instrument_token"],
        ticks["mode"],
        ticks["tradable"],
        ticks["change"],
    )
    if not complete:
        _explain(payload, count)  # raises a FrameError that names the offset
        raise FrameError("frame headers do not add up")  # pragma: no cover - _walk raised
    return ticks


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
    for length in np.unique(lengths).tolist():
        rows = np.flatnonzero(lengths == length)
        wire = np.zeros(len(rows), dtype=[("len", ">u2"), ("words", ">u4", (length // 4,))])
        wire["len"] = length
        wire["words"] = _to_words(ticks[rows], length)
        parts.append((rows, wire))
    header = _HEADER.pack(count)
    if len(parts) == 1:
        return header + parts[0][1].tobytes()
    records: list[bytes] = [b""] * count
    for rows, wire in parts:
        for row, record in zip(rows.tolist(), wire, strict=True):
            records[row] = record.tobytes()
    return header + b"".join(records)


def _to_words(ticks: np.ndarray, length: int) -> np.ndarray:
    """The (ticks, length / 4) packet words of ``ticks``: the inverse of the parser."""
    words = np.zeros((len(ticks), length // 4), dtype=np.int64)
    token = ticks["instrument_token"]
    divisor = price_divisor(token)[:, None]
    words[:, 0] = token
    prices = np.nan_to_num(_block(ticks, "last_price", _PRICE_BLOCK, np.float64))
    columns, packet_words = _PRICE_WORDS[length]
    words[:, packet_words] = np.rint(prices[:, columns] * divisor)
    columns, packet_words = _COUNT_WORDS[length]
    if columns:
        counts = _block(ticks, "last_traded_quantity", _COUNT_BLOCK, np.int64)
        words[:, packet_words] = counts[:, columns]
    if length in (28, 32):
        words[:, 6] = np.rint(np.nan_to_num(ticks["change"]) * 100).astype(np.int64) & 0xFFFFFFFF
    if length == 184:
        orders = _block(ticks, "bid_orders", 2 * DEPTH_LEVELS, np.int32).astype(np.int64)
        words[:, 18::3] = orders << 16
    return words.astype(np.uint32)
