"""Per-price-level iceberg detection: a level that keeps showing while more trades there than
it ever showed.

Rows are instruments; each has two tracked levels, the best bid (a hidden buyer absorbs
selling there) and the best ask (a hidden seller absorbs buying). From consecutive full-mode
snapshots ``prev -> cur`` of an instrument (about a second apart) the tracker takes:

* the volume that traded at the level: the cumulative volume's increase (Kite gives no
  trade-by-trade tape). A touch that gave way was traded out: what the previous snapshot
  showed at the prices a touch has left behind (asks below the new best ask, bids above the
  new best bid) traded on that side, as far as the volume goes. The rest is given to the
  sellers when the last price printed at or below the previous bid, to the buyers at or
  above the previous ask, half each in between. (Without the first rule, a large buy that
  takes out the offer in a second whose last print is a small sell at the bid reads as
  that much selling absorbed by the bid);
* what the level showed before and after, and its order count.

While the level's price holds (the same best price in ``prev`` and ``cur``), per step:

* ``added = shown_after - (shown_before - traded)``: quantity that appeared (or, negative,
  was cancelled) at the price during the step. In a second with no trade there, all of it
  is visible supply. A second with no trade anywhere in the instrument also teaches its
  usual net arrival rate at the touch (and that rate's variance), fitted against the queue
  (arrivals less cancellations in proportion to it); a second with trades on the other side
  does not teach, since the last print may have hidden some selling here too, which would
  make the usual arrivals look fewer than they are. The fit is a plain mean over the first
  quiet seconds and then remembers about the last fifty. In a second with trades, arrivals
  cannot be told from refills, so the usual rate is counted as visible, raised when the
  book is busier than usual: when new quantity appears at the prices behind both touches
  (which no trade reaches) at ``C_MIN_MULTIPLE`` or more times its usual rate over the last
  ten seconds (news, a crowd refilling the book), the touch is taken to gain as many times
  its usual gross arrivals, so a crowd re-posting at the touch is not taken for a hidden
  order. The usual rate behind the touch is learned ten times slower during such a burst
  (a burst is not the usual, though a lasting change of pace becomes it within about a
  quarter of an hour);
* a **refill**: a second with trades in which the level came back by at least
  ``min_refill_share`` of what traded and ``min_refill_orders`` of its typical order, with
  no new order (a native iceberg's disclosed quantity coming back: the same order); with
  exactly one new order it is a **re-post** (a synthetic iceberg placing its next slice);
* the level's revealed hidden volume is what traded there minus (shown first + visible
  additions - shown now), as in Zotikov and Antonov (2021): volume no visible order can
  account for. Whenever it falls below zero (the visible book explains everything that
  traded) the level's evidence starts again from that second, the price's age kept: a
  cumulative sum restarted at zero, so the small errors of a long-held busy touch do not
  pile up into an iceberg, nor dilute one that arrives later.

A level is an **iceberg** once its price has held ``min_held_seconds``, it has at least
``min_refills`` refills or re-posts, its revealed hidden volume reaches ``min_hidden_shown``
times the most it ever showed, and that volume stands ``min_z`` standard errors clear of what
was guessed: the arrivals during trades (each second's scatter, and the error of the usual
rate itself, which every guessed second shares, so that over T such seconds it grows as T^2:
a rate learned from fifty quiet seconds is not known well enough to credit a level held for
ten minutes with every share above it), and the side each second's volume traded on (read
from the last print, so any of it not traded out of a touch may have been the other side's).
While the book is busier than usual behind the touch, and for ``after_burst_seconds`` (a
minute) after, every level's evidence starts again each second, as in the opening: in a
crowd, the refills of one hidden order cannot be told from everyone re-posting, and evidence
gathered then would make an iceberg of the burst the moment it passed. The crowd does not
stop at once when the pace behind the touch falls back under the burst's bar: its re-posts
thin out over the next minute, and a level judged then was credited with them (on the tuning
seeds, the signals in the minute after a news burst ended were right about half the time).
No level becomes an iceberg while the opposite touch, held too, shows as much hidden volume
or more (the volume no queue explains went to one side or the other, read from the print: a
real iceberg lends some of its volume to the other side's account, never more than it
keeps); nor while its revealed hidden volume is more than ``max_hidden_per_refill`` (two)
of its displays for each refill seen, and one (each refill brings back a display: hidden
volume of many more displays than refills was gathered another way, as when a crowd keeps a
queue up at a price many quote at, a whole rupee, each arrival too small to be a refill,
while the usual arrivals, learned over the whole book, undercount that price's); nor before
its side's usual arrivals rest on
``A_MIN_SAMPLES`` quiet seconds (a book that trades every second shows none, and a queue
replenished by its usual orders would look like an iceberg to a tracker that assumed none).
It ends when the price is traded through or the level leaves the top (``broken``), or when
nothing trades there for ``quiet_seconds`` (``completed``). A better price in front of the
level for at most ``max_passed_seconds`` (half a minute: an order improving the touch by a
tick and filled at once, or a better price the flow takes out within seconds) is not the
level leaving: when the touch comes back to its price the story of a level not yet called an
iceberg goes on, what its queue gained meanwhile counted as visible orders and the seconds it
spent behind not counted as held (its hold, and the pace of its refills, are the time it was
the touch). A hidden order at the touch is passed so again and again as the price wobbles,
and each time its evidence would start again. A better price there for longer is a new
touch, and the level behind it is done with (followed on however long, evidence would gather
over minutes the level spent behind other orders; on tuning seeds that found a few more
icebergs for many more false ones).

The opening minutes (``update``'s ``settling`` ticks; the engine marks the first
OPENING_QUIET_MINUTES after 09:15) teach the usual arrivals, but every level's evidence
starts again each second until they end: the opening's flow and cancellations are not the
day's, and the usual arrivals are still being learned, so nothing is called an iceberg on
them. A level held since before keeps its age.

The walk is compiled (numba) because a level's story is sequential; every instrument is
handled in one pass over the batch, sorted by instrument and time, and the state lives in
arrays of shape (instruments, 2).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from datetime import datetime

import numba
import numpy as np

from engine.sessions import IST
from engine.ticks import DEPTH_LEVELS, MODE_FULL

BID, ASK = 0, 1
SIDE_NAMES = ("BID", "ASK")
STATE_NONE, STATE_ACTIVE, STATE_COMPLETED, STATE_BROKEN = 0, 1, 2, 3
STATE_NAMES = ("", "active", "completed", "broken")

# Float state columns per (instrument, side).
F_PRICE, F_SHOWN_FIRST, F_TRADED, F_VISIBLE, F_HIDDEN, F_PEAK, F_SHOWN_MAX, F_GUESSED = range(8)
F_EXPOSED = 8  # seconds with trades whose arrivals were guessed, since the evidence began
F_FIELDS = 9
# A passed level's row (``aside``) adds what it showed as it was passed and when.
F_PASSED_SHOWN, F_PASSED_AT = F_FIELDS, F_FIELDS + 1
# Integer state columns per (instrument, side).
I_STATE, I_REFILLS, I_NATIVE, I_REPOSTS, I_FIRST, I_LAST_TRADE, I_RECORDED, I_DETECTED_REFILLS = (
    range(8)
)
I_AWAY = 8  # seconds since I_FIRST the level spent behind a better price that did not last
I_FIELDS = 9

# An iceberg stands behind a signal (``LevelTracker.evidence``) only while its revealed
# hidden volume stands at least this many standard errors clear of what was guessed (> 0).
STANDING_STANDARD_ERRORS = 2.0


@dataclass(frozen=True)
class LevelSettings:
    """When a level counts as an iceberg; see the module docstring.

    ``min_refills`` (>= 1) refills or re-posts; ``min_hidden_shown`` (> 0) revealed hidden
    volume in units of the most the level showed; ``min_held_seconds``: the price held at
    least this long (a news burst's crowd re-posting at a touch that gives way within
    seconds is not an iceberg); ``quiet_seconds`` (> 0) without a trade ends it;
    ``max_gap_seconds`` (> 0): a longer silence between snapshots breaks the story;
    ``max_passed_seconds`` (>= 0): how long a better price may stand in front of a level
    before the level is done with (1: only a better price gone at the next snapshot; 0:
    none); ``after_burst_seconds`` (>= 0): how long after the book behind the touch was last
    busier than usual no level gathers evidence (0: only during the burst);
    ``max_hidden_per_refill`` (> 0; inf: no bound): revealed hidden volume at most this many
    displays (the largest refill) for each refill seen, and one.
    """

    min_refills: int = 1
    min_hidden_shown: float = 0.25
    quiet_seconds: int = 90
    max_gap_seconds: int = 30
    min_refill_share: float = 0.5  # a refill brings back at least this share of what traded
    min_refill_orders: float = 3.0  # ... and at least this many of the level's typical orders
    # Hidden volume in standard errors of its guesses (arrivals, sides). The test is made
    # every second of a level's life, so it sits above the usual 3.
    min_z: float = 3.5
    min_held_seconds: int = 20  # the price held at least this long
    max_passed_seconds: int = 30
    after_burst_seconds: int = 60
    max_hidden_per_refill: float = 2.0  # displays of hidden volume a refill, and one


@dataclass(frozen=True)
class Iceberg:
    """One detected iceberg: a hidden buyer at the bid or seller at the ask."""

    symbol: str
    side: str  # BID or ASK
    price: float
    peak: float  # display size, shares (the largest refill seen)
    refills: int  # refills and re-posts seen
    hidden_volume: float  # revealed hidden volume, shares
    traded: float  # all that traded at the price while it held, shares
    first_seen: int  # exchange epoch seconds
    detected_at: int  # when its evidence first passed the rule
    last_seen: int
    native: bool  # refills without new orders (NSE/BSE disclosed quantity)
    state: str  # active / completed / broken
    refills_at_detection: int = 0  # refills when its evidence first passed the rule
    # Estimated whole order, shares (engine/hidden_size.py): median and an interval; NaN
    # until the engine has estimated it. ``total_capped``: the upper end is a bound (the
    # exchange's, or the largest iceberg seen), not a quantile.
    total_low: float = float("nan")
    total: float = float("nan")
    total_high: float = float("nan")
    total_capped: bool = False
    hidden_se: float = 0.0  # standard error of hidden_volume (its guesses), shares
    # Refills it had surely revealed when the engine first published it: where the size
    # estimate began to watch it (engine/hidden_size.py, delayed entry); 0 if never published.
    entry_refills: int = 0

    @property
    def direction(self) -> int:
        """+1 for a hidden buyer (at the bid), -1 for a hidden seller (at the ask)."""
        return 1 if self.side == SIDE_NAMES[BID] else -1

    @property
    def standard_errors_clear(self) -> float:
        """How many standard errors its revealed hidden volume stands clear of what the
        level's own arrivals and the guessed sides of its trades explain, read as the
        detection test and the evidence's clear point read it (``sqrt(guessed + 1)``)."""
        return self.hidden_volume / math.hypot(self.hidden_se, 1.0)

    @property
    def standing(self) -> bool:
        """Whether it still stands clear enough of its noise to stand behind a signal (the
        rule of :meth:`LevelTracker.evidence`); a faded one stays in the table."""
        return self.standard_errors_clear >= STANDING_STANDARD_ERRORS

    def as_json(self) -> dict:
        """JSON-ready values (times ISO 8601 in IST, an unknown estimate as None), with how
        many standard errors clear it stands and whether it stands behind signals."""
        values = asdict(self)
        values["standard_errors_clear"] = round(self.standard_errors_clear, 2)
        values["standing"] = self.standing
        for name in ("first_seen", "detected_at", "last_seen"):
            values[name] = datetime.fromtimestamp(values[name], IST).isoformat()
        for name in ("total_low", "total", "total_high"):
            values[name] = None if math.isnan(values[name]) else round(values[name])
        return values


