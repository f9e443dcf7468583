"""India Standard Time and the NSE cash market's trading phases: the one definition.

Every module that needs IST, "today" or a session time imports it from here.

Phases of an NSE equity trading day (IST):

==============  =============  ============================================================
phase           time           what the engine does with its ticks
==============  =============  ============================================================
pre-open        09:00-09:08    call auction: orders collected, one match at 09:08. Quotes
                               are shown; no flow is folded into the windows, so the
                               auction's matched volume never lands as one jump
buffer          09:08-09:15    auction to continuous hand-over; as pre-open
continuous      09:15-15:30    continuous trading: the only flow the detectors see
closing         15:30-15:40    closing price computed; as pre-open
post-close      15:40-16:00    trades at the closing price only; as pre-open
closed          otherwise      as pre-open
==============  =============  ============================================================

The first continuous-session tick of a day only sets the volume baseline, so whatever the
day traded before 09:15 (the auction) is never attributed to the continuous book.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone

import numpy as np

IST = timezone(timedelta(hours=5, minutes=30), "IST")
IST_ZONE = "Asia/Kolkata"  # the same zone by name, for pandas
IST_OFFSET_SECONDS = 19_800  # UTC+05:30
DAY_SECONDS = 86_400

CONTINUOUS_START = time(9, 15)
CONTINUOUS_END = time(15, 30)


def _seconds(moment: time) -> int:
    return moment.hour * 3600 + moment.minute * 60 + moment.second


CONTINUOUS_START_SECONDS = _seconds(CONTINUOUS_START)  # after IST midnight
CONTINUOUS_END_SECONDS = _seconds(CONTINUOUS_END)


def ist_day(epoch_seconds) -> np.ndarray:
    """Days since the epoch in IST (a trading day's number), for scalars or arrays."""
    return (np.asarray(epoch_seconds, dtype=np.int64) + IST_OFFSET_SECONDS) // DAY_SECONDS


def seconds_into_ist_day(epoch_seconds) -> np.ndarray:
    """Seconds after IST midnight."""
    return (np.asarray(epoch_seconds, dtype=np.int64) + IST_OFFSET_SECONDS) % DAY_SECONDS


def in_continuous_session(epoch_seconds) -> np.ndarray:
    """True for exchange times within 09:15:00 <= t < 15:30:00 IST (any day)."""
    seconds = seconds_into_ist_day(epoch_seconds)
    return (seconds >= CONTINUOUS_START_SECONDS) & (seconds < CONTINUOUS_END_SECONDS)


def in_opening_minutes(epoch_seconds, minutes: int) -> np.ndarray:
    """True within the first ``minutes`` of the continuous session (09:15 IST onward)."""
    seconds = seconds_into_ist_day(epoch_seconds)
    return (seconds >= CONTINUOUS_START_SECONDS) & (
        seconds < CONTINUOUS_START_SECONDS + 60 * minutes
    )


def session_end(epoch_seconds: int) -> int:
    """Epoch seconds of 15:30 IST on the IST day of ``epoch_seconds``."""
    day_start = int(ist_day(epoch_seconds)) * DAY_SECONDS - IST_OFFSET_SECONDS
    return day_start + CONTINUOUS_END_SECONDS


def day_start_epoch(day_number: int) -> int:
    """Epoch seconds of IST midnight of the trading day numbered ``day_number``."""
    return int(day_number) * DAY_SECONDS - IST_OFFSET_SECONDS


def ist_today(now: datetime | None = None) -> date:
    """Today's date in IST (not the machine's or UTC's date)."""
    return (now or datetime.now(UTC)).astimezone(IST).date()
