"""Browser smoke test: the real server, Debian's Chromium driven by Playwright.

``SCREENSHOT_DIR=docs`` keeps the screenshots the README shows. Chromium
comes from Debian (``make test`` installs it); Playwright only drives it through
``executable_path`` and never downloads a browser.
"""

from __future__ import annotations

import os
from pathlib import Path

from playwright.sync_api import sync_playwright

from tests.server import health, running_server

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def test_a_browser_sees_live_simulated_signals_and_health_is_ok(tmp_path):
    assert Path(CHROMIUM).exists(), "Debian's chromium is missing: run make test"
    shots = Path(os.environ.get("SCREENSHOT_DIR", tmp_path))
    with running_server(tmp_path, SIMULATOR_SPEED="30") as url:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
            page = browser.new_page(viewport={"width": 1400, "height": 2400})
            page.goto(url)
            page.get_by_text("SIMULATED DATA").first.wait_for(timeout=60_000)
            page.get_by_text("reward:risk").first.wait_for(timeout=90_000)  # a signal card
            page.get_by_text("Institutional ratio across the watchlist").first.wait_for(
                timeout=30_000
            )
            page.wait_for_timeout(1_500)  # let the charts draw
            page.screenshot(path=str(shots / "dashboard.png"))
            page.get_by_text("System Health").first.click()
            page.get_by_text("Process memory").first.wait_for(timeout=30_000)
            page.get_by_text("Performance").first.click()
            page.get_by_text("Decided outcomes").first.wait_for(timeout=30_000)
            page.wait_for_timeout(1_500)
            page.screenshot(path=str(shots / "performance.png"))
            page.get_by_text("Signal History").first.click()
            page.get_by_text("signals match").first.wait_for(timeout=30_000)
            page.wait_for_timeout(1_500)
            page.screenshot(path=str(shots / "history.png"))
            browser.close()
        body = health(url)
    assert body is not None and body["status"] == "ok"
    assert body["feed"]["signals_total"] >= 1
    for name in ("dashboard.png", "performance.png", "history.png"):
        assert (shots / name).stat().st_size > 10_000
