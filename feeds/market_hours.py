"""NSE cash-market hours in IST: 09:15 to 15:30 on weekdays that are not holidays.

The clock only labels the feed's state ("market closed" instead of a silent feed looking
broken); ticks that do arrive are always processed.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, datetime

from engine.sessions import CONTINUOUS_END as CLOSE
from engine.sessions import CONTINUOUS_START as OPEN
from engine.sessions import IST


def market_phase(moment: datetime, holidays: Collection[date] = ()) -> str:
    """``open``, ``pre-open``, ``closed`` (after hours), ``weekend`` or ``holiday``."""
    local = moment.astimezone(IST)
    if local.weekday() >= 5:
        return "weekend"
    if local.date() in holidays:
        return "holiday"
    if local.time() < OPEN:
        return "pre-open"
    if local.time() >= CLOSE:
        return "closed"
    return "open"


def is_market_open(moment: datetime, holidays: Collection[date] = ()) -> bool:
    return market_phase(moment, holidays) == "open"
