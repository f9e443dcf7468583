"""Browser smoke test: the real server, Debian's Chromium driven by Playwright.

Chromium comes from Debian (``make test`` installs it); Playwright only drives it through
``executable_path`` and never downloads a browser.
"""

from __future__ import annotations

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
    with running_server(tmp_path, SIMULATOR_SPEED="30") as url:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(url)
            page.get_by_text("SIMULATED DATA").first.wait_for(timeout=60_000)
            page.get_by_text("confidence").first.wait_for(timeout=90_000)
            page.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)
            browser.close()
        body = health(url)
    assert body is not None and body["status"] == "ok"
    assert body["feed"]["signals_total"] >= 1
    assert (tmp_path / "dashboard.png").stat().st_size > 10_000
