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
    assert levels["found"] / levels["icebergs"] >= 0.25, levels  # measured 0.31
    assert levels["true_positives"] / levels["detections"] >= 0.6, levels  # 0.80
    judged = sum(run["sizes"]["judged"] for run in runs)
    covered = sum(run["sizes"]["covered"] for run in runs)
    # The size interval holds the whole order (10 of 13).
    assert judged >= 8 and covered / judged >= 0.5, runs
    # At the default MIN_CONFIDENCE the dashboard shows some of them (26 found), right
    # about nine times in ten (26 of 28, 0.93; on the eighty seeds of `make bench` 0.90).
    assert signals["found"] >= 20, signals
    assert signals["true_positives"] / signals["detections"] >= 0.65, signals
    for run in runs:
        false = run["levels"]["false_per_instrument_hour"]
        assert false["all"] <= 0.75, run  # busy touches called icebergs (0-0.25)
        assert false["thin"] <= 0.25, run  # a thin book is no iceberg
        assert false.get("opening", 0.0) == 0.0, run  # the opening makes no iceberg
        # What the dashboard shows at the default MIN_CONFIDENCE: few false alarms.
        assert run["signals"]["false_per_instrument_hour"]["all"] <= 0.35, run  # 0-0.08
    curve = {point["min_confidence"]: point for point in results["curve"]}
    # Over every confidence, the signals are right more often than chance would make them
    # (32 of 39, 0.82).
    assert curve[1.0]["signals"] >= 25 and curve[1.0]["precision"] >= 0.6, curve[1.0]
    # The curve's point at the default is what an engine at the default issued.
    default = curve[Settings(_env_file=None).min_confidence]
    assert default["signals"] == signals["detections"], (default, signals)
    # The default's gate is surer than none (0.93 against 0.82); so are 8 (17 of 18) and 9
    # (7 of 7), here and on the eighty seeds of `make bench` (0.94 and 0.99 against 0.73),
    # though on six seeds by a few signals: wide intervals, so only the default's is held.
    assert default["precision"] >= curve[1.0]["precision"], curve
    assert curve[9.0]["signals"] >= 5, curve[9.0]
