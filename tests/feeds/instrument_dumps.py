"""Instruments dumps shaped like Kite's (made-up rows, not market data)."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd

from feeds.instruments import MONTHS


def last_thursday(year: int, month: int) -> date:
    day = date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)
    while day.weekday() != 3:
        day -= timedelta(days=1)
    return day


def future_rows(exchange: str, name: str, first: date, token: int, lot: int) -> list[dict]:
    """Three monthly futures of ``name`` from ``first``'s month, expiring on last Thursdays."""
    rows = []
    for k in range(3):
        month = (first.month - 1 + k) % 12 + 1
        year = first.year + (first.month - 1 + k) // 12
        expiry = last_thursday(year, month)
        rows.append(
            {
                "instrument_token": token + k,
                "exchange_token": 1,
                "tradingsymbol": f"{name}{year % 100:02d}{MONTHS[month - 1]}FUT",
                "name": name,
                "last_price": 0,
                "expiry": expiry.isoformat(),
                "strike": 0,
                "tick_size": 0.05 if exchange != "CDS" else 0.0025,
                "lot_size": lot,
                "instrument_type": "FUT",
                "segment": f"{exchange}-FUT",
                "exchange": exchange,
            }
        )
    return rows


def equity_row(exchange: str, symbol: str, token: int, tick: float = 0.05) -> dict:
    return {
        "instrument_token": token,
        "exchange_token": 1,
        "tradingsymbol": symbol,
        "name": symbol,
        "last_price": 0,
        "expiry": "",
        "strike": 0,
        "tick_size": tick,
        "lot_size": 1,
        "instrument_type": "EQ",
        "segment": exchange,
        "exchange": exchange,
    }


def sample_dump(today: date) -> pd.DataFrame:
    """NSE and BSE RELIANCE and TCS; NIFTY, BANKNIFTY and RELIANCE futures on NFO, CRUDEOIL
    on MCX, USDINR on CDS (three expiries each, the nearest this month); one expired NIFTY."""
    rows = [
        equity_row("NSE", "RELIANCE", 738561),
        equity_row("NSE", "TCS", 2953217, 0.1),
        equity_row("BSE", "RELIANCE", 128083204),
    ]
    start = today.replace(day=1)
    rows += future_rows("NFO", "NIFTY", start, 10_001, 75)
    rows += future_rows("NFO", "BANKNIFTY", start, 10_101, 35)
    rows += future_rows("NFO", "RELIANCE", start, 10_201, 500)
    rows += future_rows("MCX", "CRUDEOIL", start, 20_001, 100)
    rows += future_rows("CDS", "USDINR", start, 30_001, 1000)
    expired = future_rows("NFO", "NIFTY", (start - timedelta(days=1)).replace(day=1), 10_050, 75)
    rows.append(expired[0])
    return pd.DataFrame(rows)
