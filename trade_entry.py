"""Checks of a trade a trader records by hand against a signal, each naming its field.

Rules: the quantity is a positive whole number of shares (at most ``MAX_QUANTITY``); both
prices are positive and, unless the trader confirms them, within ``PRICE_BAND`` of the
signal's entry (a typo of an extra digit is the usual mistake); both times are given, the
entry at or after the signal's minute, the exit after the entry and not in the future.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

MAX_QUANTITY = 10_000_000  # shares
PRICE_BAND = 0.20  # a price further than this from the signal's entry needs confirming


@dataclass(frozen=True)
class TradeInput:
    """What the form holds (times timezone-aware; prices in rupees; None = left empty)."""

    quantity: str
    entry_price: float | None
    exit_price: float | None
    entry_time: datetime | None
    exit_time: datetime | None
    prices_confirmed: bool = False


def check_trade(
    trade: TradeInput, signal_entry: float, signal_time: datetime, now: datetime | None = None
) -> tuple[dict[str, str], int | None]:
    """The problems by field name (empty when the trade can be recorded), and the quantity."""
    errors: dict[str, str] = {}
    quantity = None
    text = trade.quantity.strip().replace(",", "")
    if not re.fullmatch(r"[+-]?\d+", text):
        errors["quantity"] = f"Quantity: {trade.quantity.strip()!r} is not a whole number of shares"
    elif int(text) <= 0:
        errors["quantity"] = "Quantity: must be at least 1 share"
    elif int(text) > MAX_QUANTITY:
        errors["quantity"] = f"Quantity: more than {MAX_QUANTITY:,} shares; check it"
    else:
        quantity = int(text)
    for field, label, price in (
        ("entry_price", "Entry price", trade.entry_price),
        ("exit_price", "Exit price", trade.exit_price),
    ):
        if price is None:
            errors[field] = f"{label}: enter the price"
        elif not price > 0:
            errors[field] = f"{label}: must be a positive price"
        elif not trade.prices_confirmed and abs(price / signal_entry - 1) > PRICE_BAND:
            errors[field] = (
                f"{label}: {price:,.2f} is {abs(price / signal_entry - 1):.0%} from the "
                f"signal's entry {signal_entry:,.2f}; tick 'The prices are right' to keep it"
            )
    now = now or datetime.now(UTC)
    if trade.entry_time is None:
        errors["entry_time"] = "Entry time: enter when you entered"
    elif trade.entry_time < signal_time.replace(second=0, microsecond=0):  # to the minute
        errors["entry_time"] = f"Entry time: before the signal ({signal_time:%Y-%m-%d %H:%M %Z})"
    if trade.exit_time is None:
        errors["exit_time"] = "Exit time: enter when you got out"
    elif trade.entry_time is not None and trade.exit_time <= trade.entry_time:
        errors["exit_time"] = "Exit time: must be after the entry time"
    elif trade.exit_time > now + timedelta(minutes=1):
        errors["exit_time"] = "Exit time: in the future"
    return errors, quantity
