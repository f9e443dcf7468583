"""An order book driven by events, snapshotted as Kite full-mode frames: detection ground truth.

Nothing here knows how the detector works. Each instrument has a limit order book on a price
grid (in ticks), and every simulated second brings events:

* each instrument has a value that takes a random step every second (its day's volatility,
  1-2 %, twice the pace in the opening minutes): news nobody in the book sees coming;
* limit orders arrive on both sides around the value, most at the level next to it and fewer
  further out (Poisson counts, lognormal sizes), never crossing the other side's touch, and
  resting orders are cancelled (each order with a small chance a second, a larger one once
  the value has moved past it: a quote gone stale), so the visible depth is whatever arrivals
  and cancellations leave;
* limit prices cluster at round numbers: a fifth of the arriving limit orders go to the
  whole rupee on their side of the value, when one is within half a rupee, so a whole-rupee
  price gathers a deep queue that many re-post to as it trades (a price that holds with no
  hidden order behind it);
* market orders arrive on both sides (Poisson counts, Pareto sizes: a heavy tail), leaning
  toward the value (informed takers buy below it and sell above it), and walk the book, so
  volume, the last price, its moves and the spread emerge from the events;
* iceberg agents rest at one price with a small display and a hidden reserve. A native one
  (NSE/BSE disclosed quantity, at least 10 % of the order: at most nine refills) refills its
  display at once, as the same order; a synthetic one (an algorithm re-posting) posts a new
  order at the next second, if its price is still on its side of the book. While its display
  shows, nobody posts an order across it: a hidden buyer holds the bid while the value falls
  beneath it, and sellers reaching for the value trade against it. An agent ends when its
  reserve is used up (completed), when the price trades through it or it is cancelled
  (broken: after five minutes without a fill, the market having left its price behind);
* confounders, each a mechanism: thin books (little resting depth for the flow, all day),
  news bursts (one-sided market orders several times the usual while many participants
  keep re-posting), spoofers (a large order a few ticks behind the touch, pulled before the
  price reaches it), momentum runs (one-sided flow for minutes) and the opening ten minutes
  (more of everything).

The ground truth is what the agents did (:class:`IcebergTruth`, :class:`Episode`), recorded
as they did it. Snapshots are taken once a second with Kite's jitter: now and then one is
skipped or sent twice. Liquidity varies about tenfold across instruments. Not market data.
"""

from __future__ import annotations

import math
import threading
import weakref
from dataclasses import dataclass, replace

import numba
import numpy as np

from engine.ticks import MODE_FULL, empty_ticks, encode_kite_frame
from feeds.simulator import (  # an Episode is a confounder here: news, spoof, momentum
    Episode,
    SimulatedInstrument,
    option_chain,
)

TICK = 0.05
GRID = 800  # price levels per instrument; the price starts in the middle
DEPTH_LEVELS = 12  # limit orders arrive up to this many ticks from the touch
NO_ICEBERG = 0
KIND_NAMES = ("iceberg", "news", "spoof", "momentum")

CANCEL_CHANCE = 0.04  # each resting order's chance a second of being cancelled
STALE_CHANCE = 0.25  # ... when it stands on the wrong side of the value (a quote gone stale)
LEAN = 2.0  # ticks of value over the mid at which takers lean tanh(1) = 0.76 its way
DAY_SECONDS = 22_500  # 09:15-15:30
# An instrument's value moves by this share over a day (a standard deviation, drawn per
# instrument): about an Indian large or mid cap's intraday volatility; twice the pace in the
# opening minutes, when the night's news is priced.
VOLATILITY = (0.01, 0.02)
OPENING_VOLATILITY = 2.0
# An iceberg agent nothing has traded against for this long, with a better price in front
# of it (the market left its price behind), is cancelled, as an execution algorithm
# re-prices a passive order.
STRANDED_SECONDS = 300
SIZE_SPREAD = 0.7  # limit order sizes: lognormal about the instrument's order size
# Limit prices cluster at round numbers: this share of the arriving limit orders is placed
# at the whole rupee on the order's side of the value (at or under a bid's quote, at or over
# an ask's) when one lies within ROUND_REACH ticks of the quote, wherever else it would have
# gone. A price at a whole rupee gathers a deeper queue, refilled by many as it trades.
ROUND_SHARE = 0.2
ROUND_REACH = 10

# Episode codes in the schedule arrays.
E_NONE, E_ICEBERG, E_NEWS, E_SPOOF, E_MOMENTUM = range(5)


@dataclass(frozen=True)
class IcebergTruth:
    """One iceberg agent: where it rested, what it hid, how it ended (epoch seconds)."""

    symbol: str
    side: str  # "BID": a hidden buyer, "ASK": a hidden seller
    price: float
    peak: int  # displayed quantity, shares
    hidden_total: int  # the whole order less its first display, shares
    native: bool
    strength: float  # refills of its peak per minute the flow was set to cause
    start: int
    end: int
    refills: int
    executed: int  # shares that traded against it
    ended: str  # completed / broken / session end
    # When its display first came back (the first moment anything could have seen it
    # refill: before it, the visible queue ahead was still trading); None if it never did.
    first_refill: int | None = None
    # How hard it was to see: its hidden fills (what traded against it beyond the first
    # display) in standard deviations of the visible orders arriving at and cancelled from
    # its level over the seconds it was filled at the touch. The level's own arrivals hide
    # an iceberg whatever reads the book: under about 3 no test of the traded volume against
    # the visible book can tell it from them without calling many ordinary queues hidden
    # orders too. Infinite if no visible order came or went there meanwhile, NaN if it was
    # never filled at the touch.
    clarity: float = float("nan")

    @property
    def expected_signal(self) -> str:
        return "ACCUMULATION" if self.side == "BID" else "DISTRIBUTION"


