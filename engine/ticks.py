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

import re
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
# One Kite packet: its 2-byte length and exactly that many bytes. The alternatives start with
# distinct headers, so at any offset at most one applies and the match walks the frame exactly.
_PACKET = re.compile(rb"\x00(?:\x08.{8}|\x1c.{28}|\x20.{32}|\x2c.{44}|\xb8.{184})", re.DOTALL)


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


def _walk(payload: bytes, count: int) -> np.ndarray:
    """Lengths of the ``count`` packets, or a FrameError naming where the frame breaks."""
    matches = _PACKET.findall(payload, 2)
    lengths = np.fromiter(map(len, matches), dtype=np.int64, count=len(matches)) - 2
    if len(matches) == count and int(lengths.sum()) + 2 * count + 2 == len(payload):
        return lengths
    # Something does not add up: walk header by header to say exactly what and where.
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


def _gathered_words(payload: bytes, starts: np.ndarray, length: int) -> np.ndarray:
    """(length / 4, packets) native words of the packets whose bodies begin at ``starts``.

    Bodies begin at even offsets; the payload is viewed as 4-byte words at both alignments
    and each packet's words are gathered from the view it is aligned with.
    """
    words = np.empty((len(starts), length // 4), dtype=">u4")
    span = np.arange(length // 4)
    for shift in (0, 2):
        chosen = np.flatnonzero(starts % 4 == shift)
        if chosen.size:
            aligned = np.frombuffer(
                payload, dtype=">u4", offset=shift, count=(len(payload) - shift) // 4
            )
            words[chosen] = aligned[((starts[chosen] - shift) // 4)[:, None] + span]
    return words.T.astype(np.uint32)


def _assign(block: np.ndarray, rows: np.ndarray | slice, columns: list[int], values) -> None:
    """``block[rows, columns] = values.T``, with a plain slice for a run of columns."""
    if columns == list(range(columns[0], columns[0] + len(columns))):
        block[rows, columns[0] : columns[0] + len(columns)] = values.T
    elif isinstance(rows, slice):
        block[rows, columns] = values.T
    else:
        block[rows[:, None], columns] = values.T


def _fill(ticks: np.ndarray, rows: np.ndarray | slice, fields: np.ndarray, length: int) -> None:
    """Write one packet kind into ``ticks[rows]`` from its field-major native words.

    ``fields`` is (length / 4, packets): row ``w`` holds packet word ``w`` of every packet, so
    each conversion below runs over contiguous memory. ``ticks`` must hold the absent values
    (:func:`empty_ticks`) for fields the kind lacks; full packets (184 bytes) set them all.
    """
    token = fields[0]
    ticks["instrument_token"][rows] = token
    ticks["mode"][rows] = _MODE_OF_LENGTH[length]
    ticks["tradable"][rows] = (token & 0xFF) != SEGMENT_INDICES
    columns, price_words = _PRICE_WORDS[length]
    prices = fields[price_words].astype(np.float64)
    prices /= price_divisor(token)
    _assign(_block(ticks, "last_price", _PRICE_BLOCK, np.float64), rows, columns, prices)
    columns, count_words = _COUNT_WORDS[length]
    if columns:
        counts = _block(ticks, "last_traded_quantity", _COUNT_BLOCK, np.int64)
        _assign(counts, rows, columns, fields[count_words])
    if length == 184:
        orders = _block(ticks, "bid_orders", 2 * DEPTH_LEVELS, np.int32)
        orders[rows] = (fields[_ORDER_WORDS] >> 16).T
    change = np.zeros(len(token))
    if length > 8:
        last_price, close = prices[0], prices[price_words.index(_CLOSE_WORD[length])]
        np.divide((last_price - close) * 100, close, out=change, where=close != 0)
    ticks["change"][rows] = change


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
    first = _HEADER.unpack_from(payload, 2)[0] if len(payload) >= 4 else -1
    if first in _MODE_OF_LENGTH and len(payload) == 2 + count * (2 + first):
        # Maybe uniform (the usual full-mode frame): check every header in one strided view.
        stride = 2 + first
        headers = np.ndarray((count,), dtype=">u2", buffer=payload, offset=2, strides=(stride,))
        if np.all(headers == first):
            words = np.ndarray(
                (count, first // 4), dtype=">u4", buffer=payload, offset=4, strides=(stride, 4)
            )
            # A full packet sets every field (padding aside); the others need absent values.
            ticks = np.empty(count, TICK_DTYPE) if first == 184 else empty_ticks(count)
            _fill(ticks, slice(None), words.T.astype(np.uint32), first)
            return ticks
    lengths = _walk(payload, count)
    starts = 2 + np.cumsum(lengths + 2) - lengths  # where each packet's body begins
    ticks = empty_ticks(count)
    for length in np.unique(lengths).tolist():
        rows = np.flatnonzero(lengths == length)
        _fill(ticks, rows, _gathered_words(payload, starts[rows], length), length)
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
    """The (ticks, length / 4) packet words of ``ticks``: the inverse of :func:`_fill`."""
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