@numba.njit(cache=True)
def _walk(
    rows,
    times,
    settling,
    volumes,
    last_prices,
    best_prices,
    best_qty,
    best_orders,
    bid_prices,
    ask_prices,
    bid_qty,
    ask_qty,
    prev,
    prev_int,
    prev_depth,
    crowd,
    level,
    level_int,
    aside,
    aside_int,
    set_aside,
    arrivals,
    events,
    event_count,
    min_refills,
    min_hidden_shown,
    quiet_seconds,
    max_gap,
    min_refill_share,
    min_refill_orders,
    min_z,
    min_held,
    max_passed,
    after_burst,
    max_per_refill,
):
    """Fold ticks (sorted by row, then time) into the level state; append finished
    icebergs to ``events`` (row, side, state and the float fields) while room lasts.

    ``prev`` float columns per row: bid price, ask price, bid qty, ask qty, last price,
    volume; ``prev_int``: time, bid orders, ask orders.
    """
    for j in range(rows.shape[0]):
        i = rows[j]
        t = times[j]
        volume = volumes[j]
        p_time = prev_int[i, 0]
        linked = p_time > 0 and t > p_time and t - p_time <= max_gap
        if p_time > 0 and t <= p_time:
            continue  # a repeated or older snapshot adds nothing
        traded = 0.0
        if linked and volume > prev[i, 5]:
            traded = volume - prev[i, 5]
        if linked:
            bid_added, bid_matched = _added_behind(prev_depth, i, 0, bid_prices, bid_qty, j)
            ask_added, ask_matched = _added_behind(prev_depth, i, 1, ask_prices, ask_qty, j)
            _learn_crowd(crowd, i, bid_added + ask_added, bid_matched + ask_matched, t - p_time)
        # How many times the usual orders arrive behind the touch now (1: as usual), for
        # both sides' guesses and decisions below.
        busy = _crowd_multiple(crowd, i)
        if busy > 1.0:
            crowd[i, C_BUSY_AT] = t
        # A burst's crowd goes on re-posting for a while after the pace behind the touch is
        # back under the burst's bar: the evidence waits for it too.
        settling_burst = busy > 1.0 or (
            crowd[i, C_BUSY_AT] > 0 and t - crowd[i, C_BUSY_AT] <= after_burst
        )
        ltp = last_prices[j]
        sells, buys, unsure = 0.0, 0.0, 0.0
        if traded > 0:
            # A touch that gave way was bought (or sold) out: at least what the levels it
            # left showed traded on its side. The rest is read from the last print.
            sold, bought = 0.0, 0.0
            bid_now, ask_now = best_prices[j, 0], best_prices[j, 1]
            gave_way = (prev[i, 0] > 0 and (bid_now <= 0 or bid_now < prev[i, 0])) or (
                prev[i, 1] > 0 and (ask_now <= 0 or ask_now > prev[i, 1])
            )
            if linked and gave_way:
                sold, bought = _taken_out(prev_depth, i, bid_now, ask_now)
                if sold + bought > traded:  # some of it was pulled, not traded
                    sold, bought = (
                        sold * traded / (sold + bought),
                        bought * traded / (sold + bought),
                    )
            unsure = traded - sold - bought
            if ltp <= prev[i, 0]:
                sells = unsure
            elif ltp >= prev[i, 1] and prev[i, 1] > 0:
                buys = unsure
            else:
                sells = unsure / 2
                buys = unsure / 2
            sells += sold
            buys += bought
        for s in range(2):
            price = best_prices[j, s]
            shown = best_qty[j, s]
            orders = best_orders[j, s]
            p_price = prev[i, s]
            p_shown = prev[i, 2 + s]
            p_orders = prev_int[i, 1 + s]
            hit = sells if s == 0 else buys
            state = level_int[i, s, I_STATE]
            held = linked and price > 0 and price == p_price
            if set_aside[i, s] and (not linked or _through(s, price, aside[i, s, F_PRICE])):
                set_aside[i, s] = False  # traded through, or the book lost track
            if state == STATE_ACTIVE and not held:
                # The level left the top: traded through (the other side reached it, or
                # it was consumed) or pulled.
                through = _through(s, price, level[i, s, F_PRICE])
                end_state = STATE_BROKEN if through or not linked else STATE_COMPLETED
                if not through and linked and level_int[i, s, I_RECORDED] == 0:
                    # A better price went in front: set aside in case it does not hold.
                    aside[i, s, :F_FIELDS] = level[i, s, :]
                    aside[i, s, F_PASSED_SHOWN] = p_shown
                    aside[i, s, F_PASSED_AT] = t
                    aside_int[i, s, :] = level_int[i, s, :]
                    set_aside[i, s] = True
                if level_int[i, s, I_RECORDED] > 0 and event_count[0] < events.shape[0]:
                    _record(events, event_count, i, s, end_state, level, level_int, prev_int[i, 0])
                level_int[i, s, I_STATE] = STATE_NONE
                state = STATE_NONE
            if not held:
                continue
            if (
                state == STATE_NONE
                and set_aside[i, s]
                and aside[i, s, F_PRICE] == price
                and p_time - aside[i, s, F_PASSED_AT] <= max_passed
            ):
                # The better price did not hold: the level's story goes on, and what its
                # queue gained meanwhile was visible orders.
                level[i, s, :] = aside[i, s, :F_FIELDS]
                level_int[i, s, :] = aside_int[i, s, :]
                level[i, s, F_VISIBLE] += max(p_shown - aside[i, s, F_PASSED_SHOWN], 0.0)
                # Its hold counts the seconds at the touch, not those behind the better price.
                level_int[i, s, I_AWAY] += p_time - int(aside[i, s, F_PASSED_AT])
                state = STATE_ACTIVE
                set_aside[i, s] = False  # taken back: a later pass sets it aside afresh
            if set_aside[i, s] and t - aside[i, s, F_PASSED_AT] > max_passed:
                set_aside[i, s] = False  # the better price has held: a new touch
            if state == STATE_NONE or level[i, s, F_PRICE] != price:
                level[i, s, :] = 0.0
                level_int[i, s, :] = 0
                level[i, s, F_PRICE] = price
                level[i, s, F_SHOWN_FIRST] = p_shown
                level_int[i, s, I_STATE] = STATE_ACTIVE
                level_int[i, s, I_FIRST] = p_time
                level_int[i, s, I_LAST_TRADE] = p_time
            level[i, s, F_TRADED] += hit
            # Which side a second's volume traded on is read from its last print: right on
            # average, but any of it may have been either side's (variance V^2 / 4), save
            # what a touch that gave way shows was traded on its side.
            level[i, s, F_GUESSED] += unsure * unsure / 4.0
            if hit > 0:
                level_int[i, s, I_LAST_TRADE] = t
            dt = t - p_time
            added = shown - (p_shown - hit)
            new_orders = orders - p_orders
            typical = p_shown / max(p_orders, 1)  # the level's typical order, shares
            level[i, s, F_SHOWN_MAX] = max(level[i, s, F_SHOWN_MAX], shown)
            if hit <= 0:
                # Nothing traded here: whatever appeared is visible supply. A second with
                # no trade at all teaches the usual arrival rate at the touch.
                level[i, s, F_VISIBLE] += added
                if traded <= 0:
                    _learn_arrivals(arrivals, i, s, p_shown, added / dt)
            else:
                # Trades hide what arrived meanwhile: count the usual arrivals for a queue of
                # what the trades left as visible.
                rate, variance = _expected_arrivals(arrivals, i, s, max(p_shown - hit, 0.0))
                # More orders than usual arrive behind the touch (news, a crowd): as many
                # times more arrive at it.
                rate += arrivals[i, s, A_G] * (busy - 1.0)
                variance *= busy
                level[i, s, F_VISIBLE] += rate * dt
                # The variance of that guess: the seconds' own scatter, and the error of the
                # usual rate itself, which every guessed second shares (over T seconds it
                # grows as T^2, not T).
                exposed = level[i, s, F_EXPOSED]
                level[i, s, F_EXPOSED] = exposed + dt
                level[i, s, F_GUESSED] += variance * dt + (
                    (2.0 * exposed + dt) * dt * variance / _samples(arrivals, i, s)
                )
                sized = added >= min_refill_orders * typical and added >= min_refill_share * hit
                if sized and new_orders <= 0:
                    level_int[i, s, I_REFILLS] += 1
                    level_int[i, s, I_NATIVE] += 1
                    level[i, s, F_PEAK] = max(level[i, s, F_PEAK], added)
                elif sized and new_orders == 1:
                    level_int[i, s, I_REFILLS] += 1
                    level_int[i, s, I_REPOSTS] += 1
                    level[i, s, F_PEAK] = max(level[i, s, F_PEAK], added)
            hidden = level[i, s, F_TRADED] - (
                level[i, s, F_SHOWN_FIRST] + level[i, s, F_VISIBLE] - shown
            )
            if (hidden < 0 or settling[j] or settling_burst) and level_int[i, s, I_RECORDED] == 0:
                # The visible book explains all that traded here: the evidence starts again
                # from now (a cumulative sum restarted at zero), so the small errors of a
                # long-held busy touch do not pile up, nor dilute an iceberg arriving later.
                # The opening and a burst teach nothing about hidden orders either.
                _restart_evidence(level, level_int, i, s, shown)
                hidden = 0.0
            level[i, s, F_HIDDEN] = max(hidden, 0.0)
            if (
                level_int[i, s, I_REFILLS] >= min_refills
                and level[i, s, F_HIDDEN] >= min_hidden_shown * level[i, s, F_SHOWN_MAX]
                and level[i, s, F_HIDDEN] >= min_z * np.sqrt(level[i, s, F_GUESSED] + 1.0)
                and level[i, s, F_HIDDEN]
                <= max_per_refill * level[i, s, F_PEAK] * (level_int[i, s, I_REFILLS] + 1)
                and level_int[i, s, I_RECORDED] == 0
                and t - level_int[i, s, I_FIRST] - level_int[i, s, I_AWAY] >= min_held
                and arrivals[i, s, A_N] >= A_MIN_SAMPLES  # its usual arrivals are known
                and not (  # the other touch explains less of what traded
                    level_int[i, 1 - s, I_STATE] == STATE_ACTIVE
                    and level[i, 1 - s, F_HIDDEN] >= level[i, s, F_HIDDEN]
                )
            ):
                level_int[i, s, I_RECORDED] = t  # when it became an iceberg
                level_int[i, s, I_DETECTED_REFILLS] = level_int[i, s, I_REFILLS]
            if t - level_int[i, s, I_LAST_TRADE] > quiet_seconds:
                if level_int[i, s, I_RECORDED] > 0 and event_count[0] < events.shape[0]:
                    _record(events, event_count, i, s, STATE_COMPLETED, level, level_int, t)
                level[i, s, :] = 0.0
                level_int[i, s, :] = 0
        for k in range(prev_depth.shape[2]):
            prev_depth[i, 0, k, 0] = bid_prices[j, k] if bid_qty[j, k] > 0 else 0.0
            prev_depth[i, 0, k, 1] = bid_qty[j, k]
            prev_depth[i, 1, k, 0] = ask_prices[j, k] if ask_qty[j, k] > 0 else 0.0
            prev_depth[i, 1, k, 1] = ask_qty[j, k]
        prev[i, 0] = best_prices[j, 0]
        prev[i, 1] = best_prices[j, 1]
        prev[i, 2] = best_qty[j, 0]
        prev[i, 3] = best_qty[j, 1]
        prev[i, 4] = ltp
        prev[i, 5] = max(volume, prev[i, 5]) if linked else volume
        prev_int[i, 0] = t
        prev_int[i, 1] = best_orders[j, 0]
        prev_int[i, 2] = best_orders[j, 1]


