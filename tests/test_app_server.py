"""The server starts streaming on its own: /health reports a live feed with no browser."""

from __future__ import annotations

import time

from tests.server import health, running_server


def test_health_reports_a_live_simulated_feed_before_any_browser_connects(tmp_path):
    with running_server(tmp_path, SIMULATOR_SPEED="20", SIMULATOR_WARMUP_SECONDS="120") as url:
        deadline, body = time.monotonic() + 60, health(url)
        while (body is None or body["feed"]["ticks_total"] == 0) and time.monotonic() < deadline:
            time.sleep(0.5)
            body = health(url)
    assert body is not None, "the server never answered /health"
    assert body["status"] == "ok"
    assert body["feed"]["state"] == "connected" and body["feed"]["simulated"] is True
    assert body["feed"]["ticks_total"] > 0
