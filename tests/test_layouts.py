"""Layouts: every page at 1440 px (desktop), 820 px (tablet) and 390 px (phone) in Debian's
Chromium; nothing a trader reads is cut short or broken mid-word.

``SCREENSHOT_DIR=docs`` keeps the tablet and phone screenshots the README shows.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from playwright.sync_api import sync_playwright

from tests.server import running_server
from tests.test_browser import CHROMIUM, FLAGS

WIDTHS = {1440: "desktop", 820: "tablet", 390: "phone"}
PAGES = {
    "": "Active signals",
    "history": re.compile(r"signals? match"),
    "performance": "Decided outcomes",
    "backtest": "Run backtest",
    "detection-quality": "Detection quality",
    "api-docs": "Read API",
    "system-health": "Ticks total",
}
# Visible metric values and button labels wider than their box (cut, "conn..."), and signal
# types on more than one line (broken mid-word, "DISTRIBUT / ION").
PROBLEMS = """() => {
  const visible = el => el.offsetParent !== null && el.getBoundingClientRect().width > 0;
  const found = [];
  for (const el of document.querySelectorAll('[data-testid="stMetricValue"] > div, button p')) {
    if (visible(el) && el.scrollWidth > el.clientWidth + 1) found.push('cut: ' + el.innerText);
  }
  const types = ['ACCUMULATION', 'DISTRIBUTION', 'BUY', 'SELL'];
  for (const el of document.querySelectorAll('h4 span')) {
    if (visible(el) && types.includes(el.innerText.trim()) && el.getClientRects().length > 1)
      found.push('broken: ' + el.innerText);
  }
  return found;
}"""


def test_no_page_cuts_or_breaks_what_a_trader_reads_at_three_widths(tmp_path):
    shots = Path(os.environ.get("SCREENSHOT_DIR", tmp_path))
    with (
        running_server(tmp_path, SIMULATOR_SPEED="10", MIN_CONFIDENCE="5") as url,
        sync_playwright() as playwright,
    ):
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        problems: dict[str, list[str]] = {}
        pages = {
            width: browser.new_page(viewport={"width": width, "height": 1600}) for width in WIDTHS
        }
        # The live page first at every width, read the moment a signal card shows (on the
        # simulator's moving prices a plan's stop or target can close it within seconds).
        for width, page in pages.items():
            page.goto(url)
            page.get_by_text("reward:risk").first.wait_for(timeout=90_000)
            page.get_by_text("Watchlist").first.wait_for(timeout=30_000)
            page.wait_for_timeout(1_500)  # the rest of the page's run renders
            found = page.evaluate(PROBLEMS)
            if found:
                problems[f"{WIDTHS[width]} / with a signal card"] = found
            if WIDTHS[width] != "desktop":
                page.screenshot(path=str(shots / f"{WIDTHS[width]}.png"))
        for path, ready in PAGES.items():
            for width, page in pages.items():
                if path:
                    page.goto(f"{url}/{path}")
                page.get_by_text(ready).first.wait_for(timeout=90_000)
                page.wait_for_timeout(1_000)
                found = page.evaluate(PROBLEMS)
                if found:
                    problems[f"{WIDTHS[width]} /{path}"] = found
        browser.close()
    assert problems == {}
    for name in ("tablet.png", "phone.png"):
        assert (shots / name).stat().st_size > 10_000
