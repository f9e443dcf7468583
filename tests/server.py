"""Run the real server (``streamlit run streamlit_app.py``) on a free loopback port."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOG_TAIL_LINES = 60


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def health(url: str, token: str = "") -> dict | None:
    """``/health`` as JSON (a 503's body too), or None while the server does not answer."""
    request = urllib.request.Request(f"{url}/health")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=2) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as error:
        return json.loads(error.read())
    except OSError:
        return None


@contextmanager
def running_server(data_dir: Path, **environment: str) -> Iterator[str]:
    """Start the server on the simulator with ``environment``; yield its URL once it answers.

    The server's output goes to ``data_dir/server.log``; a test that fails inside the block
    prints its last lines (pytest shows them with the failure)."""
    port = free_port()
    env = dict(os.environ, DATA_DIR=str(data_dir), AUTO_START="true", DATA_SOURCE="simulator")
    env.update(environment)
    Path(data_dir).mkdir(parents=True, exist_ok=True)
    log_path = Path(data_dir) / "server.log"
    log = log_path.open("a")
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
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while health(url) is None and time.monotonic() < deadline:
            time.sleep(0.5)
        yield url
    except BaseException:
        log.flush()
        lines = log_path.read_text(errors="replace").splitlines()
        print(f"--- last lines of {log_path} ---", *lines[-LOG_TAIL_LINES:], sep="\n")
        raise
    finally:
        server.terminate()
        server.wait(15)
        log.close()
