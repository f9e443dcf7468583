"""More than 3,000 instruments: the Kite feed over several connections, against the fakes."""

from __future__ import annotations

import pytest

from engine.sessions import ist_today
from feeds import kite
from feeds.service import MarketService
from feeds.simulator import synthetic_instruments
from tests.feeds.instrument_dumps import future_rows
from tests.feeds.kite_fakes import FakeKiteApi, FakeKiteTicker
from tests.feeds.test_kite import settings_for
from tests.waiting import wait_for

COUNT = 7_500


@pytest.fixture
def many():
    instruments = synthetic_instruments(COUNT, seed=5)
    api = FakeKiteApi(instruments, futures=future_rows("NFO", "NIFTY", ist_today(), 70_001, 75))
    ticker = FakeKiteTicker(instruments, interval=0.5)
    yield api, ticker, instruments
    api.close()
    ticker.close()
    kite.credentials.clear()


def shard_ticks(service: MarketService) -> list[int]:
    """Ticks seen per connection's instruments."""
    counts = service.snapshot().metrics.set_index("symbol")["ticks"]
    return [
        int(sum(counts[service.source.instruments[t]] for t in c.tokens))
        for c in service.source._connections
    ]


def test_7500_instruments_stream_over_3_connections_and_one_is_replaced_alone(many, tmp_path):
    api, ticker, instruments = many
    settings = settings_for(
        (api, ticker), tmp_path, watchlist=",".join(i.symbol for i in instruments)
    )
    service = MarketService(settings)
    report = service.start()
    try:
        assert not report.error and len(report.monitored) == COUNT
        status = service.status()
        assert status["instruments"] == COUNT
        assert [c["instruments"] for c in status["connections"]] == [3_000, 3_000, 1_500]
        assert wait_for(lambda: all(c["connected"] for c in service.status()["connections"]), 30)
        assert wait_for(lambda: min(shard_ticks(service)) > 0, 60), "a shard never streamed"
        assert ticker.refusals == 0 and max(len(s) for s in ticker.subscribed) <= 3_000
        # Cut the second connection only: it comes back; the others never stop.
        before = shard_ticks(service)
        ticker.drop(1)
        assert wait_for(
            lambda: sum(c["reconnects"] for c in service.status()["connections"]) == 1, 30
        )
        assert wait_for(lambda: all(c["connected"] for c in service.status()["connections"]), 30)
        after = shard_ticks(service)
        assert after[0] > before[0] and after[2] > before[2]
        assert wait_for(lambda: shard_ticks(service)[1] > after[1], 30)  # resubscribed
        assert ticker.refusals == 0
        assert service.status()["state"] == "connected"
    finally:
        service.stop()


def test_a_watchlist_beyond_the_keys_capacity_is_refused_with_the_numbers(many, tmp_path):
    api, ticker, instruments = many
    settings = settings_for(
        (api, ticker),
        tmp_path,
        watchlist=",".join(i.symbol for i in instruments),
        kite_max_connections=2,
    )
    report = MarketService(settings).start()
    assert report.error and "7,500 instruments" in report.error
    assert "at most 6,000 (2 connections of 3,000" in report.error
    assert ticker.connections == 0  # nothing was opened


def test_an_alias_streams_its_live_contract_through_kite(many, tmp_path):
    api, ticker, _ = many
    settings = settings_for((api, ticker), tmp_path, watchlist="SIM0001,NFO:NIFTY-I")
    service = MarketService(settings)
    report = service.start()
    try:
        nearest = future_rows("NFO", "NIFTY", ist_today(), 70_001, 75)
        live = next(r for r in nearest if r["expiry"] >= ist_today().isoformat())
        assert sorted(report.monitored) == sorted(["SIM0001", f"NFO:{live['tradingsymbol']}"])
        assert service.status()["contracts"] == {f"NFO:{live['tradingsymbol']}": "NFO:NIFTY-I"}
        assert service.source.lot_sizes[live["instrument_token"]] == 75
    finally:
        service.stop()
