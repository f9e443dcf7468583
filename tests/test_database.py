"""The signal store on SQLite, and on PostgreSQL when TEST_DATABASE_URL is set (make test)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import MetaData, inspect, text
from sqlalchemy.exc import IntegrityError

import database
from database import (
    SCHEMA_VERSION,
    Base,
    HistoryFilter,
    SignalStore,
    SignalWriter,
    redacted,
)
from tests.db_rows import outcome_dict, signal_dict
from tests.waiting import wait_for

BACKENDS = ["sqlite"] + (["postgresql"] if os.environ.get("TEST_DATABASE_URL") else [])
T0 = datetime(2026, 11, 23, 4, 0, tzinfo=UTC)  # 09:30 IST


def wipe(store: SignalStore) -> None:
    metadata = MetaData()
    metadata.reflect(store.engine)
    metadata.drop_all(store.engine)


@pytest.fixture(params=BACKENDS)
def store(request, tmp_path):
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'signals.db'}"
    else:
        url = os.environ["TEST_DATABASE_URL"]
    store = SignalStore(url)
    wipe(store)
    store.migrate()
    yield store
    store.close()


def test_an_empty_database_migrates_to_exactly_the_models(store):
    assert store.schema_version() == SCHEMA_VERSION
    inspector = inspect(store.engine)
    for table in Base.metadata.sorted_tables:
        stored = {column["name"] for column in inspector.get_columns(table.name)}
        assert stored == {column.name for column in table.columns}, table.name
        indexes = {index["name"] for index in inspector.get_indexes(table.name)}
        assert indexes >= {index.name for index in table.indexes}, table.name
    assert store.migrate() == SCHEMA_VERSION  # idempotent


def at_version(connection, version: int) -> None:
    """An empty database as the app left it at schema ``version``."""
    database.schema_version_table.create(connection)
    for number, migration in enumerate(database.MIGRATIONS[:version], start=1):
        migration(connection)
        connection.execute(
            database.schema_version_table.insert().values(version=number, applied_at=T0)
        )


def test_a_version_1_database_keeps_its_rows_when_upgraded(store):
    wipe(store)
    with store.engine.begin() as connection:
        at_version(connection, 1)
        row = signal_dict("old1", T0)
        del row["source"], row["simulated"]
        connection.execute(database.SignalRow.__table__.insert().values(**row))
        connection.execute(
            database.OutcomeRow.__table__.insert().values(
                **outcome_dict("old1", T0, 2.0, "target", net=False)
            )
        )
    assert store.migrate() == 1
    assert store.schema_version() == SCHEMA_VERSION
    history = store.history(HistoryFilter())
    assert history["id"].tolist() == ["old1"]
    assert history["source"].tolist() == [""] and not history["simulated"].iloc[0]
    assert inspect(store.engine).has_table("manual_trades")
    assert history["outcome"].tolist() == ["target"]  # version 3 copied the outcome across
    assert store.count(HistoryFilter(outcomes=["target"])) == 1
    assert store.daily_summary(HistoryFilter())["r_total"].sum() == 2.0


def test_an_iceberg_that_ends_after_ist_midnight_is_listed_on_the_day_it_ended(store):
    # The simulator runs round the clock: an iceberg first seen at 23:58 IST ended at 00:03
    # IST the next day, and one ended at 23:59 IST, the day before.
    from engine.levels import Iceberg

    midnight = int(database.ist_midnight(date(2026, 11, 24)).timestamp())

    def iceberg(symbol: str, first_seen: int, last_seen: int) -> Iceberg:
        return Iceberg(
            symbol, "ASK", 100.0, 500.0, 3, 1_000.0, 2_000.0, first_seen, first_seen + 60,
            last_seen, True, "completed",
        )  # fmt: skip

    writer = SignalWriter(store)
    for item in (
        iceberg("TCS", midnight - 120, midnight + 180),
        iceberg("INFY", midnight - 600, midnight - 60),
    ):
        writer.submit_iceberg(database.iceberg_row(item, "simulator", True))
    writer.close()
    assert list(store.icebergs(date(2026, 11, 24))["symbol"]) == ["TCS"]
    assert list(store.icebergs(date(2026, 11, 23))["symbol"]) == ["TCS", "INFY"]  # newest first
    assert store.icebergs(date(2026, 11, 25)).empty


def test_a_version_7_iceberg_keeps_its_row_with_no_standard_error_when_upgraded(store):
    from engine.levels import Iceberg

    wipe(store)
    start = int(T0.timestamp())
    old = Iceberg(
        "TCS", "ASK", 100.0, 500.0, 4, 2_000.0, 5_000.0, start, start, start, True, "completed"
    )
    row = database.iceberg_row(old, "simulator", True)
    del row["hidden_se"], row["entry_refills"]
    with store.engine.begin() as connection:
        at_version(connection, 7)
        connection.execute(database.IcebergRow.__table__.insert().values(**row))
    assert store.migrate() == 7
    stored = store.icebergs(T0.date())
    assert stored["symbol"].tolist() == ["TCS"] and stored["hidden_se"].tolist() == [0.0]
    # Watched from its first display, as every iceberg was before entries were kept.
    assert store.iceberg_lifetimes(T0.date())[2].tolist() == [0]


def test_version_4_keeps_one_row_per_signal_event_and_voids_outcomes_before_their_signal(store):
    wipe(store)
    with store.engine.begin() as connection:
        at_version(connection, 3)
        signals = database.SignalRow.__table__
        # The same event stored three times by restarts; a trade was recorded on the third.
        for signal_id in ("dup-a", "dup-b", "dup-c"):
            connection.execute(signals.insert().values(**signal_dict(signal_id, T0)))
        connection.execute(signals.insert().values(**signal_dict("early", T0 + timedelta(hours=1))))
        outcomes = database.OutcomeRow.__table__
        connection.execute(
            outcomes.insert().values(**outcome_dict("dup-a", T0, 2.0, "target", net=False))
        )
        before = outcome_dict("early", T0 + timedelta(minutes=40), 2.0, "target", net=False)
        before["minutes_to_outcome"] = -20.0  # "hit its target" before the signal existed
        connection.execute(outcomes.insert().values(**before))
        connection.execute(
            text(
                "UPDATE signals SET outcome = 'target', outcome_r = 2.0 "
                "WHERE id IN ('dup-a', 'early')"
            )
        )
        connection.execute(
            text(
                "INSERT INTO manual_trades (signal_id, entry_price, exit_price, quantity, pnl, "
                "pnl_pct, r_multiple, notes, recorded_at) "
                "VALUES ('dup-c', 100, 101, 5, 5, 1, 1, '', :at)"
            ),
            {"at": T0},
        )
    assert store.migrate() == 3
    history = store.history(HistoryFilter()).set_index("id")
    assert sorted(history.index) == ["dup-c", "early"]  # the one the trade refers to is kept
    assert store.manual_trades()["symbol"].tolist() == ["RELIANCE"]
    assert history.loc["early", "outcome"] == "void"
    assert store.outcomes_frame().empty  # a void outcome is no figure
    with pytest.raises(IntegrityError):  # the schema refuses an outcome before its signal
        store.write_batch(
            [], [{**outcome_dict("dup-c", T0, 1.0, "target"), "minutes_to_outcome": -1}]
        )
    store.write_batch([signal_dict("again", T0)], [])  # the same event once more: skipped
    assert store.count(HistoryFilter()) == 2


def test_version_5_costs_the_outcomes_stored_before_it(store):
    from engine.charges import net_pnl

    wipe(store)
    with store.engine.begin() as connection:
        at_version(connection, 4)
        connection.execute(text("DELETE FROM signals"))  # version 4 had nothing to keep
        connection.execute(
            database.SignalRow.__table__.insert().values(**signal_dict("old", T0, entry=100.0))
        )
        connection.execute(
            database.OutcomeRow.__table__.insert().values(
                **outcome_dict("old", T0, 2.0, "target", net=False)
            )
        )
        connection.execute(text("UPDATE signals SET outcome = 'target', outcome_r = 2.0"))
    assert store.migrate() == 4
    [row] = store.outcomes_frame().to_dict("records")
    # 1,000 shares (what 1,00,000 rupees buy at 100), one tick of slippage a fill.
    expected = net_pnl(1, 100.0, 102.0, 99.0, 1_000, tick_size=0.05)
    assert row["quantity"] == 1_000
    assert row["net_r"] == pytest.approx(float(expected.net_r), abs=1e-4)
    assert row["net_r"] < row["r_multiple"] == 2.0
    daily = store.daily_summary(HistoryFilter())
    assert daily["net_r_total"].sum() == pytest.approx(float(expected.net_r), abs=1e-4)


def test_writer_batches_signals_and_outcomes_and_filters_find_them(store):
    writer = SignalWriter(store, batch_size=7, max_wait=0.02)
    kinds = ["ACCUMULATION", "DISTRIBUTION", "BUY", "SELL"]
    for n in range(40):
        when = T0 + timedelta(days=n // 20, minutes=n)
        writer.submit_signal(
            signal_dict(
                f"s{n}",
                when,
                symbol="TCS" if n % 2 else "INFY",
                signal_type=kinds[n % 4],
                confidence=7 + (n % 4),
            )
        )
        if n < 30:
            writer.submit_outcome(
                outcome_dict(f"s{n}", when, 2.0 if n % 3 else -1.0, "target" if n % 3 else "stop")
            )
    assert writer.flush(10)
    writer.close()
    assert writer.status()["written_signals"] == 40 and writer.status()["dropped"] == 0
    assert writer.status()["batches"] >= 70 / 7

    everything = store.history(HistoryFilter())
    assert len(everything) == 40
    assert everything["signal_time"].iloc[0] > everything["signal_time"].iloc[-1]  # newest first
    assert str(everything["signal_time"].dt.tz) == "Asia/Kolkata"
    assert everything["signal_time"].min().hour == 9  # 04:00 UTC shown as 09:30 IST
    tcs_buys = store.history(HistoryFilter(symbols=["TCS"], signal_types=["SELL", "DISTRIBUTION"]))
    assert set(tcs_buys["symbol"]) == {"TCS"} and set(tcs_buys["signal_type"]) == {
        "SELL",
        "DISTRIBUTION",
    }
    assert len(tcs_buys) == 20
    high = store.history(HistoryFilter(min_confidence=9, max_confidence=10))
    assert len(high) == 20 and high["confidence"].min() >= 9
    open_ = store.history(HistoryFilter(outcomes=["open"]))
    assert sorted(open_["id"]) == sorted(f"s{n}" for n in range(30, 40))
    stops_or_open = store.count(HistoryFilter(outcomes=["stop", "open"]))
    assert stops_or_open == 10 + 10
    day_two = store.history(HistoryFilter(start=date(2026, 11, 24), end=date(2026, 11, 24)))
    assert len(day_two) == 20
    csv = store.history_csv(HistoryFilter(symbols=["INFY"])).decode()
    assert len(csv.strip().splitlines()) == 1 + 20

    summary = store.daily_summary(HistoryFilter())
    assert summary["signals"].sum() == 40 and summary["decided"].sum() == 30
    assert summary["wins"].sum() == 20
    assert summary["r_total"].sum() == pytest.approx(20 * 2.0 - 10 * 1.0)
    resumed = store.open_signals(since=T0)
    assert [row["id"] for row in resumed] == [f"s{n}" for n in range(30, 40)]


def test_manual_trades_are_kept_apart_and_checked(store):
    store.write_batch([signal_dict("m1", T0, signal_type="SELL", entry=200.0)], [])
    row = store.add_manual_trade("m1", entry_price=200.0, exit_price=198.0, quantity=10)
    assert row["pnl"] == 20.0 and row["pnl_pct"] == 1.0 and row["r_multiple"] == 2.0
    with pytest.raises(ValueError, match="no stored signal"):
        store.add_manual_trade("nope", 1.0, 2.0, 1)
    with pytest.raises(ValueError, match="quantity"):
        store.add_manual_trade("m1", 1.0, 2.0, 0)
    trades = store.manual_trades()
    assert trades["symbol"].tolist() == ["RELIANCE"]
    assert store.outcomes_frame().empty  # a manual trade is not an automatic outcome


def test_a_locked_sqlite_database_is_retried_without_losing_rows(tmp_path):
    url = f"sqlite:///{tmp_path / 'locked.db'}"
    store = SignalStore(url)
    store.migrate()
    store.engine.dispose()
    store.engine = database.make_engine(url, busy_timeout_ms=50)
    blocker = database.make_engine(url)
    locked, release = threading.Event(), threading.Event()

    def hold_the_lock():
        with blocker.connect() as connection:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
            locked.set()
            release.wait(10)
            connection.exec_driver_sql("ROLLBACK")

    holder = threading.Thread(target=hold_the_lock)
    holder.start()
    assert locked.wait(10)
    writer = SignalWriter(store, max_wait=0.01, max_backoff=0.2)
    for n in range(25):
        writer.submit_signal(signal_dict(f"l{n}", T0 + timedelta(seconds=n)))
    assert wait_for(lambda: writer.status()["retries"] >= 3, 10)
    assert "locked" in writer.status()["last_error"]
    release.set()
    holder.join()
    assert writer.flush(10)
    writer.close()
    assert writer.status()["written_signals"] == 25 and writer.status()["dropped"] == 0
    assert store.count(HistoryFilter()) == 25


def test_a_full_queue_counts_drops_and_never_blocks(tmp_path):
    store = SignalStore(f"sqlite:///{tmp_path / 'q.db'}")
    store.migrate()
    gate = threading.Event()
    original = store.write_batch

    def slow_write(*args, **kwargs):
        gate.wait(10)
        original(*args, **kwargs)

    store.write_batch = slow_write
    writer = SignalWriter(store, queue_size=10, batch_size=1, max_wait=0.01)
    started = time.monotonic()
    accepted = sum(
        writer.submit_signal(signal_dict(f"q{n}", T0 + timedelta(seconds=n))) for n in range(30)
    )
    assert time.monotonic() - started < 0.5
    assert writer.status()["dropped"] == 30 - accepted and accepted <= 11
    gate.set()
    writer.close()
    assert store.count(HistoryFilter()) == accepted


def test_close_flushes_what_is_queued(store):
    writer = SignalWriter(store, max_wait=1.0)
    for n in range(5):
        writer.submit_signal(signal_dict(f"c{n}", T0 + timedelta(seconds=n)))
    writer.close()
    assert store.count(HistoryFilter()) == 5


def test_passwords_in_the_url_are_hidden():
    assert "hunter2" not in redacted("postgresql+psycopg://trader:hunter2@db:5432/flow")


def test_committed_signals_survive_sigkill(tmp_path):
    path = tmp_path / "durable.db"
    url = f"sqlite:///{path}"
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.db_child", url],  # -m: tests/engine must not shadow engine
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).parents[1],
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])},
    )
    committed = []
    assert child.stdout is not None
    for line in child.stdout:
        committed.append(line.strip())
        if len(committed) >= 3_000:
            break
    child.send_signal(signal.SIGKILL)  # while it keeps writing
    child.wait(10)
    assert child.returncode == -signal.SIGKILL
    store = SignalStore(url)
    assert store.integrity_check() == "ok"
    with store.engine.connect() as connection:
        stored = {row[0] for row in connection.execute(text("SELECT id FROM signals"))}
    missing = [signal_id for signal_id in committed if signal_id not in stored]
    assert not missing, f"{len(missing)} committed signals lost"
    assert len(stored) >= len(committed)


def test_an_outcome_whose_signal_was_never_stored_does_not_lose_the_rest(store):
    writer = SignalWriter(store, max_wait=0.05)
    writer.submit_signal(signal_dict("kept", T0))
    writer.submit_outcome(outcome_dict("ghost", T0, 1.0, "target"))  # its signal was dropped
    writer.submit_outcome(outcome_dict("kept", T0, -1.0, "stop"))
    writer.close()
    assert store.history(HistoryFilter())["outcome"].tolist() == ["stop"]
    assert writer.status()["dropped"] == 1
    assert "outcome ghost not stored" in writer.status()["last_error"]


def test_a_signal_keeps_its_first_outcome_when_a_restart_decides_it_again(store):
    # A restart resumes the signals stored without an outcome; one whose outcome the stopped
    # run was still writing is decided twice. The first decision stands, nothing is dropped.
    writer = SignalWriter(store, max_wait=0.05)
    writer.submit_signal(signal_dict("twice", T0))
    writer.submit_outcome(outcome_dict("twice", T0, 2.0, "target"))
    assert writer.flush(10)
    writer.submit_outcome(outcome_dict("twice", T0, -1.0, "stop"))
    writer.submit_signal(signal_dict("other", T0 + timedelta(minutes=1)))
    writer.submit_outcome(outcome_dict("other", T0, -1.0, "stop"))
    writer.close()
    assert writer.status()["dropped"] == 0 and writer.status()["last_error"] == ""
    rows = store.history(HistoryFilter()).set_index("id")
    assert rows.loc["twice", "outcome"] == "target" and rows.loc["twice", "r_multiple"] == 2.0
    assert rows.loc["other", "outcome"] == "stop"
    # The signal's own copy of its outcome (what the daily summary reads) agrees.
    assert store.daily_summary(HistoryFilter())["r_total"].sum() == pytest.approx(2.0 - 1.0)
    outcomes = store.outcomes_frame()
    assert sorted(outcomes["outcome"]) == ["stop", "target"]


def test_ended_icebergs_are_stored_once_and_teach_the_size_estimate(store):
    from engine.levels import Iceberg

    start = int(T0.timestamp())

    def iceberg(symbol: str, displays: int, state: str) -> Iceberg:
        # Hidden volume of ``displays`` peaks, though the level jumped back 9 times.
        return Iceberg(
            symbol, "BID", 100.0, 500.0, 9, displays * 500.0 + 250.0, 9_000.0,
            start, start + 60, start + 300, True, state, hidden_se=displays * 10.0,
            entry_refills=displays - 2,
        )  # fmt: skip

    ended = [iceberg("TCS", 6, "completed"), iceberg("INFY", 4, "broken")]
    writer = SignalWriter(store)
    for item in ended + ended[:1]:  # the same iceberg twice: stored once
        writer.submit_iceberg(database.iceberg_row(item, "simulator", True))
    writer.close()
    assert writer.status()["written_icebergs"] == 3 and writer.status()["dropped"] == 0
    stored = store.icebergs(T0.date())
    assert sorted(stored["symbol"]) == ["INFY", "TCS"]
    assert str(stored["first_seen"].iloc[0].tz) in ("IST", "Asia/Kolkata", "UTC+05:30")
    assert sorted(stored["hidden_se"]) == [40.0, 60.0]
    refills, completed, entries = store.iceberg_lifetimes(T0.date())
    assert sorted(zip(refills.tolist(), completed.tolist(), entries.tolist(), strict=True)) == [
        (4, False, 2),
        (6, True, 4),
    ]
    assert store.icebergs(T0.date() + timedelta(days=1)).empty