@dataclass(frozen=True)
class BookInstrument:
    symbol: str
    instrument_token: int
    price: float  # start price, rupees
    volume_rate: float  # shares a second traded, typical
    touch_seconds: float  # resting depth at the touch, in seconds of typical flow
    thin: bool = False
    volatility: float = 0.015  # of its value over a day (a standard deviation)


def book_instruments(count: int, seed: int, thin_share: float = 0.25) -> list[BookInstrument]:
    """``count`` instruments with liquidity varying about tenfold, some with thin books,
    each with a day's volatility drawn from :data:`VOLATILITY`."""
    rng = np.random.default_rng([seed, 17])
    volatility = np.random.default_rng([seed, 18]).uniform(*VOLATILITY, count)
    instruments = []
    for index in range(count):
        thin = bool(thin_share) and index % max(round(1 / thin_share), 1) == 1
        instruments.append(
            BookInstrument(
                symbol=f"SIM{index:03d}",
                instrument_token=50_000 + index,
                price=float(np.round(rng.uniform(150, 3000) / TICK) * TICK),
                volume_rate=float(np.exp(rng.uniform(np.log(60), np.log(600)))),
                touch_seconds=float(rng.uniform(1.0, 2.5) if thin else rng.uniform(8, 20)),
                thin=thin,
                volatility=float(volatility[index]),
            )
        )
    return instruments


def book_instruments_like(
    known: list[SimulatedInstrument], seed: int, thin_share: float = 0.0
) -> list[BookInstrument]:
    """Book instruments for named ones (the app's watchlist): each keeps its symbol, token
    and price and draws its liquidity (tenfold range) and volatility from its own name, so a
    symbol trades alike whatever else is watched."""
    books = []
    for instrument in known:
        name = sum((k + 1) * ord(c) for k, c in enumerate(instrument.symbol))
        rng = np.random.default_rng([seed, name])
        thin = bool(thin_share) and rng.random() < thin_share
        books.append(
            BookInstrument(
                symbol=instrument.symbol,
                instrument_token=instrument.instrument_token,
                price=float(np.round(instrument.price / TICK) * TICK),
                volume_rate=float(np.exp(rng.uniform(np.log(60), np.log(600)))),
                touch_seconds=float(rng.uniform(1.0, 2.5) if thin else rng.uniform(8, 20)),
                thin=thin,
                volatility=float(rng.uniform(*VOLATILITY)),
            )
        )
    return books


def _clarity(hidden_fills: int, noise: float, filled: bool) -> float:
    """Hidden fills in standard deviations of the level's own scatter (``noise``, a
    variance): infinite for a level nothing else arrived at or left while the agent was
    filled there (above a fallen value no provider quotes), NaN if it was never filled."""
    if not filled:
        return float("nan")
    hidden = max(hidden_fills, 0)
    if noise > 0:
        return hidden / math.sqrt(noise)
    return math.inf if hidden > 0 else 0.0


# --------------------------------------------------------------------------- the kernel
@numba.njit(cache=True)
def _seed(seed: int) -> None:
    np.random.seed(seed)


# The kernel draws from numba's random stream, which is each thread's own: which simulator
# last drew from each thread's stream, so a simulator seeds the stream it is stepped on.
_STREAM_OWNER = threading.local()


@numba.njit(cache=True)
def _pareto_size(mean: float) -> float:
    # Pareto with shape 1.8 scaled to the mean: most orders small, a few very large.
    shape = 1.8
    scale = mean * (shape - 1) / shape
    return scale / (np.random.random() ** (1 / shape))


@numba.njit(cache=True)
def _best_bid(bid: np.ndarray) -> int:
    for level in range(bid.shape[0] - 1, -1, -1):
        if bid[level] > 0:
            return level
    return -1


@numba.njit(cache=True)
def _best_ask(ask: np.ndarray) -> int:
    for level in range(ask.shape[0]):
        if ask[level] > 0:
            return level
    return ask.shape[0]


@numba.njit(cache=True)
def _touch(bid, ask, ice, ice_int) -> tuple[int, int]:
    """The best bid and ask levels as the market sees them: the visible orders' and an
    active iceberg's showing display (nobody posts a sell at or under a bid on show)."""
    bb, ba = _best_bid(bid), _best_ask(ask)
    if ice_int[0] == 1 and ice[2] > 0:
        level = int(ice[0])
        if ice_int[1] > 0:
            bb = max(bb, level)
        else:
            ba = min(ba, level)
    return bb, ba


@numba.njit(cache=True)
def _quotes(fair: float, bb: int, ba: int) -> tuple[int, int]:
    """Where providers quote from around the value ``fair`` (levels): bids from the level
    under it down, asks from the level above it up, never crossing the other side's touch
    (``bb``, ``ba``)."""
    below = int(np.floor(fair))
    return min(below, ba - 1), max(below + 1, bb + 1)


@numba.njit(cache=True)
def _round_level(base: float, quote: int, side: int) -> int:
    """The whole-rupee level at or behind a quote at level ``quote`` on ``side`` (+1 bids:
    at or under it, -1 asks: at or over it), or -1 if none lies within ROUND_REACH ticks
    (``base``: the price of level 0)."""
    price = base + quote * TICK
    whole = np.floor(price + 1e-6) if side > 0 else np.ceil(price - 1e-6)
    level = quote + int(np.round((whole - price) / TICK))
    if abs(level - quote) > ROUND_REACH or level < 1 or level >= GRID - 1:
        return -1
    return level


