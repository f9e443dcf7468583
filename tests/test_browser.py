"""Browser smoke test: the real server, Debian's Chromium driven by Playwright.

``SCREENSHOT_PATH=docs/dashboard.png`` keeps the screenshot the README shows. Chromium
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
    shot = Path(os.environ.get("SCREENSHOT_PATH", tmp_path / "dashboard.png"))
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
            page.screenshot(path=str(shot), full_page=True)
            page.get_by_text("System Health").first.click()
            page.get_by_text("Process memory").first.wait_for(timeout=30_000)
            browser.close()
        body = health(url)
    assert body is not None and body["status"] == "ok"
    assert body["feed"]["signals_total"] >= 1
    assert shot.stat().st_size > 10_000
