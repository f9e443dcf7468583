"""health_check(): status with reasons, resources, breakers, and never a secret."""

from __future__ import annotations

import json

from pydantic import SecretStr

from config import Settings
from feeds.service import MarketService
from monitoring import health_check
from tests.server import free_port
from tests.waiting import wait_for

SECRET, TOKEN = "s3cret-value-xyz", "access-token-abc"


def settings(tmp_path, **overrides) -> Settings:
    values = dict(
        data_dir=str(tmp_path),
        simulator_speed=50.0,
        simulator_warmup_seconds=60,
        watchlist="RELIANCE,TCS",
        kite_api_key="key",
        kite_api_secret=SECRET,
        kite_access_token=TOKEN,
    )
    values.update(overrides)
    return Settings(_env_file=None, **values)


def test_a_streaming_simulator_is_healthy_with_resources_and_version(tmp_path):
    config = settings(tmp_path)
    service = MarketService(config)
    service.start()
    try:
        assert wait_for(lambda: service.ticks_total > 0, 30)
        # The warm-up first: "catching up", then live.
        assert wait_for(lambda: service.status()["state"] == "connected", 30)
        report = health_check(service, config)
        assert report["status"] == "ok", report["reasons"]
        assert report["feed"]["state"] == "connected"
        assert set(report["resources"]) >= {
            "cpu_percent",
            "memory_percent",
            "disk_percent",
            "process_rss_mib",
        }
        assert report["version"] and report["uptime_s"] >= 0
        assert report["database"]["enabled"] and report["database"]["schema_version"] >= 1
        assert report["database"]["url"].startswith("sqlite:///")
    finally:
        service.stop()
    report = health_check(service, config)
    assert report["status"] == "degraded" and "feed stopped" in report["reasons"]


def test_a_feed_that_needs_a_login_is_down_and_says_why(tmp_path):
    config = settings(tmp_path, data_source="kite", kite_access_token="")
    service = MarketService(config)
    service.start()
    report = health_check(service, config)
    assert report["status"] == "down"
    assert any("login_required" in reason for reason in report["reasons"])


def test_no_secret_appears_in_the_health_output_even_after_a_failure(tmp_path):
    closed = f"http://127.0.0.1:{free_port()}"
    config = settings(tmp_path, data_source="kite", kite_root=closed)
    service = MarketService(config)
    report_text = json.dumps(service.start().__dict__) + json.dumps(health_check(service, config))
    assert health_check(service, config)["status"] == "down"
    assert SECRET not in report_text and TOKEN not in report_text


def test_an_unreachable_database_degrades_health_and_hides_its_password(tmp_path):
    password = "db-pass-123"
    url = f"postgresql+psycopg://trader:{password}@127.0.0.1:{free_port()}/flow"
    config = settings(tmp_path, database_url=url)
    service = MarketService(config)
    service.start()
    try:
        assert wait_for(lambda: service.ticks_total > 0, 30)
        report = health_check(service, config)
        assert report["status"] == "degraded"
        assert any("database unavailable" in reason for reason in report["reasons"])
        assert password not in json.dumps(report)
        assert "***" in report["database"]["url"]
    finally:
        service.stop()


def test_a_malformed_database_url_is_reported_without_its_password(tmp_path):
    config = settings(tmp_path).model_copy(  # past validation, as a settings object built in code
        update={"database_url": SecretStr("postgresql://trader:pw-secret-9@db:notaport/x")}
    )
    service = MarketService(config)
    service.open_store()
    report = json.dumps(health_check(service, config))
    assert "database unavailable" in report
    assert "pw-secret-9" not in report
