"""Watchlist resolution benchmark: a 9,000-entry watchlist against a 100,000-row dump.

The dump is shaped like Kite's instruments file (NSE and BSE equities, NFO futures and
options); the watchlist mixes bare NSE symbols, BSE symbols, explicit futures and aliases.
Target: under a second.
"""

from __future__ import annotations

import sys
import time
from datetime import date, timedelta
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from feeds.instruments import MONTHS, parse_entries, resolve


def dump(rows: int, today: date) -> pd.DataFrame:
    names = [f"STOCK{k:05d}" for k in range(rows // 10)]
    expiries = [today + timedelta(days=7 * k + 3) for k in range(3)]
    records = []
    for name in names:
        for exchange in ("NSE", "BSE"):
            records.append((len(records), exchange, name, name, "EQ", None, 0.05, 1))
        for expiry in expiries:
            symbol = f"{name}{expiry:%y}{MONTHS[expiry.month - 1]}{expiry.day:02d}FUT"
            records.append((len(records), "NFO", symbol, name, "FUT", expiry, 0.05, 250))
        for strike in range(5):
            for kind in ("CE", "PE"):
                symbol = f"{name}{expiries[0]:%y%m%d}{100 + strike}{kind}"
                records.append((len(records), "NFO", symbol, name, kind, expiries[0], 0.05, 250))
        if len(records) >= rows:
            break
    columns = ["instrument_token", "exchange", "tradingsymbol", "name", "instrument_type"]
    columns += ["expiry", "tick_size", "lot_size"]
    return pd.DataFrame.from_records(records[:rows], columns=columns)


def main() -> None:
    today = date(2026, 1, 12)
    table = dump(100_000, today)
    names = table.loc[table["exchange"] == "NSE", "tradingsymbol"].tolist()
    entries = names[:6_000] + [f"BSE:{n}" for n in names[:1_000]]
    entries += [f"NFO:{n}-I" for n in names[1_000:2_000]] + [f"NFO:{n}-II" for n in names[:1_000]]
    watchlist = parse_entries(",".join(entries))
    started = time.perf_counter()
    found = resolve(watchlist, table, today)
    seconds = time.perf_counter() - started
    print(
        f"resolve {len(watchlist):,} entries against {len(table):,} dump rows: {seconds:.3f} s "
        f"({len(found.instruments):,} instruments, {len(found.problems)} unresolved) · "
        "target < 1 s"
    )


if __name__ == "__main__":
    main()