@numba.njit(cache=True)
def _through(s, price, at):
    """Whether side ``s``'s touch at ``price`` (0: the side is empty) has gone past a level
    at ``at``: a bid below it, an ask above it, or nothing left on that side."""
    return price <= 0 or (price < at if s == 0 else price > at)


@numba.njit(cache=True)
def _taken_out(prev_depth, i, bid, ask):
    """What the previous snapshot showed at the prices the touches have since left behind:
    bids above the best bid ``bid`` now (sold into) and asks below the best ask ``ask`` now
    (bought), every level of a side that is empty now (price 0)."""
    sold, bought = 0.0, 0.0
    for k in range(prev_depth.shape[2]):
        price, shown = prev_depth[i, 0, k, 0], prev_depth[i, 0, k, 1]
        if price > 0 and (bid <= 0 or price > bid):
            sold += shown
        price, shown = prev_depth[i, 1, k, 0], prev_depth[i, 1, k, 1]
        if price > 0 and (ask <= 0 or price < ask):
            bought += shown
    return sold, bought


@numba.njit(cache=True)
def _restart_evidence(level, level_int, i, s, shown):
    """Forget a level's evidence, not its price or when that price was first held."""
    for field in (F_TRADED, F_VISIBLE, F_HIDDEN, F_PEAK, F_GUESSED, F_EXPOSED):
        level[i, s, field] = 0.0
    level[i, s, F_SHOWN_FIRST] = shown
    level[i, s, F_SHOWN_MAX] = shown
    level_int[i, s, I_REFILLS] = 0
    level_int[i, s, I_NATIVE] = 0
    level_int[i, s, I_REPOSTS] = 0


