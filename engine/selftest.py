"""Self-tests a trader can run from the dashboard: does the engine compute what it claims?

``run()`` returns one :class:`SelfTestResult` per check, never raises: a check that crashes is
reported as failed with the error in its detail. The thread-safety check is the one place in
``engine/`` that starts threads: it plays the market thread and the pages against one engine.
"""

from __future__ import annotations

import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from engine.core import SignalEngine
from engine.factors import order_imbalance
from engine.institutional import detect_institutional_activity_normalized
from engine.risk import risk_levels
from engine.signals import MAX_POINTS, generate_signal
from engine.synthetic import steady_flow

SESSION_START = 1_763_005_500  # 2025-11-13 09:15 IST, a Thursday


class SelfTestFailure(Exception):
    """A check found the engine computing something other than what it claims."""


def require(condition, message: str) -> None:
    """Fail the check with ``message`` unless ``condition`` holds (unlike ``assert``, this
    still runs under ``python -O``)."""
    if not condition:
        raise SelfTestFailure(message)


@dataclass(frozen=True)
class SelfTestResult:
    name: str
    passed: bool
    detail: str
    seconds: float


def engine_ratio(
    settings, step: int, window_seconds: int, rate: float = 250.0, depth: int = 1_000
) -> float:
    """Institutional ratio the engine reports for a steady flow sampled every ``step`` s.

    ``rate`` shares a second hit a bid that shows ``depth`` shares: the exact answer is
    ``rate * 60 / depth`` whatever the sampling or the window.
    """
    tuned = settings.model_copy(
        update={"window_seconds": window_seconds, "history_seconds": 4 * window_seconds}
    )
    engine = SignalEngine(tuned, {101: "TEST"})
    ticks = steady_flow(
        101,
        SESSION_START,
        3 * window_seconds,
        step=step,
        traded_per_second=rate,
        bid_depth=depth,
        ask_depth=depth * 50,
        trade_at="bid",
    )
    engine.update(ticks)
    return float(engine.snapshot()["institutional_ratio"].iloc[0])


def check_time_normalisation(settings) -> str:
    worked = detect_institutional_activity_normalized(15_000, 1_000, 60, threshold=2.5)
    plain = detect_institutional_activity_normalized(10_000, 10_000, 60, threshold=2.5)
    require(float(worked.ratio) == 15.0 and bool(worked.flagged), "1,000 shown / 15,000 traded")
    require(float(plain.ratio) == 1.0 and not bool(plain.flagged), "10,000 shown / 10,000 traded")
    ratios = {
        (step, window): engine_ratio(settings, step, window)
        for step in (1, 3, 5)
        for window in (60, 120)
    }
    values = np.array(list(ratios.values()))
    require(np.allclose(values, 15.0, rtol=1e-9), f"ratios differ: {ratios}")
    return (
        "worked example 15.0 flagged / 1.0 not flagged; 250 shares/s against 1,000 shown gives "
        f"{values.min():.4f}..{values.max():.4f} at 1/3/5 s sampling and 60/120 s windows"
    )


def check_order_imbalance(settings) -> str:
    buy = np.array([3_000, 1_000, 0, 500])
    sell = np.array([1_000, 3_000, 0, 500])
    got = order_imbalance(buy, sell)
    expected = np.array([0.5, -0.5, 0.0, 0.0])
    require(np.allclose(got, expected), f"got {got}, expected {expected}")
    return "3,000 vs 1,000 gives +0.5, the mirror -0.5, an empty and a balanced book 0"


