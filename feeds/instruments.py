"""Watchlist entries to Kite instruments: ``EXCHANGE:TRADINGSYMBOL`` and futures aliases.

Rules:

* an entry is ``EXCHANGE:TRADINGSYMBOL`` with EXCHANGE one of :data:`EXCHANGES`
  (``NSE:RELIANCE``, ``BSE:RELIANCE``, ``NFO:NIFTY26JANFUT``, ``MCX:CRUDEOIL26JANFUT``,
  ``CDS:USDINR26JANFUT``); a bare symbol means NSE. Entries are trimmed and upper-cased;
* ``NAME-I``, ``NAME-II``, ``NAME-III`` (``NFO:NIFTY-I``, ``MCX:CRUDEOIL-II``) is the
  nearest, next and third future of NAME on that exchange among those not yet expired on
  ``today`` (IST): on its expiry day a contract is still the nearest, the day after the alias
  rolls to the next one;
* everything per instrument comes from Kite's instruments dump: token, tick size, lot size,
  segment, expiry, the underlying's name;
* an entry that cannot be resolved is listed with its reason: no such exchange, not found,
  expired, no such future; the others are monitored. Two entries that resolve to the same
  instrument (``RELIANCE`` and ``NSE:RELIANCE``) are one.

The app calls an NSE cash instrument by its bare symbol (as stored signals always have) and
every other one ``EXCHANGE:TRADINGSYMBOL``; an alias is shown with its live contract.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

import pandas as pd

from config import parse_symbols

EXCHANGES = ("NSE", "BSE", "NFO", "BFO", "MCX", "CDS")
# Kite's segment code of each exchange: the low byte of its instrument tokens.
SEGMENT_CODES = {"NSE": 1, "NFO": 2, "CDS": 3, "BSE": 4, "BFO": 5, "MCX": 7}
MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
ALIAS = re.compile(r"^(?P<name>.+)-(?P<rank>I{1,3})$")
ALIAS_RANKS = {"I": 0, "II": 1, "III": 2}


@dataclass(frozen=True)
class Instrument:
    """One resolved instrument."""

    token: int
    exchange: str
    tradingsymbol: str
    entry: str  # the watchlist entry it came from, normalised (NFO:NIFTY-I)
    tick_size: float  # rupees
    lot_size: int  # shares (units) a lot
    instrument_type: str  # EQ, FUT, ...
    expiry: date | None
    underlying: str  # the dump's name: NIFTY, RELIANCE

    @property
    def symbol(self) -> str:
        """What the app calls it: the bare symbol on NSE cash, else EXCHANGE:TRADINGSYMBOL."""
        if self.exchange == "NSE":
            return self.tradingsymbol
        return f"{self.exchange}:{self.tradingsymbol}"

    @property
    def is_alias(self) -> bool:
        return bool(ALIAS.match(self.entry.partition(":")[2]))


@dataclass(frozen=True)
class Resolution:
    instruments: list[Instrument]
    problems: list[tuple[str, str]]  # (entry, why it was not resolved)

    def describe_problems(self) -> str:
        return "; ".join(f"{entry}: {reason}" for entry, reason in self.problems)


def monthly_contract(name: str, today: date, rank: int) -> tuple[str, date]:
    """The trading symbol and expiry of a monthly future of ``name``, ``rank`` months after
    the nearest one still live on ``today`` (expiring on its month's last Tuesday), as the
    simulator invents them: ``NIFTY26JANFUT``."""
    year, month = today.year, today.month
    if today > _last_tuesday(year, month):
        year, month = year + month // 12, month % 12 + 1
    month += rank
    year, month = year + (month - 1) // 12, (month - 1) % 12 + 1
    return f"{name}{year % 100:02d}{MONTHS[month - 1]}FUT", _last_tuesday(year, month)


def _last_tuesday(year: int, month: int) -> date:
    day = date(year + month // 12, month % 12 + 1, 1).toordinal() - 1
    while date.fromordinal(day).weekday() != 1:
        day -= 1
    return date.fromordinal(day)


def qualified(symbol: str) -> str:
    """An entry with its exchange: ``RELIANCE`` is ``NSE:RELIANCE``."""
    return symbol if ":" in symbol else f"NSE:{symbol}"


def parse_entries(text: str) -> list[str]:
    """Watchlist entries from text (``config.parse_symbols``), each with its exchange."""
    return [qualified(symbol) for symbol in parse_symbols(text)]


def exchanges_of(entries: list[str]) -> list[str]:
    """The known exchanges the entries name (whose instrument dumps are needed)."""
    return [x for x in EXCHANGES if any(e.partition(":")[0] == x for e in entries)]


def resolve(entries: list[str], dump: pd.DataFrame, today: date) -> Resolution:
    """Resolve normalised ``entries`` (:func:`parse_entries`) against Kite's instruments
    ``dump`` (the rows of every exchange needed, with Kite's columns) as of ``today``."""
    dump = dump.reset_index(drop=True)
    n = len(dump)

    def column(name: str, default) -> list:
        return dump[name].tolist() if name in dump else [default] * n

    exchange = [str(x) for x in column("exchange", "")]
    symbol = [str(x) for x in column("tradingsymbol", "")]
    token = column("instrument_token", 0)
    tick = column("tick_size", 0.05)
    lot = column("lot_size", 1)
    kind = [str(x) for x in column("instrument_type", "EQ")]
    name = [str(x) if isinstance(x, str) else "" for x in column("name", "")]
    expiry = [
        None if pd.isna(x) else x
        for x in pd.to_datetime(pd.Series(column("expiry", None)), errors="coerce").dt.date
    ]
    row_of = {key: row for row, key in enumerate(zip(exchange, symbol, strict=True))}
    # Live futures per (exchange, underlying), nearest expiry first.
    chains: dict[tuple[str, str], list[int]] = {}
    for row in sorted(
        (r for r in range(n) if kind[r] == "FUT" and expiry[r] is not None and expiry[r] >= today),
        key=lambda r: expiry[r],
    ):
        chains.setdefault((exchange[row], name[row]), []).append(row)
    found: dict[int, Instrument] = {}
    problems: list[tuple[str, str]] = []
    for entry in entries:
        where, _, wanted = entry.partition(":")
        if where not in EXCHANGES:
            problems.append((entry, f"no such exchange {where!r} (one of {', '.join(EXCHANGES)})"))
            continue
        row = row_of.get((where, wanted))
        alias = ALIAS.match(wanted)
        if row is None and alias:
            chain = chains.get((where, alias["name"]), [])
            rank = ALIAS_RANKS[alias["rank"]]
            if len(chain) <= rank:
                ordinal = ("nearest", "second", "third")[rank]
                problems.append((entry, f"no {ordinal} live future of {alias['name']} on {where}"))
                continue
            row = chain[rank]
        if row is None:
            problems.append((entry, f"not found on {where}"))
            continue
        if expiry[row] is not None and expiry[row] < today:
            problems.append((entry, f"expired on {expiry[row]:%Y-%m-%d}"))
            continue
        if int(token[row]) in found:
            continue
        found[int(token[row])] = Instrument(
            token=int(token[row]),
            exchange=where,
            tradingsymbol=symbol[row],
            entry=entry,
            tick_size=float(tick[row]) if tick[row] and tick[row] > 0 else 0.05,
            lot_size=int(lot[row]) if lot[row] and lot[row] > 0 else 1,
            instrument_type=kind[row],
            expiry=expiry[row],
            underlying=name[row],
        )
    return Resolution(list(found.values()), problems)
