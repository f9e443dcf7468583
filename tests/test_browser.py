"""Browser smoke test: the real server, Debian's Chromium driven by Playwright.

Chromium comes from Debian (``make test`` installs it); Playwright only drives it through
``executable_path`` and never downloads a browser.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import sync_playwright

from tests.test_app_server import ROOT, free_port

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
    port = free_port()
    env = dict(
        os.environ,
        SIMULATOR_SPEED="30",
        DATA_DIR=str(tmp_path),
        AUTO_START="true",
        DATA_SOURCE="simulator",
    )
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            "streamlit_app.py",
            "--server.headless",
            "true",
            "--server.port",
            str(port),
            "--server.address",
            "127.0.0.1",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"{url}/health", timeout=2).close()
                break
            except OSError:
                time.sleep(0.5)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(url)
            page.get_by_text("SIMULATED DATA").first.wait_for(timeout=60_000)
            page.get_by_text("confidence").first.wait_for(timeout=90_000)
            page.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)
            browser.close()
        with urllib.request.urlopen(f"{url}/health", timeout=5) as response:
            health = json.loads(response.read())
        assert response.status == 200 and health["status"] == "ok"
        assert health["feed"]["signals_total"] >= 1
        assert (tmp_path / "dashboard.png").stat().st_size > 10_000
    finally:
        server.terminate()
        server.wait(15)
