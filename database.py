"""The signal store: SQLAlchemy 2.x models, versioned schema, a writer thread, the queries.

* ``DATABASE_URL`` takes any SQLAlchemy URL; empty means SQLite at ``DATA_DIR/signals.db`` in
  WAL mode with a busy timeout (readers never block the writer, a crash never corrupts).
* The schema is versioned in the ``schema_version`` table and upgrades itself on start:
  :data:`MIGRATIONS` are applied in order, each in its own transaction, so a database from an
  older version keeps its rows. To change the schema, append a migration and update the models
  (a test checks that migrating an empty database gives exactly the models' tables).
* Writes go through :class:`SignalWriter`: a bounded queue drained by one thread in batches.
  Submitting never blocks (a full queue counts a drop), "database is locked" is retried with
  back-off without losing the batch, and ``close()`` flushes what is queued.
* Signals, automatic outcomes and manual trades are separate tables; manual and automatic
  results are never mixed.
"""

from __future__ import annotations

import json
import logging
import math
import queue
import random
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    bindparam,
    create_engine,
    event,
    func,
    inspect,
    select,
    text,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from engine.charges import net_pnl
from engine.hidden_size import revealed_refills
from engine.sessions import IST, IST_ZONE
from engine.signals import Signal, SignalType, direction_of

log = logging.getLogger("database")

SCHEMA_VERSION = 10
VOID = "void"  # an outcome that was decided on prices from before its signal (voided in v4)
# What a history row's outcome can read (a filter's choices): "open" is a row without one.
OUTCOMES = ("target", "stop", "expired", VOID, "open")
MAX_QUERY_ROWS = 10_000  # rows a page table shows; counts and charts use SQL aggregates


# ------------------------------------------------------------------------------- models
class Base(DeclarativeBase):
    pass


class SignalRow(Base):
    """Every field of ``engine.Signal``, the factors as JSON, and where it came from."""

    __tablename__ = "signals"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    symbol: Mapped[str] = mapped_column(String(32))
    instrument_token: Mapped[int] = mapped_column(Integer)
    signal_type: Mapped[str] = mapped_column(String(16))
    confidence: Mapped[float] = mapped_column(Float)
    rank_points: Mapped[float] = mapped_column(Float)
    entry: Mapped[float] = mapped_column(Float)
    target: Mapped[float] = mapped_column(Float)
    stop_loss: Mapped[float] = mapped_column(Float)
    institutional_ratio: Mapped[float | None] = mapped_column(Float)
    order_imbalance: Mapped[float | None] = mapped_column(Float)
    volume_surge: Mapped[float | None] = mapped_column(Float)
    pcr: Mapped[float | None] = mapped_column(Float)
    pcr_bias: Mapped[str] = mapped_column(String(16))
    factors: Mapped[dict] = mapped_column(JSON)
    signal_time: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    trade_date: Mapped[date] = mapped_column(Date)  # IST day, for fast per-day queries
    source: Mapped[str] = mapped_column(String(16), server_default="")
    simulated: Mapped[bool] = mapped_column(Boolean, server_default="0")
    # A copy of the outcome's kind and R, set in the transaction that stores the outcome,
    # so filters and per-day figures over millions of signals need no join.
    outcome: Mapped[str | None] = mapped_column(String(16))
    outcome_r: Mapped[float | None] = mapped_column(Float)
    outcome_net_r: Mapped[float | None] = mapped_column(Float)  # R after costs
    quantity: Mapped[int | None] = mapped_column(Integer)  # shares the plan sized
    plan_note: Mapped[str] = mapped_column(Text, server_default="")  # what stands in the way

    __table_args__ = (
        Index("ix_signals_trade_date", "trade_date"),
        Index("ix_signals_symbol_time", "symbol", "signal_time"),
        Index("ix_signals_type_date", "signal_type", "trade_date"),
        Index("ix_signals_time", "signal_time"),
        Index("ix_signals_daily", "trade_date", "signal_type", "outcome", "outcome_r"),
        # A signal is an event: one source, instrument, type and exchange time, stored once.
        Index(
            "ux_signals_event",
            "source",
            "instrument_token",
            "signal_type",
            "signal_time",
            unique=True,
        ),
    )


class OutcomeRow(Base):
    """What the tracker saw happen after a signal (automatic)."""

    __tablename__ = "signal_outcomes"

    signal_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("signals.id", ondelete="CASCADE"), primary_key=True
    )
    outcome: Mapped[str] = mapped_column(String(16))
    exit_price: Mapped[float] = mapped_column(Float)
    pnl_pct: Mapped[float] = mapped_column(Float)
    r_multiple: Mapped[float] = mapped_column(Float)
    mfe_pct: Mapped[float] = mapped_column(Float)
    mae_pct: Mapped[float] = mapped_column(Float)
    minutes_to_outcome: Mapped[float] = mapped_column(Float)
    closed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    quantity: Mapped[int | None] = mapped_column(Integer)  # shares the outcome is costed on
    costs: Mapped[float | None] = mapped_column(Float)  # rupees: slippage and charges
    net_pnl_pct: Mapped[float | None] = mapped_column(Float)  # after costs, % of entry value
    net_r: Mapped[float | None] = mapped_column(Float)  # after costs, in R

    __table_args__ = (
        Index("ix_outcomes_outcome", "outcome"),
        # An outcome is decided after its signal, never before (minutes counted from it).
        CheckConstraint("minutes_to_outcome >= 0", name="ck_outcome_after_signal"),
    )


class ManualTradeRow(Base):
    """A real trade the trader recorded against a signal (kept apart from outcomes)."""

    __tablename__ = "manual_trades"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    signal_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("signals.id", ondelete="CASCADE"), index=True
    )
    entry_price: Mapped[float] = mapped_column(Float)
    exit_price: Mapped[float] = mapped_column(Float)
    quantity: Mapped[int] = mapped_column(Integer)
    pnl: Mapped[float] = mapped_column(Float)
    pnl_pct: Mapped[float] = mapped_column(Float)
    r_multiple: Mapped[float | None] = mapped_column(Float)
    notes: Mapped[str] = mapped_column(Text, default="")
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    entry_time: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # when filled
    exit_time: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # when closed


class BacktestRow(Base):
    """One setting's result in a backtest run (``backtest``): what it was run on and how
    it did, kept so runs survive a restart and can be compared."""

    __tablename__ = "backtest_results"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(String(32), index=True)  # one grid run
    run_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))  # when it finished
    sessions: Mapped[list] = mapped_column(JSON)  # recording names and sim:SEED
    setting: Mapped[dict] = mapped_column(JSON)  # the values changed from the defaults
    figures: Mapped[dict] = mapped_column(JSON)  # backtest.run_setting's row, less the setting


