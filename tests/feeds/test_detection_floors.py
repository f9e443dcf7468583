"""Detection on seeds no tuning ever used (106, 107): floors that catch a regression.

The floors sit below what the detectors measure today (see the README's detection quality
table): they say "not worse than this", not "good". The issue's targets are far above them.
"""

from __future__ import annotations

from config import Settings
from feeds.detection_quality import run_benchmark


def pooled(runs: list[dict], key: str) -> dict:
    total = {"found": 0, "icebergs": 0, "true_positives": 0, "detections": 0}
    for run in runs:
        for name in total:
            total[name] += run[key][name]
    return total


def test_detection_on_unseen_seeds_keeps_its_floors():
    results = run_benchmark(Settings(_env_file=None), seeds=(106, 107), instruments=12)
    runs = results["runs"]
    levels, signals = pooled(runs, "levels"), pooled(runs, "signals")
    assert levels["icebergs"] >= 20  # enough agents to judge
    assert levels["found"] / levels["icebergs"] >= 0.35, levels
    assert levels["true_positives"] / levels["detections"] >= 0.4, levels
    judged = sum(run["sizes"]["judged"] for run in runs)
    covered = sum(run["sizes"]["covered"] for run in runs)
    assert judged >= 4 and covered / judged >= 0.3, runs  # the size interval holds the order
    # At the default MIN_CONFIDENCE the dashboard shows some of them, and mostly right.
    assert signals["found"] >= 3, signals
    assert signals["true_positives"] / signals["detections"] >= 0.5, signals
    for run in runs:
        false = run["levels"]["false_per_instrument_hour"]
        assert false["all"] <= 3.0, run  # busy touches called icebergs
        assert false["thin"] <= 0.25, run  # a thin book is no iceberg
        # What the dashboard shows at the default MIN_CONFIDENCE: few false alarms.
        assert run["signals"]["false_per_instrument_hour"]["all"] <= 0.5, run
    # Over every confidence, the signals are right more often than chance would make them.
    [first] = [point for point in results["curve"] if point["min_confidence"] == 1.0]
    assert first["signals"] >= 10 and first["precision"] >= 0.5, first
    assert signals["detections"] <= first["signals"]
