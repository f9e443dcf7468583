"""Server CPU with real browser tabs on Live Signals (Debian's Chromium driven by Playwright).

Starts ``streamlit run`` on the simulator at real speed (10 symbols), waits for its warm-up
replay to end, opens ``--tabs`` tabs on the Live page and, after ``--warmup`` seconds,
measures for ``--seconds`` seconds the share of one core the server process uses, and the
feed's ticks a second from ``/health``. One tab first, then all of them. Target: one tab
<= 5 % of a core; with 10 tabs the tick rate holds.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.server import running_server  # noqa: E402
from tests.test_browser import CHROMIUM, FLAGS  # noqa: E402


def feed(url: str) -> dict:
    with urllib.request.urlopen(f"{url}/health", timeout=30) as response:
        return json.loads(response.read())["feed"]


def ticks_per_second(url: str) -> float:
    return float(feed(url)["ticks_per_s"])


def wait_for_the_live_edge(url: str, timeout: float = 120) -> None:
    """Until the simulator's warm-up (its history replayed at once) is over."""
    deadline = time.monotonic() + timeout
    while feed(url)["state"] != "connected" and time.monotonic() < deadline:
        time.sleep(1)
    time.sleep(5)


def measure(process: psutil.Process, seconds: float) -> float:
    """Share of one core the server used over ``seconds`` (its threads, all of them)."""
    before = process.cpu_times()
    time.sleep(seconds)
    after = process.cpu_times()
    return (after.user + after.system - before.user - before.system) / seconds * 100


def main() -> None:
    from playwright.sync_api import sync_playwright

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tabs", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--warmup", type=float, default=30)
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder, running_server(Path(folder)) as url:
        # The server is this process's child (tests.server starts it).
        process = next(
            child
            for child in psutil.Process().children()
            if "streamlit" in " ".join(child.cmdline())
        )
        wait_for_the_live_edge(url)
        idle = measure(process, arguments.seconds / 2)
        print(f"no tab: server {idle:.1f} % of a core, {ticks_per_second(url):.0f} ticks/s")
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
            pages = []
            for count in (1, arguments.tabs):
                while len(pages) < count:
                    page = browser.new_page(viewport={"width": 1440, "height": 1600})
                    page.goto(url, timeout=120_000, wait_until="commit")
                    pages.append(page)
                time.sleep(arguments.warmup)
                share = measure(process, arguments.seconds)
                print(
                    f"{count} tab(s) on Live Signals: server {share:.1f} % of a core, "
                    f"{ticks_per_second(url):.0f} ticks/s"
                )
            browser.close()


if __name__ == "__main__":
    main()