class IcebergRow(Base):
    """An iceberg the level tracker followed to its end (``engine.levels.Iceberg``): the
    record of what was seen, and what teaches the hidden-size estimate after a restart."""

    __tablename__ = "icebergs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    symbol: Mapped[str] = mapped_column(String(32))
    side: Mapped[str] = mapped_column(String(3))  # BID: a hidden buyer; ASK: a hidden seller
    price: Mapped[float] = mapped_column(Float)
    peak: Mapped[float] = mapped_column(Float)  # display size, shares
    refills: Mapped[int] = mapped_column(Integer)
    hidden_volume: Mapped[float] = mapped_column(Float)  # revealed hidden volume, shares
    # Its standard error (0 for icebergs stored before it was kept), shares.
    hidden_se: Mapped[float] = mapped_column(Float, server_default="0")
    # Refills surely revealed when first published (0 for icebergs stored before it was
    # kept): where the hidden-size estimate began to watch it.
    entry_refills: Mapped[int] = mapped_column(Integer, server_default="0")
    traded: Mapped[float] = mapped_column(Float)  # all that traded at the price, shares
    native: Mapped[bool] = mapped_column(Boolean)
    state: Mapped[str] = mapped_column(String(16))  # completed / broken
    first_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    detected_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    trade_date: Mapped[date] = mapped_column(Date)  # IST day of first_seen
    source: Mapped[str] = mapped_column(String(16), server_default="")
    simulated: Mapped[bool] = mapped_column(Boolean, server_default="0")

    __table_args__ = (
        Index("ix_icebergs_date", "trade_date"),
        Index("ix_icebergs_last_seen", "last_seen"),  # the API lists them by the day they ended
        # One iceberg is one source's level from one moment: stored once.
        Index("ux_icebergs_event", "source", "symbol", "side", "first_seen", unique=True),
    )


