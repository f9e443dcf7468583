"""The read API: a plain HTTP client against the real server, and its parameter rules."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta

import pytest
from starlette.requests import Request

import api
from database import SignalStore, iceberg_row
from engine.levels import Iceberg
from tests.db_rows import outcome_dict, signal_dict
from tests.server import running_server

TOKEN = "api-token-for-tests-5b1e"


def get(url: str, token: str | None = TOKEN) -> tuple[int, dict]:
    request = urllib.request.Request(url)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def seed(data_dir, count: int) -> list[str]:
    store = SignalStore(f"sqlite:///{data_dir}/signals.db")
    store.migrate()
    now = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
    ids = [f"s{n:02d}" for n in range(count)]
    rows = [
        signal_dict(signal_id, now - timedelta(minutes=n), symbol=("TCS", "INFY")[n % 2])
        for n, signal_id in enumerate(ids)
    ]
    store.write_batch(rows, [outcome_dict("s00", now, 2.0, "target")])
    # Ended just now: the API lists today's (IST) ended icebergs by default.
    end = int(datetime.now(UTC).timestamp())
    ended = Iceberg("TCS", "ASK", 3500.0, 200.0, 5, 1500.0, 2600.0, end - 600, end - 540, end,
                    False, "completed")  # fmt: skip
    store.write_batch([], [], icebergs=[iceberg_row(ended, "simulator", True)])
    store.close()
    return ids


def test_the_api_pages_signals_with_a_token_and_says_what_is_wrong(tmp_path):
    ids = seed(tmp_path, 12)
    with running_server(tmp_path, API_TOKEN=TOKEN) as url:
        base = f"{url}/api/v1"
        assert get(f"{base}/signals", token=None)[0] == 401
        assert get(f"{base}/signals", token="wrong")[0] == 401
        status, first = get(f"{base}/signals?limit=5")
        assert status == 200 and first["count"] == 5 and first["next_cursor"]
        assert [row["id"] for row in first["signals"]] == ids[:5]  # newest first
        assert first["signals"][0]["outcome"] == "target" and first["signals"][0]["net_r"] == 1.7
        assert first["signals"][1]["exit_price"] is None  # open: null, never NaN
        # Newer signals stored while a client pages never shift the pages that follow.
        store = SignalStore(f"sqlite:///{tmp_path}/signals.db")
        store.write_batch([signal_dict("new", datetime.now(UTC), symbol="TCS")], [])
        store.close()
        seen = [row["id"] for row in first["signals"]]
        cursor = first["next_cursor"]
        while cursor:
            status, page = get(f"{base}/signals?limit=5&cursor={cursor}")
            assert status == 200
            seen += [row["id"] for row in page["signals"]]
            cursor = page["next_cursor"]
        assert seen == ids  # every one once, in order, none of the new
        status, tcs = get(f"{base}/signals?symbol=tcs&type=ACCUMULATION&outcome=open,target")
        assert status == 200 and {row["symbol"] for row in tcs["signals"]} == {"TCS"}
        assert tcs["count"] == 7  # six seeded TCS signals and the new one
        for query, parameter in (
            ("limit=0", "limit"),
            ("limit=5000", "limit"),
            ("type=HOLD", "type"),
            ("outcome=won", "outcome"),
            ("min_confidence=high", "min_confidence"),
            ("start=24-11-2026", "start"),
            ("cursor=not-a-cursor", "cursor"),
        ):
            status, body = get(f"{base}/signals?{query}")
            assert (status, body["parameter"]) == (400, parameter), query
            assert "Traceback" not in json.dumps(body)
        status, snapshot = get(f"{base}/snapshot")
        assert status == 200 and snapshot["simulated"] is True
        assert {row["symbol"] for row in snapshot["instruments"]} >= {"RELIANCE", "TCS"}
        status, active = get(f"{base}/signals/active")
        assert status == 200 and isinstance(active["signals"], list)
        status, icebergs = get(f"{base}/icebergs")
        assert status == 200 and isinstance(icebergs["active"], list) and icebergs["stored"]
        # The seeded one, among any the running simulator has stored meanwhile.
        [ended] = [row for row in icebergs["ended"] if row["price"] == 3500.0]
        assert (ended["symbol"], ended["side"], ended["refills"]) == ("TCS", "ASK", 5)
        assert ended["first_seen"].endswith("+05:30")
        assert get(f"{base}/icebergs?days=31")[1]["parameter"] == "days"
        status, document = get(f"{base}/openapi.json")
        assert status == 200 and set(document["paths"]) >= {
            "/api/v1/signals",
            "/api/v1/snapshot",
            "/api/v1/icebergs",
        }


def test_without_a_token_configured_the_api_is_off(tmp_path):
    with running_server(tmp_path) as url:
        status, body = get(f"{url}/api/v1/signals")
        assert status == 404 and "API_TOKEN" in body["error"]


def test_the_openapi_document_is_valid():
    from openapi_spec_validator import validate

    validate(api.openapi_document())


def request(query: str) -> Request:
    return Request({"type": "http", "query_string": query.encode(), "headers": []})


def test_filters_read_repeated_and_comma_separated_values():
    filters = api.filters_of(request("symbol=tcs,infy&type=buy&type=SELL&min_confidence=7"))
    assert filters.symbols == ("TCS", "INFY") and filters.signal_types == ("BUY", "SELL")
    assert filters.min_confidence == 7.0
    with pytest.raises(api.BadParameter, match="min_confidence: is above max_confidence"):
        api.filters_of(request("min_confidence=8&max_confidence=7"))
    moment = datetime(2026, 11, 24, 4, 0, tzinfo=UTC)
    assert api.decode_cursor(api.encode_cursor(moment, "abc")) == (moment, "abc")