def check_confidence_bounds(settings) -> str:
    rng = np.random.default_rng(7)
    n = 20_000
    hidden = rng.random((n, 2)) < 0.3
    candidates = generate_signal(
        order_imbalance=rng.uniform(-1, 1, n),
        volume_surge=rng.choice([np.nan, 0.5, 2.5, 5.0, 1e9], n),
        price_move_atr=rng.normal(0, 2, n),
        pcr_bias=rng.choice([np.nan, -1.0, 0.0, 1.0], n),
        settings=settings,
        hidden=hidden,
        evidence=np.where(hidden, rng.integers(0, 5, (n, 2)), 0),
        tape_imbalance=rng.uniform(-1, 1, n),
    )
    confidence = candidates.confidence
    total = sum(candidates.points.values())
    require(np.all((confidence >= 0) & (confidence <= 10)), "confidence outside 0-10")
    require(np.all(total <= candidates.possible), "points above the maximum")
    require(np.all(candidates.possible <= MAX_POINTS), "a maximum above the table's")
    require(np.all(confidence[candidates.signal_code == 0] == 0), "non-signal with a score")
    issued = int(np.count_nonzero(candidates.signal_code))
    return f"{n} random instruments, {issued} candidates, confidence within 0-10"


def check_thread_safety(settings) -> str:
    instruments = {token: f"SYM{token}" for token in range(1, 201)}
    engine = SignalEngine(settings, instruments)
    batches = [
        np.concatenate([steady_flow(token, SESSION_START + second, 0) for token in instruments])
        for second in range(120)
    ]
    errors: list[str] = []
    done = threading.Event()
    snapshots = [0]

    def market() -> None:
        try:
            for batch in batches:
                engine.update(batch)
        except Exception as error:  # reported, not raised: this is a check
            errors.append(f"update: {error!r}")
        finally:
            done.set()

    def page() -> None:
        try:
            while not done.is_set():
                frame = engine.snapshot()
                # every batch ticks every instrument once: a torn snapshot shows mixed counts
                if frame["ticks"].nunique() != 1:
                    errors.append(f"torn snapshot: tick counts {sorted(frame['ticks'].unique())}")
                    return
                snapshots[0] += 1
        except Exception as error:
            errors.append(f"snapshot: {error!r}")

    threads = [threading.Thread(target=market)] + [threading.Thread(target=page) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    require(not errors, "; ".join(errors[:3]))
    require(int(engine.snapshot()["ticks"].iloc[0]) == len(batches), "updates lost")
    return f"{len(batches)} updates of 200 instruments against {snapshots[0]} concurrent snapshots"


def check_risk_levels(settings) -> str:
    levels = risk_levels(
        direction=np.array([1, -1, 1]),
        entry=np.array([1_500.0, 1_500.0, 100.05]),
        atr=np.array([2.0, 2.0, np.nan]),
        tick_size=0.05,
        stop_atr_multiple=1.5,
        min_reward_risk=2.0,
        min_stop_ticks=2,
    )
    expected_stop = np.array([1_497.0, 1_503.0, 99.95])
    expected_target = np.array([1_506.0, 1_494.0, 100.25])
    require(np.allclose(levels.stop_loss, expected_stop), f"stops {levels.stop_loss}")
    require(np.allclose(levels.target, expected_target), f"targets {levels.target}")
    on_grid = np.abs(levels.target / 0.05 - np.round(levels.target / 0.05)) < 1e-6
    require(np.all(on_grid), "target off the tick grid")
    require(np.all(levels.reward_risk >= 2.0 - 1e-9), f"reward:risk {levels.reward_risk}")
    return "long 1500 / ATR 2: stop 1497, target 1506; short mirrored; minimum 2-tick stop"


CHECKS: dict[str, Callable[[object], str]] = {
    "time normalisation": check_time_normalisation,
    "order imbalance": check_order_imbalance,
    "confidence bounds": check_confidence_bounds,
    "thread safety": check_thread_safety,
    "risk calculation": check_risk_levels,
}


def run(settings) -> list[SelfTestResult]:
    """Run every check with ``settings`` (``config.Settings``); failures are reported."""
    results = []
    for name, check in CHECKS.items():
        started = time.perf_counter()
        try:
            detail, passed = check(settings), True
        except SelfTestFailure as failure:
            detail, passed = f"failed: {failure}", False
        except Exception as error:
            detail = f"crashed: {error!r}\n{traceback.format_exc(limit=3)}"
            passed = False
        results.append(SelfTestResult(name, passed, detail, time.perf_counter() - started))
    return results