# --------------------------------------------------------------------------- migrations
def _v1(connection: Connection) -> None:
    """Version 1: signals and their outcomes (frozen: never edit a released migration)."""
    metadata = MetaData()
    Table(
        "signals",
        metadata,
        Column("id", String(32), primary_key=True),
        Column("symbol", String(32), nullable=False),
        Column("instrument_token", Integer, nullable=False),
        Column("signal_type", String(16), nullable=False),
        Column("confidence", Float, nullable=False),
        Column("rank_points", Float, nullable=False),
        Column("entry", Float, nullable=False),
        Column("target", Float, nullable=False),
        Column("stop_loss", Float, nullable=False),
        Column("institutional_ratio", Float),
        Column("order_imbalance", Float),
        Column("volume_surge", Float),
        Column("pcr", Float),
        Column("pcr_bias", String(16), nullable=False),
        Column("factors", JSON, nullable=False),
        Column("signal_time", DateTime(timezone=True), nullable=False),
        Column("trade_date", Date, nullable=False),
        Index("ix_signals_trade_date", "trade_date"),
        Index("ix_signals_symbol_time", "symbol", "signal_time"),
        Index("ix_signals_type_date", "signal_type", "trade_date"),
    )
    Table(
        "signal_outcomes",
        metadata,
        Column(
            "signal_id",
            String(32),
            ForeignKey("signals.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        Column("outcome", String(16), nullable=False),
        Column("exit_price", Float, nullable=False),
        Column("pnl_pct", Float, nullable=False),
        Column("r_multiple", Float, nullable=False),
        Column("mfe_pct", Float, nullable=False),
        Column("mae_pct", Float, nullable=False),
        Column("minutes_to_outcome", Float, nullable=False),
        Column("closed_at", DateTime(timezone=True), nullable=False),
        Index("ix_outcomes_outcome", "outcome"),
    )
    metadata.create_all(connection)


def _v2(connection: Connection) -> None:
    """Version 2: where a signal came from (source, simulated) and manual trades."""
    connection.execute(
        text("ALTER TABLE signals ADD COLUMN source VARCHAR(16) DEFAULT '' NOT NULL")
    )
    connection.execute(
        text("ALTER TABLE signals ADD COLUMN simulated BOOLEAN DEFAULT '0' NOT NULL")
    )
    metadata = MetaData()  # frozen as released: later columns come in later migrations
    Table("signals", metadata, Column("id", String(32), primary_key=True))
    Table(
        "manual_trades",
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column(
            "signal_id",
            String(32),
            ForeignKey("signals.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        ),
        Column("entry_price", Float, nullable=False),
        Column("exit_price", Float, nullable=False),
        Column("quantity", Integer, nullable=False),
        Column("pnl", Float, nullable=False),
        Column("pnl_pct", Float, nullable=False),
        Column("r_multiple", Float),
        Column("notes", Text, nullable=False),
        Column("recorded_at", DateTime(timezone=True), nullable=False),
    ).create(connection)


def _v3(connection: Connection) -> None:
    """Version 3: each signal carries its outcome's kind and R (filled from the outcomes
    already stored) and indexes for the newest-first history and the per-day figures."""
    connection.execute(text("ALTER TABLE signals ADD COLUMN outcome VARCHAR(16)"))
    connection.execute(text("ALTER TABLE signals ADD COLUMN outcome_r FLOAT"))
    connection.execute(
        text(
            "UPDATE signals SET "
            "outcome = (SELECT o.outcome FROM signal_outcomes o WHERE o.signal_id = signals.id), "
            "outcome_r = (SELECT o.r_multiple FROM signal_outcomes o "
            "WHERE o.signal_id = signals.id)"
        )
    )
    connection.execute(text("CREATE INDEX ix_signals_time ON signals (signal_time)"))
    connection.execute(
        text(
            "CREATE INDEX ix_signals_daily ON signals (trade_date, signal_type, outcome, outcome_r)"
        )
    )


def _v4(connection: Connection) -> None:
    """Version 4: a signal is an event stored once, an outcome never precedes its signal,
    and manual trades carry their entry and exit times.

    * Signals stored more than once for one (source, instrument, type, exchange time) keep
      one row: the one a manual trade refers to, else one with an outcome, else the first by
      id; manual trades of the others move to it, the others and their outcomes go.
    * Outcomes decided before their signal (negative minutes: a restart once followed open
      signals on replayed older ticks) are marked ``void``: no exit, no R, never in a figure.
    """
    duplicates = connection.execute(
        text(
            "SELECT s.id, s.source, s.instrument_token, s.signal_type, s.signal_time, "
            "s.outcome, (SELECT COUNT(*) FROM manual_trades m WHERE m.signal_id = s.id) "
            "FROM signals s JOIN (SELECT source, instrument_token, signal_type, signal_time "
            "FROM signals GROUP BY source, instrument_token, signal_type, signal_time "
            "HAVING COUNT(*) > 1) d ON s.source = d.source "
            "AND s.instrument_token = d.instrument_token AND s.signal_type = d.signal_type "
            "AND s.signal_time = d.signal_time"
        )
    ).all()
    events: dict[tuple, list] = {}
    for row in duplicates:
        events.setdefault(tuple(row[1:5]), []).append(row)
    for rows in events.values():
        keeper = min(rows, key=lambda r: (-(r[6] > 0), r[5] is None, r[0]))[0]
        others = [r[0] for r in rows if r[0] != keeper]
        ids = {"keeper": keeper, "others": others}
        expanding = bindparam("others", expanding=True)
        connection.execute(
            text(
                "UPDATE manual_trades SET signal_id = :keeper WHERE signal_id IN :others"
            ).bindparams(expanding),
            ids,
        )
        for table, column in (("signal_outcomes", "signal_id"), ("signals", "id")):
            connection.execute(
                text(f"DELETE FROM {table} WHERE {column} IN :others").bindparams(expanding),
                {"others": others},
            )
    connection.execute(
        text(
            "UPDATE signals SET outcome = 'void', outcome_r = NULL WHERE id IN "
            "(SELECT signal_id FROM signal_outcomes WHERE minutes_to_outcome < 0)"
        )
    )
    connection.execute(
        text(
            "UPDATE signal_outcomes SET outcome = 'void', pnl_pct = 0, r_multiple = 0, "
            "mfe_pct = 0, mae_pct = 0, minutes_to_outcome = 0 WHERE minutes_to_outcome < 0"
        )
    )
    if connection.dialect.name == "sqlite":  # SQLite adds a constraint by rebuilding
        metadata = MetaData()
        rebuilt = Table(
            "signal_outcomes_v4",
            metadata,
            Column(
                "signal_id",
                String(32),
                ForeignKey("signals.id", ondelete="CASCADE"),
                primary_key=True,
            ),
            Column("outcome", String(16), nullable=False),
            Column("exit_price", Float, nullable=False),
            Column("pnl_pct", Float, nullable=False),
            Column("r_multiple", Float, nullable=False),
            Column("mfe_pct", Float, nullable=False),
            Column("mae_pct", Float, nullable=False),
            Column("minutes_to_outcome", Float, nullable=False),
            Column("closed_at", DateTime(timezone=True), nullable=False),
            CheckConstraint("minutes_to_outcome >= 0", name="ck_outcome_after_signal"),
        )
        Table("signals", metadata, Column("id", String(32), primary_key=True))
        rebuilt.create(connection)
        connection.execute(text("INSERT INTO signal_outcomes_v4 SELECT * FROM signal_outcomes"))
        connection.execute(text("DROP TABLE signal_outcomes"))
        connection.execute(text("ALTER TABLE signal_outcomes_v4 RENAME TO signal_outcomes"))
        connection.execute(text("CREATE INDEX ix_outcomes_outcome ON signal_outcomes (outcome)"))
    else:
        connection.execute(
            text(
                "ALTER TABLE signal_outcomes ADD CONSTRAINT ck_outcome_after_signal "
                "CHECK (minutes_to_outcome >= 0)"
            )
        )
    connection.execute(
        text(
            "CREATE UNIQUE INDEX ux_signals_event ON signals "
            "(source, instrument_token, signal_type, signal_time)"
        )
    )
    timestamp = connection.dialect.type_compiler.process(DateTime(timezone=True))
    for column in ("entry_time", "exit_time"):
        connection.execute(text(f"ALTER TABLE manual_trades ADD COLUMN {column} {timestamp}"))


def _v5(connection: Connection) -> None:
    """Version 5: plans carry their size and what stands in their way; outcomes their costs
    and net P/L. Outcomes stored before are costed here with the default rates, one tick of
    slippage a fill (0.05) and the shares 1,00,000 rupees buy, so every figure shown is net."""
    for table, column, kind in (
        ("signals", "quantity", "INTEGER"),
        ("signals", "plan_note", "TEXT NOT NULL DEFAULT ''"),
        ("signals", "outcome_net_r", "FLOAT"),
        ("signal_outcomes", "quantity", "INTEGER"),
        ("signal_outcomes", "costs", "FLOAT"),
        ("signal_outcomes", "net_pnl_pct", "FLOAT"),
        ("signal_outcomes", "net_r", "FLOAT"),
    ):
        connection.execute(text(f"ALTER TABLE {table} ADD COLUMN {column} {kind}"))
    rows = connection.execute(
        text(
            "SELECT o.signal_id, s.signal_type, s.entry, s.stop_loss, o.exit_price "
            "FROM signal_outcomes o JOIN signals s ON s.id = o.signal_id "
            "WHERE o.outcome != 'void' AND s.entry > 0 AND s.stop_loss != s.entry"
        )
    ).all()
    if not rows:
        return
    ids, kinds, entry, stop, exit_price = (list(column) for column in zip(*rows, strict=True))
    entry, stop = np.array(entry, dtype=float), np.array(stop, dtype=float)
    quantity = np.maximum(np.floor(100_000 / entry), 1)
    net = net_pnl(
        np.array([direction_of(kind) for kind in kinds]),
        entry,
        np.array(exit_price, dtype=float),
        stop,
        quantity,
        tick_size=0.05,
    )
    values = [
        {
            "target_id": ids[k],
            "quantity": int(quantity[k]),
            "costs": round(float(net.slippage[k] + net.charges[k]), 4),
            "net_pnl_pct": round(float(net.net_pnl_pct[k]), 4),
            "net_r": round(float(net.net_r[k]), 4),
        }
        for k in range(len(ids))
    ]
    connection.execute(
        text(
            "UPDATE signal_outcomes SET quantity = :quantity, costs = :costs, "
            "net_pnl_pct = :net_pnl_pct, net_r = :net_r WHERE signal_id = :target_id"
        ),
        values,
    )
    connection.execute(
        text("UPDATE signals SET outcome_net_r = :net_r WHERE id = :target_id"), values
    )


def _v6(connection: Connection) -> None:
    """Version 6: backtest results."""
    metadata = MetaData()
    Table(
        "backtest_results",
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("run_id", String(32), nullable=False, index=True),
        Column("run_at", DateTime(timezone=True), nullable=False),
        Column("sessions", JSON, nullable=False),
        Column("setting", JSON, nullable=False),
        Column("figures", JSON, nullable=False),
    ).create(connection)


def _v7(connection: Connection) -> None:
    """Version 7: the icebergs the level tracker saw end."""
    metadata = MetaData()
    Table(
        "icebergs",
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("symbol", String(32), nullable=False),
        Column("side", String(3), nullable=False),
        Column("price", Float, nullable=False),
        Column("peak", Float, nullable=False),
        Column("refills", Integer, nullable=False),
        Column("hidden_volume", Float, nullable=False),
        Column("traded", Float, nullable=False),
        Column("native", Boolean, nullable=False),
        Column("state", String(16), nullable=False),
        Column("first_seen", DateTime(timezone=True), nullable=False),
        Column("detected_at", DateTime(timezone=True), nullable=False),
        Column("last_seen", DateTime(timezone=True), nullable=False),
        Column("trade_date", Date, nullable=False),
        Column("source", String(16), nullable=False, server_default=""),
        Column("simulated", Boolean, nullable=False, server_default="0"),
        Index("ix_icebergs_date", "trade_date"),
        Index("ux_icebergs_event", "source", "symbol", "side", "first_seen", unique=True),
    ).create(connection)


def _v8(connection: Connection) -> None:
    """Version 8: an iceberg's revealed hidden volume keeps its standard error."""
    connection.execute(text("ALTER TABLE icebergs ADD COLUMN hidden_se FLOAT DEFAULT 0 NOT NULL"))


def _v9(connection: Connection) -> None:
    """Version 9: an iceberg keeps the refills it had when first published."""
    connection.execute(
        text("ALTER TABLE icebergs ADD COLUMN entry_refills INTEGER DEFAULT 0 NOT NULL")
    )


def _v10(connection: Connection) -> None:
    """Version 10: icebergs are listed by the moment they ended (``SignalStore.icebergs``)."""
    connection.execute(text("CREATE INDEX ix_icebergs_last_seen ON icebergs (last_seen)"))


MIGRATIONS: list[Callable[[Connection], None]] = [
    _v1, _v2, _v3, _v4, _v5, _v6, _v7, _v8, _v9, _v10,
]  # fmt: skip
assert len(MIGRATIONS) == SCHEMA_VERSION

schema_version_table = Table(
    "schema_version",
    MetaData(),
    Column("version", Integer, primary_key=True),
    Column("applied_at", DateTime(timezone=True), nullable=False),
)


# -------------------------------------------------------------------------------- engine
def database_url(settings) -> str:
    """``DATABASE_URL``, or SQLite under ``DATA_DIR`` when it is empty."""
    url = settings.database_url.get_secret_value()
    if url:
        return url
    path = Path(settings.data_dir) / "signals.db"
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path}"


def redacted(url: str) -> str:
    """The URL with any password hidden (for logs and health)."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # never echo what could not be parsed: it may hold the password
        return "(a URL that SQLAlchemy cannot parse: check DATABASE_URL)"


def make_engine(url: str, busy_timeout_ms: int = 5_000) -> Engine:
    """An Engine; SQLite gets WAL, a busy timeout and foreign keys on every connection."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True)
    engine = create_engine(url, connect_args={"timeout": busy_timeout_ms / 1000})

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_connection, _record):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    return engine


def is_locked(error: BaseException) -> bool:
    """True for a transient lock/contention error worth retrying."""
    message = str(getattr(error, "orig", error)).lower()
    return any(
        phrase in message
        for phrase in (
            "database is locked",
            "database table is locked",
            "deadlock detected",
            "could not serialize",
            "lock timeout",
        )
    )


# --------------------------------------------------------------------------------- store
@dataclass(frozen=True)
class HistoryFilter:
    """The history page's filters; None means "any"."""

    symbols: Sequence[str] = ()
    signal_types: Sequence[str] = ()
    min_confidence: float = 0.0
    max_confidence: float = 10.0
    start: date | None = None
    end: date | None = None
    outcomes: Sequence[str] = ()  # target / stop / expired / void / open

    def file_name(self, stem: str = "signals") -> str:
        """A CSV name that says which filters made it (``signals-all.csv`` unfiltered)."""
        parts = []
        if self.start or self.end:
            parts.append(f"{self.start or 'start'}_to_{self.end or 'end'}")
        parts += list(self.symbols) + list(self.signal_types) + list(self.outcomes)
        if (self.min_confidence, self.max_confidence) != (0.0, 10.0):
            parts.append(f"confidence{self.min_confidence:g}-{self.max_confidence:g}")
        label = "-".join(parts) or "all"
        return f"{stem}-{''.join(c if c.isalnum() or c in '-_.' else '_' for c in label)}.csv"


@dataclass
class WriterStats:
    written_signals: int = 0
    written_outcomes: int = 0
    written_icebergs: int = 0
    dropped: int = 0
    retries: int = 0
    batches: int = 0
    last_error: str = ""
    last_write_at: float = 0.0


class SignalStore:
    """Reads and writes signals, outcomes and manual trades through one Engine."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self.dialect = self.engine.dialect.name

    # ---------------------------------------------------------------------- schema
    def migrate(self) -> int:
        """Bring the schema to :data:`SCHEMA_VERSION`; return the version found before."""
        with self.engine.begin() as connection:
            schema_version_table.create(connection, checkfirst=True)
        found = self.schema_version()
        if found > SCHEMA_VERSION:
            raise RuntimeError(
                f"the database is at schema version {found}, newer than this app's "
                f"{SCHEMA_VERSION}: upgrade the app"
            )
        for version in range(found + 1, SCHEMA_VERSION + 1):
            with self.engine.begin() as connection:
                MIGRATIONS[version - 1](connection)
                connection.execute(
                    schema_version_table.insert().values(
                        version=version, applied_at=datetime.now(UTC)
                    )
                )
            log.info("database schema upgraded to version %d", version)
        return found

    def schema_version(self) -> int:
        with self.engine.connect() as connection:
            if not inspect(connection).has_table("schema_version"):
                return 0
            found = connection.execute(select(func.max(schema_version_table.c.version)))
            return int(found.scalar() or 0)

    def integrity_check(self) -> str:
        """``ok`` or what the database's own check reports."""
        with self.engine.connect() as connection:
            if self.dialect == "sqlite":
                return str(connection.execute(text("PRAGMA integrity_check")).scalar())
            connection.execute(text("SELECT 1"))
            return "ok"

    def close(self) -> None:
        self.engine.dispose()

    # ---------------------------------------------------------------------- writes
    def write_batch(
        self,
        signals: Sequence[dict],
        outcomes: Sequence[dict],
        trades: Sequence[dict] = (),
        icebergs: Sequence[dict] = (),
    ) -> None:
        """One transaction: signals first (outcomes refer to them). A signal already stored
        (the same event: source, instrument, type and exchange time) is skipped, and so is an
        iceberg already stored, and an outcome for a signal that has one: a signal is decided
        once, and a restart that resumed a signal whose outcome the stopped run was still
        writing decides it again (the first decision stands)."""
        with self.engine.begin() as connection:
            if icebergs:
                connection.execute(
                    self._insert_new(IcebergRow, ["source", "symbol", "side", "first_seen"]),
                    list(icebergs),
                )
            if signals:
                connection.execute(self._insert_new_signals(), list(signals))
            if outcomes:
                connection.execute(self._insert_new(OutcomeRow, ["signal_id"]), list(outcomes))
                signals_table = SignalRow.__table__
                connection.execute(
                    signals_table.update()
                    .where(
                        signals_table.c.id == bindparam("target_id"),
                        signals_table.c.outcome.is_(None),
                    )
                    .values(
                        outcome=bindparam("kind"),
                        outcome_r=bindparam("r"),
                        outcome_net_r=bindparam("net"),
                    ),
                    [
                        {
                            "target_id": row["signal_id"],
                            "kind": row["outcome"],
                            "r": row["r_multiple"],
                            "net": row.get("net_r"),
                        }
                        for row in outcomes
                    ],
                )
            if trades:
                connection.execute(ManualTradeRow.__table__.insert(), list(trades))

    def _insert_new_signals(self):
        """An INSERT of signals that leaves an event already stored alone."""
        return self._insert_new(
            SignalRow, ["source", "instrument_token", "signal_type", "signal_time"]
        )

    def _insert_new(self, model, unique: list[str]):
        """An INSERT into ``model``'s table that leaves a row whose ``unique`` columns are
        already stored alone."""
        table = model.__table__
        if self.dialect in ("sqlite", "postgresql"):
            module = sqlite if self.dialect == "sqlite" else postgresql
            return module.insert(table).on_conflict_do_nothing(index_elements=unique)
        return table.insert()

    def add_manual_trade(
        self,
        signal_id: str,
        entry_price: float,
        exit_price: float,
        quantity: int,
        notes: str = "",
        entry_time: datetime | None = None,
        exit_time: datetime | None = None,
    ) -> dict:
        """Record a real trade against a stored signal; ValueError naming a bad field.

        The form checks more (:mod:`trade_entry`); these are the rules the store keeps
        whoever calls it.
        """
        if isinstance(quantity, bool) or int(quantity) != quantity or quantity <= 0:
            raise ValueError("quantity must be a positive whole number")
        if not (entry_price > 0 and exit_price > 0):
            raise ValueError("entry and exit prices must be positive")
        if entry_time and exit_time and exit_time <= entry_time:
            raise ValueError("the exit time must be after the entry time")
        with self.engine.connect() as connection:
            signal = connection.execute(
                select(
                    SignalRow.signal_type,
                    SignalRow.entry,
                    SignalRow.stop_loss,
                    SignalRow.signal_time,
                ).where(SignalRow.id == signal_id)
            ).first()
        if signal is None:
            raise ValueError(f"no stored signal with id {signal_id!r}")
        signal_minute = as_utc(signal.signal_time).replace(second=0, microsecond=0)
        if entry_time and as_utc(entry_time) < signal_minute:
            raise ValueError("the entry time is before the signal")
        direction = direction_of(signal.signal_type)
        risk = abs(signal.entry - signal.stop_loss)
        row = {
            "signal_id": signal_id,
            "entry_price": float(entry_price),
            "exit_price": float(exit_price),
            "quantity": int(quantity),
            "pnl": round(direction * (exit_price - entry_price) * quantity, 2),
            "pnl_pct": round(direction * (exit_price - entry_price) / entry_price * 100, 4),
            "r_multiple": round(direction * (exit_price - entry_price) / risk, 4) if risk else None,
            "notes": notes.strip()[:2000],
            "recorded_at": datetime.now(UTC),
            "entry_time": as_utc(entry_time) if entry_time else None,
            "exit_time": as_utc(exit_time) if exit_time else None,
        }
        self.write_batch((), (), [row])
        return row

    # ----------------------------------------------------------------------- reads
    def _frame(self, query, times: Sequence[str] = (), columns: Sequence[str] = ()):
        """The query's rows as a DataFrame (``columns`` when empty), ``times`` in IST."""
        with self.engine.connect() as connection:
            frame = pd.DataFrame(connection.execute(query).mappings().all())
        if frame.empty:
            return pd.DataFrame(columns=list(columns))
        for name in times:
            frame[name] = to_ist(frame[name])
        return frame

    def open_signals(self, since: datetime) -> list[dict]:
        """Stored signals after ``since`` that have no outcome yet (to resume tracking)."""
        query = (
            select(SignalRow)
            .where(SignalRow.outcome.is_(None), SignalRow.signal_time >= as_utc(since))
            .order_by(SignalRow.signal_time)
        )
        with self.engine.connect() as connection:
            return [dict(row._mapping) for row in connection.execute(query)]

    def signal_events(self, source: str, since: datetime) -> list[tuple[str, int, str, int]]:
        """``(symbol, instrument token, signal type, exchange epoch seconds)`` of every signal
        ``source`` stored since ``since``, oldest first: what a restart must not issue again,
        and what counts against the day's cap and the cool-downs."""
        query = (
            select(
                SignalRow.symbol,
                SignalRow.instrument_token,
                SignalRow.signal_type,
                SignalRow.signal_time,
            )
            .where(SignalRow.source == source, SignalRow.signal_time >= as_utc(since))
            .order_by(SignalRow.signal_time)
        )
        with self.engine.connect() as connection:
            return [
                (symbol, int(token), str(kind), int(as_utc(moment).timestamp()))
                for symbol, token, kind, moment in connection.execute(query)
            ]

    def _filtered(self, query, filters: HistoryFilter, by_day: bool = False):
        """``query`` with the filters applied. A date range is given twice, as IST days and
        as exchange-time bounds (the same rows), so the planner can use either the
        type-and-day index or the newest-first time index; ``by_day`` leaves out the time
        bounds for the per-day aggregates and their covering index."""
        if filters.symbols:
            query = query.where(SignalRow.symbol.in_(list(filters.symbols)))
        if filters.signal_types:
            query = query.where(SignalRow.signal_type.in_(list(filters.signal_types)))
        if filters.min_confidence > 0:
            query = query.where(SignalRow.confidence >= filters.min_confidence)
        if filters.max_confidence < 10:
            query = query.where(SignalRow.confidence <= filters.max_confidence)
        if filters.start is not None:
            query = query.where(SignalRow.trade_date >= filters.start)
        if filters.end is not None:
            query = query.where(SignalRow.trade_date <= filters.end)
        if not by_day and filters.start is not None:  # the same bound, for the time index
            query = query.where(SignalRow.signal_time >= ist_midnight(filters.start))
        if not by_day and filters.end is not None:
            query = query.where(
                SignalRow.signal_time < ist_midnight(filters.end + timedelta(days=1))
            )
        if filters.outcomes:
            wanted = [o for o in filters.outcomes if o != "open"]
            condition = SignalRow.outcome.in_(wanted)
            if "open" in filters.outcomes:
                condition = condition | SignalRow.outcome.is_(None)
            query = query.where(condition)
        return query

    HISTORY_COLUMNS = (
        SignalRow.id,
        SignalRow.signal_time,
        SignalRow.symbol,
        SignalRow.signal_type,
        SignalRow.confidence,
        SignalRow.rank_points,
        SignalRow.entry,
        SignalRow.target,
        SignalRow.stop_loss,
        SignalRow.quantity,
        SignalRow.institutional_ratio,
        SignalRow.order_imbalance,
        SignalRow.volume_surge,
        SignalRow.pcr,
        SignalRow.pcr_bias,
        SignalRow.source,
        SignalRow.simulated,
        OutcomeRow.outcome,
        OutcomeRow.exit_price,
        OutcomeRow.pnl_pct,
        OutcomeRow.r_multiple,
        OutcomeRow.net_pnl_pct,
        OutcomeRow.net_r,
        OutcomeRow.mfe_pct,
        OutcomeRow.mae_pct,
        OutcomeRow.minutes_to_outcome,
    )

    def _history_query(self, filters: HistoryFilter):
        return self._filtered(
            select(*self.HISTORY_COLUMNS).outerjoin(
                OutcomeRow, OutcomeRow.signal_id == SignalRow.id
            ),
            filters,
        )

    def _history_frame(self, query) -> pd.DataFrame:
        columns = [column.key for column in self.HISTORY_COLUMNS]
        frame = self._frame(query, times=("signal_time",), columns=columns)
        frame["outcome"] = frame["outcome"].fillna("open")
        return frame

    def history(self, filters: HistoryFilter, limit: int | None = MAX_QUERY_ROWS) -> pd.DataFrame:
        """Filtered signals with their outcomes, newest first (``limit`` None = all)."""
        query = self._history_query(filters).order_by(SignalRow.signal_time.desc())
        if limit is not None:
            query = query.limit(limit)
        return self._history_frame(query)

    def history_page(
        self, filters: HistoryFilter, limit: int, before: tuple[datetime, str] | None = None
    ) -> pd.DataFrame:
        """Up to ``limit`` filtered signals with their outcomes, newest first, strictly older
        than ``before`` (the signal time and id of the last row of the previous page): a
        keyset page, so signals stored meanwhile never shift or repeat what follows."""
        query = self._history_query(filters)
        if before is not None:
            moment, last_id = as_utc(before[0]), before[1]
            query = query.where(
                (SignalRow.signal_time < moment)
                | ((SignalRow.signal_time == moment) & (SignalRow.id < last_id))
            )
        order = (SignalRow.signal_time.desc(), SignalRow.id.desc())  # ties: one order
        return self._history_frame(query.order_by(*order).limit(limit))

    def history_csv(self, filters: HistoryFilter) -> bytes:
        """Every filtered row (no display limit) as CSV."""
        frame = self.history(filters, limit=None)
        return frame.to_csv(index=False, float_format="%.4f").encode()

    def daily_summary(self, filters: HistoryFilter) -> pd.DataFrame:
        """Per IST day and signal type: signals, decided outcomes, wins and summed R (SQL)."""
        query = self._filtered(
            select(
                SignalRow.trade_date,
                SignalRow.signal_type,
                func.count().label("signals"),
                func.count(SignalRow.outcome_r).label("decided"),  # a void outcome has no R
                func.sum((SignalRow.outcome_r > 0).cast(Integer)).label("wins"),
                func.coalesce(func.sum(SignalRow.outcome_r), 0.0).label("r_total"),
                func.sum((SignalRow.outcome_net_r > 0).cast(Integer)).label("net_wins"),
                func.coalesce(func.sum(SignalRow.outcome_net_r), 0.0).label("net_r_total"),
            ),
            filters,
            by_day=True,
        ).group_by(SignalRow.trade_date, SignalRow.signal_type)
        frame = self._frame(
            query,
            columns=(
                "trade_date",
                "signal_type",
                "signals",
                "decided",
                "wins",
                "r_total",
                "net_wins",
                "net_r_total",
            ),
        )
        if frame.empty:
            return frame
        frame["wins"] = frame["wins"].fillna(0).astype(int)
        frame["net_wins"] = frame["net_wins"].fillna(0).astype(int)
        frame["trade_date"] = pd.to_datetime(frame["trade_date"])
        return frame.sort_values("trade_date")

    def count(self, filters: HistoryFilter) -> int:
        query = self._filtered(select(func.count()).select_from(SignalRow), filters)
        with self.engine.connect() as connection:
            return int(connection.execute(query).scalar() or 0)

    def symbols(self) -> list[str]:
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(SignalRow.symbol).distinct().order_by(SignalRow.symbol)
            )
            return [row[0] for row in rows]

    def outcomes_frame(self) -> pd.DataFrame:
        """Decided automatic outcomes with their signals' type, confidence and time."""
        query = (
            select(
                SignalRow.id,
                SignalRow.signal_time,
                SignalRow.symbol,
                SignalRow.signal_type,
                SignalRow.confidence,
                SignalRow.simulated,
                OutcomeRow.outcome,
                OutcomeRow.pnl_pct,
                OutcomeRow.r_multiple,
                OutcomeRow.net_pnl_pct,
                OutcomeRow.net_r,
                OutcomeRow.costs,
                OutcomeRow.quantity,
                OutcomeRow.closed_at,
            )
            .join(OutcomeRow, OutcomeRow.signal_id == SignalRow.id)
            .where(OutcomeRow.outcome != VOID)
            .order_by(OutcomeRow.closed_at)
        )
        return self._frame(query, times=("signal_time", "closed_at"))

    def manual_trades(self) -> pd.DataFrame:
        query = (
            select(
                ManualTradeRow.id,
                ManualTradeRow.recorded_at,
                SignalRow.symbol,
                SignalRow.signal_type,
                SignalRow.confidence,
                ManualTradeRow.entry_price,
                ManualTradeRow.exit_price,
                ManualTradeRow.quantity,
                ManualTradeRow.pnl,
                ManualTradeRow.pnl_pct,
                ManualTradeRow.r_multiple,
                ManualTradeRow.entry_time,
                ManualTradeRow.exit_time,
                ManualTradeRow.notes,
            )
            .join(SignalRow, SignalRow.id == ManualTradeRow.signal_id)
            .order_by(ManualTradeRow.recorded_at)
        )
        frame = self._frame(query, times=("recorded_at", "entry_time", "exit_time"))
        if not frame.empty:
            frame.insert(
                3,
                "side",
                ["long" if direction_of(t) > 0 else "short" for t in frame["signal_type"]],
            )
        return frame

    def save_backtest(self, sessions: Sequence[str], rows: Sequence[dict]) -> str:
        """Store one backtest run (``backtest.run_grid``'s rows); its id."""
        run_id, run_at = uuid.uuid4().hex, datetime.now(UTC)
        values = [
            {
                "run_id": run_id,
                "run_at": run_at,
                "sessions": list(sessions),
                "setting": dict(row["setting"]),
                "figures": json.loads(
                    json.dumps({k: v for k, v in row.items() if k != "setting"}, default=float)
                ),
            }
            for row in rows
        ]
        with self.engine.begin() as connection:
            connection.execute(BacktestRow.__table__.insert(), values)
        return run_id

    def backtest_runs(self) -> pd.DataFrame:
        """Stored backtest runs, newest first: id, when, sessions, settings."""
        query = (
            select(
                BacktestRow.run_id,
                func.max(BacktestRow.run_at).label("run_at"),
                func.count().label("settings"),
            )
            .group_by(BacktestRow.run_id)
            .order_by(func.max(BacktestRow.run_at).desc())
        )
        return self._frame(query, times=("run_at",), columns=("run_id", "run_at", "settings"))

    def backtest_results(self, run_id: str) -> tuple[list[str], list[dict]]:
        """One run's sessions and its rows (as ``backtest.run_grid`` returned them)."""
        query = (
            select(BacktestRow.sessions, BacktestRow.setting, BacktestRow.figures)
            .where(BacktestRow.run_id == run_id)
            .order_by(BacktestRow.id)
        )
        with self.engine.connect() as connection:
            rows = connection.execute(query).all()
        sessions = list(rows[0][0]) if rows else []
        return sessions, [{"setting": setting, **figures} for _, setting, figures in rows]

    def icebergs(self, since: date, limit: int = MAX_QUERY_ROWS) -> pd.DataFrame:
        """Icebergs that ended on or after the IST day ``since``, newest first."""
        columns = [c for c in IcebergRow.__table__.columns if c.key not in ("id", "trade_date")]
        query = (
            select(*columns)
            .where(IcebergRow.last_seen >= ist_midnight(since))
            .order_by(IcebergRow.last_seen.desc(), IcebergRow.id.desc())
            .limit(limit)
        )
        return self._frame(
            query,
            times=("first_seen", "detected_at", "last_seen"),
            columns=[c.key for c in columns],
        )

    def iceberg_lifetimes(self, since: date) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(refills, completed, entries)`` of the icebergs stored since ``since``: what the
        hidden-size estimate learns from (``engine.hidden_size.SizeModel.learn``), refills
        counted as the displays their revealed hidden volume amounts to, entries as the
        refills each had when first published."""
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(
                    IcebergRow.refills,
                    IcebergRow.peak,
                    IcebergRow.hidden_volume,
                    IcebergRow.hidden_se,
                    IcebergRow.state,
                    IcebergRow.entry_refills,
                ).where(IcebergRow.trade_date >= since)
            ).all()
        refills = np.array([revealed_refills(row, margin=0.0) for row in rows], dtype=np.int64)
        return (
            refills,
            np.array([row.state == "completed" for row in rows], dtype=bool),
            np.array([row.entry_refills for row in rows], dtype=np.int64),
        )

    def recent_signals(self, limit: int = 200) -> pd.DataFrame:
        """The latest signals (for the manual-trade form's picker)."""
        query = (
            select(
                SignalRow.id,
                SignalRow.signal_time,
                SignalRow.symbol,
                SignalRow.signal_type,
                SignalRow.entry,
                SignalRow.stop_loss,
                SignalRow.target,
            )
            .order_by(SignalRow.signal_time.desc())
            .limit(limit)
        )
        return self._frame(query, times=("signal_time",))


# ----------------------------------------------------------------------- row conversion
def _finite(value: float) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


def signal_row(signal, signal_id: str, source: str = "", simulated: bool = False) -> dict:
    """A ``Signal`` as a ``signals`` row (NaN becomes NULL)."""
    timestamp = signal.timestamp or datetime.now(IST)
    return {
        "id": signal_id,
        "symbol": signal.symbol,
        "instrument_token": int(signal.instrument_token),
        "signal_type": str(signal.signal_type),
        "confidence": float(signal.confidence),
        "rank_points": float(signal.rank_points),
        "entry": float(signal.entry),
        "target": float(signal.target),
        "stop_loss": float(signal.stop_loss),
        "institutional_ratio": _finite(signal.institutional_ratio),
        "order_imbalance": _finite(signal.order_imbalance),
        "volume_surge": _finite(signal.volume_surge),
        "pcr": _finite(signal.pcr),
        "pcr_bias": signal.pcr_bias,
        "factors": json.loads(json.dumps(signal.factors, default=str)),
        "signal_time": as_utc(timestamp),
        "trade_date": timestamp.astimezone(IST).date(),
        "source": source,
        "simulated": bool(simulated),
        "quantity": int(signal.quantity) or None,
        "plan_note": signal.plan_note,
    }


def signal_from_row(row: dict):
    """An ``engine.Signal`` back from a stored row (to resume tracking after a restart)."""

    def number(value):
        return float("nan") if value is None else float(value)

    moment = row["signal_time"]
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
    return Signal(
        symbol=row["symbol"],
        instrument_token=int(row["instrument_token"]),
        signal_type=SignalType(row["signal_type"]),
        confidence=float(row["confidence"]),
        rank_points=float(row["rank_points"]),
        entry=float(row["entry"]),
        target=float(row["target"]),
        stop_loss=float(row["stop_loss"]),
        institutional_ratio=number(row["institutional_ratio"]),
        order_imbalance=number(row["order_imbalance"]),
        volume_surge=number(row["volume_surge"]),
        pcr=number(row["pcr"]),
        pcr_bias=row["pcr_bias"],
        factors=dict(row["factors"] or {}),
        timestamp=moment.astimezone(IST),
        quantity=int(row.get("quantity") or 0),
        plan_note=row.get("plan_note") or "",
    )


def iceberg_row(iceberg, source: str = "", simulated: bool = False) -> dict:
    """An ended ``engine.levels.Iceberg`` as an ``icebergs`` row."""

    def moment(epoch: int) -> datetime:
        return datetime.fromtimestamp(epoch, UTC)

    return {
        "symbol": iceberg.symbol,
        "side": iceberg.side,
        "price": float(iceberg.price),
        "peak": float(iceberg.peak),
        "refills": int(iceberg.refills),
        "hidden_volume": float(iceberg.hidden_volume),
        "hidden_se": float(iceberg.hidden_se),
        "entry_refills": int(iceberg.entry_refills),
        "traded": float(iceberg.traded),
        "native": bool(iceberg.native),
        "state": iceberg.state,
        "first_seen": moment(iceberg.first_seen),
        "detected_at": moment(iceberg.detected_at),
        "last_seen": moment(iceberg.last_seen),
        "trade_date": moment(iceberg.first_seen).astimezone(IST).date(),
        "source": source,
        "simulated": simulated,
    }


def outcome_row(outcome) -> dict:
    """An ``engine.outcomes.Outcome`` as a ``signal_outcomes`` row."""
    return {
        "signal_id": outcome.signal_id,
        "outcome": outcome.outcome,
        "exit_price": outcome.exit_price,
        "pnl_pct": outcome.pnl_pct,
        "r_multiple": outcome.r_multiple,
        "mfe_pct": outcome.mfe_pct,
        "mae_pct": outcome.mae_pct,
        "minutes_to_outcome": outcome.minutes_to_outcome,
        "closed_at": as_utc(outcome.closed_at),
        "quantity": outcome.quantity or None,
        "costs": _finite(outcome.costs),
        "net_pnl_pct": _finite(outcome.net_pnl_pct),
        "net_r": _finite(outcome.net_r),
    }


def ist_midnight(day: date) -> datetime:
    """00:00 IST of ``day`` in UTC."""
    return datetime(day.year, day.month, day.day, tzinfo=IST).astimezone(UTC)


def as_utc(moment: datetime) -> datetime:
    """Times are stored in UTC (SQLite keeps no zone; reads treat naive times as UTC)."""
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def to_ist(values) -> pd.Series:
    """Stored times (naive UTC from SQLite, aware from PostgreSQL) as IST."""
    return pd.to_datetime(values, utc=True).dt.tz_convert(IST_ZONE)


def new_signal_id() -> str:
    return uuid.uuid4().hex


# -------------------------------------------------------------------------------- writer
@dataclass
class _Pending:
    signals: list[dict] = field(default_factory=list)
    outcomes: list[dict] = field(default_factory=list)
    icebergs: list[dict] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.signals) + len(self.outcomes) + len(self.icebergs)


class SignalWriter:
    """Batches signal and outcome rows onto the store from one background thread.

    ``submit_*`` never block: a full queue counts a drop (shown in health). A batch that
    fails on a lock is retried with exponential back-off and jitter until it is written or
    the writer is closed; ``close()`` writes what is queued first.
    """

    def __init__(
        self,
        store: SignalStore,
        queue_size: int = 10_000,
        batch_size: int = 500,
        max_wait: float = 0.25,
        max_backoff: float = 2.0,
    ) -> None:
        self.store = store
        self.batch_size = batch_size
        self.max_wait = max_wait
        self.max_backoff = max_backoff
        self.stats = WriterStats()
        self._queue: queue.Queue[tuple[str, dict]] = queue.Queue(queue_size)
        self._stop = threading.Event()
        self._idle = threading.Event()
        self._idle.set()
        self._thread = threading.Thread(target=self._run, name="db-writer", daemon=True)
        self._thread.start()

    def submit_signal(self, row: dict) -> bool:
        return self._submit("signal", row)

    def submit_outcome(self, row: dict) -> bool:
        return self._submit("outcome", row)

    def submit_iceberg(self, row: dict) -> bool:
        return self._submit("iceberg", row)

    def _submit(self, kind: str, row: dict) -> bool:
        if self._stop.is_set():
            self.stats.dropped += 1
            return False
        try:
            self._queue.put_nowait((kind, row))
        except queue.Full:
            self.stats.dropped += 1
            log.warning("database queue full: a %s row was dropped", kind)
            return False
        self._idle.clear()
        return True

    def _collect(self, pending: _Pending) -> None:
        deadline = time.monotonic() + self.max_wait
        while len(pending) < self.batch_size:
            timeout = deadline - time.monotonic()
            try:
                kind, row = self._queue.get(block=timeout > 0, timeout=max(timeout, 0.001))
            except queue.Empty:
                return
            getattr(pending, f"{kind}s").append(row)

    def _run(self) -> None:
        pending = _Pending()
        attempt = 0
        while True:
            if not pending:
                self._collect(pending)
            if not pending:
                if self._queue.empty():
                    self._idle.set()
                if self._stop.is_set() and self._queue.empty():
                    return
                continue
            try:
                self.store.write_batch(pending.signals, pending.outcomes, icebergs=pending.icebergs)
            except OperationalError as error:
                if not is_locked(error) and attempt >= 5:
                    self._give_up(pending, error)
                    pending, attempt = _Pending(), 0
                    continue
                attempt += 1
                self.stats.retries += 1
                self.stats.last_error = f"{type(error).__name__}: {_short(error)}"
                delay = min(self.max_backoff, 0.05 * 2**attempt) * (0.5 + random.random() / 2)
                log.warning(
                    "database write failed (attempt %d), retrying: %s",
                    attempt,
                    self.stats.last_error,
                )
                if self._stop.wait(delay) and attempt > 50:  # closing, and still locked
                    self._give_up(pending, error)
                    pending, attempt = _Pending(), 0
                continue
            except IntegrityError:  # a bad row: write the others one by one, drop only it
                self._write_one_by_one(pending)
                pending, attempt = _Pending(), 0
                continue
            except Exception as error:  # keep the writer alive and say what was lost
                self._give_up(pending, error)
                pending, attempt = _Pending(), 0
                continue
            self.stats.written_signals += len(pending.signals)
            self.stats.written_outcomes += len(pending.outcomes)
            self.stats.written_icebergs += len(pending.icebergs)
            self.stats.batches += 1
            self.stats.last_write_at = time.time()
            if attempt:
                self.stats.last_error = ""
            pending, attempt = _Pending(), 0

    def _write_one_by_one(self, pending: _Pending) -> None:
        for kind in ("signal", "outcome", "iceberg"):
            for row in getattr(pending, f"{kind}s"):
                try:
                    self.store.write_batch(
                        [row] if kind == "signal" else [],
                        [row] if kind == "outcome" else [],
                        icebergs=[row] if kind == "iceberg" else [],
                    )
                    setattr(
                        self.stats,
                        f"written_{kind}s",
                        getattr(self.stats, f"written_{kind}s") + 1,
                    )
                except Exception as error:
                    self._give_up(_Pending(), error, rows=1)
                    self.stats.last_error = (
                        f"{kind} {row.get('id') or row.get('signal_id')} not stored: "
                        f"{self.stats.last_error}"
                    )
        self.stats.batches += 1
        self.stats.last_write_at = time.time()

    def _give_up(self, pending: _Pending, error: BaseException, rows: int | None = None) -> None:
        lost = len(pending) if rows is None else rows
        self.stats.dropped += lost
        self.stats.last_error = f"{type(error).__name__}: {_short(error)}"
        log.error("database write of %d rows failed for good: %s", lost, self.stats.last_error)

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until everything submitted so far is written (or ``timeout`` passes)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._idle.wait(0.05) and self._queue.empty():
                return True
        return False

    def close(self, timeout: float = 10.0) -> None:
        """Write what is queued, then stop the thread."""
        self.flush(timeout)
        self._stop.set()
        self._thread.join(timeout)

    def status(self) -> dict[str, Any]:
        stats = self.stats
        return {
            "queued": self._queue.qsize(),
            "written_signals": stats.written_signals,
            "written_outcomes": stats.written_outcomes,
            "written_icebergs": stats.written_icebergs,
            "dropped": stats.dropped,
            "retries": stats.retries,
            "batches": stats.batches,
            "last_error": stats.last_error,
        }


def _short(error: BaseException) -> str:
    """The first line of a driver error, without the SQL and parameters (no row data)."""
    return str(getattr(error, "orig", error)).splitlines()[0][:200]
