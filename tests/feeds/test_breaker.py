"""The circuit breaker and retries with exponential back-off and full jitter."""

from __future__ import annotations

import random

import pytest

from feeds.breaker import CircuitBreaker, CircuitOpenError, backoff_delays, retry


def test_delays_grow_exponentially_within_their_caps():
    delays = backoff_delays(8, base=0.5, cap=10.0, rng=random.Random(3))
    for attempt, delay in enumerate(delays):
        assert 0 <= delay <= min(10.0, 0.5 * 2**attempt)
    spread = [backoff_delays(1, base=1.0, rng=random.Random(seed))[0] for seed in range(50)]
    assert len(set(spread)) == 50  # jittered: clients do not retry in step


def test_retry_recovers_from_transient_errors_and_sleeps_between():
    calls, slept = [], []

    def flaky():
        calls.append(1)
        if len(calls) < 3:
            raise ConnectionError("reset")
        return "rows"

    assert retry(flaky, attempts=3, sleep=slept.append) == "rows"
    assert len(calls) == 3 and len(slept) == 2


def test_retry_gives_up_on_permanent_errors_and_open_circuits():
    slept = []
    with pytest.raises(ValueError):
        retry(
            lambda: (_ for _ in ()).throw(ValueError("bad input")),
            attempts=5,
            transient=lambda error: not isinstance(error, ValueError),
            sleep=slept.append,
        )
    assert slept == []
    breaker = CircuitBreaker("test", failure_threshold=1, reset_seconds=60)
    with pytest.raises(OSError):
        breaker.call(lambda: (_ for _ in ()).throw(OSError("down")))
    with pytest.raises(CircuitOpenError):
        retry(lambda: breaker.call(lambda: "never"), attempts=5, sleep=slept.append)
    assert slept == []


def test_half_open_lets_one_trial_through_at_a_time():
    now = [0.0]
    breaker = CircuitBreaker("test", failure_threshold=1, reset_seconds=5, clock=lambda: now[0])
    with pytest.raises(OSError):
        breaker.call(lambda: (_ for _ in ()).throw(OSError("down")))
    now[0] = 5.0
    assert breaker.state == "half-open"
    inside = []

    def trial():
        with pytest.raises(CircuitOpenError, match="trial call is running"):
            breaker.call(lambda: "second")
        inside.append(True)
        return "ok"

    assert breaker.call(trial) == "ok" and inside == [True]
    assert breaker.state == "closed"
