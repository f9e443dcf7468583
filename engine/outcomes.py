"""What became of each signal: followed on the ticks after it until target, stop or expiry.

Pure and vectorised over the open signals: :meth:`OutcomeTracker.update` takes every
instrument's last price and the exchange time, and returns the signals that closed.

Rules (per open signal, ``direction`` +1 long / -1 short). Only prices that traded after the
signal and at or before its deadline count, in exchange time: a resumed signal never sees the
replayed ticks from before it, and nothing after the deadline decides it.

* target hit when ``direction x (price - target) >= 0``; stop hit when
  ``direction x (price - stop) <= 0``. One price can only be on one side of the entry, so a
  price never hits both; when the feed jumps past both levels between two prices (a gap),
  the price that arrived decides: beyond the stop it is a stop at that price (the loss it
  was, the conservative fill), beyond the target a target at that price;
* expired at the deadline: the horizon (``horizon_seconds`` after the signal) or the session
  end of the signal's IST day (15:30), whichever comes first, at the last price seen at or
  before the deadline (the entry when none traded). A 15:28 signal whose next price is the
  next morning's gap expires at 15:30 at its last price of the day, never at that gap;
* the exit price is the price that crossed the level, not the level: a gap through a stop
  is recorded as the loss it was.

Stored per outcome: exit price, P/L in percent and in R (multiples of the entry-to-stop
risk), maximum favourable and adverse excursion (percent of entry, both >= 0) and minutes
to outcome; and the same trade **net**: the plan's quantity, the costs of the round trip
(``slippage_ticks`` ticks worse on each fill, and the charges of :mod:`engine.charges`), the
net P/L in percent of the entry value and in R. A trade a trader could have made wins when
its net R is positive.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np

from engine.charges import ZERODHA_INTRADAY_EQUITY, ChargeRates, net_pnl, rates_of
from engine.sessions import IST, session_end

TARGET, STOP, EXPIRED = "target", "stop", "expired"


@dataclass(frozen=True)
class Outcome:
    signal_id: str
    outcome: str  # target / stop / expired
    exit_price: float
    pnl_pct: float
    r_multiple: float
    mfe_pct: float
    mae_pct: float
    minutes_to_outcome: float
    closed_at: datetime
    quantity: int = 0  # shares the plan traded
    costs: float = 0.0  # rupees: slippage and charges of the round trip
    net_pnl_pct: float = float("nan")  # P/L after costs, percent of the entry value
    net_r: float = float("nan")  # P/L after costs in R (the plan's risk times quantity)

    @property
    def win(self) -> bool:
        return self.r_multiple > 0


class OutcomeTracker:
    """The open signals and their running excursions. One writer thread."""

    FIELDS = (
        "row",
        "direction",
        "entry",
        "target",
        "stop",
        "opened",
        "deadline",
        "best",
        "worst",
        "last",
        "quantity",
        "tick",
    )

    def __init__(
        self,
        horizon_seconds: int,
        slippage_ticks: float = 1.0,
        rates: ChargeRates = ZERODHA_INTRADAY_EQUITY,
    ) -> None:
        self.horizon_seconds = int(horizon_seconds)
        self.slippage_ticks = slippage_ticks
        self.rates = rates
        self.ids: list[str] = []
        self._columns: dict[str, np.ndarray] = {
            name: np.zeros(
                0, dtype=np.int64 if name in ("row", "opened", "deadline", "quantity") else float
            )
            for name in self.FIELDS
        }

    def __len__(self) -> int:
        return len(self.ids)

    def open(
        self,
        signal_id: str,
        row: int,
        direction: int,
        entry: float,
        target: float,
        stop: float,
        opened: int,
        quantity: int = 1,
        tick_size: float = 0.05,
    ) -> None:
        """Follow a signal from ``opened`` (exchange epoch seconds), ``quantity`` (> 0)
        shares of an instrument whose price moves in ``tick_size`` steps.

        After a restart the excursions count from the restart: prices seen while the app was
        down are not known.
        """
        if direction not in (1, -1):
            raise ValueError(f"direction must be +1 or -1, not {direction!r}")
        if not (entry > 0 and np.isfinite(target) and np.isfinite(stop)) or stop == entry:
            raise ValueError(f"signal {signal_id}: entry, target and stop must be distinct prices")
        if quantity <= 0:
            raise ValueError(f"signal {signal_id}: quantity must be positive, not {quantity}")
        deadline = min(opened + self.horizon_seconds, session_end(opened))
        if deadline <= opened:  # a signal after the close expires at the horizon
            deadline = opened + self.horizon_seconds
        values = {
            "row": row,
            "direction": direction,
            "entry": entry,
            "target": target,
            "stop": stop,
            "opened": opened,
            "deadline": deadline,
            "best": entry,
            "worst": entry,
            "last": entry,  # the last price seen after the signal and by its deadline
            "quantity": quantity,
            "tick": tick_size,
        }
        self.ids.append(signal_id)
        for name, value in values.items():
            self._columns[name] = np.append(self._columns[name], value)

    def follow(self, signal_id: str, signal, row: int, tick_size: float, quantity: int) -> None:
        """:meth:`open` for an ``engine.Signal`` (its levels, direction and exchange time)."""
        self.open(
            signal_id,
            row,
            signal.direction,
            signal.entry,
            signal.target,
            signal.stop_loss,
            int(signal.timestamp.timestamp()),
            quantity=quantity,
            tick_size=tick_size,
        )

    def update(
        self, last_price: np.ndarray, now: int, price_time: np.ndarray | None = None
    ) -> list[Outcome]:
        """Fold every instrument's last price at exchange time ``now``; return what closed.

        ``price_time`` (per instrument, epoch seconds) is when each last price traded; without
        it every price is taken as of ``now``. A price counts for a signal only when it came
        after the signal and by its deadline.
        """
        if not self.ids or now <= 0:
            return []
        c = self._columns
        price = last_price[c["row"]]
        traded_at = np.full(len(self.ids), now) if price_time is None else price_time[c["row"]]
        seen = np.isfinite(price) & (traded_at > c["opened"]) & (traded_at <= c["deadline"])
        direction = c["direction"]
        c["last"] = np.where(seen, price, c["last"])
        favourable = np.where(seen, direction * (price - c["entry"]), -np.inf)
        c["best"] = np.where(favourable > direction * (c["best"] - c["entry"]), price, c["best"])
        adverse = np.where(seen, direction * (price - c["entry"]), np.inf)
        c["worst"] = np.where(adverse < direction * (c["worst"] - c["entry"]), price, c["worst"])
        stopped = seen & (direction * (price - c["stop"]) <= 0)
        reached = seen & ~stopped & (direction * (price - c["target"]) >= 0)
        expired = ~stopped & ~reached & (now >= c["deadline"])
        closing = np.flatnonzero(stopped | reached | expired)
        if closing.size == 0:
            return []
        outcomes = []
        for index in closing.tolist():
            kind = STOP if stopped[index] else TARGET if reached[index] else EXPIRED
            # Past the deadline, the last price at or before it: never one from after it.
            exit_price = float(price[index]) if kind != EXPIRED else float(c["last"][index])
            outcomes.append(self._outcome(index, kind, exit_price, now))
        keep = np.ones(len(self.ids), dtype=bool)
        keep[closing] = False
        self.ids = [signal_id for signal_id, kept in zip(self.ids, keep, strict=True) if kept]
        for name in self.FIELDS:
            c[name] = c[name][keep]
        return outcomes

    def _outcome(self, index: int, kind: str, exit_price: float, now: int) -> Outcome:
        c = self._columns
        direction, entry = int(c["direction"][index]), float(c["entry"][index])
        risk = abs(entry - float(c["stop"][index]))
        closed = min(now, int(c["deadline"][index])) if kind == EXPIRED else now
        quantity = int(c["quantity"][index])
        net = net_pnl(
            direction,
            entry,
            exit_price,
            float(c["stop"][index]),
            quantity,
            float(c["tick"][index]),
            self.slippage_ticks,
            self.rates,
        )
        return Outcome(
            signal_id=self.ids[index],
            outcome=kind,
            exit_price=round(exit_price, 4),
            pnl_pct=round(direction * (exit_price - entry) / entry * 100, 4),
            r_multiple=round(direction * (exit_price - entry) / risk, 4),
            mfe_pct=round(max(direction * (float(c["best"][index]) - entry), 0) / entry * 100, 4),
            mae_pct=round(max(-direction * (float(c["worst"][index]) - entry), 0) / entry * 100, 4),
            minutes_to_outcome=round((closed - int(c["opened"][index])) / 60, 2),
            closed_at=datetime.fromtimestamp(closed, IST),
            quantity=quantity,
            costs=round(float(net.slippage + net.charges), 4),
            net_pnl_pct=round(float(net.net_pnl_pct), 4),
            net_r=round(float(net.net_r), 4),
        )


def outcome_tracker(settings) -> OutcomeTracker:
    """The tracker ``settings`` describe: the holding horizon, slippage and brokerage."""
    return OutcomeTracker(
        settings.risk_horizon_minutes * 60, settings.slippage_ticks, rates_of(settings)
    )


def plan_quantity(signal, settings) -> int:
    """The shares a signal's outcome is costed on: its plan's size; for a signal sized
    before plans had one (or too small for one), what the capital buys, at least one."""
    if signal.quantity > 0:
        return int(signal.quantity)
    return max(1, int(settings.capital // signal.entry))
