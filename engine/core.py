"""The signal engine: ticks in, signals and a per-instrument metrics snapshot out.

``SignalEngine.update`` folds a batch of ticks into the rolling state, recomputes every
instrument's metrics with array operations, classifies and scores candidates, ranks them
against the watchlist, applies the gates (``MIN_CONFIDENCE``, ``MAX_DAILY_SIGNALS`` per IST
day, one signal per episode and a per-symbol cool-down) and returns the signals that became
active on this batch.

The engine's clock is the ticks' exchange timestamps. It does no I/O and starts no threads.
``update`` must be called from one thread at a time; ``snapshot`` may be called from any
thread at any time: it reads the last published, immutable set of metrics.
"""

from __future__ import annotations

import math
import warnings
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from engine.bars import MinuteBars, horizon_atr, typical_minute_range
from engine.baseline import RobustBaseline
from engine.book import BOOK_STATE_NAMES, BOOK_TWO_SIDED, book_state
from engine.charges import rates_of
from engine.clock import implausible_times
from engine.factors import (
    PRICE_STATE_NAMES,
    order_imbalance,
    price_move,
    price_state,
    volume_surge,
    vwap_distance_pct,
)
from engine.hidden_size import SizeEstimate, SizeModel, revealed_refills
from engine.history import MetricHistory
from engine.iceberg_evidence import EVIDENCE_PARTS, evidence_parts, total_points
from engine.institutional import ABSORBED_ASK, ABSORBED_BID, side_ratios, strongest_side
from engine.levels import Iceberg, LevelTracker
from engine.pcr import BIAS_CODE, PCRResult, pcr_bias
from engine.ranking import rank_points
from engine.risk import in_the_way, position_size, risk_levels, uncovered_costs
from engine.sessions import IST, IST_ZONE, in_continuous_session, in_opening_minutes, ist_day
from engine.signals import (
    FACTOR_NAMES,
    NO_SIGNAL,
    SIGNAL_CODES,
    SIGNAL_DIRECTION,
    SIGNAL_OF_CODE,
    SIGNAL_TYPE_NAMES,
    Signal,
    SignalType,
    generate_signal,
)
from engine.state import FLOW_FIELDS, RollingFlowState
from engine.ticks import TICK_DTYPE

SIDE_NAMES = {ABSORBED_BID: "BID", ABSORBED_ASK: "ASK", 0: ""}
ICEBERG_CODES = (SIGNAL_CODES[SignalType.ACCUMULATION], SIGNAL_CODES[SignalType.DISTRIBUTION])


class UnknownInstrumentError(KeyError):
    """A symbol that is not on the engine's watchlist."""

    def __str__(self) -> str:
        return str(self.args[0])


def _direction_column(codes: np.ndarray) -> np.ndarray:
    """0 for the long signal codes (ACCUMULATION, BUY), 1 for the short ones (an array or one
    code): a cool-down's column."""
    return (SIGNAL_DIRECTION[codes] < 0).astype(np.int64)


class _Gate:
    """What a gate at one MIN_CONFIDENCE remembers, per instrument row: the type it last
    found eligible (a signal fires when that changes: a new episode), when the symbol last
    fired long and short (its cool-downs: a signal quiets the symbol's signals of the same
    direction, not a reversal), and, per side (bid, ask), when the level it last announced
    as an ACCUMULATION / DISTRIBUTION was first held (which hidden order: one is announced
    once)."""

    def __init__(self, n: int) -> None:
        self.candidate = np.zeros(n, dtype=np.int8)
        self.last_signal_time = np.full((n, 2), -(10**12), dtype=np.int64)
        self.signalled_level = np.zeros((n, 2), dtype=np.int64)

    def take_rows(self, previous: _Gate, rows: np.ndarray, from_rows: np.ndarray) -> None:
        for name in ("candidate", "last_signal_time", "signalled_level"):
            getattr(self, name)[rows] = getattr(previous, name)[from_rows]


class _ShadowGate(_Gate):
    """A gate at another MIN_CONFIDENCE (:meth:`SignalEngine.shadow_gates`) and what it
    would have issued."""

    def __init__(self, threshold: float, n: int) -> None:
        super().__init__(n)
        self.threshold = threshold
        self.issued: list[tuple[str, str, int, float]] = []


def _named(iceberg: Iceberg) -> tuple:
    """One iceberg through its life: its instrument, side and the moment it was first seen."""
    return iceberg.symbol, iceberg.side, iceberg.first_seen


