"""The server starts streaming on its own: /health reports a live feed with no browser."""

from __future__ import annotations

import time

from tests.server import health, running_server


def test_health_reports_a_live_simulated_feed_before_any_browser_connects(tmp_path):
    with running_server(tmp_path, SIMULATOR_SPEED="20", SIMULATOR_WARMUP_SECONDS="120") as url:
        deadline, body = time.monotonic() + 60, health(url)
        while (
            body is None or body["feed"]["state"] != "connected"
        ) and time.monotonic() < deadline:
            time.sleep(0.5)
            body = health(url)
    assert body is not None, "the server never answered /health"
    assert body["status"] == "ok"
    assert body["feed"]["state"] == "connected" and body["feed"]["simulated"] is True
    assert body["feed"]["ticks_total"] > 0


def test_health_details_need_the_api_token_when_one_is_configured(tmp_path):
    token = "machine-reader-token-789"
    with running_server(tmp_path, API_TOKEN=token, SIMULATOR_WARMUP_SECONDS="60") as url:
        public = health(url)
        detailed = health(url, token)
        wrong = health(url, "not-the-token")
    assert public is not None and set(public) == {"status", "uptime_s", "version"}
    assert wrong is not None and set(wrong) == {"status", "uptime_s", "version"}
    assert detailed is not None and "feed" in detailed and "RELIANCE" in str(detailed)
    assert token not in str(detailed)


def test_a_password_gated_app_keeps_health_details_on_its_page(tmp_path):
    from auth import hash_password

    gate = hash_password("pw", iterations=1_000)
    with running_server(tmp_path, APP_PASSWORD_HASH=gate, SIMULATOR_WARMUP_SECONDS="60") as url:
        body = health(url)
    assert body is not None and set(body) == {"status", "uptime_s", "version"}


def test_the_server_keeps_its_protections_and_spares_its_cpu():
    """What ``streamlit run`` reads from .streamlit/config.toml: CORS and XSRF protection on;
    no full garbage collection after every script run (with a fragment running every second
    it was most of a tab's server CPU) and no polling of the app's files."""
    import tomllib
    from pathlib import Path

    config = tomllib.loads((Path(__file__).parents[1] / ".streamlit" / "config.toml").read_text())
    assert config["server"]["enableCORS"] is True
    assert config["server"]["enableXsrfProtection"] is True
    assert config["runner"]["postScriptGC"] is False
    assert config["server"]["fileWatcherType"] == "none"
