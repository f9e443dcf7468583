"""A circuit breaker for Kite's REST API: closed, open, half-open.

Closed: calls go through; ``failure_threshold`` consecutive failures open it. Open: calls fail
at once with :class:`CircuitOpenError` (no request leaves) until ``reset_seconds`` pass.
Half-open: one trial call goes through (others are held back while it runs); success closes
the breaker, failure opens it again.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class CircuitOpenError(RuntimeError):
    """The breaker is open: the service is failing, calls are held back for a while."""


class CircuitBreaker:
    def __init__(
        self,
        name: str,
        failure_threshold: int = 3,
        reset_seconds: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self.failure_threshold = failure_threshold
        self.reset_seconds = reset_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._failures = 0
        self._opened_at: float | None = None
        self._trial_running = False
        self.last_error = ""

    @property
    def state(self) -> str:
        with self._lock:
            return self._state()

    def _state(self) -> str:
        if self._opened_at is None:
            return "closed"
        if self._clock() - self._opened_at >= self.reset_seconds:
            return "half-open"
        return "open"

    def call(self, function: Callable[..., T], *args, **kwargs) -> T:
        with self._lock:
            state = self._state()
            if state == "open":
                wait = self.reset_seconds - (self._clock() - self._opened_at)
                raise CircuitOpenError(
                    f"{self.name} is failing ({self.last_error}); retrying in {wait:.0f} s"
                )
            if state == "half-open":
                if self._trial_running:
                    raise CircuitOpenError(
                        f"{self.name} is failing ({self.last_error}); a trial call is running"
                    )
                self._trial_running = True
        try:
            result = function(*args, **kwargs)
        except Exception as error:
            with self._lock:
                self._trial_running = False
                self._failures += 1
                self.last_error = f"{type(error).__name__}: {error}"
                if self._state() == "half-open" or self._failures >= self.failure_threshold:
                    self._opened_at = self._clock()
            raise
        with self._lock:
            self._failures, self._opened_at, self.last_error = 0, None, ""
            self._trial_running = False
        return result

    def snapshot(self) -> dict:
        with self._lock:
            return {
                "name": self.name,
                "state": self._state(),
                "failures": self._failures,
                "last_error": self.last_error,
            }


def backoff_delays(
    attempts: int, base: float = 0.5, cap: float = 30.0, rng: random.Random | None = None
) -> list[float]:
    """Exponential back-off with full jitter: attempt n waits uniform(0, min(cap, base x 2^n)).

    Full jitter spreads the retries of many clients (AWS architecture blog, "Exponential
    Backoff And Jitter"), so a recovering server is not hit by a synchronised wave.
    """
    rng = rng or random.Random()
    return [rng.uniform(0, min(cap, base * 2**attempt)) for attempt in range(attempts)]


def retry(
    function: Callable[[], T],
    attempts: int = 3,
    transient: Callable[[BaseException], bool] = lambda error: True,
    sleep: Callable[[float], None] = time.sleep,
    base: float = 0.5,
    cap: float = 30.0,
) -> T:
    """Call ``function``; on a transient error wait a jittered back-off and try again.

    An open circuit is never retried here (the breaker already says when to come back).
    """
    delays = backoff_delays(attempts - 1, base, cap)
    for attempt in range(attempts):
        try:
            return function()
        except CircuitOpenError:
            raise
        except Exception as error:
            if attempt == attempts - 1 or not transient(error):
                raise
            sleep(delays[attempt])
    raise AssertionError("unreachable")  # pragma: no cover