@numba.njit(cache=True)
def _arrival_rate(arrival: float, distance: int, at_round: bool, has_round: bool) -> float:
    """Limit orders arriving a second at a level ``distance`` ticks behind its side's quote
    (``arrival``: the instrument's rate at the quote; ``at_round``: the level is the side's
    whole rupee, ``has_round``: the side has one within reach), as :func:`_step` places them:
    a ROUND_SHARE of all the side's arrivals go to its whole rupee instead."""
    rate = 0.0
    if 0 <= distance < DEPTH_LEVELS:
        rate = arrival * np.exp(-distance / 3.0) * (1.0 - ROUND_SHARE * has_round)
    if at_round:
        for d in range(DEPTH_LEVELS):
            rate += arrival * np.exp(-d / 3.0) * ROUND_SHARE
    return rate


@numba.njit(cache=True)
def _stale(level: int, fair: float, side: int) -> bool:
    """Whether an order at ``level`` stands on the wrong side of the value: a bid
    (``side`` +1) above it, an ask (-1) below it."""
    return level > fair if side > 0 else level < fair


@numba.njit(cache=True)
def _cancel(book: np.ndarray, orders: np.ndarray, chance: float, fair: float, side: int) -> None:
    # ``side`` +1 bids, -1 asks: a stale quote (:func:`_stale`) is pulled sooner.
    for level in range(book.shape[0]):
        if orders[level] > 0:
            stale = _stale(level, fair, side)
            gone = np.random.binomial(int(orders[level]), chance + STALE_CHANCE * stale)
            if gone > 0:
                book[level] -= np.round(book[level] * gone / orders[level])
                orders[level] -= gone
                if orders[level] <= 0 or book[level] <= 0:
                    book[level] = 0.0
                    orders[level] = 0


@numba.njit(cache=True)
def _take(book: np.ndarray, orders: np.ndarray, level: int, wanted: float) -> float:
    take = min(wanted, book[level])
    remaining_orders = orders[level] - int(np.round(orders[level] * take / book[level]))
    book[level] -= take
    orders[level] = max(1, remaining_orders)  # shares left rest in at least one order
    if book[level] <= 0:
        book[level] = 0.0
        orders[level] = 0
    return take


@numba.njit(cache=True)
def _fill(i, shares, price, size, volume, value, high, low, last_fill):
    """Book one fill of instrument ``i`` (nothing if ``shares`` is 0): the day's volume,
    value traded and range, and ``size`` as the last traded quantity."""
    if shares <= 0:
        return
    volume[i] += shares
    value[i] += shares * price
    high[i] = max(high[i], price)
    low[i] = min(low[i], price)
    last_fill[i] = size