class SignalEngine:
    """Order-flow state and signal generation for a fixed set of instruments.

    ``instruments`` maps Kite instrument tokens to symbols; ``tick_sizes`` (optional) maps
    tokens to their price tick, else ``settings.tick_size`` applies; ``lot_sizes`` (optional)
    to the units a lot (futures), else 1: plans are sized in whole lots. ``settings`` is a
    ``config.Settings`` (or any object with the same attributes).
    """

    def __init__(
        self,
        settings,
        instruments: Mapping[int, str],
        tick_sizes: Mapping[int, float] | None = None,
        continuous_only: bool = True,
        lot_sizes: Mapping[int, int] | None = None,
    ) -> None:
        self.settings = settings
        # Fold only continuous-session flow (09:15-15:30 IST); off for a simulator that
        # trades round the clock.
        self.continuous_only = continuous_only
        tokens = np.array(sorted(instruments), dtype=np.int64)
        self._tokens = tokens
        self._symbols = np.array([instruments[int(token)] for token in tokens], dtype=object)
        self._row_of_symbol = {symbol: row for row, symbol in enumerate(self._symbols)}
        tick_sizes = tick_sizes or {}
        self._tick_size = np.array(
            [tick_sizes.get(int(token), settings.tick_size) for token in tokens], dtype=np.float64
        )
        lot_sizes = lot_sizes or {}
        self._lot_size = np.array([lot_sizes.get(int(t), 1) for t in tokens], dtype=np.int64)
        n = len(tokens)
        self._bucket_seconds = settings.bucket_seconds
        self._window_buckets = settings.window_seconds // settings.bucket_seconds
        history_buckets = math.ceil(settings.history_seconds / settings.bucket_seconds)
        self.state = RollingFlowState(
            n, settings.bucket_seconds, history_buckets, settings.max_gap_seconds
        )
        self._pcr = np.full(n, np.nan)
        self._pcr_bias = np.full(n, np.nan)
        self._pcr_label = np.full(n, "", dtype=object)
        self._pcr_origin = np.full(n, "", dtype=object)
        self._pcr_expiry = np.full(n, "", dtype=object)
        self._main_gate = _Gate(n)  # the gate at this engine's MIN_CONFIDENCE
        # Gates at other MIN_CONFIDENCE settings, watched alongside (:meth:`shadow_gates`).
        self._shadows: list[_ShadowGate] = []
        self._day = -1
        self.signals_today = 0
        self.signals_total = 0
        self.unknown_ticks = 0
        self.future_ticks = 0  # stamped ahead of their arrival: rejected
        self.ancient_ticks = 0  # stamped absurdly long before their arrival: rejected
        self.ticks_total = 0
        self._cache_key: tuple[int, int] | None = None
        self._cache: dict[str, np.ndarray] = {}
        # Each instrument's best bid and ask followed through time (engine/levels.py): its
        # active icebergs are the evidence ACCUMULATION and DISTRIBUTION need, and are
        # published, with their estimated totals, for the pages, the store and the API.
        self.levels = LevelTracker(self._symbols)
        self.ended_icebergs: deque[Iceberg] = deque(maxlen=500)  # the latest, for pages
        self._unsaved_icebergs: deque[Iceberg] = deque(maxlen=10_000)  # take_ended_icebergs
        self._icebergs: tuple[Iceberg, ...] = ()
        self._icebergs_key = b""
        self._estimated_at = 0
        self._estimates: dict[tuple, SizeEstimate] = {}  # since the last refit, by iceberg
        # Each active iceberg's refills when first published: where the size estimate began
        # to watch it (its delayed entry), by iceberg.
        self._entries: dict[tuple, int] = {}
        # How many refills icebergs survive, for each active one's total (hidden_size.py).
        self.sizes = SizeModel()
        # What is normal for each instrument's institutional ratio (engine/baseline.py),
        # moved once a bucket.
        self.ratio_baseline = RobustBaseline(n, min_samples=12)
        self._baseline_bucket = -1
        self._published: dict[str, np.ndarray] = self._evaluate()
        chart_samples = settings.chart_history_minutes * 60 // settings.bucket_seconds
        self.history = MetricHistory(n, max(chart_samples, 2), settings.bucket_seconds)
        # One-minute bars: the holding horizon's volatility for the plans (engine/bars.py).
        self.bars = MinuteBars(n, capacity=max(2 * settings.risk_horizon_minutes, 30))

    # ----------------------------------------------------------------------------- inputs
    @property
    def symbols(self) -> list[str]:
        return list(self._symbols)

    def set_pcr(self, symbol: str, pcr: PCRResult | float | None) -> None:
        """Attach the latest PCR of ``symbol``'s options (None clears it).

        A mock PCR (``origin == "mock"``) is shown but scores as unknown: a stand-in is no
        evidence for or against a signal.
        """
        row = self._row(symbol)
        if pcr is None or (isinstance(pcr, PCRResult) and not pcr.available):
            self._pcr[row], self._pcr_bias[row] = np.nan, np.nan
            self._pcr_label[row] = self._pcr_origin[row] = self._pcr_expiry[row] = ""
            return
        self._pcr_expiry[row] = pcr.expiry if isinstance(pcr, PCRResult) else ""
        if isinstance(pcr, PCRResult):
            value, bias, origin = pcr.pcr, pcr.bias, pcr.origin
        else:
            value, origin = float(pcr), "real"
            if not value >= 0:
                raise ValueError(f"PCR for {symbol} must be a non-negative number, not {pcr!r}")
            bias = pcr_bias(value, self.settings.pcr_bullish_above, self.settings.pcr_bearish_below)
        self._pcr[row], self._pcr_label[row], self._pcr_origin[row] = value, str(bias), origin
        self._pcr_bias[row] = np.nan if origin == "mock" else BIAS_CODE[bias]

    def continue_from(self, previous: SignalEngine) -> list[str]:
        """Take over ``previous``'s state for the symbols both watch, with the same tokens.

        For a watchlist change on a live feed: the kept symbols keep their windows and
        baselines (no new warm-up), cool-downs and PCR, and the day's signal count goes on.
        Returns the symbols carried over.
        """
        kept = [
            symbol
            for symbol in self._symbols
            if symbol in previous._row_of_symbol
            and self._tokens[self._row_of_symbol[symbol]]
            == previous._tokens[previous._row_of_symbol[symbol]]
        ]
        rows = np.array([self._row_of_symbol[s] for s in kept], dtype=np.int64)
        from_rows = np.array([previous._row_of_symbol[s] for s in kept], dtype=np.int64)
        self.state.take_rows(previous.state, rows, from_rows)
        self.levels.take_rows(previous.levels, rows, from_rows)
        self.ratio_baseline.take_rows(previous.ratio_baseline, rows, from_rows)
        self.history.take_rows(previous.history, rows, from_rows)
        self.bars.take_rows(previous.bars, rows, from_rows)
        self.sizes = previous.sizes
        self._entries.update(previous._entries)  # a symbol dropped leaves a harmless key
        self.ended_icebergs.extend(previous.ended_icebergs)
        self._unsaved_icebergs.extend(previous._unsaved_icebergs)
        for name in (
            "_pcr",
            "_pcr_bias",
            "_pcr_label",
            "_pcr_origin",
            "_pcr_expiry",
        ):
            getattr(self, name)[rows] = getattr(previous, name)[from_rows]
        self._main_gate.take_rows(previous._main_gate, rows, from_rows)
        self._day, self.signals_today = previous._day, previous.signals_today
        self._cache_key, self._cache = None, {}
        self._published = self._evaluate()
        return [str(symbol) for symbol in kept]

    def restore_gates(self, issued: Sequence[tuple[str, str, int]], now: int) -> int:
        """Take up the day's gates from signals already issued (after a restart).

        ``issued`` holds ``(symbol, signal type, exchange epoch seconds)`` of the signals this
        source issued; those of ``now``'s IST day count against ``MAX_DAILY_SIGNALS`` and
        every one restarts its symbol's cool-down in its direction, so a crash at 11:00 gives
        no fresh quota. Returns how many count against today's cap.
        """
        today = int(ist_day(now))
        counted = 0
        for symbol, signal_type, issued_at in issued:
            if int(ist_day(issued_at)) == today:
                counted += 1
            row = self._row_of_symbol.get(symbol)
            if row is not None and signal_type in SIGNAL_CODES:
                column = int(_direction_column(SIGNAL_CODES[signal_type]))
                cooling = self._main_gate.last_signal_time
                cooling[row, column] = max(int(cooling[row, column]), issued_at)
        if self._day != today:
            self._day, self.signals_today = today, 0
        self.signals_today = max(self.signals_today, counted)
        return counted

    def icebergs(self) -> tuple[Iceberg, ...]:
        """The icebergs the level tracker holds active now, each with its estimated total
        (safe from any thread)."""
        return self._icebergs

    def take_ended_icebergs(self) -> list[Iceberg]:
        """The icebergs that ended since the last call (for the store), oldest first."""
        taken = []
        while self._unsaved_icebergs:
            taken.append(self._unsaved_icebergs.popleft())
        return taken

    def _follow_icebergs(self, rows: np.ndarray, ticks: np.ndarray) -> None:
        settling = None
        if self.continuous_only and self.settings.opening_quiet_minutes:
            settling = in_opening_minutes(
                ticks["exchange_timestamp"], self.settings.opening_quiet_minutes
            )
        ended = self.levels.update(rows, ticks, settling)
        if ended:
            ended = [replace(i, entry_refills=self._entries.pop(_named(i), 0)) for i in ended]
            self.ended_icebergs.extend(ended)
            self._unsaved_icebergs.extend(ended)
            self.sizes.learn(
                [revealed_refills(i, margin=0.0) for i in ended],
                [i.state == "completed" for i in ended],
                [i.entry_refills for i in ended],
            )
        # The published icebergs (objects, with their estimated totals) follow the evidence
        # arrays: rebuilt when one starts or ends, else once a bucket, so a busy replay does
        # not build objects every frame (the rules read the arrays, never these). A new one
        # is estimated at once; all of them are estimated again once a bucket.
        key = np.flatnonzero(self.levels.active_mask()).tobytes()
        now = self.state.now
        refit = now >= self._estimated_at + self.settings.bucket_seconds
        if ended or key != self._icebergs_key or refit:
            active = self.levels.active()
            if refit:
                self._estimates, self._estimated_at = {}, now
            fresh = [i for i in active if _named(i) not in self._estimates]
            entries = [self._entries.setdefault(_named(i), revealed_refills(i)) for i in fresh]
            estimates = self.sizes.estimate(fresh, entries)
            self._estimates.update(zip(map(_named, fresh), estimates, strict=True))
            self._icebergs_key = key
            self._icebergs = tuple(
                replace(
                    i, total_low=e.low, total=e.median, total_high=e.high, total_capped=e.capped
                )
                for i, e in ((i, self._estimates[_named(i)]) for i in active)
            )

    def row_of(self, symbol: str) -> int:
        """The engine row of ``symbol`` (UnknownInstrumentError if it is not watched)."""
        return self._row(symbol)

    def token_of(self, symbol: str) -> int:
        """``symbol``'s instrument token."""
        return int(self._tokens[self._row(symbol)])

    def tick_size_of(self, symbol: str) -> float:
        """``symbol``'s price tick, rupees."""
        return float(self._tick_size[self._row(symbol)])

    def _row(self, symbol: str) -> int:
        try:
            return self._row_of_symbol[symbol]
        except KeyError:
            raise UnknownInstrumentError(f"{symbol} is not on the watchlist") from None

    def update(self, ticks: np.ndarray, received_at: float | None = None) -> list[Signal]:
        """Fold a batch of :data:`TICK_DTYPE` ticks in; return the signals that became active.

        ``received_at`` is when the batch arrived, on the exchange's clock (epoch seconds):
        ticks stamped implausibly far from it are rejected and counted (``future_ticks``,
        ``ancient_ticks``), and never move the engine's clock (see :mod:`engine.clock`).
        """
        if ticks.dtype != TICK_DTYPE:
            raise TypeError(f"ticks must be a TICK_DTYPE array, not {ticks.dtype}")
        if len(ticks) and received_at is not None:
            future, ancient = implausible_times(
                ticks["exchange_timestamp"],
                received_at,
                self.settings.clock_tolerance_seconds,
                self.settings.max_tick_age_hours * 3600,
            )
            if future.any() or ancient.any():
                self.future_ticks += int(np.count_nonzero(future))
                self.ancient_ticks += int(np.count_nonzero(ancient))
                ticks = ticks[~(future | ancient)]
        if len(ticks):
            tokens = ticks["instrument_token"].astype(np.int64)
            rows = np.searchsorted(self._tokens, tokens)
            rows[rows >= len(self._tokens)] = 0
            known = (
                (self._tokens[rows] == tokens) if len(self._tokens) else np.zeros(len(ticks), bool)
            )
            if not np.all(known):
                self.unknown_ticks += int(np.count_nonzero(~known))
                rows, ticks = rows[known], ticks[known]
            self.ticks_total += len(ticks)
            self.state.ingest(rows, ticks, self.continuous_only)
            self.state.complete_buckets()
            self.bars.fold(self.state)
            if self.continuous_only:
                trading = in_continuous_session(ticks["exchange_timestamp"])
                if not trading.all():
                    rows, ticks = rows[trading], ticks[trading]
            self._follow_icebergs(rows, ticks)
        metrics = self._evaluate()
        signals = self._gate(metrics)
        if self.state.now_bucket > self._baseline_bucket and self.state.now:
            ready_ratio = np.where(metrics["ready"], metrics["institutional_ratio"], np.nan)
            unusual = np.nan_to_num(metrics["ratio_z"], nan=0.0) >= self.settings.min_ratio_z
            self.ratio_baseline.add(ready_ratio, np.where(unusual, 0.1, 1.0))
            self._baseline_bucket = self.state.now_bucket
        self._published = metrics
        self.history.record(self.state.now, metrics)
        return signals

    # ---------------------------------------------------------------------------- metrics
    def _completed_aggregates(self) -> dict[str, np.ndarray]:
        """Sums over the window's completed buckets, cached until they can change."""
        state = self.state
        now_bucket = state.now_bucket
        key = (now_bucket, state.revision)
        if key == self._cache_key:
            return self._cache
        window_columns = state.columns_between(
            now_bucket - self._window_buckets + 1, now_bucket - 1
        )
        cache = {name: state.flow[name][:, window_columns].sum(axis=1) for name in FLOW_FIELDS}
        opens = state.prices["open"][:, window_columns]
        traded = ~np.isnan(opens)
        cache["window_open"] = np.full(len(opens), np.nan)
        if window_columns.size:
            first = np.argmax(traded, axis=1)
            seen = traded.any(axis=1)
            cache["window_open"][seen] = opens[np.flatnonzero(seen), first[seen]]
        self._cache_key, self._cache = key, cache
        return cache

    def _evaluate(self) -> dict[str, Any]:
        settings, state = self.settings, self.state
        completed = self._completed_aggregates()
        column = state.now_bucket % state.history_buckets
        current = state.column_bucket[column] == state.now_bucket
        window = {}
        for name in FLOW_FIELDS:
            window[name] = completed[name] + (state.flow[name][:, column] if current else 0.0)
        # The baseline is the whole ring less the window: earlier buckets of the history.
        baseline_volume = sum(
            state.totals[name] - window[name] for name in ("buy_volume", "sell_volume")
        )
        baseline_seconds = state.totals["flow_seconds"] - window["flow_seconds"]
        if current:
            current_open = state.prices["open"][:, column]
            window_open = np.where(
                np.isnan(completed["window_open"]), current_open, completed["window_open"]
            )
        else:
            window_open = completed["window_open"]

        # A side of the book seen only for part of the window (one-sided, locked books) is
        # not measured: its ratio would divide real volume by a moment's depth.
        visible = settings.min_side_quoted_share * window["flow_seconds"]
        bid_ratio, ask_ratio = side_ratios(
            window["buy_volume"],
            window["sell_volume"],
            np.where(window["bid_quoted_seconds"] >= visible, window["bid_depth_seconds"], 0.0),
            np.where(window["ask_quoted_seconds"] >= visible, window["ask_depth_seconds"], 0.0),
            settings.ratio_reference_seconds,
        )
        ratio, side = strongest_side(bid_ratio, ask_ratio)
        ratio_z = self.ratio_baseline.z(ratio)
        book = book_state(state.best_bid, state.best_ask, state.last_time > 0)
        total_imbalance = order_imbalance(state.total_buy_quantity, state.total_sell_quantity)
        depth_imbalance = order_imbalance(state.bid_depth, state.ask_depth)
        imbalance = (total_imbalance + depth_imbalance) / 2
        window_volume = window["buy_volume"] + window["sell_volume"]
        surge = volume_surge(
            window_volume,
            window["flow_seconds"],
            baseline_volume,
            baseline_seconds,
            settings.window_seconds,
        )
        atr = np.fmax(state.average_true_range() * math.sqrt(self._window_buckets), self._tick_size)
        move = price_move(state.last_price, window_open, atr)
        coverage = window["flow_seconds"] / settings.window_seconds
        # A locked (one-sided) book is shown as such and never scored.
        ready = (coverage >= settings.min_window_coverage) & ~np.isnan(move)
        scorable = ready & (book == BOOK_TWO_SIDED)
        typical_minute_volume = np.divide(
            baseline_volume * 60.0,
            baseline_seconds,
            out=np.full(len(ratio), np.nan),
            where=baseline_seconds >= settings.window_seconds,
        )
        hidden, refills, hidden_volume, held, peak, standard_error = self.levels.evidence()
        parts = evidence_parts(
            refills, hidden_volume, held, typical_minute_volume, peak, standard_error
        )
        evidence = total_points(hidden, parts)
        tape = order_imbalance(window["buy_volume"], window["sell_volume"])
        candidates = generate_signal(
            imbalance,
            surge,
            move,
            self._pcr_bias,
            settings,
            ready=scorable,
            hidden=hidden,
            evidence=evidence,
            tape_imbalance=tape,
        )
        # Rank only the candidates here; the snapshot ranks everyone when a page asks.
        candidates_rows = np.flatnonzero(candidates.signal_code)
        ranks = np.zeros(len(ratio))
        ranks[candidates_rows] = rank_points(ratio, imbalance, surge, ready, candidates_rows)
        return {
            "institutional_ratio": ratio,
            "bid_ratio": bid_ratio,
            "ask_ratio": ask_ratio,
            "ratio_z": ratio_z,
            "absorbed_side": side,
            "book_state": book,
            "order_imbalance": imbalance,
            "tape_imbalance": tape,
            "hidden_buyer": hidden[:, 0],
            "hidden_seller": hidden[:, 1],
            # What each side's iceberg evidence rests on, (instruments, 2): the signals'
            # factors spell it out.
            "evidence_parts": parts,
            "iceberg_refills": refills,
            "iceberg_hidden": hidden_volume,
            "iceberg_held": held,
            "iceberg_standard_error": standard_error,
            "total_imbalance": total_imbalance,
            "depth_imbalance": depth_imbalance,
            "volume_surge": surge,
            "window_volume": window_volume,
            "price_move_atr": move,
            "price_state": price_state(
                move,
                imbalance,
                settings.stable_move_atr,
                settings.trend_move_atr,
                settings.imbalance_threshold,
            ),
            "atr": atr,
            "vwap_distance_pct": vwap_distance_pct(state.last_price, state.average_traded_price),
            "coverage": np.minimum(coverage, 1.0),
            "ready": ready,
            "signal_code": candidates.signal_code,
            "confidence": candidates.confidence,
            "points": candidates.points,
            "possible_points": candidates.possible,
            "rank_points": ranks,
            # copies of the live state, so the published snapshot never changes under a reader
            "last_price": state.last_price.copy(),
            "cvd": state.session_delta.copy(),
            "change": state.change.copy(),
            "volume_traded": state.volume_traded.copy(),
            "ticks": state.tick_count.copy(),
            "last_tick_time": state.last_tick_time.copy(),
            "pcr": self._pcr.copy(),
            "pcr_bias": self._pcr_label.copy(),
            "pcr_origin": self._pcr_origin.copy(),
            "pcr_expiry": self._pcr_expiry.copy(),
            "now": state.now,
        }

    # ------------------------------------------------------------------------------ gates
    def shadow_gates(self, thresholds: Sequence[float]) -> None:
        """Also watch which signals the gates would issue at each of ``thresholds`` (other
        MIN_CONFIDENCE settings) on the same flow: each with its own episodes, cool-downs
        and announced icebergs, as an engine at that setting would have (no daily cap).
        What they would have issued is in :attr:`shadow_signals`; nothing else changes.
        For a precision / recall curve over MIN_CONFIDENCE from one run."""
        n = len(self._tokens)
        self._shadows = [_ShadowGate(float(t), n) for t in thresholds]

    @property
    def shadow_signals(self) -> dict[float, list[tuple[str, str, int, float]]]:
        """Per shadow threshold: ``(symbol, signal type, exchange epoch seconds,
        confidence)`` of each signal its gate would have issued."""
        return {gate.threshold: gate.issued for gate in self._shadows}

    @staticmethod
    def _eligible(code: np.ndarray, confidence: np.ndarray, threshold: float, opening: bool):
        eligible = np.where(confidence >= threshold, code, NO_SIGNAL)
        if opening:
            # The opening minutes' flow is not an iceberg's: no ACC/DIS until it settles.
            eligible = np.where(np.isin(eligible, ICEBERG_CODES), NO_SIGNAL, eligible)
        return eligible

    def _firing(self, gate: _Gate, eligible, code, now):
        """Rows whose candidate fires at ``gate``: a new episode, its symbol cooled down in
        its direction, and not a hidden order already announced. The gate's candidate
        becomes ``eligible``."""
        new_episode = (eligible != NO_SIGNAL) & (eligible != gate.candidate)
        gate.candidate = eligible
        last = gate.last_signal_time[np.arange(len(eligible)), _direction_column(eligible)]
        cooled = now - last >= self.settings.signal_cooldown_seconds
        firing = np.flatnonzero(new_episode & cooled)
        # One hidden order, one ACCUMULATION / DISTRIBUTION: an iceberg whose evidence or
        # flow comes and goes is not announced again while its price holds.
        iceberg, side, seen = self._iceberg_levels(firing, code)
        return firing[~(iceberg & (gate.signalled_level[firing, side] == seen))]

    def _fired(self, gate: _Gate, firing, code, now) -> None:
        """Start the cool-down of ``firing``'s symbols in their signals' direction and mark
        their hidden orders announced."""
        gate.last_signal_time[firing, _direction_column(code[firing])] = now
        iceberg, side, seen = self._iceberg_levels(firing, code)
        gate.signalled_level[firing[iceberg], side[iceberg]] = seen[iceberg]

    def _watch_shadows(self, metrics: dict[str, Any], now: int, opening: bool) -> None:
        code, confidence = metrics["signal_code"], metrics["confidence"]
        for gate in self._shadows:
            eligible = self._eligible(code, confidence, gate.threshold, opening)
            firing = self._firing(gate, eligible, code, now)
            if firing.size:
                self._fired(gate, firing, code, now)
                gate.issued.extend(
                    (str(self._symbols[row]), str(SIGNAL_TYPE_NAMES[code[row]]), now,
                     float(confidence[row]))
                    for row in firing.tolist()
                )  # fmt: skip

    def _gate(self, metrics: dict[str, Any]) -> list[Signal]:
        settings, now = self.settings, self.state.now
        code, confidence = metrics["signal_code"], metrics["confidence"]
        opening = bool(
            self.continuous_only and now and in_opening_minutes(now, settings.opening_quiet_minutes)
        )
        if self._shadows:
            self._watch_shadows(metrics, now, opening)
        eligible = self._eligible(code, confidence, settings.min_confidence, opening)
        firing = self._firing(self._main_gate, eligible, code, now)
        if now and ist_day(now) != self._day:
            self._day, self.signals_today = int(ist_day(now)), 0
        room = settings.max_daily_signals - self.signals_today
        if firing.size == 0 or room <= 0:
            return []
        # Best rank first, then confidence, when the day's cap leaves room for only some.
        order = np.lexsort((-confidence[firing], -metrics["rank_points"][firing]))
        firing = firing[order][:room]
        plan = self._plan(firing, code[firing], metrics)
        levels = plan["levels"]
        self._fired(self._main_gate, firing, code, now)
        self.signals_today += len(firing)
        self.signals_total += len(firing)
        timestamp = datetime.fromtimestamp(now, IST)
        signals = []
        for index, row in enumerate(firing.tolist()):
            factors: dict[str, Any] = {
                name: int(metrics["points"][name][row]) for name in FACTOR_NAMES
            }
            factors["total"] = sum(factors.values())
            factors["max"] = int(metrics["possible_points"][row])
            factors["absorbed_side"] = SIDE_NAMES[int(metrics["absorbed_side"][row])]
            factors["price_move_atr"] = round(float(metrics["price_move_atr"][row]), 2)
            factors["pcr_origin"] = str(metrics["pcr_origin"][row]) or "none"
            if metrics["pcr_expiry"][row]:
                factors["pcr_expiry"] = str(metrics["pcr_expiry"][row])
            if code[row] in ICEBERG_CODES:
                factors.update(self._iceberg_factors(metrics, row, int(code[row])))
            signals.append(
                Signal(
                    symbol=str(self._symbols[row]),
                    instrument_token=int(self._tokens[row]),
                    signal_type=SIGNAL_OF_CODE[int(code[row])],
                    confidence=float(confidence[row]),
                    rank_points=float(metrics["rank_points"][row]),
                    entry=float(levels.entry[index]),
                    target=float(levels.target[index]),
                    stop_loss=float(levels.stop_loss[index]),
                    institutional_ratio=float(metrics["institutional_ratio"][row]),
                    order_imbalance=float(metrics["order_imbalance"][row]),
                    volume_surge=float(metrics["volume_surge"][row]),
                    pcr=float(metrics["pcr"][row]),
                    pcr_bias=str(metrics["pcr_bias"][row]) or "UNKNOWN",
                    factors=factors,
                    timestamp=timestamp,
                    quantity=int(plan["quantity"][index]),
                    plan_note=plan["notes"][index],
                )
            )
        return signals

    def _iceberg_factors(self, metrics: dict, row: int, code: int) -> dict[str, Any]:
        """What an ACCUMULATION's hidden buyer (a DISTRIBUTION's seller) showed when the
        signal fired: its price, refills, revealed hidden volume (shares) and how many
        standard errors clear of its level's noise it stood, the seconds its price held at
        the touch, and the points of each evidence rule (``evidence_pace``, ...; see
        :mod:`engine.iceberg_evidence`)."""
        side = int(code == ICEBERG_CODES[1])
        hidden = float(metrics["iceberg_hidden"][row, side])
        standard_error = float(metrics["iceberg_standard_error"][row, side])
        found = {
            "iceberg_price": round(float(self.levels.price(row, side)), 4),
            "iceberg_refills": int(metrics["iceberg_refills"][row, side]),
            "iceberg_hidden": round(hidden),
            "iceberg_clear": round(hidden / standard_error, 1) if standard_error > 0 else 0.0,
            "iceberg_held_seconds": int(metrics["iceberg_held"][row, side]),
        }
        for name in EVIDENCE_PARTS:
            found[f"evidence_{name}"] = int(metrics["evidence_parts"][name][row, side])
        return found

    def _iceberg_levels(self, rows: np.ndarray, code: np.ndarray):
        """For ``rows``: whether their type is ACCUMULATION / DISTRIBUTION, the side of the
        hidden order (0 bid, 1 ask) and when its level was first held (which order it is)."""
        side = (code[rows] == ICEBERG_CODES[1]).astype(np.int64)
        return np.isin(code[rows], ICEBERG_CODES), side, self.levels.first_seen(rows, side)

    def _plan(self, rows: np.ndarray, code: np.ndarray, metrics: dict) -> dict:
        """Levels, size and what stands in the way for the signals of ``rows`` (see
        :mod:`engine.risk`): the volatility of the holding horizon from one-minute bars, the
        stop of an ACCUMULATION / DISTRIBUTION beyond the hidden order's price (or the low /
        high the price held over the window)."""
        settings, state = self.settings, self.state
        direction = SIGNAL_DIRECTION[code]
        horizon = settings.risk_horizon_minutes
        bar_minutes = max(1, round(horizon / 6))  # a horizon holds about six of its bars
        lookback = min(self.bars.capacity, 2 * horizon)
        high, low, close = self.bars.window(rows, state.now // 60, lookback)
        atr = horizon_atr(high, low, close, bar_minutes)
        # Before the bars fill, the window's range scaled to a bar of the horizon.
        scaled = metrics["atr"][rows] * math.sqrt(bar_minutes * 60 / settings.window_seconds)
        atr = np.where(np.isnan(atr), scaled, atr)
        spread = np.nan_to_num(state.best_ask[rows] - state.best_bid[rows], nan=0.0)
        floor = np.fmax(settings.stop_floor_ranges * typical_minute_range(high, low), spread)
        window = state.columns_between(
            state.now_bucket - self._window_buckets + 1, state.now_bucket
        )
        with warnings.catch_warnings():  # a window with no trade has no low
            warnings.simplefilter("ignore", RuntimeWarning)
            held_low = np.nanmin(state.prices["low"][np.ix_(rows, window)], axis=1)
            held_high = np.nanmax(state.prices["high"][np.ix_(rows, window)], axis=1)
        # The hidden order's own price where the level tracker has one on the signal's side.
        hidden = {(i.symbol, i.side): i.price for i in self._icebergs}
        symbols = self._symbols[rows]
        bid_hidden = np.array([hidden.get((sym, "BID"), np.nan) for sym in symbols])
        ask_hidden = np.array([hidden.get((sym, "ASK"), np.nan) for sym in symbols])
        anchor = np.select(
            [code == ICEBERG_CODES[0], code == ICEBERG_CODES[1]],
            [np.fmin(held_low, bid_hidden), np.fmax(held_high, ask_hidden)],
            default=np.nan,
        )
        levels = risk_levels(
            direction,
            metrics["last_price"][rows],
            atr,
            self._tick_size[rows],
            settings.stop_atr_multiple,
            settings.min_reward_risk,
            settings.min_stop_ticks,
            floor=floor,
            anchor=anchor,
            anchor_buffer=settings.stop_buffer_atr,
        )
        quantity = position_size(
            levels.entry,
            levels.stop_loss,
            settings.capital,
            settings.risk_per_trade_pct,
            self._lot_size[rows],
        )
        costly = uncovered_costs(
            direction,
            levels.entry,
            levels.target,
            levels.stop_loss,
            quantity,
            self._tick_size[rows],
            settings.slippage_ticks,
            rates_of(settings),
        )
        in_way = [
            in_the_way(
                int(direction[k]),
                float(levels.entry[k]),
                float(levels.target[k]),
                float(self.bars.day_high[row]),
                float(self.bars.day_low[row]),
                float(ask_hidden[k] if direction[k] > 0 else bid_hidden[k]),
            )
            for k, row in enumerate(rows.tolist())
        ]
        notes = ["; ".join(filter(None, pair)) for pair in zip(in_way, costly, strict=True)]
        return {"levels": levels, "quantity": quantity, "notes": notes}

    # --------------------------------------------------------------------------- snapshot
    def history_frame(self, symbol: str) -> pd.DataFrame:
        """``symbol``'s sampled last price, institutional ratio and imbalance (IST times)."""
        times, series = self.history.series(self._row(symbol))
        index = pd.to_datetime(times, unit="s", utc=True).tz_convert(IST_ZONE)
        return pd.DataFrame(series, index=pd.Index(index, name="time"))

    def history_matrix(self, name: str) -> pd.DataFrame:
        """One sampled series for the whole watchlist: a column per symbol (IST times)."""
        times, values = self.history.matrix(name)
        index = pd.to_datetime(times, unit="s", utc=True).tz_convert(IST_ZONE)
        return pd.DataFrame(values, index=pd.Index(index, name="time"), columns=self.symbols)

    def snapshot(self) -> pd.DataFrame:
        """One row per instrument with its live metrics (a new DataFrame each call)."""
        metrics = self._published
        frame = pd.DataFrame(
            {
                "symbol": self._symbols,
                "instrument_token": self._tokens,
                "last_price": metrics["last_price"],
                "tick_size": self._tick_size,
                "change_pct": metrics["change"],
                "volume_traded": metrics["volume_traded"],
                "institutional_ratio": metrics["institutional_ratio"],
                "absorbed_side": [SIDE_NAMES[int(s)] for s in metrics["absorbed_side"]],
                "ratio_z": metrics["ratio_z"],
                "book_state": BOOK_STATE_NAMES[metrics["book_state"]],
                "order_imbalance": metrics["order_imbalance"],
                "total_imbalance": metrics["total_imbalance"],
                "depth_imbalance": metrics["depth_imbalance"],
                "volume_surge": metrics["volume_surge"],
                "price_move_atr": metrics["price_move_atr"],
                "price_state": PRICE_STATE_NAMES[metrics["price_state"]],
                "atr": metrics["atr"],
                "vwap_distance_pct": metrics["vwap_distance_pct"],
                "pcr": metrics["pcr"],
                "pcr_bias": metrics["pcr_bias"],
                "pcr_origin": metrics["pcr_origin"],
                "state": SIGNAL_TYPE_NAMES[metrics["signal_code"]],
                "confidence": metrics["confidence"],
                "rank_points": rank_points(
                    metrics["institutional_ratio"],
                    metrics["order_imbalance"],
                    metrics["volume_surge"],
                    metrics["ready"],
                ),
                "ready": metrics["ready"],
                "coverage": metrics["coverage"],
                "ticks": metrics["ticks"],
                "last_tick_time": metrics["last_tick_time"],
                "cvd": metrics["cvd"],  # the day's buyer- less seller-initiated shares
            }
        )
        return frame
