"""Detection on seeds no tuning ever used (106-111): floors that catch a regression.

The floors sit below what the detectors measure today on these seeds (see the README's
detection quality table): they say "not worse than this", not "good". The targets in
``benchmarks/bench_detection.py`` are far above them.
"""

from __future__ import annotations

from config import Settings
from feeds.detection_quality import pooled, run_benchmark


def test_detection_on_unseen_seeds_keeps_its_floors():
    seeds = (106, 107, 108, 109, 110, 111)
    results = run_benchmark(Settings(_env_file=None), seeds=seeds, instruments=12)
    runs = results["runs"]
    levels, signals = pooled(runs, "levels"), pooled(runs, "signals")
    assert levels["icebergs"] >= 60  # enough agents to judge
    assert levels["found"] / levels["icebergs"] >= 0.25, levels  # measured 0.36
    assert levels["true_positives"] / levels["detections"] >= 0.6, levels  # 0.75
    judged = sum(run["sizes"]["judged"] for run in runs)
    covered = sum(run["sizes"]["covered"] for run in runs)
    # The size interval holds the whole order (14 of 16).
    assert judged >= 8 and covered / judged >= 0.5, runs
    # At the default MIN_CONFIDENCE the dashboard shows some of them (28 found), right
    # about seven times in eight (28 of 32, 0.88; on the forty seeds of `make bench` 0.87).
    assert signals["found"] >= 22, signals
    assert signals["true_positives"] / signals["detections"] >= 0.65, signals
    for run in runs:
        false = run["levels"]["false_per_instrument_hour"]
        assert false["all"] <= 0.75, run  # busy touches called icebergs (0-0.33)
        assert false["thin"] <= 0.25, run  # a thin book is no iceberg
        assert false.get("opening", 0.0) == 0.0, run  # the opening makes no iceberg
        # What the dashboard shows at the default MIN_CONFIDENCE: few false alarms.
        assert run["signals"]["false_per_instrument_hour"]["all"] <= 0.35, run  # 0-0.08
    curve = {point["min_confidence"]: point for point in results["curve"]}
    # Over every confidence, the signals are right more often than chance would make them
    # (34 of 43, 0.79).
    assert curve[1.0]["signals"] >= 25 and curve[1.0]["precision"] >= 0.6, curve[1.0]
    # The curve's point at the default is what an engine at the default issued.
    default = curve[Settings(_env_file=None).min_confidence]
    assert default["signals"] == signals["detections"], (default, signals)
    # The default's gate is surer than none (0.88 against 0.79); so are 8 (16 of 18) and 9
    # (6 of 6), here and on the forty seeds of `make bench` (0.93 and 1.00 against 0.87),
    # though on six seeds by a few signals: wide intervals, so only the default's is held.
    assert default["precision"] >= curve[1.0]["precision"], curve
    assert curve[9.0]["signals"] >= 5, curve[9.0]
