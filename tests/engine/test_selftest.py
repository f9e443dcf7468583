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
        raise AssertionError("deliberately wrong")

    def crashing(_settings):
        raise RuntimeError("boom")

    monkeypatch.setattr(selftest, "CHECKS", {"broken": broken, "crashing": crashing})
    results = selftest.run(settings)
    assert [(r.name, r.passed) for r in results] == [("broken", False), ("crashing", False)]
    assert "deliberately wrong" in results[0].detail and "boom" in results[1].detail