# Moments of (queue shown, net arrivals a second) per level, exponentially weighted, and
# the level's gross arrivals a second (what appeared, cancellations not netted).
A_X, A_Y, A_XX, A_XY, A_YY, A_N, A_G = range(7)
A_FIELDS = 7
A_WEIGHT = 0.02
A_MIN_SAMPLES = 10  # quiet seconds a touch's usual arrivals rest on before it is judged

# How busy the book behind the touch is: new quantity a second per level at prices behind
# both sides' touches, over the last seconds (C_FAST) and the usual (C_SLOW).
C_FAST, C_SLOW, C_N = range(3)
C_BUSY_AT = 3  # the last second the book behind the touch was busier than usual
C_FIELDS = 4
C_FAST_WEIGHT = 0.1  # about the last ten seconds
C_SLOW_WEIGHT = 0.005  # about the last few minutes
C_MIN_MULTIPLE = 1.5  # less is the usual wobble of a ten-second mean: counted as usual
C_MAX_MULTIPLE = 10.0
C_BURST_LEARNING = 0.1  # the usual learns this much slower during a burst


@numba.njit(cache=True)
def _added_behind(prev_depth, i, s, prices, quantities, j):
    """What appeared on side ``s`` of snapshot ``j`` at the prices behind the touch that the
    previous snapshot showed too (prices no trade reaches: their increases are new orders),
    and how many such prices there were."""
    sign = 1.0 if s == 0 else -1.0  # bids behind the touch are lower, asks higher
    touch = min(sign * prev_depth[i, s, 0, 0], sign * prices[j, 0])
    added, matched = 0.0, 0
    m = 1
    for k in range(1, prices.shape[1]):
        price = prices[j, k]
        if not (price > 0 and quantities[j, k] > 0) or sign * price >= touch:
            continue
        # Both books are sorted away from the touch: walk the previous one along.
        while m < prev_depth.shape[2] and sign * prev_depth[i, s, m, 0] > sign * price:
            m += 1
        if m < prev_depth.shape[2] and prev_depth[i, s, m, 0] == price:
            added += max(quantities[j, k] - prev_depth[i, s, m, 1], 0.0)
            matched += 1
    return added, matched


