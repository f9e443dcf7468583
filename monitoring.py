"""Health of the running app: the feed, the machine's resources, circuit breakers, uptime.

``health_check()`` is what ``GET /health`` serves and the health page shows. It never
contains a secret: only the feed's status fields, counts and resource figures.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import deque
from importlib.metadata import PackageNotFoundError, version

import pandas as pd
import psutil

from engine.sessions import IST_ZONE

log = logging.getLogger("monitoring")

STARTED = time.time()
MEMORY_PERCENT_DEGRADED = 90.0
LAST_TICK_AGE_DEGRADED = 30.0  # seconds without a tick while connected


def app_version() -> str:
    try:
        return version("orderflow-dashboard")
    except PackageNotFoundError:
        return "0.1.0"


def resources(data_dir: str = ".") -> dict:
    """CPU, memory and disk of the machine, and this process's resident memory (MiB)."""
    process = psutil.Process()
    memory = psutil.virtual_memory()
    disk = psutil.disk_usage(data_dir)
    return {
        "cpu_percent": psutil.cpu_percent(interval=None),
        "memory_percent": memory.percent,
        "disk_percent": disk.percent,
        "process_rss_mib": round(process.memory_info().rss / 2**20, 1),
        "process_threads": process.num_threads(),
    }


def health_check(service=None, settings=None) -> dict:
    """``status`` ok / degraded / down with the reasons, and the figures behind them."""
    if settings is None:
        from config import get_settings

        settings = get_settings()
    if service is None:
        from feeds.service import get_service

        service = get_service(settings)
    feed = service.status()
    machine = resources(settings.data_dir if os.path.isdir(settings.data_dir) else ".")
    reasons, down = [], False
    if feed["state"] in ("login_required", "error"):
        down = True
        reasons.append(f"feed {feed['state']}" + (f": {feed['detail']}" if feed["detail"] else ""))
    elif feed["state"] == "stopped":
        reasons.append("feed stopped")
    elif feed["state"] == "reconnecting":
        reasons.append("feed reconnecting")
    age = feed["last_tick_age_s"]
    if (
        feed["connected"]
        and age is not None
        and age > LAST_TICK_AGE_DEGRADED
        and feed["market_open"]
    ):
        reasons.append(f"no tick for {age:.0f} s")
    if feed["frames_dropped"]:
        reasons.append(f"{feed['frames_dropped']} frames dropped")
    if machine["memory_percent"] > MEMORY_PERCENT_DEGRADED:
        reasons.append(f"memory at {machine['memory_percent']:.0f}%")
    store = service.database_status()
    if store.get("error"):
        reasons.append(store["error"])
    if store.get("dropped"):
        reasons.append(f"{store['dropped']} database rows dropped")
    if store.get("last_error"):
        reasons.append(f"database retrying: {store['last_error']}")
    breaker = getattr(service.source, "breaker", None)
    breakers = [breaker.snapshot()] if breaker is not None else []
    breakers += [b.snapshot() for b in service.alerts.breakers.values()]
    if service.alerts.dropped:
        reasons.append(f"{service.alerts.dropped} alerts dropped")
    reasons += [f"{b['name']} circuit {b['state']}" for b in breakers if b["state"] != "closed"]
    return {
        "status": "down" if down else "degraded" if reasons else "ok",
        "reasons": reasons,
        "feed": feed,
        "resources": machine,
        "breakers": breakers,
        "database": store,
        "alerts": service.alerts.status(),
        "uptime_s": round(time.time() - STARTED, 1),
        "version": app_version(),
    }


class ResourceSampler:
    """Samples ticks per second, process memory and CPU every ``interval`` seconds.

    A daemon thread with a bounded history (``maxlen`` samples), for the health page's charts.
    """

    def __init__(self, service, interval: float = 5.0, maxlen: int = 1440) -> None:
        self.service = service
        self.interval = interval
        self.samples: deque[tuple[float, float, float, float]] = deque(maxlen=maxlen)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="resource-sampler", daemon=True)
        self._process = psutil.Process()

    def start(self) -> ResourceSampler:
        self._process.cpu_percent(None)  # the first reading primes the counter
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def sample(self) -> None:
        rss = self._process.memory_info().rss / 2**20
        cpu = self._process.cpu_percent(None)
        self.samples.append((time.time(), self.service.ticks_per_second(), rss, cpu))

    def _run(self) -> None:
        while True:
            try:
                self.sample()
            except Exception:  # a failed reading must not end the sampler
                log.debug("resource sample failed", exc_info=True)
            if self._stop.wait(self.interval):
                return

    def frame(self) -> pd.DataFrame:
        """The samples so far: ticks_per_s, rss_mib, cpu_percent indexed by IST time."""
        rows = list(self.samples)
        frame = pd.DataFrame(rows, columns=["time", "ticks_per_s", "rss_mib", "cpu_percent"])
        index = pd.to_datetime(frame.pop("time"), unit="s", utc=True).dt.tz_convert(IST_ZONE)
        return frame.set_index(pd.Index(index, name="time"))


_sampler: ResourceSampler | None = None
_sampler_lock = threading.Lock()


def resource_sampler(service) -> ResourceSampler:
    """The process's one sampler, started on first use."""
    global _sampler
    with _sampler_lock:
        if _sampler is None:
            _sampler = ResourceSampler(service).start()
        return _sampler