@numba.njit(cache=True)
def _step(
    bid,
    ask,
    bid_orders,
    ask_orders,
    volume,
    last,
    rate,
    order_size,
    arrival,
    ice,
    ice_int,
    episode,
    episode_side,
    opening,
    last_fill,
    value,
    base,
    high,
    low,
    fair,
):
    """One simulated second for every instrument (arrays are modified in place).

    ``value``, ``high``, ``low``: rupees traded and the day's highest and lowest fill, each
    fill at its price (``base`` + level x TICK), for the day's average traded price and range.

    ``fair``: each instrument's value, in levels (a fraction: the mid it would quote around).

    ``last_fill``: the size of each instrument's last trade, one market order against one
    resting order (what Kite reports as the last traded quantity). A level's resting orders
    are not kept one by one, so a fill against visible orders is taken as at most the level's
    average order; a fill against an iceberg's display is against that one order.

    ``ice`` float columns: price level, peak, display, reserve, visible quantity queued
    ahead of the display; ``ice_int``: state (0 none,
    1 active, 2 completed, 3 broken), side (+1 bid / -1 ask), native, refills, executed
    shares, re-post pending (synthetic).
    """
    n = bid.shape[0]
    for i in range(n):
        kind = episode[i]
        bias = episode_side[i]
        # ---- the visible book: limit arrivals near the touch, cancellations everywhere
        bb, ba = _touch(bid[i], ask[i], ice[i], ice_int[i])
        if bb < 0 and ba >= GRID:  # an empty book: orders arrive around the last trade
            bb, ba = int(last[i]) - 1, int(last[i]) + 1
        elif bb < 0:
            bb = ba - 1
        elif ba >= GRID:
            ba = bb + 1
        crowd = (3.0 if kind == E_NEWS else 1.0) * (1.5 if opening else 1.0)
        quote_bid, quote_ask = _quotes(fair[i], bb, ba)  # providers quote around the value
        round_bid = _round_level(base[i], quote_bid, 1)
        round_ask = _round_level(base[i], quote_ask, -1)
        for d in range(DEPTH_LEVELS):
            lam = arrival[i] * np.exp(-d / 3.0) * crowd
            for side in range(2):
                level = quote_bid - d if side == 0 else quote_ask + d
                if level < 1 or level >= GRID - 1:
                    continue
                rounded = round_bid if side == 0 else round_ask
                for _ in range(np.random.poisson(lam)):
                    size = max(
                        1.0, np.round(np.random.lognormal(np.log(order_size[i]), SIZE_SPREAD))
                    )
                    at = level
                    if rounded >= 0 and np.random.random() < ROUND_SHARE:
                        at = rounded  # a round number instead
                    if side == 0 and at < ba:
                        bid[i, at] += size
                        bid_orders[i, at] += 1
                    elif side == 1 and at > bb:
                        ask[i, at] += size
                        ask_orders[i, at] += 1
        # Inside a spread wider than a tick, new orders improve the touch, each from either
        # side at random (a fixed order would let one side close every gap: a drift).
        if ba - bb > 1:
            for _ in range(np.random.poisson(arrival[i] * 4.0 * crowd)):
                size = max(1.0, np.round(np.random.lognormal(np.log(order_size[i]), SIZE_SPREAD)))
                if np.random.random() < 0.5:
                    bid[i, bb + 1] += size
                    bid_orders[i, bb + 1] += 1
                else:
                    ask[i, ba - 1] += size
                    ask_orders[i, ba - 1] += 1
                bb, ba = _touch(bid[i], ask[i], ice[i], ice_int[i])
                if ba - bb <= 1:
                    break
        chance = CANCEL_CHANCE * (2.0 if opening else 1.0)
        _cancel(bid[i], bid_orders[i], chance, fair[i], 1)
        _cancel(ask[i], ask_orders[i], chance, fair[i], -1)
        # ---- a synthetic iceberg re-posts its display after the fills of the second before
        if ice_int[i, 0] == 1 and ice_int[i, 5] == 1:
            ice_int[i, 5] = 0
            level = int(ice[i, 0])
            valid = level < _best_ask(ask[i]) if ice_int[i, 1] > 0 else level > _best_bid(bid[i])
            if valid:
                shown = min(ice[i, 1], ice[i, 3])
                ice[i, 2], ice[i, 3] = shown, ice[i, 3] - shown
                ice_int[i, 3] += 1
                ice[i, 4] = bid[i, level] if ice_int[i, 1] > 0 else ask[i, level]
            else:
                ice_int[i, 0] = 3  # the price went through its level meanwhile: broken
        # ---- market orders walk the book
        surge = 4.0 if kind == E_NEWS else 1.5 if kind == E_MOMENTUM else 0.0
        scale = 3.0 if opening else 1.0
        # Informed takers lean toward the value.
        lean = np.tanh((fair[i] - (bb + ba) / 2.0) / LEAN)
        buy_rate = rate[i] / 2.0 * scale * (1.0 + surge * (bias > 0)) * (1.0 + lean)
        sell_rate = rate[i] / 2.0 * scale * (1.0 + surge * (bias < 0)) * (1.0 - lean)
        mean_order = order_size[i] * 2.0
        buys = np.random.poisson(buy_rate / mean_order)
        sells = np.random.poisson(sell_rate / mean_order)
        for _ in range(buys + sells):
            is_buy = np.random.random() * (buys + sells) < buys
            remaining = max(1.0, np.round(_pareto_size(mean_order)))
            ice_side = 1 if not is_buy else -1  # the side an iceberg must be on to meet it
            while remaining > 0:
                others = _best_ask(ask[i]) if is_buy else _best_bid(bid[i])
                ice_level = int(ice[i, 0])
                ice_ready = (
                    ice_int[i, 0] == 1
                    and ice_int[i, 1] == ice_side
                    and ice[i, 2] > 0
                    and (ice_level <= others if is_buy else ice_level >= others)
                )
                if ice_ready:
                    book = ask if is_buy else bid
                    orders = ask_orders if is_buy else bid_orders
                    # Time priority: visible orders queued ahead of the display trade first.
                    ahead = min(ice[i, 4], book[i, ice_level])
                    if ahead > 0:
                        resting = book[i, ice_level] / max(orders[i, ice_level], 1)
                        took = _take(book[i], orders[i], ice_level, min(remaining, ahead))
                        ice[i, 4] = ahead - took
                        remaining -= took
                        price = base[i] + ice_level * TICK
                        size = min(took, resting)
                        _fill(i, took, price, size, volume, value, high, low, last_fill)
                        last[i] = ice_level
                        continue
                    take = min(remaining, ice[i, 2])
                    ice[i, 2] -= take
                    ice_int[i, 4] += int(np.round(take))
                    remaining -= take
                    price = base[i] + ice_level * TICK  # against the display: one order
                    _fill(i, take, price, take, volume, value, high, low, last_fill)
                    last[i] = ice_level
                    if ice[i, 2] <= 0 and ice[i, 3] <= 0:
                        ice_int[i, 0] = 2  # all of it executed: completed
                    elif ice[i, 2] <= 0 and ice_int[i, 2] == 0:
                        ice_int[i, 5] = 1  # synthetic: re-posts next second
                    elif ice[i, 2] <= 0:  # native: the same order refills at once, at the back
                        shown = min(ice[i, 1], ice[i, 3])
                        ice[i, 2], ice[i, 3] = shown, ice[i, 3] - shown
                        ice_int[i, 3] += 1
                        ice[i, 4] = book[i, ice_level]
                    continue
                if is_buy:
                    if others >= GRID:
                        break
                    resting = ask[i, others] / max(ask_orders[i, others], 1)
                    took = _take(ask[i], ask_orders[i], others, remaining)
                else:
                    if others < 0:
                        break
                    resting = bid[i, others] / max(bid_orders[i, others], 1)
                    took = _take(bid[i], bid_orders[i], others, remaining)
                remaining -= took
                price = base[i] + others * TICK
                _fill(i, took, price, min(took, resting), volume, value, high, low, last_fill)
                last[i] = others
        # ---- an iceberg whose price the other side reached is broken
        if ice_int[i, 0] == 1:
            level = int(ice[i, 0])
            crossed_up = ice_int[i, 1] > 0 and _best_ask(ask[i]) <= level
            crossed_down = ice_int[i, 1] < 0 and _best_bid(bid[i]) >= level
            if crossed_up or crossed_down:
                ice_int[i, 0] = 3