@numba.njit(cache=True)
def _learn_crowd(crowd, i, added, matched, dt):
    """Fold a snapshot's new quantity a level behind the touch, a second, into the running
    means (a snapshot with no such level teaches nothing)."""
    if matched == 0:
        return
    rate = added / matched / dt
    crowd[i, C_N] += 1.0
    fast = max(C_FAST_WEIGHT, 1.0 / crowd[i, C_N])
    slow = max(C_SLOW_WEIGHT, 1.0 / crowd[i, C_N])
    crowd[i, C_FAST] += fast * (rate - crowd[i, C_FAST])
    if _crowd_multiple(crowd, i) > 1.0:
        # A burst teaches the usual ten times slower: a burst is not the usual, but a
        # lasting change of pace becomes it within about a quarter of an hour.
        slow *= C_BURST_LEARNING
    crowd[i, C_SLOW] += slow * (rate - crowd[i, C_SLOW])


@numba.njit(cache=True)
def _crowd_multiple(crowd, i):
    """How many times the usual orders arrive behind the touch now: 1 until the usual is
    known, and for anything less than ``C_MIN_MULTIPLE`` times it."""
    if crowd[i, C_N] < 1.0 / C_SLOW_WEIGHT or crowd[i, C_SLOW] <= 0:
        return 1.0
    multiple = crowd[i, C_FAST] / crowd[i, C_SLOW]
    return min(multiple, C_MAX_MULTIPLE) if multiple >= C_MIN_MULTIPLE else 1.0


