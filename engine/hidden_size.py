"""How much an iceberg still hides: its total size from the refills icebergs survive.

Rule (after Zotikov and Antonov, 2021): learn from the icebergs seen so far how many refills
an iceberg survives, with the Kaplan-Meier estimator. An iceberg that completed (its last
display traded and nothing came back) is an event at its refill count; one still active,
cancelled, traded through or cut by the session's end is censored there: it survived at least
that many. For an iceberg with ``r`` refills so far, the total refills ``R`` follow
``P(R > k | R >= r) = S(k) / S(r - 1)``; its total size is ``peak x (1 + R)`` (the first
display and every refill), given as the median with an interval between two quantiles.

Icebergs come under watch late (delayed entry): the tracker finds one only once it has
refilled enough to stand clear of the noise, so one that completes after a refill or two is
seldom found at all. Each is therefore at risk of ending at ``k`` only from the count it had
when first published (``entries``) on: counted from its first display, the icebergs found
late would say early ends are rarer than they are, and the estimate would run high (on the
simulator's tuning seeds 78 % of true totals fell below the median so counted, 64 % with
late entry). The conditional curve for an iceberg at ``r`` is fitted on those that reached
``r``, so a small early risk set that all ended cannot leave it undefined.

The interval runs from the 5th to the 90th percentile (``QUANTILES``): lower at the bottom
because the display is read as the largest refill seen, which visible orders arriving in
the same second inflate, so true totals fall below the interval more often than above it
(on tuning seeds 1-30, 6 below and 3 above at the 10th-90th; 3 and 3 at the 5th-90th).

Refills are counted in volume, not in the level's jumps (:func:`revealed_refills`): the
displays of its peak that its revealed hidden volume amounts to. A jump at the level may be
the crowd's arrivals; hidden volume is what no visible order accounts for. An ended iceberg
counts its whole revealed volume; an active one only what it has surely revealed,
``SURE_MARGIN`` standard errors below the estimate, since an iceberg is first seen just when
its estimate has risen clear of the noise (and is then more often too high than too low).

Exchange rules bound it: on NSE/BSE equity a disclosed quantity is at least 10 % of the
order, so one native iceberg has at most nine refills (``NATIVE_MAX_REFILLS``); a level seen
refilling more often than that is more than one order, and goes unbounded. Whether a level
is one native order cannot be read surely from Kite's snapshots: a re-posted slice is one
new order among the queue's own arrivals, fills and cancellations of that second, and one
re-posted in the same second as the last slice filled leaves the count as a native refill
does (one order gone, one come). On the simulator's tuning seeds 10 of 11 synthetic agents
looked native when first found, with as many refills seen as one order as the natives had
(3.2 against 2.4 on average). So the bound shapes the median and the low end of a level
that looks native, never the top: the interval's high end is the higher of the bounded and
the unbounded readings (the unbounded one stops at the largest count ever observed, which
with little history is below nine). Beyond the largest count ever observed the estimate is
open-ended; it is capped there (the cap is said by ``capped`` in the result).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

NATIVE_MAX_REFILLS = 9
QUANTILES = (0.05, 0.9)  # the interval: its low end lower, as the display is read high
SURE_MARGIN = 2.0  # standard errors: what an active iceberg has surely revealed


def survival(refills, completed, entries=None) -> tuple[np.ndarray, np.ndarray]:
    """Kaplan-Meier: ``(counts, S)`` with ``S[i] = P(R > counts[i])`` at each refill count
    where an iceberg completed. ``refills`` >= 0 per iceberg; ``completed`` True for events;
    ``entries`` (optional, none: 0) the count at which each came under observation (delayed
    entry): an iceberg is at risk of ending at ``k`` only for ``entry <= k <= refills``."""
    refills = np.asarray(refills, dtype=np.int64)
    completed = np.asarray(completed, dtype=bool)
    counts, ended = np.unique(refills[completed], return_counts=True)
    at_risk = len(refills) - np.searchsorted(np.sort(refills), counts, side="left")
    if entries is not None:  # less those that came under observation only after k
        entries = np.sort(np.minimum(np.asarray(entries, dtype=np.int64), refills))
        at_risk -= len(entries) - np.searchsorted(entries, counts, side="right")
    return counts, np.cumprod(1.0 - ended / at_risk)


@dataclass(frozen=True)
class SizeEstimate:
    """Total size of one iceberg, shares: median and an interval."""

    low: float
    median: float
    high: float
    capped: bool  # the upper end sits at the largest count seen (or the native bound)


def total_size(
    peak: float,
    refills_so_far: int,
    counts: np.ndarray,
    survivor: np.ndarray,
    native: bool = True,
    quantiles: tuple[float, float] = QUANTILES,
) -> SizeEstimate:
    """The total size of an iceberg with ``refills_so_far`` refills of ``peak`` shares."""
    grid = np.arange(
        refills_so_far, max(int(counts.max()) if len(counts) else 0, refills_so_far) + 1
    )
    # S at each k on the grid: the step function's value at the last event count <= k.
    steps = np.searchsorted(counts, grid, side="right") - 1
    s_grid = (
        np.where(steps >= 0, survivor[np.clip(steps, 0, None)], 1.0)
        if len(counts)
        else np.ones(len(grid))
    )
    before = refills_so_far - 1
    s_before = 1.0
    if len(counts) and before >= counts[0]:
        s_before = float(survivor[np.searchsorted(counts, before, side="right") - 1])
    # P(R <= k | R >= r): where it first reaches each quantile is that quantile's count.
    conditional = 1.0 - s_grid / s_before if s_before > 0 else np.ones(len(grid))

    def quantile(q: float) -> tuple[int, bool]:
        reached = np.flatnonzero(conditional >= q)
        return (int(grid[reached[0]]), False) if reached.size else (int(grid[-1]), True)

    (low, _), (middle, _), (high, open_ended) = (
        quantile(quantiles[0]),
        quantile(0.5),
        quantile(quantiles[1]),
    )
    capped = open_ended
    # The exchange's bound holds for one native order; more refills than it allows say
    # the level is several orders (or a re-posting algorithm): no bound then.
    if native and refills_so_far <= NATIVE_MAX_REFILLS:
        low, middle = min(low, NATIVE_MAX_REFILLS), min(middle, NATIVE_MAX_REFILLS)
        if high >= NATIVE_MAX_REFILLS or open_ended:
            high, capped = NATIVE_MAX_REFILLS, True
    low, middle = max(low, refills_so_far), max(middle, refills_so_far)
    high = max(high, middle)
    return SizeEstimate(peak * (1 + low), peak * (1 + middle), peak * (1 + high), capped)


def revealed_refills(iceberg, margin: float = SURE_MARGIN) -> int:
    """The refills an iceberg's revealed hidden volume amounts to: whole displays of its
    peak in ``hidden_volume - margin x hidden_se`` (the volume it has surely shown, ``margin``
    standard errors below the estimate; 0 for the whole estimate). Its ``refills`` when it
    has no peak."""
    if iceberg.peak <= 0:
        return int(iceberg.refills)
    sure = max(iceberg.hidden_volume - margin * iceberg.hidden_se, 0.0)
    return int(sure // iceberg.peak)


class SizeModel:
    """The refill counts of the icebergs seen so far (the day's and the stored history), and
    each new iceberg's total size from them (:func:`total_size`).

    ``learn`` takes ended icebergs: completed ones are events, the others (traded through,
    pulled, cut by the session's end) censored. ``estimate`` fits the survival curve on those
    plus the icebergs still active (censored at their count so far), so a day of long-lived
    icebergs raises the estimate before any of them ends.
    """

    def __init__(self, limit: int = 20_000) -> None:
        self.limit = limit  # the newest this many icebergs are kept
        self._refills = np.zeros(0, dtype=np.int64)
        self._completed = np.zeros(0, dtype=bool)
        self._entries = np.zeros(0, dtype=np.int64)

    def __len__(self) -> int:
        return len(self._refills)

    def learn(self, refills, completed, entries=None) -> None:
        """``entries``: each one's count when it was first seen (none: 0, watched from its
        first display)."""
        refills = np.asarray(refills, dtype=np.int64).ravel()
        completed = np.asarray(completed, dtype=bool).ravel()
        entries = np.zeros_like(refills) if entries is None else np.asarray(entries, np.int64)
        entries = entries.ravel()
        if not refills.shape == completed.shape == entries.shape:
            raise ValueError("refills, completed and entries must have one value per iceberg")
        self._refills = np.concatenate([self._refills, refills])[-self.limit :]
        self._completed = np.concatenate([self._completed, completed])[-self.limit :]
        self._entries = np.concatenate([self._entries, entries])[-self.limit :]

    def estimate(self, icebergs: list, entries=None) -> list[SizeEstimate]:
        """One estimate per iceberg (objects with ``peak``, ``refills``, ``hidden_volume``,
        ``hidden_se`` and ``native``); they are also the curve's censored observations,
        entered at ``entries`` (their counts when first seen; none: now)."""
        if not icebergs:
            return []
        active = np.array([revealed_refills(i) for i in icebergs], dtype=np.int64)
        refills = np.concatenate([self._refills, active])
        completed = np.concatenate([self._completed, np.zeros(len(active), dtype=bool)])
        entered = np.concatenate([self._entries, active if entries is None else entries])
        curves: dict[int, tuple[np.ndarray, np.ndarray]] = {}

        def curve(n: int) -> tuple[np.ndarray, np.ndarray]:
            # P(R > k | R >= n) directly, from those that reached n watched from there on:
            # the same hazards at k >= n, and no 0 / 0 where every one watched before n
            # had ended (with late entries, a small early risk set can do that).
            if n not in curves:
                reached = refills >= n
                curves[n] = survival(
                    refills[reached], completed[reached], np.maximum(entered[reached], n)
                )
            return curves[n]

        estimates = []
        for i, n in zip(icebergs, active, strict=True):
            counts, survivor = curve(int(n))
            size = total_size(i.peak, int(n), counts, survivor, bool(i.native))
            if i.native:  # maybe one order, maybe an algorithm re-posting: both readings
                free = total_size(i.peak, int(n), counts, survivor, native=False)
                if free.high > size.high:  # with little history, free stops below nine
                    size = SizeEstimate(size.low, size.median, free.high, free.capped)
            estimates.append(size)
        return estimates
