"""Browser smoke test: the real server, Debian's Chromium driven by Playwright.

``SCREENSHOT_DIR=docs`` keeps the screenshots the README shows. Chromium
comes from Debian (``make test`` installs it); Playwright only drives it through
``executable_path`` and never downloads a browser.
"""

from __future__ import annotations

import os
import re
import time
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
    with running_server(
        tmp_path, SIMULATOR_SPEED="30", RECORD_FRAMES="true", MIN_CONFIDENCE="5"
    ) as url:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
            page = browser.new_page(viewport={"width": 1400, "height": 2400})
            page.goto(url)
            page.get_by_text("SIMULATED DATA").first.wait_for(timeout=60_000)
            page.get_by_text("reward:risk").first.wait_for(timeout=90_000)  # a signal card

            # The cards are drawn on a page run only: what changes after the page loaded (a
            # new signal, an outcome) reaches them because the status panel notices it.
            def cards() -> str:
                return "\n".join(page.get_by_text("reward:risk").all_inner_texts()) + "|".join(
                    page.get_by_text("Recently closed:").all_inner_texts()
                )

            first = cards()
            deadline = time.monotonic() + 150
            while cards() == first and time.monotonic() < deadline:
                page.wait_for_timeout(1_000)
            assert cards() != first, "the cards never followed the market"
            page.get_by_text("Institutional ratio across the watchlist").first.wait_for(
                timeout=30_000
            )
            page.wait_for_timeout(1_500)  # let the charts draw
            page.screenshot(path=str(shots / "dashboard.png"))
            page.get_by_text("System Health").first.click()
            page.get_by_text("Process memory").first.wait_for(timeout=30_000)
            assert page.url.endswith("/system-health")  # /health stays the JSON route
            page.get_by_text("Performance").first.click()
            page.get_by_text("Decided outcomes").first.wait_for(timeout=30_000)
            page.wait_for_timeout(1_500)
            page.screenshot(path=str(shots / "performance.png"))
            page.get_by_text("Signal History").first.click()
            page.get_by_text(re.compile(r"signals? match")).first.wait_for(timeout=30_000)
            page.wait_for_timeout(1_500)
            page.screenshot(path=str(shots / "history.png"))
            # Backtest the session this server has been recording, over two settings.
            page.get_by_role("link", name="Backtest").click()
            page.get_by_label("Recordings").click(timeout=30_000)
            page.get_by_role("option").first.click()
            page.keyboard.press("Escape")
            page.get_by_role("textbox", name="Simulator sessions").fill("")
            page.get_by_role("textbox", name="MIN_CONFIDENCE").fill("5, 7")
            page.get_by_text("Run backtest").first.click()
            page.get_by_text("Includes SIMULATED sessions").first.wait_for(timeout=120_000)
            page.get_by_text("Sessions: simulator-").first.wait_for(timeout=30_000)
            page.wait_for_timeout(1_500)
            page.screenshot(path=str(shots / "backtest.png"))
            browser.close()
        body = health(url)
    assert body is not None and body["status"] == "ok"
    assert body["feed"]["signals_total"] >= 1
    for name in ("dashboard.png", "performance.png", "history.png", "backtest.png"):
        assert (shots / name).stat().st_size > 10_000


def test_no_configured_secret_reaches_the_browser_with_the_kite_login_open(tmp_path):
    from tests.server import free_port

    secrets = {
        "KITE_API_SECRET": "api-secret-value-4f9a2c",
        "KITE_ACCESS_TOKEN": "access-token-value-77d1e0",
    }
    closed = free_port()  # nothing listens there: the start fails, the login panel stays
    received: list[bytes] = []
    with (
        running_server(
            tmp_path,
            DATA_SOURCE="kite",
            KITE_API_KEY="kite-api-key",
            KITE_ROOT=f"http://127.0.0.1:{closed}",
            KITE_TICKER_ROOT=f"ws://127.0.0.1:{closed}",
            **secrets,
        ) as url,
        sync_playwright() as playwright,
    ):
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1600})

        def capture(socket) -> None:
            socket.on(
                "framereceived",
                lambda payload: received.append(
                    payload if isinstance(payload, bytes) else payload.encode()
                ),
            )

        page.on("websocket", capture)
        page.goto(url)
        page.get_by_text("Kite login").first.click(timeout=60_000)
        page.get_by_text("API secret").first.wait_for(timeout=30_000)
        page.get_by_text("configured on the server").first.wait_for(timeout=30_000)
        page.wait_for_timeout(1_000)
        values = page.evaluate(
            "Array.from(document.querySelectorAll('input, textarea, select'))"
            ".map(element => element.value)"
        )
        text = page.evaluate("document.documentElement.innerText")
        html = page.content()
        browser.close()
    assert "kite-api-key" in values  # the panel and its inputs were really read
    for name, secret in secrets.items():
        assert all(secret not in value for value in values), f"{name} in an input's value"
        assert secret not in text and secret not in html, f"{name} in the page"
        assert all(secret.encode() not in frame for frame in received), f"{name} was sent"
    assert received, "no WebSocket traffic was captured"