@numba.njit(cache=True)
def _learn_arrivals(arrivals, i, s, shown, rate):
    """Fold one no-trade second in: the queue it started with and its net arrivals."""
    arrivals[i, s, A_N] += 1.0
    w = max(A_WEIGHT, 1.0 / arrivals[i, s, A_N])  # a plain mean until the memory fills
    arrivals[i, s, A_X] += w * (shown - arrivals[i, s, A_X])
    arrivals[i, s, A_Y] += w * (rate - arrivals[i, s, A_Y])
    arrivals[i, s, A_XX] += w * (shown * shown - arrivals[i, s, A_XX])
    arrivals[i, s, A_XY] += w * (shown * rate - arrivals[i, s, A_XY])
    arrivals[i, s, A_YY] += w * (rate * rate - arrivals[i, s, A_YY])
    arrivals[i, s, A_G] += w * (max(rate, 0.0) - arrivals[i, s, A_G])


@numba.njit(cache=True)
def _samples(arrivals, i, s):
    """How many quiet seconds the usual arrivals rest on: the count, up to the effective
    size of the exponentially weighted memory."""
    return max(min(arrivals[i, s, A_N], (2.0 - A_WEIGHT) / A_WEIGHT), 1.0)


@numba.njit(cache=True)
def _expected_arrivals(arrivals, i, s, shown):
    """Usual net arrivals a second at a queue of ``shown`` shares, and their variance:
    arrivals less cancellations in proportion to the queue, ``a - c x shown``, fitted on the
    level's quiet seconds (a depleted queue loses less to cancellations than a full one)."""
    mx, my = arrivals[i, s, A_X], arrivals[i, s, A_Y]
    var_x = arrivals[i, s, A_XX] - mx * mx
    var_y = max(arrivals[i, s, A_YY] - my * my, 0.0)
    if var_x <= 1e-9:
        return my, var_y
    cov = arrivals[i, s, A_XY] - mx * my
    slope = min(max(cov / var_x, -1.0), 0.0)  # a cancellation share a second, 0-100 %
    residual = max(var_y - slope * cov, 0.0)
    return my + slope * (shown - mx), residual


