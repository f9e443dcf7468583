"""The server starts streaming on its own: /health reports a live feed with no browser."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_health_reports_a_live_simulated_feed_before_any_browser_connects(tmp_path):
    port = free_port()
    env = dict(
        os.environ,
        SIMULATOR_SPEED="20",
        SIMULATOR_WARMUP_SECONDS="120",
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
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline, body = time.monotonic() + 60, None
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as r:
                    body = json.loads(r.read())
                    if body["feed"]["ticks_total"] > 0:
                        break
            except OSError:
                time.sleep(0.5)
        assert body is not None, "the server never answered /health"
        assert body["status"] == "ok"
        assert body["feed"]["state"] == "connected" and body["feed"]["simulated"] is True
        assert body["feed"]["ticks_total"] > 0
    finally:
        server.terminate()
        server.wait(15)
