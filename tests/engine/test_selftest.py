"""The dashboard's self-tests pass, and report rather than raise a failure."""

from __future__ import annotations

from engine import selftest


def test_every_self_test_passes(settings):
    results = selftest.run(settings)
    assert [r.name for r in results] == [
        "time normalisation",
        "order imbalance",
        "confidence bounds",
        "thread safety",
        "risk calculation",
    ]
    failed = [f"{r.name}: {r.detail}" for r in results if not r.passed]
    assert not failed


def test_a_failing_check_is_reported_not_raised(settings, monkeypatch):
    def broken(_settings):
        raise selftest.SelfTestFailure("deliberately wrong")

    def crashing(_settings):
        raise RuntimeError("boom")

    monkeypatch.setattr(selftest, "CHECKS", {"broken": broken, "crashing": crashing})
    results = selftest.run(settings)
    assert [(r.name, r.passed) for r in results] == [("broken", False), ("crashing", False)]
    assert "deliberately wrong" in results[0].detail and "boom" in results[1].detail


def test_a_broken_check_fails_even_under_python_dash_o():
    import subprocess
    import sys
    from pathlib import Path

    script = (
        "import numpy as np\n"
        "from config import Settings\n"
        "from engine import selftest\n"
        "selftest.order_imbalance = lambda buy, sell: np.zeros(len(buy))\n"
        "results = {r.name: r for r in selftest.run(Settings(_env_file=None))}\n"
        "print(results['order imbalance'].passed, results['order imbalance'].detail)\n"
    )
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-O", "-c", script], cwd=root, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("False failed: got"), done.stdout
