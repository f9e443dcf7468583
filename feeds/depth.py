"""The visible book of a few instruments through time, for the depth heatmap.

Kite's full mode shows 5 price levels a side with their quantities about once a second. For
each instrument asked for (at most ``max_instruments``, the least recently asked dropped
first) a ring of ``capacity`` snapshots keeps, per exchange second: the 5 bid and 5 ask prices
and quantities, the last price and the cumulative volume. One writer (the market thread),
readers copy what they take.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np
import pandas as pd

from engine.sessions import IST_ZONE
from engine.ticks import MODE_FULL

LEVELS = 5


class DepthHistory:
    """Rings of 5-level snapshots for the instruments being charted."""

    def __init__(self, capacity: int = 900, max_instruments: int = 8) -> None:
        self.capacity = capacity
        self.max_instruments = max_instruments
        self._rings: OrderedDict[int, dict] = OrderedDict()
        self._lock = threading.Lock()

    def watch(self, token: int) -> None:
        """Start (or keep) recording ``token``."""
        with self._lock:
            if token in self._rings:
                self._rings.move_to_end(token)
                return
            self._rings[token] = {
                "time": np.zeros(self.capacity, dtype=np.int64),
                "price": np.full((self.capacity, 2 * LEVELS), np.nan),
                "quantity": np.zeros((self.capacity, 2 * LEVELS)),
                "last": np.full(self.capacity, np.nan),
                "volume": np.zeros(self.capacity),
                "count": 0,
            }
            while len(self._rings) > self.max_instruments:
                self._rings.popitem(last=False)

    def record(self, ticks: np.ndarray) -> None:
        """Keep the full-mode ticks of the watched instruments (one a second each)."""
        if not self._rings:
            return
        with self._lock:
            watched = np.fromiter(self._rings, dtype=np.int64)
            mine = ticks[np.isin(ticks["instrument_token"], watched) & (ticks["mode"] == MODE_FULL)]
            for tick in mine:
                ring = self._rings[int(tick["instrument_token"])]
                count, at = ring["count"], int(tick["exchange_timestamp"])
                if count and ring["time"][(count - 1) % self.capacity] >= at:
                    continue  # a repeat or an older snapshot
                slot = count % self.capacity
                ring["time"][slot] = at
                ring["price"][slot] = np.concatenate([tick["bid_price"], tick["ask_price"]])
                ring["quantity"][slot] = np.concatenate([tick["bid_qty"], tick["ask_qty"]])
                ring["last"][slot] = tick["last_price"]
                ring["volume"][slot] = tick["volume_traded"]
                ring["count"] = count + 1

    def frame(self, token: int) -> pd.DataFrame:
        """Long form, oldest first: time (IST), side, level, price, quantity; the last price
        and the volume traded since the snapshot before are in ``last`` / ``traded`` (one row
        a snapshot, side ``trade``)."""
        with self._lock:
            ring = self._rings.get(token)
            if ring is None or ring["count"] == 0:
                return pd.DataFrame(columns=["time", "side", "price", "quantity"])
            kept = min(ring["count"], self.capacity)
            order = (np.arange(ring["count"] - kept, ring["count"])) % self.capacity
            times = ring["time"][order]
            prices, quantities = ring["price"][order], ring["quantity"][order]
            last, volume = ring["last"][order], ring["volume"][order]
        stamps = pd.to_datetime(times, unit="s", utc=True).tz_convert(IST_ZONE)
        sides = np.array(["bid"] * LEVELS + ["ask"] * LEVELS)
        book = pd.DataFrame(
            {
                "time": np.repeat(stamps, 2 * LEVELS),
                "side": np.tile(sides, len(times)),
                "price": prices.reshape(-1),
                "quantity": quantities.reshape(-1),
            }
        )
        book = book[(book["price"] > 0) & (book["quantity"] > 0)]
        traded = np.diff(volume, prepend=volume[0]).clip(min=0)
        trades = pd.DataFrame({"time": stamps, "side": "trade", "price": last, "quantity": traded})
        return pd.concat([book, trades], ignore_index=True)