class BookSimulator:
    """A seeded session of event-driven books for ``instruments``, from ``start`` (epoch s).

    ``step()`` advances one second and returns the ticks (empty when the snapshot is
    skipped), ``frame()`` the Kite frame. ``icebergs`` and ``episodes`` are the ground truth.
    Instruments that are not thin carry iceberg agents; strengths (refills of the peak per
    minute) are drawn from ``strengths``. ``demo_at`` (seconds after ``start``) puts a hidden
    buyer on the first instrument then, under a burst of selling (the dashboard's demo).
    """

    def __init__(
        self,
        instruments: list[BookInstrument],
        start: int,
        seed: int,
        session_seconds: int = 3_600,
        strengths: tuple[float, ...] = (3, 5, 10, 20),
        iceberg_gap_seconds: float = 900,
        confounder_gap_seconds: float = 1_200,
        opening_seconds: int = 0,
        native_share: float = 0.7,
        skip_chance: float = 0.03,
        repeat_chance: float = 0.02,
        demo_at: int | None = None,
    ) -> None:
        self.instruments = instruments
        self.start, self.now = start, start - 1
        self.rng = np.random.default_rng([seed, 1])
        self._kernel_seed: int | None = int(seed) % (2**31)  # seeds its first step's stream
        n = len(instruments)
        self._tokens = np.array([i.instrument_token for i in instruments], dtype=np.uint32)
        self._base = np.array([i.price for i in instruments]) - GRID // 2 * TICK
        self.rate = np.array([i.volume_rate for i in instruments])
        self.order_size = np.maximum(5.0, np.round(self.rate / 4.0))
        # Arrivals per level a second, so that the touch holds ``touch_seconds`` of flow.
        touch = np.array([i.touch_seconds for i in instruments]) * self.rate
        self.arrival = touch * 0.04 / self.order_size
        self.bid = np.zeros((n, GRID))
        self.ask = np.zeros((n, GRID))
        self.bid_orders = np.zeros((n, GRID), dtype=np.int64)
        self.ask_orders = np.zeros((n, GRID), dtype=np.int64)
        middle = GRID // 2
        for d in range(DEPTH_LEVELS):
            depth = touch * np.exp(-d / 3.0)
            self.bid[:, middle - 1 - d] = np.round(depth)
            self.ask[:, middle + d] = np.round(depth)
            self.bid_orders[:, middle - 1 - d] = np.maximum(1, np.round(depth / self.order_size))
            self.ask_orders[:, middle + d] = np.maximum(1, np.round(depth / self.order_size))
        self.volume = np.zeros(n)
        self.value = np.zeros(n)  # rupees traded today: the average traded price's numerator
        self.last = np.full(n, float(middle))
        # Each instrument's value, in levels (a random walk; the opening book's mid is on it).
        self.fair = np.full(n, float(middle) - 0.5)
        self._value_rng = np.random.default_rng([seed, 3])
        self._value_step = (
            np.array([i.price * i.volatility for i in instruments]) / math.sqrt(DAY_SECONDS) / TICK
        )
        self.last_fill = np.ones(n)  # the last trade's size, shares
        self.ice = np.zeros((n, 5))
        self.ice_int = np.zeros((n, 6), dtype=np.int64)
        self._ice_meta: list[dict | None] = [None] * n
        self.icebergs: list[IcebergTruth] = []
        self.episodes: list[Episode] = []
        self.session_seconds = session_seconds
        self.opening_seconds = opening_seconds
        self.strengths = strengths
        self.native_share = native_share
        self.skip_chance, self.repeat_chance = skip_chance, repeat_chance
        self._schedule_icebergs(iceberg_gap_seconds)
        self._schedule_confounders(confounder_gap_seconds)
        self._episode = np.zeros(n, dtype=np.int64)
        self._episode_side = np.zeros(n, dtype=np.int64)
        self._high = np.full(n, -np.inf)
        self._low = np.full(n, np.inf)
        self._open = np.full(n, np.nan)
        self._close = np.array([i.price for i in instruments])  # the previous close
        # Option chains draw from their own generator: they are asked for from another thread.
        self._chain_rng = np.random.default_rng([seed, 2])
        self._pcr = self._chain_rng.uniform(0.85, 1.15, n)
        self._previous: np.ndarray | None = None
        if demo_at is not None and n:
            self._schedule_demo(int(demo_at))

    # ------------------------------------------------------------------------ schedule
    def _schedule_icebergs(self, gap: float) -> None:
        """When each instrument's iceberg agents start (thin books get none: they are
        confounders), with strength, side and kind drawn per agent."""
        self._ice_plan: list[list[tuple]] = [[] for _ in self.instruments]
        for row, instrument in enumerate(self.instruments):
            if instrument.thin:
                continue
            t = self.rng.uniform(120, gap)
            while t < self.session_seconds - 240:
                strength = float(self.rng.choice(self.strengths))
                side = 1 if self.rng.random() < 0.5 else -1
                native = bool(self.rng.random() < self.native_share)
                self._ice_plan[row].append((int(self.start + t), strength, side, native))
                t += 600 + self.rng.exponential(gap)

    def _schedule_confounders(self, gap: float) -> None:
        self._confounders = np.zeros((0, 5), dtype=np.int64)
        rows = []
        for row, instrument in enumerate(self.instruments):
            t = self.rng.uniform(60, gap)
            while t < self.session_seconds - 200:
                code = int(self.rng.choice([E_NEWS, E_SPOOF, E_MOMENTUM]))
                duration = int(
                    self.rng.uniform(60, 180) if code == E_NEWS else self.rng.uniform(120, 420)
                )
                side = 1 if self.rng.random() < 0.5 else -1
                rows.append((row, code, int(self.start + t), int(self.start + t + duration), side))
                self.episodes.append(
                    Episode(
                        instrument.symbol,
                        KIND_NAMES[code - 1],
                        int(self.start + t),
                        int(self.start + t + duration),
                    )
                )
                t += duration + 300 + self.rng.exponential(gap)
        if rows:
            self._confounders = np.array(rows, dtype=np.int64)
        if self.opening_seconds:
            for instrument in self.instruments:
                self.episodes.append(
                    Episode(
                        instrument.symbol, "opening", self.start, self.start + self.opening_seconds
                    )
                )

    def _schedule_demo(self, at: int) -> None:
        """A native hidden buyer (nine refills) on the first instrument at ``start + at``,
        met by three minutes of one-sided selling: sellers hit it while it holds the price."""
        when = self.start + at
        self._ice_plan[0] = [p for p in self._ice_plan[0] if abs(p[0] - when) > 900]
        self._ice_plan[0].insert(0, (when, 2.0, 1, True, True, 9))
        keep = self._confounders[:, 0] != 0 if len(self._confounders) else []
        demo = np.array([[0, E_MOMENTUM, when, when + 180, -1]], dtype=np.int64)
        self._confounders = np.concatenate([self._confounders[keep], demo])
        self.episodes = [e for e in self.episodes if e.symbol != self.instruments[0].symbol]
        self.episodes.append(Episode(self.instruments[0].symbol, "momentum", when, when + 180))

    def continued(self, seed: int, session_seconds: int | None = None) -> BookSimulator:
        """The next session, from the second after this one: each instrument at its last
        price with its day's volume, open, high, low and previous close carried over."""
        prices = self.last_prices()
        following = BookSimulator(
            [replace(i, price=prices[i.symbol]) for i in self.instruments],
            self.now + 1,
            seed=seed,
            session_seconds=session_seconds or self.session_seconds,
            strengths=self.strengths,
            native_share=self.native_share,
            skip_chance=self.skip_chance,
            repeat_chance=self.repeat_chance,
        )
        following.volume[:] = self.volume
        following.value[:] = self.value
        following._open, following._high, following._low = self._open, self._high, self._low
        following._close, following._pcr = self._close, self._pcr
        return following

    def last_prices(self) -> dict[str, float]:
        """Each instrument's last traded price, rupees."""
        prices = np.round(self._base + self.last * TICK, 2)
        return {i.symbol: float(p) for i, p in zip(self.instruments, prices, strict=True)}

    def option_chain(self, symbol: str):
        """A simulated option chain around ``symbol``'s price (see
        :func:`feeds.simulator.option_chain`; it gives no hint of the ground truth)."""
        row = next(i for i, inst in enumerate(self.instruments) if inst.symbol == symbol)
        chain, self._pcr[row] = option_chain(
            self.last_prices()[symbol], float(self._pcr[row]), self._chain_rng
        )
        return chain

    # ---------------------------------------------------------------------------- steps
    def _start_agents(self) -> None:
        for row, plan in enumerate(self._ice_plan):
            if not plan or plan[0][0] > self.now or self.ice_int[row, 0] == 1:
                continue
            forced = len(plan[0]) > 4  # the demo's: met by its own selling
            if self._episode[row] != E_NONE and not forced:  # one story at a time
                continue
            _, strength, side, native, *demo = plan[0]
            bb, ba = _best_bid(self.bid[row]), _best_ask(self.ask[row])
            level = bb if side > 0 else ba
            if not 0 <= level < GRID:  # that side of the book is empty: wait for it
                continue
            plan.pop(0)
            sell_rate = self.rate[row] / 2.0  # the flow that will hit a hidden buyer
            peak = max(
                5.0,
                np.round(sell_rate * 60.0 / strength / self.order_size[row]) * self.order_size[row],
            )
            refills = int(self.rng.integers(3, 10)) if native else int(self.rng.integers(4, 40))
            if demo:
                refills = demo[1]
            book = self.bid if side > 0 else self.ask
            self.ice[row] = (level, peak, peak, peak * refills, book[row, level])
            self.ice_int[row] = (1, side, 1 if native else 0, 0, 0, 0)
            self._ice_meta[row] = {
                "start": self.now,
                "price": round(self._base[row] + level * TICK, 2),
                "peak": int(peak),
                "hidden": int(peak * refills),
                "native": native,
                "strength": strength,
                "side": "BID" if side > 0 else "ASK",
                "noise": 0.0,
            }

    def _finish_agents(self, force: bool = False) -> None:
        for row, meta in enumerate(self._ice_meta):
            if meta is None:
                continue
            if self.ice_int[row, 3] > 0:
                meta.setdefault("first_refill", self.now)
            self._follow_noise(row, meta)
            if (
                self.ice_int[row, 0] == 1
                and self.now - meta.get("last_fill", meta["start"]) >= STRANDED_SECONDS
                and self._left_behind(row)
            ):
                self.ice_int[row, 0] = 3  # the market left its price behind: cancelled
            state = self.ice_int[row, 0]
            if state in (2, 3) or force:
                ended = {2: "completed", 3: "broken"}.get(int(state), "session end")
                self.icebergs.append(
                    IcebergTruth(
                        symbol=self.instruments[row].symbol,
                        side=meta["side"],
                        price=meta["price"],
                        peak=meta["peak"],
                        hidden_total=meta["hidden"],
                        native=meta["native"],
                        strength=meta["strength"],
                        start=meta["start"],
                        end=self.now,
                        refills=int(self.ice_int[row, 3]),
                        executed=int(self.ice_int[row, 4]),
                        ended=ended,
                        first_refill=meta.get("first_refill"),
                        clarity=_clarity(
                            int(self.ice_int[row, 4]) - meta["peak"],
                            meta["noise"],
                            meta.get("filled", False),
                        ),
                    )
                )
                self._ice_meta[row] = None
                self.ice_int[row] = 0
                self.ice[row] = 0.0

    def _left_behind(self, row: int) -> bool:
        """Whether a better price than the agent's stands on its side of the book."""
        level = int(self.ice[row, 0])
        if self.ice_int[row, 1] > 0:
            return _best_bid(self.bid[row]) > level
        return _best_ask(self.ask[row]) < level

    def _follow_noise(self, row: int, meta: dict) -> None:
        """Add this second's variance of the visible arrivals and cancellations at the
        agent's level (from the book's own rates) while the agent is being filled at the
        touch: the scatter its hidden fills must stand clear of (``IcebergTruth.clarity``)."""
        executed = int(self.ice_int[row, 4])
        filled, meta["executed"] = executed > meta.get("executed", 0), executed
        if not filled:  # (a second that used it up or broke it counts: it was filled then)
            return
        meta["filled"], meta["last_fill"] = True, self.now
        level = int(self.ice[row, 0])
        book = self.bid if meta["side"] == "BID" else self.ask
        opening = self.now < self.start + self.opening_seconds
        crowd = (3.0 if self._episode[row] == E_NEWS else 1.0) * (1.5 if opening else 1.0)
        chance = CANCEL_CHANCE * (2.0 if opening else 1.0)
        fair = self.fair[row]
        quote_bid, quote_ask = _quotes(fair, _best_bid(self.bid[row]), _best_ask(self.ask[row]))
        side = 1 if meta["side"] == "BID" else -1
        distance = quote_bid - level if side > 0 else level - quote_ask
        chance += STALE_CHANCE * _stale(level, fair, side)
        size = self.order_size[row]
        mean_size = size * math.exp(SIZE_SPREAD**2 / 2)
        rounded = _round_level(self._base[row], quote_bid if side > 0 else quote_ask, side)
        rate = crowd * _arrival_rate(self.arrival[row], distance, level == rounded, rounded >= 0)
        arrivals = rate * size**2 * math.exp(2 * SIZE_SPREAD**2)
        cancels = chance * (1 - chance) * book[row, level] * mean_size
        meta["noise"] += arrivals + cancels

    def _confounders_now(self) -> None:
        self._episode[:] = E_NONE
        self._episode_side[:] = 0
        c = self._confounders
        if len(c):
            live = (c[:, 2] <= self.now) & (self.now < c[:, 3])
            self._episode[c[live, 0]] = c[live, 1]
            self._episode_side[c[live, 0]] = c[live, 4]

    def _spoof(self) -> None:
        """A spoofer shows a large order a few ticks behind the touch and pulls it before
        the price gets there."""
        for row in np.flatnonzero(self._episode == E_SPOOF):
            side = self._episode_side[row]
            bb, ba = _best_bid(self.bid[row]), _best_ask(self.ask[row])
            size = self.rate[row] * 60
            if side > 0 and bb - 3 > 0:
                target = bb - 3
                if self.bid[row, target] < size:
                    self.bid[row, target] += size
                    self.bid_orders[row, target] += 1
            elif side < 0 and ba + 3 < GRID:
                target = ba + 3
                if self.ask[row, target] < size:
                    self.ask[row, target] += size
                    self.ask_orders[row, target] += 1
        for row in range(len(self.instruments)):  # pulled when the touch comes within a tick
            if self._episode[row] == E_NONE:
                continue
            bb, ba = _best_bid(self.bid[row]), _best_ask(self.ask[row])
            big = self.rate[row] * 50
            for book, orders, near in (
                (self.bid, self.bid_orders, (bb, bb - 1)),
                (self.ask, self.ask_orders, (ba, ba + 1)),
            ):
                for level in near:
                    if 0 <= level < GRID and book[row, level] > big:
                        book[row, level] -= self.rate[row] * 60
                        orders[row, level] = max(0, orders[row, level] - 1)
        np.maximum(self.bid, 0, out=self.bid)
        np.maximum(self.ask, 0, out=self.ask)

    def step(self) -> np.ndarray:
        """Advance one second; the snapshot Kite would send (possibly none, possibly the last
        one again)."""
        self._own_stream()
        self.now += 1
        self._recentre()
        self._confounders_now()
        self._start_agents()
        self._spoof()
        opening = self.now < self.start + self.opening_seconds
        step = self._value_step * (OPENING_VOLATILITY if opening else 1.0)
        self.fair += step * self._value_rng.standard_normal(len(self.instruments))
        _step(
            self.bid,
            self.ask,
            self.bid_orders,
            self.ask_orders,
            self.volume,
            self.last,
            self.rate,
            self.order_size,
            self.arrival,
            self.ice,
            self.ice_int,
            self._episode,
            self._episode_side,
            opening,
            self.last_fill,
            self.value,
            self._base,
            self._high,
            self._low,
            self.fair,
        )
        self._finish_agents()
        if self.now >= self.start + self.session_seconds - 1:
            self._finish_agents(force=True)
        roll = self.rng.random()
        if roll < self.skip_chance:
            return empty_ticks(0)
        if roll < self.skip_chance + self.repeat_chance and self._previous is not None:
            return self._previous.copy()
        self._previous = self._snapshot()
        return self._previous

    def frame(self) -> bytes:
        return encode_kite_frame(self.step())

    def _own_stream(self) -> None:
        """Seed the calling thread's kernel stream unless this simulator drew from it last.

        The first step seeds it with the simulator's seed, so a session is the same draw
        whichever thread steps it (the app builds it on one thread and steps it on its
        source's). A stream another simulator drew from since is seeded again from this
        simulator's own generator: sessions stepped by turns on one thread are each a
        reproducible draw for that order of turns, never one another's numbers."""
        owner = getattr(_STREAM_OWNER, "simulator", None)
        if owner is not None and owner() is self:
            return
        seed = self._kernel_seed
        if seed is None:
            seed = int(self.rng.integers(2**31))
        _seed(seed)
        self._kernel_seed = None
        _STREAM_OWNER.simulator = weakref.ref(self)

    def _recentre(self) -> None:
        """Keep each price far from the grid's ends: a book that has wandered within
        ``GRID // 8`` levels of one is shifted back to the middle (prices unchanged)."""
        margin = GRID // 8
        for row in np.flatnonzero((self.last < margin) | (self.last > GRID - margin)):
            shift = int(self.last[row]) - GRID // 2
            for book in (self.bid, self.ask, self.bid_orders, self.ask_orders):
                moved = np.zeros_like(book[row])
                if shift > 0:
                    moved[: GRID - shift] = book[row, shift:]
                else:
                    moved[-shift:] = book[row, : GRID + shift]
                book[row] = moved
            self.last[row] -= shift
            self.fair[row] -= shift
            self._base[row] += shift * TICK
            if self.ice_int[row, 0] == 1:
                self.ice[row, 0] -= shift
                if not 0 <= self.ice[row, 0] < GRID:  # left far behind: cancelled
                    self.ice_int[row, 0] = 3

    def _snapshot(self) -> np.ndarray:
        n = len(self.instruments)
        ticks = empty_ticks(n)
        last_price = np.round(self._base + self.last * TICK, 2)
        for row in range(n):
            bid_levels = np.flatnonzero(self.bid[row] > 0)[::-1][:5]
            ask_levels = np.flatnonzero(self.ask[row] > 0)[:5]
            shown_bid = self.bid[row, bid_levels].copy()
            shown_ask = self.ask[row, ask_levels].copy()
            bid_count = self.bid_orders[row, bid_levels].copy()
            ask_count = self.ask_orders[row, ask_levels].copy()
            if self.ice_int[row, 0] == 1:  # an iceberg's display shows at its price
                level = int(self.ice[row, 0])
                display = self.ice[row, 2]
                levels, shown, count = (
                    (bid_levels, shown_bid, bid_count)
                    if self.ice_int[row, 1] > 0
                    else (ask_levels, shown_ask, ask_count)
                )
                where = np.flatnonzero(levels == level)
                if where.size and display > 0:
                    shown[where[0]] += display
                    count[where[0]] += 1
                elif display > 0 and self.ice_int[row, 1] > 0:
                    bid_levels = np.sort(np.append(bid_levels, level))[::-1][:5]
                    shown_bid = np.array(
                        [self.bid[row, lv] + (display if lv == level else 0) for lv in bid_levels]
                    )
                    bid_count = np.array(
                        [self.bid_orders[row, lv] + (lv == level) for lv in bid_levels]
                    )
                elif display > 0:
                    ask_levels = np.sort(np.append(ask_levels, level))[:5]
                    shown_ask = np.array(
                        [self.ask[row, lv] + (display if lv == level else 0) for lv in ask_levels]
                    )
                    ask_count = np.array(
                        [self.ask_orders[row, lv] + (lv == level) for lv in ask_levels]
                    )
            ticks["bid_price"][row, : len(bid_levels)] = np.round(
                self._base[row] + bid_levels * TICK, 2
            )
            ticks["bid_qty"][row, : len(bid_levels)] = shown_bid
            ticks["bid_orders"][row, : len(bid_levels)] = np.minimum(bid_count, 65_535)
            ticks["ask_price"][row, : len(ask_levels)] = np.round(
                self._base[row] + ask_levels * TICK, 2
            )
            ticks["ask_qty"][row, : len(ask_levels)] = shown_ask
            ticks["ask_orders"][row, : len(ask_levels)] = np.minimum(ask_count, 65_535)
        self._open = np.where(np.isnan(self._open), last_price, self._open)
        self._high = np.maximum(self._high, last_price)
        self._low = np.minimum(self._low, last_price)
        close = self._close
        ticks["instrument_token"] = self._tokens
        ticks["mode"] = MODE_FULL
        ticks["tradable"] = True
        ticks["last_price"] = last_price
        ticks["last_traded_quantity"] = np.maximum(np.round(self.last_fill), 1).astype(np.int64)
        # The day's average traded price (Kite's, to the paisa); 0 before the first trade.
        ticks["average_traded_price"] = np.round(
            np.divide(self.value, self.volume, out=np.zeros(n), where=self.volume > 0), 2
        )
        ticks["volume_traded"] = self.volume.astype(np.int64)
        # The whole book's resting quantity, an iceberg's display included (not its reserve).
        display = np.where(self.ice_int[:, 0] == 1, self.ice[:, 2], 0.0)
        buyer = self.ice_int[:, 1] > 0
        ticks["total_buy_quantity"] = (self.bid.sum(axis=1) + display * buyer).astype(np.int64)
        ticks["total_sell_quantity"] = (self.ask.sum(axis=1) + display * ~buyer).astype(np.int64)
        ticks["open"], ticks["high"], ticks["low"], ticks["close"] = (
            self._open,
            np.round(self._high, 2),
            np.round(self._low, 2),
            close,
        )
        ticks["change"] = (last_price - close) * 100 / close
        ticks["last_trade_time"] = self.now
        ticks["exchange_timestamp"] = self.now
        return ticks
