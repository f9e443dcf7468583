"""Which exchange timestamps the engine believes.

The engine's clock is the ticks' exchange timestamps, so one packet stamped far in the future
would move it ahead and make every real tick after it look stale. A timestamp is believed
when it is

* not more than ``ahead_tolerance`` seconds ahead of the time the frame arrived (the exchange
  cannot report the future; the tolerance absorbs clock skew between the exchange and this
  machine), and
* not more than ``max_age`` seconds behind it (after a long weekend Kite may still send
  Friday's last quote, days old; a timestamp from years ago is corrupt).

``received_at`` is the arrival time on the exchange's clock: the wall clock for a live feed,
the recorded arrival for a replay, the simulator's own clock for simulated sessions.
Packets without a timestamp (``0``: LTP and quote modes) cannot be checked and are kept.
"""

from __future__ import annotations

import numpy as np


def implausible_times(
    exchange_timestamp: np.ndarray,
    received_at: float,
    ahead_tolerance: float,
    max_age: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Masks of ticks stamped in the future and of ticks absurdly old, per tick.

    ``exchange_timestamp`` epoch seconds (0 = absent); ``received_at`` epoch seconds;
    ``ahead_tolerance`` (>= 0) and ``max_age`` (> 0) seconds.
    """
    times = np.asarray(exchange_timestamp, dtype=np.int64)
    stamped = times > 0
    future = stamped & (times > received_at + ahead_tolerance)
    ancient = stamped & (times < received_at - max_age)
    return future, ancient