@numba.njit(cache=True)
def _record(events, event_count, i, s, end_state, level, level_int, last_seen):
    k = event_count[0]
    events[k, 0] = i
    events[k, 1] = s
    events[k, 2] = end_state
    events[k, 3] = level[i, s, F_PRICE]
    events[k, 4] = level[i, s, F_PEAK]
    events[k, 5] = level_int[i, s, I_REFILLS]
    events[k, 6] = level[i, s, F_HIDDEN]
    events[k, 7] = level[i, s, F_TRADED]
    events[k, 8] = level_int[i, s, I_FIRST]
    events[k, 9] = last_seen
    events[k, 10] = 1.0 if level_int[i, s, I_NATIVE] >= level_int[i, s, I_REPOSTS] else 0.0
    events[k, 11] = level_int[i, s, I_RECORDED]
    events[k, 12] = level_int[i, s, I_DETECTED_REFILLS]
    events[k, 13] = np.sqrt(level[i, s, F_GUESSED])
    event_count[0] = k + 1


EVENT_FIELDS = 14


class LevelTracker:
    """The two top levels of every instrument, followed through time (see the module
    docstring). ``update(rows, ticks)`` takes the batch's instrument rows and ticks; the
    icebergs active now are in :meth:`active`, the finished ones since the last call in
    the return value."""

    def __init__(self, symbols, settings: LevelSettings | None = None, capacity: int = 4096):
        self.symbols = np.asarray(symbols, dtype=object)
        self.settings = settings or LevelSettings()
        n = len(self.symbols)
        self.prev = np.zeros((n, 6))
        self.prev_int = np.zeros((n, 3), dtype=np.int64)
        self.level = np.zeros((n, 2, F_FIELDS))
        self.level_int = np.zeros((n, 2, I_FIELDS), dtype=np.int64)
        # A level a better price went in front of, kept until that price has held for
        # ``max_passed_seconds`` (the float row ends with what the level showed as it was
        # passed, and when).
        self.aside = np.zeros((n, 2, F_PASSED_AT + 1))
        self.aside_int = np.zeros((n, 2, I_FIELDS), dtype=np.int64)
        self.set_aside = np.zeros((n, 2), dtype=np.bool_)
        # Moments of each touch's queue and net visible arrivals (shares/s), per side.
        self.arrivals = np.zeros((n, 2, A_FIELDS))
        # The last snapshot's depth (price, quantity per level and side) and how busy it is.
        self.prev_depth = np.zeros((n, 2, DEPTH_LEVELS, 2))
        self.crowd = np.zeros((n, C_FIELDS))
        self._events = np.zeros((capacity, EVENT_FIELDS))
        self.dropped_events = 0

    def take_rows(self, previous: LevelTracker, rows: np.ndarray, from_rows: np.ndarray) -> None:
        """Continue ``previous``'s levels for ``rows`` (its ``from_rows``): a watchlist change."""
        names = ("prev", "prev_int", "prev_depth", "crowd", "level", "level_int", "arrivals")
        for name in (*names, "aside", "aside_int", "set_aside"):
            getattr(self, name)[rows] = getattr(previous, name)[from_rows]

    def update(
        self, rows: np.ndarray, ticks: np.ndarray, settling: np.ndarray | None = None
    ) -> list[Iceberg]:
        """Fold a batch in (``rows[i]`` is the instrument row of ``ticks[i]``); return the
        icebergs that ended in it. ``settling`` (per tick, optional) marks snapshots of the
        opening minutes: they teach the usual arrivals, but no level gathers evidence from
        them, so an iceberg is found only on what trades after the opening settles."""
        settling = np.zeros(len(ticks), bool) if settling is None else np.asarray(settling)
        full = (ticks["mode"] == MODE_FULL) & (ticks["exchange_timestamp"] > 0)
        if not np.all(full):
            rows, ticks, settling = rows[full], ticks[full], settling[full]
        if len(ticks) == 0:
            return []
        if np.bincount(rows).max() > 1:  # several snapshots of one instrument: in time order
            order = np.lexsort((ticks["exchange_timestamp"], rows))
            rows, ticks, settling = rows[order], ticks[order], settling[order]
        quantity = np.empty((len(ticks), 2))
        quantity[:, 0], quantity[:, 1] = ticks["bid_qty"][:, 0], ticks["ask_qty"][:, 0]
        prices = np.empty((len(ticks), 2))
        prices[:, 0], prices[:, 1] = ticks["bid_price"][:, 0], ticks["ask_price"][:, 0]
        prices[~(quantity > 0) | np.isnan(prices)] = 0.0  # an empty level has no price
        orders = np.empty((len(ticks), 2), dtype=np.int64)
        orders[:, 0], orders[:, 1] = ticks["bid_orders"][:, 0], ticks["ask_orders"][:, 0]
        count = np.zeros(1, dtype=np.int64)
        s = self.settings
        _walk(
            rows.astype(np.int64, copy=False),
            ticks["exchange_timestamp"].astype(np.int64, copy=False),
            settling.astype(np.bool_, copy=False),
            ticks["volume_traded"].astype(np.float64),
            np.nan_to_num(ticks["last_price"]),
            prices,
            quantity,
            orders,
            ticks["bid_price"],
            ticks["ask_price"],
            ticks["bid_qty"],
            ticks["ask_qty"],
            self.prev,
            self.prev_int,
            self.prev_depth,
            self.crowd,
            self.level,
            self.level_int,
            self.aside,
            self.aside_int,
            self.set_aside,
            self.arrivals,
            self._events,
            count,
            s.min_refills,
            s.min_hidden_shown,
            s.quiet_seconds,
            s.max_gap_seconds,
            s.min_refill_share,
            s.min_refill_orders,
            s.min_z,
            s.min_held_seconds,
            s.max_passed_seconds,
            s.after_burst_seconds,
            s.max_hidden_per_refill,
        )
        return [self._iceberg_of(row) for row in self._events[: int(count[0])]]

    def _iceberg_of(self, event: np.ndarray) -> Iceberg:
        return Iceberg(
            symbol=str(self.symbols[int(event[0])]),
            side=SIDE_NAMES[int(event[1])],
            price=round(float(event[3]), 4),
            peak=float(event[4]),
            refills=int(event[5]),
            hidden_volume=float(event[6]),
            traded=float(event[7]),
            first_seen=int(event[8]),
            detected_at=int(event[11]),
            last_seen=int(event[9]),
            native=bool(event[10]),
            state=STATE_NAMES[int(event[2])],
            refills_at_detection=int(event[12]),
            hidden_se=float(event[13]),
        )

    def first_seen(self, rows: np.ndarray, sides: np.ndarray) -> np.ndarray:
        """When the level of each ``rows[k]``, ``sides[k]`` (0 bid, 1 ask) was first held at
        its price (exchange epoch seconds; 0 where none is): together with the side, which
        hidden order an iceberg is, however often its evidence comes and goes."""
        return self.level_int[rows, sides, I_FIRST]

    def price(self, row: int, side: int) -> float:
        """The price of instrument ``row``'s tracked level on ``side`` (0 bid, 1 ask); 0 where
        none is tracked."""
        return float(self.level[row, side, F_PRICE])

    def active_mask(self) -> np.ndarray:
        """(instruments, 2) True where an iceberg is active: column 0 the bid, 1 the ask."""
        return (self.level_int[:, :, I_STATE] == STATE_ACTIVE) & (
            self.level_int[:, :, I_RECORDED] > 0
        )

    def evidence(self) -> tuple[np.ndarray, ...]:
        """``(active, refills, hidden volume, seconds held at the touch, peak, standard error)``,
        each (instruments, 2), for :func:`engine.iceberg_evidence.evidence_parts` (zero where none
        is active; the standard error of the hidden volume, as the detection test reads it:
        ``sqrt(guessed variance + 1)``, is 1 there). An iceberg whose hidden volume has sunk back
        into its noise, less than ``STANDING_STANDARD_ERRORS`` (2) standard errors clear (the
        level's usual arrivals, guessed over a lengthening hold, or the visible book now explaining
        more of what traded there), is not active here until it stands clear again: called the first
        second it passed 3.5, such a level looks like a queue that passed the test once rather than
        a hidden order revealing itself, and no signal should claim it. The table (:meth:`active`)
        keeps it."""
        standard_error = np.sqrt(self.level[:, :, F_GUESSED] + 1.0)
        hidden = self.level[:, :, F_HIDDEN]
        active = self.active_mask() & (hidden >= STANDING_STANDARD_ERRORS * standard_error)
        refills = np.where(active, self.level_int[:, :, I_REFILLS], 0)
        hidden = np.where(active, hidden, 0.0)
        at_touch = (
            self.prev_int[:, 0:1] - self.level_int[:, :, I_FIRST] - self.level_int[:, :, I_AWAY]
        )
        held = np.where(active, at_touch, 0)
        peak = np.where(active, self.level[:, :, F_PEAK], 0.0)
        standard_error = np.where(active, standard_error, 1.0)
        return active, refills, hidden, held, peak, standard_error

    def active(self) -> list[Iceberg]:
        """The icebergs active now."""
        recorded = self.active_mask()
        found = []
        for row, side in zip(*np.nonzero(recorded), strict=True):
            native = self.level_int[row, side, I_NATIVE] >= self.level_int[row, side, I_REPOSTS]
            found.append(
                Iceberg(
                    symbol=str(self.symbols[row]),
                    side=SIDE_NAMES[side],
                    price=round(float(self.level[row, side, F_PRICE]), 4),
                    peak=float(self.level[row, side, F_PEAK]),
                    refills=int(self.level_int[row, side, I_REFILLS]),
                    hidden_volume=float(self.level[row, side, F_HIDDEN]),
                    traded=float(self.level[row, side, F_TRADED]),
                    first_seen=int(self.level_int[row, side, I_FIRST]),
                    detected_at=int(self.level_int[row, side, I_RECORDED]),
                    last_seen=int(self.prev_int[row, 0]),
                    native=bool(native),
                    state="active",
                    refills_at_detection=int(self.level_int[row, side, I_DETECTED_REFILLS]),
                    hidden_se=float(np.sqrt(self.level[row, side, F_GUESSED])),
                )
            )
        return found
