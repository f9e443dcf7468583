"""A synthetic NSE session that speaks Kite's binary protocol: traffic for the Kite fakes,
the soak and the throughput benchmarks, and the watchlist syntax every simulator shares.

Its scenarios are drawn like the old detection rule, so they are no ground truth for
detection: that is :mod:`feeds.book_simulator`'s job (the app's embedded source streams it).

Every simulated second gives one full-mode packet per instrument (5-level depth, cumulative
volume, OHLC, exchange timestamp), encoded as the exact bytes Kite's WebSocket would send, so
the parser and the engine run the same code as on a live feed.

Scenarios are injected on a seeded schedule and recorded as :class:`Episode`:

* ``accumulation``: a hidden buyer pins the bid. Sellers hit it at ~4x the usual rate while it
  shows only a small size; the offer side looks heavy; the price does not fall.
* ``distribution``: the mirror, a hidden seller capping the ask under visible buying.
* ``momentum_up`` / ``momentum_down``: strong one-sided visible pressure, a volume surge and a
  steady drift of the price.
* ``quiet``: thin trading and no move.

Between episodes the instrument trades normally: balanced two-sided flow and a random
walk of about 0.05 % of the price a minute (a liquid NSE stock's pace). Nothing here is market
data; the dashboard labels it as simulated.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from engine.sessions import ist_today
from engine.ticks import MODE_FULL, empty_ticks, encode_kite_frame

KINDS = ("normal", "accumulation", "distribution", "momentum_up", "momentum_down", "quiet")
NORMAL, ACCUMULATION, DISTRIBUTION, MOMENTUM_UP, MOMENTUM_DOWN, QUIET = range(6)
# How likely each scenario is when one starts (normal trading fills the gaps).
KIND_WEIGHTS = {
    ACCUMULATION: 0.3,
    DISTRIBUTION: 0.3,
    MOMENTUM_UP: 0.15,
    MOMENTUM_DOWN: 0.15,
    QUIET: 0.1,
}

# How each scenario trades, indexed by its code (normal, accumulation, distribution,
# momentum up, momentum down, quiet): aggressor volume as multiples of the instrument's usual
# rate, drift of the mid in ticks per second, visible 5-level depth and whole-book quantities
# as multiples of the usual.
SCENARIO = {
    "buy_rate": np.array([0.5, 0.25, 4.2, 4.5, 0.4, 0.1]),
    "sell_rate": np.array([0.5, 4.2, 0.25, 0.4, 4.5, 0.1]),
    "drift": np.array([0.0, 0.0, 0.0, 0.3, -0.3, 0.0]),
    "bid_depth": np.array([1.0, 0.25, 1.8, 1.8, 0.8, 1.0]),
    "ask_depth": np.array([1.0, 1.8, 0.25, 0.8, 1.8, 1.0]),
    "buy_book": np.array([1.0, 0.6, 2.5, 2.5, 0.6, 1.0]),
    "sell_book": np.array([1.0, 2.5, 0.6, 0.6, 2.5, 1.0]),
}

# Liquid NSE names the simulator knows, with a plausible price (rupees). Tokens are the
# simulator's own (segment NSE), not Kite's.
UNIVERSE = {
    "RELIANCE": 1420.0,
    "TCS": 3450.0,
    "INFY": 1520.0,
    "HDFCBANK": 1710.0,
    "ICICIBANK": 1330.0,
    "SBIN": 810.0,
    "ITC": 425.0,
    "LT": 3620.0,
    "AXISBANK": 1160.0,
    "KOTAKBANK": 2010.0,
    "BHARTIARTL": 1890.0,
    "HINDUNILVR": 2410.0,
    "BAJFINANCE": 905.0,
    "MARUTI": 12450.0,
    "TATAMOTORS": 705.0,
    "TATASTEEL": 162.0,
    "WIPRO": 252.0,
    "SUNPHARMA": 1690.0,
    "ASIANPAINT": 2380.0,
    "HCLTECH": 1610.0,
    "NTPC": 342.0,
    "POWERGRID": 291.0,
    "ULTRACEMCO": 11480.0,
    "TITAN": 3490.0,
    "ADANIENT": 2390.0,
    "ONGC": 243.0,
    "COALINDIA": 384.0,
    "M&M": 3210.0,
    "NESTLEIND": 2420.0,
    "JSWSTEEL": 1010.0,
}
TICK_SIZE = 0.05
MINUTE_MOVE = 0.0005  # typical one-minute move of the mid, a share of the price
SESSION_SECONDS = 22_500  # 09:15 to 15:30


@dataclass(frozen=True)
class SimulatedInstrument:
    symbol: str
    instrument_token: int
    price: float  # previous close, rupees
    entry: str = ""  # the futures alias it was invented for (NFO:NIFTY-I)


@dataclass(frozen=True)
class Episode:
    """One injected scenario: what happened to which symbol, when (epoch seconds)."""

    symbol: str
    kind: str
    start: int
    end: int


# Underlyings of the simulator's futures besides the stocks above, with a plausible price.
INDEX_PRICES = {
    "NIFTY": 24_500.0,
    "BANKNIFTY": 52_000.0,
    "FINNIFTY": 23_500.0,
    "MIDCPNIFTY": 12_500.0,
    "SENSEX": 80_500.0,
}
MCX_PRICES = {"CRUDEOIL": 6_000.0, "GOLD": 76_000.0, "SILVER": 90_000.0, "NATURALGAS": 300.0}
FUTURE = re.compile(
    r"^(?P<name>[A-Z&]+?)(\d\d(JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|NOV|DEC)FUT)$"
)


def simulated_instruments(
    symbols: list[str], today: date | None = None
) -> tuple[list[SimulatedInstrument], list[str]]:
    """The simulator's instruments for watchlist ``symbols`` (the app's syntax:
    ``feeds.instruments``), and the entries it cannot simulate, each with the reason.

    NSE and BSE stocks of its universe; futures of those stocks and of the indices on NFO
    (SENSEX on BFO) and of a few commodities on MCX, named as given or by alias (it invents
    monthly contracts: ``NFO:NIFTY-I`` is ``NFO:NIFTY26JANFUT`` in January). No currency
    futures."""
    from feeds.instruments import ALIAS, ALIAS_RANKS, SEGMENT_CODES, monthly_contract

    today = today or ist_today()
    names = list(UNIVERSE)
    known, unknown = [], []
    for symbol in symbols:
        exchange, _, name = symbol.rpartition(":")
        exchange = exchange or "NSE"
        if exchange in ("NSE", "BSE") and name in UNIVERSE:
            token = (names.index(name) + 1 + (0 if exchange == "NSE" else 5_000)) << 8
            known.append(
                SimulatedInstrument(symbol, token | SEGMENT_CODES[exchange], UNIVERSE[name])
            )
            continue
        prices = {"NFO": {**UNIVERSE, **INDEX_PRICES}, "BFO": {"SENSEX": INDEX_PRICES["SENSEX"]}}
        prices["MCX"] = MCX_PRICES
        alias, contract = ALIAS.match(name), FUTURE.match(name)
        underlying = alias["name"] if alias else contract["name"] if contract else ""
        if exchange not in prices or underlying not in prices[exchange]:
            unknown.append(f"{symbol} (not simulated)")
            continue
        if alias:
            name, _ = monthly_contract(underlying, today, ALIAS_RANKS[alias["rank"]])
        number = 10_000 + zlib.crc32(f"{exchange}:{name}".encode()) % 1_000_000
        known.append(
            SimulatedInstrument(
                f"{exchange}:{name}",
                number << 8 | SEGMENT_CODES[exchange],
                prices[exchange][underlying],
                symbol if alias else "",
            )
        )
    return known, unknown


def synthetic_instruments(count: int, seed: int = 0) -> list[SimulatedInstrument]:
    """``count`` generic instruments (SIM0001...) for load tests and benchmarks."""
    rng = np.random.default_rng(seed)
    prices = np.round(rng.uniform(50, 5_000, count) / TICK_SIZE) * TICK_SIZE
    return [
        SimulatedInstrument(f"SIM{index + 1:04d}", (10_000 + index) << 8 | 1, float(price))
        for index, price in enumerate(prices)
    ]


class MarketSimulator:
    """A seeded session for ``instruments`` starting at ``start`` (epoch seconds).

    ``step()`` advances one second and returns the ticks; ``frame()`` returns them as a Kite
    binary frame. ``episodes`` is the ground truth of the whole session, fixed at creation.
    ``demo_start`` (seconds after ``start``) schedules an accumulation on the first
    instrument then, so a fresh dashboard shows a signal soon after its warm-up.
    """

    def __init__(
        self,
        instruments: list[SimulatedInstrument],
        start: int,
        seed: int = 7,
        session_seconds: int = SESSION_SECONDS,
        demo_start: int | None = None,
        mean_gap_seconds: float = 1_500,
    ) -> None:
        if not instruments:
            raise ValueError("the simulator needs at least one instrument")
        self.instruments = instruments
        self.start = start
        self.now = start - 1
        self.rng = np.random.default_rng(seed)
        n = len(instruments)
        self._tokens = np.array([i.instrument_token for i in instruments], dtype=np.uint32)
        self._close = np.array([i.price for i in instruments])
        self._mid_ticks = np.round(self._close / TICK_SIZE)  # mid in ticks (float for drift)
        # How far the mid wanders a second, ticks: about 0.05 % of the price a minute, as a
        # liquid NSE stock does (at least the old one-tick walk for low-priced ones).
        self._wander = np.maximum(0.35, self._close * MINUTE_MOVE / np.sqrt(60) / TICK_SIZE)
        self._rate = np.exp(self.rng.normal(np.log(300), 0.5, n))  # shares/second, normal
        self._level = np.round(self._rate * 10 / 5) * 5  # shares per depth level, normal
        self._volume = np.zeros(n, dtype=np.int64)
        self._turnover = np.zeros(n)
        self._day_open = np.full(n, np.nan)
        self._high = np.full(n, -np.inf)
        self._low = np.full(n, np.inf)
        self._last_price = self._close.copy()
        # Option chains draw from their own generator: they are asked for from another thread.
        self._chain_rng = np.random.default_rng(seed + 1)
        self._pcr = self._chain_rng.uniform(0.85, 1.15, n)
        self.episodes = self._schedule(session_seconds, demo_start, mean_gap_seconds)
        self._kind_now = np.zeros(n, dtype=np.int8)

    # ------------------------------------------------------------------------ schedule
    def _schedule(self, session_seconds: int, demo_start: int | None, mean_gap: float):
        episodes: list[Episode] = []
        kinds = np.array(list(KIND_WEIGHTS))
        weights = np.array(list(KIND_WEIGHTS.values()))
        starts, ends, codes, rows = [], [], [], []
        for row, instrument in enumerate(self.instruments):
            t = int(self.rng.uniform(0.3, 1.0) * mean_gap)
            if row == 0 and demo_start is not None:
                t = demo_start
            first = True
            while True:
                duration = int(self.rng.uniform(150, 300))
                if t + duration >= session_seconds:
                    break
                kind = (
                    ACCUMULATION
                    if first and row == 0 and demo_start is not None
                    else int(self.rng.choice(kinds, p=weights / weights.sum()))
                )
                first = False
                starts.append(self.start + t)
                ends.append(self.start + t + duration)
                codes.append(kind)
                rows.append(row)
                episodes.append(
                    Episode(
                        instrument.symbol, KINDS[kind], self.start + t, self.start + t + duration
                    )
                )
                # at least 12 minutes of normal trading, so baselines recover
                t += duration + 720 + int(self.rng.exponential(mean_gap))
        self._episode_rows = np.array(rows, dtype=np.int64)
        self._episode_start = np.array(starts, dtype=np.int64)
        self._episode_end = np.array(ends, dtype=np.int64)
        self._episode_code = np.array(codes, dtype=np.int8)
        return sorted(episodes, key=lambda episode: (episode.start, episode.symbol))

    def episodes_between(self, first: int, last: int) -> list[Episode]:
        """Ground truth: episodes overlapping ``[first, last]`` (epoch seconds)."""
        return [e for e in self.episodes if e.start <= last and e.end >= first]

    def _kinds_at(self, t: int) -> np.ndarray:
        kinds = np.zeros(len(self.instruments), dtype=np.int8)
        active = (self._episode_start <= t) & (t < self._episode_end)
        kinds[self._episode_rows[active]] = self._episode_code[active]
        return kinds

    # ---------------------------------------------------------------------------- ticks
    def step(self) -> np.ndarray:
        """Advance one second; one full-mode tick per instrument."""
        self.now += 1
        rng, n = self.rng, len(self.instruments)
        kind = self._kinds_at(self.now)
        self._kind_now = kind
        rate, level = self._rate, self._level

        # Traded volume by aggressor side (shares this second).
        buy_rate = SCENARIO["buy_rate"][kind] * rate
        sell_rate = SCENARIO["sell_rate"][kind] * rate
        bought = rng.poisson(buy_rate)
        sold = rng.poisson(sell_rate)

        # The mid: a random walk of about 0.05 % a minute, pinned by icebergs, drifting in
        # momentum (faster than it wanders).
        walk = np.round(rng.normal(0.0, self._wander))
        drift = SCENARIO["drift"][kind] * np.maximum(1.0, 2.0 * self._wander)
        pinned = (kind == ACCUMULATION) | (kind == DISTRIBUTION) | (kind == QUIET)
        self._mid_ticks = np.where(pinned, self._mid_ticks, self._mid_ticks + walk + drift)
        self._mid_ticks = np.maximum(self._mid_ticks, 20)
        bid_ticks = np.floor(self._mid_ticks)
        best_bid = bid_ticks * TICK_SIZE
        best_ask = (bid_ticks + 1) * TICK_SIZE

        # Last print: at the ask if buyers traded last, at the bid if sellers did.
        traded = bought + sold
        buyer_last = rng.random(n) < np.divide(
            bought, traded, out=np.full(n, 0.5), where=traded > 0
        )
        last_price = np.where(
            traded > 0, np.where(buyer_last, best_ask, best_bid), self._last_price
        )
        last_price = np.round(last_price, 2)
        self._last_price = last_price
        self._volume += traded
        self._turnover += bought * best_ask + sold * best_bid
        self._day_open = np.where(np.isnan(self._day_open), last_price, self._day_open)
        self._high = np.maximum(self._high, last_price)
        self._low = np.minimum(self._low, last_price)

        # Visible book: icebergs show little on their side, the other side looks heavy.
        bid_scale, ask_scale = SCENARIO["bid_depth"][kind], SCENARIO["ask_depth"][kind]
        noise = rng.uniform(0.7, 1.3, (2, n, 5))
        bid_qty = np.maximum(1, np.round(level[:, None] * bid_scale[:, None] * noise[0]))
        ask_qty = np.maximum(1, np.round(level[:, None] * ask_scale[:, None] * noise[1]))
        book = level * 5 * 12  # the whole book beyond the 5 levels
        total_buy = np.round(book * SCENARIO["buy_book"][kind] * rng.uniform(0.9, 1.1, n))
        total_sell = np.round(book * SCENARIO["sell_book"][kind] * rng.uniform(0.9, 1.1, n))

        ticks = empty_ticks(n)
        ticks["instrument_token"] = self._tokens
        ticks["mode"] = MODE_FULL
        ticks["tradable"] = True
        ticks["last_price"] = last_price
        ticks["last_traded_quantity"] = np.maximum(1, rng.poisson(np.maximum(rate / 20, 1)))
        ticks["average_traded_price"] = np.round(
            np.divide(self._turnover, self._volume, out=last_price.copy(), where=self._volume > 0),
            2,
        )
        ticks["volume_traded"] = self._volume
        ticks["total_buy_quantity"] = total_buy
        ticks["total_sell_quantity"] = total_sell
        ticks["open"], ticks["high"], ticks["low"] = self._day_open, self._high, self._low
        ticks["close"] = self._close
        ticks["change"] = (last_price - self._close) * 100 / self._close
        ticks["last_trade_time"] = self.now
        ticks["exchange_timestamp"] = self.now
        levels = np.arange(5) * TICK_SIZE
        ticks["bid_price"] = np.round(best_bid[:, None] - levels, 2)
        ticks["ask_price"] = np.round(best_ask[:, None] + levels, 2)
        ticks["bid_qty"] = bid_qty
        ticks["ask_qty"] = ask_qty
        ticks["bid_orders"] = np.maximum(1, np.round(bid_qty / 150))
        ticks["ask_orders"] = np.maximum(1, np.round(ask_qty / 150))
        return ticks

    def last_prices(self) -> dict[str, float]:
        """Each instrument's last traded price, rupees (to continue the session later)."""
        return {
            i.symbol: float(price)
            for i, price in zip(self.instruments, self._last_price, strict=True)
        }

    def frame(self) -> bytes:
        """The next second as one Kite binary frame (up to 65,535 packets)."""
        return encode_kite_frame(self.step())

    # ------------------------------------------------------------------------- options
    def option_chain(self, symbol: str) -> pd.DataFrame:
        """A simulated option chain for ``symbol`` (:func:`option_chain`)."""
        row = next(i for i, inst in enumerate(self.instruments) if inst.symbol == symbol)
        chain, self._pcr[row] = option_chain(
            float(self._last_price[row]), float(self._pcr[row]), self._chain_rng
        )
        return chain


def option_chain(price: float, pcr: float, rng: np.random.Generator) -> tuple[pd.DataFrame, float]:
    """A simulated option chain around ``price``: 21 strikes, CE and PE, and the PCR it was
    drawn for, which wanders from ``pcr`` (around 1.0, independently of anything the
    simulators do: it gives no hint of their ground truth)."""
    pcr = float(np.clip(pcr * np.exp(rng.normal(0, 0.05)), 0.5, 1.8))
    step = max(TICK_SIZE, round(price * 0.01 / 5) * 5) or 1.0
    strikes = np.round(price / step) * step + np.arange(-10, 11) * step
    weight = np.exp(-0.5 * (np.arange(-10, 11) / 4) ** 2)
    call_oi = np.round(weight * 100_000 * rng.uniform(0.8, 1.2, 21))
    put_oi = np.round(call_oi * pcr * rng.uniform(0.9, 1.1, 21))
    volume = rng.integers(100, 5_000, 42)
    chain = pd.DataFrame(
        {
            "strike": np.concatenate([strikes, strikes]),
            "type": ["CE"] * 21 + ["PE"] * 21,
            "oi": np.concatenate([call_oi, put_oi]).astype(np.int64),
            "volume": volume,
        }
    )
    return chain, pcr
