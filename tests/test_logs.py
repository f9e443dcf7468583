"""Logging: the line format, the rotating file, and secrets redacted everywhere."""

from __future__ import annotations

import json
import logging
import re

import pytest

import logs
from auth import hash_password
from config import Settings
from feeds import kite
from feeds.service import MarketService
from feeds.simulator import simulated_instruments
from monitoring import health_check
from tests.feeds.kite_fakes import GOOD_TOKEN, FakeKiteApi, FakeKiteTicker
from tests.waiting import wait_for

API_SECRET = "api-secret-7f3a9c"
REQUEST_TOKEN = "good-request-token"  # the one the fake accepts
APP_PASSWORD = "trader-password-1"


@pytest.fixture
def restore_logging():
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    yield
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level)
    logs._configured.clear()


def test_redaction_of_registered_and_secret_looking_values():
    logs.register_secret("registered-value-42")
    line = (
        "POST /session/token {'request_token': 'abc123', 'checksum': 'ff00'} "
        "Authorization: token mykey:tok987 password=hunter22 "
        "postgresql+psycopg://trader:dbpass@host/db registered-value-42 access_token=zz9"
    )
    redacted = logs.redact(line)
    for secret in ("abc123", "ff00", "tok987", "hunter22", "dbpass", "registered-value-42", "zz9"):
        assert secret not in redacted
    assert "mykey" in redacted and "trader" in redacted  # names stay, values go
    assert logs.redact("plain words only") == "plain words only"


def test_a_debug_kite_login_and_stream_leaves_no_secret_anywhere(tmp_path, restore_logging, capfd):
    instruments, _ = simulated_instruments(["RELIANCE", "TCS"])
    api, ticker = FakeKiteApi(instruments), FakeKiteTicker(instruments)
    password_hash = hash_password(APP_PASSWORD, iterations=1_000)
    settings = Settings(
        _env_file=None,
        log_level="DEBUG",
        data_source="kite",
        data_dir=str(tmp_path),
        kite_api_key="key",
        kite_api_secret=API_SECRET,
        kite_root=api.root,
        kite_ticker_root=ticker.root,
        kite_login_uri=f"{api.root}/connect/login",
        watchlist="RELIANCE,TCS",
        app_password_hash=password_hash,
        feed_watchdog_seconds=5,
    )
    log_file = logs.configure_logging(settings)
    service = MarketService(settings)
    try:
        pasted = f"https://example.com/cb?status=success&request_token={REQUEST_TOKEN}"
        kite.complete_login(settings, pasted)
        assert kite.credentials.get(settings) == GOOD_TOKEN
        report = service.start()
        assert not report.error, report.error
        assert wait_for(lambda: service.ticks_total > 0, 30)
        logging.getLogger("test").debug(
            "a careless line: secret=%s token=%s", API_SECRET, GOOD_TOKEN
        )
        try:
            raise RuntimeError(f"failure carrying {REQUEST_TOKEN}")
        except RuntimeError:
            logging.getLogger("test").exception("traceback with a secret")
        health = json.dumps(health_check(service, settings))
    finally:
        service.close()
        api.close()
        ticker.close()
        kite.credentials.clear()
    for handler in logs._configured:
        handler.flush()
    captured = capfd.readouterr()
    written = log_file.read_text()
    assert "kiteconnect" in written or "session/token" in written, "kiteconnect logged nothing"
    assert "[REDACTED]" in written
    assert re.search(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d IST DEBUG", written, re.MULTILINE)
    database = b"".join(path.read_bytes() for path in tmp_path.glob("signals.db*"))
    for secret in (API_SECRET, GOOD_TOKEN, REQUEST_TOKEN, APP_PASSWORD, password_hash):
        assert secret not in written, f"{secret} in the log file"
        assert secret not in captured.err and secret not in captured.out, f"{secret} on console"
        assert secret not in health, f"{secret} in /health"
        assert secret.encode() not in database, f"{secret} in the database"
